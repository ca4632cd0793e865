import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.data.encode import one_hot
from speidlib.model.build import branch_and_pair_models, build_model
from speidlib.model.infer import rows_within
from speidlib.score import NaiveScorer, ProjectionCachedScorer, make_scorer, score_pairs
from speidlib.score.run import run_score


@pytest.fixture(scope="module")
def model():
    from speidlib.model.presets import get_config

    cfg = get_config("cpu").replace(n_kernels=8, kernel_size=6, pool_size=5, lstm_units=4, dense_units=6)
    return build_model(cfg, 60, 50, jaspar_init=False, seed=1)


def test_one_verb_over_both_paths(model):
    rng = np.random.default_rng(0)
    enh = rng.integers(0, 5, (30, 60)).astype(np.int8)
    prom = rng.integers(0, 5, (7, 50)).astype(np.int8)
    e_idx, p_idx = rng.integers(0, 30, 200), rng.integers(0, 7, 200)
    assert isinstance(make_scorer(model), ProjectionCachedScorer)
    assert isinstance(make_scorer(model, cache=False), NaiveScorer)
    naive = score_pairs(model, enh, prom, e_idx, p_idx, cache=False, batch_size=32)
    cached = score_pairs(model, enh, prom, e_idx, p_idx, batch_size=16)
    np.testing.assert_allclose(cached, naive, atol=1e-5)
    assert naive.std() > 0  # the check is not vacuous
    whole = np.asarray(model([one_hot(enh[e_idx]), one_hot(prom[p_idx])], training=False)).reshape(-1)
    np.testing.assert_allclose(naive, whole, atol=1e-6)
    with pytest.raises(ValueError, match="enhancer indices but"):
        score_pairs(model, enh, prom, e_idx, p_idx[:5], cache=False)


def test_every_path_sizes_its_batches_by_memory():
    # `paper` windows of 3 kb and 2 kb: 1,024 kernels x 5,000 positions x 4 bytes per pair
    paper = build_model("paper", 3000, 2000, jaspar_init=False)
    assert NaiveScorer(paper, batch_size=256).batch_size == 16        # 16 x 20.5 MB within 512 MB
    assert ProjectionCachedScorer(paper, batch_size=256).element_batch == {"enhancer": 32, "promoter": 64}
    assert NaiveScorer(build_model("cpu", 3000, 2000, jaspar_init=False), batch_size=256).batch_size == 256
    assert rows_within(100, 30) == 2 and rows_within(100, 300) == 1 and rows_within(10**6, 1, most=100) == 100


def test_branch_and_pair_parts_compose_to_the_model(model):
    enh_b, prom_b, pair = branch_and_pair_models(model)
    rng = np.random.default_rng(1)
    xe = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (3, 60))]
    xp = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (3, 50))]
    whole = np.asarray(model([xe, xp], training=False))
    parts = np.asarray(pair([enh_b(xe, training=False), prom_b(xp, training=False)], training=False))
    np.testing.assert_allclose(parts, whole, atol=1e-6)


@pytest.mark.slow
def test_speid_score_writes_bedpe_and_csv(tiny_run, tmp_path):
    from speidlib.rundir import read_config
    from speidlib.score.formats import BEDPE_COLUMNS

    cfg = read_config(tiny_run)["prepare"]
    info = run_score(tiny_run, cfg["pairs"], cfg["genome"], tmp_path / "s.bedpe", progress=False)
    bed = pd.read_csv(tmp_path / "s.bedpe", sep="\t", header=None, comment="#")
    assert len(bed) == info["n_pairs"] and bed.shape[1] == len(BEDPE_COLUMNS)
    assert ((bed[7] >= 0) & (bed[7] <= 1)).all()
    run_score(tiny_run, cfg["pairs"], cfg["genome"], tmp_path / "s.csv", progress=False)
    out = pd.read_csv(tmp_path / "s.csv")
    assert len(out) == info["n_pairs"]
    np.testing.assert_allclose(bed[7].sort_values(), out[schema.SCORE].round(6).sort_values(), atol=1e-6)
    # the test pairs' scores agree with `speid evaluate` (same model, same windows)
    pred = pd.read_csv(tiny_run / schema.PREDICTIONS_FILE)
    merged = pred.merge(out, on=[schema.ENHANCER_NAME, schema.PROMOTER_NAME], suffixes=("", "_scored"))
    assert len(merged) == len(pred)
    np.testing.assert_allclose(merged[schema.SCORE], merged[schema.SCORE + "_scored"], atol=1e-5)
    with pytest.raises(ValueError, match="cannot tell the format"):
        run_score(tiny_run, cfg["pairs"], cfg["genome"], tmp_path / "s.xyz", progress=False)
