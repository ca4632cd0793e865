"""Golden values for the metrics, worked out by hand in the comments."""
import time

import numpy as np
import pytest
from sklearn import metrics as skm

from speidlib.evaluate import metrics as M

# Four pairs. Sorted by score: 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-).
Y4 = np.array([0, 0, 1, 1])
S4 = np.array([0.1, 0.4, 0.35, 0.8])


def test_auroc_by_hand():
    # positive-negative pairs ranked correctly: (0.35>0.1), (0.8>0.1), (0.8>0.4); wrong: (0.35<0.4)
    assert M.auroc(Y4, S4) == pytest.approx(3 / 4)


def test_auroc_counts_ties_as_half():
    # positives 0.9, 0.5; negative 0.5: 1 (0.9 > 0.5) + 0.5 (tie) over 2 pairs
    assert M.auroc([1, 0, 1], [0.9, 0.5, 0.5]) == pytest.approx(0.75)
    # constant scores rank nothing: 0.5
    assert M.auroc([0, 1, 0, 1], [0.3] * 4) == 0.5


def test_aupr_is_average_precision_by_hand():
    # at 0.8: precision 1, recall 1/2 -> 1/2 * 1; at 0.35: precision 2/3, recall 1 -> 1/2 * 2/3
    assert M.aupr(Y4, S4) == pytest.approx(0.5 + 1 / 3)
    # ties form one step: 0.9 -> P=1, R=1/2; 0.5 (both) -> P=2/3, R=1
    assert M.aupr([1, 0, 1], [0.9, 0.5, 0.5]) == pytest.approx(0.5 + 1 / 3)


def test_threshold_metrics_by_hand():
    # calls at >= 0.35: [0, 1, 1, 1] -> TP=2, FP=1, FN=0, TN=1
    m = M.threshold_metrics(Y4, S4, 0.35)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 0, 1)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == 1.0
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 0))          # 0.8
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 2 / sqrt(3*2*2*1)
    assert m["mcc"] == pytest.approx(2 / np.sqrt(12))
    # nothing called: precision and F1 are 0, MCC 0
    none = M.threshold_metrics(Y4, S4, 0.9)
    assert (none["precision"], none["recall"], none["f1"], none["mcc"]) == (0.0, 0.0, 0.0, 0.0)


def test_choose_threshold_maximises_validation_f1():
    # F1 at each threshold: 0.8 -> 2/3, 0.4 -> 1/2, 0.35 -> 4/5, 0.1 -> 2/3
    assert M.choose_threshold(Y4, S4) == 0.35


def test_choose_threshold_breaks_ties_towards_fewer_calls():
    # 0.9 -> TP1 FN1: 2/3; 0.6 -> 1/2; 0.5 -> 2/5; 0.2 -> TP2 FP2: 2/3: tie between 0.9 and 0.2
    assert M.choose_threshold([1, 0, 0, 1], [0.9, 0.6, 0.5, 0.2]) == 0.9


def test_choose_threshold_needs_a_positive():
    with pytest.raises(ValueError, match="no positive"):
        M.choose_threshold([0, 0, 0], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("y, s, match", [
    ([0, 1], [0.1], "differ in length"),
    ([0, 2], [0.1, 0.2], "0 or 1"),
    ([0, 1], [0.1, np.nan], "NaN"),
    ([], [], "empty"),
    ([[0, 1]], [[0.1, 0.2]], "1-D"),
])
def test_bad_inputs_are_refused(y, s, match):
    with pytest.raises(ValueError, match=match):
        M.auroc(y, s)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="no positive"):
        M.auroc([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="no negative"):
        M.evaluate_scores([1, 1], [0.1, 0.2], 0.5)


def test_weighted_metrics_equal_sklearn_on_the_resampled_pairs():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.2).astype(int)
    s = np.round(rng.normal(size=300) + y, 1)          # rounded: many ties
    idx = rng.integers(0, 300, size=(4, 300))
    w = np.stack([np.bincount(i, minlength=300) for i in idx])
    got = M._weighted_metrics(w, y, s, threshold=0.5)
    for b in range(4):
        yy, ss = y[idx[b]], s[idx[b]]
        assert got["auroc"][b] == pytest.approx(skm.roc_auc_score(yy, ss), abs=1e-12)
        assert got["aupr"][b] == pytest.approx(skm.average_precision_score(yy, ss), abs=1e-12)
        tm = M.threshold_metrics(yy, ss, 0.5)
        for k in M.THRESHOLD_METRICS:
            assert got[k][b] == pytest.approx(tm[k], abs=1e-12)


def test_bootstrap_without_positives_gives_nan_auroc():
    w = np.array([[2, 1, 0, 0], [1, 1, 1, 1]])          # first resample draws no positive
    got = M._weighted_metrics(w, Y4, S4, 0.35)
    assert np.isnan(got["auroc"][0]) and np.isnan(got["aupr"][0])
    assert got["auroc"][1] == pytest.approx(0.75)


