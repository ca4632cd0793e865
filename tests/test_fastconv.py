"""PooledConv1D against the plain Conv1D -> MaxPooling1D -> ReLU layers: outputs and gradients."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from speidlib.model.layers import PooledConv1D  # noqa: E402


def one_hot(codes):
    """int codes A,C,G,T = 0..3, N = 4 -> (n, L, 4) float32, N all zero."""
    codes = np.asarray(codes)
    return (codes[..., None] == np.arange(4)).astype(np.float32)


def fixture(seed=0, n=3, length=37, n_run=None):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    codes[0, 3:15] = 4                      # an N run: all-zero columns, tied conv outputs
    if n_run is not None:
        codes[1, :] = 0                     # poly-A: identical windows, ties in every pool window
    return one_hot(codes)


def plain_and_fused(filters=6, width=5, pool=4, activation="relu", seed=0):
    plain = keras.Sequential([
        keras.layers.Conv1D(filters, width, name="conv"),
        keras.layers.MaxPooling1D(pool, name="pool"),
        keras.layers.Activation("relu" if activation == "relu" else "linear", name="act")])
    fused = PooledConv1D(filters, width, pool, activation=activation, name="conv")
    x = fixture()
    plain(x)
    fused(x)
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.5, (width, 4, filters)).astype(np.float32)
    bias = rng.normal(0, 0.3, filters).astype(np.float32)
    plain.get_layer("conv").set_weights([kernel, bias])
    fused.set_weights([kernel, bias])
    return plain, fused, kernel, bias


def numpy_reference(x, kernel, bias, pool, relu=True):
    """relu(max over pool windows of (valid cross-correlation + bias)), shape=(n, T // pool, K)."""
    n, length, _ = x.shape
    width = kernel.shape[0]
    t = length - width + 1
    conv = np.stack([np.einsum("nwc,wck->nk", x[:, i:i + width], kernel) for i in range(t)], axis=1) + bias
    tp = t // pool
    pooled = conv[:, :tp * pool].reshape(n, tp, pool, -1).max(axis=2)
    return np.maximum(pooled, 0) if relu else pooled


def gradients(layer_or_model, x, weights, upstream):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer_or_model(x, training=True)
        loss = tf.reduce_sum(y * upstream)
    g = tape.gradient(loss, [x, *weights])
    return [np.asarray(v) for v in g]


def test_golden_values_tiny():
    layer = PooledConv1D(2, 2, 2, name="tiny")
    x = one_hot([[0, 1, 2, 3, 0, 4]])        # A C G T A N
    layer(x)
    kernel = np.zeros((2, 4, 2), np.float32)
    kernel[0, 0, 0], kernel[1, 1, 0] = 1.0, 2.0     # kernel 0 scores "AC" = 3
    kernel[:, 3, 1] = -1.0                          # kernel 1: -1 per T
    layer.set_weights([kernel, np.array([0.5, 0.25], np.float32)])
    # windows AC CG GT TA AN: k0 = [3, 0, 0, 0, 1] + 0.5 ; k1 = [0, 0, -1, -1, 0] + 0.25
    # pool 2 over positions (0,1), (2,3) (position 4 dropped): k0 -> [3.5, 0.5],
    # k1 -> [0.25, -0.75] -> relu [0.25, 0]
    np.testing.assert_array_equal(np.asarray(layer(x)), [[[3.5, 0.25], [0.5, 0.0]]])


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_output_equals_plain_layers_and_numpy(activation):
    plain, fused, kernel, bias = plain_and_fused(activation=activation)
    x = fixture(n_run=True)
    want = numpy_reference(x, kernel, bias, 4, relu=activation == "relu")
    got = np.asarray(fused(x))
    assert got.shape == (3, (37 - 5 + 1) // 4, 6)
    np.testing.assert_allclose(np.asarray(plain(x)), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, np.asarray(plain(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_gradients_equal_plain_layers(activation):
    """Kernel, bias and input gradients, with ties (an N run, a poly-A sample) in the pool windows."""
    plain, fused, _, _ = plain_and_fused(activation=activation)
    x = fixture(n_run=True)
    upstream = np.random.default_rng(1).normal(size=(3, 8, 6)).astype(np.float32)
    conv = plain.get_layer("conv")
    gp = gradients(plain, x, [conv.kernel, conv.bias], upstream)
    gf = gradients(fused, x, [fused.kernel, fused.bias], upstream)
    for name, a, b in zip(["input", "kernel", "bias"], gp, gf):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=name)
    assert np.abs(gp[1]).max() > 0.1          # the gradients are not trivially zero


def test_weights_and_conv_attributes_match_conv1d():
    plain, fused, kernel, bias = plain_and_fused()
    assert [w.shape for w in fused.get_weights()] == [(5, 4, 6), (6,)]
    assert [v.name for v in fused.weights] == ["kernel", "bias"]
    np.testing.assert_array_equal(fused.get_weights()[0], kernel)
    assert fused.strides == (1,) and fused.dilation_rate == (1,) and fused.groups == 1
    assert fused.data_format == "channels_last"


def test_saved_model_round_trip(tmp_path):
    inp = keras.Input((37, 4), name="enhancer")
    model = keras.Model(inp, PooledConv1D(6, 5, 4, name="enhancer_conv")(inp))
    x = fixture()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("enhancer_conv"), PooledConv1D)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


def test_output_shape_and_symbolic_build():
    inp = keras.Input((3000, 4))
    out = PooledConv1D(8, 40, 20)(inp)
    assert tuple(out.shape) == (None, 148, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(filters=0, kernel_size=5, pool_size=2), "filters must be a positive integer"),
    (dict(filters=2, kernel_size=5, pool_size=2, activation="tanh"), "activation must be one of"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PooledConv1D(**kwargs)


def test_too_short_input():
    with pytest.raises(ValueError, match="shorter than kernel_size"):
        PooledConv1D(2, 10, 5)(keras.Input((13, 4)))
