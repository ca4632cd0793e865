"""Figures of scored enhancer-promoter links (the tables of :mod:`speidlib.score.formats`).

:func:`links_figure` draws a locus: the elements on a track and one arc per
link, from the enhancer's centre to the promoter's, as high as it is long and
coloured by score. :func:`score_by_distance_figure` shows how scores fall with
distance. Both take a links table (:data:`speidlib.score.formats.LINK_COLUMNS`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from speidlib import schema
from speidlib.data.regions import element_centres
from speidlib.score.formats import ENHANCER_RANK, PROMOTER_RANK

COLORSCALE = "Viridis"
ENHANCER_COLOUR, PROMOTER_COLOUR = "#e6550d", "#3182bd"
_ARC_POINTS = 25
_COLOUR_BINS = 10


def arc_paths(x0: np.ndarray, x1: np.ndarray, n_points: int = _ARC_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Parabolic arcs from ``x0`` to ``x1``, each as high as half its span, for one plotly trace.

    Returns
    -------
    x, y : shape=(n_arcs * (n_points + 1),), float; arcs separated by NaN (a break in the line)
    """
    x0, x1 = np.asarray(x0, dtype=np.float64), np.asarray(x1, dtype=np.float64)
    t = np.linspace(0.0, 1.0, n_points)
    x = x0[:, None] + t[None, :] * (x1 - x0)[:, None]
    y = 2.0 * np.abs(x1 - x0)[:, None] * t[None, :] * (1.0 - t[None, :])   # peak |x1 - x0| / 2
    gap = np.full((len(x0), 1), np.nan)
    return np.hstack([x, gap]).ravel(), np.hstack([y, gap]).ravel()


def _element_track(links: pd.DataFrame, kind: str, y: float) -> go.Scatter:
    """The elements of one kind as markers at their centres on the line ``y`` (below the arcs)."""
    name, start, end = (f"{kind}_name", f"{kind}_start", f"{kind}_end")
    el = links[[name, start, end]].drop_duplicates(name)
    s, e = el[start].to_numpy(np.int64), el[end].to_numpy(np.int64)
    hover = [f"{kind} {n}<br>{a:,}-{b:,}" for n, a, b in zip(el[name], s, e)]
    return go.Scatter(x=element_centres(s, e), y=np.full(len(el), y), mode="markers",
                      marker={"size": 9, "symbol": "square" if kind == "enhancer" else "triangle-up",
                                  "color": ENHANCER_COLOUR if kind == "enhancer" else PROMOTER_COLOUR},
                      name=f"{kind}s ({len(el)})", hoverinfo="text", text=hover)


def links_figure(links: pd.DataFrame, chrom: str | None = None, start: float | None = None,
                 end: float | None = None, title: str | None = None, max_arcs: int = 400) -> go.Figure:
    """Arcs between enhancers and promoters, coloured by score, over an element track.

    Parameters
    ----------
    links : links table (one chromosome), any order
    chrom, start, end : the region shown (x range); None: the span of ``links``
    title : figure title (default: the region and the number of links)
    max_arcs : draw only the best-scored ``max_arcs`` links (all elements are drawn)

    Returns
    -------
    plotly Figure: one trace per track, one per score decile of arcs, and one
    of arc tops (hover: names, score, ranks, distance) carrying the colour bar.
    """
    fig = go.Figure()
    if len(links) == 0:
        fig.update_layout(title=title or "no links in view", xaxis_visible=False, yaxis_visible=False)
        return fig
    chrom = chrom or str(links[schema.CHROM].iat[0])
    drawn = links.sort_values(schema.SCORE, ascending=False, kind="stable").head(max_arcs)
    drawn = drawn.iloc[::-1]                                   # best last: drawn on top
    ce = element_centres(drawn[schema.ENHANCER_START].to_numpy(), drawn[schema.ENHANCER_END].to_numpy())
    cp = element_centres(drawn[schema.PROMOTER_START].to_numpy(), drawn[schema.PROMOTER_END].to_numpy())
    score = drawn[schema.SCORE].to_numpy(np.float64)
    bins = np.clip((score * _COLOUR_BINS).astype(int), 0, _COLOUR_BINS - 1)
    colours = sample_colorscale(COLORSCALE, list((np.arange(_COLOUR_BINS) + 0.5) / _COLOUR_BINS))
    for b in np.unique(bins):
        x, y = arc_paths(ce[bins == b], cp[bins == b])
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line={"color": colours[b], "width": 1.5},
                                 hoverinfo="skip", showlegend=False, connectgaps=False))
    hover = [f"{e} ~ {p}<br>score {s:.3f}<br>rank {re} of the enhancer's, {rp} of the promoter's"
             f"<br>{d:,.0f} bp" for e, p, s, re, rp, d in zip(
                 drawn[schema.ENHANCER_NAME], drawn[schema.PROMOTER_NAME], score,
                 drawn[ENHANCER_RANK], drawn[PROMOTER_RANK], drawn[schema.DISTANCE])]
    fig.add_trace(go.Scatter(
        x=(ce + cp) / 2, y=np.abs(cp - ce) / 2, mode="markers", name="links", hoverinfo="text",
        text=hover, showlegend=False,
        marker={"size": 5, "color": score, "colorscale": COLORSCALE, "cmin": 0, "cmax": 1,
                    "colorbar": {"title": "score", "thickness": 12}}))
    top = float(np.abs(cp - ce).max()) / 2 or 1.0
    fig.add_trace(_element_track(links, "enhancer", -0.04 * top))
    fig.add_trace(_element_track(links, "promoter", -0.04 * top))
    lo = float(links[[schema.ENHANCER_START, schema.PROMOTER_START]].min().min()) if start is None else start
    hi = float(links[[schema.ENHANCER_END, schema.PROMOTER_END]].max().max()) if end is None else end
    shown = f"{len(drawn)} best-scored of {len(links)}" if len(drawn) < len(links) else f"{len(links)}"
    fig.update_layout(
        title={"text": title or f"{chrom}:{lo:,.0f}-{hi:,.0f}: {shown} links", "font": {"size": 13}},
        xaxis={"title": f"{chrom} (bp)", "range": [lo, hi], "showgrid": False},
        yaxis={"visible": False, "range": [-0.1 * top, 1.08 * top]}, plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.25}, margin={"t": 50, "b": 40})
    return fig


def score_by_distance_figure(links: pd.DataFrame, n_bins: int = 8,
                             title: str = "Scores by distance between centres") -> go.Figure:
    """Box plots of the scores in distance bins of equal counts (quantiles of the distance).

    Parameters
    ----------
    links : links table (any number of chromosomes)
    n_bins : number of distance bins (fewer when distances repeat)
    """
    d = links[schema.DISTANCE].to_numpy(np.float64)
    codes, edges = pd.qcut(d, n_bins, retbins=True, labels=False, duplicates="drop")
    fig = go.Figure()
    for i in range(len(edges) - 1):
        s = links[schema.SCORE].to_numpy()[codes == i]
        fig.add_trace(go.Box(y=s, name=f"{edges[i] / 1e3:,.0f}-{edges[i + 1] / 1e3:,.0f} kb",
                             boxpoints=False, marker_color="#3182bd", showlegend=False))
    fig.update_layout(title=title, xaxis_title=f"distance (kb; {len(edges) - 1} bins of equal counts)",
                      yaxis_title="score", yaxis_range=[0, 1])
    return fig
