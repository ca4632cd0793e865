"""Reading the ENCODE CRISPRi enhancer-gene benchmark tables.

The benchmark (EngreitzLab/CRISPR_comparison, GRCh38) lists element-gene
pairs tested by CRISPR interference: an element (``chrom, chromStart,
chromEnd``) was perturbed and the expression of a gene (``measuredGeneSymbol``,
TSS ``chrTSS, startTSS, endTSS``) measured; ``Regulated`` is TRUE when the
gene went significantly down. ``ValidConnection`` is TRUE for pairs the
benchmark evaluates, else the reason it leaves them out (e.g.
``PromoterElement``). The combined tables have 42 columns and a ``Dataset``;
Fulco et al. 2019 has 16 and names its source in ``Reference`` only.

:func:`read_crispr_benchmark` returns every row with the columns of
:data:`speidlib.schema.CRISPR_PAIR_COLUMNS`; :func:`evaluable_pairs` keeps
the rows the benchmark evaluates and counts the others by reason.

Distance to the TSS is the table's own ``distanceToTSS`` where the table has
the column (the combined tables: the value of the benchmark's distance
baseline, measured to the TSS of the benchmark's gene annotation), else the
distance from the element's centre to ``startTSS`` (the Fulco table). A TSS
recorded as 0 or blank is missing: 81 training-table pairs of one
Nasser2021 gene and 23 held-out pairs of two genes have ``startTSS`` = 0, 123
Fulco rows a blank TSS. A pair with a missing TSS keeps the table's distance
where there is one (and is evaluated; a sequence model cannot score it, see
:func:`speidlib.evaluate.crispr.run_crispr`), and is left out as ``no TSS``
where there is none. The reader counts both kinds in ``table.attrs``.

``direct_vs_indirect_negative`` (the combined tables: the probability that a
negative effect at this distance is a direct one) is read as each pair's
``weight`` for the weighted metrics (NaN where the table lacks it).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema as S

REQUIRED = ("chrom", "chromStart", "chromEnd", "measuredGeneSymbol", "chrTSS", "startTSS",
            "endTSS", "Regulated", "ValidConnection", "CellType")
TRUE_TEXT, FALSE_TEXT = ("TRUE", "True", "true"), ("FALSE", "False", "false")
NO_TSS = "no TSS"
TABLE_DISTANCE = "distanceToTSS"
WEIGHT_COLUMN = "direct_vs_indirect_negative"


def _fail(path, line: int, column: str, value: str, expected: str):
    raise ValueError(f"{path}, line {line}, column {column}: expected {expected}, got {value!r}")


def _integers(raw: pd.DataFrame, column: str, path, allow_blank: bool = False) -> np.ndarray:
    """A column as float64 of whole numbers (NaN where blank and allowed)."""
    text = raw[column].str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0)
    if allow_blank:
        bad &= (text != "").to_numpy() & ~text.isin(["NA", "NaN"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(path, i + 2, column, raw[column].iloc[i], "a non-negative whole number")
    return values


def _weights(raw: pd.DataFrame, path) -> np.ndarray:
    """``direct_vs_indirect_negative`` as float64 in [0, 1], shape=(n,)."""
    text = raw[WEIGHT_COLUMN].str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(values) & (values >= 0) & (values <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(path, i + 2, WEIGHT_COLUMN, raw[WEIGHT_COLUMN].iloc[i], "a number from 0 to 1")
    return values


def _booleans(raw: pd.DataFrame, column: str, path) -> np.ndarray:
    text = raw[column].str.strip()
    is_true, is_false = text.isin(TRUE_TEXT).to_numpy(), text.isin(FALSE_TEXT).to_numpy()
    bad = ~(is_true | is_false)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(path, i + 2, column, raw[column].iloc[i], "TRUE or FALSE")
    return is_true


def read_crispr_benchmark(path) -> pd.DataFrame:
    """Read a CRISPRi benchmark table (plain or gzip, tab-separated, with a header).

    Parameters
    ----------
    path : the 42-column ``EPCrisprBenchmark_combined_data.*.tsv.gz`` or the
        16-column ``EPCrisprBenchmark_Fulco2019_K562_GRCh38.tsv.gz``

    Returns
    -------
    DataFrame, shape=(n_rows, 13): :data:`speidlib.schema.CRISPR_PAIR_COLUMNS`
    (element ``chrom, element_start, element_end`` as int64, ``gene``, TSS
    ``tss_chrom, tss_start, tss_end`` as float64, NaN where blank or 0,
    ``regulated`` bool, ``valid_connection`` text, ``TRUE`` for evaluated
    pairs, ``cell_type``, ``dataset``), ``distance_to_tss`` (bp: the table's
    ``distanceToTSS``, else from the element's centre to the TSS start; NaN
    where neither) and ``weight`` (``direct_vs_indirect_negative``, NaN where
    the table lacks it), rows in file order. ``table.attrs``: ``tss_missing``
    (dict ``"blank"``/``"recorded as 0"`` -> rows), ``distance_from``
    (``"distanceToTSS"`` or ``"startTSS"``), ``weight_from`` (the weight
    column, or None).

    Raises
    ------
    ValueError
        Naming the file, the line (the header is line 1) and the column of the
        first malformed value, or the missing columns.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"CRISPRi benchmark table {path} does not exist")
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable tab-separated table ({e})") from e
    missing = [c for c in REQUIRED if c not in raw.columns]
    if "Dataset" not in raw.columns and "Reference" not in raw.columns:
        missing.append("Dataset or Reference")
    if missing:
        raise ValueError(f"{path}, line 1: the header lacks column(s) {', '.join(missing)} of the "
                         f"CRISPRi benchmark format (it has {', '.join(raw.columns[:6])}...)")
    if raw.empty:
        raise ValueError(f"{path} holds a header but no pair")
    start, end = _integers(raw, "chromStart", path), _integers(raw, "chromEnd", path)
    bad = np.flatnonzero(end < start)  # one held-out element is a single position (end == start)
    if bad.size:
        _fail(path, int(bad[0]) + 2, "chromEnd", raw["chromEnd"].iloc[bad[0]], "a value not below chromStart")
    tss_start = _integers(raw, "startTSS", path, allow_blank=True).copy()
    tss_end = _integers(raw, "endTSS", path, allow_blank=True).copy()
    tss_zero = tss_start == 0                      # a placeholder, not a TSS at the chromosome's start
    tss_missing = {"blank": int(np.isnan(tss_start).sum()), "recorded as 0": int(tss_zero.sum())}
    tss_start[tss_zero] = tss_end[tss_zero] = np.nan
    for column in ("chrom", "measuredGeneSymbol", "ValidConnection", "CellType"):
        blank = np.flatnonzero((raw[column].str.strip() == "").to_numpy())
        if blank.size:
            _fail(path, int(blank[0]) + 2, column, "", "a value")
    has_tss = np.isfinite(tss_start)
    other = np.flatnonzero(has_tss & (raw["chrTSS"] != raw["chrom"]).to_numpy())
    if other.size:
        _fail(path, int(other[0]) + 2, "chrTSS", raw["chrTSS"].iloc[other[0]],
              f"the element's chromosome {raw['chrom'].iloc[other[0]]}")
    valid = raw["ValidConnection"].str.strip()
    valid = valid.where(~valid.isin(TRUE_TEXT), "TRUE").where(~valid.isin(FALSE_TEXT), "FALSE")
    source = raw["Dataset"] if "Dataset" in raw.columns else raw["Reference"]
    distance = np.abs(tss_start - (start + end) // 2)
    if TABLE_DISTANCE in raw.columns:
        table_distance = _integers(raw, TABLE_DISTANCE, path, allow_blank=True)
        distance = np.where(np.isfinite(table_distance), table_distance, distance)
    weight = _weights(raw, path) if WEIGHT_COLUMN in raw.columns else np.full(len(raw), np.nan)
    table = pd.DataFrame({
        S.CRISPR_ELEMENT_CHROM: raw["chrom"].str.strip(),
        S.CRISPR_ELEMENT_START: start.astype(np.int64),
        S.CRISPR_ELEMENT_END: end.astype(np.int64),
        S.CRISPR_GENE: raw["measuredGeneSymbol"].str.strip(),
        S.CRISPR_TSS_CHROM: raw["chrTSS"].str.strip(),
        S.CRISPR_TSS_START: tss_start,
        S.CRISPR_TSS_END: tss_end,
        S.CRISPR_REGULATED: _booleans(raw, "Regulated", path),
        S.CRISPR_VALID: valid,
        S.CRISPR_CELL_TYPE: raw["CellType"].str.strip(),
        S.CRISPR_DATASET: source.str.strip(),
        S.CRISPR_DISTANCE: distance,
        S.CRISPR_WEIGHT: weight,
        S.CRISPR_LINE: np.arange(len(raw), dtype=np.int64) + 2,
    })
    table.attrs.update(tss_missing=tss_missing,
                       distance_from=TABLE_DISTANCE if TABLE_DISTANCE in raw.columns else "startTSS",
                       weight_from=WEIGHT_COLUMN if WEIGHT_COLUMN in raw.columns else None)
    return table


def evaluable_pairs(table: pd.DataFrame, cell_type: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The pairs the benchmark evaluates, and how many were left out and why.

    Parameters
    ----------
    table : from :func:`read_crispr_benchmark`
    cell_type : keep this ``CellType`` only (default: all)

    Returns
    -------
    pairs : the rows with ``valid_connection == "TRUE"`` and a distance to
        the TSS, index reset (a pair may lack a TSS yet have the table's
        distance: it is kept)
    left_out : dict reason -> number of rows (``ValidConnection`` text, or
        ``"no TSS"``: no TSS and no distance); rows of other cell types are
        not counted
    """
    attrs = dict(table.attrs)
    if cell_type is not None:
        kept = table[S.CRISPR_CELL_TYPE] == cell_type
        if not kept.any():
            have = ", ".join(sorted(table[S.CRISPR_CELL_TYPE].unique()))
            raise ValueError(f"no pair of cell type {cell_type!r} in the table (it has {have})")
        table = table[kept]
    valid = table[S.CRISPR_VALID] == "TRUE"
    has_tss = table[S.CRISPR_DISTANCE].notna()
    left_out = Counter(table.loc[~valid, S.CRISPR_VALID])
    if (valid & ~has_tss).any():
        left_out[NO_TSS] = int((valid & ~has_tss).sum())
    pairs = table[valid & has_tss].reset_index(drop=True)
    pairs.attrs = attrs
    return pairs, {k: int(v) for k, v in sorted(left_out.items())}
