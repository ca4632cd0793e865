"""Thin wrappers of :class:`speidlib.run.Run` for the callers that still use the old names
(``speidlib.train.stages``, notebook 02, some tests). New code uses :class:`speidlib.run.Run`."""
from __future__ import annotations

from speidlib.run import DATASET_SHA256, MODEL_SHA256, Run, locked, run_lock

__all__ = ["DATASET_SHA256", "MODEL_SHA256", "check_dataset", "config_path", "dataset_fingerprint", "locked",
           "read_config", "run_lock", "write_config"]


def write_config(run_dir, section: str, values: dict) -> None:
    """:meth:`speidlib.run.Run.write_record` (``section`` with its ``values``)."""
    Run(run_dir).write_record(section, values)


def read_config(run_dir) -> dict:
    """:meth:`speidlib.run.Run.config`."""
    return Run(run_dir).config()


def dataset_fingerprint(run_dir) -> str | None:
    """:meth:`speidlib.run.Run.dataset_sha256`."""
    return Run(run_dir).dataset_sha256()


def check_dataset(run_dir, recorded: str | None, what: str) -> None:
    """:meth:`speidlib.run.Run.check_dataset`."""
    Run(run_dir).check_dataset(recorded, what)


def config_path(run_dir, section: str, key: str):
    """:meth:`speidlib.run.Run.recorded_path`."""
    return Run(run_dir).recorded_path(section, key)
