"""The predictions dashboard: filter a run's scored test pairs, see curves, open one pair.

:class:`PredictionsModel` holds the state (run, filters, sort order, the
selection, the chosen pair and its detail) as traitlets and computes
everything derived from it; it needs no browser. :class:`PredictionsView`
builds the ipywidgets and binds them to the model. ``dashboards/predictions.ipynb``
only wires the two together.

Reads ``RUN/predictions.csv`` (required), and for one pair's detail
``RUN/dataset.h5`` (the windows), ``RUN/model.keras`` (attribution) and,
when present, ``RUN/motifs/matches.csv`` (motifs to mark). Writes nothing.
"""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pandas as pd
import traitlets as tl

from speidlib import checks, schema
from speidlib.app.dashboards.runs import RunModel, describe_error, require_files
from speidlib.runtime import import_tensorflow_quietly
from speidlib.data.dataset import Dataset
from speidlib.data.jaspar import DEFAULT_RELEASE, get_motif, read_meme
from speidlib.demo.synthetic import MOTIFS_FILE
from speidlib.interpret.ablation import motif_hits
from speidlib.interpret.attribution import Attribution, gradient_x_input
from speidlib.interpret.contributions import Attributor
from speidlib.interpret.ism import fast_ism
from speidlib.interpret.variant_run import ism_table, run_variants
from speidlib.interpret.variants import VARIANT_EFFECT_COLUMNS
from speidlib.model.load import load_run_model
from speidlib.run import Run, to_bedpe
from speidlib.viz.attribution import attribution_figure, contribution_logo, contribution_region
from speidlib.viz.figures import pr_figure, roc_figure
from speidlib.viz.ism import ism_heatmap

LABEL_CHOICES = ("all", "interacting", "not interacting")
SORT_COLUMNS = (schema.SCORE, schema.DISTANCE, schema.CHROM, schema.ENHANCER_NAME,
                schema.PROMOTER_NAME, schema.LABEL)
TABLE_COLUMNS = [schema.ENHANCER_NAME, schema.PROMOTER_NAME, schema.CHROM, schema.DISTANCE,
                 schema.LABEL, schema.SCORE]
METHODS = ("gradient_x_input", "ism", "integrated_gradients")
_NUMERIC = (schema.ENHANCER_START, schema.ENHANCER_END, schema.PROMOTER_START, schema.PROMOTER_END,
            schema.DISTANCE, schema.LABEL, schema.SCORE)


# --- reading ------------------------------------------------------------------

def read_predictions(run_dir) -> pd.DataFrame:
    """``RUN/predictions.csv`` checked: the pair columns, ``score``, numbers where numbers belong.

    Returns the table indexed by row number (0 = first pair of the file).
    Raises ValueError naming the file, the column and the row when it is unusable.
    """
    run = Run(run_dir)
    path = run.predictions
    require_files(run_dir, [schema.PREDICTIONS_FILE], "the predictions dashboard")
    run.check_current(path)  # refuses predictions of a model since replaced
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a readable CSV table ({e}).") from e
    missing = [c for c in schema.PAIR_COLUMNS + [schema.SCORE] if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}; "
                         f"rewrite it with `speid evaluate {run_dir}`.")
    if df.empty:
        raise ValueError(f"{path} holds no pairs.")
    checks.numeric_columns(df, _NUMERIC, lambda row: f"{path}, row {row + 2}")  # row 1 is the header
    df[schema.CHROM] = df[schema.CHROM].astype(str)
    return df.reset_index(drop=True)


def select_pairs(pairs: pd.DataFrame, chromosomes=(), label: str = "all", score_range=(0.0, 1.0),
                 distance_range=(0, np.inf), sort_by: str = schema.SCORE,
                 ascending: bool = False) -> pd.DataFrame:
    """The pairs that pass every filter, sorted (ties keep file order).

    Parameters
    ----------
    pairs : the table of :func:`read_predictions`
    chromosomes : chromosomes to keep; empty keeps all
    label : ``"all"``, ``"interacting"`` (label 1) or ``"not interacting"`` (label 0)
    score_range, distance_range : ``(low, high)``, both ends included
    sort_by : a column of ``pairs``; ``ascending`` its order
    """
    if label not in LABEL_CHOICES:
        raise ValueError(f"label must be one of {LABEL_CHOICES}, got {label!r}")
    if sort_by not in pairs.columns:
        raise ValueError(f"cannot sort by {sort_by!r}: not a column of the predictions")
    keep = pairs[schema.SCORE].between(*score_range) & pairs[schema.DISTANCE].between(*distance_range)
    if len(chromosomes):
        keep &= pairs[schema.CHROM].isin(list(chromosomes))
    if label != "all":
        keep &= pairs[schema.LABEL] == (1 if label == "interacting" else 0)
    return pairs[keep].sort_values(sort_by, ascending=ascending, kind="stable")


