"""Honest numbers: ``metrics``, ``baselines`` (genome-free and k-mer), ``heldout`` (``speid evaluate``),
``paper`` (the preprint's tables), ``crosscell`` (train on one cell line, test on another).
"""
