"""GPU readiness without a GPU: cuDNN eligibility of the BiLSTM, float32 output under mixed precision."""
import keras
import pytest

from speidlib import schema
from speidlib.model.build import build_model
from speidlib.model.presets import PRESETS


def _lstms(model):
    bilstm = model.get_layer(schema.FEATURES_LAYER)
    return [bilstm.forward_layer, bilstm.backward_layer]


# `original` reproduces the released code's Keras 1 LSTM gates (hard_sigmoid), which
# the cuDNN kernel does not implement: on a GPU it runs TensorFlow's generic LSTM
# loop instead (docs/guide/presets_gpu.md, "GPU readiness").
CUDNN_ELIGIBLE = {"cpu": True, "paper": True, "original": False}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_which_presets_bilstm_can_use_the_cudnn_kernel(preset):
    # Keras' conditions for the fused cuDNN LSTM (keras.layers.LSTM docstring and
    # keras/src/backend/tensorflow/rnn.py): tanh, sigmoid gates, no recurrent
    # dropout, not unrolled, with bias, use_cudnn "auto", no mask.
    from keras.src.backend.tensorflow.rnn import (
        _do_lstm_arguments_support_cudnn as supports,
    )

    assert set(CUDNN_ELIGIBLE) == set(PRESETS)
    model = build_model(preset, 200, 200, jaspar_init=False)
    lstms = _lstms(model)
    assert [layer.go_backwards for layer in lstms] == [False, True]
    for layer in lstms:
        cfg = layer.get_config()
        assert cfg["activation"] == "tanh"
        assert cfg["recurrent_dropout"] == 0
        assert cfg["unroll"] is False
        assert cfg["use_bias"] is True
        assert layer.use_cudnn in ("auto", True)
        sigmoid = layer.cell.recurrent_activation is keras.activations.sigmoid
        assert sigmoid == (cfg["recurrent_activation"] == "sigmoid") == CUDNN_ELIGIBLE[preset]
        assert supports(layer.cell.activation, layer.cell.recurrent_activation, False, True) \
            == CUDNN_ELIGIBLE[preset]
    # no Masking/Embedding(mask_zero) upstream: the LSTM never receives a mask
    assert not any(isinstance(layer, keras.layers.Masking) for layer in model.layers)


def test_hard_sigmoid_would_rule_cudnn_out():
    # the check above would catch a preset that switched to the released code's hard_sigmoid
    from keras.src.backend.tensorflow.rnn import (
        _do_lstm_arguments_support_cudnn as supports,
    )

    ok = keras.layers.LSTM(4)
    hard = keras.layers.LSTM(4, recurrent_activation="hard_sigmoid")
    assert supports(ok.cell.activation, ok.cell.recurrent_activation, False, True)
    assert not supports(hard.cell.activation, hard.cell.recurrent_activation, False, True)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_mixed_precision_keeps_the_output_float32(preset):
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(preset, 200, 200, jaspar_init=False)
    finally:
        keras.mixed_precision.set_global_policy(before)
    assert model.get_layer(schema.FEATURES_LAYER).compute_dtype == "float16"
    assert model.get_layer("dense").compute_dtype == "float16"
    assert model.get_layer(schema.OUTPUT_LAYER).compute_dtype == "float32"
    assert model.outputs[0].dtype == "float32"
    # weights stay float32 (the policy's variable dtype)
    assert {w.dtype for w in model.weights} == {"float32"}
