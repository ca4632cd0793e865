import os

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.data.jaspar import load_motifs  # noqa: E402
from speidlib.model.build import build_model, split_model
from speidlib.model.jaspar_init import jaspar_init_table
from speidlib.model.presets import PRESETS, ModelConfig, get_config

TINY = ModelConfig(name="tiny", n_kernels=16, kernel_size=30, pool_size=5, lstm_units=4, dense_units=8,
                   batch_size=8)


def _x(n=3, we=100, wp=80, seed=0):
    rng = np.random.default_rng(seed)
    eye = np.eye(4, dtype=np.float32)
    return [eye[rng.integers(0, 4, (n, we))], eye[rng.integers(0, 4, (n, wp))]]


def _names(model):
    return [layer.name for layer in model.layers]


def test_presets_live_in_one_place_and_round_trip():
    assert set(PRESETS) == {"paper", "original", "cpu"}
    for name, cfg in PRESETS.items():
        assert cfg.name == name
        assert ModelConfig.from_dict(cfg.to_dict()) == cfg
        assert get_config(name) is cfg
    paper = PRESETS["paper"]
    assert (paper.n_kernels, paper.kernel_size, paper.pool_size, paper.lstm_units, paper.dense_units) == \
        (1024, 40, 20, 100, 925)
    assert (paper.merge_dropout, paper.lstm_dropout, paper.dense_dropout) == (0.5, 0.5, 0.5)
    assert (paper.dense_l2, paper.conv_l2, paper.learning_rate, paper.batch_size) == (1e-5, 0.0, 1e-5, 100)
    assert paper.jaspar_kernels == 525 and paper.to_dict()["jaspar_kernels"] == 525
    orig = PRESETS["original"]
    assert (orig.conv_activation, orig.merge_dropout, orig.lstm_return_sequences, orig.dense_units,
            orig.output_batchnorm, orig.conv_l2, orig.dense_l2) == ("linear", 0.25, True, 1000, True, 1e-6, 1e-6)
    cpu = PRESETS["cpu"]
    assert cpu.jaspar_kernels == round(525 / 1024 * cpu.n_kernels)
    with pytest.raises(ValueError, match="unknown preset 'big'"):
        get_config("big")
    with pytest.raises(ValueError, match="merge_dropout"):
        ModelConfig(merge_dropout=1.5)


def test_paper_architecture_layer_by_layer():
    m = build_model(get_config("paper").replace(fused_conv=False), 3000, 2000, jaspar_init=False)
    assert _names(m) == [
        "enhancer", "promoter", "enhancer_conv", "promoter_conv", "enhancer_pool", "promoter_pool",
        "enhancer_relu", "promoter_relu", "merge", "merge_bn", "merge_dropout", "bilstm", "lstm_bn",
        "lstm_dropout", "dense", "dense_bn", "dense_relu", "relu_bn", "dense_dropout", "logit",
        "probability"]
    assert [t.name for t in m.inputs] == [schema.ENHANCER_INPUT, schema.PROMOTER_INPUT]
    conv = m.get_layer(schema.ENHANCER_CONV)
    assert conv.kernel.shape == (40, 4, 1024) and conv.activation.__name__ == "linear"
    assert conv.kernel_regularizer is None
    pool = m.get_layer("enhancer_pool")
    assert pool.pool_size == (20,) and pool.strides == (20,)
    # as built by default: each branch's conv -> pool -> ReLU is one PooledConv1D, same parameters
    fused = build_model("paper", 3000, 2000, jaspar_init=False)
    assert _names(fused)[:4] == ["enhancer", "promoter", "enhancer_conv", "promoter_conv"]
    assert _names(fused)[4:] == _names(m)[8:]
    layer = fused.get_layer(schema.ENHANCER_CONV)
    assert (layer.filters, layer.kernel_size, layer.pool_size, layer.activation) == (1024, 40, 20, "relu")
    assert fused.count_params() == m.count_params()
    # (3000 - 39) // 20 + (2000 - 39) // 20 = 148 + 98 pooled steps, concatenated along the sequence
    assert tuple(m.get_layer("merge").output.shape) == (None, 246, 1024)
    assert tuple(m.get_layer("bilstm").output.shape) == (None, 200)
    assert m.get_layer("dense").units == 925
    assert float(m.get_layer("dense").kernel_regularizer.l2) == pytest.approx(1e-5)
    assert m.get_layer("logit").kernel_regularizer is None
    assert [m.get_layer(n).rate for n in ("merge_dropout", "lstm_dropout", "dense_dropout")] == [0.5] * 3
    # 2 x (40*4*1024 + 1024) conv + 4 BN x 2 x 1024 ... golden total
    assert m.count_params() == 1_428_875
    assert tuple(m.output.shape) == (None, 1)


