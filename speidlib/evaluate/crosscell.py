"""Cross-cell-line matrices: train on each cell line, test on every other.

The shape of the preprint's Tables 4 (AUROC) and 5 (AUPR): one trained run
per cell line, each model scored on every run's *test* pairs, rows the
training cell line, columns the test cell line; the diagonal is each run's own
held-out split (what ``speid evaluate`` reports). The element-propensity
baseline (:class:`speidlib.evaluate.baselines.PropensityBaseline`, elements matched by
genomic overlap because names carry the cell line) is fitted on each run's
training pairs and tested on exactly the same test pairs, so the two matrices
can be read side by side: where propensity is as good as SPEID off the
diagonal, the transfer comes from shared elements, not from sequence.

Every run must have been prepared with the same enhancer and promoter windows
(a model reads windows of one fixed size). Test windows are the dataset's
default (centred) windows, the ones ``speid evaluate`` scores, and each
distinct element goes through its branch once
(:func:`speidlib.score.pairs.make_scorer`, the projection cache).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema as S
from speidlib.data.dataset import Dataset
from speidlib.evaluate.baselines import PropensityBaseline, cross_cell_matrix
from speidlib.evaluate.metrics import aupr, auroc
from speidlib.io import atomic_path, atomic_write_json
from speidlib.model.load import snapshot_run_model
from speidlib.run import MODEL_SHA256, Run
from speidlib.runtime import release_keras_state
from speidlib.score.pairs import make_scorer
from speidlib.score.run import ScoreOptions  # speid cross-cell --batch-size is speid score's

__all__ = ["MODELS", "METRICS", "run_cell_lines", "split_windows", "speid_cross_cell",
           "propensity_cross_cell", "cross_cell_runs", "matrix_path", "read_matrix"]

MODELS = ("speid", "propensity")
METRICS = {"auroc": auroc, "aupr": aupr}
LONG_COLUMNS = ["model", "train", "test", "n_test", "n_positive_test", "auroc", "aupr"]


def matrix_path(out_dir, model: str, metric: str) -> Path:
    """``OUT/cross_cell_<model>_<metric>.csv`` (index ``train``, columns test cell lines)."""
    return Path(out_dir) / S.CROSS_CELL_MATRIX_FILE.format(model=model, metric=metric)


def _cell_of(run_dir: Path) -> str:
    """The one cell line of a run's pairs (the folder name when there are several)."""

    cells = pd.unique(Dataset(run_dir).pairs[S.CELL_LINE])
    return str(cells[0]) if len(cells) == 1 and cells[0] else run_dir.name


def run_cell_lines(runs) -> dict[str, Path]:
    """Normalise ``runs`` to an ordered mapping cell_line -> run directory.

    Parameters
    ----------
    runs : mapping cell_line -> run directory, or a sequence of run
        directories (each named by the single cell line of its pairs)

    Returns
    -------
    dict cell_line -> Path, in the order given
    """
    if isinstance(runs, (str, os.PathLike)):
        raise ValueError("give several run directories (one per cell line), not one path")
    if isinstance(runs, Mapping):
        out = {str(c): Path(r) for c, r in runs.items()}
    else:
        paths = [Path(r) for r in runs]
        out = {}
        for p in paths:
            cell = _cell_of(p)
            if cell in out:
                raise ValueError(f"runs {out[cell]} and {p} are both cell line {cell!r}: "
                                 "pass a mapping cell_line -> run directory to name them")
            out[cell] = p
    if len(out) < 2:
        raise ValueError(f"a cross-cell matrix needs at least two runs, got {len(out)}")
    for cell, p in out.items():
        for name in (S.DATASET_FILE, S.MODEL_FILE):
            if not (p / name).exists():
                raise ValueError(f"run {p} (cell line {cell}) has no {name}: prepare and train it first")
    return out


