"""Write tests/data/lstm_golden.npz: Keras LSTM outputs the numpy recurrence is pinned to.

One tiny LSTM (3 units over 7 steps of 4 features, 5 sequences) per preset, with
the preset's activations (``tanh`` cell activation; the preset's gate activation:
``sigmoid`` or the Keras 1 ``hard_sigmoid``), random weights and inputs, run by
Keras forward and backward (``go_backwards``) with every step's output kept.
Regenerate (only when the golden values are meant to change) with
``.venv/bin/python tests/data/make_lstm_golden.py``.
"""
from pathlib import Path

import numpy as np

UNITS, STEPS, FEATURES, ROWS = 3, 7, 4, 5


def lstm_layer(recurrent_activation: str, go_backwards: bool):
    """The Keras LSTM of a preset's activations (as :func:`speidlib.model.build.build_model` makes it)."""
    import keras

    from speidlib.model.layers import keras1_hard_sigmoid

    act = keras1_hard_sigmoid if recurrent_activation == "keras1_hard_sigmoid" else recurrent_activation
    layer = keras.layers.LSTM(UNITS, return_sequences=True, go_backwards=go_backwards,
                              recurrent_activation=act)
    layer.build((None, STEPS, FEATURES))
    return layer


def main() -> None:
    from speidlib.model.presets import PRESETS

    rng = np.random.default_rng(2024)
    out = {}
    for name, config in PRESETS.items():
        x = rng.normal(0, 1.5, (ROWS, STEPS, FEATURES)).astype(np.float32)
        weights = [rng.normal(0, 0.6, (FEATURES, 4 * UNITS)).astype(np.float32),
                   rng.normal(0, 0.6, (UNITS, 4 * UNITS)).astype(np.float32),
                   rng.normal(0, 0.3, 4 * UNITS).astype(np.float32)]
        out[f"{name}/x"] = x
        out[f"{name}/kernel"], out[f"{name}/recurrent"], out[f"{name}/bias"] = weights
        out[f"{name}/recurrent_activation"] = np.array(config.lstm_recurrent_activation)
        for direction, backwards in (("forward", False), ("backward", True)):
            layer = lstm_layer(config.lstm_recurrent_activation, backwards)
            layer.set_weights(weights)
            out[f"{name}/{direction}"] = np.asarray(layer(x))    # (rows, steps, units), processing order
    np.savez_compressed(Path(__file__).with_name("lstm_golden.npz"), **out)


if __name__ == "__main__":
    main()
