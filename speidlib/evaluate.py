"""``speid evaluate``: score the held-out pairs and write honest metrics.

The F1 threshold is chosen on the validation split and applied unchanged to
the test split. Every output names the split method it was measured under.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .dataset import Dataset, read_config
from .io import atomic_path, atomic_write_json
from .metrics import choose_threshold, evaluate_scores

BEDPE_COLUMNS = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score",
                 "strand1", "strand2", "label", "distance"]


def load_model(run_dir):
    """The trained model of a run (``RUN/model.keras``)."""
    import keras

    from . import fastconv  # noqa: F401  registers PooledConv1D, so a fresh process can load it

    path = Path(run_dir) / schema.MODEL_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: run `speid train {run_dir}` first")
    return keras.models.load_model(path, compile=False)


def score_split(model, dataset: Dataset, split: str, zero_branch: str | None = None,
                batch_size: int = 256) -> np.ndarray:
    """Scores of the original (unaugmented) pairs of one split, shape=(n,).

    The order is that of ``dataset.split_index(split)``.
    """
    from .batches import PairBatches
    from .predict import infer

    batches = PairBatches(dataset, split, balanced=False, batch_size=batch_size, shuffle=False,
                          zero_branch=zero_branch)
    out = [infer(model, [xe, xp]).reshape(-1) for (xe, xp), _ in (batches[i] for i in range(len(batches)))]
    return np.concatenate(out).astype(np.float64)


def to_bedpe(pred: pd.DataFrame) -> pd.DataFrame:
    """Scored pairs as BEDPE (enhancer as the first end), for Juicebox, HiGlass or IGV."""
    return pd.DataFrame({
        "chrom1": pred[schema.CHROM], "start1": pred[schema.ENHANCER_START],
        "end1": pred[schema.ENHANCER_END], "chrom2": pred[schema.CHROM],
        "start2": pred[schema.PROMOTER_START], "end2": pred[schema.PROMOTER_END],
        "name": pred[schema.ENHANCER_NAME] + "~" + pred[schema.PROMOTER_NAME],
        "score": pred[schema.SCORE].round(6), "strand1": ".", "strand2": ".",
        "label": pred[schema.LABEL], "distance": pred[schema.DISTANCE]})[BEDPE_COLUMNS]


def write_bedpe(pred: pd.DataFrame, path) -> None:
    """Write scored pairs as headerless, tab-separated BEDPE (atomically)."""
    with atomic_path(path) as tmp:
        to_bedpe(pred).to_csv(tmp, sep="\t", header=False, index=False)


def write_predictions_csv(pred: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        pred.to_csv(tmp, index=False)


def run_evaluate(run_dir, n_bootstrap: int = 1000, seed: int = 0, model=None) -> dict:
    """Score the validation and test pairs of a run; write metrics and predictions.

    Writes ``RUN/metrics.json`` (test metrics at the validation threshold,
    with bootstrap 95% intervals and the split method), ``RUN/predictions.csv``
    (one row per test pair) and ``RUN/predictions.bedpe``.

    Returns the metrics dict.
    """
    run_dir = Path(run_dir)
    dataset = Dataset(run_dir)
    model = model if model is not None else load_model(run_dir)
    split_method = dataset.attrs.get("split_method", "unknown")
    try:
        zero_branch = read_config(run_dir).get("train", {}).get("zero_branch")
    except ValueError:
        zero_branch = None

    valid_scores = score_split(model, dataset, schema.VALID, zero_branch=zero_branch)
    threshold = choose_threshold(dataset.label[dataset.split_index(schema.VALID)], valid_scores)
    test = dataset.split_index(schema.TEST)
    test_scores = score_split(model, dataset, schema.TEST, zero_branch=zero_branch)
    metrics = evaluate_scores(dataset.label[test], test_scores, threshold,
                              n_bootstrap=n_bootstrap, seed=seed)
    metrics.update(split=split_method, threshold_chosen_on=schema.VALID,
                   n_valid=int(len(valid_scores)), model=schema.MODEL_FILE, zero_branch=zero_branch)
    try:
        metrics["preset"] = (read_config(run_dir).get("train", {}).get("preset") or {}).get("name")
    except ValueError:
        pass

    pred = dataset.pairs.iloc[test][[schema.ENHANCER_NAME, schema.PROMOTER_NAME, schema.CELL_LINE,
                                     schema.CHROM, schema.ENHANCER_START, schema.ENHANCER_END,
                                     schema.PROMOTER_START, schema.PROMOTER_END, schema.DISTANCE,
                                     schema.LABEL, schema.SPLIT]].copy()
    pred.insert(len(pred.columns) - 1, schema.SCORE, test_scores)
    pred["split_method"] = split_method
    write_predictions_csv(pred, run_dir / schema.PREDICTIONS_FILE)
    write_bedpe(pred, run_dir / schema.PREDICTIONS_BEDPE)
    atomic_write_json(run_dir / schema.METRICS_FILE, metrics)
    return metrics
