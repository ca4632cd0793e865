"""Loading a trained model: a ``.keras`` file, or a run's model after the provenance check.

:func:`load_model` registers the workbench's custom layer
(:class:`speidlib.model.layers.PooledConv1D`) before Keras reads the file, so
a fresh process can load any run's model; :func:`load_run_model` first asks
the run (:meth:`speidlib.run.Run.check_model`) whether ``RUN/model.keras`` is
the model ``train`` wrote from the run's dataset.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from speidlib.run import Run
from speidlib.run.lock import MODEL_WRITERS, held_message, lock_holder


def load_model(path, train_hint: str | None = None):
    """The Keras model saved at ``path`` (a ``.keras`` file), loaded without compiling.

    ``train_hint``: the run directory, to name ``speid train RUN`` in the errors.
    """
    import keras  # deferred: reading a run must not load TensorFlow

    from speidlib.model import layers  # noqa: F401  (registers PooledConv1D)

    path = Path(path)
    again = f"run `speid train {train_hint}`" if train_hint else "train it"
    if not path.exists():
        raise ValueError(f"{path} does not exist: {again} first")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # a truncated zip reads as "file not found" deep inside Keras
        raise ValueError(f"{path} cannot be read as a Keras model, it is damaged or incomplete "
                         f"({type(e).__name__}); {again} again") from e


def load_run_model(run, check: bool = True):
    """A run's model (``RUN/model.keras``), checked first unless ``check=False``.

    Returns the model alone; :func:`snapshot_run_model` also gives its hash.
    """
    run = Run(run)
    if check:
        run.check_model()
    return load_model(run.model, run.path)


def snapshot_run_model(run):
    """A run's model and its content hash, from a copy that cannot change under the caller.

    Refused while a step that replaces the model (``train``, ``prepare``) holds
    the run (:func:`speidlib.run.lock.lock_holder`), or while ``config.json``
    says training is unfinished. The file is copied (``train`` replaces it
    atomically, so the copy is one whole model), the copy checked against the
    hash ``train`` recorded, and the model read from the copy: what is scored
    is the model the hash names, even if ``train`` starts a moment later, and
    steps that only read the model (``evaluate``, other ``score`` jobs) may run
    meanwhile.

    Returns
    -------
    model : keras.Model
    model_sha256 : str
    """
    run = Run(run)
    holder = lock_holder(run.path)
    if holder is not None and holder.get("step") in MODEL_WRITERS:
        raise ValueError(held_message(run.path, holder))
    if not run.model.exists():
        run.check_model()  # says which step to run
    with tempfile.TemporaryDirectory(prefix="speid_model_") as tmp:
        copy = Path(tmp) / run.model.name
        shutil.copyfile(run.model, copy)
        sha = run.check_model(copy)
        return load_model(copy, run.path), sha
