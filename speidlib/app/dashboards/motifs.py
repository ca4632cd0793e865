"""The motifs dashboard: what each convolution kernel learned, and how it behaves.

:class:`MotifsModel` reads ``RUN/motifs/`` (written by ``speid motifs``) into
one row per kernel with sites: its best JASPAR match, E-value and how many
kernels of its branch match the same TF (the preprint's redundancy). Filters
(branch, TF name, E-value) give ``selection``; picking ``kernel`` gives
``detail``: the logo beside the matched motif, the kernel's activation over
the scanned windows and the windows that activate it most. No widgets here
(they are in :mod:`.motifs_view`), and nothing is written.
"""
from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import traitlets as tl

from speidlib import schema
from speidlib.app.dashboards.runs import RunModel, describe_error, require_files
from speidlib.data.jaspar import DEFAULT_RELEASE, get_motif, read_meme
from speidlib.interpret.kernels import information_content, parse_kernel_name
from speidlib.interpret.logos import kernel_logo
from speidlib.run import Run

BRANCH_CHOICES = ("all",) + schema.BRANCHES
EVALUE_CHOICES = (("any", float("inf")), ("E < 10", 10.0), ("E < 1", 1.0), ("E < 0.5", 0.5),
                  ("E < 0.1", 0.1), ("E < 0.01", 0.01), ("E < 0.001", 0.001))
SORT_COLUMNS = ("evalue", "kernel_name", "n_sites", "redundancy")
KERNEL_COLUMNS = ["kernel_name", "branch", "kernel", "width", "n_sites", "target_id", "target_name",
                  "evalue", "redundancy", "redundant", "learned", "delta_aupr"]
_FILES = [f"{schema.MOTIFS_DIR}/{f}" for f in (schema.MOTIF_KERNELS_MEME, schema.MOTIF_MATCHES_FILE,
                                               schema.MOTIF_ACTIVATIONS_FILE, schema.MOTIF_TOP_WINDOWS_FILE)]


@dataclasses.dataclass
class MotifRun:
    """What ``RUN/motifs/`` holds, read once.

    Attributes
    ----------
    pfms : kernel name -> trimmed PFM, shape=(w, 4) (``kernels.meme``)
    matches : ``matches.csv`` (``schema.MOTIF_MATCH_COLUMNS``)
    activations : ``activations.npz`` as a dict of arrays (``<branch>_max`` (n_windows, K), ...)
    top_windows : ``top_windows.csv``
    parameters : ``motifs.json`` parameters (``max_evalue``, ``min_kernels``, ``fraction``, ...)
    release : the JASPAR release matched against
    logos : folder of saved logos (``<kernel_name>.png``)
    tf_summary : ``tf_summary.csv`` (TFs against the null; empty when absent)
    kernel_info : ``kernel_table.csv`` (informative, importance; empty when absent)
    """

    pfms: dict
    matches: pd.DataFrame
    activations: dict
    top_windows: pd.DataFrame
    parameters: dict
    release: str
    logos: Path
    tf_summary: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    kernel_info: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


def read_motif_run(run_dir) -> MotifRun:
    """Read ``RUN/motifs/``; ValueError naming the missing or damaged file."""

    run = Run(run_dir)
    require_files(run.path, _FILES, "the motifs dashboard")
    info = _read(run.motif_summary, lambda p: json.loads(p.read_text())) if run.motif_summary.exists() else {}
    run.check_current(run.motif_summary)  # refuses motifs of a model since replaced
    pfms = dict(_read(run.motif_file(schema.MOTIF_KERNELS_MEME), read_meme))
    matches = _read(run.motif_file(schema.MOTIF_MATCHES_FILE), pd.read_csv)
    _need_columns(matches, schema.MOTIF_MATCH_COLUMNS, run.motif_file(schema.MOTIF_MATCHES_FILE))
    top = _read(run.motif_file(schema.MOTIF_TOP_WINDOWS_FILE), pd.read_csv)
    _need_columns(top, schema.TOP_WINDOW_COLUMNS, run.motif_file(schema.MOTIF_TOP_WINDOWS_FILE))
    acts = _read(run.motif_file(schema.MOTIF_ACTIVATIONS_FILE), lambda p: dict(np.load(p)))
    if not pfms:
        raise ValueError(f"{run.motif_file(schema.MOTIF_KERNELS_MEME)} holds no kernels: no kernel had "
                         "a site.")
    optional = {f: _read(run.motif_file(f), pd.read_csv) if run.motif_file(f).exists() else pd.DataFrame()
                for f in (schema.MOTIF_TF_SUMMARY_FILE, schema.MOTIF_KERNEL_TABLE_FILE)}
    return MotifRun(pfms, matches, acts, top, info.get("parameters", {}),
                    info.get("jaspar", {}).get("release", DEFAULT_RELEASE),
                    run.motif_file(schema.MOTIF_LOGOS_DIR),
                    optional[schema.MOTIF_TF_SUMMARY_FILE], optional[schema.MOTIF_KERNEL_TABLE_FILE])


