"""Widget pieces both dashboards share: the run picker, message boxes, figure swaps."""
from __future__ import annotations

import json

import ipywidgets as w

from speidlib.app.dashboards.runs import message_html


def run_picker(model) -> w.Dropdown:
    """A dropdown of the run directories under ``model.root``, bound to ``model.run``."""
    picker = w.Dropdown(options=list(model.runs), description="run",
                        layout=w.Layout(width="420px"))
    if model.run in model.runs:
        picker.value = model.run
    else:
        picker.value = None
    model.observe(lambda c: setattr(picker, "options", list(c["new"])), names="runs")
    picker.observe(lambda c: c["new"] is not None and setattr(model, "run", c["new"]), names="value")
    picker.add_class("speid-run-picker")
    return picker


def set_message(widget: w.HTML, text: str, kind: str = "error") -> None:
    """Show ``text`` in ``widget`` as a message box (or nothing when ``text`` is empty)."""
    widget.value = message_html(text, kind) if text else ""


def show(widget, visible: bool) -> None:
    """Show or hide a widget (it keeps its state while hidden)."""
    widget.layout.display = None if visible else "none"


PLOTLY_MIME = "application/vnd.plotly.v1+json"


def figure_output(fig=None, **layout) -> w.Output:
    """An ``Output`` widget showing plotly figure ``fig`` (see :func:`show_figure`)."""
    out = w.Output(layout=w.Layout(min_height="40px"))
    if fig is not None:
        show_figure(out, fig, **layout)
    return out


def show_figure(out: w.Output, fig, **layout) -> None:
    """Replace what ``out`` shows with plotly figure ``fig`` (drawn by plotly's mime renderer).

    Not a ``FigureWidget``: each of those makes the browser import plotly.js
    (about 5 MB) again, within anywidget's 2-second limit, which a busy
    machine misses (the figure then stays blank). The mime renderer loads
    plotly.js once per page, and each figure arrives whole.
    """
    if layout:
        fig.update_layout(**layout)
    spec = json.loads(fig.to_json())
    spec["config"] = {"displaylogo": False}
    title = fig.layout.title.text or "figure"
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {PLOTLY_MIME: spec, "text/plain": f"<plotly figure: {title}>"}},)


def set_range_bounds(slider, lo, hi) -> None:
    """Set a range slider's ``min``/``max`` in an order its validators accept."""
    if lo > slider.max:
        slider.max, slider.min = hi, lo
    else:
        slider.min, slider.max = lo, hi
