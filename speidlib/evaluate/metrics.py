"""Classification metrics for enhancer-promoter scores, with bootstrap intervals.

The preprint reports F1 (Table 2), AUROC (Tables 3, 4) and AUPR (Table 5).
Here every metric comes from scikit-learn, with one protocol around them:

* the decision threshold for F1, MCC, precision and recall is chosen on the
  **validation** split (:func:`choose_threshold`) and then applied, unchanged,
  to the test split; a pair is called interacting when ``score >= threshold``;
* AUPR is average precision (``sklearn.metrics.average_precision_score``), the
  step-wise area that does not interpolate optimistically;
* each test metric gets a percentile bootstrap 95% confidence interval, drawn
  by resampling test pairs with replacement (:func:`bootstrap_ci`), computed
  for all resamples at once with array operations.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from speidlib import checks

METRICS = ("auroc", "aupr", "f1", "mcc", "precision", "recall")
THRESHOLD_METRICS = ("f1", "mcc", "precision", "recall")


# --- checking inputs ----------------------------------------------------------




# --- single metrics -----------------------------------------------------------
def auroc(y, s) -> float:
    """Area under the ROC curve.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores (higher = more likely interacting)
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "AUROC")
    return float(skm.roc_auc_score(y, s))


def aupr(y, s) -> float:
    """Area under the precision-recall curve, as average precision.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "AUPR")
    return float(skm.average_precision_score(y, s))


def threshold_metrics(y, s, threshold: float) -> dict:
    """F1, MCC, precision and recall when pairs with ``score >= threshold`` are called.

    Undefined ratios (no pair called, no positive pair) are 0, as in
    scikit-learn with ``zero_division=0``.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores
    threshold : float

    Returns
    -------
    dict with keys ``f1, mcc, precision, recall, tp, fp, tn, fn``.
    """
    y, s = checks.labels_scores(y, s)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold}")
    call = (s >= threshold).astype(np.int8)
    tn, fp, fn, tp = skm.confusion_matrix(y, call, labels=[0, 1]).ravel()
    return {
        "f1": float(skm.f1_score(y, call, zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(y, call)),
        "precision": float(skm.precision_score(y, call, zero_division=0)),
        "recall": float(skm.recall_score(y, call, zero_division=0)),
        "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
    }


def choose_threshold(y_valid, score_valid) -> float:
    """The score threshold that maximises F1 on the validation split.

    Call this on validation scores only; the test split must never choose its
    own threshold. The threshold is one of the validation scores; ties in F1
    go to the highest threshold (the fewest pairs called).

    Parameters
    ----------
    y_valid : array-like, shape=(n,), 0/1 validation labels
    score_valid : array-like, shape=(n,), validation scores

    Returns
    -------
    threshold : float
    """
    y, s = checks.labels_scores(y_valid, score_valid, "validation labels")
    if y.sum() == 0:
        raise ValueError("the validation split holds no positive pair, so no F1 threshold can be chosen")
    precision, recall, thresholds = skm.precision_recall_curve(y, s, drop_intermediate=False)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = np.flatnonzero(f1 == f1.max())[-1]
    return float(thresholds[best])


# --- bootstrap ----------------------------------------------------------------
def _weighted_metrics(w: np.ndarray, y: np.ndarray, s: np.ndarray, threshold: float) -> dict:
    """All metrics for many weightings of the same pairs at once.

    ``w`` has shape=(B, n): how many times each pair is drawn in each
    resample. Scores are grouped by distinct value, so ties count as in
    scikit-learn (half a pair for AUROC, one step for average precision).
    """
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order].astype(bool)
    w = w[:, order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])  # distinct scores, descending
    pos = np.add.reduceat(w * y_sorted, starts, axis=1)   # (B, G) positive weight per score value
    neg = np.add.reduceat(w * ~y_sorted, starts, axis=1)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # AUROC: each positive beats the negatives below it, ties count half
        neg_below = n_neg[:, None] - np.cumsum(neg, axis=1)
        auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        # average precision: sum over score values of (recall step) x precision
        tp_cum, fp_cum = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
        prec = np.divide(tp_cum, tp_cum + fp_cum, out=np.zeros_like(tp_cum), where=(tp_cum + fp_cum) > 0)
        ap = (pos * prec).sum(axis=1) / n_pos
        called = s_sorted >= threshold
        tp = (w * (y_sorted & called)).sum(axis=1)
        fp = (w * (~y_sorted & called)).sum(axis=1)
        fn, tn = n_pos - tp, n_neg - fp
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(n_pos > 0, tp / n_pos, 0.0)
        mcc_den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        mcc = np.where(mcc_den > 0, (tp * tn - fp * fn) / mcc_den, 0.0)
    one_class = (n_pos == 0) | (n_neg == 0)
    auc[one_class] = np.nan
    ap[n_pos == 0] = np.nan
    return {"auroc": auc, "aupr": ap, "f1": f1, "mcc": mcc, "precision": precision, "recall": recall}


def bootstrap_metrics(y, s, threshold: float, n_bootstrap: int = 1000, seed: int = 0,
                      max_cells: int = 4_000_000, groups=None) -> dict:
    """Every metric on each of ``n_bootstrap`` resamples of the pairs.

    Resamples draw ``n`` pairs with replacement, or, with ``groups``, whole
    groups (a cluster bootstrap: pairs that share an element are not independent
    draws, and resampling them one by one gives too narrow an interval). All
    resamples are computed together as a weight matrix, in chunks of at most
    ``max_cells`` entries. A resample without positives (or negatives) gives NaN
    for AUROC/AUPR.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores
    threshold : float, calls are ``score >= threshold``
    n_bootstrap : int, number of resamples
    seed : int
    groups : array-like, shape=(n,), optional: each pair's cluster (any hashable labels,
        e.g. its promoter); None resamples pairs

    Returns
    -------
    dict metric -> np.ndarray, shape=(n_bootstrap,)
    """
    y, s = checks.labels_scores(y, s)
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    parts = [_weighted_metrics(w, y, s, threshold)
             for w in resample_weights(y.size, n_bootstrap, seed, max_cells, groups=groups)]
    return {m: np.concatenate([p[m] for p in parts]) for m in METRICS}


def resample_weights(n: int, n_bootstrap: int, seed: int = 0, max_cells: int = 4_000_000, groups=None):
    """Bootstrap resamples of ``n`` items as count weights, in chunks that bound memory.

    With ``groups`` (shape=(n,), any labels) the resamples draw ``G`` groups with
    replacement out of the ``G`` distinct ones, and an item weighs as often as its
    group is drawn (groups numbered in order of first appearance). Groups of one
    item each draw exactly the item resamples (the same random numbers).

    Yields
    ------
    np.ndarray, shape=(b, n), int: how often each item is drawn in each of ``b``
    resamples (``b`` at most ``max_cells // n``); ``n_bootstrap`` resamples in all.
    """
    if groups is None:
        code, g = None, n
    else:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must give one label per item: shape ({n},), got {groups.shape}")
        code, uniques = pd.factorize(groups)      # groups numbered in order of first appearance
        g = len(uniques)
    rng = np.random.default_rng(seed)
    chunk = max(1, max_cells // max(n, 1))
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        idx = rng.integers(0, g, size=(b, g))
        counts = np.bincount((idx + g * np.arange(b)[:, None]).ravel(), minlength=b * g).reshape(b, g)
        yield counts if code is None else counts[:, code]


def bootstrap_ci(y, s, threshold: float, n_bootstrap: int = 1000, seed: int = 0,
                 level: float = 0.95, groups=None) -> dict:
    """Percentile bootstrap confidence interval of each metric.

    ``groups`` (shape=(n,), optional) resamples whole clusters of pairs, as
    :func:`bootstrap_metrics` does.

    Returns
    -------
    dict metric -> [lo, hi] (NaN where no resample could compute the metric)
    """
    if not 0 < level < 1:
        raise ValueError(f"the confidence level must lie between 0 and 1, got {level}")
    draws = bootstrap_metrics(y, s, threshold, n_bootstrap=n_bootstrap, seed=seed, groups=groups)
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    out = {}
    for m, v in draws.items():
        v = v[np.isfinite(v)]
        out[m] = [float(x) for x in np.percentile(v, q)] if v.size else [float("nan")] * 2
    return out


# --- ties ----------------------------------------------------------------------
def n_distinct_scores(s) -> int:
    """How many different values the scores take (1: the predictor is constant)."""
    s = np.asarray(s, dtype=np.float64)
    return int(np.unique(s).size)


def tie_broken_auroc(y, s, n_draws: int = 200, seed: int = 0, level: float = 0.95) -> dict:
    """AUROC with tied scores put in a random order, over many draws.

    scikit-learn counts a tied positive-negative pair as half a success, so a
    constant predictor scores exactly 0.5 and looks like a measured chance
    level. Breaking each tie at random instead gives one AUROC per draw; its
    mean is the tie-averaged AUROC and its spread says how much of the figure
    the ties decide (for a constant predictor: all of it). Without ties every
    draw equals :func:`auroc`.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels (both classes present)
    s : array-like, shape=(n,), scores
    n_draws : int, random tie orders
    seed : int
    level : float, the central range reported

    Returns
    -------
    dict ``mean, lo, hi`` (the central ``level`` range of the draws), ``n_draws``
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "AUROC")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    rng = np.random.default_rng(seed)
    n, n_pos = y.size, int(y.sum())
    n_neg = n - n_pos
    dense = np.unique(s, return_inverse=True)[1].astype(np.float64)   # tie groups, ascending
    chunk = max(1, 4_000_000 // n)
    aucs = []
    for start in range(0, n_draws, chunk):
        b = min(chunk, n_draws - start)
        key = dense[None, :] + rng.random((b, n))       # random order inside each tie group
        ranks = np.empty((b, n))
        np.put_along_axis(ranks, np.argsort(key, axis=1), np.arange(1, n + 1, dtype=np.float64)[None, :], axis=1)
        rank_sum = ranks[:, y.astype(bool)].sum(axis=1)
        aucs.append((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    aucs = np.concatenate(aucs)
    lo, hi = np.percentile(aucs, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return {"mean": float(aucs.mean()), "lo": float(lo), "hi": float(hi), "n_draws": int(n_draws)}


# --- one call for a test split ------------------------------------------------
def evaluate_scores(y_test, s_test, threshold: float, n_bootstrap: int = 1000, seed: int = 0,
                    level: float = 0.95) -> dict:
    """All test metrics at a validation-chosen threshold, with bootstrap intervals.

    Parameters
    ----------
    y_test : array-like, shape=(n,), 0/1 test labels (both classes present)
    s_test : array-like, shape=(n,), test scores
    threshold : float, from :func:`choose_threshold` on the validation split
    n_bootstrap : int, resamples for the intervals; 0 skips them (``ci`` is {})
    seed : int
    level : float, confidence level of the intervals

    Returns
    -------
    dict with keys ``auroc, aupr, f1, mcc, precision, recall, threshold,
    n_test, n_positive_test, tp, fp, tn, fn, ci`` (metric -> [lo, hi]),
    ``ci_level`` and ``n_bootstrap``; ``n_distinct_scores``;
    ``ci_width`` (metric -> hi - lo: how far a small test split lets one read a
    score); ``auroc_tie_broken`` (:func:`tie_broken_auroc`: ``mean, lo, hi, n_draws``);
    ``constant`` (True when every test pair gets the same score) and
    ``degenerate`` (the metrics that then measure no ranking: a constant
    predictor's AUROC is 0.5 by the tie rule, its AUPR the positive rate and
    its F1 that of calling all or no pairs); plain Python numbers, ready for JSON.
    """
    y, s = checks.labels_scores(y_test, s_test, "test labels")
    checks.both_classes(y, "evaluating the test split")
    out = {"auroc": auroc(y, s), "aupr": aupr(y, s)}
    out.update(threshold_metrics(y, s, threshold))
    out.update(threshold=float(threshold), n_test=int(y.size), n_positive_test=int(y.sum()),
               ci_level=float(level), n_bootstrap=int(n_bootstrap))
    out["ci"] = bootstrap_ci(y, s, threshold, n_bootstrap, seed, level) if n_bootstrap > 0 else {}
    out["ci_width"] = {m: float(hi - lo) for m, (lo, hi) in out["ci"].items()}
    out["n_distinct_scores"] = n_distinct_scores(s)
    out["auroc_tie_broken"] = tie_broken_auroc(y, s, seed=seed, level=level)
    out["constant"] = out["n_distinct_scores"] == 1
    out["degenerate"] = list(METRICS) if out["constant"] else []
    return out


def metrics_by_bin(values, y, s, threshold: float, bins) -> pd.DataFrame:
    """Metrics within bins of another variable, e.g. enhancer-promoter distance.

    Parameters
    ----------
    values : array-like, shape=(n,), the binned variable (e.g. distance in bp)
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores
    threshold : float, the validation-chosen threshold
    bins : sequence of bin edges (increasing), passed to ``pandas.cut`` with
        ``right=False`` (each bin is ``[lo, hi)``)

    Returns
    -------
    DataFrame, one row per bin: ``bin_lo, bin_hi, n, n_positive`` and each of
    :data:`METRICS` (AUROC/AUPR are NaN in a bin lacking a class).
    """
    y, s = checks.labels_scores(y, s)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != y.shape:
        raise ValueError(f"binned values have {values.size} entries but there are {y.size} labels")
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be at least two strictly increasing edges")
    which = pd.cut(values, edges, right=False, labels=False)
    rows = []
    for i in range(edges.size - 1):
        m = which == i
        yi, si = y[m], s[m]
        row = {"bin_lo": edges[i], "bin_hi": edges[i + 1], "n": int(m.sum()), "n_positive": int(yi.sum())}
        both = 0 < row["n_positive"] < row["n"]
        row["auroc"] = float(skm.roc_auc_score(yi, si)) if both else np.nan
        row["aupr"] = float(skm.average_precision_score(yi, si)) if both else np.nan
        if row["n"]:
            tm = threshold_metrics(yi, si, threshold)
            row.update({k: tm[k] for k in THRESHOLD_METRICS})
        else:
            row.update({k: np.nan for k in THRESHOLD_METRICS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["bin_lo", "bin_hi", "n", "n_positive", *METRICS])