def bedpe_text(pairs: pd.DataFrame) -> str:
    """Pairs as headerless tab-separated BEDPE text (the layout of ``RUN/predictions.bedpe``)."""

    return to_bedpe(pairs).to_csv(sep="\t", header=False, index=False)


def read_pair_windows(run_dir, names: dict) -> dict:
    """The default (scored) windows of one pair's elements from ``RUN/dataset.h5``.

    Parameters
    ----------
    names : branch -> element name, e.g. ``{"enhancer": "DEMO1|chr1:100-400", ...}``

    Returns
    -------
    dict branch -> ``(codes (W,) int8, window_start, (element_start, element_end))``;
    window_start is genome coordinate of the window's first base, the element
    bounds are in window coordinates (may reach past the window).
    """
    require_files(run_dir, [schema.DATASET_FILE], "a pair's windows")
    dataset = Dataset(Run(run_dir).dataset)
    return {branch: dataset.default_window(branch, dataset.element_named(branch, name))
            for branch, name in names.items()}


def scan_motifs(run_dir) -> tuple[list, str]:
    """Motifs to mark in a pair's windows, and a sentence saying where they come from.

    The JASPAR matrices that are some kernel's best match with ``E`` below
    the run's ``max_evalue`` (``RUN/motifs/``), plus, for a demo run, the
    planted motifs (``planted_motifs.meme`` beside the pair table named in
    ``RUN/config.json``).

    Returns
    -------
    motifs : list of ``(motif_id, name, pfm (w, 4))``
    source : str
    """

    run = Run(run_dir)
    motifs, parts = {}, []
    if run.motif_file(schema.MOTIF_MATCHES_FILE).exists() and not run.stale_reason(run.motif_summary):
        info = run.read_motif_summary()
        max_e = float(info.get("parameters", {}).get("max_evalue", 0.5))
        release = info.get("jaspar", {}).get("release", DEFAULT_RELEASE)
        m = pd.read_csv(run.motif_file(schema.MOTIF_MATCHES_FILE))
        ids = m.loc[(m["rank"] == 1) & (m["evalue"] < max_e), "target_id"].drop_duplicates()
        for motif in (get_motif(i, release) for i in ids):
            motifs[motif.matrix_id] = (motif.matrix_id, motif.name, motif.pfm())
        parts.append(f"{len(ids)} JASPAR matrices that kernels match best (E < {max_e:g})")
    planted = _planted_motifs_file(run_dir)
    if planted is not None:
        entries = read_meme(planted)
        for name, pfm in entries:
            mid, tf = (name.split() + [name])[:2]
            motifs[mid] = (mid, f"{tf}*", pfm)
        parts.append(f"{len(entries)} motifs planted in the demo (*)")
    return list(motifs.values()), "; ".join(parts) or "no motifs: run `speid motifs` first"


def _planted_motifs_file(run_dir: Path):

    try:  # recorded absolute; older runs' relative paths are resolved from the run directory
        pairs = Run(run_dir).recorded_path("prepare", "pairs")
    except ValueError:
        return None
    path = pairs.parent / MOTIFS_FILE if pairs else None
    return path if path is not None and path.is_file() else None


# --- the model ----------------------------------------------------------------

