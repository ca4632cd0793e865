"""CRISPRi benchmark metrics: today's, and those of EngreitzLab/CRISPR_comparison.

Two families, on the same pairs and the same bootstrap draws:

* **average precision** (``auprc``), **AUROC** and **precision at 70%
  recall within the table** (``precision_at_recall``): step-wise areas as
  scikit-learn computes them (:func:`curve_metrics`);
* **the benchmark authors' metrics** (``crisprComparisonBootstrapFunctions.R``
  of EngreitzLab/CRISPR_comparison, used by Gschwind et al. 2026):

  - the area under the precision-recall curve by the **trapezoidal rule**
    over yardstick's curve (one point per distinct score, highest first),
    leaving out yardstick's added start point and the curve's two lowest
    thresholds, as the upstream code does (:func:`upstream_auprc`); with
    each pair weighted by the table's ``direct_vs_indirect_negative``
    column (``case_weights``, for regulated and unregulated pairs alike),
    this is the **weighted AUPRC**;
  - a predictor's **threshold at 70% recall** on the K562 training table
    (the highest score whose calls hold at least 70% of the regulated pairs,
    unweighted, as ROCR's curve and ``computePerfGivenSensitivity`` give it;
    :func:`threshold_at_recall`), applied unchanged to another table, where
    the pairs scoring at or above it are called and the **precision and
    recall** of the calls reported, unweighted and weighted
    (:func:`at_threshold`);

  each with a percentile bootstrap interval over resampled pairs (upstream:
  ``boot``, ``boot.ci(type="perc")``).

The weighted precision of called pairs is ``sum(w * regulated * called) /
sum(w * called)`` and the weighted recall ``sum(w * regulated * called) /
sum(w * regulated)``.
"""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from speidlib import checks
from speidlib.evaluate.metrics import resample_weights

RECALL_LEVEL = 0.7
TRIMMED_LOW_POINTS = 2   # upstream drops the curve's two lowest thresholds before the trapezoids


def precision_at_recall(y, s, recall: float = RECALL_LEVEL) -> float:
    """Precision at the highest score threshold whose recall reaches ``recall``.

    Pairs are called from the top score down (ties enter together); the
    first threshold at which the called pairs hold at least ``recall`` of the
    regulated ones gives the precision reported.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels (1 = regulated)
    s : array-like, shape=(n,), scores (higher = more likely regulated)
    recall : float in (0, 1]
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "precision at recall")
    if not 0 < recall <= 1:
        raise ValueError(f"the recall level must lie in (0, 1], got {recall}")
    precision, rec, _ = skm.precision_recall_curve(y, s, drop_intermediate=False)
    reached = np.flatnonzero(rec[:-1] >= recall)  # the last point (recall 0) has no threshold
    return float(precision[reached[-1]])


def threshold_at_recall(y, s, recall: float = RECALL_LEVEL) -> float:
    """The score threshold at ``recall`` (upstream's ``alpha_at_min_sensitivity``).

    The highest distinct score ``t`` such that the pairs scoring ``>= t``
    hold at least ``recall`` of the regulated pairs (unweighted).

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels; s : array-like, shape=(n,), scores
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "a threshold at recall")
    if not 0 < recall <= 1:
        raise ValueError(f"the recall level must lie in (0, 1], got {recall}")
    order = np.argsort(-s, kind="stable")
    s_sorted, tp = s[order], np.cumsum(y[order])
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]   # the last pair of each distinct score
    reached = np.flatnonzero(tp[last] >= recall * tp[-1] - 1e-9)
    return float(s_sorted[last][reached[0]])


def _grouped(s: np.ndarray):
    """Order (highest score first) and the start of each distinct score in it."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    return order, np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])


def _upstream_auprc_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Trapezoidal AUPRC per row of per-score weight sums, shape=(B, G) -> (B,).

    ``pos``/``neg``: the weight of regulated / unregulated pairs at each
    distinct score, highest first. A score of zero weight is no point of
    yardstick's curve (it would repeat the previous point, adding no area);
    the two lowest scores of non-zero weight are left out, as upstream.
    """
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    n_pos, n_neg = tp[:, -1], fp[:, -1]
    present = (pos + neg) > 0
    from_end = np.cumsum(present[:, ::-1], axis=1)[:, ::-1]   # points at or below each score
    keep = ((tp + fp) > 0) & (from_end > TRIMMED_LOW_POINTS)
    with np.errstate(invalid="ignore", divide="ignore"):
        rec = tp / n_pos[:, None]
        prec = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    both = keep[:, 1:] & keep[:, :-1]
    area = np.where(both, (rec[:, 1:] - rec[:, :-1]) * (prec[:, 1:] + prec[:, :-1]) / 2, 0.0).sum(axis=1)
    area[(n_pos <= 0) | (n_neg <= 0)] = np.nan
    return area


def upstream_auprc(y, s, weight=None) -> float:
    """AUPRC as EngreitzLab/CRISPR_comparison computes it (trapezoids; see the module).

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores (higher = more likely regulated)
    weight : None, or shape=(n,) non-negative case weights (e.g. the table's
        ``direct_vs_indirect_negative``)

    Returns
    -------
    float (NaN when a class has no weight)
    """
    y, s = checks.labels_scores(y, s)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    order, starts = _grouped(s)
    wy = (w * y)[order][None, :]
    wn = (w * (1 - y))[order][None, :]
    return float(_upstream_auprc_rows(np.add.reduceat(wy, starts, axis=1),
                                      np.add.reduceat(wn, starts, axis=1))[0])


