"""Scored links in four formats, with each pair's rank among its elements' candidates.

A *links table* has one row per scored pair and the columns of
:data:`LINK_COLUMNS`: the pair's chromosome, elements and distance, the score,
``enhancer_rank`` (1 = the best-scored of the enhancer's candidate promoters)
and ``promoter_rank`` (1 = the best of the promoter's candidate enhancers).
Ties are ranked by distance (closer first), then by the other element's name.

Formats (:data:`FORMATS`), all tab separated except CSV:

``csv``
    the links table with a header.
``bedpe``
    ``chrom1 start1 end1 chrom2 start2 end2 name score strand1 strand2 distance
    enhancer_rank promoter_rank``, the enhancer first, a ``#`` header line.
``interact``
    UCSC ``interact`` (bed5+13) after a ``track type=interact`` line: the score
    scaled to an integer 0-1000 in ``score`` and kept in ``value``; the name is
    ``ENHANCER~PROMOTER|e<enhancer_rank>|p<promoter_rank>``; the enhancer is the
    source, the promoter the target. Loads in the UCSC browser and igv.js.
``abc``
    the table enhancer-gene benchmarking tools read (ABC model predictions):
    ``chr start end name class TargetGene TargetGeneTSS CellType SPEID.Score``
    plus ``distance enhancer_rank promoter_rank``; ``TargetGeneTSS`` is the
    promoter's centre (its TSS when the promoter was given as 1 bp).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.io import STDOUT, open_output

FORMATS = ("csv", "bedpe", "interact", "abc")
ENHANCER_RANK, PROMOTER_RANK = "enhancer_rank", "promoter_rank"
PROMOTER_STRAND = "promoter_strand"
LINK_COLUMNS = [schema.CHROM, schema.ENHANCER_NAME, schema.ENHANCER_START, schema.ENHANCER_END,
                schema.PROMOTER_NAME, schema.PROMOTER_START, schema.PROMOTER_END, PROMOTER_STRAND,
                schema.DISTANCE, schema.SCORE, ENHANCER_RANK, PROMOTER_RANK]
BEDPE_COLUMNS = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score",
                 "strand1", "strand2", "distance", ENHANCER_RANK, PROMOTER_RANK]
INTERACT_COLUMNS = ["chrom", "chromStart", "chromEnd", "name", "score", "value", "exp", "color",
                    "sourceChrom", "sourceStart", "sourceEnd", "sourceName", "sourceStrand",
                    "targetChrom", "targetStart", "targetEnd", "targetName", "targetStrand"]
ABC_SCORE = "SPEID.Score"
ABC_COLUMNS = ["chr", "start", "end", "name", "class", "TargetGene", "TargetGeneTSS", "CellType",
               ABC_SCORE, "distance", ENHANCER_RANK, PROMOTER_RANK]
_EXTENSIONS = {".csv": "csv", ".bedpe": "bedpe", ".interact": "interact", ".tsv": "abc",
               ".txt": "abc", ".abc": "abc"}


def format_from_path(path, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else from the extension (``.gz`` ignored);
    ``csv`` for ``-`` (the standard output)."""
    if fmt is None and str(path) == STDOUT:
        fmt = "csv"
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    for s in reversed(suffixes):
        if s in _EXTENSIONS:
            return _EXTENSIONS[s]
    raise ValueError(f"cannot tell the format of {path} from its extension; give --format "
                     f"({', '.join(FORMATS)}) or end it in {', '.join(_EXTENSIONS)}")


def rank_within(groups: np.ndarray, scores: np.ndarray, tie_break: np.ndarray) -> np.ndarray:
    """1-based rank of each score within its group (highest first), shape=(n,), int64.

    Parameters
    ----------
    groups : shape=(n,), group keys (e.g. enhancer names)
    scores : shape=(n,)
    tie_break : shape=(n,), smaller wins among equal scores (e.g. distance)
    """
    g = pd.factorize(np.asarray(groups))[0]
    order = np.lexsort((tie_break, -np.asarray(scores, dtype=np.float64), g))
    gs = g[order]
    starts = np.r_[0, np.flatnonzero(gs[1:] != gs[:-1]) + 1]
    pos = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = pos + 1
    return ranks