def _read(path: Path, reader):
    try:
        return reader(path)
    except (OSError, ValueError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"{path} cannot be read ({describe_error(e)}); rerun `speid motifs`.") from e


def _need_columns(df: pd.DataFrame, columns, path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}; rerun `speid motifs`.")


def kernel_table(mr: MotifRun) -> pd.DataFrame:
    """One row per kernel with sites: ``KERNEL_COLUMNS``.

    ``target_id``, ``target_name`` and ``evalue`` are the best Tomtom match
    (rank 1; empty and ``inf`` when Tomtom kept none). ``redundancy`` counts
    the kernels of the same branch that match the best match's TF with
    ``E < max_evalue`` (0.5); ``redundant`` is ``redundancy >= min_kernels`` (3).
    ``learned`` is True when that TF beats the null of untrained kernels in
    the kernel's branch (``tf_summary.csv``, ``learned_<branch>``; False
    without one) and the best match has ``E < max_evalue``; ``delta_aupr`` is
    the held-out AUPR change when the kernel is silenced (NaN where not
    measured).
    """
    max_e = float(mr.parameters.get("max_evalue", 0.5))
    min_k = int(mr.parameters.get("min_kernels", 3))
    names = list(mr.pfms)
    branch, kernel = zip(*map(parse_kernel_name, names)) if len(names) else ((), ())
    n_sites = [int(mr.activations[f"{b}_n_sites"][k]) if f"{b}_n_sites" in mr.activations else -1
               for b, k in zip(branch, kernel)]
    df = pd.DataFrame({"kernel_name": names, "branch": branch, "kernel": kernel,
                       "width": [len(mr.pfms[n]) for n in names], "n_sites": n_sites})
    best = mr.matches[mr.matches["rank"] == 1].drop_duplicates("kernel_name")
    df = df.merge(best[["kernel_name", "target_id", "target_name", "evalue"]], on="kernel_name",
                  how="left")
    df["evalue"] = df["evalue"].fillna(np.inf)
    df[["target_id", "target_name"]] = df[["target_id", "target_name"]].fillna("")
    sig = mr.matches[mr.matches["evalue"] < max_e]
    count = sig.groupby(["branch", "target_name"])["kernel"].nunique()
    df["redundancy"] = [int(count.get((b, t), 0)) for b, t in zip(df["branch"], df["target_name"])]
    df["redundant"] = df["redundancy"] >= min_k
    learned = set()
    if "learned_enhancer" in mr.tf_summary.columns:
        learned = {(b, t) for b in schema.BRANCHES
                   for t in mr.tf_summary.loc[mr.tf_summary[f"learned_{b}"].astype(bool), "tf"]}
    df["learned"] = [(b, t) in learned and e < max_e
                     for b, t, e in zip(df["branch"], df["target_name"], df["evalue"])]
    delta = {}
    if "delta_aupr" in mr.kernel_info.columns:
        delta = mr.kernel_info.set_index("kernel_name")["delta_aupr"].to_dict()
    df["delta_aupr"] = [float(delta.get(n, np.nan)) for n in df["kernel_name"]]
    return df[KERNEL_COLUMNS]


def select_kernels(kernels: pd.DataFrame, branch: str = "all", tf: str = "",
                   max_evalue: float = float("inf"), sort_by: str = "evalue") -> pd.DataFrame:
    """Kernels of ``branch`` whose best match's name contains ``tf`` (any case) with
    ``E < max_evalue`` (``inf``: every kernel, matched or not), sorted by ``sort_by``
    (E-value and name ascending, counts descending; ties by name)."""
    if branch not in BRANCH_CHOICES:
        raise ValueError(f"branch must be one of {BRANCH_CHOICES}, got {branch!r}")
    if sort_by not in SORT_COLUMNS:
        raise ValueError(f"sort_by must be one of {SORT_COLUMNS}, got {sort_by!r}")
    keep = (kernels["evalue"] < max_evalue) | np.isinf(max_evalue)
    if branch != "all":
        keep &= kernels["branch"] == branch
    if tf.strip():
        keep &= kernels["target_name"].str.contains(tf.strip(), case=False, regex=False)
    ascending = sort_by in ("evalue", "kernel_name")
    return kernels[keep].sort_values([sort_by, "kernel_name"], ascending=[ascending, True],
                                     kind="stable")


