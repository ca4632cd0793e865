"""The run directory as one object: :class:`Run`.

A run directory is the one hand-off between steps, notebooks, the command
line, the workflow and the dashboards. :class:`Run` owns it:

- every run-file path, as a property (file names from :mod:`speidlib.schema`);
- ``config.json``: one typed record per step (:mod:`speidlib.run.records`),
  read by :meth:`Run.record` and written by :meth:`Run.write_record`;
- the readers and writers of the artifacts (metrics, predictions, the motif
  summary, links files written into the run);
- the manifest (``RUN/manifest.json``): every file the workbench wrote into
  the run, the step that wrote it and, for what a model made, the model's
  content hash. ``prepare --overwrite`` deletes what the manifest names and
  nothing else (:meth:`Run.clear`); :meth:`Run.stale_reason` says when an
  artifact was made by another model than the run's;
- the provenance checks of the model (:meth:`Run.check_model`) and of
  artifacts made from the run's dataset (:meth:`Run.check_dataset`), both
  through :func:`speidlib.run.provenance.reason`.

Loading the model itself is :func:`speidlib.model.load.load_run_model`
(Keras lives above this layer).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from speidlib import schema
from speidlib.io import atomic_write_json, package_versions, sha256
from speidlib.run import provenance
from speidlib.run.artifacts import write_bedpe, write_predictions_csv
from speidlib.run.lock import record_lock
from speidlib.run.records import DATASET_SHA256, MODEL_SHA256, RECORDS, StepRecord, TrainRecord

# made from a run's model: refused by the dashboards once the model is replaced
MODEL_DERIVED = (schema.METRICS_FILE, schema.PREDICTIONS_FILE, schema.PREDICTIONS_BEDPE)
MODEL_DERIVED_DIRS = (schema.MOTIFS_DIR, schema.LINKS_DIR, schema.CROSS_CELL_DIR)
# written only by the workbench, under names no user file takes: a run from before
# manifests loses these to `prepare --overwrite` (its folders are kept and marked stale)
WORKBENCH_FILES = (schema.DATASET_FILE, schema.CONFIG_FILE, schema.LEAKAGE_FILE, schema.MODEL_FILE,
                   schema.HISTORY_FILE, schema.CHECKPOINT_DIR, schema.METRICS_FILE,
                   schema.PREDICTIONS_FILE, schema.PREDICTIONS_BEDPE, schema.JASPAR_INIT_FILE,
                   schema.INITIAL_KERNELS_FILE)
TRAIN_OUTPUTS = (schema.MODEL_FILE, schema.HISTORY_FILE, schema.JASPAR_INIT_FILE,
                 schema.INITIAL_KERNELS_FILE, schema.CHECKPOINT_DIR)


class Run:
    """A run directory: paths, step records, artifacts, manifest and provenance checks.

    ``Run(path)`` reads nothing; each method reads what it needs, so a Run
    can be kept while steps write the directory.
    """

    def __init__(self, path):
        self.path = Path(path.path if isinstance(path, Run) else path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __truediv__(self, name) -> Path:
        return self.path / name

    # --- paths ----------------------------------------------------------------
    dataset = property(lambda self: self.path / schema.DATASET_FILE, doc="RUN/dataset.h5")
    config_file = property(lambda self: self.path / schema.CONFIG_FILE, doc="RUN/config.json")
    model = property(lambda self: self.path / schema.MODEL_FILE, doc="RUN/model.keras")
    history = property(lambda self: self.path / schema.HISTORY_FILE, doc="RUN/history.csv")
    checkpoints = property(lambda self: self.path / schema.CHECKPOINT_DIR, doc="RUN/checkpoints/")
    checkpoint_state = property(lambda self: self.checkpoints / schema.CHECKPOINT_STATE)
    metrics = property(lambda self: self.path / schema.METRICS_FILE, doc="RUN/metrics.json")
    predictions = property(lambda self: self.path / schema.PREDICTIONS_FILE, doc="RUN/predictions.csv")
    predictions_bedpe = property(lambda self: self.path / schema.PREDICTIONS_BEDPE)
    leakage = property(lambda self: self.path / schema.LEAKAGE_FILE, doc="RUN/leakage.json")
    jaspar_init = property(lambda self: self.path / schema.JASPAR_INIT_FILE)
    initial_kernels = property(lambda self: self.path / schema.INITIAL_KERNELS_FILE)
    motifs = property(lambda self: self.path / schema.MOTIFS_DIR, doc="RUN/motifs/")
    motif_summary = property(lambda self: self.motifs / schema.MOTIF_SUMMARY_FILE)
    links = property(lambda self: self.path / schema.LINKS_DIR, doc="RUN/genome_wide/")
    cross_cell = property(lambda self: self.path / schema.CROSS_CELL_DIR, doc="RUN/cross_cell/")
    notebooks = property(lambda self: self.path / schema.RUN_NOTEBOOKS_DIR, doc="RUN/notebooks/")
    lock_file = property(lambda self: self.path / schema.LOCK_FILE)
    manifest_file = property(lambda self: self.path / schema.MANIFEST_FILE, doc="RUN/manifest.json")

    def motif_file(self, name: str) -> Path:
        """``RUN/motifs/<name>`` (names: ``schema.MOTIF_*``)."""
        return self.motifs / name

    def link_file(self, name: str) -> Path:
        """``RUN/genome_wide/<name>``."""
        return self.links / name

    def exists(self, name: str) -> bool:
        """Whether ``RUN/<name>`` exists."""
        return (self.path / name).exists()

    def missing(self, names) -> list[str]:
        """The names of ``names`` that are not in the run."""
        return [n for n in names if not (self.path / n).exists()]

    # --- config.json: one record per step -------------------------------------
    def config(self) -> dict:
        """``RUN/config.json`` as a dict; a clear error if it is missing or damaged."""
        path = self.config_file
        if not path.exists():
            raise ValueError(f"{path} does not exist: run `speid prepare` for this run directory first")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from e

    def record(self, step: str, missing_ok: bool = True):
        """The typed record of ``step`` (``prepare``, ``train``, ``evaluate``, ``motifs``,
        ``score``); an empty record when the step has not run (or, with
        ``missing_ok=False``, a ValueError naming the step to run)."""
        config = self.config() if (missing_ok is False or self.config_file.exists()) else {}
        if step not in config and not missing_ok:
            raise ValueError(f"{self.config_file} has no {step!r} record: run `speid {step} "
                             f"{self.path}` first")
        return RECORDS[step].from_dict(config.get(step))

    prepare_record = property(lambda self: self.record("prepare"))
    train_record = property(lambda self: self.record("train"))

    def has_record(self, step: str) -> bool:
        return self.config_file.exists() and step in self.config()

    def versions(self) -> dict:
        """Package versions recorded by the steps (``config.json``'s ``versions``)."""
        return self.config().get("versions", {})

    def write_record(self, record: StepRecord | str, values: dict | None = None) -> None:
        """Write one step's record into ``config.json`` (atomically, under :func:`record_lock`).

        ``record`` is a :class:`~speidlib.run.records.StepRecord`, or a step name
        with its ``values``. Writing a ``train`` record means the model is being
        replaced: what the old model made is marked stale (:meth:`stale_reason`),
        and the training outputs are entered in the manifest.
        """
        step = record if isinstance(record, str) else record.step
        values = dict(values) if isinstance(record, str) else record.to_dict()
        with record_lock(self.path):
            config = self.config() if self.config_file.exists() else {}
            old = config.get(step)
            config[step] = values
            config.setdefault("versions", {}).update(package_versions())
            if step == TrainRecord.step:
                self._model_replaced(TrainRecord.from_dict(old), TrainRecord.from_dict(values))
            atomic_write_json(self.config_file, config)
            self.register(step, [self.config_file])

    def recorded_path(self, step: str, key: str) -> Path | None:
        """A path recorded in ``config.json`` (``[step][key]``), resolved; None if not recorded.

        Absolute paths are taken as they are; a relative one (runs from before
        paths were recorded absolute, committed examples) is tried against the
        run directory, then its parent folders (where the step that wrote it was
        started, typically the project root), then the working directory.
        """
        value = (self.config().get(step) or {}).get(key)
        if not value:
            return None
        path = Path(value).expanduser()
        if path.is_absolute():
            return path
        run_dir = self.path.resolve()
        for base in (run_dir, *run_dir.parents):
            if (base / path).exists():
                return base / path
        return Path.cwd() / path

    def relative_records(self, base) -> dict:
        """Rewrite every path ``config.json`` records inside ``base`` relative to it (atomically);
        the config as written. For a run copied out of a scratch folder (the committed examples):
        :meth:`recorded_path` resolves such paths from the run's parent folders."""
        prefix = str(Path(base).resolve()) + os.sep

        def rel(value):
            if isinstance(value, dict):
                return {k: rel(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rel(v) for v in value]
            return value[len(prefix):] if isinstance(value, str) and value.startswith(prefix) else value

        config = rel(self.config())
        atomic_write_json(self.config_file, config)
        return config

    # --- provenance -----------------------------------------------------------
    def dataset_sha256(self) -> str | None:
        """The content hash of ``RUN/dataset.h5`` recorded by ``prepare`` (None for older runs)."""
        return self.prepare_record.dataset_sha256

    def model_sha256(self) -> str | None:
        """The content hash of the run's model: as ``train`` recorded it, else of the file; None
        when there is no model."""
        train = self.train_record
        if train.status == "done" and train.model_sha256 and self.model.exists():
            return train.model_sha256
        return sha256(self.model) if self.model.exists() else None

    def check_dataset(self, recorded: str | None, what: str) -> None:
        """Raise unless ``recorded`` (the dataset hash ``what`` was made from) is this run's dataset.

        ``None`` on either side (a run from before fingerprints) is not checked.
        """
        provenance.check(what, {DATASET_SHA256: recorded}, {DATASET_SHA256: self.dataset_sha256()},
                         remedy=f"was `speid prepare` run again? Run `speid train {self.path}` again, "
                                f"without --resume")

    def check_model(self, copy=None) -> str:
        """Raise unless ``RUN/model.keras`` is the model ``train`` wrote from this run's dataset.

        What ``evaluate``, ``motifs``, ``score`` and cross-cell call first.
        ``copy``: check this copy of the model file instead (a snapshot).
        Returns the model's content hash (the fingerprint its artifacts record).
        """
        path = self.model
        if not path.exists():
            raise ValueError(f"{path} does not exist: run `speid train {self.path}` first")
        train = self.train_record
        if train.status == "running":
            raise ValueError(f"{path} is from an unfinished training run ({self.config_file} "
                             f"says train is running): finish it with `speid train {self.path} --resume`")
        self.check_dataset(train.dataset_sha256, str(path))
        current = sha256(copy if copy is not None else path)
        if train.model_sha256 and current != train.model_sha256:
            raise ValueError(f"{path} is not the model `speid train` wrote for this run (its content "
                             f"hash differs from {MODEL_SHA256} in {schema.CONFIG_FILE}): run "
                             f"`speid train {self.path}` again")
        return current

    def stale_reason(self, path, model_sha256: str | None = None) -> str:
        """Why the artifact at ``path`` (in this run) was not made by the run's model; ``""`` if
        it was, or if the model it was made by is not recorded (runs and committed
        examples from before the manifest).

        The model an artifact was made by is ``model_sha256`` when given, else its
        manifest entry's ``model_sha256``, else the ``model_sha256`` its own JSON carries.
        """
        path = Path(path)
        key = self._key(path)
        entry = self.manifest().get(key) or self.marks().get(key) or {}
        if entry.get("stale"):
            return f"{path} is stale: {entry['stale']}; make it again"
        made_by = model_sha256 or entry.get(MODEL_SHA256) or _json_model_hash(path)
        if made_by is None:
            return ""
        step = entry.get("step") or "evaluate"
        return provenance.reason(str(path), {MODEL_SHA256: made_by}, {MODEL_SHA256: self.model_sha256()},
                                 remedy=f"it is stale, run `speid {step}` on {self.path} again")

    def check_current(self, path, model_sha256: str | None = None) -> None:
        """Raise :meth:`stale_reason`'s one line for a stale artifact."""
        why = self.stale_reason(path, model_sha256)
        if why:
            raise ValueError(why)

    def check_output_path(self, out_path, inputs: dict) -> None:
        """Refuse an output path that is one of ``inputs`` (option -> path) or a file of the run.

        ``speid score --out`` may write anywhere but over what it reads, or over
        an artifact of the run (``schema.RUN_FILES``, or anything inside the
        run's checkpoints, motifs or notebooks folders).
        """
        out = Path(out_path).expanduser().resolve()
        for option, path in inputs.items():
            if path is not None and Path(path).expanduser().resolve() == out:
                raise ValueError(f"--out {out_path} is the {option} file this step reads; write the "
                                 "output to another file")
        run = self.path.expanduser().resolve()
        for name in (*schema.RUN_FILES, schema.LOCK_FILE):
            target = run / name
            if out == target or target in out.parents:
                raise ValueError(f"--out {out_path} is the run's own {name}; write the output outside "
                                 f"{self.path}'s files, e.g. {self.path}/scores.bedpe")

    def inside(self, path) -> bool:
        """Whether ``path`` lies in the run directory."""
        return self.path.resolve() in Path(path).expanduser().resolve().parents

    # --- the manifest: what the workbench wrote -------------------------------
    def manifest(self) -> dict:
        """What the workbench wrote: relative path -> entry (``step``, ``model_sha256`` when a
        model made it, ``stale``). A path ending in ``/`` is a folder the workbench owns
        whole (``checkpoints/``). :meth:`clear` removes these."""
        return self._read_manifest()[0]

    def marks(self) -> dict:
        """Provenance noted on files the workbench did not record writing (runs from before the
        manifest, files a user put in ``motifs/`` or ``genome_wide/``): relative path ->
        ``model_sha256`` or ``stale``. Read by :meth:`stale_reason`; never removed by :meth:`clear`."""
        return self._read_manifest()[1]

    def _read_manifest(self) -> tuple[dict, dict]:
        try:
            value = json.loads(self.manifest_file.read_text())
        except (OSError, ValueError):
            return {}, {}
        parts = [value.get(k, {}) if isinstance(value, dict) else {} for k in ("files", "marks")]
        return tuple(p if isinstance(p, dict) else {} for p in parts)

    def _key(self, path) -> str:
        rel = os.path.relpath(Path(path).expanduser().resolve(), self.path.expanduser().resolve())
        return rel.replace(os.sep, "/")

    def register(self, step: str, paths, model_sha256: str | None = None, folder: bool = False) -> None:
        """Enter ``paths`` (files in the run) in the manifest as written by ``step``.

        ``model_sha256``: the model they were made by. ``folder=True`` enters each
        path as a folder the workbench owns whole. Paths outside the run are skipped.
        """
        entries = {}
        for p in paths:
            if not self.inside(p):
                continue
            key = self._key(p) + ("/" if folder else "")
            entries[key] = {"step": step, **({MODEL_SHA256: model_sha256} if model_sha256 else {})}
        if entries:
            self._update_manifest(entries)

    @classmethod
    def holding(cls, path, depth: int = 3) -> Run | None:
        """The run a file is written into: the nearest of its ``depth`` parent folders that holds a
        ``config.json``, else None."""
        for folder in list(Path(path).expanduser().resolve().parents)[:depth]:
            if (folder / schema.CONFIG_FILE).is_file():
                return cls(folder)
        return None

    def register_from(self, step: str, out, sources) -> None:
        """Enter ``out`` as made by ``step`` from ``sources`` (files of the run, e.g. the
        per-chromosome parts ``speid gather`` joins): made by their model when they name
        one, marked stale when they name several."""
        files = self.manifest()
        models = {files.get(self._key(p), {}).get(MODEL_SHA256) for p in sources} - {None}
        if len(models) > 1:
            self._update_manifest({self._key(out): {"step": step, "stale": "joined from parts that "
                                                    "different models scored"}})
        else:
            self.register(step, [out], next(iter(models), None))

    def register_since(self, step: str, folder, since: float, model_sha256: str | None = None) -> list[Path]:
        """Enter the files under ``folder`` modified since ``since`` (``time.time()``) as ``step``'s."""
        folder = Path(folder)
        written = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                   and p.stat().st_mtime >= since - 1] if folder.is_dir() else []
        self.register(step, written, model_sha256)
        return written

    def _update_manifest(self, entries: dict | None = None, marks: dict | None = None) -> None:
        """Add ``entries`` (files the workbench wrote) and ``marks`` (notes on other files)."""
        with record_lock(self.path):
            files, noted = self._read_manifest()
            files.update(entries or {})
            noted.update(marks or {})
            for key in files:  # the workbench wrote it again: the note is void
                noted.pop(key, None)
            atomic_write_json(self.manifest_file, {"files": dict(sorted(files.items())),
                                                   "marks": dict(sorted(noted.items()))})

    def _model_replaced(self, old: TrainRecord, new: TrainRecord) -> None:
        """``train`` is writing a new model: name the old model in every artifact it made that
        does not name its model yet, so :meth:`stale_reason` refuses them once the
        new one is there; enter the training outputs in the manifest."""
        self.register("train", [self.path / n for n in TRAIN_OUTPUTS[:-1] if (self.path / n).exists()])
        self.register("train", [self.checkpoints], folder=True)
        if new.status != "running" or not self.model.exists():
            return  # no model is replaced: nothing was made from one
        old_model = old.model_sha256 if old.status == "done" else None
        files, noted = self._read_manifest()
        entries, marks = {}, {}
        for path in self._derived_files():
            key = self._key(path)
            entry = files.get(key) or noted.get(key) or {}
            if entry.get(MODEL_SHA256) or entry.get("stale"):
                continue
            made_by = _json_model_hash(path) or old_model
            note = {MODEL_SHA256: made_by} if made_by else {"stale": "made by the model `speid train` replaced"}
            if key in files:
                entries[key] = {**entry, **note}
            else:
                marks[key] = {"step": _step_of(key), **note}
        if entries or marks:
            self._update_manifest(entries, marks)

    def _derived_files(self) -> list[Path]:
        out = [self.path / n for n in MODEL_DERIVED if (self.path / n).is_file()]
        for d in MODEL_DERIVED_DIRS:
            if (self.path / d).is_dir():
                out += sorted(p for p in (self.path / d).rglob("*") if p.is_file()
                              and not p.name.startswith("."))
        return out

    def holds_run(self) -> list[str]:
        """The names of ``schema.RUN_FILES`` present when the folder holds a run, else [].

        A folder holds a run when it has a dataset, a config, a model, metrics or
        checkpoints (a lone ``notebooks/`` or ``motifs/`` folder does not count).
        """
        present = [n for n in schema.RUN_FILES if (self.path / n).exists()]
        loose = {schema.RUN_NOTEBOOKS_DIR, schema.CROSS_CELL_DIR, schema.MOTIFS_DIR}
        return present if any(n not in loose for n in present) else []

    def clear(self) -> list[str]:
        """Remove what the workbench wrote in the run (``prepare --overwrite``); the names removed.

        Removed: every path of the manifest (and folders left empty by that),
        and the files only the workbench writes (``WORKBENCH_FILES``); other
        files in the folder (a user's own ``notebooks/``, ``motifs/``, notes)
        stay, with their marks. In a run from before the manifest, what remains
        under ``motifs/``, ``genome_wide/`` and ``cross_cell/`` is kept and
        marked stale (:meth:`marks`).
        """
        files, noted = self._read_manifest()
        removed = []
        targets = list(dict.fromkeys([*files, *(n for n in WORKBENCH_FILES if (self.path / n).exists())]))
        for key in targets:
            path = self.path / key.rstrip("/")
            if not self.inside(path):  # a hand-edited manifest may name anything: only the run's own
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
            removed.append(key.rstrip("/"))
        for key in targets:  # folders the removed files leave empty
            for parent in Path(key.rstrip("/")).parents:
                if str(parent) != "." and (self.path / parent).is_dir():
                    with contextlib.suppress(OSError):
                        (self.path / parent).rmdir()
        with contextlib.suppress(FileNotFoundError):
            self.manifest_file.unlink()
        marks = {k: v for k, v in noted.items() if (self.path / k).exists()}
        if not files:  # a run from before the manifest: what its model may have made stays, marked
            marks.update({self._key(p): {"step": _step_of(self._key(p)), "stale": "made before `speid "
                                         "prepare --overwrite` replaced the dataset"}
                          for p in self._derived_files()})
        if marks:
            self._update_manifest(marks=marks)
        return removed

    # --- artifacts --------------------------------------------------------------
    def write_metrics(self, metrics: dict, model_sha256: str | None) -> None:
        """``RUN/metrics.json``, carrying the model's hash (atomically)."""
        atomic_write_json(self.metrics, {**metrics, MODEL_SHA256: model_sha256})

    def read_metrics(self, check: bool = False) -> dict:
        """``RUN/metrics.json``; ``check``: refuse it when a later model replaced its model."""
        if not self.metrics.exists():
            raise ValueError(f"{self.metrics} does not exist: run `speid evaluate {self.path}` first")
        metrics = json.loads(self.metrics.read_text())
        if check:
            self.check_current(self.metrics, metrics.get(MODEL_SHA256))
        return metrics

    def write_predictions(self, pred: pd.DataFrame) -> None:
        """``RUN/predictions.csv`` and ``RUN/predictions.bedpe`` (atomically)."""
        write_predictions_csv(pred, self.predictions)
        write_bedpe(pred, self.predictions_bedpe)

    def read_motif_summary(self) -> dict:
        """``RUN/motifs/motifs.json`` ({} when missing or unreadable)."""
        try:
            return json.loads(self.motif_summary.read_text())
        except (OSError, ValueError):
            return {}


def _json_model_hash(path: Path) -> str | None:
    if path.suffix != ".json":
        return None
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value.get(MODEL_SHA256) if isinstance(value, dict) else None


def _step_of(key: str) -> str:
    top = key.split("/", 1)[0]
    return {schema.MOTIFS_DIR: "motifs", schema.LINKS_DIR: "score", schema.CROSS_CELL_DIR: "cross-cell"
            }.get(top, "evaluate")
