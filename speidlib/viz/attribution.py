"""Plotly figure of one pair's attribution tracks, with element bounds and motif hits.

The attributions themselves are computed in :mod:`speidlib.interpret.attribution`.
"""
from __future__ import annotations

import numpy as np

from speidlib.data.encode import BASES
from speidlib.interpret.attribution import Attribution

# --- figure -------------------------------------------------------------------

def attribution_figure(attributions, enhancer_element=None, promoter_element=None,
                       enhancer_hits=None, promoter_hits=None, enhancer_sequence=None,
                       promoter_sequence=None, title: str | None = None):
    """Plotly figure of one pair's attribution: enhancer track above promoter track.

    Parameters
    ----------
    attributions : an :class:`Attribution` or a list of them (one line each)
    enhancer_element, promoter_element : ``(start, end)`` of the element in
        window coordinates (``element start - window start``; clipped to the
        window), shaded; None to leave out
    enhancer_hits, promoter_hits : DataFrame with ``start, end, motif_name``
        (and optionally ``strand``), e.g. from :func:`speidlib.interpret.motif_hits`
        for this window; drawn as boxes with the motif name above
    enhancer_sequence, promoter_sequence : codes (W,) for the hover text
    title : figure title

    Returns
    -------
    plotly.graph_objects.Figure with two rows
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if isinstance(attributions, Attribution):
        attributions = [attributions]
    if not attributions:
        raise ValueError("give at least one Attribution")
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.12,
                        subplot_titles=("enhancer window", "promoter window"))
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    tracks = ((1, "enhancer", enhancer_element, enhancer_hits, enhancer_sequence),
              (2, "promoter", promoter_element, promoter_hits, promoter_sequence))
    for row, branch, element, hits, seq in tracks:
        length = len(getattr(attributions[0], f"{branch}_summary"))
        letters = None
        if seq is not None:
            codes = np.asarray(seq)
            letters = np.array(list(BASES + "N"))[codes.astype(int)] if codes.ndim == 1 else None
        for i, a in enumerate(attributions):
            y = getattr(a, f"{branch}_summary")
            fig.add_trace(go.Scatter(
                x=np.arange(length), y=y, mode="lines", name=f"{a.method} ({a.output})",
                legendgroup=a.method, showlegend=row == 1, line=dict(width=1, color=colours[i % 4]),
                text=letters, hovertemplate="%{x}: %{y:.3g}" + (" %{text}" if letters is not None else "")
                + "<extra>" + a.method + "</extra>"), row=row, col=1)
        axis = "" if row == 1 else "2"
        if element is not None:
            start, end = (min(max(int(v), 0), length) for v in element)   # clipped to the window
            fig.add_vrect(x0=start - 0.5, x1=end - 0.5, fillcolor="#999999", opacity=0.15,
                          line_width=0, row=row, col=1, name=f"{branch} element")
        if hits is not None and len(hits):
            for h in hits.itertuples():
                fig.add_shape(type="rect", xref=f"x{axis}", yref=f"y{axis} domain",
                              x0=h.start - 0.5, x1=h.end - 0.5, y0=0.9, y1=1.0,
                              fillcolor="#ff7f0e", opacity=0.6, line_width=0, name=h.motif_name)
                strand = getattr(h, "strand", "")
                fig.add_annotation(x=(h.start + h.end - 1) / 2, y=1.0, xref=f"x{axis}",
                                   yref=f"y{axis} domain", text=f"{h.motif_name}{strand}",
                                   showarrow=False, yanchor="bottom", font=dict(size=9))
        fig.update_xaxes(title_text=f"position in {branch} window", row=row, col=1)
        fig.update_yaxes(title_text="attribution", row=row, col=1)
    fig.update_layout(title=title, height=560, template="plotly_white")
    return fig


# --- contribution logo ----------------------------------------------------------

def contribution_region(summary, width: int = 80) -> tuple[int, int]:
    """The ``width``-bp stretch of a window centred on its largest summed |contribution|.

    summary : shape=(W,), one value per position. Returns ``(start, end)``, inside the window.
    """
    values = np.abs(np.asarray(summary, np.float64))
    width = min(int(width), len(values))
    sums = np.convolve(values, np.ones(width), mode="valid")
    start = int(np.argmax(sums))
    return start, start + width


def contribution_logo(summary, sequence, start: int, end: int, hits=None, element=None,
                      title: str = "", figsize=(11, 1.9)):
    """A logo of one window stretch whose letters are the window's bases, each as tall as its
    contribution (below the axis when negative), with motif hits and the element marked.

    summary : shape=(W,), per-position contribution (an Attribution's ``<branch>_summary``)
    sequence : shape=(W,), codes (A=0 C=1 G=2 T=3; N draws no letter)
    start, end : the stretch, window coordinates (e.g. :func:`contribution_region`)
    hits : DataFrame with ``start, end, motif_name`` (window coordinates), drawn as orange bands
    element : ``(start, end)`` of the element, a grey band

    Returns matplotlib.figure.Figure
    """
    import logomaker
    import pandas as pd
    from matplotlib.figure import Figure

    codes = np.asarray(sequence)[start:end].astype(int)
    heights = np.zeros((end - start, 4))
    keep = codes < 4
    heights[np.flatnonzero(keep), codes[keep]] = np.asarray(summary, np.float64)[start:end][keep]
    frame = pd.DataFrame(heights, columns=list(BASES), index=np.arange(start, end))
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    if element is not None:
        ax.axvspan(max(element[0], start) - 0.5, min(element[1], end) - 0.5, color="#999999", alpha=0.12)
    for h in ([] if hits is None else hits.itertuples()):
        if h.end > start and h.start < end:
            ax.axvspan(max(h.start, start) - 0.5, min(h.end, end) - 0.5, color="#ff7f0e", alpha=0.25)
            ax.text((max(h.start, start) + min(h.end, end) - 1) / 2, 0.97, str(h.motif_name), ha="center",
                    va="top", fontsize=8, transform=ax.get_xaxis_transform())
    logomaker.Logo(frame, ax=ax, color_scheme="classic", flip_below=False)
    ax.axhline(0, color="#555555", linewidth=0.5)
    ax.set_ylabel("contribution")
    ax.set_xlabel("position in window")
    ax.set_title(title, fontsize=9, loc="left")
    return fig
