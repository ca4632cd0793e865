"""The widgets of the predictions dashboard, bound to a :class:`PredictionsModel`."""
from __future__ import annotations

import html

import ipywidgets as w

from speidlib import schema
from speidlib.app.dashboards.predictions import (
    LABEL_CHOICES,
    SORT_COLUMNS,
    TABLE_COLUMNS,
    PredictionsModel,
)
from speidlib.app.dashboards.runs import download_link, html_table
from speidlib.app.dashboards.widgets import (
    DashboardView,
    figure_output,
    set_message,
    set_range_bounds,
    show,
    show_figure,
)

_FORMATS = {schema.SCORE: "{:.4f}", schema.DISTANCE: "{:,.0f}", schema.LABEL: "{:.0f}"}
_NO_PAIR = ("(pick a pair to open it)", -1)


class PredictionsView(DashboardView):
    """Filters, table, curves, one pair's detail and downloads over a :class:`PredictionsModel`.

    Parameters
    ----------
    model : PredictionsModel
    max_rows : rows of the sorted selection shown in the table and offered to open
    """

    classes = {"chromosomes": "chromosome", "label": "label", "sort_by": "sort-by",
               "ascending": "order", "table": "pairs-table", "summary": "summary",
               "detail_info": "detail", "detail_figure": "detail-figure", "roc": "roc", "pr": "pr",
               "pair": "pair", "logo_box": "contribution-logos", "ism_box": "ism-map",
               "vcf_table": "variant-effects"}

    def __init__(self, model: PredictionsModel, max_rows: int = 100):
        super().__init__(model, max_rows)

    def _build(self) -> None:
        self._filters()
        self.summary, self.table, self.download = w.HTML(), w.HTML(), w.HTML()
        self.csv_button = w.Button(description="selection as CSV", layout=w.Layout(width="170px"))
        self.bedpe_button = w.Button(description="selection as BEDPE", layout=w.Layout(width="170px"))
        self.roc, self.pr = figure_output(), figure_output()
        self.pair = w.Dropdown(options=[_NO_PAIR], value=-1, description="pair",
                               layout=w.Layout(width="720px"))
        self.method = w.ToggleButtons(options=[("gradient × input", "gradient_x_input"),
                                               ("in-silico mutagenesis", "ism"),
                                               ("integrated gradients (slower)", "integrated_gradients")],
                                      description="attribution")
        self.detail_message, self.detail_info = w.HTML(), w.HTML()
        self.detail_figure = figure_output()
        show(self.detail_figure, False)
        self.logos = {b: w.Image(format="png", layout=w.Layout(max_width="1000px")) for b in schema.BRANCHES}
        self.logo_box = w.VBox(list(self.logos.values()))
        show(self.logo_box, False)
        self.ism_figure, self.ism_download = figure_output(), w.HTML()
        self.ism_box = w.VBox([self.ism_figure, self.ism_download])
        show(self.ism_box, False)
        self.vcf_path = w.Text(description="VCF", placeholder="path of a VCF/BCF (plain or bgzipped)",
                               layout=w.Layout(width="520px"))
        self.vcf_button = w.Button(description="score the variants", layout=w.Layout(width="170px"))
        self.vcf_message, self.vcf_table, self.vcf_download = w.HTML(), w.HTML(), w.HTML()

    def _filters(self) -> None:
        m = self.model
        self.chromosomes = w.SelectMultiple(options=list(m.chromosome_choices), rows=6,
                                            description="chromosome",
                                            style={"description_width": "initial"})
        self.label = w.ToggleButtons(options=list(LABEL_CHOICES), description="label")
        self.score = w.FloatRangeSlider(min=0.0, max=1.0, step=0.01, value=(0.0, 1.0),
                                        description="score", continuous_update=False,
                                        readout_format=".2f")
        self.distance = w.IntRangeSlider(description="distance (bp)", continuous_update=False,
                                         style={"description_width": "90px"},
                                         layout=w.Layout(width="520px"))
        self.sort_by = w.Dropdown(options=list(SORT_COLUMNS), description="sort by")
        self.ascending = w.ToggleButtons(options=[("descending", False), ("ascending", True)])

    def _bind(self) -> None:
        m = self.model
        m.observe(self._show_run, names=["run_dir", "error"])
        m.observe(self._show_bounds, names=["chromosome_choices", "distance_bounds"])
        self._show_bounds()
        self.method.observe(self._computing, names="value")     # before the link: message first
        for widget, trait in ((self.chromosomes, "chromosomes"), (self.label, "label"),
                              (self.score, "score_range"), (self.sort_by, "sort_by"),
                              (self.ascending, "ascending"), (self.method, "method")):
            w.link((m, trait), (widget, "value"))
        w.dlink((m, "distance_range"), (self.distance, "value"), transform=_int_range)
        self.distance.observe(lambda c: setattr(m, "distance_range", tuple(map(float, c["new"]))),
                              names="value")
        m.observe(self._show_selection, names="selection")
        m.observe(self._show_detail, names=["detail", "detail_error"])
        self.pair.observe(self._open_pair, names="value")
        self.csv_button.on_click(lambda _: self._offer("csv", m.selection_csv(), "text/csv"))
        self.bedpe_button.on_click(
            lambda _: self._offer("bedpe", m.selection_bedpe(), "text/tab-separated-values"))
        self.vcf_button.on_click(lambda _: self._score_vcf())
        m.observe(self._show_variants, names=["variant_effects", "variant_error"])

    def _body(self) -> list:
        filters = w.VBox([w.HBox([self.chromosomes, w.VBox([self.label, self.score, self.distance])]),
                          w.HBox([self.sort_by, self.ascending])])
        downloads = w.HBox([self.csv_button, self.bedpe_button, self.download])
        curves = w.HBox([self.roc, self.pr], layout=w.Layout(width="100%"))
        return [w.HTML("<h3>Filter and sort the scored test pairs</h3>"), filters, self.summary,
                downloads, self.table, w.HTML("<h3>Curves of the selection</h3>"), curves,
                w.HTML("<h3>One pair: attribution, elements, motif hits</h3>"), self.pair, self.method,
                self.detail_message, self.detail_info, self.detail_figure, self.ism_box, self.logo_box,
                w.HTML("<h3>What would a variant do? A VCF against these pairs</h3>"),
                w.HBox([self.vcf_path, self.vcf_button]), self.vcf_message, self.vcf_download, self.vcf_table]

    def _show_state(self) -> None:
        self._show_selection()

    # model -> widgets
    def _show_run(self, change=None) -> None:
        super()._show_run()
        if self.model.error:
            self.pair.options, self.download.value = [_NO_PAIR], ""

    def _show_bounds(self, change=None) -> None:
        m = self.model
        if list(self.chromosomes.options) != list(m.chromosome_choices):
            self.chromosomes.value = ()    # cleared first: the browser drops an index past the options
            self.chromosomes.options = list(m.chromosome_choices)
        lo, hi = (int(v) for v in m.distance_bounds)
        set_range_bounds(self.distance, lo, hi)

    def _show_selection(self, change=None) -> None:
        m, sel = self.model, self.model.selection
        shown = sel.head(self.max_rows)
        n_pos = int(sel[schema.LABEL].sum()) if len(sel) else 0
        total = 0 if m.pairs is None else len(m.pairs)
        self.summary.value = (
            f'<b class="speid-count">{len(sel)}</b> of {total} pairs selected ({n_pos} interacting); '
            f"table: the first {len(shown)}, by {m.sort_by} "
            f"{'ascending' if m.ascending else 'descending'}")
        self.table.value = html_table(shown, TABLE_COLUMNS, _FORMATS, index=True,
                                      max_height=360)
        self.download.value = ""
        show_figure(self.roc, m.roc_figure(), width=620, height=400)
        show_figure(self.pr, m.pr_figure(), width=620, height=400)
        self._pair_options(shown)

    def _pair_options(self, shown) -> None:
        m = self.model
        options = [_NO_PAIR] + [(_pair_label(i, r), int(i)) for i, r in shown.iterrows()]
        if m.pair >= 0 and m.pair not in {v for _, v in options} and m.pairs is not None:
            options.insert(1, (_pair_label(m.pair, m.pairs.loc[m.pair]), m.pair))
        self.pair.unobserve(self._open_pair, names="value")
        self.pair.options = options
        self.pair.value = m.pair if m.pair in {v for _, v in options} else -1
        self.pair.observe(self._open_pair, names="value")

    def _show_detail(self, change=None) -> None:
        d, m = self.model.detail, self.model
        set_message(self.detail_message, m.detail_error)
        show(self.detail_figure, d is not None)
        show(self.logo_box, d is not None)
        if d is None:
            show(self.ism_box, False)
            self.detail_info.value = ""
            return
        show_figure(self.detail_figure, d.figure(), width=1250, height=720)
        ism = d.ism_figure()
        show(self.ism_box, ism is not None)
        if ism is not None:                  # the map itself: position x base, downloadable
            show_figure(self.ism_figure, ism, width=1250, height=420)
            name = f"pair{d.pair}_ism.tsv"
            self.ism_download.value = download_link(d.ism_tsv(), name, "text/tab-separated-values",
                                                    f"download the map ({name})")
        for b, png in d.logos().items():    # letter height = contribution, around each window's peak
            self.logos[b].value = png
        self.detail_info.value = _detail_html(d)

    # widgets -> model
    def _open_pair(self, change) -> None:
        if change["new"] is not None and change["new"] >= 0:
            set_message(self.detail_message, f"computing pair #{change['new']} "
                        "(the first pair loads the model) ...", "info")
        self.model.pair = -1 if change["new"] is None else change["new"]

    def _computing(self, change) -> None:
        if self.model.pair >= 0:
            set_message(self.detail_message, f"computing pair #{self.model.pair} by "
                        f"{change['new'].replace('_', ' ')} ...", "info")

    def _score_vcf(self) -> None:
        set_message(self.vcf_message, f"scoring {self.vcf_path.value} against the run's pairs ...", "info")
        self.model.score_vcf(self.vcf_path.value.strip())

    def _show_variants(self, change=None) -> None:
        m = self.model
        set_message(self.vcf_message, m.variant_error or m.variant_summary, "error" if m.variant_error else "info")
        effects = m.variant_effects
        if effects is None or effects.empty:
            self.vcf_table.value = self.vcf_download.value = ""
            return
        cols = ["chrom", "pos", "id", "ref", "alt", "branch", "enhancer", "promoter", "ref_score", "alt_score",
                "delta", "enhancer_rank_before", "enhancer_rank_after"]
        fmt = {c: "{:.4f}" for c in ("ref_score", "alt_score", "delta")}
        self.vcf_table.value = html_table(effects.head(self.max_rows), cols, fmt, max_height=420)
        self.vcf_download.value = download_link(m.variant_tsv(), "variant_effects.tsv", "text/tab-separated-values",
                                                 f"download all {len(effects)} effects (TSV)")

    def _offer(self, ext: str, text: str, mime: str) -> None:
        name = self.model.export_name(ext)
        self.download.value = download_link(text, name, mime,
                                            f"download {name} ({len(self.model.selection)} pairs)")


