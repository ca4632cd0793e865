"""The SPEID network: ``presets`` (``ModelConfig``), ``layers`` (``PooledConv1D``), ``build``,
``jaspar_init``, ``tree`` (the layer-tree walker), ``infer`` (the one inference primitive)
and ``load`` (a run's model, checked). The verbs below load their module on first use.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "presets": ("ModelConfig", "PRESETS", "get_config"),
    "build": ("build_model", "split_model", "branch_and_pair_models"),
    "infer": ("predict", "predict_source", "infer_batch", "rows_within"),
    "load": ("load_model", "load_run_model", "snapshot_run_model"),
    "tree": ("walk_layers", "find_layer"),
    "layers": ("PooledConv1D",),
})
