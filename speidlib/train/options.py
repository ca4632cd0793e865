"""The options of ``speid train``, declared once (:mod:`speidlib.options`).

:class:`TrainOptions` generates the command's options, is what
:func:`speidlib.train.stages.train_run` takes, gives the parameters the ``train``
record holds (:meth:`TrainOptions.resolved`, then :func:`speidlib.options.record`)
and what a reuse of a trained model compares
(:func:`speidlib.app.notebooks.reuse_trained_model`), and the study's and the
workflow's ``speid train`` command lines (:func:`speidlib.options.to_argv`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from speidlib import schema
from speidlib.argtypes import nonneg_int, positive_int, unit_interval
from speidlib.model.presets import PRESETS, ModelConfig, get_config
from speidlib.options import OPTIONAL_BOOL, option, record, seed_option, threads_option

DATA_EFFICIENCY = "data efficiency (stage 1; default: the preset's, see docs/learning_curve.md)"
# the options that change the preset's stage-1 recipe (ModelConfig fields of the same names)
RECIPE_OPTIONS = ("rc_augment", "redraw_shifts", "epoch_examples", "swap_negatives", "global_pool")


@dataclass(frozen=True)
class TrainOptions:
    """Every option of ``speid train`` (and :func:`speidlib.train.stages.train_run`).

    ``None`` means the preset's (epochs, ``shift_negatives`` and the data-efficiency
    options); ``preset`` may also be a :class:`ModelConfig` from Python.
    """

    preset: str | ModelConfig = option(
        "cpu", choices=PRESETS, help="cpu: small, trains on 2 cores in minutes; paper: the preprint's text; "
        "original: the released code (default %(default)s)")
    pretrain_epochs: int | None = option(None, type=positive_int,
                                         help="stage-1 epochs, at least 1 (default: the preset's)")
    retrain_epochs: int | None = option(None, type=positive_int,
                                        help="stage-2 epochs, at least 1 (default: the preset's)")
    random_init: bool = option(False, help="Glorot-uniform kernels instead of starting about half of them "
                               "from JASPAR motifs")
    resume: bool = option(False, help="continue from the last complete checkpoint", record=False)
    seed: int = seed_option("seed for weights, data order and dropout")
    mixed_precision: bool = option(False, help="float16 compute on a GPU (ignored on CPU)")
    threads: int | None = threads_option("TensorFlow CPU threads (default: all cores)")
    zero_branch: str | None = option(None, choices=schema.BRANCHES,
                                     help="ablation: train and evaluate with this input zeroed, to measure what "
                                     "the other element alone predicts")
    shift_negatives: bool | None = option(
        None, action=OPTIONAL_BOOL,
        help="shift negatives' windows at random in stage 1 too, so an element's position cannot mark the "
        "label (default: the preset's; cpu shifts, paper and original keep the preprint's positives-only "
        "shifts)")
    devices: str | None = option(
        None, record=False,
        help="devices to train on: all (every visible GPU, the default), cpu, GPU indices such as 0,1 or "
        "names such as /gpu:0,/gpu:1; with several, tf.distribute.MirroredStrategy splits each batch "
        "across them")
    # recorded inside the preset (the train record's preset dict), not on their own
    rc_augment: bool | None = option(None, action=OPTIONAL_BOOL, group=DATA_EFFICIENCY, record=False,
                                     help="reverse-complement each training window with probability 1/2, "
                                     "every epoch")
    redraw_shifts: bool | None = option(None, action=OPTIONAL_BOOL, group=DATA_EFFICIENCY, record=False,
                                        help="a fresh random shift for every training example (positive "
                                        "copies too) every epoch")
    epoch_examples: int | None = option(None, type=nonneg_int, metavar="N", group=DATA_EFFICIENCY,
                                        record=False,
                                        help="at least N stage-1 examples per epoch, half positive copies "
                                        "(cycled), half negatives; needs the preset's matched negatives (cpu, "
                                        "whose default is 16000); 0: one pass over the positive copies")
    swap_negatives: float | None = option(None, type=unit_interval, metavar="F", group=DATA_EFFICIENCY,
                                          record=False,
                                          help="replace this fraction of each epoch's negatives by partner "
                                          "swaps (one positive's enhancer with another's promoter)")
    global_pool: bool | None = option(None, action=OPTIONAL_BOOL, group=DATA_EFFICIENCY, record=False,
                                      help="max-pool each branch over its whole window (which motifs a window "
                                      "holds, not where): learns from far fewer positives (an architecture "
                                      "change; the preset's pooling otherwise)")

    def replace(self, **changes) -> "TrainOptions":
        return dataclasses.replace(self, **changes)

    def model_config(self) -> ModelConfig:
        """The preset with the data-efficiency options given (checked by ``ModelConfig``)."""
        changes = {k: getattr(self, k) for k in RECIPE_OPTIONS if getattr(self, k) is not None}
        if changes.get("epoch_examples") == 0:          # --epoch-examples 0: one pass, no floor
            changes["epoch_examples"] = None
        config = get_config(self.preset)
        return config.replace(**changes) if changes else config

    def resolved(self) -> "TrainOptions":
        """These options with every "the preset's" filled in: the preset as its ``ModelConfig``,
        the epochs and ``shift_negatives`` as the preset has them. What a run records."""
        config = self.model_config()
        pick = lambda value, preset_value: preset_value if value is None else value  # noqa: E731
        return self.replace(preset=config, pretrain_epochs=int(pick(self.pretrain_epochs, config.pretrain_epochs)),
                            retrain_epochs=int(pick(self.retrain_epochs, config.retrain_epochs)),
                            shift_negatives=bool(pick(self.shift_negatives, config.shift_negatives)),
                            random_init=bool(self.random_init), mixed_precision=bool(self.mixed_precision))

    def parameters(self) -> dict:
        """What the ``train`` record holds of these options (:meth:`resolved`, recorded fields)."""
        return record(self.resolved())


def recorded_parameters(train_section: dict) -> dict:
    """A ``train`` record's parameters in the form of :meth:`TrainOptions.parameters`: the recorded
    preset read back as a ``ModelConfig`` (fields added since take their defaults). A parameter
    the record does not hold (a run from before it was recorded) is left out."""
    params = {k: train_section[k] for k in record(TrainOptions()) if k in train_section}
    if isinstance(params.get("preset"), dict):
        params["preset"] = ModelConfig.from_dict(params["preset"]).to_dict()
    return params
