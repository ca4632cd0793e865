"""Train / validation / test splits of a pair table.

Three ways to hold pairs out, all seeded and reproducible:

``random``
    The preprint's split: stratified by label, ``test_fraction`` of all pairs
    go to test (scikit-learn ``StratifiedShuffleSplit``), so test has the
    same share of positives as the whole table.
``chromosome``
    Whole chromosomes are held out, either the ones named or an automatic
    choice (the greedy rule below) with about ``test_fraction`` of the pairs
    and of the positives.
``group``
    Whole *element groups* are held out: the connected components of the
    bipartite graph whose nodes are enhancers and promoters and whose edges
    are pairs. No enhancer or promoter then appears on two sides, and no pair
    is dropped. Groups are chosen by the same greedy rule.

The greedy rule (chromosomes and groups): start with nothing held out; visit
the groups in an order shuffled by ``seed`` and move a group across (in or
out of the held-out side) whenever that brings the held-out side closer to
the target, measured as the sum of the relative errors ``|pairs -
target_pairs| / target_pairs + |positives - target_positives| /
target_positives``; when no single move helps, make the best swap of a
held-out group with another one, and repeat until neither helps. If every
group alone is far larger than the target, the group nearest the target is
held out; if the result misses the target by more than half of it, a warning
gives the fractions reached (pairs are never dropped). A single group cannot
be split: that raises ``ValueError``.

In every method the validation set is carved out of the training part by
the same method, with ``valid_fraction`` a fraction of the training part (the
preprint's "small (10%) subset" of the training set).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from speidlib import checks
from speidlib import schema as S
from speidlib.data.pairs import element_keys

__all__ = ["split_pairs", "split_summary", "element_groups", "as_split_names"]


def split_pairs(pairs: pd.DataFrame, method: str = "random", test_fraction: float = 0.1,
                valid_fraction: float = 0.1, test_chromosomes=None, valid_chromosomes=None,
                seed: int = 0) -> np.ndarray:
    """Assign every pair to ``train``, ``valid`` or ``test``.

    Parameters
    ----------
    pairs : pandas.DataFrame, shape=(n_pairs, ...)
        Needs ``label``, ``chrom``, ``enhancer_name`` and ``promoter_name``.
    method : {"random", "chromosome", "group"}
    test_fraction : float in [0, 1)
        Share of all pairs held out for testing.
    valid_fraction : float in [0, 1)
        Share of the *training part* held out for validation.
    test_chromosomes, valid_chromosomes : list of str, optional
        For ``method="chromosome"``: the chromosomes to hold out; the
        fraction is then ignored for that side. Others are chosen
        automatically.
    seed : int

    Returns
    -------
    numpy.ndarray of str, shape=(n_pairs,)
        ``schema.TRAIN``, ``schema.VALID`` or ``schema.TEST`` per row.
    """
    checks.pair_table(pairs)
    if method not in S.SPLIT_METHODS:
        raise ValueError(f"unknown split method {method!r}; choose from {', '.join(S.SPLIT_METHODS)}")
    for name, value in (("test_fraction", test_fraction), ("valid_fraction", valid_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), not {value}")
    if method != "chromosome" and (test_chromosomes or valid_chromosomes):
        raise ValueError("test_chromosomes and valid_chromosomes only apply to method='chromosome'")

    rng = np.random.default_rng(seed)
    labels = pairs[S.LABEL].to_numpy()
    split = np.full(len(pairs), S.TRAIN, dtype="<U5")
    everything = np.arange(len(pairs))
    if method == "random":
        split[_random_holdout(labels, everything, test_fraction, rng, "test")] = S.TEST
        train = np.flatnonzero(split == S.TRAIN)
        split[_random_holdout(labels, train, valid_fraction, rng, "validation")] = S.VALID
    elif method == "chromosome":
        chrom = pairs[S.CHROM].astype(str).to_numpy()
        test_named = _chosen(chrom, test_chromosomes, "test_chromosomes")
        valid_named = _chosen(chrom, valid_chromosomes, "valid_chromosomes")
        if test_named is not None and valid_named is not None and (test_named & valid_named).any():
            raise ValueError("a chromosome is in both test_chromosomes and valid_chromosomes")
        if test_named is None:
            candidates = everything if valid_named is None else np.flatnonzero(~valid_named)
            test_named = np.zeros(len(pairs), bool)
            test_named[_group_holdout(chrom, labels, candidates, test_fraction, rng,
                                      "chromosome", "test")] = True
        split[test_named] = S.TEST
        if valid_named is None:
            valid_named = np.zeros(len(pairs), bool)
            valid_named[_group_holdout(chrom, labels, np.flatnonzero(~test_named),
                                       valid_fraction, rng, "chromosome", "validation")] = True
        split[valid_named] = S.VALID
    else:
        groups = element_groups(pairs)
        split[_group_holdout(groups, labels, everything, test_fraction, rng,
                             "element group", "test")] = S.TEST
        split[_group_holdout(groups, labels, np.flatnonzero(split == S.TRAIN), valid_fraction,
                             rng, "element group", "validation")] = S.VALID
    if not (split == S.TRAIN).any():
        raise ValueError("the split leaves no training pairs; lower test_fraction/valid_fraction")
    return split


def element_groups(pairs: pd.DataFrame) -> np.ndarray:
    """Connected component of each pair in the enhancer-promoter graph.

    Two pairs are in one group when they share an enhancer or a promoter
    (the same chromosome and coordinates, whatever their names), directly or
    through a chain of pairs.

    Returns
    -------
    numpy.ndarray of int, shape=(n_pairs,)
        Group id per row, numbered from 0.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    enhancer = pd.factorize(element_keys(pairs, "enhancer"))[0]
    promoter = pd.factorize(element_keys(pairs, "promoter"))[0] + enhancer.max() + 1
    n_nodes = promoter.max() + 1
    graph = coo_matrix((np.ones(len(pairs)), (enhancer, promoter)), shape=(n_nodes, n_nodes))
    _, component = connected_components(graph, directed=False)
    return pd.factorize(component[enhancer])[0]