def test_original_architecture_follows_the_released_code():
    m = build_model("original", 3000, 2000, jaspar_init=False)
    names = _names(m)
    assert "enhancer_relu" not in names and "relu_bn" not in names
    assert names[names.index("bilstm"):] == [
        "bilstm", "lstm_bn", "lstm_dropout", "flatten", "dense", "dense_bn", "dense_relu",
        "dense_dropout", "logit", "logit_bn", "probability"]
    assert float(m.get_layer(schema.PROMOTER_CONV).kernel_regularizer.l2) == pytest.approx(1e-6)
    assert float(m.get_layer("dense").kernel_regularizer.l2) == pytest.approx(1e-6)
    assert m.get_layer("merge_dropout").rate == 0.25
    assert tuple(m.get_layer("bilstm").output.shape) == (None, 246, 200)
    assert m.get_layer("dense").units == 1000
    assert m.count_params() == 50_440_629


def test_pooling_before_relu_computes_the_same_function():
    x = _x()
    layered = TINY.replace(fused_conv=False)
    a = build_model(layered, 100, 80, jaspar_init=False, seed=3)
    b = build_model(layered.replace(pool_before_activation=False), 100, 80, jaspar_init=False, seed=3)
    names = _names(b)
    assert names.index("enhancer_relu") < names.index("enhancer_pool")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), rtol=0, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_fused_branches_compute_what_the_plain_layers_do(activation):
    """fused_conv (PooledConv1D, the default) against Conv1D -> MaxPool -> ReLU: same weights,
    same initial values, same outputs, and the conv layers keep their names and shapes."""
    x = _x()
    cfg = TINY.replace(conv_activation=activation)
    fused = build_model(cfg, 100, 80, seed=3)
    plain = build_model(cfg.replace(fused_conv=False), 100, 80, seed=3)
    assert type(fused.get_layer(schema.ENHANCER_CONV)).__name__ == "PooledConv1D"
    assert type(plain.get_layer(schema.ENHANCER_CONV)).__name__ == "Conv1D"
    assert "enhancer_pool" in _names(plain) and "enhancer_pool" not in _names(fused)
    for wa, wb in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(wa, wb)      # JASPAR init and Glorot draws land alike
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=0, atol=1e-6)


def test_seed_fixes_the_weights():
    a, b = (build_model(TINY, 100, 80, seed=1) for _ in range(2))
    c = build_model(TINY, 100, 80, seed=2)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_layer("dense").kernel.numpy(), c.get_layer("dense").kernel.numpy())
    lstm = a.get_layer("bilstm")
    assert not np.array_equal(lstm.forward_layer.get_weights()[0], lstm.backward_layer.get_weights()[0])


def test_windows_too_short_are_refused():
    with pytest.raises(ValueError, match="enhancer_window must be an integer of at least 34 bp"):
        build_model(TINY, 20, 80)


def test_split_model_shares_weights_with_the_full_model():
    m = build_model(TINY, 100, 80, jaspar_init=False)
    x = _x()
    fe, head = split_model(m)
    assert tuple(fe.output.shape) == (None, 8)
    np.testing.assert_allclose(head.predict(fe.predict(x, verbose=0), verbose=0),
                               m.predict(x, verbose=0), rtol=0, atol=1e-7)
    bias = head.get_layer("logit").bias
    bias.assign(bias.numpy() + 3.0)
    assert float(m.get_layer("logit").bias.numpy()[0]) == pytest.approx(3.0)


