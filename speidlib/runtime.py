"""Process-wide TensorFlow and Keras state, owned in one place.

Everything a step sets for the whole process lives here and nowhere else:

* logs: :func:`quiet_logs` (``TF_CPP_MIN_LOG_LEVEL``), :func:`import_tensorflow_quietly`
  (the C++ start-up lines set aside), :func:`gpu_line`;
* threads, seeds, determinism and the precision policy: :func:`configure` sets them,
  :func:`keeps_process_state` (a context manager and decorator) puts back what a
  step changed when it returns, so a notebook kernel is left as it was;
* devices and distribution: :func:`device_info`, :func:`parse_devices`,
  :func:`distribution_strategy` (with the one work-around on TensorFlow's private
  ``MirroredStrategy._collective_key_base``), :func:`replica_batch_size`;
* memory: :func:`release_keras_state` (clear Keras, give freed memory back) and the
  one thread pool of the numpy work (:func:`map_threads`, :func:`shutdown_thread_pool`).

TensorFlow and Keras are imported inside the functions: importing this module
(as ``speidlib`` itself does) loads neither.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

#: TensorFlow's C++ log level the workbench runs at (2: warnings and info hidden)
LOG_LEVEL = "2"


# --- logs ------------------------------------------------------------------------------
def quiet_logs(env=None) -> None:
    """Set ``TF_CPP_MIN_LOG_LEVEL`` to :data:`LOG_LEVEL` in ``env`` (default ``os.environ``) unless set.

    TensorFlow reads it when it loads, so it must be set before; ``speidlib`` calls
    this on import, and :mod:`speidlib.app.study` on the environment of its children.
    """
    (os.environ if env is None else env).setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL)


def import_tensorflow_quietly() -> None:
    """Import ``tensorflow`` and ``keras`` with their C++ start-up lines set aside.

    ``TF_CPP_MIN_LOG_LEVEL`` quiets TensorFlow's own logger, but the C++ (absl)
    lines printed while its libraries load ignore it: "All log messages before
    absl::InitializeLog() ...", oneDNN notices, and on a machine with CUDA
    libraries but no GPU "failed call to cuInit: ... UNKNOWN ERROR (303)". In a
    notebook or a voila kernel those lines land in the page, because the kernel
    forwards what is written to file descriptor 2. So the import runs with
    descriptor 2 pointed at a temporary file, and so does the first device query
    (when the CUDA platform starts and logs). Does nothing when TensorFlow is already imported. Sets
    ``TF_CPP_MIN_LOG_LEVEL`` to 2 unless it is set, and absl's verbosity to
    ERROR. If the import fails, what it printed goes to stderr before the
    exception is raised again.
    """
    quiet_logs()
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import absl.logging
            import keras  # noqa: F401
            import tensorflow  # noqa: F401

            absl.logging.set_verbosity(absl.logging.ERROR)
            # the CUDA platform starts (and on a machine without a GPU logs "failed call to
            # cuInit") at the first device query, not at import: query once here
            tensorflow.config.list_physical_devices("GPU")
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def gpu_line() -> str | None:
    """``"TensorFlow sees N GPU(s): NAME, ..."`` when it sees one, else None (imports it quietly)."""
    import_tensorflow_quietly()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return f"TensorFlow sees {len(gpus)} GPU(s): {', '.join(names)}"


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]):
    """A package's public names, each imported from its module on first use (PEP 562).

    So ``from speidlib.data import prepare`` works while ``import speidlib.data``
    loads nothing (no TensorFlow, no scikit-learn) until a name is asked for.

    Parameters
    ----------
    package : the package's ``__name__``
    exports : module (relative to ``package``) -> the names it exports

    Returns
    -------
    ``(__getattr__, __dir__, __all__)`` for the package's ``__init__``
    """
    where = {name: f"{package}.{module}" for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(where[name]), name)

    def __dir__() -> list[str]:
        return sorted(set(where) | set(sys.modules[package].__dict__))

    return __getattr__, __dir__, sorted(where)


# --- devices -------------------------------------------------------------------------
def device_info() -> dict:
    """The Keras backend and the accelerators it can see.

    Returns
    -------
    dict with ``backend`` (``keras.config.backend()``), ``gpus`` (names, may be
    empty) and ``device`` (the first GPU, or ``"CPU"``).
    """
    import keras

    backend = keras.config.backend()
    gpus: list[str] = []
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
        elif backend == "jax":
            import jax

            gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
        elif backend == "torch":
            import torch

            gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as e:  # noqa: BLE001 - a broken driver must not stop a CPU run
        logger.warning("could not list GPUs (%s); assuming CPU", e)
    return {"backend": backend, "gpus": gpus, "device": gpus[0] if gpus else "CPU"}


# --- threads, seeds, determinism, precision: set, and put back -------------------------
def set_threads(threads: int | None) -> None:
    """TensorFlow's intra- and inter-op threads (and ``OMP_NUM_THREADS``); None leaves them alone.

    Has no effect on TensorFlow once it has run an op: its thread pools are fixed then.
    """
    if threads is None:
        return
    import keras

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TF already running: its thread pools are fixed
            pass


def _tf_config():
    """TensorFlow's config module with ``is_op_determinism_enabled`` (not exported as ``tf.config``)."""
    from tensorflow.python.framework import config

    return config


