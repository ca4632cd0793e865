"""Honest numbers: ``metrics``, ``baselines`` (genome-free and k-mer), ``heldout`` (``speid evaluate``),
``paper`` (the preprint's tables), ``crosscell`` (train on one cell line, test on another),
``crispr`` and ``crispr_metrics`` (the CRISPRi benchmark). The verbs below load their
module on first use.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "heldout": ("run_evaluate", "score_split", "EvaluateOptions"),
    "metrics": ("METRICS", "auroc", "aupr", "choose_threshold", "evaluate_scores"),
    "baselines": ("DistanceBaseline", "PropensityBaseline", "KmerBaseline", "fit_evaluate",
                 "run_pair_baselines", "baseline_table", "split_drop", "cross_cell_matrix"),
    "crosscell": ("cross_cell_runs",),
    "crispr": ("run_crispr",),
    "paper": ("paper_table", "side_by_side"),
})
