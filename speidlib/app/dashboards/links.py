"""The links dashboard: browse a run's scored enhancer-promoter links by region or name.

:class:`LinksModel` holds the state (run, scored file, region, the element
named, the lowest score shown) as traitlets and computes what follows: the
links in view, each enhancer's top promoter, the arcs figure and the view as
text in any output format. :class:`speidlib.app.dashboards.links_view.LinksView`
binds the widgets; ``dashboards/links.ipynb`` wires the two.

Reads the scored files of ``RUN/genome_wide/`` (``speid score`` writes there by
default; any of the four formats of :mod:`speidlib.score.formats`). Writes nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import traitlets as tl

from speidlib import checks, schema
from speidlib.app.dashboards.runs import RunModel, describe_error
from speidlib.run import Run
from speidlib.score.formats import (
    ENHANCER_RANK,
    FORMATS,
    LINK_COLUMNS,
    PROMOTER_RANK,
    format_from_path,
    links_text,
    read_links,
)
from speidlib.viz.links import links_figure

TABLE_COLUMNS = [schema.ENHANCER_NAME, schema.PROMOTER_NAME, schema.DISTANCE, schema.SCORE,
                 ENHANCER_RANK, PROMOTER_RANK]
TOP_COLUMNS = [schema.ENHANCER_NAME, schema.PROMOTER_NAME, schema.CHROM, schema.DISTANCE,
               schema.SCORE, PROMOTER_RANK]
MIME = {"csv": "text/csv", "bedpe": "text/tab-separated-values",
        "interact": "text/tab-separated-values", "abc": "text/tab-separated-values"}
EXTENSION = {"csv": "csv", "bedpe": "bedpe", "interact": "interact", "abc": "tsv"}
MARGIN = 0.05   # a named element's region reaches this share of its span past its links


def list_link_files(run_dir) -> list[str]:
    """Names of the scored files in ``RUN/genome_wide/`` whose last extension (before ``.gz``)
    names a format (``.csv``, ``.bedpe``, ``.interact``, ``.tsv``), sorted."""
    folder = Run(run_dir).links
    names = []
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            format_from_path("links" + Path(p.name.removesuffix(".gz")).suffix)
        except ValueError:
            continue
        if p.is_file() and not p.name.startswith("."):
            names.append(p.name)
    return names


def read_link_file(path) -> pd.DataFrame:
    """A scored file read into a links table, checked; ValueError naming the file when unusable."""
    path = Path(path)
    try:
        links = read_links(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a scored links file ({type(e).__name__}: {e}); "
                         "write it with `speid score`.") from e
    checks.numeric_columns(links, (schema.ENHANCER_START, schema.ENHANCER_END, schema.PROMOTER_START,
                                   schema.PROMOTER_END, schema.DISTANCE, schema.SCORE, ENHANCER_RANK,
                                   PROMOTER_RANK),
                           lambda row: f"{path}, row {row + 1} of the table", "Write it with `speid score`.")
    links[schema.CHROM] = links[schema.CHROM].astype(str)
    for col in (schema.ENHANCER_NAME, schema.PROMOTER_NAME):
        links[col] = links[col].astype(str)
    return links.reset_index(drop=True)


def links_in_region(links: pd.DataFrame, chrom: str, start: float, end: float,
                    min_score: float = 0.0, element: str = "") -> pd.DataFrame:
    """The links whose enhancer and promoter both overlap ``chrom:start-end``, best score first.

    Parameters
    ----------
    links : links table
    min_score : keep scores at or above it
    element : keep only the links of this enhancer or promoter name ('' keeps all)
    """
    keep = ((links[schema.CHROM] == chrom) & (links[schema.SCORE] >= min_score)
            & (links[schema.ENHANCER_END] > start) & (links[schema.ENHANCER_START] < end)
            & (links[schema.PROMOTER_END] > start) & (links[schema.PROMOTER_START] < end))
    if element:
        keep &= (links[schema.ENHANCER_NAME] == element) | (links[schema.PROMOTER_NAME] == element)
    return links[keep].sort_values([schema.SCORE, schema.DISTANCE], ascending=[False, True],
                                   kind="stable")


def top_promoters(links: pd.DataFrame, enhancers) -> pd.DataFrame:
    """Each enhancer's best-scored promoter over the whole file (``enhancer_rank == 1``), best first."""
    top = links[(links[ENHANCER_RANK] == 1) & links[schema.ENHANCER_NAME].isin(list(enhancers))]
    return top.sort_values(schema.SCORE, ascending=False, kind="stable")