@dataclasses.dataclass
class KernelDetail:
    """One kernel opened.

    Attributes
    ----------
    name : e.g. ``"enhancer_k0012"``
    row : its row of the kernel table, as a dict
    pfm : shape=(w, 4), the trimmed PFM
    logo_png : PNG bytes: the kernel's logo above its best match (saved or drawn now)
    activations : shape=(n_windows,), the kernel's largest activation in each scanned window
    threshold : activation above which a position counted as a site (``fraction * max``)
    top_windows : the windows that activate it most (``schema.TOP_WINDOW_COLUMNS``)
    matches : every match Tomtom kept for it, best first
    """

    name: str
    row: dict
    pfm: np.ndarray
    logo_png: bytes
    activations: np.ndarray
    threshold: float
    top_windows: pd.DataFrame
    matches: pd.DataFrame

    def activation_figure(self):
        """Histogram of the kernel's per-window maximum activation, with the site threshold."""
        import plotly.graph_objects as go

        fig = go.Figure(go.Histogram(x=self.activations, nbinsx=40, name="windows"))
        fig.add_vline(x=self.threshold, line=dict(dash="dash", color="grey"),
                      annotation_text="site threshold")
        fig.update_layout(title=f"{self.name}: largest activation per window "
                                f"({len(self.activations)} windows)",
                          xaxis_title="activation (convolution + bias)", yaxis_title="windows",
                          height=320, template="plotly_white", showlegend=False)
        return fig


class MotifsModel(RunModel):
    """State of the motifs dashboard (no widgets).

    Set ``run``, ``branch``, ``tf`` (part of a TF name), ``max_evalue`` and
    ``sort_by``; ``selection`` follows. Set ``kernel`` (a kernel name) and
    ``detail`` follows (``detail_error`` when it cannot be shown).
    """

    kernels = tl.Instance(pd.DataFrame, allow_none=True, help="one row per kernel with sites")
    contribution_motifs = tl.Instance(pd.DataFrame, allow_none=True,
                                      help="RUN/modisco/motifs.csv (speid modisco), with a logo column; "
                                      "None when the run has none")
    branch = tl.Enum(BRANCH_CHOICES, default_value="all")
    tf = tl.Unicode("")
    max_evalue = tl.Float(float("inf"))
    sort_by = tl.Enum(SORT_COLUMNS, default_value="evalue")
    selection = tl.Instance(pd.DataFrame)
    kernel = tl.Unicode("", help="the opened kernel's name; '' for none")
    detail = tl.Instance(KernelDetail, allow_none=True)
    detail_error = tl.Unicode("")
    needs = tuple(_FILES)

    def __init__(self, root=None, run=None, **kwargs):
        self.motif_run, self._resetting = None, False
        self.selection = pd.DataFrame(columns=KERNEL_COLUMNS)
        super().__init__(root, run, **kwargs)

    def _read(self, run_dir: Path) -> None:
        mr = read_motif_run(run_dir)
        table = kernel_table(mr)
        self.kernel, self.detail, self.detail_error = "", None, ""
        self.motif_run, self.kernels = mr, table
        self.contribution_motifs = read_contribution_motifs(run_dir)
        self._resetting = True
        try:
            self.branch, self.tf, self.max_evalue, self.sort_by = "all", "", float("inf"), "evalue"
        finally:
            self._resetting = False
        self._select()

    def _clear(self) -> None:
        self.motif_run, self.kernels, self.kernel, self.detail = None, None, "", None
        self.contribution_motifs = None
        self.selection = pd.DataFrame(columns=KERNEL_COLUMNS)

    @tl.observe("branch", "tf", "max_evalue", "sort_by")
    def _on_filter(self, change) -> None:
        if not self._resetting:
            self._select()

    def _select(self) -> None:
        if self.kernels is not None:
            self.selection = select_kernels(self.kernels, self.branch, self.tf, self.max_evalue,
                                            self.sort_by)

    def logo_path(self, name: str) -> Path | None:
        """The saved logo of kernel ``name`` (``RUN/motifs/logos/<name>.png``), if there is one."""
        path = self.motif_run.logos / f"{name}.png" if self.motif_run else None
        return path if path is not None and path.is_file() else None

    @tl.observe("kernel")
    def _on_kernel(self, change) -> None:
        self.detail, self.detail_error = None, ""
        if not self.kernel or self.motif_run is None:
            return
        try:
            self.detail = self.compute_detail(self.kernel)
        except Exception as e:  # noqa: BLE001  shown in the page as a sentence
            self.detail_error = f"Kernel {self.kernel} cannot be shown: {describe_error(e)}"

    def compute_detail(self, name: str) -> KernelDetail:
        """Logo, activations and top windows of the kernel called ``name``."""
        mr = self.motif_run
        rows = self.kernels[self.kernels["kernel_name"] == name]
        if rows.empty:
            raise ValueError(f"no kernel {name!r} with sites in {self.run_dir}")
        row = rows.iloc[0].to_dict()
        b, k = row["branch"], int(row["kernel"])
        acts = np.asarray(mr.activations[f"{b}_max"])[:, k]
        peak = mr.activations.get(f"{b}_max_activation", acts.max(keepdims=True))
        peak = float(peak[k] if np.ndim(peak) and len(peak) > k else np.max(acts))
        threshold = float(mr.parameters.get("fraction", 0.5)) * peak
        matches = mr.matches[mr.matches["kernel_name"] == name].sort_values("rank")
        top = mr.top_windows[mr.top_windows["kernel_name"] == name].sort_values("rank")
        return KernelDetail(name, row, mr.pfms[name], self._logo(name, row, matches), acts,
                            threshold, top, matches)

    def _logo(self, name: str, row: dict, matches: pd.DataFrame) -> bytes:
        path = self.logo_path(name)
        if path is not None:
            return path.read_bytes()
        return render_logo(name, self.motif_run.pfms[name], matches, self.motif_run.release,
                           row["n_sites"])


