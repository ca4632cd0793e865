"""Where training runs: seeds, threads, precision policy, devices and distribution.

:func:`configure` seeds Python, numpy and Keras, sets TensorFlow's threads and
the mixed-precision policy; :func:`device_info` names the device; the
distribution helpers pick a ``tf.distribute`` strategy for several GPUs
(``speid train --devices``).
"""
from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)


# --- backend, device, seeds -----------------------------------------------------------
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


def configure(seed: int | None = 0, threads: int | None = 2, mixed_precision: bool = False,
              deterministic: bool | None = None) -> dict:
    """Set threads, seeds, determinism and the float policy before building a model.

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
    if deterministic and info["backend"] == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    policy = "float32"
    if mixed_precision:
        if info["gpus"]:
            policy = "mixed_float16"
        else:
            logger.warning("mixed precision needs a GPU; none is visible, so training stays float32")
    keras.mixed_precision.set_global_policy(policy)
    return {**info, "policy": policy, "seed": seed, "deterministic": bool(deterministic),
            "threads": threads}


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


def synchronize_batchnorm(model, synchronized: bool = True) -> int:
    """Make every BatchNormalization layer of ``model`` use global batch statistics.

    Under a mirrored strategy each replica sees only its share of the batch;
    with ``synchronized=True`` (TensorFlow backend) the layers all-reduce their
    moments, so a training step equals the single-device step on the whole
    batch. Nested models are searched. Returns the number of layers changed.
    """
    import keras

    if synchronized and keras.config.backend() != "tensorflow":
        return 0
    changed, stack = 0, [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization) and layer.synchronized != synchronized:
            layer.synchronized = bool(synchronized)
            changed += 1
        stack.extend(getattr(layer, "layers", []) or [])
    return changed


def release_keras_state() -> None:
    """Forget the models and graphs Keras holds, and give freed memory back to the system.

    For one process that trains or scores several runs one after the other (notebook 04
    trains one model per cell line): without it each run's TensorFlow state stays
    resident beside the next one's.
    """
    import ctypes
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the freed memory is reused, not returned
        pass