def op_determinism() -> bool:
    """Whether TensorFlow's deterministic ops are on (False on another backend)."""
    import keras

    if keras.config.backend() != "tensorflow":
        return False
    return bool(_tf_config().is_op_determinism_enabled())


def set_op_determinism(on: bool) -> None:
    """Turn TensorFlow's deterministic ops on or off (nothing on another backend)."""
    import keras

    if keras.config.backend() != "tensorflow":
        return
    config = _tf_config()
    config.enable_op_determinism() if on else config.disable_op_determinism()


def configure(seed: int | None = 0, threads: int | None = 2, mixed_precision: bool = False,
              deterministic: bool | None = None) -> dict:
    """Set threads, seeds, determinism and the float policy before building a model.

    For the whole process, until changed again: a step that must leave the process
    as it found it runs under :func:`keeps_process_state`.

    Parameters
    ----------
    seed : seeds Python, NumPy and the backend (``keras.utils.set_random_seed``);
        None leaves them alone
    threads : intra- and inter-op threads for TensorFlow (ignored once TF has
        started; other backends use ``OMP_NUM_THREADS``); None leaves them alone
    mixed_precision : use the ``mixed_float16`` policy when a GPU is visible
        (the output stays float32); on a CPU it is refused with a warning
    deterministic : deterministic TensorFlow ops; None means "when a seed is
        given and no GPU is visible", so CPU runs repeat exactly

    Returns
    -------
    dict : :func:`device_info` plus ``policy``, ``seed``, ``deterministic``, ``threads``
    """
    import keras

    set_threads(threads)
    info = device_info()
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if deterministic is None:
        deterministic = seed is not None and not info["gpus"]
    if deterministic:
        set_op_determinism(True)
    policy = "float32"
    if mixed_precision:
        if info["gpus"]:
            policy = "mixed_float16"
        else:
            logger.warning("mixed precision needs a GPU; none is visible, so training stays float32")
    keras.mixed_precision.set_global_policy(policy)
    return {**info, "policy": policy, "seed": seed, "deterministic": bool(deterministic),
            "threads": threads}


def process_state() -> dict:
    """What :func:`configure` may change, as it is now (loads Keras).

    Returns
    -------
    dict with ``policy`` (the global dtype policy's name), ``deterministic``,
    ``threads`` (TensorFlow's ``(intra, inter)`` op threads, ``(0, 0)`` meaning its
    default), ``omp_threads`` (``OMP_NUM_THREADS`` or None), ``python_rng`` and
    ``numpy_rng`` (the generators' states), ``tf_seed`` (TensorFlow's global seed or
    None), ``keras_seed`` and ``keras_seed_generator`` (what ``keras.utils.set_random_seed``
    recorded, or None)
    """
    import keras
    import numpy as np

    state = {"policy": keras.mixed_precision.global_policy().name, "deterministic": op_determinism(),
             "threads": (0, 0), "omp_threads": os.environ.get("OMP_NUM_THREADS"),
             "python_rng": random.getstate(), "numpy_rng": np.random.get_state(), "tf_seed": None,
             **_keras_seed()}
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.eager import context

        state["threads"] = (tf.config.threading.get_intra_op_parallelism_threads(),
                            tf.config.threading.get_inter_op_parallelism_threads())
        state["tf_seed"] = context.global_seed()
    return state


def _keras_seed(restore: dict | None = None) -> dict:
    """Keras's global seed and seed generator (what ``keras.utils.set_random_seed`` replaces);
    with ``restore``, put those back."""
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    names = {"keras_seed": GLOBAL_RANDOM_SEED, "keras_seed_generator": GLOBAL_SEED_GENERATOR}
    if restore is not None:
        for key, name in names.items():
            global_state.set_global_attribute(name, restore[key])
    return {key: global_state.get_global_attribute(name) for key, name in names.items()}