def at_threshold(y, s, threshold: float, weight=None) -> tuple[float, float]:
    """Precision and recall of calling the pairs that score ``>= threshold``.

    Parameters
    ----------
    y, s : shape=(n,) labels and scores; threshold : float
    weight : None, or shape=(n,) case weights

    Returns
    -------
    (precision, recall); precision is NaN when no pair is called
    """
    y, s = checks.labels_scores(y, s)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    called = s >= threshold
    tp, n_called, n_pos = (w * y * called).sum(), (w * called).sum(), (w * y).sum()
    precision = tp / n_called if n_called > 0 else float("nan")
    return float(precision), float(tp / n_pos) if n_pos > 0 else float("nan")


def _resampled(counts: np.ndarray, y: np.ndarray, s: np.ndarray, recall: float,
               weight: np.ndarray | None, threshold: float) -> dict:
    """Every metric for many resamples of the same pairs.

    ``counts`` has shape=(B, n): how many times each pair is drawn in each
    resample. Ties count as in scikit-learn. Returns dict -> shape=(B,).
    """
    order, starts = _grouped(s)
    y_sorted = y[order].astype(bool)
    c = counts[:, order].astype(np.float64)
    pos = np.add.reduceat(c * y_sorted, starts, axis=1)   # (B, G) per distinct score, descending
    neg = np.add.reduceat(c * ~y_sorted, starts, axis=1)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = (pos * (n_neg[:, None] - fp + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        prec = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        auprc = (pos * prec).sum(axis=1) / n_pos
        reached = tp >= recall * n_pos[:, None] - 1e-9
    at = prec[np.arange(len(c)), reached.argmax(axis=1)]
    out = {"auroc": auroc, "auprc": auprc, "precision_at_recall": at,
           "auprc_trapezoid": _upstream_auprc_rows(pos, neg)}
    one_class = (n_pos == 0) | (n_neg == 0)
    if weight is not None:
        w = weight[order]
        out["auprc_weighted"] = _upstream_auprc_rows(np.add.reduceat(c * w * y_sorted, starts, axis=1),
                                                     np.add.reduceat(c * w * ~y_sorted, starts, axis=1))
    if np.isfinite(threshold):
        called = (s[order] >= threshold)[None, :]
        for suffix, cw in (("", c), ("_weighted", None if weight is None else c * weight[order])):
            if cw is None:
                continue
            tp_t, n_called, n_p = (cw * y_sorted * called).sum(1), (cw * called).sum(1), (cw * y_sorted).sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"precision_at_threshold{suffix}"] = np.where(n_called > 0, tp_t / n_called, np.nan)
                out[f"recall_at_threshold{suffix}"] = tp_t / n_p
    for m in out.values():
        m[one_class] = np.nan
    return out


def curve_metrics(y, s, n_bootstrap: int = 1000, seed: int = 0, level: float = 0.95,
                  recall: float = RECALL_LEVEL, weight=None, threshold: float = float("nan"),
                  max_cells: int = 4_000_000) -> dict:
    """Every CRISPRi metric of one predictor on one set of pairs, with bootstrap intervals.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels, both classes present
    s : array-like, shape=(n,), scores
    n_bootstrap : resamples of the pairs (with replacement); 0: no intervals (NaN)
    seed, level : bootstrap seed and confidence level
    recall : the recall level of ``precision_at_recall``
    weight : None, or shape=(n,) case weights for the weighted metrics
    threshold : a score threshold fixed elsewhere (NaN: no metrics at a threshold)

    Returns
    -------
    dict: ``auprc, auroc, precision_at_recall, auprc_trapezoid`` and, with
    ``weight``, ``auprc_weighted``; with a finite ``threshold``,
    ``precision_at_threshold, recall_at_threshold`` (and their ``_weighted``
    versions with ``weight``); each with ``_low`` and ``_high`` (the
    percentile interval), plain floats. The same resamples serve every metric.
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "the CRISPRi metrics")
    w = None if weight is None else np.asarray(weight, dtype=np.float64)
    out = {"auprc": float(skm.average_precision_score(y, s)), "auroc": float(skm.roc_auc_score(y, s)),
           "precision_at_recall": precision_at_recall(y, s, recall),
           "auprc_trapezoid": upstream_auprc(y, s)}
    if w is not None:
        out["auprc_weighted"] = upstream_auprc(y, s, w)
    if np.isfinite(threshold):
        out["precision_at_threshold"], out["recall_at_threshold"] = at_threshold(y, s, threshold)
        if w is not None:
            out["precision_at_threshold_weighted"], out["recall_at_threshold_weighted"] = \
                at_threshold(y, s, threshold, w)
    names = list(out)
    for m in names:
        out[f"{m}_low"] = out[f"{m}_high"] = float("nan")
    if n_bootstrap > 0:
        parts = [_resampled(c, y, s, recall, w, threshold)
                 for c in resample_weights(y.size, n_bootstrap, seed, max_cells)]
        q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
        for m in names:
            v = np.concatenate([p[m] for p in parts])
            v = v[np.isfinite(v)]
            if v.size:
                out[f"{m}_low"], out[f"{m}_high"] = (float(x) for x in np.percentile(v, q))
    return out
