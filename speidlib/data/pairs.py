"""Load, check and write enhancer-promoter pair tables.

Three input shapes are read, plain or gzip-compressed (detected from the
file's first bytes, not its name):

* TargetFinder ``predictions-gbm.csv``: ``enhancer_name, promoter_name,
  label[, prediction]`` with names such as ``K562|chr1:6454864-6455189``.
* TargetFinder ``pairs.csv``: ``enhancer_chrom, enhancer_start, enhancer_end,
  promoter_chrom, promoter_start, promoter_end, label`` plus any other columns
  (``enhancer_name``, ``promoter_name``, ``cell_line`` and ``prediction`` are
  used when present).
* BEDPE (tab separated): ``chrom1 start1 end1 chrom2 start2 end2 [name score
  ...]``, the enhancer first. The label comes from a ``label`` column when a
  header line names one, otherwise from column 8 (score) when it holds 0/1.

Blank lines and lines starting with ``#`` are skipped in every shape (in BEDPE
a ``#`` line right before the data may be the header). A CSV holding both
coordinate columns and names is read as ``pairs.csv``: coordinates from the
columns, names kept as given (blank ones built as ``CELL|chrom:start-end``). Every loader returns
the same table: the columns of :data:`speidlib.schema.PAIR_COLUMNS`, plus
``prediction`` when the input has it, one row per pair in file order.
Coordinates are 0-based half-open ints, ``label`` is int 0/1 and ``distance``
is ``|enhancer centre - promoter centre|`` in bp with ``centre = (start +
end) // 2``. Bad input raises ``ValueError`` naming the file, the 1-based line
and the problem; a UTF-8 byte-order mark at the start is read past.

The same checks serve every step that reads pairs: :func:`read_bedpe_block`
checks the lines of the candidate BEDPE that ``speid score`` streams, and
:func:`check_within_genome` is the bounds check of ``speid prepare`` and
``speid score`` (an element past its chromosome's end is a located error).
Elements are identified by chromosome and coordinates (:func:`element_keys`,
:func:`element_index`), never by name.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import re
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema as S
from speidlib.io import atomic_path
from speidlib.options import option

__all__ = [
    "read_pairs", "read_bedpe_block", "check_within_genome", "write_pairs", "element_table",
    "targetfinder_path", "download_targetfinder", "targetfinder_pairs", "targetfinder_download", "TARGETFINDER_URL",
    "TARGETFINDER_CELLS", "TARGETFINDER_FEATURE_SETS",
]

TARGETFINDER_URL = ("https://raw.githubusercontent.com/shwhalen/targetfinder/master/"
                    "paper/targetfinder/{cell}/output-{feature_set}/predictions-gbm.csv")
TARGETFINDER_CELLS = ("GM12878", "HeLa-S3", "HUVEC", "IMR90", "K562", "NHEK")
TARGETFINDER_FEATURE_SETS = ("ep", "eep", "epw")

GBM_COLUMNS = [S.ENHANCER_NAME, S.PROMOTER_NAME, S.LABEL]
PAIRS_CSV_COLUMNS = [S.ENHANCER_CHROM, S.ENHANCER_START, S.ENHANCER_END,
                     S.PROMOTER_CHROM, S.PROMOTER_START, S.PROMOTER_END, S.LABEL]
_NAME = re.compile(r"(?:(?P<cell>[^|]*)\|)?(?P<chrom>[^:|\s]+)"
                   r":(?P<start>[0-9]{1,18})-(?P<end>[0-9]{1,18})")
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


# --- reading ----------------------------------------------------------------
def read_pairs(path: str | os.PathLike) -> pd.DataFrame:
    """Read a pair table (TargetFinder CSV in either shape, or BEDPE).

    Parameters
    ----------
    path : str or PathLike
        Plain or gzip-compressed file.

    Returns
    -------
    pandas.DataFrame, shape=(n_pairs, 10 or 11)
        Columns ``schema.PAIR_COLUMNS`` (+ ``prediction`` when present).

    Raises
    ------
    ValueError
        ``"<file>, line <n>: <problem>"`` for a missing column, an unparsable
        or negative coordinate, start >= end, a label other than 0/1, an
        enhancer and promoter on different chromosomes, an empty file, a file
        without data rows, or a file that is not text.
    """
    return read_pairs_with_lines(path)[0]


def read_pairs_with_lines(path: str | os.PathLike) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`read_pairs`, and the file line of each row, shape=(n_pairs,), int64."""
    table = _read_pairs(path)
    return table, np.asarray(table.attrs.pop("lines"), dtype=np.int64)