CONTRIBUTION_MOTIF_COLUMNS = ["branch", "pattern", "n_seqlets", "target_id", "target_name", "evalue",
                              "learned"]


def read_contribution_motifs(run_dir) -> pd.DataFrame | None:
    """``RUN/modisco/motifs.csv`` (written by ``speid modisco``) with each pattern's logo path
    (``logo``, None when not saved); None when the run has no such file."""
    folder = Path(run_dir) / "modisco"
    path = folder / "motifs.csv"
    if not path.exists():
        return None
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"{path} cannot be read ({describe_error(e)}); rerun `speid modisco`.") from e
    missing = [c for c in CONTRIBUTION_MOTIF_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}; rerun `speid modisco`.")
    logos = [folder / "logos" / f"{b}.{p}.png" for b, p in zip(df["branch"], df["pattern"])]
    return df.assign(logo=[str(f) if f.is_file() else None for f in logos])


def render_logo(name: str, pfm: np.ndarray, matches: pd.DataFrame, release: str, n_sites: int) -> bytes:
    """PNG bytes of a kernel's logo above its best match, drawn in memory (as ``speid motifs`` saves)."""

    label = f"{name}  ({n_sites} sites)"
    best = matches[matches["rank"] == 1]
    if best.empty:
        fig = kernel_logo(pfm, kernel_label=label)
    else:
        r = best.iloc[0]
        m = get_motif(r["target_id"], release)
        fig = kernel_logo(pfm, m.pfm(), int(r["offset"]), r["strand"], label,
                          f"{m.matrix_id} {m.name}  strand {r['strand']}  E = {r['evalue']:.2g}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def consensus_html(pfm) -> str:
    """A one-line text logo: each column's most frequent base, coloured, faded by information.

    pfm : shape=(w, 4). A column of 2 bits is opaque, 0 bits nearly transparent.
    """

    pfm = np.asarray(pfm, dtype=np.float64)
    colours = ("#109648", "#255c99", "#f7b32b", "#d62839")   # A, C, G, T (logomaker classic)
    bits = information_content(pfm / pfm.sum(axis=1, keepdims=True))
    letters = []
    for b, ic in zip(pfm.argmax(axis=1), bits):
        alpha = 0.15 + 0.85 * min(max(ic / 2.0, 0.0), 1.0)
        letters.append(f'<span style="color:{colours[b]};opacity:{alpha:.2f}">{"ACGT"[b]}</span>')
    return f'<span style="font-family:monospace;font-weight:bold">{"".join(letters)}</span>'
