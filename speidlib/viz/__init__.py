"""Plotly figures for notebooks and dashboards: ``figures``, ``attribution``, ``crispr`` and ``links``.
Nothing in the core imports this. The figures below load their module on first use.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "figures": ("roc_figure", "pr_figure", "score_distribution_figure", "metric_by_distance_figure",
               "cross_cell_heatmap", "split_drop_figure"),
    "attribution": ("attribution_figure",),
    "links": ("links_figure", "score_by_distance_figure"),
    "crispr": ("crispr_figures",),
})
