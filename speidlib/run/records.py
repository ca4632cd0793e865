"""What each step records in ``RUN/config.json``: one typed record per step.

Each record is a dataclass whose fields are what the step's later readers
use (parameters, input fingerprints, seconds); everything else the step
recorded is kept, as written, in ``extra``, so a section reads and writes
back unchanged (runs made before these records load as they are). The
package versions are recorded once per run (``config.json``'s ``versions``,
:meth:`speidlib.run.Run.versions`).

Fingerprints are content hashes (:func:`speidlib.io.sha256`): ``prepare``
records its inputs' and the dataset's; ``train`` the dataset it read and the
model it wrote; ``evaluate``, ``motifs`` and ``score`` the dataset and model
they read, so :mod:`speidlib.run.provenance` can say what is stale.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

DATASET_SHA256 = "dataset_sha256"   # prepare: the hash of dataset.h5; train and later: the dataset read
MODEL_SHA256 = "model_sha256"       # train: the hash of model.keras written; later steps: the model read


@dataclass
class StepRecord:
    """Base of the records: ``from_dict``/``to_dict`` round-trip a ``config.json`` section."""

    step: ClassVar[str] = ""
    extra: dict = field(default_factory=dict)  # everything else the step recorded
    # the keys a record read back held (None: made here); to_dict writes those and what changed
    given: tuple | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, values: dict | None):
        values = dict(values or {})
        given = tuple(values)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "given"}
        return cls(**{k: values.pop(k) for k in list(values) if k in known}, extra=values, given=given)

    def to_dict(self) -> dict:
        """The section as ``config.json`` holds it: ``extra``, then the fields (a field the record
        read back did not hold is written only once it is set; a new record omits ``None``)."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name in ("extra", "given"):
                continue
            value = getattr(self, f.name)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if self.given is None and value is not None or self.given is not None and (
                    f.name in self.given or value != default):
                out[f.name] = value
        merged = {**self.extra, **out}
        order = [k for k in (self.given or ()) if k in merged]  # keys in the order read
        return {**{k: merged[k] for k in order}, **merged}

    def get(self, key, default=None):
        """A recorded value by its ``config.json`` name (a field or one of ``extra``)."""
        return self.to_dict().get(key, default)


@dataclass
class PrepareRecord(StepRecord):
    """``speid prepare``: the parameters of :class:`speidlib.data.dataset.PrepareConfig`, the
    input paths (absolute) and hashes, the dataset's hash and a summary (counts, ``seconds``)."""

    step: ClassVar[str] = "prepare"
    pairs: str | None = None
    genome: str | None = None
    enhancer_window: int | None = None
    promoter_window: int | None = None
    seed: int = 0
    split: str | None = None
    assembly: str | None = None
    pairs_sha256: str | None = None
    genome_sha256: str | None = None
    dataset_sha256: str | None = None
    summary: dict = field(default_factory=dict)

    @property
    def cell_line(self) -> str | None:
        """The cell line the pairs named (``extra``; ``None`` when not recorded)."""
        return self.extra.get("cell_line")

    @property
    def seconds(self) -> float | None:
        return self.summary.get("seconds")


@dataclass
class TrainRecord(StepRecord):
    """``speid train``: the recorded options of :class:`speidlib.train.options.TrainOptions` as the
    run resolved them (the preset as ``ModelConfig.to_dict()``, the epochs), the dataset read
    and the model written (hashes), the device, ``status`` (running/done)."""

    step: ClassVar[str] = "train"
    preset: dict = field(default_factory=dict)
    enhancer_window: int | None = None
    promoter_window: int | None = None
    seed: int = 0
    random_init: bool = False
    zero_branch: str | None = None
    pretrain_epochs: int | None = None
    retrain_epochs: int | None = None
    status: str | None = None
    dataset_sha256: str | None = None
    model_sha256: str | None = None
    device: dict = field(default_factory=dict)
    seconds: float | None = None


@dataclass
class EvaluateRecord(StepRecord):
    """``speid evaluate``: bootstrap draws and seed, the dataset and model scored."""

    step: ClassVar[str] = "evaluate"
    n_bootstrap: int | None = None
    seed: int = 0
    dataset_sha256: str | None = None
    model_sha256: str | None = None
    seconds: float | None = None


@dataclass
class MotifsRecord(StepRecord):
    """``speid motifs``: the parameters of :class:`speidlib.interpret.report.MotifsConfig`
    (``record()``, in ``extra``), the dataset and model read, ``reused_from`` for a copy."""

    step: ClassVar[str] = "motifs"
    dataset_sha256: str | None = None
    model_sha256: str | None = None
    reused_from: str | None = None
    seconds: float | None = None

    def parameters(self) -> dict:
        return dict(self.extra)


@dataclass
class ScoreRecord(StepRecord):
    """``speid score`` (the latest into this run): inputs, output, format, the model scored with."""

    step: ClassVar[str] = "score"
    pairs: str | None = None
    genome: str | None = None
    out: str | None = None
    format: str | None = None
    cache: bool = True
    n_pairs: int | None = None
    model_sha256: str | None = None
    seconds: float | None = None


RECORDS = {r.step: r for r in (PrepareRecord, TrainRecord, EvaluateRecord, MotifsRecord, ScoreRecord)}