def _read_pairs(path: str | os.PathLike) -> pd.DataFrame:
    """:func:`read_pairs` with the rows' line numbers in ``attrs["lines"]``."""
    path = Path(path)
    fname = path.name
    lines = _read_lines(path, fname)
    kept = [(i + 1, line) for i, line in enumerate(lines)
            if line.strip() and not line.lstrip().startswith("#")]
    if not kept:
        raise ValueError(f"{fname}, line {len(lines)}: no header and no rows, only blank or "
                         "'#' comment lines")
    first = kept[0][1]
    if "\t" not in first and "," in first:
        return _read_csv(fname, kept)
    return _read_bedpe(fname, lines, kept)


def _read_lines(path: Path, fname: str) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{fname}: cannot read the file ({e.strerror or e})") from e
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{fname}: not a valid gzip file ({e})") from e
    if not raw.strip():
        raise ValueError(f"{fname}, line 1: the file is empty")
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise ValueError(f"{fname}, line {line}: not a text file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ValueError(f"{fname}, line {line}: not UTF-8 text") from e
    # split on \n only (splitlines would also split on \x0b, \x1c, ... and shift line numbers)
    return [line.rstrip("\r") for line in text.split("\n")]


def _rows(fname: str, kept: list[tuple[int, str]], delimiter: str, quoting: int):
    """Split the ``(line number, line)`` pairs in ``kept`` into fields.

    Returns the rows (lists of str) and their line numbers, shape=(n_rows,).
    """
    reader = csv.reader((line for _, line in kept), delimiter=delimiter, quoting=quoting,
                        strict=True)
    rows = []
    try:
        for row in reader:
            if reader.line_num != len(rows) + 1:  # a quoted field ran across lines
                raise ValueError(f"{fname}, line {kept[len(rows)][0]}: a quoted field runs on "
                                 "past the end of the line")
            rows.append(row)
    except csv.Error as e:
        raise ValueError(f"{fname}, line {kept[reader.line_num - 1][0]}: cannot split the line "
                         f"into fields ({e})") from e
    return rows, np.array([n for n, _ in kept])


def _frame(fname, width, rows, line_no, reference="the header"):
    """DataFrame of str from ``rows``, each of which must have ``width`` fields."""
    for row, n in zip(rows, line_no):
        if len(row) != width:
            raise ValueError(f"{fname}, line {n}: expected {width} fields as in {reference}, "
                             f"found {len(row)}")
    return pd.DataFrame(rows, columns=range(width), dtype="str")

def _read_csv(fname: str, kept) -> pd.DataFrame:
    rows, line_no = _rows(fname, kept, ",", csv.QUOTE_MINIMAL)
    header = [h.strip() for h in rows[0]]
    header_line = line_no[0]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise ValueError(f"{fname}, line {header_line}: column '{dup}' appears twice in the header")
    if not rows[1:]:
        raise ValueError(f"{fname}, line {header_line}: the header has no data rows after it")
    df = _frame(fname, len(header), rows[1:], line_no[1:])
    df.columns = header
    lines = line_no[1:]
    if all(c in header for c in PAIRS_CSV_COLUMNS):
        problems: list = []
        e = _coordinate_columns(df[S.ENHANCER_CHROM], df[S.ENHANCER_START], df[S.ENHANCER_END],
                                "enhancer", problems)
        p = _coordinate_columns(df[S.PROMOTER_CHROM], df[S.PROMOTER_START], df[S.PROMOTER_END],
                                "promoter", problems)
        return _finish(fname, lines, problems, e, p, df[S.LABEL], cell=df.get(S.CELL_LINE),
                       enhancer_name=df.get(S.ENHANCER_NAME), promoter_name=df.get(S.PROMOTER_NAME),
                       prediction=df.get(S.PREDICTION))
    if all(c in header for c in GBM_COLUMNS):
        problems = []
        e = _name_columns(df[S.ENHANCER_NAME], S.ENHANCER_NAME, problems)
        p = _name_columns(df[S.PROMOTER_NAME], S.PROMOTER_NAME, problems)
        return _finish(fname, lines, problems, e, p, df[S.LABEL],
                       cell=df[S.CELL_LINE] if S.CELL_LINE in header else e["cell"],
                       enhancer_name=df[S.ENHANCER_NAME], promoter_name=df[S.PROMOTER_NAME],
                       prediction=df.get(S.PREDICTION))
    shape = PAIRS_CSV_COLUMNS if any(c in header for c in PAIRS_CSV_COLUMNS[:6]) else GBM_COLUMNS
    missing = [c for c in shape if c not in header]
    raise ValueError(f"{fname}, line {header_line}: missing column(s) {', '.join(missing)}; "
                     f"a pair table needs {', '.join(GBM_COLUMNS)} (TargetFinder "
                     f"predictions-gbm.csv) or {', '.join(PAIRS_CSV_COLUMNS)} (TargetFinder pairs.csv)")


def _read_bedpe(fname: str, lines: list[str], kept) -> pd.DataFrame:
    header = None
    first_no, first = kept[0]
    fields = first.split("\t")
    if len(fields) > 1 and not _INT.fullmatch(fields[1].strip()):
        header = [f.strip() for f in fields]
        kept = kept[1:]
    elif first_no > 1 and lines[first_no - 2].startswith("#"):
        # a '#' line right before the data naming at least six tab-separated columns
        candidate = lines[first_no - 2].lstrip("#").split("\t")
        if len(candidate) == len(fields) and len(candidate) >= 6:
            header = [f.strip() for f in candidate]
    if not kept:
        raise ValueError(f"{fname}, line {first_no}: the header has no data rows after it")
    rows, line_no = _rows(fname, kept, "\t", csv.QUOTE_NONE)
    width = len(header) if header else len(rows[0])
    if width < 6:
        raise ValueError(f"{fname}, line {line_no[0]}: found {width} field(s); a BEDPE line needs "
                         "at least chrom1, start1, end1, chrom2, start2, end2 separated by tabs "
                         "(or give a CSV with a header)")
    df = _frame(fname, width, rows, line_no, "the header" if header else "the first line")
    named = {h: i for i, h in enumerate(header or [])}
    if S.LABEL in named:
        label = df[named[S.LABEL]]
    elif width >= 8:
        label = df[7]
        bad = _unique_map(label, lambda u: u.strip() not in _LABELS, bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{fname}, line {line_no[i]}: column 8 (score) is {label.iloc[i]!r}; "
                             "without a 'label' column in a header the score column must hold "
                             "the 0/1 label")
    else:
        raise ValueError(f"{fname}, line {line_no[0]}: no label; a BEDPE needs a header naming a "
                         "'label' column, or 0/1 labels in column 8 (score)")

    def opt(col):
        return df[named[col]] if col in named else None

    problems: list = []
    e = _coordinate_columns(df[0], df[1], df[2], "enhancer", problems, ("chrom1", "start1", "end1"))
    p = _coordinate_columns(df[3], df[4], df[5], "promoter", problems, ("chrom2", "start2", "end2"))
    return _finish(fname, line_no, problems, e, p, label, cell=opt(S.CELL_LINE),
                   enhancer_name=opt(S.ENHANCER_NAME), promoter_name=opt(S.PROMOTER_NAME),
                   prediction=opt(S.PREDICTION))


def _unique_map(values, fn, dtype=object) -> np.ndarray:
    """``fn`` applied to each distinct value of ``values``, spread back to shape=(n,)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return np.array([fn(u) for u in uniques], dtype=dtype)[codes]


def _coordinate_columns(chrom, start, end, which, problems, columns=None) -> dict:
    """Chromosome and whole-number start/end from string columns; problems are recorded."""
    columns = columns or (f"{which}_chrom", f"{which}_start", f"{which}_end")
    out = {"chrom": _unique_map(chrom, str.strip)}
    for key, values, column in (("start", start, columns[1]), ("end", end, columns[2])):
        ok = _unique_map(values, lambda u: bool(_INT.fullmatch(u.strip())), bool)
        out[key] = np.where(ok, values.to_numpy(dtype=object), "0").astype(np.int64)
        problems.append((~ok, lambda i, v=values, c=column: f"{c} {v.iloc[i]!r} is not a whole number"))
        problems.append((out[key] < 0, lambda i, v=out[key], c=column: f"{c} is negative ({v[i]})"))
    problems.append((out["chrom"] == "", lambda i, c=columns[0]: f"{c} is empty"))
    problems.append((out["start"] >= out["end"], lambda i, s=out["start"], e=out["end"]:
                     f"{which} start {s[i]} >= end {e[i]}"))
    return out


def _name_columns(names, column, problems) -> dict:
    """Cell, chromosome, start and end from ``CELL|chrom:start-end`` names."""
    codes, uniques = pd.factorize(np.asarray(names, dtype=object))
    parts = [_NAME.fullmatch(u.strip()) for u in uniques]
    ok = np.array([m is not None for m in parts], dtype=bool)[codes]
    problems.append((~ok, lambda i: f"{column} {names.iloc[i]!r} is not of the form "
                     "CELL|chrom:start-end (start and end whole numbers)"))
    out = {"cell": np.array([m["cell"] or "" if m else "" for m in parts], dtype=object)[codes],
           "chrom": np.array([m["chrom"] if m else "?" for m in parts], dtype=object)[codes]}
    for key in ("start", "end"):
        out[key] = np.array([int(m[key]) if m else 0 for m in parts], dtype=np.int64)[codes]
    problems.append((ok & (out["start"] >= out["end"]), lambda i:
                     f"{column} {names.iloc[i]!r} has start >= end"))
    return out


def _finish(fname, lines, problems, e, p, label, cell=None, enhancer_name=None,
            promoter_name=None, prediction=None) -> pd.DataFrame:
    """Check the parsed columns and build the output table.

    ``e`` and ``p`` hold ``chrom`` (object), ``start`` and ``end`` (int64)
    arrays of shape=(n,); ``problems`` lists ``(bad mask, describe(row))``
    found so far, in the order they are reported for one row.
    """
    _same_chromosome(e, p, problems)
    lab = _unique_map(label, lambda u: _LABELS.get(u.strip(), -1), np.int64)
    problems.append((lab < 0, lambda i: f"label {label.iloc[i]!r} is not 0 or 1"))
    if prediction is not None:
        parsed = _unique_map(prediction, _parse_float)  # shape=(n, 2): value, ok
        pred = parsed[:, 0].astype(float)
        problems.append((~parsed[:, 1].astype(bool), lambda i:
                         f"prediction {prediction.iloc[i]!r} is not a number"))
    _raise_first(fname, lines, problems)

    cell = np.full(len(lab), "", dtype=object) if cell is None else _unique_map(cell, str.strip)
    out = pd.DataFrame({
        S.ENHANCER_NAME: _names(enhancer_name, cell, e),
        S.PROMOTER_NAME: _names(promoter_name, cell, p),
        S.CELL_LINE: cell,
        S.CHROM: e["chrom"],
        S.ENHANCER_START: e["start"], S.ENHANCER_END: e["end"],
        S.PROMOTER_START: p["start"], S.PROMOTER_END: p["end"],
        S.DISTANCE: np.abs((e["start"] + e["end"]) // 2 - (p["start"] + p["end"]) // 2),
        S.LABEL: lab,
    })
    if prediction is not None:
        out[S.PREDICTION] = pred
    out.attrs["lines"] = list(lines)  # taken off at once by read_pairs_with_lines
    return out


def _same_chromosome(e: dict, p: dict, problems: list) -> None:
    """Record the pairs whose enhancer and promoter lie on different chromosomes."""
    problems.append((e["chrom"] != p["chrom"], lambda i:
                     f"enhancer on {e['chrom'][i]} but promoter on {p['chrom'][i]}; "
                     "a pair must lie on one chromosome"))


def read_bedpe_block(fname: str, kept, columns) -> pd.DataFrame:
    """A block of data lines of a BEDPE whose header names ``columns``, checked as :func:`read_pairs` checks.

    The reader of the candidate BEDPE (:func:`speidlib.data.candidates.iter_candidate_chunks`),
    which streams a file too large for :func:`read_pairs`, splits and checks its lines here:
    the field count, whole non-negative coordinates, ``start < end`` and one chromosome per
    pair, the first problem raised as ``"<file>, line <n>: <problem>"``.

    Parameters
    ----------
    fname : the file's name, for messages
    kept : ``(line number, line)`` pairs of data lines (no header, blank or ``#`` lines)
    columns : the header's column names, ``chrom1 start1 end1 chrom2 start2 end2`` first

    Returns
    -------
    pandas.DataFrame, shape=(n_lines, len(columns) + 1): the columns as text, but the six
    coordinate columns (chromosomes stripped, positions int64), and ``line`` (int64).
    """
    line_no = np.fromiter((n for n, _ in kept), dtype=np.int64, count=len(kept))
    width = len(columns)
    tabs = np.fromiter((line.count("\t") for _, line in kept), dtype=np.int64, count=len(kept))
    wrong = np.flatnonzero(tabs != width - 1)
    if wrong.size:
        i = int(wrong[0])
        raise ValueError(f"{fname}, line {line_no[i]}: expected {width} fields as in the header, "
                         f"found {tabs[i] + 1}")
    # every line now has the header's fields: pandas' C parser splits them (no quoting, as BEDPE)
    table = pd.read_csv(io.StringIO("\n".join(line for _, line in kept)), sep="\t", header=None,
                        names=range(width), dtype=str, quoting=csv.QUOTE_NONE, na_filter=False,
                        skip_blank_lines=False)
    fields = [table[i] for i in range(width)]
    problems: list = []
    e = _coordinate_columns(*fields[0:3], "enhancer", problems, ("chrom1", "start1", "end1"))
    p = _coordinate_columns(*fields[3:6], "promoter", problems, ("chrom2", "start2", "end2"))
    _same_chromosome(e, p, problems)
    _raise_first(fname, line_no, problems)
    df = table.set_axis(list(columns), axis=1)
    for side, element in (("1", e), ("2", p)):
        for key in ("chrom", "start", "end"):
            df[key + side] = element[key]
    df["line"] = line_no
    return df


def check_within_genome(genome, source: str, lines, chroms, elements: dict) -> None:
    """Raise ValueError for the first element that does not lie within its chromosome.

    One check for every step that reads pairs (``speid prepare``, ``speid score``).

    Parameters
    ----------
    genome : an open :class:`speidlib.data.genome.Genome`
    source : the pair file's name, for the message
    lines : shape=(n_pairs,), each pair's line in ``source``
    chroms : shape=(n_pairs,), each pair's chromosome
    elements : branch -> ``(starts, ends)``, each shape=(n_pairs,), 0-based half-open

    Raises
    ------
    ValueError
        ``"<file>, line <n>: enhancer chr1:a-b runs past the end of chr1 (<length> bp in
        <FASTA>; <k> element(s) do): ..."`` (a negative start included).
    """
    lines, chroms = np.asarray(lines), np.asarray(chroms)
    for branch, (start, end) in elements.items():
        start, end = np.asarray(start), np.asarray(end)
        bad = np.flatnonzero(genome.outside(chroms, start, end))
        if bad.size:
            i = int(bad[0])
            chrom = chroms[i]
            where = "starts before the start" if start[i] < 0 else "runs past the end"
            raise ValueError(
                f"{source}, line {lines[i]}: {branch} {chrom}:{start[i]}-{end[i]} {where} "
                f"of {chrom} ({genome.chrom_sizes[chrom]:,} bp in {genome.path.name}; "
                f"{bad.size} element(s) do): is the genome the assembly the table was made for "
                "(e.g. hg19 coordinates on hg38)?")


def _parse_float(u: str) -> tuple[float, bool]:
    """``(value, parsed)``; a blank field is ``(nan, True)``."""
    if not u.strip():
        return np.nan, True
    try:
        return float(u), True
    except ValueError:
        return np.nan, False


def _names(given, cell: np.ndarray, element: dict) -> np.ndarray:
    """Given names, with blanks (or all, when absent) built as ``CELL|chrom:start-end``."""
    given = None if given is None else _unique_map(given, str.strip)
    missing = np.ones(len(cell), bool) if given is None else given == ""
    if not missing.any():
        return given
    idx = np.flatnonzero(missing)
    built = [f"{c}|{ch}:{s}-{e}" if c else f"{ch}:{s}-{e}" for c, ch, s, e in
             zip(cell[idx], element["chrom"][idx], element["start"][idx], element["end"][idx])]
    names = np.empty(len(cell), dtype=object) if given is None else given.copy()
    names[idx] = built
    return names


def _raise_first(fname, lines, problems) -> None:
    """Raise for the earliest row that fails any check (ties: first check listed)."""
    first = None
    for mask, describe in problems:
        hits = np.flatnonzero(mask)
        if hits.size and (first is None or hits[0] < first[0]):
            first = (int(hits[0]), describe)
    if first is not None:
        i, describe = first
        raise ValueError(f"{fname}, line {lines[i]}: {describe(i)}")


# --- element tables and writing ----------------------------------------------
def element_table(pairs: pd.DataFrame, which: str = "enhancer") -> pd.DataFrame:
    """Distinct enhancers or promoters of a pair table.

    Parameters
    ----------
    pairs : pandas.DataFrame
        As returned by :func:`read_pairs`.
    which : {"enhancer", "promoter"}

    Returns
    -------
    pandas.DataFrame, shape=(n_elements, 4)
        Columns ``name, chrom, start, end`` in order of first appearance.
    """
    if which not in S.BRANCHES:
        raise ValueError(f"which must be 'enhancer' or 'promoter', not {which!r}")
    cols = [f"{which}_name", S.CHROM, f"{which}_start", f"{which}_end"]
    missing = [c for c in cols if c not in pairs.columns]
    if missing:
        raise ValueError(f"pair table lacks column(s) {', '.join(missing)}")
    table = pairs[cols].drop_duplicates()
    table.columns = ["name", "chrom", "start", "end"]
    dup = table["name"].duplicated()
    if dup.any():
        raise ValueError(f"{which} {table['name'][dup].iloc[0]!r} appears with two different "
                         "coordinates")
    return table.reset_index(drop=True)


def write_pairs(pairs: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``pairs`` atomically in the TargetFinder ``predictions-gbm.csv`` shape.

    Columns ``enhancer_name, promoter_name, label`` (+ ``prediction`` when
    present); gzip-compressed when ``path`` ends in ``.gz``.
    """
    cols = GBM_COLUMNS + ([S.PREDICTION] if S.PREDICTION in pairs.columns else [])
    missing = [c for c in cols if c not in pairs.columns]
    if missing:
        raise ValueError(f"pair table lacks column(s) {', '.join(missing)}")
    compression = "gzip" if str(path).endswith(".gz") else None
    with atomic_path(path) as tmp:
        pairs[cols].to_csv(tmp, index=False, compression=compression)


# --- TargetFinder reference tables --------------------------------------------
def _check_targetfinder(cell: str, feature_set: str) -> None:
    if cell not in TARGETFINDER_CELLS:
        raise ValueError(f"unknown TargetFinder cell line {cell!r}; "
                         f"choose from {', '.join(TARGETFINDER_CELLS)}")
    if feature_set not in TARGETFINDER_FEATURE_SETS:
        raise ValueError(f"unknown TargetFinder feature set {feature_set!r}; "
                         f"choose from {', '.join(TARGETFINDER_FEATURE_SETS)}")
    if (cell, feature_set) == ("GM12878", "eep"):
        raise ValueError("TargetFinder has no EE/P (eep) table for GM12878")


def _default_data_dirs() -> list[Path]:
    return [Path.cwd().parent / "shared" / "data" / "targetfinder",
            Path(__file__).resolve().parents[1].parent / "shared" / "data" / "targetfinder"]


@dataclass(frozen=True)
class TargetFinderOptions:
    """The options of ``speid fetch-targetfinder`` (:mod:`speidlib.options`); :func:`download_targetfinder`'s
    defaults."""

    cell: str = option(flag="", help=f"{', '.join(TARGETFINDER_CELLS[:-1])} or {TARGETFINDER_CELLS[-1]}")
    feature_set: str = option("ep", choices=TARGETFINDER_FEATURE_SETS, flag="--set",
                              help="feature set: ep (the pairs SPEID used), eep or epw (default %(default)s)")
    cache: str = option("data/targetfinder", help="cache folder (default %(default)s)")


def targetfinder_path(cell: str, feature_set: str = TargetFinderOptions.feature_set,
                      data_dir: str | os.PathLike | None = None) -> Path | None:
    """Local copy ``<data_dir>/<cell>_<feature_set>.csv.gz`` of a TargetFinder table, or None.

    Without ``data_dir`` it looks in ``../shared/data/targetfinder`` beside the
    current directory and beside the repository.
    """
    _check_targetfinder(cell, feature_set)
    dirs = [Path(data_dir)] if data_dir is not None else _default_data_dirs()
    for d in dirs:
        for name in (f"{cell}_{feature_set}.csv.gz", f"{cell}_{feature_set}.csv"):
            if (d / name).is_file():
                return d / name
    return None


def download_targetfinder(cell: str, feature_set: str = TargetFinderOptions.feature_set,
                          cache_dir: str | os.PathLike = TargetFinderOptions.cache,
                          url: str | None = None, progress: bool = True) -> Path:
    """Download a TargetFinder ``predictions-gbm.csv`` once and return the cached path.

    Parameters
    ----------
    cell, feature_set : str
        E.g. ``"K562"``, ``"ep"``; see ``TARGETFINDER_CELLS`` and
        ``TARGETFINDER_FEATURE_SETS``.
    cache_dir : path
        The file is stored as ``<cache_dir>/<cell>_<feature_set>.csv``
        (written atomically) and not downloaded again.
    url : str, optional
        A template like :data:`TARGETFINDER_URL` (``{cell}``,
        ``{feature_set}``) to use instead of the public GitHub one.
    progress : bool
        Show a tqdm progress bar.
    """
    from tqdm.auto import tqdm

    _check_targetfinder(cell, feature_set)
    target = Path(cache_dir) / f"{cell}_{feature_set}.csv"
    if target.is_file():
        return target
    source = (url or TARGETFINDER_URL).format(cell=cell, feature_set=feature_set)
    with urllib.request.urlopen(source) as response, atomic_path(target) as tmp, \
            open(tmp, "wb") as out:
        total = response.headers.get("Content-Length")
        with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                  desc=target.name, disable=not progress) as bar:
            while block := response.read(1 << 16):
                out.write(block)
                bar.update(len(block))
    return target


