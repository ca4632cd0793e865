"""Baselines that show how much of an enhancer-promoter score is real.

Three simple models share one interface, ``fit(train_pairs) -> self`` and
``predict(pairs) -> scores, shape=(n,)`` (higher = more likely interacting):

* :class:`DistanceBaseline`: logistic regression on log10 distance. Needs
  no genome. TargetFinder drew its negatives at distances like the
  positives', and on its tables distance alone sits near chance (test AUROC
  0.42-0.53).
* :class:`PropensityBaseline`: each enhancer's and promoter's positive rate
  on the training pairs (the element-propensity baseline of Mao, Kostka &
  Chikina 2018: TargetFinder-style pair sets let a model memorise hub
  elements). Needs no genome and no sequence; it scores well only where test
  pairs share elements with training pairs, so it collapses under a
  chromosome split.
* :class:`KmerBaseline`: reverse-complement-collapsed k-mer frequencies of
  the enhancer and promoter windows (:mod:`speidlib.data.kmers`) with a
  logistic regression.

:func:`baseline_table` runs the genome-free baselines on several cell lines
under several splits (threshold from the validation split, metrics on the
test split), :func:`split_drop` says how far each falls between splits, and
:func:`cross_cell_matrix` trains on one cell line and tests on every other.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from speidlib import schema as S
from speidlib.argtypes import nonneg_int
from speidlib.data.kmers import check_k, kmer_counts, kmer_names
from speidlib.data.splits import as_split_names, split_pairs
from speidlib.evaluate.metrics import METRICS, choose_threshold, evaluate_scores
from speidlib.evaluate.metrics import aupr as _aupr
from speidlib.evaluate.metrics import auroc as _auroc
from speidlib.options import option, seed_option

__all__ = [
    "DistanceBaseline", "PropensityBaseline", "KmerBaseline", "kmer_counts", "kmer_names",
    "fit_evaluate", "baseline_table", "split_drop", "cross_cell_matrix",
    "GENOME_FREE_BASELINES",
]


def _require_columns(pairs: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(pairs, pd.DataFrame):
        raise ValueError(f"{what} needs a pair table (pandas DataFrame), got {type(pairs).__name__}")
    missing = [c for c in columns if c not in pairs.columns]
    if missing:
        raise ValueError(f"{what} needs pair-table column(s) {', '.join(missing)}; "
                         f"the table has {', '.join(map(str, pairs.columns))}")
    if len(pairs) == 0:
        raise ValueError(f"{what} got an empty pair table")


def _labels(pairs: pd.DataFrame, what: str) -> np.ndarray:
    _require_columns(pairs, [S.LABEL], what)
    y = pairs[S.LABEL].to_numpy()
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{what}: labels must be 0 or 1")
    if y.min() == y.max():
        raise ValueError(f"{what}: the training pairs hold only label {int(y[0])}; both classes "
                         "are needed to fit")
    return y.astype(np.int64)


def _linear_proba(model: LogisticRegression, X: np.ndarray) -> np.ndarray:
    """``predict_proba(X)[:, 1]`` computed row by row, so equal rows get bit-equal scores
    (a matrix product may round rows differently, which would break exact ties)."""
    z = np.full(X.shape[0], float(model.intercept_[0]))
    for j, w in enumerate(model.coef_[0]):
        z = z + X[:, j] * w
    return 1.0 / (1.0 + np.exp(-z))


def _not_fitted(model) -> ValueError:
    return ValueError(f"{type(model).__name__} is not fitted yet; call fit(train_pairs) first")


# --- distance -----------------------------------------------------------------
class DistanceBaseline:
    """Logistic regression on ``log10(distance + 1)``.

    Uses column ``distance`` (bp between element centres).
    """

    name = "distance"

    def __init__(self):
        self.model_ = None

    @staticmethod
    def _features(pairs: pd.DataFrame) -> np.ndarray:
        _require_columns(pairs, [S.DISTANCE], "the distance baseline")
        d = pairs[S.DISTANCE].to_numpy(dtype=np.float64)
        if np.any(d < 0) or not np.isfinite(d).all():
            raise ValueError("distances must be finite and non-negative")
        return np.log10(d + 1.0)[:, None]

    def fit(self, pairs: pd.DataFrame) -> "DistanceBaseline":
        """Fit on training pairs (columns ``distance``, ``label``)."""
        y = _labels(pairs, "the distance baseline")
        self.model_ = LogisticRegression().fit(self._features(pairs), y)
        return self

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Scores, shape=(n,), the fitted probability of interaction."""
        if self.model_ is None:
            raise _not_fitted(self)
        return _linear_proba(self.model_, self._features(pairs))


