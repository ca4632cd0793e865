"""The one owner of process-wide TensorFlow/Keras state: what a step sets, it puts back."""
import os
import random
import subprocess
import sys
import threading

import keras
import numpy as np
import pytest

from speidlib import runtime
from speidlib.model.presets import ModelConfig

W = 100
TINY = ModelConfig(name="tiny", n_kernels=4, kernel_size=10, pool_size=5, lstm_units=4, dense_units=4,
                   batch_size=16, pretrain_epochs=1, retrain_epochs=1, patience=50)


def test_importing_speidlib_and_its_runtime_loads_no_tensorflow():
    code = ("import sys, speidlib, speidlib.runtime, speidlib.data\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_collective_key_work_around_finds_tensorflows_private_attribute():
    """`distribution_strategy` raises MirroredStrategy._collective_key_base before each strategy;
    if TensorFlow renames it, a second strategy in one process fails: this test says so first."""
    import tensorflow as tf

    cls = tf.distribute.MirroredStrategy
    assert isinstance(cls._collective_key_base, int)
    before = cls._collective_key_base
    runtime._fresh_collective_keys(cls)
    assert cls._collective_key_base == before + runtime.COLLECTIVE_KEY_STEP


def test_op_determinism_can_be_read_and_set_back():
    was = runtime.op_determinism()
    runtime.set_op_determinism(not was)
    assert runtime.op_determinism() is (not was)
    runtime.set_op_determinism(was)
    assert runtime.op_determinism() is was


def _comparable(state: dict) -> dict:
    out = dict(state)
    out["python_rng"] = hash(state["python_rng"])
    name, keys, pos, *rest = state["numpy_rng"]
    out["numpy_rng"] = (name, keys.tobytes(), pos, *rest)
    return out


def test_keeps_process_state_puts_back_what_configure_changed():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        before = _comparable(runtime.process_state())
        with runtime.keeps_process_state():
            info = runtime.configure(seed=7, threads=1, deterministic=True)
            inside = runtime.process_state()
        assert info["policy"] == inside["policy"] == "float32"
        assert inside["deterministic"] and inside["tf_seed"] == inside["keras_seed"] == 7
        assert _comparable(runtime.process_state()) == before
        with pytest.raises(KeyError), runtime.keeps_process_state():   # also when the block raises
            runtime.configure(seed=8)
            raise KeyError("stop")
        assert _comparable(runtime.process_state()) == before
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A prepared run over a small demo (windows of 100 bp)."""
    from speidlib.data import PrepareConfig, prepare
    from speidlib.demo import make_demo

    root = tmp_path_factory.mktemp("runtime")
    make_demo(root / "demo", seed=0, n_pairs=300)
    prepare(PrepareConfig(pairs=str(root / "demo" / "pairs.csv"), genome=str(root / "demo" / "genome.fa"),
                          enhancer_window=W, promoter_window=W, augment=2, seed=0), root / "run", progress=False)
    return root / "run"


def test_training_in_a_kernel_leaves_policy_determinism_seeds_and_threads_as_they_were(run_dir):
    """As a notebook kernel that has already run TensorFlow: train, and nothing process-wide moved."""
    from speidlib.train.stages import train_run

    keras.ops.convert_to_numpy(keras.ops.ones(2))     # TensorFlow has started (its pools are fixed)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    random.seed(11)
    np.random.seed(11)
    omp = os.environ.pop("OMP_NUM_THREADS", None)
    try:
        before = runtime.process_state()
        expected_draw = (random.random(), np.random.random())
        random.setstate(before["python_rng"])
        np.random.set_state(before["numpy_rng"])
        train_run(run_dir, preset=TINY, seed=3, threads=1, progress=False)   # sets float32, determinism, seeds
        after = runtime.process_state()
        for key in ("policy", "deterministic", "threads", "omp_threads", "tf_seed", "keras_seed"):
            assert after[key] == before[key], key
        assert after["policy"] == "mixed_bfloat16"
        assert (random.random(), np.random.random()) == expected_draw
    finally:
        keras.mixed_precision.set_global_policy("float32")
        if omp is not None:
            os.environ["OMP_NUM_THREADS"] = omp


def _pool_threads() -> int:
    return sum(t.name.startswith("speid-numpy") for t in threading.enumerate())


def test_one_thread_pool_grows_to_the_largest_count_and_is_shut_down():
    runtime.shutdown_thread_pool()
    assert runtime.map_threads(lambda x: x * x, range(3), threads=3) == [0, 1, 4]
    assert runtime.map_threads(lambda x: -x, range(2), threads=2) == [0, -1]
    assert runtime._pool._max_workers == 3                       # the 3-thread pool served both
    assert runtime.map_threads(lambda x: x, [5], threads=4) == [5]      # one item: no pool needed
    assert runtime._pool._max_workers == 3
    runtime.map_threads(lambda x: x, range(4), threads=4)
    assert runtime._pool._max_workers == 4
    runtime.release_keras_state()                                 # stops the pool too
    assert runtime._pool is None and _pool_threads() == 0