def test_evaluate_scores_keys_values_and_intervals():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    s = rng.normal(size=2000) + 1.2 * y
    out = M.evaluate_scores(y, s, threshold=1.0, n_bootstrap=200, seed=1)
    for key in (*M.METRICS, "threshold", "n_test", "n_positive_test", "ci"):
        assert key in out
    assert out["n_test"] == 2000 and out["n_positive_test"] == int(y.sum())
    assert out["threshold"] == 1.0
    assert out["auroc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert set(out["ci"]) == set(M.METRICS)
    for m in M.METRICS:
        lo, hi = out["ci"][m]
        assert lo < out[m] < hi
        assert out["ci_width"][m] == pytest.approx(hi - lo)
    # a tenth of the pairs: wider intervals, said in ci_width
    small = M.evaluate_scores(y[:200], s[:200], 1.0, n_bootstrap=200, seed=1)
    assert small["ci_width"]["auroc"] > 2 * out["ci_width"]["auroc"]
    # same seed, same intervals; no bootstrap, no intervals
    assert M.evaluate_scores(y, s, 1.0, n_bootstrap=200, seed=1)["ci"] == out["ci"]
    assert M.evaluate_scores(y, s, 1.0, n_bootstrap=0)["ci"] == {}


def test_bootstrap_of_5000_scores_is_fast():
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.05).astype(int)
    s = rng.random(5000) + y
    t0 = time.process_time()            # CPU time: other processes on the machine do not count
    draws = M.bootstrap_metrics(y, s, 0.9, n_bootstrap=1000, seed=0)
    assert time.process_time() - t0 < 5.0   # about 0.6 s measured
    assert draws["auroc"].shape == (1000,)


def test_metrics_by_bin_by_hand():
    distance = [10, 20, 30, 110, 120, 130]
    y = [1, 0, 0, 1, 1, 0]
    s = [0.9, 0.2, 0.6, 0.4, 0.8, 0.5]
    t = M.metrics_by_bin(distance, y, s, threshold=0.5, bins=[0, 100, 200, 300])
    assert t["n"].tolist() == [3, 3, 0] and t["n_positive"].tolist() == [1, 2, 0]
    # bin 1: positive 0.9 above both negatives -> AUROC 1; calls 0.9, 0.6 -> P 1/2, R 1, F1 2/3
    assert t.loc[0, "auroc"] == 1.0 and t.loc[0, "f1"] == pytest.approx(2 / 3)
    # bin 2: positives 0.4, 0.8 vs negative 0.5 -> 1/2; calls 0.8, 0.5 -> TP1 FP1 FN1 -> F1 1/2
    assert t.loc[1, "auroc"] == 0.5 and t.loc[1, "f1"] == 0.5
    assert np.isnan(t.loc[2, "auroc"]) and np.isnan(t.loc[2, "f1"])


# --- ties and constant predictors ---------------------------------------------------
def test_tie_broken_auroc_of_a_constant_predictor():
    # one positive and one negative, both scored 0.3: half the draws rank the positive
    # first (AUROC 1), half last (AUROC 0)
    out = M.tie_broken_auroc([1, 0], [0.3, 0.3], n_draws=2000, seed=0)
    assert out["lo"] == 0.0 and out["hi"] == 1.0
    assert out["mean"] == pytest.approx(0.5, abs=0.05)
    assert M.auroc([1, 0], [0.3, 0.3]) == 0.5     # scikit-learn's half-credit rule


def test_tie_broken_auroc_equals_auroc_without_ties_and_in_between_with_some():
    out = M.tie_broken_auroc(Y4, S4, n_draws=50)
    assert out["mean"] == out["lo"] == out["hi"] == pytest.approx(3 / 4)
    # scores 0.9 (+), 0.5 (+), 0.5 (-), 0.1 (-): the tied pair is right or wrong,
    # AUROC 4/4 or 3/4, mean 7/8 = scikit-learn's half credit
    y, s = [1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]
    out = M.tie_broken_auroc(y, s, n_draws=4000, seed=3)
    assert (out["lo"], out["hi"]) == (0.75, 1.0)
    assert out["mean"] == pytest.approx(M.auroc(y, s), abs=0.02)


def test_evaluate_scores_flags_a_constant_predictor():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    out = M.evaluate_scores(y, np.full(10, 0.2), threshold=0.5, n_bootstrap=0)
    assert out["n_distinct_scores"] == 1 and out["constant"]
    assert set(out["degenerate"]) >= {"auroc", "aupr", "f1"}
    assert out["auroc"] == 0.5 and out["aupr"] == pytest.approx(0.2)   # the positive rate
    assert out["auroc_tie_broken"]["lo"] < 0.3 and out["auroc_tie_broken"]["hi"] > 0.7
    ranked = M.evaluate_scores(Y4, S4, threshold=0.35, n_bootstrap=0)
    assert ranked["n_distinct_scores"] == 4 and not ranked["constant"] and ranked["degenerate"] == []


def test_cluster_bootstrap_resamples_whole_groups():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.2).astype(int)
    s = rng.random(300) + 0.5 * y
    pairs = M.bootstrap_metrics(y, s, 0.8, n_bootstrap=200, seed=4)
    # one pair per group: the pair bootstrap, draw for draw
    singletons = M.bootstrap_metrics(y, s, 0.8, n_bootstrap=200, seed=4, groups=[f"g{i}" for i in range(300)])
    np.testing.assert_array_equal(pairs["auroc"], singletons["auroc"])
    # every pair repeated 10 times inside its group (10 pairs sharing an element, identical
    # scores): the cluster bootstrap gives the 300 groups' own distribution, where resampling
    # the 3,000 pairs one by one gives one about sqrt(10) times narrower
    y10, s10, g10 = np.repeat(y, 10), np.repeat(s, 10), np.repeat(np.arange(300), 10)
    clustered = M.bootstrap_metrics(y10, s10, 0.8, n_bootstrap=200, seed=4, groups=g10)
    np.testing.assert_allclose(clustered["auroc"], pairs["auroc"])
    naive = M.bootstrap_metrics(y10, s10, 0.8, n_bootstrap=200, seed=4)
    assert np.std(clustered["auroc"]) > 2.5 * np.std(naive["auroc"])
    with pytest.raises(ValueError, match="one label per item"):
        next(M.resample_weights(3, 5, groups=[0, 1]))
