"""One writer at a time: ``RUN/.speid.lock`` (:func:`run_lock`, :func:`locked`).

A step that writes a run (``prepare``, ``train``, ``evaluate``...) holds
``RUN/.speid.lock`` while it runs. The lock file names the holding process
(``pid``, host, step); a lock left by a process that no longer exists is taken
over. Re-entrant within one process. On taking it, temporary files that
crashed writers left in the run (``.<name>.*.tmp``) are removed.

Recording a step or an output (``config.json``, ``manifest.json``) takes only
a moment, and steps that run side by side do it (the workflow's per-chromosome
``speid score`` jobs, beside an ``evaluate``): those read-modify-writes take
their own short lock, ``RUN/.speid.record.lock`` (:func:`record_lock`), and wait
for each other. :func:`lock_holder` says which step holds the run, without taking it.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import time
from pathlib import Path

from speidlib import schema
from speidlib.io import alive

#: steps that replace a run's model while they hold its lock: nothing may read it meanwhile
MODEL_WRITERS = ("prepare", "train")
_RECORDED = (f".{schema.CONFIG_FILE}.", f".{schema.MANIFEST_FILE}.")  # written under record_lock


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

    ``prepare`` creates the run folder; if it made the folder and leaves it
    empty (a refused prepare), the folder is removed again.
    """
    run_dir = Path(run_dir)
    created = None
    if step == "prepare":
        created = next((p for p in [run_dir, *run_dir.parents][::-1] if not p.exists()), None)
        run_dir.mkdir(parents=True, exist_ok=True)
    elif not run_dir.is_dir():
        yield  # nothing to lock: the step itself says the run is missing
        return
    try:
        with _hold(run_dir / schema.LOCK_FILE, step, wait=0.0) as mine:
            if mine:
                remove_stray_temporaries(run_dir)
            yield
    finally:
        if created is not None:
            _remove_if_empty(run_dir, created)


@contextlib.contextmanager
def record_lock(run_dir, wait: float = 60.0):
    """Hold ``RUN/.speid.record.lock`` for one read-modify-write of ``config.json`` or
    ``manifest.json``; wait up to ``wait`` seconds for another process's."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        yield
        return
    with _hold(run_dir / schema.RECORD_LOCK_FILE, "record", wait=wait):
        yield


def lock_holder(run_dir) -> dict | None:
    """The live process holding ``RUN/.speid.lock`` (``pid``, ``host``, ``step``), else None."""
    path = Path(run_dir) / schema.LOCK_FILE
    if not path.exists():
        return None
    holder = _read_lock(path)
    if not holder:
        return {"step": "?"} if _age(path) < 10 else None
    if holder.get("host") not in (None, socket.gethostname()):
        return holder
    return holder if isinstance(holder.get("pid"), int) and alive(holder["pid"]) else None


def held_message(run_dir, holder: dict) -> str:
    """The one line refusing a run another process is writing."""
    path = Path(run_dir) / schema.LOCK_FILE
    return (f"{run_dir} is being written by `speid {holder.get('step', '?')}` (process "
            f"{holder.get('pid')} on {holder.get('host')}); wait for it to finish, or "
            f"delete {path} if that process is gone")


@contextlib.contextmanager
def _hold(path: Path, step: str, wait: float):
    """Hold the lock file ``path``; yields True when taken here, False when this process
    already held it."""
    me = {"pid": os.getpid(), "host": socket.gethostname(), "step": step}
    deadline = time.monotonic() + wait
    tries = 0
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            if holder.get("pid") == me["pid"] and holder.get("host") == me["host"]:
                yield False  # this process already holds it (a step calling another)
                return
            just_made = not holder and _age(path) < 10  # another process is writing its name
            if just_made or holder.get("host") not in (None, me["host"]) or (
                    isinstance(holder.get("pid"), int) and alive(holder["pid"])):
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise ValueError(held_message(path.parent, holder)) from None
            tries += 1
            if tries > 3:
                raise ValueError(f"{path}: cannot take the run's lock file") from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    try:
        yield True
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _remove_if_empty(run_dir: Path, top: Path) -> None:
    """Remove ``run_dir`` and its parents up to ``top`` while they are empty (made by this step)."""
    for folder in [run_dir, *run_dir.parents]:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): the step wrote something, keep it
            return
        if folder == top:
            return


def _age(path: Path) -> float:
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

    Only safe while holding :func:`run_lock`: no other step is then at work. The
    temporaries of ``config.json`` and the manifest are left: those are written under
    :func:`record_lock` by steps that do not hold the run (``speid score``).
    """
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / schema.CHECKPOINT_DIR):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and ".tmp" in p.name and p.is_file() and not p.name.startswith(_RECORDED):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                removed.append(p)
    return removed