# --- element propensity ----------------------------------------------------------
class PropensityBaseline:
    """Each element's positive rate on the training pairs, combined by logistic regression.

    For an element seen in ``n`` training pairs, ``k`` of them positive, the
    smoothed rate is ``(k + a * prior) / (n + a)`` with ``a = smoothing`` and
    ``prior`` the training positive rate; an unseen element gets the prior.
    The enhancer's and the promoter's rates enter a logistic regression as
    logits. While fitting that regression each training pair's rates leave
    the pair itself out (``k - label``, ``n - 1``), so the combiner learns how
    much the rates predict *other* pairs, not its own label. (With only a
    few pairs per element, leave-one-out rates run against a pair's own label
    and a weight can come out negative; on the TargetFinder tables, where hub
    elements have many pairs, both weights come out near 1.)

    Parameters
    ----------
    smoothing : float >= 0, pseudo-pairs pulling each rate toward the prior
    match : {"name", "overlap"}
        ``"name"``: an element is known when its name was in training (the
        classic memorisation baseline). ``"overlap"``: pool the counts of all
        training elements on the same chromosome whose interval overlaps it
        (element names carry the cell line, so only this transfers across
        cell lines).
    """

    name = "propensity"

    def __init__(self, smoothing: float = 1.0, match: str = "name"):
        if not smoothing >= 0:
            raise ValueError(f"smoothing must be a non-negative number, got {smoothing}")
        if match not in ("name", "overlap"):
            raise ValueError(f"match must be 'name' or 'overlap', not {match!r}")
        self.smoothing = float(smoothing)
        self.match = match
        self.prior_ = None
        self.elements_ = {}
        self.model_ = None

    def _columns(self, which):
        if self.match == "name":
            return [f"{which}_name"]
        return [S.CHROM, f"{which}_start", f"{which}_end"]

    def fit(self, pairs: pd.DataFrame) -> "PropensityBaseline":
        """Learn element rates and their combination from training pairs."""
        y = _labels(pairs, "the propensity baseline")
        for which in S.BRANCHES:
            _require_columns(pairs, self._columns(which), "the propensity baseline")
        self.prior_ = float(y.mean())
        self.elements_ = {}
        for which in S.BRANCHES:
            cols = self._columns(which)
            g = pairs.assign(_y=y).groupby(cols, sort=True, observed=True)["_y"].agg(["sum", "count"])
            self.elements_[which] = g.reset_index()
        k_e, n_e = self._counts(pairs, "enhancer")
        k_p, n_p = self._counts(pairs, "promoter")
        X = np.column_stack([self._logit(self._rate(k_e - y, n_e - 1)),
                             self._logit(self._rate(k_p - y, n_p - 1))])
        self.model_ = LogisticRegression().fit(X, y)
        return self

    def _rate(self, k, n) -> np.ndarray:
        k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
        a, p = self.smoothing, self.prior_
        denom = n + a
        return np.divide(k + a * p, denom, out=np.full_like(denom, p), where=denom > 0)

    @staticmethod
    def _logit(r) -> np.ndarray:
        r = np.clip(r, 1e-6, 1 - 1e-6)
        return np.log(r / (1 - r))

    def _counts(self, pairs: pd.DataFrame, which: str) -> tuple[np.ndarray, np.ndarray]:
        """Training positives ``k`` and pairs ``n`` for each row's element, shape=(n,)."""
        table = self.elements_[which]
        if self.match == "name":
            col = f"{which}_name"
            idx = pd.Index(table[col]).get_indexer(pairs[col])
            seen = idx >= 0
            k = np.where(seen, table["sum"].to_numpy()[idx], 0)
            n = np.where(seen, table["count"].to_numpy()[idx], 0)
            return k.astype(np.float64), n.astype(np.float64)
        return _overlap_sums(table, pairs, which)

    def element_rates(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The smoothed training rate of each row's enhancer and promoter.

        Returns
        -------
        DataFrame, shape=(n, 2), columns ``enhancer_rate, promoter_rate``
        (the prior for elements unseen in training), index as ``pairs``.
        """
        if self.model_ is None:
            raise _not_fitted(self)
        out = {}
        for which in S.BRANCHES:
            _require_columns(pairs, self._columns(which), "the propensity baseline")
            out[f"{which}_rate"] = self._rate(*self._counts(pairs, which))
        return pd.DataFrame(out, index=pairs.index)

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Scores, shape=(n,), from the two element rates."""
        rates = self.element_rates(pairs)
        return _linear_proba(self.model_, self._logit(rates.to_numpy()))


def _overlap_sums(table: pd.DataFrame, pairs: pd.DataFrame, which: str):
    """Sum training ``sum``/``count`` over training elements overlapping each query element."""
    start_col, end_col = f"{which}_start", f"{which}_end"
    k = np.zeros(len(pairs))
    n = np.zeros(len(pairs))
    q_chrom = pairs[S.CHROM].to_numpy()
    q_start = pairs[start_col].to_numpy(dtype=np.int64)
    q_end = pairs[end_col].to_numpy(dtype=np.int64)
    for chrom, t in table.groupby(S.CHROM, sort=False, observed=True):
        rows = np.flatnonzero(q_chrom == chrom)
        if rows.size == 0:
            continue
        t = t.sort_values(start_col)
        ts, te = t[start_col].to_numpy(np.int64), t[end_col].to_numpy(np.int64)
        tk, tn = t["sum"].to_numpy(np.float64), t["count"].to_numpy(np.float64)
        longest = int((te - ts).max())
        qs, qe = q_start[rows], q_end[rows]
        hi = np.searchsorted(ts, qe, side="left")             # training start < query end
        lo = np.searchsorted(ts, qs - longest, side="right")  # training end > query start is possible
        n_cand = np.maximum(hi - lo, 0)
        owner = np.repeat(np.arange(rows.size), n_cand)
        cand = lo[owner] + np.arange(owner.size) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand)
        hit = te[cand] > qs[owner]
        k[rows] = np.bincount(owner[hit], weights=tk[cand[hit]], minlength=rows.size)
        n[rows] = np.bincount(owner[hit], weights=tn[cand[hit]], minlength=rows.size)
    return k, n


