"""Plotly heat map of one pair's in-silico mutagenesis map: position x base over both windows.

The map comes from :class:`speidlib.interpret.ism.FastISM` (or
:func:`speidlib.interpret.attribution.ism`): ``scores[i, b]`` is the change of
the output when position ``i`` becomes base ``b`` (0 at the reference base).
"""
from __future__ import annotations

import numpy as np

from speidlib.data.encode import BASES
from speidlib.interpret.attribution import Attribution


def ism_heatmap(attribution: Attribution, enhancer_start: int | None = None, promoter_start: int | None = None,
                enhancer_sites=(), promoter_sites=(), title: str | None = None):
    """Two heat maps (enhancer window above promoter window), base rows A, C, G, T.

    Parameters
    ----------
    attribution : the pair's ISM map, ``enhancer`` shape=(We, 4), ``promoter`` shape=(Wp, 4)
    enhancer_start, promoter_start : 1-based genome position of each window's first base, for
        the hover text and the x axis (None: window offsets from 0)
    enhancer_sites, promoter_sites : ``(start, end)`` spans in window offsets (e.g. planted
        motif copies, variants) drawn as boxes above the map
    title : figure title

    Returns
    -------
    plotly.graph_objects.Figure; the colour scale is symmetric around 0 (blue: the base
    lowers the output, red: raises it), shared by both windows
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    windows = {"enhancer": (attribution.enhancer, enhancer_start, enhancer_sites),
               "promoter": (attribution.promoter, promoter_start, promoter_sites)}
    bound = max(float(np.abs(attribution.enhancer).max()), float(np.abs(attribution.promoter).max()), 1e-12)
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.14,
                        subplot_titles=[f"{b} window" for b in windows])
    for row, (branch, (scores, start, sites)) in enumerate(windows.items(), 1):
        x = np.arange(len(scores)) + (start if start is not None else 0)
        fig.add_trace(go.Heatmap(
            z=np.asarray(scores).T, x=x, y=list(BASES), zmin=-bound, zmax=bound, zmid=0,
            colorscale="RdBu_r", showscale=row == 1, name=branch,
            colorbar={"title": {"text": f"change ({attribution.output})"}},
            hovertemplate="%{x} → %{y}: %{z:.4f}<extra>" + branch + "</extra>"), row=row, col=1)
        offset = start if start is not None else 0
        for s, e in sites:
            fig.add_shape(type="rect", x0=offset + s - 0.5, x1=offset + e - 0.5, y0=3.55, y1=3.85,
                          fillcolor="black", line_width=0, row=row, col=1)
        fig.update_xaxes(title_text="genome position" if start is not None else "window offset", row=row, col=1)
    fig.update_layout(height=420, margin={"t": 60, "b": 40, "l": 50, "r": 20},
                      title=title or f"in-silico mutagenesis (reference {attribution.output} "
                                     f"{attribution.reference:.3f})")
    return fig