def add_ranks(links: pd.DataFrame) -> pd.DataFrame:
    """Set ``enhancer_rank`` and ``promoter_rank`` (over all rows given; pass whole chromosomes).

    An element is its chromosome and coordinates, not its name: two promoters named
    after one gene are ranked apart.
    """
    d = links[schema.DISTANCE].to_numpy()
    score = links[schema.SCORE].to_numpy()
    for rank, start, end in ((ENHANCER_RANK, schema.ENHANCER_START, schema.ENHANCER_END),
                             (PROMOTER_RANK, schema.PROMOTER_START, schema.PROMOTER_END)):
        element = pd.MultiIndex.from_arrays([links[schema.CHROM], links[start], links[end]]).factorize()[0]
        links[rank] = rank_within(element, score, d)
    return links


def score_colour(scores) -> np.ndarray:
    """``#RRGGBB`` from light grey (0) to dark red (1), shape=(n,)."""
    s = np.clip(np.asarray(scores, dtype=np.float64), 0, 1)
    lo, hi = np.array([200, 200, 200]), np.array([178, 24, 43])
    rgb = np.rint(lo + s[:, None] * (hi - lo)).astype(int)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb], dtype=object)


def to_format(links: pd.DataFrame, fmt: str, cell_type: str = ".", track_name: str = "speid") -> pd.DataFrame:
    """The rows of a links table in one output format (header handled by :class:`LinkWriter`)."""
    L = links
    if fmt == "csv":
        extra = [c for c in L.columns if c not in LINK_COLUMNS]
        return L[LINK_COLUMNS + extra]
    strand = L.get(PROMOTER_STRAND, ".")
    score = L[schema.SCORE].to_numpy(dtype=np.float64)
    names = L[schema.ENHANCER_NAME].astype(str) + "~" + L[schema.PROMOTER_NAME].astype(str)
    if fmt == "bedpe":
        return pd.DataFrame({
            "chrom1": L[schema.CHROM], "start1": L[schema.ENHANCER_START], "end1": L[schema.ENHANCER_END],
            "chrom2": L[schema.CHROM], "start2": L[schema.PROMOTER_START], "end2": L[schema.PROMOTER_END],
            "name": names, "score": np.round(score, 6), "strand1": ".", "strand2": strand,
            "distance": L[schema.DISTANCE], ENHANCER_RANK: L[ENHANCER_RANK],
            PROMOTER_RANK: L[PROMOTER_RANK]})[BEDPE_COLUMNS]
    if fmt == "interact":
        es, ee = L[schema.ENHANCER_START].to_numpy(), L[schema.ENHANCER_END].to_numpy()
        ps, pe = L[schema.PROMOTER_START].to_numpy(), L[schema.PROMOTER_END].to_numpy()
        return pd.DataFrame({
            "chrom": L[schema.CHROM], "chromStart": np.minimum(es, ps), "chromEnd": np.maximum(ee, pe),
            "name": names + "|e" + L[ENHANCER_RANK].astype(str) + "|p" + L[PROMOTER_RANK].astype(str),
            "score": np.clip(np.rint(score * 1000), 0, 1000).astype(np.int64), "value": np.round(score, 6),
            "exp": track_name, "color": score_colour(score),
            "sourceChrom": L[schema.CHROM], "sourceStart": es, "sourceEnd": ee,
            "sourceName": L[schema.ENHANCER_NAME], "sourceStrand": ".",
            "targetChrom": L[schema.CHROM], "targetStart": ps, "targetEnd": pe,
            "targetName": L[schema.PROMOTER_NAME], "targetStrand": strand})[INTERACT_COLUMNS]
    if fmt == "abc":
        tss = (L[schema.PROMOTER_START].to_numpy() + L[schema.PROMOTER_END].to_numpy()) // 2
        return pd.DataFrame({
            "chr": L[schema.CHROM], "start": L[schema.ENHANCER_START], "end": L[schema.ENHANCER_END],
            "name": L[schema.ENHANCER_NAME], "class": "enhancer", "TargetGene": L[schema.PROMOTER_NAME],
            "TargetGeneTSS": tss, "CellType": cell_type, ABC_SCORE: np.round(score, 6),
            "distance": L[schema.DISTANCE], ENHANCER_RANK: L[ENHANCER_RANK],
            PROMOTER_RANK: L[PROMOTER_RANK]})[ABC_COLUMNS]
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def track_line(name: str = "speid", description: str = "SPEID enhancer-promoter scores") -> str:
    return (f'track type=interact name="{name}" description="{description}" '
            'interactDirectional=false maxHeightPixels=200:100:50 visibility=full useScore=on')