# --- k-mers --------------------------------------------------------------------
class KmerBaseline:
    """k-mer frequencies of both windows with a logistic regression.

    Features are, for each ``k`` and each branch (enhancer, promoter), the
    reverse-complement-collapsed k-mer counts divided by the number of
    counted k-mers in that window, standardised, then a logistic regression.

    Parameters
    ----------
    k : int or sequence of int (each 1-8; 3-6 is the useful range)
    windows : callable, optional
        ``windows(pairs) -> (enhancer_codes (n, We), promoter_codes (n, Wp))``
        so that ``fit(pairs)`` / ``predict(pairs)`` work like the other
        baselines; otherwise pass the code arrays to ``fit``/``predict``.
    C : float, inverse regularisation strength of the logistic regression
    max_iter : int
    """

    name = "kmer"

    def __init__(self, k: int | Sequence[int] = 4, windows: Callable | None = None,
                 C: float = 1.0, max_iter: int = 1000):
        ks = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
        if not ks:
            raise ValueError("give at least one k-mer length")
        self.k = tuple(check_k(x) for x in ks)
        self.windows = windows
        self.C = C
        self.max_iter = max_iter
        self.model_ = None

    def feature_names(self) -> list[str]:
        """Names of the feature columns, e.g. ``enhancer_AACG``."""
        return [f"{branch}_{name}" for kk in self.k for branch in S.BRANCHES
                for name in kmer_names(kk)]

    def features(self, enhancer_codes: np.ndarray, promoter_codes: np.ndarray) -> np.ndarray:
        """k-mer frequencies, shape=(n, n_features), as :meth:`feature_names`.

        Parameters
        ----------
        enhancer_codes : np.ndarray, shape=(n, We), int8 base codes
        promoter_codes : np.ndarray, shape=(n, Wp), int8 base codes
        """
        enhancer_codes, promoter_codes = np.asarray(enhancer_codes), np.asarray(promoter_codes)
        if enhancer_codes.ndim != 2 or promoter_codes.ndim != 2 \
                or enhancer_codes.shape[0] != promoter_codes.shape[0]:
            raise ValueError(f"enhancer and promoter codes must be (n, L) arrays with the same n, "
                             f"got shapes {enhancer_codes.shape} and {promoter_codes.shape}")
        # filled block by block in place (no list of blocks and stacked copy: with a run's
        # training pairs this is hundreds of MB, and notebook 03 must stay within 2 GiB)
        features = np.zeros((enhancer_codes.shape[0], len(self.feature_names())), dtype=np.float64)
        col = 0
        for kk in self.k:
            for codes in (enhancer_codes, promoter_codes):
                counts = kmer_counts(codes, kk)
                total = counts.sum(axis=1, keepdims=True)
                block = features[:, col:col + counts.shape[1]]
                np.divide(counts, total, out=block, where=total > 0)
                col += counts.shape[1]
        return features

    def _codes(self, pairs, enhancer_codes, promoter_codes):
        if enhancer_codes is None or promoter_codes is None:
            if self.windows is None:
                raise ValueError("the k-mer baseline needs sequence: pass enhancer_codes and "
                                 "promoter_codes, or build it with windows=callable")
            enhancer_codes, promoter_codes = self.windows(pairs)
        if len(enhancer_codes) != len(pairs):
            raise ValueError(f"{len(pairs)} pairs but {len(enhancer_codes)} enhancer windows")
        return enhancer_codes, promoter_codes

    def _pair_features(self, pairs, enhancer_codes, promoter_codes, chunk: int = 8192) -> np.ndarray:
        """:meth:`features` of ``pairs``; windows read ``chunk`` pairs at a time when not given."""
        if enhancer_codes is not None and promoter_codes is not None or len(pairs) <= chunk:
            return self.features(*self._codes(pairs, enhancer_codes, promoter_codes))
        X = np.empty((len(pairs), len(self.feature_names())), dtype=np.float64)
        for lo in range(0, len(pairs), chunk):
            X[lo:lo + chunk] = self.features(*self._codes(pairs.iloc[lo:lo + chunk], None, None))
        return X

    def fit(self, pairs: pd.DataFrame, enhancer_codes: np.ndarray | None = None,
            promoter_codes: np.ndarray | None = None) -> "KmerBaseline":
        """Fit on training pairs (their ``label``) and their windows."""
        y = _labels(pairs, "the k-mer baseline")
        X = self._pair_features(pairs, enhancer_codes, promoter_codes)
        self.model_ = make_pipeline(StandardScaler(copy=False),   # X is ours: scaled in place
                                    LogisticRegression(C=self.C, max_iter=self.max_iter)).fit(X, y)
        return self

    def predict(self, pairs: pd.DataFrame, enhancer_codes: np.ndarray | None = None,
                promoter_codes: np.ndarray | None = None) -> np.ndarray:
        """Scores, shape=(n,)."""
        if self.model_ is None:
            raise _not_fitted(self)
        X = self._pair_features(pairs, enhancer_codes, promoter_codes)
        return self.model_.predict_proba(X)[:, 1]


