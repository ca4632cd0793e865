"""What the network learned: ``kernels`` (kernel -> PFM), ``matching`` (Tomtom against JASPAR),
``null``, ``ablation`` (motif silencing), ``attribution`` (per-pair), ``logos`` and ``report``
(``speid motifs``), and the attribution, variant and in-silico mutagenesis modules. The
verbs below load their module on first use.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "report": ("run_motifs", "MotifsConfig", "planted_recovery"),
    "kernels": ("kernel_pfms",),
    "matching": ("tomtom_matches",),
    "ablation": ("motif_hits", "motif_ablation"),
    "attribution": ("Attribution", "gradient_x_input"),
})