def split_summary(pairs: pd.DataFrame, split) -> pd.DataFrame:
    """Counts per split.

    Returns
    -------
    pandas.DataFrame, shape=(3, 9)
        Index ``train, valid, test``; columns ``pairs, positives, negatives,
        positive_rate`` (positives / pairs), ``pair_share`` and
        ``positive_share`` (of the whole table), and the numbers of distinct
        ``enhancers, promoters, chromosomes``.
    """
    checks.pair_table(pairs)
    split = as_split_names(split, len(pairs))
    df = pairs.assign(**{S.SPLIT: split})
    g = df.groupby(S.SPLIT)
    out = pd.DataFrame({
        "pairs": g.size(),
        "positives": g[S.LABEL].sum(),
        "enhancers": g[S.ENHANCER_NAME].nunique(),
        "promoters": g[S.PROMOTER_NAME].nunique(),
        "chromosomes": g[S.CHROM].nunique(),
    }).reindex(list(S.SPLIT_CODES)).fillna(0).astype(int)
    out.insert(2, "negatives", out["pairs"] - out["positives"])
    out.insert(3, "positive_rate", out["positives"] / out["pairs"].replace(0, np.nan))
    out.insert(4, "pair_share", out["pairs"] / len(pairs))
    out.insert(5, "positive_share", out["positives"] / max(int(df[S.LABEL].sum()), 1))
    out.index.name = S.SPLIT
    return out


def as_split_names(split, n: int | None = None) -> np.ndarray:
    """Split names (``train``/``valid``/``test``) from names or ``schema.SPLIT_CODES`` ints.

    Returns
    -------
    numpy.ndarray of str, shape=(n,)
    """
    split = np.asarray(split)
    if n is not None and split.shape != (n,):
        raise ValueError(f"split has shape {split.shape}; expected one entry per pair ({n},)")
    if split.dtype.kind in "iu":
        bad = ~np.isin(split, list(S.SPLIT_NAMES))
        if bad.any():
            raise ValueError(f"split code {int(split[bad][0])} at row {np.flatnonzero(bad)[0]} is not "
                             f"one of {S.SPLIT_CODES}")
        return np.array([S.SPLIT_NAMES[c] for c in range(3)], dtype="<U5")[split]
    split = split.astype(str)
    bad = ~np.isin(split, list(S.SPLIT_CODES))
    if bad.any():
        raise ValueError(f"split {str(split[bad][0])!r} at row {np.flatnonzero(bad)[0]} is not one of "
                         f"{', '.join(S.SPLIT_CODES)}")
    return split.astype("<U5")


# --- helpers --------------------------------------------------------------------


