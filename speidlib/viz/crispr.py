"""Plotly figures of the CRISPRi enhancer-gene benchmark, and writing them.

:func:`crispr_pr_figure` draws the precision-recall curves of every
predictor on the same pairs, marks each one's precision at 70% recall, its
point at the threshold fixed on the K562 training table, the chance line (the
share of regulated pairs) and, as legend entries, the published predictors
that were not run here (weighted AUPRC). :func:`write_crispr_figures`
writes one figure per cell type of an ``speid crispr`` output folder as HTML,
and as PNG where plotly's image export (kaleido, with a Chrome or Chromium)
works.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from sklearn import metrics as skm

from speidlib import checks
from speidlib import schema as S
from speidlib.evaluate.crispr import RECALL_LEVEL, predictor_scores
from speidlib.evaluate.crispr_metrics import at_threshold, precision_at_recall, upstream_auprc
from speidlib.io import atomic_path, atomic_write_text

_CHANCE_LINE = dict(dash="dash", color="grey")


def crispr_pr_figure(y, scores: dict, recall: float = RECALL_LEVEL,
                     title: str = "CRISPRi benchmark: precision-recall", weight=None,
                     thresholds: dict | None = None, reported: dict | None = None) -> go.Figure:
    """Precision-recall curves of several predictors on the same pairs.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 (1 = regulated)
    scores : predictor name -> array-like, shape=(n,)
    recall : the recall level whose precision is marked
    title : str
    weight : None, or shape=(n,) case weights: the legend adds each
        predictor's weighted (trapezoidal) AUPRC
    thresholds : predictor name -> score threshold fixed elsewhere (the K562
        training table): a diamond at the (recall, precision) of its calls here
    reported : name -> weighted AUPRC of published predictors not run here:
        legend entries only (they have no curve on these pairs)

    Returns
    -------
    Figure: per predictor a step line (x = recall, y = precision, legend
    ``name (AUPRC 0.41, weighted 0.45, precision at 70% recall 0.31)``), a
    marker at that precision and a diamond at the fixed threshold; then the
    reported entries, the ``chance`` line at the regulated share and a dotted
    vertical line at the recall level.
    """
    fig = go.Figure()
    thresholds = thresholds or {}
    for i, (name, s) in enumerate(scores.items()):
        color = qualitative.Plotly[i % len(qualitative.Plotly)]
        yy, ss = checks.labels_scores(y, s)
        checks.both_classes(yy, f"the curve of {name!r}")
        precision, rec, _ = skm.precision_recall_curve(yy, ss)
        ap, at = skm.average_precision_score(yy, ss), precision_at_recall(yy, ss, recall)
        weighted = "" if weight is None else f", weighted {upstream_auprc(yy, ss, weight):.3f}"
        fig.add_trace(go.Scatter(x=rec, y=precision, mode="lines", line_shape="hv",
                                 name=f"{name} (AUPRC {ap:.3f}{weighted}, precision at "
                                 f"{recall:.0%} recall {at:.3f})", legendgroup=name,
                                 line=dict(color=color)))
        fig.add_trace(go.Scatter(x=[recall], y=[at], mode="markers", marker=dict(size=10, color=color),
                                 showlegend=False, legendgroup=name, name=f"{name} at {recall:.0%} recall"))
        t = thresholds.get(name)
        if t is not None and np.isfinite(t):
            p_t, r_t = at_threshold(yy, ss, t)
            if np.isfinite(p_t):
                fig.add_trace(go.Scatter(x=[r_t], y=[p_t], mode="markers", legendgroup=name,
                                         marker=dict(size=12, color=color, symbol="diamond-open",
                                                     line=dict(width=2)),
                                         name=f"{name} at the K562-fixed threshold (precision {p_t:.3f})"))
    for name, value in (reported or {}).items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(dash="dashdot", color="black"),
                                 name=f"{name}: weighted AUPRC {value:.3f} (reported, not run or verified here)"))
    rate = float(np.mean(y))
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[rate, rate], mode="lines", name=f"chance ({rate:.3f})",
                             line=_CHANCE_LINE))
    fig.add_vline(x=recall, line=dict(dash="dot", color="grey"))
    fig.update_layout(title=title, xaxis_title="Recall", yaxis_title="Precision",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], legend=dict(x=0.3, y=0.98))
    return fig


def crispr_figures(predictions: pd.DataFrame, recall: float = RECALL_LEVEL, label: str = "",
                   metrics: pd.DataFrame | None = None) -> dict:
    """One PR figure for all pairs, and one per cell type when there are several.

    Parameters
    ----------
    predictions : ``DIR/predictions.tsv`` of ``speid crispr`` (``regulated``,
        ``cell_type``, ``weight`` and the ``score_<predictor>`` columns)
    label : benchmark name for the titles
    metrics : ``DIR/metrics.csv``: each predictor's fixed threshold, and the
        reported rows (on the all-pairs figure)

    Returns
    -------
    dict ``"all"`` or cell type -> Figure (cell types lacking a class are left out)
    """
    y = predictions[S.CRISPR_REGULATED].to_numpy().astype(np.int8)
    scores = predictor_scores(predictions)
    w = predictions[S.CRISPR_WEIGHT].to_numpy(dtype=np.float64) if S.CRISPR_WEIGHT in predictions else None
    if w is not None and not np.isfinite(w).all():
        w = None
    thresholds, reported = {}, {}
    if metrics is not None:
        pooled = metrics[(metrics["cell_type"] == S.ALL) & (metrics["dataset"] == S.ALL)]
        measured = pooled[pooled["source"] == S.CRISPR_MEASURED]
        thresholds = dict(zip(measured["predictor"], measured["threshold"].astype(float)))
        rep = pooled[pooled["source"] == S.CRISPR_REPORTED]
        reported = dict(zip(rep["predictor"], rep["auprc_weighted"].astype(float)))
    cells = predictions[S.CRISPR_CELL_TYPE].to_numpy()
    groups = {S.ALL: np.ones(len(y), dtype=bool)}
    if len(np.unique(cells)) > 1:
        groups.update({c: cells == c for c in sorted(np.unique(cells))})
    out = {}
    for name, mask in groups.items():
        if 0 < y[mask].sum() < mask.sum():
            title = f"{label + ': ' if label else ''}{name if name != S.ALL else 'all pairs'} " \
                    f"({mask.sum():,} pairs, {y[mask].sum():,} regulated)"
            out[name] = crispr_pr_figure(y[mask], {k: v[mask] for k, v in scores.items()}, recall, title,
                                         weight=None if w is None else w[mask], thresholds=thresholds,
                                         reported=reported if name == S.ALL else None)
    return out


def write_crispr_figures(out_dir, recall: float = RECALL_LEVEL, label: str = "",
                         png: bool = True) -> tuple[list[Path], str | None]:
    """Write ``DIR/pr_<cell type>.html`` (and ``.png``) from ``DIR/predictions.tsv``.

    Returns
    -------
    paths : the files written
    png_error : why no PNG was written (plotly's image export failed), else None
    """
    out_dir = Path(out_dir)
    predictions = pd.read_csv(out_dir / S.CRISPR_PREDICTIONS_FILE, sep="\t")
    metrics_path = out_dir / S.CRISPR_METRICS_FILE
    metrics = pd.read_csv(metrics_path) if metrics_path.is_file() else None
    written, png_error = [], None
    for name, fig in crispr_figures(predictions, recall, label, metrics).items():
        stem = out_dir / f"pr_{name}"
        atomic_write_text(stem.with_suffix(".html"), fig.to_html(include_plotlyjs=True))
        written.append(stem.with_suffix(".html"))
        if png and png_error is None:
            try:
                image = fig.to_image(format="png", width=900, height=600)
            except Exception as e:  # kaleido missing, or no Chrome/Chromium to render with
                png_error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                continue
            with atomic_path(stem.with_suffix(".png")) as tmp:
                Path(tmp).write_bytes(image)
            written.append(stem.with_suffix(".png"))
    return written, png_error
