"""Multi-device training and GPU readiness, checked on a CPU.

Two logical CPU devices stand in for two GPUs: ``tf.distribute.MirroredStrategy``
runs the same replica code on them, splits every batch and all-reduces the
gradients (and, with synchronised BatchNorm, the batch statistics), so one
epoch must end with the same loss and weights as on one device. Logical devices
must be configured before TensorFlow starts, hence the subprocess.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from speidlib.runtime import parse_devices, replica_batch_size

SCRIPT = textwrap.dedent("""
    import json, os, shutil, sys
    from pathlib import Path
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import pandas as pd
    from speidlib.data.dataset import PrepareConfig, prepare
    from speidlib.demo.synthetic import make_demo
    from speidlib.model.presets import get_config
    from speidlib.model.load import load_run_model as load_model
    from speidlib.train.stages import train_run

    root = Path(sys.argv[1])
    make_demo(root / "demo", seed=0, n_pairs=600)
    prepare(PrepareConfig(pairs=str(root / "demo" / "pairs.csv"), genome=str(root / "demo" / "genome.fa"),
                          enhancer_window=400, promoter_window=400, augment=4, seed=0),
            root / "one", progress=False)
    shutil.copytree(root / "one", root / "two")
    # dropout off: each replica draws its own masks, so only the dropout-free step is comparable
    # one pass over the positive copies per epoch (no 16,000-example floor): a few steps, so that
    # float32 sums taken in another order across replicas stay within the tolerance below
    config = get_config("cpu").replace(name="cpu_no_dropout", merge_dropout=0.0, lstm_dropout=0.0,
                                       dense_dropout=0.0, epoch_examples=None)
    out = {}
    for name, devices in (("one", "cpu:0"), ("two", "cpu:0,cpu:1")):
        train_run(root / name, preset=config, pretrain_epochs=1, retrain_epochs=1, random_init=True,
                  progress=False, devices=devices, threads=1)
        history = pd.read_csv(root / name / "history.csv")
        info = json.loads((root / name / "config.json").read_text())["train"]["device"]
        weights = load_model(root / name).get_weights()
        out[name] = {"loss": history["loss"].tolist(), "replicas": info["replicas"],
                     "replica_batch_size": info["replica_batch_size"],
                     "synchronized": [l.synchronized for l in load_model(root / name).layers
                                      if isinstance(l, keras.layers.BatchNormalization)]}
        import numpy as np
        np.savez(root / f"{name}_weights.npz", *weights)
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.slow
def test_mirrored_strategy_on_two_devices_trains_like_one(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
    one, two = result["one"], result["two"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert two["replica_batch_size"] == one["replica_batch_size"] // 2 == 32
    # the saved model is a plain single-device model again
    assert not any(two["synchronized"])
    assert len(one["loss"]) == len(two["loss"]) == 2          # pretrain epoch 1, retrain epoch 1
    np.testing.assert_allclose(two["loss"], one["loss"], atol=1e-4)
    w1, w2 = np.load(tmp_path / "one_weights.npz"), np.load(tmp_path / "two_weights.npz")
    assert len(w1.files) == len(w2.files) > 10
    for k in w1.files:
        np.testing.assert_allclose(w2[k], w1[k], atol=1e-4, err_msg=k)
    # and the step did something: weights moved away from the initial kernels
    initial = np.load(tmp_path / "one" / "initial_kernels.npz")["enhancer_kernel"]
    assert np.abs(w1[w1.files[0]] - initial).max() > 1e-3


def test_parse_devices():
    assert parse_devices(None) is None
    assert parse_devices("all") is None
    assert parse_devices("cpu") == ["/cpu:0"]
    assert parse_devices("0,1") == ["/gpu:0", "/gpu:1"]
    assert parse_devices(" /GPU:2 , cpu:1") == ["/gpu:2", "/cpu:1"]
    assert parse_devices(["0", "3"]) == ["/gpu:0", "/gpu:3"]
    for bad in ("tpu:0", "gpu", "0,0", ",", "x"):
        with pytest.raises(ValueError, match="devices"):
            parse_devices(bad)


def test_replica_batch_size():
    assert replica_batch_size(64, 1) == 64
    assert replica_batch_size(64, 2) == 32
    assert replica_batch_size(100, 8) == 13       # shares of 12 and 13: the largest
    with pytest.raises(ValueError, match="smaller than the 8 devices"):
        replica_batch_size(4, 8)


def test_unknown_device_is_refused_with_a_sentence():
    from speidlib.runtime import distribution_strategy

    with pytest.raises(ValueError, match="does not see"):
        distribution_strategy("/gpu:7")


KEYS_SCRIPT = textwrap.dedent("""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from speidlib.runtime import distribution_strategy

    for shape in ([3], [5], [2, 2]):   # each strategy's first all-reduce has another shape
        strategy = distribution_strategy("cpu:0,cpu:1")
        step = tf.function(lambda: strategy.run(
            lambda: tf.distribute.get_replica_context().all_reduce("sum", tf.ones(shape))))
        print("RESULT", [r.numpy().tolist() for r in strategy.experimental_local_results(step())])
""")


def test_strategies_one_after_another_in_one_process_do_not_share_collective_keys(tmp_path):
    """Every strategy numbers its all-reduces from the same start, and the runtime remembers each
    number's shape for the life of the process: without fresh keys per strategy the second one
    fails with "Shape mismatch in the collective instance 100"."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", KEYS_SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(l[7:]) for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    # two replicas, each all-reducing ones: sums of 2, in the shape that strategy asked for
    assert results == [[[2.0] * 3] * 2, [[2.0] * 5] * 2, [[[2.0, 2.0]] * 2] * 2]


RESUME_SCRIPT = textwrap.dedent("""
    import json, shutil, sys
    from pathlib import Path
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    import pandas as pd
    from speidlib.data.dataset import PrepareConfig, prepare
    from speidlib.demo.synthetic import make_demo
    from speidlib.model.presets import get_config
    from speidlib.model.load import load_run_model as load_model
    from speidlib.train.stages import train_run

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt("stopped after the first pretraining epoch")

    root = Path(sys.argv[1])
    make_demo(root / "demo", seed=0, n_pairs=600)
    prepare(PrepareConfig(pairs=str(root / "demo" / "pairs.csv"), genome=str(root / "demo" / "genome.fa"),
                          enhancer_window=400, promoter_window=400, augment=4, seed=0),
            root / "unbroken", progress=False)
    shutil.copytree(root / "unbroken", root / "resumed")
    # one pass over the positive copies per epoch (no 16,000-example floor): a few steps, so that
    # float32 sums taken in another order across replicas stay within the tolerance below
    config = get_config("cpu").replace(name="cpu_no_dropout", merge_dropout=0.0, lstm_dropout=0.0,
                                       dense_dropout=0.0, epoch_examples=None)
    kw = dict(preset=config, pretrain_epochs=2, retrain_epochs=1, random_init=True, progress=False,
              devices="cpu:0,cpu:1", threads=1)
    train_run(root / "unbroken", **kw)
    try:
        train_run(root / "resumed", callbacks=[Stop()], **kw)
    except KeyboardInterrupt:
        pass
    stopped = len(pd.read_csv(root / "resumed" / "history.csv"))
    train_run(root / "resumed", resume=True, **kw)
    out = {}
    for name in ("unbroken", "resumed"):
        np.savez(root / f"{name}_weights.npz", *load_model(root / name).get_weights())
        out[name] = pd.read_csv(root / name / "history.csv")[["stage", "epoch", "loss"]].values.tolist()
    out["rows_when_stopped"] = stopped
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.slow
def test_resume_under_mirrored_strategy_equals_an_unbroken_run(tmp_path):
    """Checkpoints and resume work under the strategy: stop after the first pretraining epoch on
    two devices, resume, and end where the unbroken two-device run ends. Three two-device runs in
    one process: before each strategy got its own collective keys, the third one's stage 2 failed
    (collective shape mismatch between replicas, [4609] vs [64])."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
    assert result["rows_when_stopped"] <= 1                  # it really stopped in stage 1
    assert [r[:2] for r in result["resumed"]] == [r[:2] for r in result["unbroken"]]
    assert len(result["unbroken"]) == 3                      # 2 pretraining + 1 retraining epochs
    np.testing.assert_allclose([r[2] for r in result["resumed"]], [r[2] for r in result["unbroken"]],
                               atol=1e-4)
    a, b = np.load(tmp_path / "unbroken_weights.npz"), np.load(tmp_path / "resumed_weights.npz")
    for k in a.files:
        np.testing.assert_allclose(b[k], a[k], atol=1e-4, err_msg=k)