def targetfinder_download(download: bool | None, url: str | None = None, timeout: float = 3.0) -> bool:
    """Whether to fetch missing TargetFinder tables: ``download``, or for None, whether the source answers.

    None asks the source of :data:`TARGETFINDER_URL` (or ``url``, a template
    like it) for K562's ``ep`` table's headers, waiting at most ``timeout``
    seconds, and prints one line when it does not answer: the tables are then
    not fetched, and the notebook cells that need them say what they skip.
    """
    if download is not None:
        return bool(download)
    source = (url or TARGETFINDER_URL).format(cell="K562", feature_set="ep")
    try:
        with urllib.request.urlopen(urllib.request.Request(source, method="HEAD"), timeout=timeout):
            return True
    except (OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        print(f"offline ({source.split('/')[2]} did not answer in {timeout:g} s: {reason}): the real "
              "TargetFinder tables not on disk are not fetched")
        return False


def targetfinder_pairs(cell: str, feature_set: str = "ep", data_dir=None,
                       cache_dir: str | os.PathLike = "data/targetfinder") -> pd.DataFrame:
    """Read a TargetFinder table: the local copy if there is one, else download it."""
    path = targetfinder_path(cell, feature_set, data_dir)
    if path is None:
        path = download_targetfinder(cell, feature_set, cache_dir)
    return read_pairs(path)


def element_keys(pairs: pd.DataFrame, branch: str) -> np.ndarray:
    """What identifies each pair's ``branch`` element: ``chrom:start-end``, shape=(n_pairs,), object.

    Elements are identified by coordinates everywhere (splits, leakage,
    datasets, caches); names are labels only, so one element under two
    names (two cell lines' tables) is one element. A table without
    coordinates (hand-built, names only) falls back to ``<branch>_name``.
    """
    if f"{branch}_start" not in pairs.columns:
        return pairs[f"{branch}_name"].astype(str).to_numpy()
    return (pairs[S.CHROM].astype(str) + ":" + pairs[f"{branch}_start"].astype(str) + "-"
            + pairs[f"{branch}_end"].astype(str)).to_numpy()


def element_index(pairs: pd.DataFrame, branch: str):
    """Distinct elements of one branch (by coordinates) and each pair's index into them.

    Returns
    -------
    table : pandas.DataFrame, shape=(n_elements, 4), columns ``name, chrom, start, end``;
        ``name`` is the first name the element has in ``pairs``
    index : np.ndarray, shape=(n_pairs,), int32, each pair's row of ``table``
    """
    chrom = pairs[S.CHROM].astype(str).to_numpy()
    start = pairs[f"{branch}_start"].to_numpy().astype(np.int64)
    end = pairs[f"{branch}_end"].to_numpy().astype(np.int64)
    codes, uniq = pd.factorize(pd.MultiIndex.from_arrays([chrom, start, end]), sort=True)
    first = np.full(len(uniq), len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    table = pd.DataFrame({
        "name": pairs[f"{branch}_name"].to_numpy()[first],
        "chrom": chrom[first], "start": start[first], "end": end[first],
    })
    return table, codes.astype(np.int32)