def _write_rows(f, links: pd.DataFrame, fmt: str, cell_type: str, track_name: str,
                first: bool) -> int:
    """Append ``links`` in ``fmt`` to the open text file ``f`` (the header too when ``first``)."""
    table = to_format(links, fmt, cell_type, track_name)
    if first and fmt == "bedpe":
        f.write("#" + "\t".join(BEDPE_COLUMNS) + "\n")
    table.to_csv(f, sep="," if fmt == "csv" else "\t", header=first and fmt in ("csv", "abc"),
                 index=False)
    return len(table)


def links_text(links: pd.DataFrame, fmt: str, cell_type: str = ".", track_name: str = "speid") -> str:
    """A links table as the text :class:`LinkWriter` writes in ``fmt`` (header lines included).

    Ranks are taken as they are in ``links`` (not recomputed), so a part of a
    scored file keeps the ranks of the whole file.
    """
    fmt = format_from_path("", fmt)
    buf = io.StringIO()
    if fmt == "interact":
        buf.write(track_line(track_name) + "\n")
    _write_rows(buf, links, fmt, cell_type, track_name, first=True)
    return buf.getvalue()


class LinkWriter:
    """Append links tables (e.g. one per chromosome) to one file, written atomically.

    Use as a context manager; the file appears only when the block ends without error.
    ``-`` writes to the standard output (:func:`speidlib.io.open_output`).
    """

    def __init__(self, path, fmt: str | None = None, cell_type: str = ".", track_name: str = "speid"):
        self.path = Path(path)
        self.fmt = format_from_path(path, fmt)
        self.cell_type, self.track_name = cell_type, track_name
        self.n_rows = 0
        self._first = True

    def __enter__(self):
        self._ctx = open_output(self.path, compress=False)
        self._f = self._ctx.__enter__()
        if self.fmt == "interact":
            self._f.write(track_line(self.track_name) + "\n")
        return self

    def write(self, links: pd.DataFrame) -> None:
        self.n_rows += _write_rows(self._f, links, self.fmt, self.cell_type, self.track_name,
                                   first=self._first)
        self._first = False

    def __exit__(self, *exc):
        if self._first and exc[0] is None:
            self.write(pd.DataFrame(columns=LINK_COLUMNS))
        return self._ctx.__exit__(*exc)


def write_links(links: pd.DataFrame, path, fmt: str | None = None, cell_type: str = ".") -> None:
    """Write one links table in ``fmt`` (or the format of the extension), atomically."""
    with LinkWriter(path, fmt, cell_type) as w:
        w.write(links)


#: the columns of a links table that hold numbers
_NUMERIC_LINK_COLUMNS = [schema.ENHANCER_START, schema.ENHANCER_END, schema.PROMOTER_START, schema.PROMOTER_END,
                         schema.DISTANCE, schema.SCORE, ENHANCER_RANK, PROMOTER_RANK]


