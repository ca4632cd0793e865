"""The widgets of the motifs dashboard, bound to a :class:`MotifsModel`."""
from __future__ import annotations

import base64
import html

import ipywidgets as w

from speidlib.app.dashboards.motifs import (
    BRANCH_CHOICES,
    EVALUE_CHOICES,
    SORT_COLUMNS,
    MotifsModel,
    consensus_html,
)
from speidlib.app.dashboards.runs import html_table
from speidlib.app.dashboards.widgets import (
    DashboardView,
    figure_output,
    set_message,
    show,
    show_figure,
)

_NO_KERNEL = ("(pick a kernel to open it)", "")


class MotifsView(DashboardView):
    """Kernel table with filters, and one kernel's logo, activations and top windows.

    Parameters
    ----------
    model : MotifsModel
    max_rows : rows of the sorted selection shown in the table
    """

    classes = {"branch": "branch", "tf": "tf", "evalue": "evalue", "sort_by": "sort-by",
               "kernel": "kernel", "table": "kernels-table", "summary": "summary",
               "detail_info": "detail", "logo": "logo", "activations": "activations",
               "top_windows": "top-windows", "contributions": "contribution-motifs"}

    def __init__(self, model: MotifsModel, max_rows: int = 60):
        super().__init__(model, max_rows)

    def _build(self) -> None:
        self.summary, self.table, self.contributions = w.HTML(), w.HTML(), w.HTML()
        self.branch = w.ToggleButtons(options=list(BRANCH_CHOICES), description="branch")
        self.tf = w.Text(description="TF name", placeholder="e.g. CTCF", continuous_update=False)
        self.evalue = w.Dropdown(options=list(EVALUE_CHOICES), description="best match")
        self.sort_by = w.Dropdown(options=list(SORT_COLUMNS), description="sort by")
        self.kernel = w.Dropdown(options=[_NO_KERNEL], value="", description="kernel",
                                 layout=w.Layout(width="560px"))
        self.detail_message, self.detail_info, self.top_windows = w.HTML(), w.HTML(), w.HTML()
        self.logo = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.activations = figure_output()
        show(self.activations, False)
        show(self.logo, False)

    def _bind(self) -> None:
        m = self.model
        for widget, trait in ((self.branch, "branch"), (self.tf, "tf"), (self.evalue, "max_evalue"),
                              (self.sort_by, "sort_by")):
            w.link((m, trait), (widget, "value"))
        m.observe(self._show_run, names=["run_dir", "error"])
        m.observe(self._show_selection, names="selection")
        m.observe(self._show_contributions, names="contribution_motifs")
        m.observe(self._show_detail, names=["detail", "detail_error"])
        self.kernel.observe(self._open_kernel, names="value")

    def _body(self) -> list:
        filters = w.VBox([self.branch, w.HBox([self.tf, self.evalue, self.sort_by])])
        detail = w.HBox([self.logo, self.activations])
        return [w.HTML("<h3>Kernels and their best JASPAR match</h3>"), filters, self.summary,
                self.table, w.HTML("<h3>One kernel</h3>"), self.kernel, self.detail_message,
                self.detail_info, detail, self.top_windows,
                w.HTML("<h3>Motifs from contributions (TF-MoDISco)</h3>"), self.contributions]

    def _show_state(self) -> None:
        self._show_selection()
        self._show_contributions()

    def _show_contributions(self, change=None) -> None:
        df = self.model.contribution_motifs
        if df is None:
            self.contributions.value = ("<p>This run has no <code>modisco/motifs.csv</code>: "
                                        "<code>speid attribute RUN --positives --null</code> then "
                                        "<code>speid modisco RUN</code> make it (docs/attribution.md).</p>")
            return
        cells = []
        for path in df["logo"]:
            data = base64.b64encode(open(path, "rb").read()).decode("ascii") if isinstance(path, str) else ""
            cells.append(f'<img src="data:image/png;base64,{data}" style="height:64px">' if data else "")
        shown = df.assign(logo=cells, learned=["yes" if v else "no" for v in df["learned"]])
        tests = [c for c in ("pattern_qvalue", "permutation_qvalue") if c in df.columns]  # older files lack them
        self.contributions.value = (
            f'<p><b class="speid-count">{len(df)}</b> patterns from the stored contributions of the '
            "positive pairs, each with its best JASPAR match; learned: the match beats chance across the "
            "branch's patterns (pattern q) and needs the pattern's column order (permutation q), and its "
            "TF beats the same steps on the initial weights' contributions (the null) in this branch. "
            "Beside the kernels above: the same question asked of what the model uses rather than what "
            "its filters hold.</p>"
            + html_table(shown, ["logo", "branch", "pattern", "n_seqlets", "target_name", "target_id",
                                 "evalue", *tests, "learned"],
                         {"evalue": "{:.2g}", **{c: "{:.2g}" for c in tests}}, escape=False, max_height=420))

    # model -> widgets
    def _show_selection(self, change=None) -> None:
        m, sel = self.model, self.model.selection
        shown = sel.head(self.max_rows)
        total = 0 if m.kernels is None else len(m.kernels)
        self.summary.value = (f'<b class="speid-count">{len(sel)}</b> of {total} kernels with sites '
                              f"selected; table: the first {len(shown)}, by {m.sort_by}. "
                              "Redundancy: kernels of the branch matching the same TF (E &lt; 0.5); "
                              "learned: the TF beats the null of untrained kernels in this branch; "
                              "&Delta;AUPR: held-out AUPR change when the kernel is silenced.")
        self.table.value = html_table(shown.assign(logo=[self._logo_cell(n) for n in shown.kernel_name]),
                                      ["logo", "kernel_name", "n_sites", "target_id", "target_name",
                                       "evalue", "redundancy", "learned", "delta_aupr"],
                                      {"evalue": "{:.2g}", "delta_aupr": "{:+.4f}"}, escape=False,
                                      max_height=420)
        options = [_NO_KERNEL] + [(_kernel_label(r), r.kernel_name) for r in shown.itertuples()]
        if m.kernel and m.kernel not in {v for _, v in options}:
            options.insert(1, (m.kernel, m.kernel))
        self.kernel.unobserve(self._open_kernel, names="value")
        self.kernel.options = options
        self.kernel.value = m.kernel
        self.kernel.observe(self._open_kernel, names="value")

    def _logo_cell(self, name: str) -> str:
        path = self.model.logo_path(name)
        if path is not None:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return f'<img src="data:image/png;base64,{data}" style="height:48px">'
        return consensus_html(self.model.motif_run.pfms[name])

    def _show_detail(self, change=None) -> None:
        d, m = self.model.detail, self.model
        set_message(self.detail_message, m.detail_error)
        show(self.activations, d is not None)
        show(self.logo, d is not None)
        if d is None:
            self.detail_info.value = self.top_windows.value = ""
            self.logo.value = b""
            return
        self.logo.value = d.logo_png
        show_figure(self.activations, d.activation_figure(), width=560)
        r = d.row
        self.detail_info.value = (
            f"<p><b>{html.escape(d.name)}</b>: {r['n_sites']} sites, width {r['width']}; best match "
            f"<b>{html.escape(str(r['target_name']) or 'none')}</b> {html.escape(str(r['target_id']))} "
            f"(E = {r['evalue']:.2g}); {r['redundancy']} kernel(s) of the {r['branch']} branch "
            f"match this TF.</p>" + html_table(d.matches, ["rank", "target_id", "target_name",
                                                           "evalue", "qvalue", "strand", "offset"],
                                               {"evalue": "{:.2g}", "qvalue": "{:.2g}"}))
        self.top_windows.value = ("<h4>Windows that activate it most</h4>" + html_table(
            d.top_windows, ["rank", "window_id", "position", "sequence", "activation"],
            {"activation": "{:.3f}"}))

    # widgets -> model
    def _open_kernel(self, change) -> None:
        if change["new"]:
            set_message(self.detail_message, f"opening {change['new']} ...", "info")
        self.model.kernel = change["new"] or ""


def _kernel_label(r) -> str:
    match = f"{r.target_name} (E = {r.evalue:.2g})" if r.target_name else "no match"
    return f"{r.kernel_name}  {match}"