def dataset_windows(dataset) -> Callable:
    """``windows(pairs) -> (enhancer_codes (n, We), promoter_codes (n, Wp))`` for rows of
    ``dataset.pairs`` (a :class:`speidlib.data.dataset.Dataset`; rows are found by their index),
    at the default windows the model is scored on: the ``windows`` a
    :class:`KmerBaseline` needs to fit and predict on a run's own pairs."""
    def windows(pairs: pd.DataFrame):
        idx = pairs.index.to_numpy()
        return (dataset.windows("enhancer", dataset.enhancer_index[idx]),
                dataset.windows("promoter", dataset.promoter_index[idx]))

    return windows


GENOME_FREE_BASELINES: dict[str, Callable] = {
    "distance": DistanceBaseline,
    "propensity": PropensityBaseline,
}


# --- protocol: fit on train, threshold on valid, metrics on test -----------------
def _check_split(split, n: int, cell: str = "") -> np.ndarray:

    try:
        return as_split_names(split, n)
    except ValueError as e:
        raise ValueError(f"split for {cell}: {e}" if cell else str(e)) from None


def fit_evaluate(model, pairs: pd.DataFrame, split, n_bootstrap: int = 0, seed: int = 0) -> dict:
    """Fit ``model`` on the training pairs, pick the threshold on validation, test.

    Parameters
    ----------
    model : object with ``fit(pairs)`` and ``predict(pairs) -> (n,)``
    pairs : DataFrame, a pair table
    split : array-like of str, shape=(n,), ``train``/``valid``/``test`` per row
    n_bootstrap : int, resamples for the test confidence intervals (0: none)
    seed : int

    Returns
    -------
    dict as :func:`speidlib.evaluate.metrics.evaluate_scores`.
    """
    split = _check_split(split, len(pairs))
    parts = {name: pairs[split == name] for name in (S.TRAIN, S.VALID, S.TEST)}
    for name, part in parts.items():
        if len(part) == 0:
            raise ValueError(f"the {name} split is empty")
    model.fit(parts[S.TRAIN])
    threshold = choose_threshold(parts[S.VALID][S.LABEL].to_numpy(), model.predict(parts[S.VALID]))
    return evaluate_scores(parts[S.TEST][S.LABEL].to_numpy(), model.predict(parts[S.TEST]),
                           threshold, n_bootstrap=n_bootstrap, seed=seed)


