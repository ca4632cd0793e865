import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.model.build import build_model  # noqa: E402
from speidlib.model.presets import ModelConfig, get_config  # noqa: E402
from speidlib.train import stages as T  # noqa: E402

T.configure(seed=0, threads=2)

# A tiny SPEID: no dropout, so runs (and resumed runs) repeat exactly.
TINY = ModelConfig(name="tiny", n_kernels=8, kernel_size=10, pool_size=5, lstm_units=4, dense_units=8,
                   merge_dropout=0.0, lstm_dropout=0.0, dense_dropout=0.0, learning_rate=1e-2,
                   batch_size=16, pretrain_epochs=3, retrain_epochs=2, patience=50)
W = 100


def _arrays(n, seed):
    """Random one-hot pairs; positives carry a run of A in the enhancer."""
    rng = np.random.default_rng(seed)
    eye = np.eye(4, dtype=np.float32)
    e, p = eye[rng.integers(0, 4, (n, W))], eye[rng.integers(0, 4, (n, W))]
    y = (np.arange(n) % 3 == 0).astype(np.float32)
    e[y == 1, 40:50] = eye[0]
    return (e, p), y


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A prepared run (speidlib.data.dataset.prepare) over a random 2-chromosome genome."""
    from speidlib.data.dataset import PrepareConfig, prepare

    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    with open(root / "g.fa", "w") as fh:
        for c, n in {"chr1": 6000, "chr2": 6000}.items():
            seq = "".join(rng.choice(list("ACGT"), n))
            fh.write(f">{c}\n" + "\n".join(seq[i:i + 60] for i in range(0, n, 60)) + "\n")
    rows = ["enhancer_name,promoter_name,label"]
    for i in range(80):
        c = "chr1" if i % 2 else "chr2"
        es, ps = 200 + 61 * i % 4000, 4800 + (i % 6) * 120
        rows.append(f"T|{c}:{es}-{es + 40},T|{c}:{ps}-{ps + 50},{int(i % 5 == 0)}")
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    run = root / "run"
    prepare(PrepareConfig(pairs=str(root / "pairs.csv"), genome=str(root / "g.fa"), enhancer_window=W,
                          promoter_window=W, augment=3, seed=1, valid_fraction=0.2), run, progress=False)
    return run


def test_array_batches_reshuffle_per_epoch_from_seed_and_epoch():
    x = np.arange(10, dtype=np.float32)[:, None]
    b = T.ArrayBatches(x, np.arange(10) % 2, batch_size=4, seed=7)
    assert len(b) == 3
    first = np.concatenate([b[i][0][:, 0] for i in range(3)])
    np.testing.assert_array_equal(first, np.random.default_rng([7, 0]).permutation(10))
    b.on_epoch_end()
    second = np.concatenate([b[i][0][:, 0] for i in range(3)])
    np.testing.assert_array_equal(second, np.random.default_rng([7, 1]).permutation(10))
    np.testing.assert_array_equal(b.labels, second % 2)
    resumed = T.ArrayBatches(x, np.arange(10) % 2, batch_size=4, seed=7, epoch=1)
    np.testing.assert_array_equal(resumed[0][0], b[0][0])
    fixed = T.ArrayBatches((x, x), np.zeros(10), batch_size=4, shuffle=False)
    assert [len(fixed[i][1]) for i in range(3)] == [4, 4, 2]
    np.testing.assert_array_equal(fixed[2][0][1][:, 0], [8, 9])
    with pytest.raises(ValueError, match="inputs hold 10 examples but labels 3"):
        T.ArrayBatches(x, np.zeros(3))


def test_binary_scores_golden_values():
    s = T.binary_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert s["val_auroc"] == pytest.approx(0.75)
    assert s["val_aupr"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert s["val_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    assert np.isnan(T.binary_scores([1, 1], [0.2, 0.3])["val_auroc"])


def test_head_on_cached_features_matches_head_through_frozen_model():
    (e, p), y = _arrays(96, 0)
    (ve, vp), vy = _arrays(32, 1)
    valid = T.ArrayBatches((ve, vp), vy, 16, shuffle=False)
    model = build_model(TINY, W, W, seed=0)
    start = model.get_weights()
    results = {}
    for cache in (True, False):
        model.set_weights(start)
        rows = T.retrain_head(model, T.ArrayBatches((e, p), y, 16, shuffle=False), valid, epochs=1,
                              config=TINY, cache=cache, shuffle=False, progress=False)
        results[cache] = (model.get_weights(), model.predict([ve, vp], verbose=0), rows[0])
    (wc, pc, rc), (wf, pf, rf) = results[True], results[False]
    names = [v.path for v in model.weights]
    frozen = {v.path for layer in model.layers[:model.layers.index(model.get_layer("bilstm")) + 1]
              for v in layer.weights}
    changed = 0
    for name, a, b, s in zip(names, wc, wf, start):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=name)
        if name in frozen:
            np.testing.assert_array_equal(a, s, err_msg=f"frozen {name} moved")
        else:
            changed += not np.allclose(a, s)
    assert changed >= 6   # dense, logit kernels and biases, BN moving statistics
    np.testing.assert_allclose(pc, pf, rtol=0, atol=1e-5)
    assert rc["loss"] == pytest.approx(rf["loss"], abs=1e-5)
    assert rc["val_auroc"] == pytest.approx(rf["val_auroc"], abs=1e-6)
    assert all(layer.trainable for layer in model.layers)


def test_pretrain_stops_early_and_keeps_the_best_epoch():
    (e, p), y = _arrays(48, 0)

    class Spoil(keras.callbacks.Callback):
        """From epoch 2 on, push every prediction to 1: validation loss can only get worse."""

        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 1:
                self.model.get_layer("logit").bias.assign([30.0])

    model = build_model(TINY, W, W, seed=0)
    rows = T.pretrain(model, T.ArrayBatches((e, p), y, 16), T.ArrayBatches((e, p), y, 16, shuffle=False),
                      epochs=6, config=TINY.replace(patience=2, learning_rate=0.0), progress=False,
                      callbacks=[Spoil()])
    assert [r["epoch"] for r in rows] == [1, 2, 3]          # stopped after 2 epochs without improvement
    assert rows[0]["val_loss"] < min(rows[1]["val_loss"], rows[2]["val_loss"])
    assert float(model.get_layer("logit").bias.numpy()[0]) == 0.0   # epoch 1's weights are back
    assert list(rows[0]) == schema.HISTORY_COLUMNS


def test_keep_last_epoch_runs_every_epoch_and_keeps_the_last_weights():
    # the released code's protocol (`original`): fixed epochs, last weights, however validation goes
    (e, p), y = _arrays(48, 0)

    class Spoil(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 1:
                self.model.get_layer("logit").bias.assign([30.0 + epoch])

    model = build_model(TINY, W, W, seed=0)
    ck = T.Checkpoints()
    rows = T.pretrain(model, T.ArrayBatches((e, p), y, 16), T.ArrayBatches((e, p), y, 16, shuffle=False),
                      epochs=4, config=TINY.replace(patience=1, learning_rate=0.0, keep_epoch="last"),
                      progress=False, callbacks=[Spoil()], checkpoints=ck)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]       # no early stop, though it only got worse
    assert rows[0]["val_loss"] < rows[3]["val_loss"]
    assert float(model.get_layer("logit").bias.numpy()[0]) == 33.0   # epoch 4's weights kept
    assert ck.state["best_epoch"] == 4
    orig = get_config("original")
    assert (orig.keep_epoch, orig.pretrain_epochs, orig.retrain_epochs) == ("last", 32, 360)
    with pytest.raises(ValueError, match="keep_epoch"):
        TINY.replace(keep_epoch="first")


class _StopAfter(keras.callbacks.Callback):
    """Interrupt a run right after a given epoch of a given stage was committed."""

    def __init__(self, stage, epoch):
        super().__init__()
        self.stage, self.epoch = stage, epoch

    def on_epoch_end(self, epoch, logs=None):
        stage = "retrain" if self.model.name == "head" else "pretrain"
        if (stage, epoch + 1) == (self.stage, self.epoch):
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def trained(run_dir, tmp_path_factory):
    """One unbroken ``train_run`` on the prepared run (3 + 2 epochs)."""
    import shutil

    run = tmp_path_factory.mktemp("trained") / "run"
    shutil.copytree(run_dir, run)
    path = T.train_run(run, preset=TINY, progress=False, seed=3)
    return run, path


def test_train_run_writes_model_history_config_and_jaspar_table(trained):
    run, path = trained
    assert path == run / schema.MODEL_FILE
    model = keras.saving.load_model(path)
    assert model.get_layer(schema.ENHANCER_CONV).kernel.shape == (10, 4, 8)
    hist = pd.read_csv(run / schema.HISTORY_FILE)
    assert list(hist.columns) == schema.HISTORY_COLUMNS
    assert list(zip(hist.stage, hist.epoch)) == [("pretrain", 1), ("pretrain", 2), ("pretrain", 3),
                                                 ("retrain", 1), ("retrain", 2)]
    assert hist[["loss", "val_loss", "val_auroc", "val_aupr", "seconds"]].notna().all().all()
    cfg = json.loads((run / schema.CONFIG_FILE).read_text())
    assert "prepare" in cfg and cfg["train"]["status"] == "done"
    train = cfg["train"]
    assert train["preset"]["name"] == "tiny" and train["device"]["device"] == "CPU"
    assert (train["pretrain_epochs"], train["retrain_epochs"], train["seed"]) == (3, 2, 3)
    assert train["jaspar"]["release"] == "JASPAR2024"
    best = train["best"]["pretrain"]
    assert best["val_loss"] == hist[hist.stage == "pretrain"].val_loss.min()
    table = pd.read_csv(run / schema.JASPAR_INIT_FILE)
    assert len(table) == 2 * TINY.jaspar_kernels
    assert list(table.columns) == ["branch", "kernel", "matrix_id", "name", "offset", "length", "release", "bias"]
    ckpt = sorted(p.name for p in (run / schema.CHECKPOINT_DIR).iterdir())
    assert ckpt == ["final.weights.h5", schema.CHECKPOINT_STATE]
    # the final model holds the best pretrained features (stage 2 never moved them)
    state = json.loads((run / schema.CHECKPOINT_DIR / schema.CHECKPOINT_STATE).read_text())
    assert state["stage"] == "done" and state["best_epochs"]["pretrain"] == best["epoch"]


def _weights(path):
    return keras.saving.load_model(path).get_weights()


@pytest.mark.slow
def test_interrupted_and_resumed_run_equals_an_unbroken_one(run_dir, trained, tmp_path):
    import shutil

    unbroken, _ = trained
    broken = tmp_path / "run"
    shutil.copytree(run_dir, broken)
    # interrupted after pretrain epoch 2, then after retrain epoch 1; resumed twice
    with pytest.raises(KeyboardInterrupt):
        T.train_run(broken, preset=TINY, progress=False, seed=3, callbacks=[_StopAfter("pretrain", 2)])
    assert len(pd.read_csv(broken / schema.HISTORY_FILE)) == 2
    with pytest.raises(KeyboardInterrupt):
        T.train_run(broken, preset=TINY, progress=False, seed=3, resume=True,
                    callbacks=[_StopAfter("retrain", 1)])
    assert len(pd.read_csv(broken / schema.HISTORY_FILE)) == 4
    with pytest.raises(ValueError, match="different settings"):
        T.train_run(broken, preset=TINY.replace(n_kernels=4), progress=False, seed=3, resume=True)
    T.train_run(broken, preset=TINY, progress=False, seed=3, resume=True)
    hist = pd.read_csv(unbroken / schema.HISTORY_FILE)
    hist_b = pd.read_csv(broken / schema.HISTORY_FILE)
    assert list(zip(hist_b.stage, hist_b.epoch)) == list(zip(hist.stage, hist.epoch))
    np.testing.assert_allclose(hist_b.val_loss, hist.val_loss, rtol=0, atol=1e-5)
    for a, b in zip(_weights(unbroken / schema.MODEL_FILE), _weights(broken / schema.MODEL_FILE)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


class _OptimizerAtStart(keras.callbacks.Callback):
    """Record the stage-1 optimizer's variables when its (resumed) fit begins."""

    def __init__(self):
        super().__init__()
        self.arrays = None

    def on_train_begin(self, logs=None):
        if self.model.name != "head" and self.arrays is None:
            self.arrays = [np.array(v.numpy()) for v in self.model.optimizer.variables]


