"""``speid evaluate``: score the held-out pairs and write honest metrics.

The F1 threshold is chosen on the validation split and applied unchanged to
the test split. Every output names the split method it was measured under.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from speidlib import checks, schema
from speidlib.argtypes import nonneg_int
from speidlib.data.dataset import Dataset
from speidlib.data.encode import N_CODE
from speidlib.evaluate.metrics import choose_threshold, evaluate_scores
from speidlib.model.load import load_model
from speidlib.options import option, record, seed_option
from speidlib.run import EvaluateRecord, Run, locked
from speidlib.score.pairs import score_pairs


@dataclass(frozen=True)
class EvaluateOptions:
    """The options of ``speid evaluate`` (recorded in the ``evaluate`` record)."""

    n_bootstrap: int = option(1000, type=nonneg_int, flag="--bootstrap",
                              help="bootstrap resamples for the intervals (default %(default)s)")
    seed: int = seed_option("bootstrap seed")


def score_split(model, dataset: Dataset, split: str, zero_branch: str | None = None,
                batch_size: int = 256) -> np.ndarray:
    """Scores of the original (unaugmented) pairs of one split, shape=(n,).

    The order is that of ``dataset.split_index(split)``. Each pair at its elements'
    default windows, through the whole model (:func:`speidlib.score.pairs.score_pairs`
    with ``cache=False``: the same batches as Keras scored before, bit for bit);
    ``zero_branch``: that branch's input is all zeros (its windows all N).
    """
    if zero_branch is not None:
        checks.branch(zero_branch)
    idx = dataset.split_index(split)
    codes, index = [], []
    for branch, elements in (("enhancer", dataset.enhancer_index[idx]), ("promoter", dataset.promoter_index[idx])):
        used, rows = np.unique(elements, return_inverse=True)
        windows = dataset.windows(branch, used)
        if branch == zero_branch:
            windows[:] = N_CODE
        codes.append(windows)
        index.append(rows)
    return score_pairs(model, codes[0], codes[1], index[0], index[1], cache=False, batch_size=batch_size)


@locked("evaluate")
def run_evaluate(run_dir, n_bootstrap: int = EvaluateOptions.n_bootstrap, seed: int = EvaluateOptions.seed,
                 model=None) -> dict:
    """Score the validation and test pairs of a run; write metrics and predictions.

    Writes ``RUN/metrics.json`` (test metrics at the validation threshold,
    with bootstrap 95% intervals, the split method and the model's hash),
    ``RUN/predictions.csv`` (one row per test pair) and ``RUN/predictions.bedpe``,
    and the ``evaluate`` record of ``RUN/config.json``. ``model``: score this
    model instead of the run's (its hash is then not recorded).

    Returns the metrics dict.
    """
    t0 = time.perf_counter()
    run = Run(run_dir)
    dataset = Dataset(run.path)
    model_sha256 = None
    if model is None:
        model_sha256 = run.check_model()  # refuses a model trained on another dataset
        model = load_model(run.model, run.path)
    split_method = dataset.attrs.get("split_method", "unknown")
    try:
        train = run.record("train") if run.config_file.exists() else None
    except ValueError:  # a model trained elsewhere, evaluated on this run's dataset
        train = None
    zero_branch = train.zero_branch if train is not None else None

    valid_scores = score_split(model, dataset, schema.VALID, zero_branch=zero_branch)
    threshold = choose_threshold(dataset.label[dataset.split_index(schema.VALID)], valid_scores)
    test = dataset.split_index(schema.TEST)
    test_scores = score_split(model, dataset, schema.TEST, zero_branch=zero_branch)
    metrics = evaluate_scores(dataset.label[test], test_scores, threshold,
                              n_bootstrap=n_bootstrap, seed=seed)
    metrics.update(split=split_method, threshold_chosen_on=schema.VALID,
                   n_valid=int(len(valid_scores)), model=schema.MODEL_FILE, zero_branch=zero_branch)
    metrics["valid"] = _validation_summary(dataset.label[dataset.split_index(schema.VALID)], valid_scores,
                                           threshold, n_bootstrap, seed)
    if train is not None:
        metrics["preset"] = train.preset.get("name")

    pred = dataset.pairs.iloc[test][[schema.ENHANCER_NAME, schema.PROMOTER_NAME, schema.CELL_LINE,
                                     schema.CHROM, schema.ENHANCER_START, schema.ENHANCER_END,
                                     schema.PROMOTER_START, schema.PROMOTER_END, schema.DISTANCE,
                                     schema.LABEL, schema.SPLIT]].copy()
    pred.insert(len(pred.columns) - 1, schema.SCORE, test_scores)
    pred["split_method"] = split_method
    run.write_predictions(pred)
    run.write_metrics(metrics, model_sha256)
    run.register("evaluate", [run.predictions, run.predictions_bedpe, run.metrics], model_sha256)
    if run.config_file.exists():
        options = EvaluateOptions(n_bootstrap=n_bootstrap, seed=seed)
        run.write_record(EvaluateRecord(**record(options), model_sha256=model_sha256,
                                        dataset_sha256=run.dataset_sha256(),
                                        seconds=round(time.perf_counter() - t0, 1)))
    return {**metrics, "model_sha256": model_sha256}


def _validation_summary(y, s, threshold: float, n_bootstrap: int, seed: int) -> dict:
    """AUROC and AUPR of the validation pairs with their intervals and widths (the split that
    chose the threshold and, in training, the best epoch: on a small table it is small too)."""
    y = np.asarray(y)
    out = {"n": int(y.size), "n_positive": int(y.sum())}
    if not 0 < out["n_positive"] < out["n"]:
        return {**out, "note": "one class only: no AUROC"}
    full = evaluate_scores(y, s, threshold, n_bootstrap=n_bootstrap, seed=seed)
    return {**out, **{k: full[k] for k in ("auroc", "aupr", "ci", "ci_width")}}
