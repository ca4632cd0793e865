"""Plotly figures of the CRISPRi enhancer-gene benchmark, and writing them.

:func:`crispr_pr_figure` draws the precision-recall curves of every
predictor on the same pairs, marks each one's precision at 70% recall and the
chance line (the share of regulated pairs). :func:`write_crispr_figures`
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
from speidlib.evaluate.crispr import RECALL_LEVEL, precision_at_recall, predictor_scores
from speidlib.io import atomic_path, atomic_write_text

_CHANCE_LINE = dict(dash="dash", color="grey")


def crispr_pr_figure(y, scores: dict, recall: float = RECALL_LEVEL,
                     title: str = "CRISPRi benchmark: precision-recall") -> go.Figure:
    """Precision-recall curves of several predictors on the same pairs.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 (1 = regulated)
    scores : predictor name -> array-like, shape=(n,)
    recall : the recall level whose precision is marked
    title : str

    Returns
    -------
    Figure: per predictor a step line (x = recall, y = precision, legend
    ``name (AUPRC 0.41, precision at 70% recall 0.31)``) and a marker at that
    precision; then the ``chance`` line at the regulated share and a dotted
    vertical line at the recall level.
    """
    fig = go.Figure()
    for i, (name, s) in enumerate(scores.items()):
        color = qualitative.Plotly[i % len(qualitative.Plotly)]
        yy, ss = checks.labels_scores(y, s)
        checks.both_classes(yy, f"the curve of {name!r}")
        precision, rec, _ = skm.precision_recall_curve(yy, ss)
        ap, at = skm.average_precision_score(yy, ss), precision_at_recall(yy, ss, recall)
        fig.add_trace(go.Scatter(x=rec, y=precision, mode="lines", line_shape="hv",
                                 name=f"{name} (AUPRC {ap:.3f}, precision at "
                                 f"{recall:.0%} recall {at:.3f})", legendgroup=name,
                                 line=dict(color=color)))
        fig.add_trace(go.Scatter(x=[recall], y=[at], mode="markers", marker=dict(size=10, color=color),
                                 showlegend=False, legendgroup=name, name=f"{name} at {recall:.0%} recall"))
    rate = float(np.mean(y))
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[rate, rate], mode="lines", name=f"chance ({rate:.3f})",
                             line=_CHANCE_LINE))
    fig.add_vline(x=recall, line=dict(dash="dot", color="grey"))
    fig.update_layout(title=title, xaxis_title="Recall", yaxis_title="Precision",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], legend=dict(x=0.3, y=0.98))
    return fig


def crispr_figures(predictions: pd.DataFrame, recall: float = RECALL_LEVEL, label: str = "") -> dict:
    """One PR figure for all pairs, and one per cell type when there are several.

    Parameters
    ----------
    predictions : ``DIR/predictions.tsv`` of ``speid crispr`` (``regulated``,
        ``cell_type`` and the ``score_<predictor>`` columns)
    label : benchmark name for the titles

    Returns
    -------
    dict ``"all"`` or cell type -> Figure (cell types lacking a class are left out)
    """
    y = predictions[S.CRISPR_REGULATED].to_numpy().astype(np.int8)
    scores = predictor_scores(predictions)
    cells = predictions[S.CRISPR_CELL_TYPE].to_numpy()
    groups = {S.ALL: np.ones(len(y), dtype=bool)}
    if len(np.unique(cells)) > 1:
        groups.update({c: cells == c for c in sorted(np.unique(cells))})
    out = {}
    for name, mask in groups.items():
        if 0 < y[mask].sum() < mask.sum():
            title = f"{label + ': ' if label else ''}{name if name != S.ALL else 'all pairs'} " \
                    f"({mask.sum():,} pairs, {y[mask].sum():,} regulated)"
            out[name] = crispr_pr_figure(y[mask], {k: v[mask] for k, v in scores.items()}, recall, title)
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
    written, png_error = [], None
    for name, fig in crispr_figures(predictions, recall, label).items():
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
