"""Loading a trained model: a ``.keras`` file, or a run's model after the provenance check.

:func:`load_model` registers the workbench's custom layer
(:class:`speidlib.model.layers.PooledConv1D`) before Keras reads the file, so
a fresh process can load any run's model; :func:`load_run_model` first asks
the run (:meth:`speidlib.run.Run.check_model`) whether ``RUN/model.keras`` is
the model ``train`` wrote from the run's dataset.
"""
from __future__ import annotations

from pathlib import Path

from speidlib.run import Run, run_lock


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
    """A run's model and its content hash, read under the run's lock.

    The model is checked and loaded while no step writes the run (``train``
    holds the lock while it replaces the model), so what is scored is the model
    the hash names even if ``train`` starts a moment later.

    Returns
    -------
    model : keras.Model
    model_sha256 : str
    """
    run = Run(run)
    with run_lock(run.path, "snapshot", wait=30.0):
        sha = run.check_model()
        return load_model(run.model, run.path), sha