def find_element(links: pd.DataFrame, name: str) -> tuple[str, str]:
    """The enhancer or promoter called ``name`` (case ignored): ``(its name as written, kind)``.

    Raises ValueError saying what was not found, with up to five names that contain it.
    """
    query = name.strip()
    if not query:
        raise ValueError("Type a gene (promoter) or enhancer name.")
    for kind, col in (("promoter", schema.PROMOTER_NAME), ("enhancer", schema.ENHANCER_NAME)):
        names = pd.unique(links[col])
        hit = [n for n in names if n.lower() == query.lower()]
        if hit:
            return hit[0], kind
    both = pd.unique(np.r_[links[schema.PROMOTER_NAME].to_numpy(), links[schema.ENHANCER_NAME].to_numpy()])
    near = [n for n in both if query.lower() in n.lower()][:5]
    return_hint = f"; names containing it: {', '.join(near)}" if near else ""
    raise ValueError(f"No enhancer or promoter is called {query!r} in this file{return_hint}.")


class LinksModel(RunModel):
    """State of the links dashboard (no widgets).

    Set ``run`` and ``file`` (a name in ``RUN/genome_wide/``); then a region
    (:meth:`set_region`, or ``chrom``, ``start``, ``end``) or an element
    (:meth:`locate`); ``view`` (the links in view, best first) and ``top``
    (each enhancer in view with its best promoter) follow. ``error`` says why
    a run or file cannot be shown, ``locate_error`` why a name was not found.
    """

    files = tl.Tuple(help="scored files in RUN/genome_wide/")
    file = tl.Unicode("", help="the scored file shown, a name in `files`")
    links = tl.Instance(pd.DataFrame, allow_none=True, help="the scored file's links table")
    chromosome_choices = tl.Tuple(help="the chromosomes of the file's links")
    chrom = tl.Unicode("")
    start = tl.Int(0)
    end = tl.Int(0)
    min_score = tl.Float(0.0)
    element = tl.Unicode("", help="show only this element's links ('' for all in the region)")
    locate_error = tl.Unicode("")
    view = tl.Instance(pd.DataFrame, help="links in view, best score first")
    top = tl.Instance(pd.DataFrame, help="each enhancer in view and its top promoter")
    needs = (schema.LINKS_DIR,)

    def __init__(self, root=None, run=None, **kwargs):
        self._quiet, self._reading = False, False
        self.view = pd.DataFrame(columns=LINK_COLUMNS)
        self.top = pd.DataFrame(columns=LINK_COLUMNS)
        super().__init__(root, run, **kwargs)

    def default_run(self) -> str | None:
        """The first run with a scored file in ``genome_wide/`` (else the first run; None if none)."""
        scored = [r for r in self.runs if list_link_files(self._path(r))]
        return (scored or list(self.runs) or [None])[0]

    # reading a run and a file
    def _read(self, run_dir: Path) -> None:
        files = list_link_files(run_dir)
        if not files:
            raise ValueError(f"{run_dir} holds no scored links in {schema.LINKS_DIR}/: write some "
                             f"with `speid score {run_dir} --pairs PAIRS --genome FASTA` "
                             f"(it writes {schema.LINKS_DIR}/<pairs>.interact).")
        self._run_dir = Path(run_dir)
        self._read_file(files[0])
        self._reading = True
        try:
            self.files, self.file = tuple(files), files[0]
        finally:
            self._reading = False

    def _read_file(self, name: str) -> None:
        path = Run(self._run_dir).link_file(name)
        Run(self._run_dir).check_current(path)  # refuses links scored by a model since replaced
        links = read_link_file(path)
        if links.empty:
            raise ValueError(f"{path} holds no links.")
        self.links = links
        self.chromosome_choices = tuple(sorted(links[schema.CHROM].unique(), key=_chrom_key))
        best = links.loc[links[schema.SCORE].idxmax()]
        self.locate(best[schema.ENHANCER_NAME])      # opens on the best link's enhancer

    def _clear(self) -> None:
        self.links, self.files, self.chromosome_choices = None, (), ()
        self.view = pd.DataFrame(columns=LINK_COLUMNS)
        self.top = pd.DataFrame(columns=LINK_COLUMNS)

    @tl.observe("file")
    def _on_file(self, change) -> None:
        if self._reading or not change["new"] or not self.run_dir:
            return
        try:
            self._read_file(change["new"])
            self.error = ""
        except Exception as e:  # noqa: BLE001  shown in the page as a sentence; files kept
            self.links, self.chromosome_choices = None, ()
            self.view = self.top = pd.DataFrame(columns=LINK_COLUMNS)
            self.error = describe_error(e)

    # the region
    def chromosome_span(self, chrom: str) -> tuple[int, int]:
        """First start and last end of the elements of ``chrom`` in the file."""
        on = self.links[self.links[schema.CHROM] == chrom]
        if on.empty:
            raise ValueError(f"{chrom} has no links in {self.file}; it has "
                             f"{', '.join(self.chromosome_choices)}.")
        lo = min(on[schema.ENHANCER_START].min(), on[schema.PROMOTER_START].min())
        hi = max(on[schema.ENHANCER_END].max(), on[schema.PROMOTER_END].max())
        return int(lo), int(hi)

    def set_region(self, chrom: str, start: int | None = None, end: int | None = None,
                   element: str = "") -> None:
        """Show ``chrom:start-end`` (None ends: the chromosome's span); one new view."""
        lo, hi = self.chromosome_span(chrom)
        start, end = lo if start is None else int(start), hi if end is None else int(end)
        if start >= end:
            raise ValueError(f"the region's start {start:,} is not before its end {end:,}")
        self._quiet = True
        try:
            self.chrom, self.start, self.end, self.element = chrom, start, end, element
        finally:
            self._quiet = False
        self._update()

    def locate(self, name: str) -> None:
        """Show every link of the enhancer or promoter ``name``; else set ``locate_error``."""
        try:
            found, kind = find_element(self.links, name)
        except ValueError as e:
            self.locate_error = str(e)
            return
        col = schema.ENHANCER_NAME if kind == "enhancer" else schema.PROMOTER_NAME
        own = self.links[self.links[col] == found]
        lo = min(own[schema.ENHANCER_START].min(), own[schema.PROMOTER_START].min())
        hi = max(own[schema.ENHANCER_END].max(), own[schema.PROMOTER_END].max())
        pad = int(max(MARGIN * (hi - lo), 1000))
        self.locate_error = ""
        self.set_region(str(own[schema.CHROM].iat[0]), max(int(lo) - pad, 0), int(hi) + pad, found)

    @tl.observe("chrom")
    def _on_chrom(self, change) -> None:
        if not self._quiet and change["new"] and self.links is not None:
            self.set_region(change["new"])

    @tl.observe("start", "end", "min_score", "element")
    def _on_region(self, change) -> None:
        if not self._quiet:
            self._update()

    def _update(self) -> None:
        if self.links is None or not self.chrom:
            return
        view = links_in_region(self.links, self.chrom, self.start, self.end, self.min_score,
                               self.element)
        self.top = top_promoters(self.links, pd.unique(view[schema.ENHANCER_NAME]))
        self.view = view                        # last: observers of `view` see the new `top`

    # what the view shows and offers
    def figure(self, max_arcs: int = 400):
        """The arcs of the links in view over the element track (plotly)."""
        what = f", links of {self.element}" if self.element else ""
        n = len(self.view)
        title = (f"{self.chrom}:{self.start:,}-{self.end:,}{what}: {n} link{'s' * (n != 1)}"
                 f"{f' (the best {max_arcs} drawn)' if n > max_arcs else ''}, score ≥ {self.min_score:g}")
        return links_figure(self.view, self.chrom, self.start, self.end, title=title,
                            max_arcs=max_arcs)

    def view_text(self, fmt: str) -> str:
        """The links in view in ``fmt`` (csv, bedpe, interact, abc), ranks as in the whole file."""
        try:
            cell = str(Run(self.run_dir).prepare_record.cell_line or ".")
        except (OSError, ValueError):
            cell = "."
        return links_text(self.view, fmt, cell_type=cell, track_name=Path(self.file).stem or "speid")

    def export_name(self, fmt: str) -> str:
        """File name for a download: ``<run>_<file stem>_<chrom>_<start>_<end>.<ext>``."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        run = (self.run or "run").replace("/", "_").replace(":", "_")
        return f"{run}_{Path(self.file).stem}_{self.chrom}_{self.start}_{self.end}.{EXTENSION[fmt]}"


def _chrom_key(name: str):
    tail = name.removeprefix("chr")
    return (0, int(tail), "") if tail.isdigit() else (1, 0, tail)
