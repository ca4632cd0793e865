"""The run directory: the one hand-off between steps, notebooks, the command line and dashboards.

File names live in :mod:`speidlib.schema` (``DATASET_FILE``, ``CONFIG_FILE``,
``MODEL_FILE``, ...). This module reads and writes ``RUN/config.json`` (one
section per step), loads a run's model with the workbench's custom layer
registered, and writes scored pairs as CSV and BEDPE. Every file is written
atomically (:mod:`speidlib.io`).

It also keeps a run honest: :func:`run_lock` lets one step at a time write a
run (and cleans the temporary files of steps that crashed);
:func:`existing_run` / :func:`clear_run` back ``speid prepare``'s refusal and
``--overwrite``; the dataset's content hash (``prepare.dataset_sha256`` in
``config.json``) is recorded by ``train`` beside the model and in its
checkpoints, and :func:`check_model` refuses a model made from another
dataset; :func:`config_path` resolves a path recorded in ``config.json``
from any working directory.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
from pathlib import Path

import pandas as pd

from speidlib import schema
from speidlib.io import alive, atomic_path, atomic_write_json, package_versions, sha256

# what each step of a run records about its inputs (config.json)
DATASET_SHA256 = "dataset_sha256"   # prepare: the hash of dataset.h5; train: the dataset it read
MODEL_SHA256 = "model_sha256"       # train: the hash of model.keras it wrote


def write_config(run_dir, section: str, values: dict) -> None:
    """Merge ``values`` under ``section`` into ``RUN/config.json`` (atomically)."""
    path = Path(run_dir) / schema.CONFIG_FILE
    config = read_config(run_dir) if path.exists() else {}
    config[section] = values
    config.setdefault("versions", {}).update(package_versions())
    atomic_write_json(path, config)


def read_config(run_dir) -> dict:
    """``RUN/config.json`` as a dict; a clear error if it is missing or damaged."""
    path = Path(run_dir) / schema.CONFIG_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: run `speid prepare` for this run directory first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from e


BEDPE_COLUMNS = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score",
                 "strand1", "strand2", "label", "distance"]


def load_model(run_dir):
    """The trained model of a run (``RUN/model.keras``)."""
    import keras  # deferred: reading a config must not load TensorFlow

    # Registers PooledConv1D, so a fresh process can load the model. The one import
    # of a higher layer from here (tests/test_architecture.py allows exactly this).
    from speidlib.model import layers  # noqa: F401

    path = Path(run_dir) / schema.MODEL_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: run `speid train {run_dir}` first")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # a truncated zip reads as "file not found" deep inside Keras
        raise ValueError(f"{path} cannot be read as a Keras model, it is damaged or incomplete "
                         f"({type(e).__name__}); run `speid train {run_dir}` again") from e


# --- refusing artifacts made from other inputs -----------------------------------
def existing_run(run_dir) -> list[str]:
    """The names of ``schema.RUN_FILES`` present in ``run_dir`` when it holds a run, else [].

    A folder holds a run when it has a dataset, a config, a model, metrics or
    checkpoints (a lone ``notebooks/`` or ``motifs/`` folder does not count).
    """
    run_dir = Path(run_dir)
    present = [n for n in schema.RUN_FILES if (run_dir / n).exists()]
    loose = {schema.RUN_NOTEBOOKS_DIR, schema.CROSS_CELL_DIR, schema.MOTIFS_DIR}
    return present if any(n not in loose for n in present) else []


def clear_run(run_dir) -> list[str]:
    """Remove every artifact of ``schema.RUN_FILES`` from a run directory; the names removed.

    The scored links of ``schema.RUN_OUTPUT_DIRS`` go with them (they were made
    from the run's model). Other files in the folder are left alone.
    """
    removed = existing_run(run_dir)
    if removed:
        removed += [n for n in schema.RUN_OUTPUT_DIRS if (Path(run_dir) / n).exists()]
    for name in removed:
        path = Path(run_dir) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return removed


def dataset_fingerprint(run_dir) -> str | None:
    """The content hash of ``RUN/dataset.h5`` recorded by ``prepare`` (None for older runs)."""
    return read_config(run_dir).get("prepare", {}).get(DATASET_SHA256)


def check_dataset(run_dir, recorded: str | None, what: str) -> None:
    """Raise unless ``recorded`` (the dataset hash ``what`` was made from) is this run's dataset.

    ``None`` on either side (a run from before fingerprints) is not checked.
    """
    current = dataset_fingerprint(run_dir)
    if recorded and current and recorded != current:
        raise ValueError(f"{what} was made from another dataset than {Path(run_dir) / schema.DATASET_FILE} "
                         f"(dataset {recorded[:12]}, now {current[:12]}; was `speid prepare` run "
                         f"again?): run `speid train {run_dir}` again, without --resume")


def check_model(run_dir) -> None:
    """Raise unless ``RUN/model.keras`` is the model ``train`` wrote from this run's dataset.

    What ``evaluate``, ``motifs`` and ``score`` call first.
    """
    run_dir = Path(run_dir)
    path = run_dir / schema.MODEL_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: run `speid train {run_dir}` first")
    train = read_config(run_dir).get("train", {})
    if train.get("status") == "running":
        raise ValueError(f"{path} is from an unfinished training run ({run_dir / schema.CONFIG_FILE} "
                         f"says train is running): finish it with `speid train {run_dir} --resume`")
    check_dataset(run_dir, train.get(DATASET_SHA256), str(path))
    recorded = train.get(MODEL_SHA256)
    if recorded and sha256(path) != recorded:
        raise ValueError(f"{path} is not the model `speid train` wrote for this run (its content "
                         f"hash differs from {MODEL_SHA256} in {schema.CONFIG_FILE}): run "
                         f"`speid train {run_dir}` again")


def check_output_path(out_path, run_dir, inputs: dict) -> None:
    """Refuse an output path that is one of ``inputs`` (option -> path) or a file of the run.

    ``speid score --out`` may write anywhere but over what it reads, or over
    an artifact of ``run_dir`` (``schema.RUN_FILES``, or anything inside the
    run's checkpoints, motifs or notebooks folders).
    """
    out = Path(out_path).expanduser().resolve()
    for option, path in inputs.items():
        if path is not None and Path(path).expanduser().resolve() == out:
            raise ValueError(f"--out {out_path} is the {option} file this step reads; write the "
                             "output to another file")
    run = Path(run_dir).expanduser().resolve()
    for name in (*schema.RUN_FILES, schema.LOCK_FILE):
        target = run / name
        if out == target or target in out.parents:
            raise ValueError(f"--out {out_path} is the run's own {name}; write the output outside "
                             f"{run_dir}'s files, e.g. {run_dir}/scores.bedpe")


# --- paths recorded in config.json -------------------------------------------------
def record_path(path) -> str:
    """``path`` as ``config.json`` records it: absolute, so it resolves from any directory."""
    return str(Path(path).expanduser().resolve())


def config_path(run_dir, section: str, key: str) -> Path | None:
    """A path recorded in ``config.json`` (``[section][key]``), resolved; None if not recorded.

    Absolute paths are taken as they are; a relative one (runs from before
    paths were recorded absolute) is tried against the run directory, then
    its parent folders (where the step that wrote it was started, typically
    the project root), then the working directory.
    """
    value = (read_config(run_dir).get(section) or {}).get(key)
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    run_dir = Path(run_dir).resolve()
    for base in (run_dir, *run_dir.parents):
        if (base / path).exists():
            return base / path
    return Path.cwd() / path


# --- one writer at a time -----------------------------------------------------------

def locked(step: str):
    """Decorate a step function whose first argument is the run directory: it runs under
    :func:`run_lock` (re-entrant, so a locked step may call another)."""
    def wrap(fn):
        @functools.wraps(fn)
        def step_under_lock(run_dir, *args, **kwargs):
            with run_lock(run_dir, step):
                return fn(run_dir, *args, **kwargs)
        return step_under_lock
    return wrap


@contextlib.contextmanager
def run_lock(run_dir, step: str):
    """Hold ``RUN/.speid.lock`` while ``step`` writes the run; refuse when another process holds it.

    The lock file names the holding process (``pid``, host, step); a lock
    left by a process that no longer exists is taken over. Re-entrant within
    one process. On taking the lock, temporary files that crashed writers
    left in the run (``.<name>.*.tmp``) are removed.
    """
    run_dir = Path(run_dir)
    if step == "prepare":
        run_dir.mkdir(parents=True, exist_ok=True)
    elif not run_dir.is_dir():
        yield  # nothing to lock: the step itself says the run is missing
        return
    path = run_dir / schema.LOCK_FILE
    me = {"pid": os.getpid(), "host": socket.gethostname(), "step": step}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if holder.get("pid") == me["pid"] and holder.get("host") == me["host"]:
                yield  # this process already holds it (a step calling another)
                return
            just_made = not holder and _age(path) < 10  # another process is writing its name
            if just_made or holder.get("host") not in (None, me["host"]) or (
                    isinstance(holder.get("pid"), int) and alive(holder["pid"])):
                raise ValueError(
                    f"{run_dir} is being written by `speid {holder.get('step', '?')}` (process "
                    f"{holder.get('pid')} on {holder.get('host')}); wait for it to finish, or "
                    f"delete {path} if that process is gone") from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    else:
        raise ValueError(f"{path}: cannot take the run's lock file")
    try:
        remove_stray_temporaries(run_dir)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _age(path: Path) -> float:
    import time

    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _read_lock(path: Path) -> dict:
    try:
        holder = json.loads(path.read_text())
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def remove_stray_temporaries(run_dir) -> list[Path]:
    """Remove hidden temporary files (``.<name>.*.tmp*``) of the run and its checkpoints.

    Only safe while holding :func:`run_lock`: no other writer is then at work.
    """
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / schema.CHECKPOINT_DIR):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and ".tmp" in p.name and p.is_file():
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                removed.append(p)
    return removed


def to_bedpe(pred: pd.DataFrame) -> pd.DataFrame:
    """Scored pairs as BEDPE (enhancer as the first end), for Juicebox, HiGlass or IGV."""
    return pd.DataFrame({
        "chrom1": pred[schema.CHROM], "start1": pred[schema.ENHANCER_START],
        "end1": pred[schema.ENHANCER_END], "chrom2": pred[schema.CHROM],
        "start2": pred[schema.PROMOTER_START], "end2": pred[schema.PROMOTER_END],
        "name": pred[schema.ENHANCER_NAME] + "~" + pred[schema.PROMOTER_NAME],
        "score": pred[schema.SCORE].round(6), "strand1": ".", "strand2": ".",
        "label": pred[schema.LABEL], "distance": pred[schema.DISTANCE]})[BEDPE_COLUMNS]


def write_bedpe(pred: pd.DataFrame, path) -> None:
    """Write scored pairs as headerless, tab-separated BEDPE (atomically)."""
    with atomic_path(path) as tmp:
        to_bedpe(pred).to_csv(tmp, sep="\t", header=False, index=False)


def write_predictions_csv(pred: pd.DataFrame, path) -> None:
    """Write scored pairs as CSV with a header (atomically)."""
    with atomic_path(path) as tmp:
        pred.to_csv(tmp, index=False)
