"""Plotly figures for evaluation: curves, score distributions, cross-cell heatmaps.

Every function returns a ``plotly.graph_objects.Figure`` (show it, put it in a
``FigureWidget``, or ``write_html`` it). Curves come from scikit-learn, so a
figure's numbers are the same as the metrics in ``RUN/metrics.json``.

Chance lines: on a ROC plot the diagonal from (0, 0) to (1, 1); on a
precision-recall plot the horizontal line at the positive rate of the pairs
shown (a random ranking's expected precision).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn import metrics as skm

from speidlib import checks
from speidlib.evaluate.metrics import METRICS, metrics_by_bin

CHANCE = "chance"
METRIC_LABELS = {"auroc": "AUROC", "aupr": "AUPR", "f1": "F1", "mcc": "MCC",
                 "precision": "Precision", "recall": "Recall"}
_CHANCE_LINE = dict(dash="dash", color="grey")


def _score_sets(y, scores, name: str) -> tuple[np.ndarray, dict]:
    """Labels and a dict name -> checked scores (one array or a mapping of arrays)."""
    sets = dict(scores) if isinstance(scores, Mapping) else {name: scores}
    if not sets:
        raise ValueError("give at least one set of scores")
    checked = {}
    for key, s in sets.items():
        yy, ss = checks.labels_scores(y, s)
        checks.both_classes(yy, f"the curve of {key!r}")
        checked[key] = ss
    return yy, checked


def roc_figure(y, scores, name: str = "score", title: str = "ROC curve") -> go.Figure:
    """ROC curve(s) with the chance diagonal.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    scores : array-like, shape=(n,), or mapping name -> scores (one curve each,
        all on the same pairs)
    name : str, legend name when ``scores`` is one array
    title : str

    Returns
    -------
    Figure: one line per score set (x = false positive rate, y = true positive
    rate, legend ``name (AUROC 0.87)``), then the ``chance`` trace.
    """
    y, sets = _score_sets(y, scores, name)
    fig = go.Figure()
    for key, s in sets.items():
        fpr, tpr, _ = skm.roc_curve(y, s)
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{key} (AUROC {skm.auc(fpr, tpr):.3f})"))
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[0.0, 1.0], mode="lines", name=CHANCE, line=_CHANCE_LINE))
    fig.update_layout(title=title, xaxis_title="False positive rate", yaxis_title="True positive rate",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return fig


def pr_figure(y, scores, name: str = "score", title: str = "Precision-recall curve") -> go.Figure:
    """Precision-recall curve(s) with the chance line at the positive rate.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    scores : array-like, shape=(n,), or mapping name -> scores
    name : str, legend name when ``scores`` is one array
    title : str

    Returns
    -------
    Figure: one step line per score set (x = recall, y = precision, legend
    ``name (AUPR 0.52)``, AUPR as average precision), then the ``chance``
    trace at ``y.mean()`` from recall 0 to 1.
    """
    y, sets = _score_sets(y, scores, name)
    fig = go.Figure()
    for key, s in sets.items():
        precision, recall, _ = skm.precision_recall_curve(y, s)
        ap = skm.average_precision_score(y, s)
        fig.add_trace(go.Scatter(x=recall, y=precision, mode="lines", line_shape="hv",
                                 name=f"{key} (AUPR {ap:.3f})"))
    rate = float(y.mean())
    fig.add_trace(go.Scatter(x=[0.0, 1.0], y=[rate, rate], mode="lines",
                             name=f"{CHANCE} ({rate:.3f})", line=_CHANCE_LINE))
    fig.update_layout(title=title, xaxis_title="Recall", yaxis_title="Precision",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return fig


def score_distribution_figure(y, s, threshold: float | None = None, nbins: int = 50,
                              title: str = "Scores by label") -> go.Figure:
    """Overlaid histograms of the scores of non-interacting and interacting pairs.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores
    threshold : float, optional, drawn as a vertical line
    nbins : int, bins over the score range (shared by both histograms)
    title : str

    Returns
    -------
    Figure: traces ``negative (n=...)`` and ``positive (n=...)``, each
    normalised to a probability density (so the rare positives stay visible).
    """
    y, s = checks.labels_scores(y, s)
    if nbins < 1:
        raise ValueError(f"nbins must be at least 1, got {nbins}")
    lo, hi = float(s.min()), float(s.max())
    size = (hi - lo) / nbins if hi > lo else 1.0
    fig = go.Figure()
    for label, name in ((0, "negative"), (1, "positive")):
        part = s[y == label]
        fig.add_trace(go.Histogram(x=part, name=f"{name} (n={part.size})", opacity=0.6,
                                   histnorm="probability density",
                                   xbins=dict(start=lo, end=hi + size * 1e-9, size=size)))
    fig.update_layout(barmode="overlay", title=title, xaxis_title="Score", yaxis_title="Density")
    if threshold is not None:
        fig.add_vline(x=float(threshold), line=_CHANCE_LINE, annotation_text="threshold")
    return fig


def _default_distance_bins(distance: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(distance, np.linspace(0, 1, n_bins + 1)).round())
    edges[-1] = edges[-1] + 1  # bins are [lo, hi): keep the largest distance
    return edges


def _kb(x: float) -> str:
    return f"{x / 1000:,.0f}"


def metric_by_distance_figure(distance, y, s, threshold: float, bins=None, n_bins: int = 5,
                              metrics=("auroc", "aupr", "f1"),
                              title: str = "Metrics by enhancer-promoter distance") -> go.Figure:
    """Each metric within distance bins.

    Parameters
    ----------
    distance : array-like, shape=(n,), bp between element centres
    y : array-like, shape=(n,), 0/1 labels
    s : array-like, shape=(n,), scores
    threshold : float, the validation-chosen threshold (for F1, MCC, ...)
    bins : bin edges in bp, optional; default ``n_bins`` quantile bins
    metrics : names from :data:`speidlib.evaluate.metrics.METRICS`
    title : str

    Returns
    -------
    Figure: one line per metric, x = bin labels like ``"10-50 kb"``, y = the
    metric in that bin (NaN where the bin lacks a class); the bins' pair
    counts are in ``customdata`` and the hover text. ``fig.layout.meta`` holds
    the table from :func:`speidlib.evaluate.metrics.metrics_by_bin` as records.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {', '.join(METRICS)}")
    distance = np.asarray(distance, dtype=np.float64)
    edges = _default_distance_bins(distance, n_bins) if bins is None else np.asarray(bins, dtype=float)
    table = metrics_by_bin(distance, y, s, threshold, edges)
    labels = [f"{_kb(lo)}-{_kb(hi)} kb" for lo, hi in zip(table["bin_lo"], table["bin_hi"])]
    counts = table[["n", "n_positive"]].to_numpy()
    fig = go.Figure()
    for m in metrics:
        fig.add_trace(go.Scatter(
            x=labels, y=table[m].to_numpy(dtype=float), mode="lines+markers",
            name=METRIC_LABELS[m], customdata=counts,
            hovertemplate="%{x}: %{y:.3f}<br>%{customdata[0]} pairs, %{customdata[1]} positive"
                          "<extra>" + METRIC_LABELS[m] + "</extra>"))
    fig.update_layout(title=title, xaxis_title="Distance between element centres",
                      yaxis_title="Metric", yaxis_range=[0, 1.02],
                      meta={"bins": table.to_dict(orient="records")})
    return fig


