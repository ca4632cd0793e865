"""The CRISPRi enhancer-gene benchmark: predictors beside distance to the TSS.

Enhancer-gene predictors (ABC, ENCODE-rE2G) are judged on element-gene pairs
tested by CRISPR interference (:mod:`speidlib.data.crispr`). As in
EngreitzLab/CRISPR_comparison, each predictor gets, on the evaluated pairs:

* **AUPRC**, computed as average precision (the step-wise area of
  :func:`speidlib.evaluate.metrics.aupr`; it can differ in the third decimal
  from areas that interpolate between the curve's points);
* **AUROC**;
* **precision at 70% recall**: walk down the ranking until 70% of the
  regulated pairs are found, and report the share of regulated pairs among
  all pairs called so far (:func:`precision_at_recall`);

each with a percentile bootstrap 95% interval over resampled pairs.

Predictors: ``distance`` (inverse distance from the element's centre to the
TSS, always), ``SPEID`` (a run's model on an enhancer window centred on the
element and a promoter window centred on the TSS; :func:`speid_scores`), and
``distance+SPEID``, a logistic regression on both fitted with
chromosome-grouped cross-validation, so no pair is scored by a fit that saw
its chromosome (:func:`combined_scores`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from speidlib import checks
from speidlib import schema as S
from speidlib.data.assembly import check_assembly, genome_assembly, identify_assembly
from speidlib.data.crispr import evaluable_pairs, read_crispr_benchmark
from speidlib.data.genome import Genome
from speidlib.evaluate.metrics import resample_weights
from speidlib.io import atomic_path, atomic_write_json
from speidlib.rundir import load_model
from speidlib.score.core import ElementCachedScorer

BENCHMARK_ASSEMBLY = "GRCh38"
RECALL_LEVEL = 0.7
DISTANCE, SPEID, COMBINED = "distance", "SPEID", "distance+SPEID"
SCORE_PREFIX = "score_"


# --- metrics --------------------------------------------------------------------
def precision_at_recall(y, s, recall: float = RECALL_LEVEL) -> float:
    """Precision at the highest score threshold whose recall reaches ``recall``.

    Pairs are called from the top score down (ties enter together); the
    first threshold at which the called pairs hold at least ``recall`` of the
    regulated ones gives the precision reported.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels (1 = regulated)
    s : array-like, shape=(n,), scores (higher = more likely regulated)
    recall : float in (0, 1]
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "precision at recall")
    if not 0 < recall <= 1:
        raise ValueError(f"the recall level must lie in (0, 1], got {recall}")
    precision, rec, _ = skm.precision_recall_curve(y, s, drop_intermediate=False)
    reached = np.flatnonzero(rec[:-1] >= recall)  # the last point (recall 0) has no threshold
    return float(precision[reached[-1]])


