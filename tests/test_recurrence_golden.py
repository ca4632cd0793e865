"""The numpy LSTM recurrence of the projection cache, pinned to Keras's LSTM output.

``tests/data/lstm_golden.npz`` holds, per preset, a tiny LSTM's weights, its
inputs and what Keras computed from them, forward and backward, with the
preset's activations (written by ``tests/data/make_lstm_golden.py``). The numpy
recurrence (:meth:`speidlib.score.recurrence.Direction.run_numpy`) must give
those outputs; Keras must still give them too, so a change in either shows here
as a difference from a fixed file rather than as two paths drifting together.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from speidlib.model.presets import PRESETS
from speidlib.score.recurrence import Direction

DATA = Path(__file__).parent / "data"
GOLDEN = np.load(DATA / "lstm_golden.npz")
NAMES = sorted({k.split("/")[0] for k in GOLDEN.files})
_spec = importlib.util.spec_from_file_location("make_lstm_golden", DATA / "make_lstm_golden.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


def _layer(name: str, backwards: bool):
    layer = make.lstm_layer(str(GOLDEN[f"{name}/recurrent_activation"]), backwards)
    layer.set_weights([GOLDEN[f"{name}/{w}"] for w in ("kernel", "recurrent", "bias")])
    return layer


def test_the_golden_file_covers_every_presets_activations():
    covered = {str(GOLDEN[f"{n}/recurrent_activation"]) for n in NAMES}
    assert {c.lstm_recurrent_activation for c in PRESETS.values()} <= covered
    assert covered == {"sigmoid", "keras1_hard_sigmoid"}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_numpy_recurrence_gives_the_keras_golden_output(name, direction):
    backwards = direction == "backward"
    units = make.UNITS
    d = Direction(_layer(name, backwards), np.ones(make.FEATURES), np.zeros(make.FEATURES))
    z = GOLDEN[f"{name}/x"] @ d.kernel + d.bias                      # (rows, steps, 4U), time order
    zeros = np.zeros((len(z), units), np.float32)
    h, c, seq = d.run_numpy(np.ascontiguousarray(z, np.float32), zeros, zeros, keep_sequence=True,
                            reverse=backwards)
    golden = GOLDEN[f"{name}/{direction}"]
    np.testing.assert_allclose(seq, golden, atol=1e-6, rtol=0)
    np.testing.assert_allclose(h, golden[:, -1], atol=1e-6, rtol=0)
    assert np.ptp(golden) > 0.1                                      # not a vacuous comparison


@pytest.mark.parametrize("name", NAMES)
def test_keras_still_gives_the_golden_output(name):
    for direction, backwards in (("forward", False), ("backward", True)):
        out = np.asarray(_layer(name, backwards)(GOLDEN[f"{name}/x"]))
        np.testing.assert_allclose(out, GOLDEN[f"{name}/{direction}"], atol=1e-6, rtol=0)
