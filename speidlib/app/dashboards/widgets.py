"""Widget pieces the dashboards share: the view base class, run picker, message boxes, figure swaps."""
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


class DashboardView:
    """Base of the dashboard views: a run picker, a message box and a body bound to one model.

    A subclass builds its own widgets in :meth:`_build`, binds them to the model in
    :meth:`_bind`, lists the body's widgets in :meth:`_body` and draws everything the
    model holds in :meth:`_show_state`; this ``__init__`` calls them in that order and
    lays the page out as header (:meth:`_header`, the run picker), message, body.
    While the model has an ``error`` the message shows it and the body is hidden.

    Parameters
    ----------
    model : a dashboard model (traitlets: ``runs``, ``run``, ``run_dir``, ``error``)
    max_rows : rows of the model's selection shown in the view's table
    """

    classes: dict = {}     # attribute name -> CSS class suffix (``speid-<suffix>``), for browser tests

    def __init__(self, model, max_rows: int):
        self.model, self.max_rows = model, max_rows
        self.run = run_picker(model)
        self.message = w.HTML()
        self._build()
        for attr, name in self.classes.items():
            getattr(self, attr).add_class(f"speid-{name}")
        self._bind()
        self.body = w.VBox(self._body())
        self.widget = w.VBox([self._header(), self.message, self.body])
        self._show_run()
        self._show_state()

    def _build(self) -> None:
        """Create the view's widgets (as attributes)."""
        raise NotImplementedError

    def _bind(self) -> None:
        """Link the widgets to the model's traits, both ways where the user can change them."""
        raise NotImplementedError

    def _body(self) -> list:
        """The widgets below the header and the message, top to bottom."""
        raise NotImplementedError

    def _show_state(self) -> None:
        """Draw what the model holds now (called once the page is laid out)."""
        raise NotImplementedError

    def _header(self):
        return self.run

    def _show_run(self, change=None) -> None:
        """The model's run changed: show its error (hiding the body) or the body."""
        set_message(self.message, self.model.error)
        show(self.body, not self.model.error)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
