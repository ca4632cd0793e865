"""Evaluation figures: assert on the numbers the traces carry."""
import numpy as np
import pandas as pd
import pytest

from speidlib.viz import figures as plots

# sorted by score: 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-)
Y4 = np.array([0, 0, 1, 1])
S4 = np.array([0.1, 0.4, 0.35, 0.8])


def test_roc_figure_points_and_chance_diagonal():
    fig = plots.roc_figure(Y4, S4, name="model")
    roc, chance = fig.data
    # thresholds inf, 0.8, 0.4, 0.35, 0.1 -> (FPR, TPR) (0,0) (0,.5) (.5,.5) (.5,1) (1,1)
    assert list(roc.x) == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert list(roc.y) == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert roc.name == "model (AUROC 0.750)"
    assert list(chance.x) == [0.0, 1.0] and list(chance.y) == [0.0, 1.0]
    assert chance.name == "chance"


def test_pr_figure_steps_and_chance_at_positive_rate():
    y = np.array([0, 0, 0, 1, 1])
    fig = plots.pr_figure(y, np.array([0.1, 0.4, 0.2, 0.35, 0.8]), name="m")
    pr, chance = fig.data
    # sorted: 0.8 (+), 0.4 (-), 0.35 (+), 0.2 (-), 0.1 (-); thresholds from the lowest:
    # 0.1: P 2/5 R 1; 0.2: P 2/4 R 1; 0.35: P 2/3 R 1; 0.4: P 1/2 R 1/2; 0.8: P 1 R 1/2;
    # then the end point (R 0, P 1) that scikit-learn appends
    assert list(pr.x) == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.0])
    assert list(pr.y) == pytest.approx([0.4, 0.5, 2 / 3, 0.5, 1.0, 1.0])
    assert pr.line.shape == "hv"
    assert pr.name == f"m (AUPR {0.5 + 0.5 * 2 / 3:.3f})"
    assert list(chance.x) == [0.0, 1.0] and list(chance.y) == [0.4, 0.4]   # 2 of 5 positive


def test_curves_for_several_models():
    fig = plots.roc_figure(Y4, {"a": S4, "b": 1 - S4})
    assert [t.name for t in fig.data] == ["a (AUROC 0.750)", "b (AUROC 0.250)", "chance"]
    with pytest.raises(ValueError, match="no positive"):
        plots.pr_figure([0, 0], [0.1, 0.2])


def test_score_distribution_splits_by_label():
    fig = plots.score_distribution_figure(Y4, S4, threshold=0.35, nbins=4)
    neg, pos = fig.data
    assert sorted(neg.x) == [0.1, 0.4] and sorted(pos.x) == [0.35, 0.8]
    assert neg.name == "negative (n=2)" and pos.name == "positive (n=2)"
    assert neg.histnorm == "probability density"
    assert neg.xbins.start == 0.1 and neg.xbins.size == pytest.approx(0.7 / 4)
    assert fig.layout.shapes[0].x0 == 0.35


def test_metric_by_distance_values_per_bin():
    distance = [10_000, 20_000, 30_000, 110_000, 120_000, 130_000]
    y = [1, 0, 0, 1, 1, 0]
    s = [0.9, 0.2, 0.6, 0.4, 0.8, 0.5]
    fig = plots.metric_by_distance_figure(distance, y, s, threshold=0.5, bins=[0, 100_000, 200_000],
                                          metrics=("auroc", "f1"))
    auroc_trace, f1_trace = fig.data
    assert list(auroc_trace.x) == ["0-100 kb", "100-200 kb"]
    assert list(auroc_trace.y) == [1.0, 0.5]                 # see test_metrics: by hand
    assert list(f1_trace.y) == pytest.approx([2 / 3, 0.5])
    assert auroc_trace.customdata.tolist() == [[3, 1], [3, 2]]
    assert fig.layout.meta["bins"][0]["n"] == 3
    with pytest.raises(ValueError, match="unknown metric"):
        plots.metric_by_distance_figure(distance, y, s, 0.5, metrics=("accuracy",))


def test_metric_by_distance_default_quantile_bins_cover_every_pair():
    rng = np.random.default_rng(0)
    d = rng.integers(1_000, 2_000_000, 500)
    y = (rng.random(500) < 0.3).astype(int)
    fig = plots.metric_by_distance_figure(d, y, rng.random(500), 0.5, n_bins=4)
    assert len(fig.data[0].x) == 4
    assert sum(n for n, _ in fig.data[0].customdata) == 500


def test_cross_cell_heatmap_carries_the_matrix():
    m = pd.DataFrame([[0.9, 0.6], [0.55, 0.8]], index=pd.Index(["K562", "NHEK"], name="train"),
                     columns=pd.Index(["K562", "NHEK"], name="test"))
    fig = plots.cross_cell_heatmap(m, "AUROC")
    (hm,) = fig.data
    np.testing.assert_array_equal(np.asarray(hm.z), m.to_numpy())
    assert list(hm.x) == ["K562", "NHEK"] and list(hm.y) == ["K562", "NHEK"]
    assert hm.texttemplate == "%{z:.2f}"
    assert fig.layout.title.text == "AUROC"
    assert fig.layout.yaxis.autorange == "reversed"
    with pytest.raises(ValueError, match="non-empty"):
        plots.cross_cell_heatmap(pd.DataFrame(), "x")


def test_split_drop_bars():
    drop = pd.DataFrame({"cell_line": ["A", "B", "A", "B"],
                         "model": ["propensity", "propensity", "distance", "distance"],
                         "metric": ["auroc"] * 4, "random": [0.9, 0.95, 0.52, 0.5],
                         "chromosome": [0.5, 0.5, 0.5, 0.48], "drop": [0.4, 0.45, 0.02, 0.02]})
    fig = plots.split_drop_figure(drop, "auroc")
    assert [t.name for t in fig.data] == ["propensity", "distance"]
    assert list(fig.data[0].x) == ["A", "B"] and list(fig.data[0].y) == [0.4, 0.45]
    assert fig.data[0].customdata.tolist() == [[0.9, 0.5], [0.95, 0.5]]
    assert "random - chromosome" in fig.layout.title.text
    with pytest.raises(ValueError, match="no rows for metric"):
        plots.split_drop_figure(drop, "f1")