def restore_process_state(state: dict) -> None:
    """Put back what :func:`process_state` recorded.

    TensorFlow's thread counts come back only while it has not started (its pools
    are fixed at its first op); everything else always does.
    """
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy(state["policy"])
    if op_determinism() != state["deterministic"]:
        set_op_determinism(state["deterministic"])
    if state["omp_threads"] is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = state["omp_threads"]
    random.setstate(state["python_rng"])
    np.random.set_state(state["numpy_rng"])
    _keras_seed(restore=state)
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        tf.random.set_seed(state["tf_seed"])
        try:
            tf.config.threading.set_intra_op_parallelism_threads(state["threads"][0])
            tf.config.threading.set_inter_op_parallelism_threads(state["threads"][1])
        except RuntimeError:  # TF has started: its pools keep the size they started with
            pass


@contextlib.contextmanager
def keeps_process_state():
    """Run a block (or, as ``@keeps_process_state()``, a function) and put the process state back.

    What :func:`configure` sets inside (precision policy, op determinism, seeds and
    the random generators' states, threads as far as TensorFlow allows: see
    :func:`restore_process_state`) is as before when the block returns or raises,
    so training in a notebook leaves the kernel as it was.
    """
    state = process_state()
    try:
        yield state
    finally:
        restore_process_state(state)


# --- several devices: tf.distribute ---------------------------------------------------
def parse_devices(devices) -> list[str] | None:
    """The devices ``speid train --devices`` names, as TensorFlow device names.

    Parameters
    ----------
    devices : None or ``"all"`` (every visible GPU), ``"cpu"`` (no
        distribution), a comma-separated list of GPU indices (``"0,1"``) or of
        device names (``"/gpu:0,/gpu:1"``, ``"cpu:0,cpu:1"``), or a sequence
        of such items

    Returns
    -------
    list of str such as ``["/gpu:0", "/gpu:1"]``, or None for "every visible GPU"
    """
    if devices is None:
        return None
    items = [d.strip() for d in (devices.split(",") if isinstance(devices, str) else devices)]
    items = [d for d in items if d]
    if items == ["all"]:
        return None
    if items == ["cpu"]:
        return ["/cpu:0"]
    if not items:
        raise ValueError("--devices is empty: give 'all', 'cpu', GPU indices such as 0,1 "
                         "or device names such as /gpu:0,/gpu:1")
    names = []
    for d in items:
        if d.isdigit():
            names.append(f"/gpu:{int(d)}")
        elif ":" in d and d.lstrip("/").split(":")[0].lower() in ("gpu", "cpu") \
                and d.rsplit(":", 1)[1].isdigit():
            kind, index = d.lstrip("/").split(":")
            names.append(f"/{kind.lower()}:{int(index)}")
        else:
            raise ValueError(f"--devices item {d!r} is not a GPU index (0, 1, ...) or a device "
                             "name such as /gpu:0 or cpu:1")
    if len(set(names)) != len(names):
        raise ValueError(f"--devices names a device twice: {','.join(items)}")
    return names


def visible_devices(kind: str = "GPU") -> list[str]:
    """Logical TensorFlow devices of one kind, e.g. ``["/gpu:0", "/gpu:1"]`` (starts TensorFlow)."""
    import tensorflow as tf

    return [f"/{kind.lower()}:{i}" for i, _ in enumerate(tf.config.list_logical_devices(kind))]


def distribution_strategy(devices=None):
    """The ``tf.distribute`` strategy training runs under.

    ``tf.distribute.MirroredStrategy`` when more than one device is chosen
    (by default: every visible GPU), else TensorFlow's default strategy (one
    device, no replication). Under a mirrored strategy each batch the batch
    source yields (the preset's ``batch_size``) is the *global* batch: it is
    split evenly across the replicas, and gradients are summed across them,
    so the step is the same as on one device. Each call returns a new strategy
    whose collective keys no earlier one used (:func:`_fresh_collective_keys`),
    so one process may train (and resume) several runs on several devices.

    Parameters
    ----------
    devices : as :func:`parse_devices`

    Returns
    -------
    tf.distribute.Strategy; ``strategy.num_replicas_in_sync`` is the replica count

    Raises
    ------
    ValueError : a named device is not visible, or the Keras backend is not TensorFlow
    """
    import keras
    import tensorflow as tf

    names = parse_devices(devices)
    if keras.config.backend() != "tensorflow":
        if names and len(names) > 1:
            raise ValueError(f"--devices with several devices needs the TensorFlow backend; "
                             f"KERAS_BACKEND is {keras.config.backend()!r}")
        return tf.distribute.get_strategy()
    if names is None:
        names = visible_devices("GPU")
    visible = set(visible_devices("GPU")) | set(visible_devices("CPU"))
    missing = [n for n in names if n not in visible]
    if missing:
        raise ValueError(f"--devices names {', '.join(missing)}, which TensorFlow does not see; "
                         f"visible devices: {', '.join(sorted(visible)) or 'none'}")
    if len(names) < 2:
        return tf.distribute.get_strategy()
    _fresh_collective_keys(tf.distribute.MirroredStrategy)
    return tf.distribute.MirroredStrategy(names)


