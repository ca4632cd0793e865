"""The SPEID preprint's numbers, TargetFinder recomputed, and a run beside them.

The preprint (Singh, Yang, Poczos & Ma 2016, bioRxiv 085241) prints five
tables; they are package data in ``speidlib/resources/speid_paper/*.csv`` (see the
README there) and :func:`paper_table` is their one reader.

TargetFinder's rows in Tables 2 (F1) and 3 (AUROC) can be checked: the
TargetFinder pair tables carry TargetFinder's own 10-fold cross-validated call
for every pair (column ``prediction``), so :func:`targetfinder_metrics`
recomputes F1 from them. The call is 0/1, not a score, so an AUROC computed
from it is *degenerate*: the ROC curve has one corner, and the area equals the
balanced accuracy ``(sensitivity + specificity) / 2``. It is reported as
``auroc_from_calls`` and labelled as such; it is not the AUROC of a ranking.
"""
from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from speidlib import schema as S
from speidlib.data.pairs import TARGETFINDER_CELLS, read_pairs, targetfinder_path

CELL_LINES = TARGETFINDER_CELLS
SPEID = "SPEID"
TARGETFINDER_MODELS = {"ep": "TargetFinder (E/P)", "eep": "TargetFinder (EE/P)",
                       "epw": "TargetFinder (E/P/W)"}
PREPRINT = "Singh, Yang, Poczos & Ma 2016, bioRxiv 085241"

TABLE_FILES = {1: "table1_counts.csv", 2: "table2_f1.csv", 3: "table3_auroc.csv",
               4: "table4_cross_auroc.csv", 5: "table5_cross_aupr.csv"}
TABLE_TITLES = {1: "Pair counts per cell line", 2: "F1 per cell line", 3: "AUROC per cell line",
                4: "SPEID cross-cell AUROC (train rows x test columns)",
                5: "SPEID cross-cell AUPR (train rows x test columns)"}

# source labels in side_by_side
SOURCE_PREPRINT = "preprint"
SOURCE_RECOMPUTED = "recomputed"
SOURCE_RUN = "run"


def paper_table(n: int) -> pd.DataFrame:
    """One of the preprint's Tables 1-5, as printed.

    Parameters
    ----------
    n : int, 1-5

    Returns
    -------
    DataFrame
        Table 1: index ``cell_line`` (six lines and ``Total``), columns
        ``positive_pairs, augmented_positive_pairs, negative_pairs`` (int).
        Tables 2-3: index ``model`` (``SPEID`` and the three TargetFinder
        models), columns the six cell lines. Tables 4-5: index ``train``,
        columns the test cell lines. ``DataFrame.attrs`` holds the source.
    """
    if n not in TABLE_FILES:
        raise ValueError(f"the preprint has Tables 1-5; there is no Table {n!r}")
    with resources.as_file(resources.files("speidlib") / "resources" / "speid_paper" / TABLE_FILES[n]) as p:
        table = pd.read_csv(p)
    first = table.columns[0]
    table = table.set_index(first)
    table.index.name = {1: "cell_line", 2: "model", 3: "model"}.get(n, "train")
    table.columns.name = None if n == 1 else "test" if n >= 4 else "cell_line"
    table.attrs.update(source=PREPRINT, table=n, title=TABLE_TITLES[n])
    return table