def cross_cell_heatmap(matrix_df: pd.DataFrame, title: str = "Cross-cell-line performance",
                       zmin: float | None = None, zmax: float | None = None,
                       value_format: str = ".2f", colorscale: str = "Viridis") -> go.Figure:
    """Heatmap of a train-by-test matrix, each cell annotated with its value.

    Parameters
    ----------
    matrix_df : DataFrame, rows = training cell lines, columns = test cell lines
        (e.g. from :func:`speidlib.evaluate.baselines.cross_cell_matrix` or
        :func:`speidlib.evaluate.paper.paper_table` 4/5)
    title : str
    zmin, zmax : float, optional colour range
    value_format : str, d3 format of the annotations
    colorscale : str

    Returns
    -------
    Figure with one ``Heatmap`` trace: ``z`` the matrix, ``x`` the test and
    ``y`` the training cell lines (first row at the top), ``texttemplate``
    printing each value.
    """
    if not isinstance(matrix_df, pd.DataFrame) or matrix_df.empty:
        raise ValueError("cross_cell_heatmap needs a non-empty DataFrame (train rows x test columns)")
    z = matrix_df.to_numpy(dtype=float)
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in matrix_df.columns], y=[str(i) for i in matrix_df.index],
        zmin=zmin, zmax=zmax, colorscale=colorscale, texttemplate="%{z:" + value_format + "}",
        hovertemplate="train %{y}<br>test %{x}<br>%{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=matrix_df.columns.name or "test",
                      yaxis_title=matrix_df.index.name or "train", yaxis_autorange="reversed")
    return fig


def split_drop_figure(drop_df: pd.DataFrame, metric: str = "auroc",
                      title: str | None = None) -> go.Figure:
    """Bars of how far each model's metric falls from one split to another.

    Parameters
    ----------
    drop_df : DataFrame from :func:`speidlib.evaluate.baselines.split_drop`
        (columns ``cell_line, model, metric, <reference>, <other>, drop``)
    metric : which metric's rows to draw
    title : str, optional

    Returns
    -------
    Figure: one bar trace per model, x = cell lines, y = ``drop``; both
    splits' values are in ``customdata`` and the hover text.
    """
    need = ["cell_line", "model", "metric", "drop"]
    missing = [c for c in need if c not in drop_df.columns]
    if missing:
        raise ValueError(f"split_drop_figure needs column(s) {', '.join(missing)} "
                         "(the output of baselines.split_drop)")
    rows = drop_df[drop_df["metric"] == metric]
    if rows.empty:
        raise ValueError(f"no rows for metric {metric!r}; the table has {sorted(set(drop_df['metric']))}")
    splits = [c for c in drop_df.columns if c not in need]
    fig = go.Figure()
    label = METRIC_LABELS.get(metric, metric)
    for model, part in rows.groupby("model", sort=False):
        hover = "%{x}: drop %{y:.3f}" + "".join(
            f"<br>{sp} %{{customdata[{i}]:.3f}}" for i, sp in enumerate(splits))
        fig.add_trace(go.Bar(x=part["cell_line"].tolist(), y=part["drop"].to_numpy(dtype=float),
                             name=str(model), customdata=part[splits].to_numpy(dtype=float),
                             hovertemplate=hover + f"<extra>{model}</extra>"))
    between = " - ".join(splits) if len(splits) == 2 else "split difference"
    fig.update_layout(barmode="group", title=title or f"{label} drop between splits ({between})",
                      xaxis_title="Cell line", yaxis_title=f"{label} ({between})")
    return fig