def split_windows(dataset, split: str = S.TEST) -> dict:
    """The default windows of one split's pairs, each distinct element once.

    Parameters
    ----------
    dataset : :class:`speidlib.data.dataset.Dataset`
    split : ``"test"`` (default), ``"valid"`` or ``"train"``

    Returns
    -------
    dict with ``enhancer_codes`` shape=(n_enhancers, We) int8,
    ``promoter_codes`` shape=(n_promoters, Wp) int8, ``enhancer_index`` and
    ``promoter_index`` shape=(n_pairs,) into them, ``label`` shape=(n_pairs,),
    ``pair_index`` shape=(n_pairs,) (rows of ``dataset.pairs``).
    """
    pairs = dataset.split_index(split)
    if len(pairs) == 0:
        raise ValueError(f"{dataset.path} has no {split} pairs")
    out = {"pair_index": pairs, "label": dataset.label[pairs].astype(np.int64)}
    for branch, element in (("enhancer", dataset.enhancer_index), ("promoter", dataset.promoter_index)):
        uniq, inverse = np.unique(element[pairs], return_inverse=True)
        out[f"{branch}_codes"] = dataset.windows(branch, uniq)
        out[f"{branch}_index"] = inverse
    return out


def _check_windows(model, train_cell: str, windows: Mapping[str, dict]) -> None:
    want = (int(model.inputs[0].shape[1]), int(model.inputs[1].shape[1]))
    for cell, w in windows.items():
        have = (w["enhancer_codes"].shape[1], w["promoter_codes"].shape[1])
        if have != want:
            raise ValueError(
                f"the {train_cell} model reads {want[0]}/{want[1]} bp enhancer/promoter windows but "
                f"the {cell} run holds {have[0]}/{have[1]} bp windows: prepare every run with the "
                "same --enhancer-window and --promoter-window")


def _empty(cells) -> pd.DataFrame:
    return pd.DataFrame(np.nan, index=pd.Index(cells, name="train"), columns=pd.Index(cells, name="test"))


def speid_cross_cell(runs, batch_size: int = ScoreOptions.batch_size, progress: bool = False) -> dict[str, pd.DataFrame]:
    """Score every run's SPEID model on every run's test pairs.

    Parameters
    ----------
    runs : mapping cell_line -> run directory, or a sequence of run
        directories (see :func:`run_cell_lines`); each prepared and trained
    batch_size : examples per forward pass
    progress : tqdm bar over the train x test cells

    Returns
    -------
    dict ``"auroc"``/``"aupr"`` -> DataFrame, shape=(n_cells, n_cells), index
    ``train``, columns ``test``; the diagonal is each run's own test split.

    One model is loaded at a time and released (Keras state cleared) before
    the next; the test windows of every run stay in memory (int8, each
    distinct element once).
    """
    from tqdm.auto import tqdm

    runs = run_cell_lines(runs)
    cells = list(runs)
    windows = {c: split_windows(Dataset(runs[c])) for c in cells}
    out = {m: _empty(cells) for m in METRICS}
    bar = tqdm(total=len(cells) ** 2, desc="cross-cell SPEID", disable=not progress)
    for train_cell in cells:
        model, _ = snapshot_run_model(runs[train_cell])  # checked: the model of that run's dataset
        _check_windows(model, train_cell, windows)
        scorer = make_scorer(model, batch_size=batch_size)
        for test_cell, w in windows.items():
            s = scorer.score(w["enhancer_codes"], w["promoter_codes"], w["enhancer_index"],
                             w["promoter_index"])
            for m, f in METRICS.items():
                out[m].loc[train_cell, test_cell] = f(w["label"], s)
            bar.update(1)
        del scorer, model
        release_keras_state()  # one model in memory at a time
    bar.close()
    return out


def propensity_cross_cell(runs) -> dict[str, pd.DataFrame]:
    """The element-propensity baseline on the runs' own splits.

    Fitted on each run's training pairs, tested on every run's test pairs
    (the same pairs :func:`speid_cross_cell` scores); elements are matched by
    genomic overlap. Returns as :func:`speid_cross_cell`.
    """

    runs = run_cell_lines(runs)
    pairs = {c: Dataset(r).pairs for c, r in runs.items()}
    return cross_cell_matrix(pairs, lambda: PropensityBaseline(match="overlap"),
                             splits={c: p[S.SPLIT].to_numpy() for c, p in pairs.items()})


