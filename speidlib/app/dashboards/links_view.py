"""The widgets of the links dashboard, bound to a :class:`LinksModel`."""
from __future__ import annotations

import ipywidgets as w

from speidlib import schema
from speidlib.app.dashboards.links import MIME, TABLE_COLUMNS, TOP_COLUMNS, LinksModel
from speidlib.app.dashboards.runs import download_link, html_table
from speidlib.app.dashboards.widgets import DashboardView, figure_output, set_message, show_figure
from speidlib.score.formats import FORMATS

_FORMATS = {schema.SCORE: "{:.4f}", schema.DISTANCE: "{:,.0f}"}


class LinksView(DashboardView):
    """Scored file, region or name, arcs, the links in view, top promoters and downloads.

    Parameters
    ----------
    model : LinksModel
    max_rows : rows of the links in view shown in the table
    max_arcs : links drawn as arcs (the best-scored)
    """

    classes = {"file": "file", "chrom": "chrom", "start": "start", "end": "end", "name": "name",
               "format": "format", "table": "links-table", "top": "top-table", "summary": "summary",
               "figure": "links-figure"}

    def __init__(self, model: LinksModel, max_rows: int = 200, max_arcs: int = 400):
        self.max_arcs = max_arcs
        super().__init__(model, max_rows)

    def _build(self) -> None:
        model = self.model
        self.file = w.Dropdown(options=list(model.files), description="scored file",
                               layout=w.Layout(width="420px"))
        self.locate_message = w.HTML()
        self.chrom = w.Dropdown(options=list(model.chromosome_choices), description="chromosome")
        self.start = w.IntText(description="start", continuous_update=False,
                               layout=w.Layout(width="220px"))
        self.end = w.IntText(description="end", continuous_update=False, layout=w.Layout(width="220px"))
        self.whole = w.Button(description="whole chromosome", layout=w.Layout(width="150px"))
        self.name = w.Text(description="gene or enhancer", placeholder="a name, then Enter",
                           continuous_update=False, style={"description_width": "initial"},
                           layout=w.Layout(width="360px"))
        self.min_score = w.FloatSlider(min=0.0, max=1.0, step=0.01, description="score ≥",
                                       continuous_update=False, readout_format=".2f")
        self.summary, self.table, self.top, self.download = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        self.format = w.ToggleButtons(options=list(FORMATS), description="format")
        self.download_button = w.Button(description="download the view",
                                        layout=w.Layout(width="170px"))
        self.figure = figure_output()

    def _bind(self) -> None:
        m = self.model
        m.observe(self._show_run, names=["run_dir", "error", "files", "file"])
        m.observe(self._show_view, names="view")
        m.observe(lambda c: set_message(self.locate_message, c["new"]), names="locate_error")
        self.file.observe(lambda c: c["new"] and setattr(m, "file", c["new"]), names="value")
        self.chrom.observe(lambda c: c["new"] and c["new"] != m.chrom and setattr(m, "chrom", c["new"]),
                           names="value")
        self.start.observe(lambda c: self._region(start=c["new"]), names="value")
        self.end.observe(lambda c: self._region(end=c["new"]), names="value")
        self.whole.on_click(lambda _: m.chrom and m.set_region(m.chrom))
        self.name.observe(lambda c: c["new"].strip() and m.locate(c["new"]), names="value")
        w.link((m, "min_score"), (self.min_score, "value"))
        self.download_button.on_click(lambda _: self._offer(self.format.value))

    def _header(self):
        return w.HBox([self.run, self.file])

    def _body(self) -> list:
        region = w.VBox([w.HBox([self.chrom, self.start, self.end, self.whole]),
                         w.HBox([self.name, self.min_score]), self.locate_message])
        downloads = w.HBox([self.format, self.download_button, self.download])
        return [w.HTML("<h3>Region, or a gene or enhancer</h3>"), region, self.summary, self.figure,
                w.HTML("<h3>Links in view (best score first; ranks over the whole file)</h3>"),
                downloads, self.table,
                w.HTML("<h3>Each enhancer in view and its top promoter (over the whole file)</h3>"),
                self.top]

    def _show_state(self) -> None:
        self._show_view()

    # model -> widgets
    def _show_run(self, change=None) -> None:
        m = self.model
        super()._show_run()
        if list(self.file.options) != list(m.files):
            self.file.options = list(m.files)
        if m.file in m.files and self.file.value != m.file:
            self.file.value = m.file

    def _show_view(self, change=None) -> None:
        m, view = self.model, self.model.view
        if list(self.chrom.options) != list(m.chromosome_choices):
            self.chrom.options = list(m.chromosome_choices)
        if m.chrom in m.chromosome_choices and self.chrom.value != m.chrom:
            self.chrom.value = m.chrom
        self._quiet_set(self.start, m.start)
        self._quiet_set(self.end, m.end)
        shown = view.head(self.max_rows)
        total = 0 if m.links is None else len(m.links)
        of = f" of <b>{m.element}</b>" if m.element else ""
        self.summary.value = (
            f'<b class="speid-count">{len(view)}</b> of {total:,} links in view{of} '
            f"({m.chrom}:{m.start:,}-{m.end:,}, score ≥ {m.min_score:g}); "
            f"table: the first {len(shown)}")
        self.table.value = html_table(shown, TABLE_COLUMNS, _FORMATS, max_height=360)
        self.top.value = html_table(m.top, TOP_COLUMNS, _FORMATS, max_height=300)
        self.download.value = ""
        if m.links is not None and m.chrom:
            show_figure(self.figure, m.figure(self.max_arcs), width=1250, height=480)

    def _quiet_set(self, widget, value) -> None:
        self._setting = True
        try:
            widget.value = value
        finally:
            self._setting = False

    # widgets -> model
    def _region(self, start=None, end=None) -> None:
        m = self.model
        if getattr(self, "_setting", False) or m.links is None or not m.chrom:
            return
        start, end = m.start if start is None else start, m.end if end is None else end
        try:
            m.set_region(m.chrom, start, end)
            m.locate_error = ""
        except ValueError as e:
            m.locate_error = str(e)

    def _offer(self, fmt: str) -> None:
        m = self.model
        name = m.export_name(fmt)
        self.download.value = download_link(m.view_text(fmt), name, MIME[fmt],
                                            f"download {name} ({len(m.view)} links)")
