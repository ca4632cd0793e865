"""Tests for speidlib.data.leakage: exact values on a hand-built table, and the real K562 table."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from speidlib import schema as S
from speidlib.data.leakage import LeakageReport, leakage_report
from speidlib.data.splits import split_pairs

TARGETFINDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "targetfinder"

# row  split  pair    label  (distance)
#  0   train  E1-P1   1      100
#  1   train  E2-P1   0      200
#  2   train  E3-P2   1      300
#  3   test   E4-P1   1      400   promoter P1 in training, and a training positive
#  4   test   E5-P3   1      500   P3 nowhere else; E5 also in row 5
#  5   test   E5-P2   0      600
#  6   valid  E3-P4   0      700   enhancer E3 in training
PAIRS = pd.DataFrame({
    S.ENHANCER_NAME: ["E1", "E2", "E3", "E4", "E5", "E5", "E3"],
    S.PROMOTER_NAME: ["P1", "P1", "P2", "P1", "P3", "P2", "P4"],
    S.CHROM: "chr1",
    S.LABEL: [1, 0, 1, 1, 1, 0, 0],
    S.DISTANCE: [100, 200, 300, 400, 500, 600, 700],
})
SPLIT = ["train", "train", "train", "test", "test", "test", "valid"]


def test_overlap_exact():
    report = leakage_report(PAIRS, SPLIT)
    assert list(report.overlap.index) == [S.VALID, S.TEST]
    test = report.overlap.loc[S.TEST].to_dict()
    assert test == {
        "pairs": 3, "positives": 2,
        "enhancers": 2, "enhancers_in_train": 0, "enhancers_in_train_fraction": 0.0,
        "positive_enhancer_in_other_pair": 0.5,   # E5 (row 5); E4 only in row 3
        "positive_enhancer_in_train_pair": 0.0,
        "positive_enhancer_train_positive": 0.0,
        "promoters": 3, "promoters_in_train": 2, "promoters_in_train_fraction": 2 / 3,
        "positive_promoter_in_other_pair": 0.5,   # P1 yes, P3 no
        "positive_promoter_in_train_pair": 0.5,
        "positive_promoter_train_positive": 0.5,
    }
    valid = report.overlap.loc[S.VALID]
    assert (valid["enhancers_in_train"], valid["enhancers"]) == (1, 1)
    assert (valid["promoters_in_train"], valid["promoters"]) == (0, 1)
    assert math.isnan(valid["positive_promoter_in_train_pair"])  # valid has no positives


def test_distance_quantiles_exact():
    distance = leakage_report(PAIRS, SPLIT).distance
    assert list(distance.index) == [("train", 0), ("train", 1), ("valid", 0), ("test", 0),
                                    ("test", 1)]
    assert distance.loc[("test", 1)].to_dict() == {
        "n": 2, "mean": 450.0, "q0": 400.0, "q10": 410.0, "q25": 425.0, "q50": 450.0,
        "q75": 475.0, "q90": 490.0, "q100": 500.0}
    assert distance.loc[("train", 1), "q50"] == 200.0


def test_split_codes_and_outputs():
    codes = [S.SPLIT_CODES[s] for s in SPLIT]
    report = leakage_report(PAIRS, codes)
    pd.testing.assert_frame_equal(report.to_frame(), leakage_report(PAIRS, SPLIT).overlap)
    d = report.to_dict()
    assert d["overlap"]["test"]["promoters_in_train"] == 2
    assert d["overlap"]["valid"]["positive_promoter_in_train_pair"] is None  # NaN -> null
    assert d["distance"]["test"]["1"]["q50"] == 450.0
    json.dumps(d, allow_nan=False)
    text = str(report)
    assert re.search(r"distinct promoters also in training +2 of 3 \(66\.7%\)", text)
    assert re.search(r"positives whose promoter is a training positive +50\.0%", text)
    assert re.search(r"valid: 1 pairs, 0 positives", text)
    assert "<table" in report._repr_html_()
    with pytest.raises(ValueError, match="one entry per pair"):
        leakage_report(PAIRS, SPLIT[:-1])
    with pytest.raises(ValueError, match="lacks column distance"):
        leakage_report(PAIRS.drop(columns=S.DISTANCE), SPLIT)


@pytest.mark.skipif(not TARGETFINDER.is_dir(), reason="../shared/data absent")
def test_real_k562_random_split_leaks_promoters_and_chromosome_split_does_not():
    from speidlib.data.pairs import read_pairs

    pairs = read_pairs(TARGETFINDER / "K562_ep.csv.gz")
    random = leakage_report(pairs, split_pairs(pairs, "random", seed=0)).overlap.loc[S.TEST]
    assert random["promoters_in_train_fraction"] > 0.5  # 96% here
    assert random["positive_promoter_train_positive"] > 0.5  # 91% here
    for method in ("chromosome", "group"):
        held = leakage_report(pairs, split_pairs(pairs, method, seed=0)).overlap
        assert isinstance(held, pd.DataFrame)
        assert held["promoters_in_train"].tolist() == [0, 0], method
        assert held["enhancers_in_train"].tolist() == [0, 0], method
        assert held["positive_promoter_in_train_pair"].tolist() == [0.0, 0.0], method


def test_report_type():
    assert isinstance(leakage_report(PAIRS, SPLIT), LeakageReport)
