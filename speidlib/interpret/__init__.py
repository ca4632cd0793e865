"""What the network learned: ``kernels`` (kernel -> PFM), ``matching`` (Tomtom against JASPAR),
``ablation`` (motif silencing), ``attribution`` (per-pair), ``logos`` and ``report`` (``speid motifs``).
"""