def _chosen(chrom: np.ndarray, names, argument: str):
    """Row mask of the named chromosomes, or None when none are named."""
    if names is None:
        return None
    names = [names] if isinstance(names, str) else list(names)
    absent = sorted(set(names) - set(chrom))
    if absent or not names:
        raise ValueError(f"{argument}: {', '.join(absent) or 'empty list'} not in the pair table, "
                         f"which has {', '.join(sorted(set(chrom)))}")
    return np.isin(chrom, names)


def _random_holdout(labels, candidates, fraction, rng, side) -> np.ndarray:
    """Stratified random ``fraction`` of ``candidates`` (row indices).

    ``ceil(fraction * n)`` rows are held out, shared between the labels in
    proportion to their counts (largest remainders get the leftover rows),
    as scikit-learn's ``StratifiedShuffleSplit`` does; plain numpy keeps
    scikit-learn's import (over a second) out of ``speid prepare``.
    """
    if fraction == 0:
        return candidates[:0]
    y = labels[candidates]
    n_held = int(np.ceil(fraction * len(y)))
    classes, counts = np.unique(y, return_counts=True)
    problem = None
    if n_held >= len(y):
        problem = f"the {side} set would take all pairs"
    elif n_held < len(classes):
        problem = f"{n_held} held-out pairs cannot hold both labels"
    elif (counts < 2).any():
        problem = "a label occurs only once"
    if problem:
        raise ValueError(f"cannot draw a stratified {fraction:.0%} {side} set from "
                         f"{len(y)} pairs ({int(y.sum())} positives): {problem}")
    exact = counts * n_held / len(y)
    alloc = np.floor(exact).astype(int)
    alloc[np.argsort(-(exact - alloc), kind="stable")[:n_held - alloc.sum()]] += 1
    held = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, alloc)])
    return candidates[np.sort(held)]


def _group_holdout(groups, labels, candidates, fraction, rng, what, side) -> np.ndarray:
    """Rows of whole groups moved by the greedy rule (module docstring) to the held-out side."""
    if fraction == 0:
        return candidates[:0]
    if len(candidates) == 0:
        raise ValueError(f"no pairs are left to draw a {side} set from")
    keys, codes = np.unique(groups[candidates], return_inverse=True)
    n_per = np.bincount(codes, minlength=len(keys))
    pos_per = np.bincount(codes, weights=labels[candidates] == 1, minlength=len(keys))
    target_n, target_pos = fraction * len(candidates), fraction * pos_per.sum()

    def error(n, pos):
        return np.abs(n - target_n) / max(target_n, 1) + np.abs(pos - target_pos) / max(target_pos, 1)

    held = np.zeros(len(keys), bool)
    n, pos, moved = 0, 0.0, True
    while moved:  # every move lowers the error, so this ends
        moved = False
        for g in rng.permutation(len(keys)):  # single moves, in seeded order
            sign = -1 if held[g] else 1
            if error(n + sign * n_per[g], pos + sign * pos_per[g]) < error(n, pos) - 1e-12:
                held[g] = not held[g]
                n, pos, moved = n + sign * n_per[g], pos + sign * pos_per[g], True
        h, o = np.flatnonzero(held), np.flatnonzero(~held)
        if not moved and h.size and o.size:  # best swap of a held-out group with another
            swap = error(n - n_per[h][:, None] + n_per[o], pos - pos_per[h][:, None] + pos_per[o])
            i, j = np.unravel_index(np.argmin(swap), swap.shape)
            if swap[i, j] < error(n, pos) - 1e-12:
                held[[h[i], o[j]]] = False, True
                n, pos = n - n_per[h[i]] + n_per[o[j]], pos - pos_per[h[i]] + pos_per[o[j]]
                moved = True
    if n == 0:  # every group alone overshoots badly: take the one nearest the target
        if len(keys) == 1:
            raise ValueError(f"cannot hold out a {side} set by {what}: all {len(candidates)} "
                             f"pairs are in one {what}")
        g = int(np.argmin(error(n_per, pos_per)))
        held[g], n, pos = True, n_per[g], pos_per[g]
    if not (0.5 <= n / target_n <= 1.5) or (target_pos >= 1 and not 0.5 <= pos / target_pos <= 1.5):
        warnings.warn(
            f"{what} split: the {side} set holds {n / len(candidates):.1%} of the pairs and "
            f"{pos / max(pos_per.sum(), 1):.1%} of the positives, for a target of {fraction:.0%} "
            f"(the largest {what} holds {n_per.max() / len(candidates):.1%} of the pairs)",
            stacklevel=3)
    return candidates[held[codes]]