COLLECTIVE_KEY_STEP = 100_000   # group keys one strategy may use; TensorFlow's own tests step so


def _fresh_collective_keys(strategy_class) -> None:
    """Give the next ``strategy_class`` collective keys no earlier strategy of this process used.

    Each ``MirroredStrategy`` numbers its all-reduce groups and instances from the
    class attribute ``_collective_key_base`` (0 unless set), while TensorFlow's
    runtime remembers every (group, instance) it has seen, with its tensor shape,
    until the process ends. A second strategy in the same process (a resume or
    a second run after a first: notebooks, the study, tests) then reuses the
    first one's keys, and when its ops come in another order the replicas fail
    with "Shape mismatch in the collective instance ...". Raising the base before
    every strategy keeps each one's keys apart, as TensorFlow's tests do.
    """
    if hasattr(strategy_class, "_collective_key_base"):
        strategy_class._collective_key_base += COLLECTIVE_KEY_STEP
    else:  # a TensorFlow without the attribute: a second strategy per process may fail
        logger.warning("tf.distribute.MirroredStrategy has no _collective_key_base; run one "
                       "multi-device training per process")


def replica_batch_size(global_batch_size: int, replicas: int) -> int:
    """Examples per replica when a global batch is split across ``replicas``.

    TensorFlow splits a batch as evenly as it can; when ``replicas`` does not
    divide the batch (the ``paper`` preset's 100 on 8 GPUs), the shares differ
    by one example, a warning says so, and the largest share is returned.

    Raises
    ------
    ValueError : fewer examples per batch than replicas (a replica would get none)
    """
    global_batch_size, replicas = int(global_batch_size), int(replicas)
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, got {replicas}")
    if global_batch_size < replicas:
        raise ValueError(f"the batch size {global_batch_size} is smaller than the {replicas} devices "
                         "it would be split across: use fewer devices (--devices)")
    if global_batch_size % replicas:
        logger.warning("the batch size %d does not split evenly across %d devices; replicas get "
                       "%d or %d examples", global_batch_size, replicas, global_batch_size // replicas,
                       -(-global_batch_size // replicas))
    return -(-global_batch_size // replicas)


# --- memory ----------------------------------------------------------------------------
def release_keras_state() -> None:
    """Forget the models and graphs Keras holds, stop the thread pool, give freed memory back.

    For one process that trains or scores several runs one after the other (notebook 04
    trains one model per cell line): without it each run's TensorFlow state stays
    resident beside the next one's.
    """
    import ctypes
    import gc

    import keras

    shutdown_thread_pool()
    keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the freed memory is reused, not returned
        pass


# --- the thread pool of the numpy work ---------------------------------------------------
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def map_threads(fn, items, threads: int) -> list:
    """``[fn(item) for item in items]`` on the process's one thread pool.

    Callers give at most ``threads`` items (:func:`speidlib.score.recurrence.row_parts`).
    The pool grows to the largest ``threads`` asked for (the smaller one is shut
    down) and lives until :func:`shutdown_thread_pool` (:func:`release_keras_state`
    calls it); a single item, or ``threads <= 1``, runs on the calling thread.
    """
    items, threads = list(items), int(threads)
    if len(items) <= 1 or threads <= 1:
        return [fn(item) for item in items]
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < threads:
            if _pool is not None:
                _pool.shutdown(wait=False)   # what it runs finishes; it takes nothing new
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="speid-numpy")
        futures = [_pool.submit(fn, item) for item in items]
    return [f.result() for f in futures]


def shutdown_thread_pool() -> None:
    """Stop the numpy work's thread pool (a later :func:`map_threads` starts a new one)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = None