# --- TargetFinder recomputed ---------------------------------------------------
def targetfinder_metrics(cell: str, feature_set: str = "epw",
                         data_dir: str | os.PathLike | None = None) -> dict:
    """TargetFinder's metrics recomputed from its own calls in a pair table.

    Parameters
    ----------
    cell : str, one of :data:`CELL_LINES`
    feature_set : {"ep", "eep", "epw"}, TargetFinder's E/P, EE/P or E/P/W model
    data_dir : path, optional
        Folder holding ``<CELL>_<feature_set>.csv.gz``; without it the
        default locations of :func:`speidlib.data.pairs.targetfinder_path`.

    Returns
    -------
    dict with ``f1, precision, recall, mcc`` of the calls, ``auroc_from_calls``
    (degenerate when the calls are 0/1: it equals the balanced accuracy),
    ``calls_are_binary``, ``n_pairs, n_positive, tp, fp, tn, fn`` and ``path``.
    """
    path = targetfinder_path(cell, feature_set, data_dir)
    if path is None:
        where = data_dir if data_dir is not None else "the default data folders"
        raise FileNotFoundError(f"no TargetFinder table {cell}_{feature_set}.csv(.gz) in {where}")
    st = path.stat()
    return dict(_metrics_of_calls(str(path.resolve()), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=32)
def _metrics_of_calls(path: str, mtime_ns: int, size: int) -> tuple:
    """Metrics of one table's calls, cached by file identity (path, mtime, size)."""
    path = Path(path)
    pairs = read_pairs(path)
    if S.PREDICTION not in pairs.columns:
        raise ValueError(f"{path.name}: no '{S.PREDICTION}' column, so TargetFinder's calls "
                         "cannot be recomputed")
    pred = pairs[S.PREDICTION].to_numpy(dtype=float)
    if np.isnan(pred).any():
        row = int(np.flatnonzero(np.isnan(pred))[0])
        raise ValueError(f"{path.name}: pair {row + 1} has no prediction")
    y = pairs[S.LABEL].to_numpy()
    binary = bool(np.isin(pred, (0.0, 1.0)).all())
    call = (pred >= 0.5).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, call, labels=[0, 1]).ravel()
    return tuple({
        "f1": float(skm.f1_score(y, call, zero_division=0)),
        "precision": float(skm.precision_score(y, call, zero_division=0)),
        "recall": float(skm.recall_score(y, call, zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(y, call)),
        "auroc_from_calls": float(skm.roc_auc_score(y, pred)),
        "calls_are_binary": binary,
        "n_pairs": int(y.size), "n_positive": int(y.sum()),
        "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
        "path": str(path),
    }.items())


def targetfinder_table(metric: str = "f1", data_dir: str | os.PathLike | None = None,
                       cells=CELL_LINES) -> pd.DataFrame:
    """A recomputed TargetFinder metric for every feature set and cell line.

    Parameters
    ----------
    metric : a key of :func:`targetfinder_metrics` (``"f1"``,
        ``"auroc_from_calls"``, ``"precision"``, ...)
    data_dir : path, optional
    cells : sequence of cell lines (columns)

    Returns
    -------
    DataFrame, index the three TargetFinder model names (as in Tables 2-3),
    columns ``cells``; NaN where no table exists (GM12878 has no EE/P table).
    """
    out = pd.DataFrame(np.nan, index=pd.Index(list(TARGETFINDER_MODELS.values()), name="model"),
                       columns=pd.Index(list(cells), name="cell_line"))
    for fs, model in TARGETFINDER_MODELS.items():
        for cell in cells:
            if (cell, fs) == ("GM12878", "eep"):
                continue  # TargetFinder published no EE/P run for GM12878
            try:
                out.loc[model, cell] = targetfinder_metrics(cell, fs, data_dir)[metric]
            except FileNotFoundError:
                continue
    return out


# --- a run beside the preprint ---------------------------------------------------
def side_by_side(run_metrics: dict | None = None, data_dir: str | os.PathLike | None = None,
                 run_name: str = "this run", recompute: bool = True) -> pd.DataFrame:
    """A run's metrics beside the preprint's Tables 2 (F1) and 3 (AUROC).

    Parameters
    ----------
    run_metrics : dict cell_line -> metrics dict, optional
        E.g. each cell line's ``RUN/metrics.json`` (keys ``f1``, ``auroc`` and,
        when present, ``aupr``). Cell lines outside the preprint's six become
        extra columns.
    data_dir : path, optional
        Where the TargetFinder tables are (see :func:`targetfinder_metrics`).
    run_name : str, the model name the run's rows get
    recompute : bool, add TargetFinder's values recomputed from its calls

    Returns
    -------
    DataFrame, index (``metric``, ``model``, ``source``) and one column per
    cell line. ``metric`` is ``F1``, ``AUROC`` or ``AUPR`` (the preprint's
    SPEID AUPR is the diagonal of Table 5; TargetFinder reported none).
    ``source`` is ``preprint``, ``recomputed`` (from TargetFinder's calls; for
    AUROC this is the degenerate AUROC of 0/1 calls) or ``run``.
    """
    run_metrics = dict(run_metrics or {})
    cells = list(CELL_LINES) + [c for c in run_metrics if c not in CELL_LINES]
    for cell, m in run_metrics.items():
        if not isinstance(m, dict):
            raise ValueError(f"run_metrics[{cell!r}] must be a metrics dict, got {type(m).__name__}")
    printed = {"F1": paper_table(2), "AUROC": paper_table(3)}
    t5 = paper_table(5)
    printed["AUPR"] = pd.DataFrame([[t5.loc[c, c] for c in CELL_LINES]], index=[SPEID],
                                   columns=list(CELL_LINES))
    recomputed = {}
    if recompute:
        recomputed = {"F1": targetfinder_table("f1", data_dir),
                      "AUROC": targetfinder_table("auroc_from_calls", data_dir)}
    rows, index = [], []
    for metric, key in (("F1", "f1"), ("AUROC", "auroc"), ("AUPR", "aupr")):
        has_run = any(key in m for m in run_metrics.values())
        if metric == "AUPR" and not has_run:
            continue
        for model in printed[metric].index:
            rows.append(printed[metric].loc[model].reindex(cells))
            index.append((metric, model, SOURCE_PREPRINT))
            if model == SPEID and has_run:
                rows.append(pd.Series({c: run_metrics.get(c, {}).get(key, np.nan) for c in cells}))
                index.append((metric, run_name, SOURCE_RUN))
            if metric in recomputed and model in recomputed[metric].index:
                rows.append(recomputed[metric].loc[model].reindex(cells))
                index.append((metric, model, SOURCE_RECOMPUTED))
    out = pd.DataFrame([r.to_numpy(dtype=float) for r in rows], columns=cells,
                       index=pd.MultiIndex.from_tuples(index, names=["metric", "model", "source"]))
    out.columns.name = "cell_line"
    out.attrs["source"] = PREPRINT
    return out
