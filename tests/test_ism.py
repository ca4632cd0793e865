"""Fast in-silico mutagenesis (speidlib.interpret.ism) against the whole model per mutant."""

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.data.encode import one_hot  # noqa: E402
from speidlib.interpret.attribution import ism  # noqa: E402
from speidlib.interpret.ism import FastISM, fast_ism  # noqa: E402
from speidlib.model.build import build_model  # noqa: E402
from speidlib.score.pairs import score_pairs_naive  # noqa: E402

WE, WP = 120, 100


def _strong(model, rng):
    """Larger kernels and non-trivial BatchNorm statistics: mutations move the score visibly."""
    for name in (schema.ENHANCER_CONV, schema.PROMOTER_CONV):
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * 6, rng.normal(0, 0.3, bias.shape).astype(np.float32)])
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            k = len(layer.get_weights()[0])
            layer.set_weights([rng.uniform(0.5, 1.5, k), rng.normal(0, 0.2, k), rng.normal(0, 0.3, k),
                               rng.uniform(0.5, 2.0, k)])
    return model


@pytest.fixture(scope="module", params=["paper", "original", "cpu", "plain_layers", "cpu_local_pool"])
def preset_model(request):
    from speidlib.model.presets import get_config

    preset = {"plain_layers": get_config("paper").replace(fused_conv=False, pool_before_activation=False),
              # the cpu preset pools each window whole; cpu_v2 pooled in 20-bp steps
              "cpu_local_pool": get_config("cpu").replace(global_pool=False)}.get(request.param, request.param)
    return _strong(build_model(preset, WE, WP, jaspar_init=False, seed=1), np.random.default_rng(5))


def test_fast_ism_equals_the_whole_model_for_every_preset(preset_model):
    rng = np.random.default_rng(0)
    enh = rng.integers(0, 4, WE).astype(np.int8)
    prom = rng.integers(0, 4, WP).astype(np.int8)
    enh[[3, 60]] = 4                                    # N: all four bases are alternatives
    prom[WP - 1] = 4                                    # past the last pooled window's reach
    whole = ism(preset_model, enh, prom)
    fast = fast_ism(preset_model, enh, prom)
    assert fast.reference == pytest.approx(whole.reference, abs=1e-5)
    np.testing.assert_allclose(fast.enhancer, whole.enhancer, atol=1e-5, rtol=0)
    np.testing.assert_allclose(fast.promoter, whole.promoter, atol=1e-5, rtol=0)
    np.testing.assert_allclose(fast.enhancer_summary, whole.enhancer_summary, atol=1e-5, rtol=0)
    assert min(np.abs(whole.enhancer).max(), np.abs(whole.promoter).max()) > 1e-3  # 100x the tolerance
    assert (fast.enhancer[3] != 0).all() and (fast.enhancer[5] == 0).sum() == 1


def test_probability_output_and_arbitrary_mutants():
    model = _strong(build_model("cpu", WE, WP, jaspar_init=False, seed=2), np.random.default_rng(1))
    rng = np.random.default_rng(3)
    enh = rng.integers(0, 4, WE).astype(np.int8)
    prom = rng.integers(0, 4, WP).astype(np.int8)
    f = FastISM(model)
    pos = rng.integers(0, WP, 40)
    base = rng.integers(0, 4, 40)
    scores = f.score_mutants(enh, prom, "promoter", pos, base)
    mutants = np.repeat(prom[None], 40, 0)
    mutants[np.arange(40), pos] = base
    want = score_pairs_naive(model, enh[None], mutants, np.zeros(40, int), np.arange(40), batch_size=16)
    np.testing.assert_allclose(scores, want, atol=1e-6)
    prob = f.ism(one_hot(enh), one_hot(prom), output="probability")
    np.testing.assert_allclose(prob.promoter, ism(model, enh, prom, output="probability").promoter, atol=1e-6)


def test_bad_mutants_and_windows_are_refused():
    model = build_model("cpu", WE, WP, jaspar_init=False, seed=2)
    f = FastISM(model)
    enh, prom = np.zeros(WE, np.int8), np.zeros(WP, np.int8)
    with pytest.raises(ValueError, match="0..119"):
        f.score_mutants(enh, prom, "enhancer", [WE], [0])
    with pytest.raises(ValueError, match="branch"):
        f.score_mutants(enh, prom, "loop", [0], [0])
    with pytest.raises(ValueError, match="model reads 100"):
        f.ism(enh, np.zeros(WP + 1, np.int8))
