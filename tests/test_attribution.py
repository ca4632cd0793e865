import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.data.encode import encode, one_hot  # noqa: E402
from speidlib.interpret.attribution import Attribution, gradient_x_input, ism
from speidlib.viz.attribution import attribution_figure  # noqa: E402

WE, WP = 10, 8
ENH = encode("ACGTAGCATG")          # position 5 is G
PROM = encode("TTGACCAA")


def one_base_model():
    """logit = 3 * [enhancer base 5 is G] - 1: the output depends on one base only."""
    e = keras.Input((WE, 4), name=schema.ENHANCER_INPUT)
    p = keras.Input((WP, 4), name=schema.PROMOTER_INPUT)
    picked = keras.layers.Lambda(lambda ts: ts[0][:, 5, 2:3] + 0.0 * ts[1][:, 0, 0:1],
                                 output_shape=(1,))([e, p])
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model([e, p], dense(picked))
    dense.set_weights([np.array([[3.0]], np.float32), np.array([-1.0], np.float32)])
    return model


def linear_model(rng):
    """logit = sum(We * enhancer) + sum(Wp * promoter) + 0.1, through Flatten + Dense."""
    e = keras.Input((WE, 4), name=schema.ENHANCER_INPUT)
    p = keras.Input((WP, 4), name=schema.PROMOTER_INPUT)
    flat = keras.layers.Concatenate()([keras.layers.Flatten()(e), keras.layers.Flatten()(p)])
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model([p, e], dense(flat))                 # inputs deliberately in the other order
    w_e = rng.normal(scale=0.3, size=(WE, 4)).astype(np.float32)
    w_p = rng.normal(scale=0.3, size=(WP, 4)).astype(np.float32)
    dense.set_weights([np.concatenate([w_e.ravel(), w_p.ravel()])[:, None], np.array([0.1], np.float32)])
    return model, w_e, w_p


def test_all_attribution_lands_on_the_one_base():
    model = one_base_model()
    a = ism(model, ENH, PROM)
    expected = np.zeros((WE, 4))
    expected[5, [0, 1, 3]] = -3.0                             # G -> A/C/T: logit 2 -> -1
    np.testing.assert_allclose(a.enhancer, expected, atol=1e-4)
    np.testing.assert_allclose(a.promoter, 0, atol=1e-6)
    np.testing.assert_allclose(a.enhancer_summary, np.eye(WE)[5] * 3.0, atol=1e-4)
    assert a.reference == pytest.approx(2.0, abs=1e-5)
    assert a.enhancer.shape == (WE, 4) and a.promoter_summary.shape == (WP,)

    g = gradient_x_input(model, one_hot(ENH), one_hot(PROM))
    expected = np.zeros((WE, 4))
    expected[5, 2] = 3.0
    np.testing.assert_allclose(g.enhancer, expected, atol=1e-4)
    np.testing.assert_array_equal(g.promoter, 0)
    np.testing.assert_allclose(g.enhancer_summary, np.eye(WE)[5] * 3.0, atol=1e-4)
    assert g.method == "gradient_x_input" and g.output == "logit"


def test_linear_model_golden_in_both_windows():
    model, w_e, w_p = linear_model(np.random.default_rng(0))
    a = ism(model, ENH, PROM, batch_size=7)
    # logit change = weight of the new base - weight of the reference base
    for got, w, codes in ((a.enhancer, w_e, ENH), (a.promoter, w_p, PROM)):
        want = w - w[np.arange(len(codes)), codes][:, None]
        np.testing.assert_allclose(got, want, atol=1e-4)
    summary = -(w_e.sum(axis=1) - 4 * w_e[np.arange(WE), ENH]) / 3
    np.testing.assert_allclose(a.enhancer_summary, summary, atol=1e-4)
    g = gradient_x_input(model, ENH, PROM)
    np.testing.assert_allclose(g.enhancer, w_e * one_hot(ENH), atol=1e-5)
    np.testing.assert_allclose(g.promoter_summary, w_p[np.arange(WP), PROM], atol=1e-5)
    # probability output: the change of sigmoid, from a callable scorer too
    logit = lambda e, p: (e * w_e).sum(axis=(1, 2)) + (p * w_p).sum(axis=(1, 2)) + 0.1  # noqa: E731
    prob = ism(lambda e, p: 1 / (1 + np.exp(-logit(e, p))), ENH, PROM, output="probability")
    ref = 1 / (1 + np.exp(-logit(one_hot(ENH)[None], one_hot(PROM)[None])[0]))
    assert prob.reference == pytest.approx(ref)
    mutant = one_hot(ENH)[None].copy()
    mutant[0, 0] = [0, 0, 0, 1]
    assert prob.enhancer[0, 3] == pytest.approx(1 / (1 + np.exp(-logit(mutant, one_hot(PROM)[None])[0])) - ref)


def test_n_positions_and_errors():
    model = one_base_model()
    enh = ENH.copy()
    enh[5] = 4                                                # N: all four bases are alternatives
    a = ism(model, enh, PROM)
    np.testing.assert_allclose(a.enhancer[5], [0, 0, 3.0, 0], atol=1e-4)   # logit -1 -> 2 at G
    np.testing.assert_allclose(a.enhancer_summary[5], -0.75, atol=1e-4)
    with pytest.raises(ValueError, match="output"):
        ism(model, ENH, PROM, output="odds")
    with pytest.raises(ValueError, match="0-4"):
        ism(model, np.full(WE, 9), PROM)


def test_figure_marks_elements_and_hits():
    model = one_base_model()
    a, g = ism(model, ENH, PROM), gradient_x_input(model, ENH, PROM)
    hits = pd.DataFrame({"start": [2], "end": [7], "motif_name": ["CTCF"], "strand": ["+"]})
    fig = attribution_figure([a, g], enhancer_element=(3, 8), promoter_element=(0, 4),
                             enhancer_hits=hits, enhancer_sequence=ENH, title="pair 0")
    assert [t.name for t in fig.data] == ["ism (logit)", "gradient_x_input (logit)"] * 2
    np.testing.assert_allclose(fig.data[0].y, a.enhancer_summary)
    np.testing.assert_allclose(fig.data[3].y, g.promoter_summary)
    rects = [(s.x0, s.x1, s.xref) for s in fig.layout.shapes]
    assert (2.5, 7.5, "x") in rects and (-0.5, 3.5, "x2") in rects       # the two elements
    assert (1.5, 6.5, "x") in rects                                       # the CTCF hit
    assert [(n.text, n.x) for n in fig.layout.annotations if n.text == "CTCF+"] == [("CTCF+", 4.0)]
    assert fig.data[0].text[5] == "G"
    assert isinstance(a, Attribution)
    with pytest.raises(ValueError, match="at least one"):
        attribution_figure([])