@dataclasses.dataclass
class PairDetail:
    """One pair opened: its windows, element bounds, motif hits and attribution.

    Attributes
    ----------
    pair : row number in ``predictions.csv`` (0-based)
    row : that row as a dict
    windows : branch -> codes, shape=(W,), int8
    window_starts : branch -> genome coordinate of the window's first base
    elements : branch -> ``(start, end)`` of the element in window coordinates
    hits : branch -> DataFrame ``motif_id, motif_name, start, end, strand, score, pvalue``
    motif_source : where the scanned motifs come from
    attribution : :class:`speidlib.interpret.attribution.Attribution`
    """

    pair: int
    row: dict
    windows: dict
    window_starts: dict
    elements: dict
    hits: dict
    motif_source: str
    attribution: object

    def figure(self):
        """The attribution tracks of both windows with element bounds and motif hits (plotly)."""

        r = self.row
        return attribution_figure(
            self.attribution, self.elements["enhancer"], self.elements["promoter"],
            self.hits["enhancer"], self.hits["promoter"], self.windows["enhancer"],
            self.windows["promoter"],
            title=f"pair #{self.pair}: score {r[schema.SCORE]:.3f}, label {r[schema.LABEL]}")

    def ism_figure(self):
        """The in-silico mutagenesis map as a position x base heat map over both windows (plotly),
        motif hits marked; None unless the attribution is ``ism``."""
        if self.attribution.method != "ism":
            return None
        hits = {b: list(zip(self.hits[b]["start"], self.hits[b]["end"])) for b in schema.BRANCHES}
        return ism_heatmap(self.attribution, self.window_starts["enhancer"] + 1,
                           self.window_starts["promoter"] + 1, hits["enhancer"], hits["promoter"],
                           title=f"pair #{self.pair}: every base changed to every other "
                                 f"({self.attribution.output}; black: motif hits)")

    def ism_tsv(self) -> str:
        """The in-silico mutagenesis map as the TSV of ``speid ism`` (one row per window position)."""
        table = ism_table(self.attribution, str(self.row[schema.CHROM]), self.window_starts, self.windows)
        return table.to_csv(sep="\t", index=False, float_format="%.6g")

    def logos(self, width: int = 80) -> dict:
        """branch -> PNG bytes: the logo of the ``width``-bp stretch around the window's largest
        contribution, letter height = contribution (:func:`speidlib.viz.attribution.contribution_logo`)."""
        out = {}
        for b in schema.BRANCHES:
            summary = getattr(self.attribution, f"{b}_summary")
            start, end = contribution_region(summary, width)
            fig = contribution_logo(summary, self.windows[b], start, end, self.hits[b], self.elements[b],
                                    title=f"{b} window {start}-{end}: {self.attribution.method} "
                                    f"({self.attribution.output}); orange: motif hits")
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            out[b] = buf.getvalue()
        return out