def test_saved_model_loads_with_layer_names_and_the_same_predictions(tmp_path):
    m = build_model(TINY, 100, 80)
    x = _x()
    m.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), rtol=0, atol=1e-7)
    np.testing.assert_array_equal(loaded.get_layer(schema.ENHANCER_CONV).kernel.numpy(),
                                  m.get_layer(schema.ENHANCER_CONV).kernel.numpy())
    fe, head = split_model(loaded)
    assert head.layers[-1].name == schema.OUTPUT_LAYER


def test_a_fresh_process_loads_a_saved_run_model(tmp_path):
    """speidlib.model.load.load_run_model registers the fused layer itself (speid evaluate runs alone)."""
    import subprocess
    import sys

    build_model(TINY, 100, 80).save(tmp_path / schema.MODEL_FILE)
    code = ("import sys; from speidlib.model.load import load_run_model as load_model; "
            "print(type(load_model(sys.argv[1]).get_layer('enhancer_conv')).__name__)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "PooledConv1D"


def test_mixed_precision_keeps_a_float32_output():
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        m = build_model(TINY, 100, 80, jaspar_init=False)
        assert m.get_layer(schema.ENHANCER_CONV).compute_dtype == "float16"
        assert m.get_layer(schema.OUTPUT_LAYER).compute_dtype == "float32"
        assert m.predict(_x(), verbose=0).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("matrix", ["pfm_centered", "pwm"])
def test_jaspar_motifs_sit_in_their_kernels_at_the_recorded_offsets(matrix):
    cfg = TINY.replace(jaspar_matrix=matrix)
    assert cfg.jaspar_kernels == round(525 / 1024 * 16) == 8
    table = jaspar_init_table(cfg, seed=5)
    assert len(table) == 16 and list(table.branch.unique()) == ["enhancer", "promoter"]
    assert (table.release == "JASPAR2024").all() and table.matrix_id.nunique() == 8
    assert ((table.offset >= 0) & (table.offset + table.length <= 30)).all()
    motifs = {m.matrix_id: m for m in load_motifs("JASPAR2024")}
    m = build_model(cfg, 100, 80, jaspar_init=True, seed=5)
    plain = build_model(cfg, 100, 80, jaspar_init=False, seed=5)
    for branch, conv in (("enhancer", schema.ENHANCER_CONV), ("promoter", schema.PROMOTER_CONV)):
        kernel = m.get_layer(conv).kernel.numpy()
        random_kernel = plain.get_layer(conv).kernel.numpy()
        touched = np.zeros(kernel.shape, dtype=bool)
        for r in table[table.branch == branch].itertuples():
            mo = motifs[r.matrix_id]
            assert mo.name == r.name and mo.length == r.length
            expect = mo.pfm() - 0.25 if matrix == "pfm_centered" else mo.pwm()
            np.testing.assert_allclose(kernel[r.offset:r.offset + r.length, :, r.kernel], expect,
                                       rtol=0, atol=1e-6)
            touched[r.offset:r.offset + r.length, :, r.kernel] = True
        # everything else keeps its Glorot-uniform start
        np.testing.assert_array_equal(kernel[~touched], random_kernel[~touched])
        assert np.abs(random_kernel).max() <= np.sqrt(6 / (30 * 4 + 30 * 16))


def test_released_jaspar_start_offsets_and_biases():
    # the released code's start: offsets inside (lo, hi) of the kernel, biases U(-1, 0) per branch
    cfg = TINY.replace(jaspar_offset_range=(5, 25), jaspar_bias_range=(-1.0, 0.0))
    table = jaspar_init_table(cfg, seed=3)
    assert ((table.offset >= 5) & (table.offset + table.length <= 25)).all()
    assert ((table.bias >= -1.0) & (table.bias < 0.0)).all()
    wide = table.pivot(index="kernel", columns="branch", values=["offset", "bias"])
    assert (wide["offset"]["enhancer"] == wide["offset"]["promoter"]).all()   # one offset per motif
    assert (wide["bias"]["enhancer"] != wide["bias"]["promoter"]).all()       # biases drawn per branch
    m = build_model(cfg, 100, 80, jaspar_init=True, seed=3)
    for branch, conv in (("enhancer", schema.ENHANCER_CONV), ("promoter", schema.PROMOTER_CONV)):
        bias = m.get_layer(conv).get_weights()[1]
        rows = table[table.branch == branch]
        np.testing.assert_allclose(bias[rows.kernel], rows.bias, rtol=0, atol=1e-6)
        others = np.setdiff1d(np.arange(cfg.n_kernels), rows.kernel)
        assert (bias[others] == 0).all()
    assert (jaspar_init_table(TINY, 3).bias == 0).all()
    orig = PRESETS["original"]
    assert (orig.jaspar_offset_range, orig.jaspar_bias_range) == ((13, 37), (-1.0, 0.0))
    assert ModelConfig.from_dict({**orig.to_dict(), "jaspar_offset_range": [13, 37]}) == orig
    with pytest.raises(ValueError, match="jaspar_offset_range"):
        TINY.replace(jaspar_offset_range=(0, 31))


def test_original_lstm_gates_are_keras1_hard_sigmoid(tmp_path):
    from speidlib.model.layers import keras1_hard_sigmoid

    x = np.array([-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0], dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras1_hard_sigmoid(x)),
                               [0.0, 0.0, 0.3, 0.5, 0.7, 1.0, 1.0], atol=1e-7)
    assert PRESETS["original"].lstm_recurrent_activation == "keras1_hard_sigmoid"
    cfg = TINY.replace(lstm_recurrent_activation="keras1_hard_sigmoid")
    m = build_model(cfg, 100, 80, jaspar_init=False, seed=0)
    lstm = m.get_layer(schema.FEATURES_LAYER).forward_layer
    assert lstm.cell.recurrent_activation is keras1_hard_sigmoid
    # it survives saving and loading (registered with Keras), scores unchanged
    m.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(again.predict(_x(), verbose=0), m.predict(_x(), verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="lstm_recurrent_activation"):
        TINY.replace(lstm_recurrent_activation="tanh")


def test_jaspar_table_depends_only_on_config_and_seed():
    a, b = jaspar_init_table(TINY, 1), jaspar_init_table(TINY, 1)
    assert a.equals(b)
    assert not a.equals(jaspar_init_table(TINY, 2))
    short = TINY.replace(kernel_size=12)   # only motifs of <= 12 bp fit
    assert (jaspar_init_table(short, 0).length <= 12).all()


def test_global_pooling_takes_each_branch_over_its_whole_window():
    """``global_pool``: one maximum per kernel and window, whatever the two windows' lengths, on
    the fused and the plain-layer builds alike; recorded with the preset; ``speid train
    --global-pool`` sets it on any preset."""
    from speidlib.train.options import TrainOptions

    for fused in (True, False):
        config = get_config("cpu").replace(global_pool=True, fused_conv=fused)
        m = build_model(config, 300, 260, jaspar_init=False)
        assert tuple(m.get_layer(schema.MERGE_LAYER).output.shape) == (None, 2, config.n_kernels)
        x = _x(4, 300, 260)
        # the pooled output of a branch is the maximum over every convolution output of its window
        branch = keras.Model(m.inputs[0], m.get_layer(schema.MERGE_LAYER).input[0])
        conv = m.get_layer(schema.ENHANCER_CONV)
        w, b = conv.get_weights()
        pre = keras.ops.convert_to_numpy(keras.ops.conv(x[0].astype(np.float32), w, padding="valid"))
        np.testing.assert_allclose(branch.predict(x[0], verbose=0)[:, 0],
                                   np.maximum(pre.max(axis=1) + b, 0), rtol=1e-5, atol=1e-5)
    assert config.pool_width(300) == 300 - config.kernel_size + 1
    assert config.replace(global_pool=False).pool_width(300) == 20
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert TrainOptions(preset="paper", global_pool=True).model_config().global_pool
    assert not TrainOptions(preset="paper").model_config().global_pool
    with pytest.raises(ValueError, match="at least 20 bp"):
        build_model(get_config("cpu").replace(global_pool=True), 19, 300)