def test_resume_restores_the_adam_state_of_the_stopped_epoch(run_dir, tmp_path):
    import shutil
    import warnings

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    kw = dict(preset=TINY, pretrain_epochs=2, retrain_epochs=1, progress=False, seed=3)
    with pytest.raises(KeyboardInterrupt):
        T.train_run(run, callbacks=[_StopAfter("pretrain", 1)], **kw)
    state = json.loads((run / schema.CHECKPOINT_DIR / schema.CHECKPOINT_STATE).read_text())
    with np.load(run / schema.CHECKPOINT_DIR / state["optimizer"]) as z:
        saved = [z[f"arr_{i}"] for i in range(len(z.files))]
    look = _OptimizerAtStart()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        T.train_run(run, resume=True, callbacks=[look], **kw)
    # no part of the checkpoint is skipped (the weights file's copy of the optimizer state included)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert len(look.arrays) == len(saved) > 2          # step, learning rate and the Adam moments
    assert int(look.arrays[0]) == int(saved[0]) > 0    # the step count of the stopped epoch
    for a, b in zip(look.arrays, saved):
        np.testing.assert_array_equal(a, b)
    assert sum(np.abs(a).max() > 0 for a in saved[2:]) > len(saved[2:]) // 2   # moments, not zeros


_SCRIPT = textwrap.dedent("""
    import sys, time, keras
    from speidlib.model.presets import ModelConfig
    from speidlib.train.stages import train_run

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.4)

    cfg = ModelConfig(name="tiny", n_kernels=8, kernel_size=10, pool_size=5, lstm_units=4,
                      dense_units=8, learning_rate=1e-2, batch_size=16, patience=50)
    train_run(sys.argv[1], preset=cfg, pretrain_epochs=5, retrain_epochs=4, resume=sys.argv[2] == "1",
              progress=False, callbacks=[Slow()])
""")