def _int_range(value):
    lo, hi = value
    return int(lo), int(min(hi, 2**62))


def _pair_label(i, row) -> str:
    return (f"#{i}  {row[schema.ENHANCER_NAME]} ~ {row[schema.PROMOTER_NAME]}  "
            f"(score {row[schema.SCORE]:.3f}, label {int(row[schema.LABEL])})")


def _detail_html(d) -> str:
    parts = [f"<p><b>pair #{d.pair}</b>: score {d.row[schema.SCORE]:.4f}, label "
             f"{int(d.row[schema.LABEL])}, distance {d.row[schema.DISTANCE]:,.0f} bp. "
             f"Attribution: {d.attribution.method} of the {d.attribution.output} "
             f"(model output {d.attribution.reference:.3f}). Grey: the element; orange: motif hits "
             f"(FIMO p &lt; 1e-4) of {html.escape(d.motif_source)}.</p>"]
    for branch in schema.BRANCHES:
        s, e = d.elements[branch]
        start, width = d.window_starts[branch], len(d.windows[branch])
        hits = d.hits[branch]
        parts.append(f"<p>{branch} window {d.row[schema.CHROM]}:{start:,}-{start + width:,} "
                     f"({width} bp), element at {s}-{e}; {len(hits)} motif hit(s)</p>")
        if len(hits):
            parts.append(html_table(hits, ["motif_id", "motif_name", "start", "end", "strand",
                                           "pvalue"], {"pvalue": "{:.2g}"}))
    return "".join(parts)