def run_pair_baselines(dataset, kmer_k: Sequence[int] = (1, 2, 3, 4), n_bootstrap: int = 0,
                       seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Every baseline on a run's own split, beside which SPEID's test metrics can be read.

    Distance-only, element propensity and the k-mer model (on the dataset's
    default windows), each fitted on the training pairs with its threshold
    chosen on the validation pairs, as :func:`fit_evaluate` does.

    Parameters
    ----------
    dataset : :class:`speidlib.data.dataset.Dataset` of the run
    kmer_k : k-mer lengths of the sequence baseline
    n_bootstrap, seed : for the test confidence intervals

    Returns
    -------
    table : DataFrame, one row per baseline (index ``model``), the columns of
        :func:`speidlib.evaluate.metrics.evaluate_scores`
    test_scores : dict model name -> scores of the test pairs, shape=(n_test,), in
        the dataset's order
    """
    pairs, split = dataset.pairs, dataset.pairs[S.SPLIT].to_numpy()
    makers = {**GENOME_FREE_BASELINES,
              "kmer": lambda: KmerBaseline(k=tuple(kmer_k), windows=dataset_windows(dataset))}
    rows, test_scores = {}, {}
    for name, make in makers.items():
        model = make()
        rows[name] = fit_evaluate(model, pairs, split, n_bootstrap=n_bootstrap, seed=seed)
        test_scores[name] = model.predict(pairs[split == S.TEST])
    return pd.DataFrame(rows).T.rename_axis("model"), test_scores


def _splits_for(pairs, method, seed, test_fraction, valid_fraction):

    return split_pairs(pairs, method=method, test_fraction=test_fraction,
                       valid_fraction=valid_fraction, seed=seed)


def test_elements_seen(pairs: pd.DataFrame, split) -> dict:
    """How many distinct test elements (enhancers plus promoters, by name) occur in training.

    Parameters
    ----------
    pairs : DataFrame, a pair table
    split : array-like of str, shape=(n,), ``train``/``valid``/``test`` per row

    Returns
    -------
    dict ``n_test_elements, n_test_elements_seen``
    """
    split = _check_split(split, len(pairs))
    total = seen = 0
    for which in S.BRANCHES:
        names = pairs[f"{which}_name"].astype(str)
        test = names[split == S.TEST].unique()
        total += len(test)
        seen += int(pd.Series(test).isin(set(names[split == S.TRAIN])).sum())
    return {"n_test_elements": total, "n_test_elements_seen": seen}


def baseline_table(pairs_by_cell: Mapping[str, pd.DataFrame], splits=("random", "chromosome"),
                   models: Mapping[str, Callable] | None = None, seed: int = 0,
                   n_bootstrap: int = 0, test_fraction: float = 0.1,
                   valid_fraction: float = 0.1) -> pd.DataFrame:
    """Run baselines on every cell line under every split.

    Parameters
    ----------
    pairs_by_cell : mapping cell_line -> pair table
    splits : sequence of split methods (see :func:`speidlib.data.splits.split_pairs`)
    models : mapping name -> zero-argument factory of an unfitted model;
        default :data:`GENOME_FREE_BASELINES` (distance and propensity)
    seed : int, for the splits and the bootstrap
    n_bootstrap : int, resamples for confidence intervals (0, the default,
        skips them; 1000 takes about half a second per row)
    test_fraction, valid_fraction : float, passed to the splitter

    Returns
    -------
    DataFrame, one row per (cell_line, split_method, model), columns
    ``cell_line, split_method, model, auroc, aupr, f1, mcc, precision,
    recall, threshold, n_train, n_test, n_positive_test``;
    ``n_test_elements`` (distinct test enhancers plus promoters) and
    ``n_test_elements_seen`` (how many of them occur in a training pair);
    ``n_distinct_scores``, ``constant`` (every test pair scored alike),
    ``degenerate`` (the metrics that then measure no ranking, joined by
    ``;``), ``auroc_tie_broken`` with ``auroc_tie_broken_lo/_hi`` (AUROC with
    ties broken at random: mean and 95% range over draws) and, with a
    bootstrap, ``<metric>_lo, <metric>_hi``.
    """
    models = dict(models or GENOME_FREE_BASELINES)
    if not pairs_by_cell:
        raise ValueError("pairs_by_cell is empty: give at least one cell line's pair table")
    rows = []
    for cell, pairs in pairs_by_cell.items():
        for method in splits:
            split = _check_split(_splits_for(pairs, method, seed, test_fraction, valid_fraction),
                                 len(pairs), cell)
            seen = test_elements_seen(pairs, split)
            for name, factory in models.items():
                m = fit_evaluate(factory(), pairs, split, n_bootstrap=n_bootstrap, seed=seed)
                row = {"cell_line": cell, "split_method": method, "model": name}
                row.update({k: m[k] for k in (*METRICS, "threshold", "n_test", "n_positive_test")})
                row["n_train"] = int((split == S.TRAIN).sum())
                row.update(seen)
                row.update(n_distinct_scores=m["n_distinct_scores"], constant=m["constant"],
                           degenerate=";".join(m["degenerate"]),
                           auroc_tie_broken=m["auroc_tie_broken"]["mean"],
                           auroc_tie_broken_lo=m["auroc_tie_broken"]["lo"],
                           auroc_tie_broken_hi=m["auroc_tie_broken"]["hi"])
                for metric, (lo, hi) in m["ci"].items():
                    row[f"{metric}_lo"], row[f"{metric}_hi"] = lo, hi
                rows.append(row)
    return pd.DataFrame(rows)


def _with_ci(row, metric: str) -> str:
    lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if lo is None or pd.isna(lo):
        return f"{row[metric]:.3f}"
    return f"{row[metric]:.3f} ({lo:.3f}-{hi:.3f})"


def baseline_markdown(table: pd.DataFrame, metric: str = "auroc") -> str:
    """The baseline table as Markdown: one row per cell line, one column per split and model.

    Each figure carries its bootstrap 95% interval, ``0.930 (0.909-0.948)``; a
    model that gives every test pair the same score reads ``constant (0 of N
    test elements seen)`` instead of the 0.500 (or the positive rate) its
    metric would print.

    Parameters
    ----------
    table : DataFrame from :func:`baseline_table` (with ``n_bootstrap > 0`` for intervals)
    metric : the metric shown

    Returns
    -------
    str, a Markdown table
    """
    _require_columns(table, ["cell_line", "split_method", "model", metric, "constant",
                             "n_test_elements", "n_test_elements_seen"], "baseline_markdown")
    columns = list(dict.fromkeys(zip(table["split_method"], table["model"])))
    t = table.set_index(["cell_line", "split_method", "model"])
    lines = ["| cell line | " + " | ".join(f"{m}, {s} split" for s, m in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for cell in dict.fromkeys(table["cell_line"]):
        out = []
        for key in columns:
            if (cell, *key) not in t.index:
                out.append("")
                continue
            row = t.loc[(cell, *key)]
            if bool(row["constant"]):
                out.append(f"constant ({int(row['n_test_elements_seen']):,} of "
                           f"{int(row['n_test_elements']):,} test elements seen)")
            else:
                out.append(_with_ci(row, metric))
        lines.append(f"| {cell} | " + " | ".join(out) + " |")
    return "\n".join(lines) + "\n"


def split_drop(table: pd.DataFrame, metrics=("auroc", "aupr", "f1"), reference: str = "random",
               other: str = "chromosome") -> pd.DataFrame:
    """How far each model falls from one split to another.

    Parameters
    ----------
    table : DataFrame from :func:`baseline_table`
    metrics : metric columns to compare
    reference, other : split methods; ``drop = reference - other``

    Returns
    -------
    DataFrame with columns ``cell_line, model, metric, <reference>, <other>,
    drop``, one row per cell line x model x metric.
    """
    _require_columns(table, ["cell_line", "split_method", "model", *metrics], "split_drop")
    have = set(table["split_method"])
    for m in (reference, other):
        if m not in have:
            raise ValueError(f"the table has no rows for split '{m}' (it has {sorted(have)})")
    long = table.melt(id_vars=["cell_line", "split_method", "model"], value_vars=list(metrics),
                      var_name="metric")
    wide = long.pivot_table(index=["cell_line", "model", "metric"], columns="split_method",
                            values="value", sort=False).reset_index()
    wide.columns.name = None
    wide["drop"] = wide[reference] - wide[other]
    return wide[["cell_line", "model", "metric", reference, other, "drop"]]


# --- cross-cell ------------------------------------------------------------------
_METRIC_FUNCS = {"auroc": _auroc, "aupr": _aupr}


def cross_cell_matrix(pairs_by_cell: Mapping[str, pd.DataFrame], model_factory: Callable | None = None,
                      metric: str | Sequence[str] = ("auroc", "aupr"), split_method: str = "random",
                      seed: int = 0, splits: Mapping[str, np.ndarray] | None = None,
                      fitted_models: Mapping[str, object] | None = None,
                      test_fraction: float = 0.1, valid_fraction: float = 0.1):
    """Train on each cell line, test on every cell line's test split.

    Parameters
    ----------
    pairs_by_cell : mapping cell_line -> pair table
    model_factory : callable, optional
        ``model_factory()`` returns an unfitted model with ``fit(pairs)`` and
        ``predict(pairs)``; it is fitted on each cell line's training split.
    metric : ``"auroc"``, ``"aupr"`` or a sequence of them
    split_method : str, used to split each cell line when ``splits`` is None
    seed : int
    splits : mapping cell_line -> split array (``train``/``valid``/``test``
        per row), optional; e.g. the splits stored in each run's dataset
    fitted_models : mapping cell_line -> already fitted model, optional
        (e.g. a trained SPEID scorer); used instead of ``model_factory``
    test_fraction, valid_fraction : float, passed to the splitter

    Returns
    -------
    DataFrame (one metric given as a string) or dict metric -> DataFrame;
    rows are training cell lines (index ``train``), columns test cell lines
    (``test``); the diagonal is each cell line's own test split.
    """
    names = [metric] if isinstance(metric, str) else list(metric)
    for m in names:
        if m not in _METRIC_FUNCS:
            raise ValueError(f"unknown metric {m!r}; cross-cell matrices support 'auroc' and 'aupr'")
    if (model_factory is None) == (fitted_models is None):
        raise ValueError("give exactly one of model_factory (fitted here) or fitted_models")
    cells = list(pairs_by_cell)
    if not cells:
        raise ValueError("pairs_by_cell is empty")
    if splits is None:
        splits = {c: _splits_for(pairs_by_cell[c], split_method, seed, test_fraction,
                                 valid_fraction) for c in cells}
    splits = {c: _check_split(splits[c], len(pairs_by_cell[c]), c) for c in cells}
    tests = {c: pairs_by_cell[c][splits[c] == S.TEST] for c in cells}
    if fitted_models is None:
        fitted = {c: model_factory().fit(pairs_by_cell[c][splits[c] == S.TRAIN]) for c in cells}
    else:
        missing = [c for c in cells if c not in fitted_models]
        if missing:
            raise ValueError(f"fitted_models lacks cell line(s) {', '.join(missing)}")
        fitted = dict(fitted_models)
    out = {m: pd.DataFrame(np.nan, index=pd.Index(cells, name="train"),
                           columns=pd.Index(cells, name="test")) for m in names}
    for train_cell, test_cell in itertools.product(cells, cells):
        test = tests[test_cell]
        scores = np.asarray(fitted[train_cell].predict(test), dtype=np.float64)
        for m in names:
            out[m].loc[train_cell, test_cell] = _METRIC_FUNCS[m](test[S.LABEL].to_numpy(), scores)
    return out[names[0]] if isinstance(metric, str) else out


# --- one call for a report ---------------------------------------------------------


@dataclass(frozen=True)
class BaselinesOptions:
    """The options of ``speid baselines`` besides its output folder (:mod:`speidlib.options`)."""

    pairs: list[str] | None = option(None, nargs="*", help="pair tables (one per cell line); default: the six "
                                     "TargetFinder ep tables")
    seed: int = seed_option("split seed")
    n_bootstrap: int = option(1000, type=nonneg_int, flag="--bootstrap", help="bootstrap resamples (default %(default)s)")