class PredictionsModel(RunModel):
    """State of the predictions dashboard (no widgets).

    Set ``run`` (a name under the runs root), the filters and the sort order;
    ``selection`` follows. Set ``pair`` (a row of ``pairs``) and ``detail``
    follows. Failures set ``error`` (the run) or ``detail_error`` (the pair).
    """

    pairs = tl.Instance(pd.DataFrame, allow_none=True, help="RUN/predictions.csv")
    chromosome_choices = tl.Tuple(help="the chromosomes of the run's pairs")
    distance_bounds = tl.Tuple(tl.Float(), tl.Float(), default_value=(0.0, 0.0))
    chromosomes = tl.Tuple(help="chromosomes kept; empty keeps all")
    label = tl.Enum(LABEL_CHOICES, default_value="all")
    score_range = tl.Tuple(tl.Float(), tl.Float(), default_value=(0.0, 1.0))
    distance_range = tl.Tuple(tl.Float(), tl.Float(), default_value=(0.0, float("inf")))
    sort_by = tl.Enum(SORT_COLUMNS, default_value=schema.SCORE)
    ascending = tl.Bool(False)
    selection = tl.Instance(pd.DataFrame, help="the pairs passing the filters, sorted")
    pair = tl.Int(-1, help="the opened pair (row of `pairs`); -1 for none")
    method = tl.Enum(METHODS, default_value="gradient_x_input")
    detail = tl.Instance(PairDetail, allow_none=True)
    detail_error = tl.Unicode("")
    variant_effects = tl.Instance(pd.DataFrame, allow_none=True,
                                  help="a VCF's (variant, pair) effects on the run's pairs, most negative delta first")
    variant_summary = tl.Unicode("")
    variant_error = tl.Unicode("")
    needs = (schema.PREDICTIONS_FILE, schema.DATASET_FILE, schema.MODEL_FILE)

    def __init__(self, root=None, run=None, **kwargs):
        self._keras, self._motifs, self._resetting = {}, {}, False
        self.selection = pd.DataFrame(columns=TABLE_COLUMNS)
        super().__init__(root, run, **kwargs)

    # reading a run
    def _read(self, run_dir: Path) -> None:
        pairs = read_predictions(run_dir)
        self.pair, self.detail, self.detail_error = -1, None, ""
        dist = pairs[schema.DISTANCE]
        with self.hold_trait_notifications():
            self.pairs = pairs
            self.chromosome_choices = tuple(sorted(pairs[schema.CHROM].unique(), key=_chrom_key))
            self.distance_bounds = (float(dist.min()), float(dist.max()))
        self.reset_filters()

    def _clear(self) -> None:
        self.pairs, self.chromosome_choices, self.pair, self.detail = None, (), -1, None
        self.selection = pd.DataFrame(columns=TABLE_COLUMNS)

    def reset_filters(self) -> None:
        """Every pair of the run, best score first (one new selection, not one per filter)."""
        self._resetting = True
        try:
            self.chromosomes, self.label, self.score_range = (), "all", (0.0, 1.0)
            self.distance_range = self.distance_bounds
            self.sort_by, self.ascending = schema.SCORE, False
        finally:
            self._resetting = False
        self._select()

    @tl.validate("score_range", "distance_range")
    def _check_range(self, proposal):
        lo, hi = proposal["value"]
        if lo > hi:
            raise tl.TraitError(f"{proposal['trait'].name}: the low end {lo} is above the high end {hi}")
        return proposal["value"]

    @tl.observe("chromosomes", "label", "score_range", "distance_range", "sort_by", "ascending")
    def _on_filter(self, change) -> None:
        if not self._resetting:
            self._select()

    def _select(self) -> None:
        if self.pairs is None:
            return
        self.selection = select_pairs(self.pairs, self.chromosomes, self.label, self.score_range,
                                      self.distance_range, self.sort_by, self.ascending)

    # derived views of the selection
    def _classes(self) -> str | None:
        y = self.selection[schema.LABEL]
        if y.nunique() < 2:
            return (f"needs interacting and non-interacting pairs; the selection has {len(y)} "
                    f"pair(s), {int(y.sum())} interacting")
        return None

    def roc_figure(self):
        """ROC curve of the selection (plotly), or an empty figure saying why there is none."""

        why = self._classes()
        if why:
            return _empty_figure(f"ROC curve: {why}")
        return roc_figure(self.selection[schema.LABEL], self.selection[schema.SCORE], name="SPEID",
                          title=f"ROC curve, {len(self.selection)} pairs")

    def pr_figure(self):
        """Precision-recall curve of the selection (plotly), or an empty figure saying why not."""

        why = self._classes()
        if why:
            return _empty_figure(f"Precision-recall: {why}")
        return pr_figure(self.selection[schema.LABEL], self.selection[schema.SCORE], name="SPEID",
                         title=f"Precision-recall curve, {len(self.selection)} pairs")

    def selection_csv(self) -> str:
        """The selection, as shown (sorted), in the columns of ``predictions.csv``."""
        return self.selection.to_csv(index=False)

    def selection_bedpe(self) -> str:
        """The selection as BEDPE text (enhancer first; name ``enhancer~promoter``)."""
        return bedpe_text(self.selection)

    def export_name(self, ext: str) -> str:
        """File name for a download: ``<run>_selection.<ext>``."""
        return f"{(self.run or 'run').replace('/', '_')}_selection.{ext}"

    # one pair
    @tl.observe("pair", "method")
    def _on_pair(self, change) -> None:
        self.detail, self.detail_error = None, ""
        if self.pair < 0 or self.pairs is None:
            return
        try:
            self.detail = self.compute_detail(self.pair, self.method)
        except Exception as e:  # noqa: BLE001  shown in the page as a sentence
            self.detail_error = f"Pair #{self.pair} cannot be shown: {describe_error(e)}"

    def compute_detail(self, pair: int, method: str = "gradient_x_input") -> PairDetail:
        """Windows, element bounds, FIMO hits and attribution of row ``pair`` of ``pairs``."""

        if pair not in self.pairs.index:
            raise ValueError(f"there is no pair #{pair}; the run has {len(self.pairs)} pairs")
        run_dir = Path(self.run_dir)
        row = self.pairs.loc[pair].to_dict()
        win = read_pair_windows(run_dir, {b: row[f"{b}_name"] for b in schema.BRANCHES})
        motifs, source = self._scan_motifs(run_dir)
        hits = {b: motif_hits(win[b][0][None], motifs) for b in schema.BRANCHES}
        if method == "integrated_gradients":
            attr = integrated_gradients(self._model(run_dir), win["enhancer"][0], win["promoter"][0])
        else:
            attribute = gradient_x_input if method == "gradient_x_input" else fast_ism
            attr = attribute(self._model(run_dir), win["enhancer"][0], win["promoter"][0])
        return PairDetail(pair, row, {b: w[0] for b, w in win.items()},
                          {b: w[1] for b, w in win.items()}, {b: w[2] for b, w in win.items()},
                          hits, source, attr)

    # a VCF against the run's pairs
    def score_vcf(self, vcf_path, genome=None) -> None:
        """``speid variants`` of a VCF against the run's scored pairs (``predictions.csv``), with the
        genome the run was prepared from unless ``genome`` is given; sets ``variant_effects`` and
        ``variant_summary``, or ``variant_error``."""
        import tempfile

        self.variant_effects, self.variant_summary, self.variant_error = None, "", ""
        try:
            run = Run(self.run_dir)
            genome = genome or run.recorded_path("prepare", "genome")
            if not genome:
                raise ValueError(f"{self.run_dir} records no genome: give one")
            import_tensorflow_quietly()
            with tempfile.TemporaryDirectory() as tmp:
                info = run_variants(self.run_dir, vcf_path, run.predictions, genome, Path(tmp) / "effects.tsv")
                effects = pd.read_csv(info["out"], sep="\t")
        except Exception as e:  # noqa: BLE001  shown in the page as a sentence
            self.variant_error = f"{vcf_path} cannot be scored: {describe_error(e)}"
            return
        not_scored = ", ".join(f"{n} {why}" for why, n in info["not_scored"].items()) or "none"
        self.variant_summary = (f"{info['n_effects']} (variant, pair) effects of {info['n_scored']} of "
                                f"{info['n_variants']} variants; not scored: {not_scored}")
        self.variant_effects = effects.sort_values("delta", kind="stable").reset_index(drop=True)

    def variant_tsv(self) -> str:
        """The effects as the TSV of ``speid variants`` (empty without effects)."""
        if self.variant_effects is None:
            return ""
        return self.variant_effects[VARIANT_EFFECT_COLUMNS].to_csv(sep="\t", index=False, float_format="%.6g")

    def _model(self, run_dir: Path):
        if str(run_dir) not in self._keras:

            require_files(run_dir, [schema.MODEL_FILE], "attribution")
            import_tensorflow_quietly()  # no CUDA/absl start-up lines in the page
            self._keras[str(run_dir)] = load_run_model(run_dir)
        return self._keras[str(run_dir)]

    def _scan_motifs(self, run_dir: Path):
        if str(run_dir) not in self._motifs:
            self._motifs[str(run_dir)] = scan_motifs(run_dir)
        return self._motifs[str(run_dir)]


def integrated_gradients(model, enhancer, promoter) -> Attribution:
    """One pair's integrated gradients (32 steps, 8 dinucleotide-shuffled references, as
    ``speid attribute``) as an :class:`Attribution`: per-base scores are the hypothetical
    contributions, the summary the actual ones."""
    c = Attributor(model)(np.asarray(enhancer)[None], np.asarray(promoter)[None])
    return Attribution("integrated_gradients", c.enhancer_hypothetical[0], c.promoter_hypothetical[0],
                       c.enhancer_actual[0], c.promoter_actual[0], float(c.score[0]), "logit")


def _chrom_key(name: str):
    tail = name[3:] if name.startswith("chr") else name
    return (0, int(tail), "") if tail.isdigit() else (1, 0, tail)


def _empty_figure(title: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=title, font=dict(size=12)), xaxis_visible=False,
                      yaxis_visible=False)
    return fig