def _long_table(matrices: Mapping[str, Mapping[str, pd.DataFrame]], counts: Mapping) -> pd.DataFrame:
    rows = []
    for model, mats in matrices.items():
        for train in mats["auroc"].index:
            for test in mats["auroc"].columns:
                rows.append({"model": model, "train": train, "test": test, **counts[test],
                             **{m: float(mats[m].loc[train, test]) for m in METRICS}})
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def cross_cell_runs(runs, out_dir, baseline: bool = True, batch_size: int = ScoreOptions.batch_size,
                    progress: bool = True) -> dict[str, pd.DataFrame]:
    """SPEID (and propensity) cross-cell matrices of several runs, written to ``out_dir``.

    Writes, atomically, ``cross_cell_<model>_<metric>.csv`` for model
    ``speid`` (and ``propensity`` with ``baseline``) and metric ``auroc``,
    ``aupr`` (train rows x test columns), ``cross_cell_long.csv`` (one row
    per model x train x test: ``model, train, test, n_test,
    n_positive_test, auroc, aupr``) and ``cross_cell.json`` (the runs and
    their windows).

    Parameters
    ----------
    runs : mapping cell_line -> run directory, or a sequence of run directories
    out_dir : folder to write into (created if needed)
    baseline : add the propensity baseline on the same pairs and splits
    batch_size, progress : as in :func:`speid_cross_cell`

    Returns
    -------
    dict: ``"<model>_<metric>"`` -> matrix DataFrame, and ``"long"`` -> the long table
    """

    runs = run_cell_lines(runs)
    out_dir = Path(out_dir)
    matrices = {"speid": speid_cross_cell(runs, batch_size=batch_size, progress=progress)}
    if baseline:
        matrices["propensity"] = propensity_cross_cell(runs)
    info, counts = {}, {}
    for cell, run in runs.items():
        ds = Dataset(run)
        y = ds.label[ds.split_index(S.TEST)]
        counts[cell] = {"n_test": int(len(y)), "n_positive_test": int(y.sum())}
        info[cell] = {"run": str(run), MODEL_SHA256: Run(run).model_sha256(),
                      "enhancer_window": ds.enhancer_window,
                      "promoter_window": ds.promoter_window,
                      "split_method": ds.attrs.get("split_method", "unknown"), **counts[cell]}
    result = {}
    for model, mats in matrices.items():
        for metric, df in mats.items():
            result[f"{model}_{metric}"] = df
            with atomic_path(matrix_path(out_dir, model, metric)) as tmp:
                df.to_csv(tmp)
    result["long"] = _long_table(matrices, counts)
    with atomic_path(out_dir / S.CROSS_CELL_LONG_FILE) as tmp:
        result["long"].to_csv(tmp, index=False)
    atomic_write_json(out_dir / S.CROSS_CELL_SUMMARY_FILE,
                      {"runs": info, "models": list(matrices), "metrics": list(METRICS),
                       "split_windows": "default (centred) windows of each run's test split"})
    written = [matrix_path(out_dir, m, k) for m in matrices for k in METRICS]
    written += [out_dir / S.CROSS_CELL_LONG_FILE, out_dir / S.CROSS_CELL_SUMMARY_FILE]
    for cell, run in runs.items():  # written into a run's folder: in its manifest, with its model
        if Run(run).inside(written[-1]):
            Run(run).register("cross-cell", written, info[cell][MODEL_SHA256])
    return result


def read_matrix(out_dir, model: str = "speid", metric: str = "auroc") -> pd.DataFrame:
    """Read back one matrix written by :func:`cross_cell_runs`."""
    path = matrix_path(out_dir, model, metric)
    if not path.exists():
        raise ValueError(f"{path} does not exist: run cross_cell_runs first")
    return pd.read_csv(path, index_col="train").rename_axis(columns="test")

