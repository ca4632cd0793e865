"""Checkpoints of two-stage training: resume exactly where a run stopped.

:class:`Checkpoints` keeps ``RUN/checkpoints/``: weights and optimizer state of
the last and the best epoch, the dropout random state and ``state.json``, the
commit point written last (atomically), so a run killed at any moment resumes
from the last committed epoch with the same weights and history as an
unbroken run.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from speidlib import schema
from speidlib.io import atomic_path, atomic_write_json

STATE_VERSION = 1


# --- checkpoints ---------------------------------------------------------------------
class Checkpoints:
    """Training state of a run, optionally persisted after every epoch.

    ``state`` is a dict: ``stage`` (``pretrain``/``retrain``/``done``),
    ``epoch`` (epochs completed in that stage), ``best_value``,
    ``best_epoch``, ``best_weights``, ``wait`` (epochs since the best),
    ``weights``, ``optimizer`` and ``rng`` (file names of the last epoch; ``rng``
    holds the dropout random state, see :func:`rng_variables`), ``history``
    (rows of both stages) and ``run`` (what the run was started with).

    Parameters
    ----------
    directory : ``RUN/checkpoints``, or None to keep everything in memory
    history_path : ``RUN/history.csv``, rewritten after every commit
    """

    def __init__(self, directory=None, history_path=None):
        self.directory = Path(directory) if directory is not None else None
        self.history_path = Path(history_path) if history_path is not None else None
        self.state: dict = self.fresh_state({})
        self.best_in_memory = None   # weights of the best epoch of the current stage

    @staticmethod
    def fresh_state(run: dict, stage: str = schema.PRETRAIN) -> dict:
        return {"version": STATE_VERSION, "run": run, "stage": stage, "epoch": 0,
                "best_value": None, "best_epoch": None, "best_weights": None, "wait": 0,
                "weights": None, "optimizer": None, "rng": None, "history": [], "best_epochs": {}}

    @property
    def stage(self) -> str:
        return self.state["stage"]

    # persistence
    def load(self) -> dict | None:
        """The last committed state, or None if there is none."""
        if self.directory is None:
            return None
        path = self.directory / schema.CHECKPOINT_STATE
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is damaged ({e.msg}); delete {self.directory} and train "
                             "without --resume") from e
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{path} has checkpoint version {state.get('version')}, this speidlib "
                             f"reads version {STATE_VERSION}")
        for key in ("weights", "optimizer", "best_weights", "rng"):
            if state.get(key) and not (self.directory / state[key]).exists():
                raise ValueError(f"{path} names {state[key]}, which is missing; the checkpoint "
                                 "cannot be resumed")
        self.state = state
        self._remove_strays()
        self.write_history()
        return state

    def clear(self) -> None:
        """Forget any earlier run in the directory (start afresh)."""
        if self.directory is not None and self.directory.exists():
            for p in self.directory.iterdir():
                if p.is_file() and (p.name == schema.CHECKPOINT_STATE or _is_checkpoint_file(p.name)):
                    p.unlink()

    def commit(self) -> None:
        """Make the in-memory state durable: state.json, then history.csv."""
        if self.directory is None:
            return
        atomic_write_json(self.directory / schema.CHECKPOINT_STATE, self.state)
        self.write_history()
        self._remove_strays()

    def write_history(self) -> None:
        if self.history_path is None:
            return
        import pandas as pd

        table = pd.DataFrame(self.state["history"], columns=schema.HISTORY_COLUMNS)
        with atomic_path(self.history_path) as tmp:
            table.to_csv(tmp, index=False)

    def _remove_strays(self) -> None:
        keep = {self.state.get(k) for k in ("weights", "optimizer", "best_weights", "rng")}
        for p in self.directory.iterdir():
            if p.is_file() and _is_checkpoint_file(p.name) and p.name not in keep:
                p.unlink()

    # weights and optimizer files
    def save_weights(self, model, tag: str) -> str | None:
        if self.directory is None:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{tag}.weights.h5"
        with atomic_path(self.directory / name, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
        return name

    def save_optimizer(self, optimizer, tag: str) -> str | None:
        if self.directory is None:
            return None
        name = f"{tag}.optimizer.npz"
        with atomic_path(self.directory / name) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, *[np.asarray(v.numpy()) for v in optimizer.variables])
        return name

    def save_rng(self, models, tag: str) -> str | None:
        """Save the dropout random state of ``models`` (:func:`rng_variables`); its file name."""
        if self.directory is None:
            return None
        name = f"{tag}.rng.npz"
        with atomic_path(self.directory / name) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, *[np.asarray(v.numpy()) for v in rng_variables(models)])
        return name

    def restore_rng(self, models, name: str) -> None:
        """Set the dropout random state of ``models`` to the one saved in ``name``."""
        variables = rng_variables(models)
        with np.load(self.directory / name) as z:
            arrays = [z[f"arr_{i}"] for i in range(len(z.files))]
        if len(arrays) != len(variables):
            raise ValueError(f"{self.directory / name} holds {len(arrays)} random states, the model "
                             f"has {len(variables)}; the checkpoint cannot be resumed")
        for v, a in zip(variables, arrays):
            v.assign(a)

    def restore_weights(self, model, name: str) -> None:
        model.load_weights(self.directory / name)

    def restore_optimizer(self, optimizer, variables, name: str) -> None:
        """Build ``optimizer`` for ``variables`` and load its saved state (step, moments)."""
        if not optimizer.built:
            optimizer.build(variables)
        with np.load(self.directory / name) as z:
            arrays = [z[f"arr_{i}"] for i in range(len(z.files))]
        if len(arrays) != len(optimizer.variables):
            raise ValueError(f"{self.directory / name} holds {len(arrays)} optimizer variables, the "
                             f"model's optimizer has {len(optimizer.variables)}")
        for v, a in zip(optimizer.variables, arrays):
            v.assign(a)


def rng_variables(models) -> list:
    """The random-state variables (Keras ``SeedGenerator`` states: dropout) of ``models``.

    Not part of a model's weights, so ``save_weights`` misses them; without
    them a resumed run draws other dropout masks than an unbroken one. In the
    order of the models' variables, each once (the stage-2 head shares its
    layers with the full model).
    """
    out, seen = [], set()
    for model in models:
        for v in model.variables:
            if "seed_generator_state" in v.path and id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    return out


def _is_checkpoint_file(name: str) -> bool:
    return name.endswith((".weights.h5", ".optimizer.npz", ".rng.npz")) or \
        (name.startswith(".") and ".tmp" in name)
