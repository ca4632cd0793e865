"""``speid evaluate``: score the held-out pairs and write honest metrics.

The F1 threshold is chosen on the validation split and applied unchanged to
the test split. Every output names the split method it was measured under.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from speidlib import schema
from speidlib.data.batches import PairBatches
from speidlib.data.dataset import Dataset
from speidlib.evaluate.metrics import choose_threshold, evaluate_scores
from speidlib.io import atomic_write_json
from speidlib.model.infer import predict_source
from speidlib.rundir import (
    check_model,
    load_model,
    locked,
    read_config,
    write_bedpe,
    write_predictions_csv,
)


def score_split(model, dataset: Dataset, split: str, zero_branch: str | None = None,
                batch_size: int = 256) -> np.ndarray:
    """Scores of the original (unaugmented) pairs of one split, shape=(n,).

    The order is that of ``dataset.split_index(split)``.
    """

    batches = PairBatches(dataset, split, balanced=False, batch_size=batch_size, shuffle=False,
                          zero_branch=zero_branch)
    scores, _ = predict_source(model, batches)
    return scores.reshape(-1).astype(np.float64)


@locked("evaluate")
def run_evaluate(run_dir, n_bootstrap: int = 1000, seed: int = 0, model=None) -> dict:
    """Score the validation and test pairs of a run; write metrics and predictions.

    Writes ``RUN/metrics.json`` (test metrics at the validation threshold,
    with bootstrap 95% intervals and the split method), ``RUN/predictions.csv``
    (one row per test pair) and ``RUN/predictions.bedpe``.

    Returns the metrics dict.
    """
    run_dir = Path(run_dir)
    dataset = Dataset(run_dir)
    if model is None:
        check_model(run_dir)  # refuses a model trained on another dataset
    model = model if model is not None else load_model(run_dir)
    split_method = dataset.attrs.get("split_method", "unknown")
    try:
        train = read_config(run_dir).get("train", {})
    except ValueError:  # a model trained elsewhere, evaluated on this run's dataset
        train = None
    zero_branch = (train or {}).get("zero_branch")

    valid_scores = score_split(model, dataset, schema.VALID, zero_branch=zero_branch)
    threshold = choose_threshold(dataset.label[dataset.split_index(schema.VALID)], valid_scores)
    test = dataset.split_index(schema.TEST)
    test_scores = score_split(model, dataset, schema.TEST, zero_branch=zero_branch)
    metrics = evaluate_scores(dataset.label[test], test_scores, threshold,
                              n_bootstrap=n_bootstrap, seed=seed)
    metrics.update(split=split_method, threshold_chosen_on=schema.VALID,
                   n_valid=int(len(valid_scores)), model=schema.MODEL_FILE, zero_branch=zero_branch)
    if train is not None:
        metrics["preset"] = (train.get("preset") or {}).get("name")

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