def _state(run):
    try:
        return json.loads((run / schema.CHECKPOINT_DIR / schema.CHECKPOINT_STATE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@pytest.mark.slow
def test_killed_training_process_resumes_without_lost_or_repeated_epochs(run_dir, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    script = tmp_path / "train_tiny.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def start(resume):
        return subprocess.Popen([sys.executable, str(script), str(run), str(int(resume))], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    kills = []
    for resume, (stage, epoch) in ((False, ("pretrain", 2)), (True, ("retrain", 1))):
        proc = start(resume)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            st = _state(run)
            if st and st["stage"] == stage and st["epoch"] >= epoch:
                break
            assert proc.poll() is None, "training finished before it could be killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append((_state(run)["stage"], _state(run)["epoch"]))
    assert kills[0][0] == "pretrain" and kills[1][0] == "retrain"
    proc = start(True)
    assert proc.wait(timeout=180) == 0
    hist = pd.read_csv(run / schema.HISTORY_FILE)
    assert list(zip(hist.stage, hist.epoch)) == [("pretrain", e) for e in range(1, 6)] + \
        [("retrain", e) for e in range(1, 5)]
    model = keras.saving.load_model(run / schema.MODEL_FILE)
    assert model.predict([np.zeros((2, W, 4), np.float32)] * 2, verbose=0).shape == (2, 1)
    assert json.loads((run / schema.CONFIG_FILE).read_text())["train"]["status"] == "done"


# The cpu preset's dropout on the tiny network: masks are drawn from the Dropout layers'
# SeedGenerator states, which a checkpoint must carry for a resume to repeat them.
_CPU = get_config("cpu")
TINY_DROPOUT = TINY.replace(merge_dropout=_CPU.merge_dropout, lstm_dropout=_CPU.lstm_dropout,
                            dense_dropout=_CPU.dense_dropout, pretrain_epochs=3, retrain_epochs=3)


@pytest.mark.slow
def test_resume_with_dropout_equals_an_unbroken_run_at_two_kill_points_per_stage(run_dir, tmp_path):
    import shutil

    assert min(TINY_DROPOUT.merge_dropout, TINY_DROPOUT.lstm_dropout, TINY_DROPOUT.dense_dropout) > 0
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    shutil.copytree(run_dir, unbroken)
    shutil.copytree(run_dir, broken)
    T.train_run(unbroken, preset=TINY_DROPOUT, progress=False, seed=5)
    # interrupted after pretrain epochs 1 and 2 and retrain epochs 1 and 2; each resume
    # starts a fresh model, as after kill -9, from what the checkpoint holds
    for i, (stage, epoch) in enumerate((("pretrain", 1), ("pretrain", 2), ("retrain", 1),
                                        ("retrain", 2))):
        with pytest.raises(KeyboardInterrupt):
            T.train_run(broken, preset=TINY_DROPOUT, progress=False, seed=5, resume=i > 0,
                        callbacks=[_StopAfter(stage, epoch)])
    T.train_run(broken, preset=TINY_DROPOUT, progress=False, seed=5, resume=True)
    hist = pd.read_csv(unbroken / schema.HISTORY_FILE)
    hist_b = pd.read_csv(broken / schema.HISTORY_FILE)
    assert list(zip(hist_b.stage, hist_b.epoch)) == list(zip(hist.stage, hist.epoch))
    np.testing.assert_array_equal(hist_b[["loss", "val_loss", "val_auroc"]].to_numpy(),
                                  hist[["loss", "val_loss", "val_auroc"]].to_numpy())
    for a, b in zip(_weights(unbroken / schema.MODEL_FILE), _weights(broken / schema.MODEL_FILE)):
        np.testing.assert_array_equal(a, b)
