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
a ``#`` line right before the data may be the header). Every loader returns
the same table: the columns of :data:`speidlib.schema.PAIR_COLUMNS`, plus
``prediction`` when the input has it, one row per pair in file order.
Coordinates are 0-based half-open ints, ``label`` is int 0/1 and ``distance``
is ``|enhancer centre - promoter centre|`` in bp with ``centre = (start +
end) // 2``. Bad input raises ``ValueError`` naming the file, the 1-based line
and the problem.
"""
from __future__ import annotations

import csv
import gzip
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema as S
from .io import atomic_path

__all__ = [
    "read_pairs", "write_pairs", "element_table", "targetfinder_path",
    "download_targetfinder", "targetfinder_pairs", "TARGETFINDER_URL",
    "TARGETFINDER_CELLS", "TARGETFINDER_FEATURE_SETS",
]

TARGETFINDER_URL = ("https://raw.githubusercontent.com/shwhalen/targetfinder/master/"
                    "paper/targetfinder/{cell}/output-{feature_set}/predictions-gbm.csv")
TARGETFINDER_CELLS = ("GM12878", "HeLa-S3", "HUVEC", "IMR90", "K562", "NHEK")
TARGETFINDER_FEATURE_SETS = ("ep", "eep", "epw")

GBM_COLUMNS = [S.ENHANCER_NAME, S.PROMOTER_NAME, S.LABEL]
PAIRS_CSV_COLUMNS = [S.ENHANCER_CHROM, S.ENHANCER_START, S.ENHANCER_END,
                     S.PROMOTER_CHROM, S.PROMOTER_START, S.PROMOTER_END, S.LABEL]
_NAME_RE = r"^(?:(?P<cell>[^|]*)\|)?(?P<chrom>[^:|\s]+):(?P<start>\d{1,18})-(?P<end>\d{1,18})$"
_INT_RE = r"[+-]?\d{1,18}"
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
    path = Path(path)
    fname = path.name
    lines = _read_lines(path, fname)
    kept = [(i + 1, line) for i, line in enumerate(lines)
            if line.strip() and not line.lstrip().startswith("#")]
    if not kept:
        raise ValueError(f"{fname}: no rows (only blank or '#' comment lines)")
    first_no, first = kept[0]
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
            raise ValueError(f"{fname}: broken gzip data ({e})") from e
    if not raw.strip():
        raise ValueError(f"{fname}: the file is empty")
    if b"\x00" in raw:
        raise ValueError(f"{fname}: not a text file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ValueError(f"{fname}, line {line}: not UTF-8 text") from e
    # split on \n only (splitlines would also split on \x0b, \x1c, ... and shift line numbers)
    return [line.rstrip("\r") for line in text.split("\n")]


def _rows(fname: str, kept: list[tuple[int, str]], delimiter: str, quoting: int):
    """Split ``kept`` lines into fields; header = first line. Returns header, rows, line numbers."""
    try:
        rows = list(csv.reader((line for _, line in kept), delimiter=delimiter, quoting=quoting,
                               strict=True))
    except csv.Error as e:
        raise ValueError(f"{fname}: cannot split the lines into fields ({e})") from e
    if len(rows) != len(kept):  # a quoted field ran across lines
        raise ValueError(f"{fname}: a quoted field spans several lines; quote each field "
                         "within its line")
    return rows, np.array([n for n, _ in kept])


def _frame(fname, header, rows, line_no):
    """DataFrame of str from ``rows`` whose field count must match ``header``."""
    width = len(header)
    for row, n in zip(rows, line_no):
        if len(row) != width:
            raise ValueError(f"{fname}, line {n}: expected {width} fields as in the header, "
                             f"found {len(row)}")
    if not rows:
        raise ValueError(f"{fname}, line {line_no[0] - 1 if len(line_no) else 1}: "
                         "the header has no data rows after it")
    return pd.DataFrame(rows, columns=range(width), dtype=object)


def _read_csv(fname: str, kept) -> pd.DataFrame:
    rows, line_no = _rows(fname, kept, ",", csv.QUOTE_MINIMAL)
    header = [h.strip() for h in rows[0]]
    header_line = line_no[0]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise ValueError(f"{fname}, line {header_line}: column '{dup}' appears twice in the header")
    if not rows[1:]:
        raise ValueError(f"{fname}, line {header_line}: the header has no data rows after it")
    df = _frame(fname, header, rows[1:], line_no[1:])
    df.columns = header
    lines = line_no[1:]
    if all(c in header for c in PAIRS_CSV_COLUMNS):
        cols = {k: df[k] for k in PAIRS_CSV_COLUMNS}
        return _finish(fname, lines, **_coords(cols), label=df[S.LABEL],
                       enhancer_name=df.get(S.ENHANCER_NAME), promoter_name=df.get(S.PROMOTER_NAME),
                       cell_line=df.get(S.CELL_LINE), prediction=df.get(S.PREDICTION))
    if all(c in header for c in GBM_COLUMNS):
        parsed = {}
        for which in ("enhancer", "promoter"):
            parsed[which] = _parse_names(fname, lines, df[f"{which}_name"], f"{which}_name")
        e, p = parsed["enhancer"], parsed["promoter"]
        cell = df[S.CELL_LINE] if S.CELL_LINE in header else e["cell"]
        return _finish(fname, lines, e["chrom"], e["start"], e["end"], p["chrom"], p["start"],
                       p["end"], label=df[S.LABEL], enhancer_name=df[S.ENHANCER_NAME],
                       promoter_name=df[S.PROMOTER_NAME], cell_line=cell,
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
    if len(fields) > 1 and not fields[1].strip().lstrip("+-").isdigit():
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
    df = _frame(fname, header or list(range(width)), rows, line_no)
    named = {h: i for i, h in enumerate(header or [])}
    if S.LABEL in named:
        label = df[named[S.LABEL]]
    elif width >= 8:
        label = df[7]
        bad = ~label.str.strip().isin(list(_LABELS))
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

    coords = _coords({k: df[i] for i, k in enumerate(PAIRS_CSV_COLUMNS[:6])})
    return _finish(fname, line_no, **coords, label=label, enhancer_name=opt(S.ENHANCER_NAME),
                   promoter_name=opt(S.PROMOTER_NAME), cell_line=opt(S.CELL_LINE),
                   prediction=opt(S.PREDICTION))


def _coords(cols: dict) -> dict:
    """Map ``enhancer_chrom, ...`` string columns onto ``_finish`` keyword names."""
    return dict(e_chrom=cols[S.ENHANCER_CHROM], e_start=(cols[S.ENHANCER_START], S.ENHANCER_START),
                e_end=(cols[S.ENHANCER_END], S.ENHANCER_END), p_chrom=cols[S.PROMOTER_CHROM],
                p_start=(cols[S.PROMOTER_START], S.PROMOTER_START),
                p_end=(cols[S.PROMOTER_END], S.PROMOTER_END))


def _parse_names(fname, lines, names: pd.Series, column: str) -> dict:
    """Split ``CELL|chrom:start-end`` names into cell, chrom, start, end columns."""
    parts = names.str.strip().str.extract(_NAME_RE)
    bad = parts["chrom"].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{fname}, line {lines[i]}: {column} {names.iloc[i]!r} is not of the form "
                         "CELL|chrom:start-end (start and end whole numbers)")
    return {"cell": parts["cell"].fillna(""), "chrom": parts["chrom"],
            "start": parts["start"].astype(np.int64).to_numpy(),
            "end": parts["end"].astype(np.int64).to_numpy(), "column": column, "names": names}


def _to_int(values: pd.Series, column: str, problems: list):
    """Whole numbers from strings; unparsable entries are recorded in ``problems``."""
    s = values.str.strip()
    ok = s.str.fullmatch(_INT_RE).fillna(False).to_numpy(dtype=bool)
    problems.append((~ok, lambda i: f"{column} {values.iloc[i]!r} is not a whole number"))
    return np.where(ok, s, "0").astype(np.int64)


def _finish(fname, lines, e_chrom, e_start, e_end, p_chrom, p_start, p_end, label,
            enhancer_name=None, promoter_name=None, cell_line=None, prediction=None):
    """Check the parsed columns and build the output table.

    ``*_start``/``*_end`` are either int arrays (from names, with the name
    column in ``enhancer_name``/``promoter_name``) or ``(str Series,
    column)`` tuples from coordinate columns.
    """
    problems: list = []  # (bad mask, describe(row) -> str), checked in this order per row
    coords = {}
    for key, value in (("e_start", e_start), ("e_end", e_end), ("p_start", p_start), ("p_end", p_end)):
        if isinstance(value, tuple):
            coords[key] = _to_int(value[0], value[1], problems)
            problems.append((coords[key] < 0, lambda i, v=coords[key], c=value[1]:
                             f"{c} is negative ({v[i]})"))
        else:
            coords[key] = value
    from_names = not isinstance(e_start, tuple)
    for w, chrom_col in (("e", e_chrom), ("p", p_chrom)):
        start, end = coords[f"{w}_start"], coords[f"{w}_end"]
        which = "enhancer" if w == "e" else "promoter"
        if from_names:
            names = enhancer_name if w == "e" else promoter_name
            problems.append((start >= end, lambda i, n=names, c=f"{which}_name":
                             f"{c} {n.iloc[i]!r} has start >= end"))
        else:
            problems.append((start >= end, lambda i, s=start, e=end, c=which:
                             f"{c} start {s[i]} >= end {e[i]}"))
    e_chrom = e_chrom.str.strip()
    p_chrom = p_chrom.str.strip()
    problems.append(((e_chrom == "").to_numpy() | (p_chrom == "").to_numpy(),
                     lambda i: "chromosome is empty"))
    problems.append(((e_chrom != p_chrom).to_numpy(), lambda i:
                     f"enhancer on {e_chrom.iloc[i]} but promoter on {p_chrom.iloc[i]}; "
                     "a pair must lie on one chromosome"))
    lab = label.str.strip().map(_LABELS)
    problems.append((lab.isna().to_numpy(), lambda i: f"label {label.iloc[i]!r} is not 0 or 1"))
    if prediction is not None:
        pred_s = prediction.str.strip()
        pred = pd.to_numeric(pred_s.mask(pred_s == ""), errors="coerce").to_numpy(dtype=float)
        problems.append(((np.isnan(pred) & (pred_s != "").to_numpy()), lambda i:
                         f"prediction {prediction.iloc[i]!r} is not a number"))
    _raise_first(fname, lines, problems)

    es, ee, ps, pe = coords["e_start"], coords["e_end"], coords["p_start"], coords["p_end"]
    cell = (cell_line.str.strip() if cell_line is not None
            else pd.Series("", index=e_chrom.index, dtype=object))
    out = pd.DataFrame({
        S.ENHANCER_NAME: _names(enhancer_name, cell, e_chrom, es, ee),
        S.PROMOTER_NAME: _names(promoter_name, cell, p_chrom, ps, pe),
        S.CELL_LINE: cell.to_numpy(dtype=object),
        S.CHROM: e_chrom.to_numpy(dtype=object),
        S.ENHANCER_START: es, S.ENHANCER_END: ee, S.PROMOTER_START: ps, S.PROMOTER_END: pe,
        S.DISTANCE: np.abs((es + ee) // 2 - (ps + pe) // 2),
        S.LABEL: lab.to_numpy(dtype=np.int64),
    })
    if prediction is not None:
        out[S.PREDICTION] = pred
    return out


def _names(given, cell, chrom, start, end) -> np.ndarray:
    """Given names, with blanks (or all, when absent) built as ``CELL|chrom:start-end``."""
    prefix = np.where(cell.to_numpy(dtype=object) == "", "", cell.to_numpy(dtype=object) + "|")
    built = prefix + chrom.to_numpy(dtype=object) + ":" + start.astype(str).astype(object) \
        + "-" + end.astype(str).astype(object)
    if given is None:
        return built.astype(object)
    given = given.str.strip().to_numpy(dtype=object)
    return np.where(given == "", built, given).astype(object)


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


def targetfinder_path(cell: str, feature_set: str = "ep",
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


def download_targetfinder(cell: str, feature_set: str = "ep",
                          cache_dir: str | os.PathLike = "data/targetfinder",
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


def targetfinder_pairs(cell: str, feature_set: str = "ep", data_dir=None,
                       cache_dir: str | os.PathLike = "data/targetfinder") -> pd.DataFrame:
    """Read a TargetFinder table: the local copy if there is one, else download it."""
    path = targetfinder_path(cell, feature_set, data_dir)
    if path is None:
        path = download_targetfinder(cell, feature_set, cache_dir)
    return read_pairs(path)