def read_links(path, fmt: str | None = None) -> pd.DataFrame:
    """Read a file written by :class:`LinkWriter` back into a links table (:data:`LINK_COLUMNS`).

    Raises ValueError naming the file (and the line, for a value that is not a number)
    for a file that is not such a table.
    """
    path = Path(path)
    fmt = format_from_path(path, fmt)
    try:
        links = _read_links(path, fmt)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, AttributeError, TypeError) as e:
        raise ValueError(f"{path.name}: not a links table in the {fmt} format `speid score` writes "
                         f"({type(e).__name__}: {' '.join(str(e).split())})") from e
    for column in _NUMERIC_LINK_COLUMNS:
        values = pd.to_numeric(links[column], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & links[column].notna().to_numpy())
        if bad.size:  # every format has one header line before the rows
            raise ValueError(f"{path.name}, line {bad[0] + 2}: {column} {links[column].iat[bad[0]]!r} "
                             "is not a number")
        links[column] = values
    return links


def _read_links(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        t = pd.read_csv(path, dtype={schema.CHROM: str, PROMOTER_STRAND: str})
        missing = [c for c in LINK_COLUMNS if c not in t.columns]
        if missing:
            raise ValueError(f"{path.name}, line 1: missing column(s) {', '.join(missing)} of a "
                             "scored links CSV")
        return t
    if fmt == "bedpe":
        t = pd.read_csv(path, sep="\t", comment=None, skiprows=1, header=None, names=BEDPE_COLUMNS,
                        dtype={"chrom1": str})
        parts = t["name"].str.split("~", n=1, regex=False)
        en, pn = parts.str[0], parts.str[1]
        return pd.DataFrame({schema.CHROM: t["chrom1"], schema.ENHANCER_NAME: en,
                             schema.ENHANCER_START: t["start1"], schema.ENHANCER_END: t["end1"],
                             schema.PROMOTER_NAME: pn, schema.PROMOTER_START: t["start2"],
                             schema.PROMOTER_END: t["end2"], PROMOTER_STRAND: t["strand2"],
                             schema.DISTANCE: t["distance"], schema.SCORE: t["score"],
                             ENHANCER_RANK: t[ENHANCER_RANK], PROMOTER_RANK: t[PROMOTER_RANK]})
    if fmt == "interact":
        t = pd.read_csv(path, sep="\t", skiprows=1, header=None, names=INTERACT_COLUMNS,
                        dtype={"chrom": str})
        ranks = t["name"].str.extract(r"\|e(\d+)\|p(\d+)$").astype(np.int64)
        ce = (t["sourceStart"] + t["sourceEnd"]) // 2
        cp = (t["targetStart"] + t["targetEnd"]) // 2
        return pd.DataFrame({schema.CHROM: t["chrom"], schema.ENHANCER_NAME: t["sourceName"],
                             schema.ENHANCER_START: t["sourceStart"], schema.ENHANCER_END: t["sourceEnd"],
                             schema.PROMOTER_NAME: t["targetName"], schema.PROMOTER_START: t["targetStart"],
                             schema.PROMOTER_END: t["targetEnd"], PROMOTER_STRAND: t["targetStrand"],
                             schema.DISTANCE: (ce - cp).abs(), schema.SCORE: t["value"],
                             ENHANCER_RANK: ranks[0], PROMOTER_RANK: ranks[1]})
    t = pd.read_csv(path, sep="\t", dtype={"chr": str})
    missing = [c for c in ABC_COLUMNS if c not in t.columns]
    if missing:
        raise ValueError(f"{path.name}, line 1: missing column(s) {', '.join(missing)} of an "
                         "ABC-style table")
    return pd.DataFrame({schema.CHROM: t["chr"], schema.ENHANCER_NAME: t["name"],
                         schema.ENHANCER_START: t["start"], schema.ENHANCER_END: t["end"],
                         schema.PROMOTER_NAME: t["TargetGene"], schema.PROMOTER_START: t["TargetGeneTSS"],
                         schema.PROMOTER_END: t["TargetGeneTSS"] + 1, PROMOTER_STRAND: ".",
                         schema.DISTANCE: t["distance"], schema.SCORE: t[ABC_SCORE],
                         ENHANCER_RANK: t[ENHANCER_RANK], PROMOTER_RANK: t[PROMOTER_RANK]})