def _weighted_curve_metrics(w: np.ndarray, y: np.ndarray, s: np.ndarray, recall: float) -> dict:
    """AUROC, AUPRC and precision at ``recall`` for many weightings of the same pairs.

    ``w`` has shape=(B, n): how many times each pair is drawn in each
    resample. Ties count as in scikit-learn. Returns dict -> shape=(B,).
    """
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order].astype(bool)
    w = w[:, order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    pos = np.add.reduceat(w * y_sorted, starts, axis=1)   # (B, G) per distinct score, descending
    neg = np.add.reduceat(w * ~y_sorted, starts, axis=1)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = (pos * (n_neg[:, None] - fp + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        prec = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        auprc = (pos * prec).sum(axis=1) / n_pos
        reached = tp >= recall * n_pos[:, None] - 1e-9
    at = prec[np.arange(len(w)), reached.argmax(axis=1)]
    auroc[(n_pos == 0) | (n_neg == 0)] = np.nan
    auprc[n_pos == 0] = np.nan
    at[n_pos == 0] = np.nan
    return {"auroc": auroc, "auprc": auprc, "precision_at_recall": at}


def curve_metrics(y, s, n_bootstrap: int = 1000, seed: int = 0, level: float = 0.95,
                  recall: float = RECALL_LEVEL, max_cells: int = 4_000_000) -> dict:
    """AUPRC, AUROC and precision at ``recall``, each with a bootstrap interval.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels, both classes present
    s : array-like, shape=(n,), scores
    n_bootstrap : resamples of the pairs (with replacement); 0: no intervals (NaN)
    seed, level : bootstrap seed and confidence level
    recall : the recall level of the precision

    Returns
    -------
    dict: ``auprc, auroc, precision_at_recall`` and each with ``_low`` and
    ``_high`` (the percentile interval), plain floats.
    """
    y, s = checks.labels_scores(y, s)
    checks.both_classes(y, "the CRISPRi metrics")
    out = {"auprc": float(skm.average_precision_score(y, s)), "auroc": float(skm.roc_auc_score(y, s)),
           "precision_at_recall": precision_at_recall(y, s, recall)}
    names = list(out)
    for m in names:
        out[f"{m}_low"] = out[f"{m}_high"] = float("nan")
    if n_bootstrap > 0:
        parts = [_weighted_curve_metrics(w, y, s, recall)
                 for w in resample_weights(y.size, n_bootstrap, seed, max_cells)]
        q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
        for m in names:
            v = np.concatenate([p[m] for p in parts])
            v = v[np.isfinite(v)]
            if v.size:
                out[f"{m}_low"], out[f"{m}_high"] = (float(x) for x in np.percentile(v, q))
    return out


# --- predictors -----------------------------------------------------------------
def distance_scores(distance) -> np.ndarray:
    """The distance baseline: ``1 / distance`` (bp, at least 1), shape=(n,).

    Any decreasing function of distance ranks the pairs the same way.
    """
    d = np.asarray(distance, dtype=np.float64)
    if not np.isfinite(d).all() or (d < 0).any():
        raise ValueError("distances must be finite and non-negative")
    return 1.0 / np.maximum(d, 1.0)


def centred_starts(starts, ends, window: int) -> np.ndarray:
    """Start of a ``window``-bp window centred on each element, shape=(n,).

    The centre is ``(start + end) // 2``; the window is
    ``[centre - window // 2, centre - window // 2 + window)`` and may start
    before 0 (the genome reader pads with N).
    """
    centre = (np.asarray(starts, dtype=np.int64) + np.asarray(ends, dtype=np.int64)) // 2
    return centre - int(window) // 2


def speid_scores(pairs: pd.DataFrame, run_dir, genome_path, batch_size: int = 256,
                 progress: bool = False) -> np.ndarray:
    """A run's SPEID score of each benchmark pair, shape=(n_pairs,).

    The enhancer window is centred on the perturbed element, the promoter
    window on the gene's TSS, each of the size of the model's input; each
    distinct element and TSS goes through its branch once
    (:class:`speidlib.score.core.ElementCachedScorer`, the path of
    ``speid score``). The genome must be GRCh38, the benchmark's assembly.

    Parameters
    ----------
    pairs : evaluable pairs (:func:`speidlib.data.crispr.evaluable_pairs`)
    run_dir : run directory with a trained model (any assembly: the model
        reads sequence, not coordinates)
    genome_path : GRCh38 FASTA
    """

    with Genome(genome_path) as genome:  # a genome of another assembly is refused before anything is read
        check_assembly(identify_assembly(genome.chrom_sizes), BENCHMARK_ASSEMBLY, str(genome_path))
    model = load_model(run_dir)
    we, wp = int(model.inputs[0].shape[1]), int(model.inputs[1].shape[1])
    with Genome(genome_path) as genome:
        genome.check_chromosomes(pairs[S.CRISPR_ELEMENT_CHROM].unique(), source="the CRISPRi benchmark")
        element_keys = [S.CRISPR_ELEMENT_CHROM, S.CRISPR_ELEMENT_START, S.CRISPR_ELEMENT_END]
        elements, e_index = _distinct(pairs, element_keys)
        tss, p_index = _distinct(pairs, [S.CRISPR_TSS_CHROM, S.CRISPR_TSS_START, S.CRISPR_TSS_END])
        e_codes = genome.fetch_many(elements[S.CRISPR_ELEMENT_CHROM].to_numpy(),
                                    centred_starts(elements[S.CRISPR_ELEMENT_START],
                                                   elements[S.CRISPR_ELEMENT_END], we),
                                    we, progress=progress, desc="reading element windows")
        p_codes = genome.fetch_many(tss[S.CRISPR_TSS_CHROM].to_numpy(),
                                    centred_starts(tss[S.CRISPR_TSS_START], tss[S.CRISPR_TSS_END], wp),
                                    wp, progress=progress, desc="reading TSS windows")
    scorer = ElementCachedScorer(model, batch_size=batch_size)
    return scorer.score(e_codes, p_codes, e_index, p_index, progress=progress)


def _distinct(pairs: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct rows of ``keys`` and each pair's row among them, shape=(n_pairs,)."""
    index = pairs.groupby(keys, sort=False).ngroup().to_numpy().astype(np.int64)
    return pairs[keys].drop_duplicates().reset_index(drop=True), index


def combined_scores(distance, speid, y, chroms, n_splits: int = 5) -> tuple[np.ndarray, dict]:
    """Distance and SPEID combined by a logistic regression, chromosome-grouped CV.

    Features are ``log10(distance + 1)`` and SPEID's logit, standardised.
    Chromosomes are dealt into ``min(n_splits, n_chromosomes)`` folds
    (:class:`sklearn.model_selection.GroupKFold`); each pair is scored by the
    fit on the other folds, so never by a fit that saw its chromosome.

    Parameters
    ----------
    distance : shape=(n,), bp to the TSS
    speid : shape=(n,), SPEID probabilities
    y : shape=(n,), 0/1 labels
    chroms : shape=(n,), each pair's chromosome

    Returns
    -------
    scores : shape=(n,), out-of-fold probabilities
    folds : dict chromosome -> fold number
    """
    y = np.asarray(y).astype(np.int8)
    chroms = np.asarray(chroms).astype(str)
    p = np.clip(np.asarray(speid, dtype=np.float64), 1e-7, 1 - 1e-7)
    x = np.column_stack([np.log10(np.asarray(distance, dtype=np.float64) + 1), np.log(p / (1 - p))])
    n_groups = len(np.unique(chroms))
    if n_groups < 2:
        raise ValueError(f"the pairs lie on {n_groups} chromosome; the chromosome-grouped "
                         "cross-validation of the combined predictor needs at least two")
    scores, folds = np.empty(len(y)), {}
    for k, (train, test) in enumerate(GroupKFold(n_splits=min(n_splits, n_groups)).split(x, y, chroms)):
        if len(np.unique(y[train])) < 2:
            raise ValueError(f"fold {k} leaves training pairs of one class only; the combined "
                             "predictor cannot be fitted")
        fit = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[train], y[train])
        scores[test] = fit.predict_proba(x[test])[:, 1]
        folds.update({c: k for c in np.unique(chroms[test])})
    return scores, dict(sorted(folds.items()))


# --- the table of metrics -------------------------------------------------------
def _groups(pairs: pd.DataFrame):
    """(cell type, data set, row mask): pooled, per cell type, per cell type and data set."""
    ct, ds = pairs[S.CRISPR_CELL_TYPE], pairs[S.CRISPR_DATASET]
    yield S.ALL, S.ALL, np.ones(len(pairs), dtype=bool)
    if ct.nunique() > 1:
        for c in sorted(ct.unique()):
            yield c, S.ALL, (ct == c).to_numpy()
    if ds.nunique() > 1:
        for c, d in sorted(set(zip(ct, ds))):
            yield c, d, ((ct == c) & (ds == d)).to_numpy()


def metrics_table(pairs: pd.DataFrame, scores: dict, n_bootstrap: int = 1000, seed: int = 0,
                  recall: float = RECALL_LEVEL) -> pd.DataFrame:
    """One row per predictor, cell type and data set (:data:`speidlib.schema.CRISPR_METRIC_COLUMNS`).

    Rows: all pairs pooled (``cell_type = dataset = "all"``), each cell type
    when there are several, each cell type and data set when there are
    several data sets. A group without both classes gets NaN metrics.

    Parameters
    ----------
    pairs : evaluable pairs, with ``regulated``, ``cell_type``, ``dataset``
    scores : predictor name -> shape=(n_pairs,)
    """
    y = pairs[S.CRISPR_REGULATED].to_numpy().astype(np.int8)
    rows = []
    for name, s in scores.items():
        for cell, dataset, mask in _groups(pairs):
            row = {"predictor": name, "cell_type": cell, "dataset": dataset, "n_pairs": int(mask.sum()),
                   "n_regulated": int(y[mask].sum()), "recall_level": recall, "n_bootstrap": n_bootstrap}
            if 0 < row["n_regulated"] < row["n_pairs"]:
                row.update(curve_metrics(y[mask], np.asarray(s)[mask], n_bootstrap, seed, recall=recall))
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=S.CRISPR_METRIC_COLUMNS)


# --- the step -------------------------------------------------------------------
def run_crispr(benchmark, out_dir, run_dir=None, genome=None, cell_type: str | None = None,
               n_bootstrap: int = 1000, seed: int = 0, recall: float = RECALL_LEVEL,
               batch_size: int = 256, progress: bool = False) -> dict:
    """``speid crispr``: evaluate predictors on a CRISPRi benchmark table.

    Writes ``OUT/metrics.csv`` (:func:`metrics_table`), ``OUT/predictions.tsv``
    (every evaluated pair, ``distance_to_tss`` and a ``score_<predictor>``
    column each) and ``OUT/summary.json`` (counts, pairs left out by reason,
    predictors skipped and why, the combined predictor's chromosome folds),
    each atomically. Figures are drawn by :mod:`speidlib.viz.crispr`.

    Parameters
    ----------
    benchmark : a benchmark table (:func:`speidlib.data.crispr.read_crispr_benchmark`)
    out_dir : folder to write (created if missing)
    run_dir, genome : a trained run and a GRCh38 FASTA, together, for the
        ``SPEID`` and ``distance+SPEID`` predictors
    cell_type : evaluate this ``CellType`` only

    Returns
    -------
    dict with ``metrics`` (DataFrame), ``predictions`` (DataFrame), ``summary`` (dict)
    """

    if (run_dir is None) != (genome is None):
        raise ValueError("give --run and --genome together: SPEID scores need both a trained run "
                         "and a GRCh38 genome")
    if genome is not None:  # refuse a genome of another assembly before any work
        check_assembly(genome_assembly(genome), BENCHMARK_ASSEMBLY, str(genome))
    table = read_crispr_benchmark(benchmark)
    pairs, left_out = evaluable_pairs(table, cell_type)
    y = pairs[S.CRISPR_REGULATED].to_numpy()
    if y.sum() == 0 or y.all():
        raise ValueError(f"{benchmark}: the {len(y)} evaluable pairs hold only one class")
    scores = {DISTANCE: distance_scores(pairs[S.CRISPR_DISTANCE])}
    summary = {"benchmark": str(benchmark), "assembly": BENCHMARK_ASSEMBLY, "cell_type": cell_type,
               "n_rows": int(len(table)), "n_evaluated": int(len(pairs)),
               "n_regulated": int(y.sum()), "left_out": left_out, "skipped": {},
               "n_bootstrap": n_bootstrap, "seed": seed, "recall_level": recall}
    if run_dir is not None:
        scores[SPEID] = speid_scores(pairs, run_dir, genome, batch_size=batch_size, progress=progress)
        summary.update(run=str(run_dir), genome=str(genome))
        try:
            scores[COMBINED], summary["combined_folds"] = combined_scores(
                pairs[S.CRISPR_DISTANCE], scores[SPEID], y, pairs[S.CRISPR_ELEMENT_CHROM])
        except ValueError as e:
            summary["skipped"][COMBINED] = str(e)
    metrics = metrics_table(pairs, scores, n_bootstrap=n_bootstrap, seed=seed, recall=recall)
    predictions = pairs.assign(**{f"{SCORE_PREFIX}{k}": v for k, v in scores.items()})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / S.CRISPR_METRICS_FILE) as tmp:
        metrics.to_csv(tmp, index=False)
    with atomic_path(out_dir / S.CRISPR_PREDICTIONS_FILE) as tmp:
        predictions.to_csv(tmp, sep="\t", index=False)
    atomic_write_json(out_dir / S.CRISPR_SUMMARY_FILE, summary)
    return {"metrics": metrics, "predictions": predictions, "summary": summary}


def predictor_scores(predictions: pd.DataFrame) -> dict:
    """Predictor name -> scores, shape=(n_pairs,), from a ``predictions.tsv`` table."""
    return {c[len(SCORE_PREFIX):]: predictions[c].to_numpy() for c in predictions.columns
            if c.startswith(SCORE_PREFIX)}
