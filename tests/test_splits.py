"""Tests for speidlib.data.splits: random (stratified), chromosome and element-group splits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema as S
from speidlib.data.splits import (
    as_split_names,
    element_groups,
    split_pairs,
    split_summary,
)

TARGETFINDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "targetfinder"
needs_shared = pytest.mark.skipif(not TARGETFINDER.is_dir(), reason="../shared/data absent")


def toy_pairs(n_chrom=10, per_chrom=10) -> pd.DataFrame:
    """Each chromosome: 5 enhancers x 2 promoters forming 2 element groups; 2 positives."""
    rows = []
    for c in range(1, n_chrom + 1):
        for i in range(per_chrom):
            rows.append({S.CHROM: f"chr{c}", S.ENHANCER_NAME: f"chr{c}:e{i // 2}",
                         S.PROMOTER_NAME: f"chr{c}:p{i % 2}{i // 6}", S.LABEL: int(i % 5 == 0)})
    return pd.DataFrame(rows)


def sides(split, pairs, column):
    return {s: set(pairs.loc[split == s, column]) for s in S.SPLIT_CODES}


def assert_disjoint(split, pairs, column):
    values = sides(split, pairs, column)
    assert not values[S.TRAIN] & values[S.TEST]
    assert not values[S.TRAIN] & values[S.VALID]
    assert not values[S.VALID] & values[S.TEST]


@pytest.mark.parametrize("method", S.SPLIT_METHODS)
def test_reproducible_and_seeded(method):
    pairs = toy_pairs(20)
    first = split_pairs(pairs, method, seed=3)
    assert first.dtype.kind == "U" and set(first) == {S.TRAIN, S.VALID, S.TEST}
    np.testing.assert_array_equal(first, split_pairs(pairs, method, seed=3))
    assert any((split_pairs(pairs, method, seed=s) != first).any() for s in (4, 5))


def test_random_split_is_exactly_stratified():
    pairs = toy_pairs(10)  # 100 pairs, 20 positives
    split = split_pairs(pairs, "random", seed=0)
    summary = split_summary(pairs, split)
    assert summary["pairs"].tolist() == [81, 9, 10]     # test 10% of 100; valid 10% of 90
    assert summary["positives"].tolist() == [16, 2, 2]  # 20% of each, rounded as sklearn does
    no_valid = split_pairs(pairs, "random", valid_fraction=0, seed=0)
    assert (no_valid == S.VALID).sum() == 0 and (no_valid == S.TEST).sum() == 10


def test_named_test_chromosomes():
    pairs = toy_pairs(10)
    split = split_pairs(pairs, "chromosome", test_chromosomes=["chr2", "chr7"], seed=0)
    np.testing.assert_array_equal(split == S.TEST, pairs[S.CHROM].isin(["chr2", "chr7"]))
    assert_disjoint(split, pairs, S.CHROM)
    both = split_pairs(pairs, "chromosome", test_chromosomes="chr1", valid_chromosomes=["chr3"])
    assert sides(both, pairs, S.CHROM)[S.VALID] == {"chr3"}
    assert sides(both, pairs, S.CHROM)[S.TEST] == {"chr1"}


def test_automatic_chromosomes_balance_positives():
    pairs = toy_pairs(20)  # every chromosome holds 5% of pairs and of positives
    split = split_pairs(pairs, "chromosome", test_fraction=0.1, valid_fraction=0.125, seed=1)
    assert_disjoint(split, pairs, S.CHROM)
    summary = split_summary(pairs, split)
    assert summary["chromosomes"].tolist() == [16, 2, 2]
    assert summary["positive_share"].tolist() == [0.8, 0.1, 0.1]


def test_chromosome_split_errors():
    pairs = toy_pairs(3)
    with pytest.raises(ValueError, match="chrZ not in the pair table, which has chr1, chr2, chr3"):
        split_pairs(pairs, "chromosome", test_chromosomes=["chrZ"])
    with pytest.raises(ValueError, match="in both test_chromosomes and valid_chromosomes"):
        split_pairs(pairs, "chromosome", test_chromosomes=["chr1"], valid_chromosomes=["chr1"])
    with pytest.raises(ValueError, match="only apply to method='chromosome'"):
        split_pairs(pairs, "random", test_chromosomes=["chr1"])
    with pytest.raises(ValueError, match="test set by chromosome: all 10 pairs are in one chromosome"):
        split_pairs(toy_pairs(1), "chromosome")
    with pytest.warns(UserWarning, match="the test set holds 33.3% of the pairs"):  # 3 chromosomes
        split = split_pairs(toy_pairs(3), "chromosome", valid_fraction=0)
    assert sorted((split == S.TEST).reshape(3, 10).all(axis=1)) == [False, False, True]


def test_element_groups_exact():
    pairs = pd.DataFrame({S.ENHANCER_NAME: ["e1", "e2", "e3", "e3", "e4", "e5"],
                          S.PROMOTER_NAME: ["p1", "p1", "p2", "p3", "p4", "p3"]})
    assert element_groups(pairs).tolist() == [0, 0, 1, 1, 2, 1]


def test_group_split_keeps_elements_on_one_side():
    pairs = toy_pairs(20)
    split = split_pairs(pairs, "group", seed=0)
    assert_disjoint(split, pairs, S.ENHANCER_NAME)
    assert_disjoint(split, pairs, S.PROMOTER_NAME)
    summary = split_summary(pairs, split)
    assert summary["pairs"].sum() == len(pairs)  # nothing dropped
    assert summary["pair_share"][S.TEST] == pytest.approx(0.1, abs=0.03)


def test_group_split_cannot_reach_target():
    one_group = toy_pairs(4).assign(**{S.PROMOTER_NAME: "p"})  # one shared promoter
    with pytest.raises(ValueError, match="all 40 pairs are in one element group"):
        split_pairs(one_group, "group")
    # one giant group (promoter P: 40 pairs, 8 positives) and one small one (promoter A: 2, 1)
    lopsided = pd.DataFrame({
        S.ENHANCER_NAME: [f"e{i}" for i in range(42)], S.CHROM: "chr1",
        S.PROMOTER_NAME: ["P"] * 40 + ["A"] * 2, S.LABEL: [1] * 8 + [0] * 32 + [1, 0]})
    with pytest.warns(UserWarning, match="the test set holds 4.8% of the pairs and 11.1% of the "
                                         "positives, for a target of 10%"):
        split = split_pairs(lopsided, "group", valid_fraction=0, seed=0)
    assert (split == S.TEST).tolist() == [False] * 40 + [True] * 2
    with pytest.raises(ValueError, match="validation set by element group: all 40 pairs"), \
            pytest.warns(UserWarning):
        split_pairs(lopsided, "group", valid_fraction=0.1, seed=0)


def test_split_summary_and_names():
    pairs = toy_pairs(2)
    split = np.array([S.TRAIN] * 12 + [S.TEST] * 8)
    summary = split_summary(pairs, split)
    assert summary.loc[S.TEST].to_dict() == {
        "pairs": 8, "positives": 1, "negatives": 7, "positive_rate": 0.125, "pair_share": 0.4,
        "positive_share": 0.25, "enhancers": 4, "promoters": 4, "chromosomes": 1}
    assert summary.loc[S.VALID, "pairs"] == 0
    np.testing.assert_array_equal(as_split_names(np.array([0, 1, 2])), [S.TRAIN, S.VALID, S.TEST])
    with pytest.raises(ValueError, match="split 'dev' at row 1"):
        as_split_names(["train", "dev"])
    with pytest.raises(ValueError, match="one entry per pair"):
        split_summary(pairs, split[:3])


@pytest.mark.parametrize("kwargs,message", [
    ({"method": "kfold"}, "unknown split method 'kfold'"),
    ({"test_fraction": 1.0}, r"test_fraction must be in \[0, 1\)"),
    ({"valid_fraction": -0.1}, r"valid_fraction must be in \[0, 1\)"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        split_pairs(toy_pairs(2), **kwargs)
    with pytest.raises(ValueError, match="lacks column"):
        split_pairs(toy_pairs(2).drop(columns=S.CHROM))


@needs_shared
def test_real_k562_splits():
    from speidlib.data.pairs import read_pairs

    pairs = read_pairs(TARGETFINDER / "K562_ep.csv.gz")
    for method in S.SPLIT_METHODS:
        split = split_pairs(pairs, method, seed=0)
        share = split_summary(pairs, split)
        assert share["pairs"].sum() == len(pairs)
        assert share.loc[S.TEST, "pair_share"] == pytest.approx(0.1, abs=0.02), method
        assert share.loc[S.TEST, "positive_share"] == pytest.approx(0.1, abs=0.025), method
        assert share.loc[S.VALID, "pair_share"] == pytest.approx(0.09, abs=0.02), method
        if method == "chromosome":
            assert_disjoint(split, pairs, S.CHROM)
        if method == "group":
            assert_disjoint(split, pairs, S.ENHANCER_NAME)
            assert_disjoint(split, pairs, S.PROMOTER_NAME)
