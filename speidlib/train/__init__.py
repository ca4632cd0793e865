"""Two-stage training: ``stages`` (pretrain, retrain_head, train_run), ``checkpoints`` and
``small_tables``; ``options`` (``TrainOptions``: the options of ``speid train``, declared
once); the process settings it runs under live in :mod:`speidlib.runtime`.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "stages": ("train_run", "train_stages", "pretrain", "retrain_head", "TrainResult"),
    "checkpoints": ("Checkpoints",),
    "options": ("TrainOptions",),
})
