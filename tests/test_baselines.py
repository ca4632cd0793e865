"""Baselines: exact behaviour on hand-built pairs, and what they do on the real tables."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema as S
from speidlib.app.reports import run_baselines
from speidlib.data.encode import encode, reverse_complement
from speidlib.evaluate import baselines as B
from speidlib.evaluate.metrics import auroc

TF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "targetfinder"
CELLS = ["GM12878", "HeLa-S3", "HUVEC", "IMR90", "K562", "NHEK"]
needs_data = pytest.mark.skipif(not (TF_DIR / "K562_ep.csv.gz").is_file(),
                                reason="TargetFinder tables not in ../shared/data")


def _pairs(rows, chrom="chr1"):
    """Pair table from (enhancer (start, end), promoter (start, end), label) rows."""
    out = []
    for (es, ee), (ps, pe), label in rows:
        out.append({S.ENHANCER_NAME: f"X|{chrom}:{es}-{ee}", S.PROMOTER_NAME: f"X|{chrom}:{ps}-{pe}",
                    S.CELL_LINE: "X", S.CHROM: chrom, S.ENHANCER_START: es, S.ENHANCER_END: ee,
                    S.PROMOTER_START: ps, S.PROMOTER_END: pe,
                    S.DISTANCE: abs((es + ee) // 2 - (ps + pe) // 2), S.LABEL: label})
    return pd.DataFrame(out, columns=S.PAIR_COLUMNS)


E1, E2, E3, E4 = (100, 200), (300, 400), (500, 600), (700, 800)
P1, P2, P3 = (10_000, 11_000), (20_000, 21_000), (30_000, 31_000)
# E1 in 3 pairs (2 positive), P1 in 3 pairs (2 positive), 8 pairs with 3 positive: prior 3/8
TRAIN = _pairs([(E1, P1, 1), (E1, P2, 1), (E1, P3, 0), (E2, P1, 0), (E3, P2, 0), (E3, P3, 0),
                (E2, P2, 0), (E4, P1, 1)])


# --- propensity ------------------------------------------------------------------
def test_propensity_of_a_seen_element_is_its_smoothed_rate():
    m = B.PropensityBaseline(smoothing=1.0).fit(TRAIN)
    assert m.prior_ == 3 / 8
    rates = m.element_rates(_pairs([(E1, P1, 0), (E2, P3, 0)]))
    # E1: (2 + 1 * 3/8) / (3 + 1); P1: E1+, E2-, E4+ -> (2 + 3/8) / 4
    assert rates.loc[0, "enhancer_rate"] == pytest.approx((2 + 3 / 8) / 4)
    assert rates.loc[0, "promoter_rate"] == pytest.approx((2 + 3 / 8) / 4)
    # E2: 0 of 2 -> (0 + 3/8) / 3; P3: 0 of 2 -> (3/8) / 3
    assert rates.loc[1, "enhancer_rate"] == pytest.approx((3 / 8) / 3)
    # without smoothing the raw rate
    raw = B.PropensityBaseline(smoothing=0).fit(TRAIN).element_rates(_pairs([(E1, P2, 0)]))
    assert raw.loc[0, "enhancer_rate"] == pytest.approx(2 / 3)
    assert raw.loc[0, "promoter_rate"] == pytest.approx(1 / 3)   # P2: E1+, E3-, E2-


def test_unseen_elements_get_the_prior_and_a_constant_score():
    m = B.PropensityBaseline().fit(TRAIN)
    new = _pairs([((5000, 5100), (90_000, 91_000), 0), ((6000, 6100), (92_000, 93_000), 1)])
    rates = m.element_rates(new)
    assert (rates.to_numpy() == 3 / 8).all()
    s = m.predict(new)
    assert s[0] == s[1]


def test_propensity_ranks_hub_elements_first():
    # enhancers 0-1 are hubs (8 of 10 pairs positive), enhancers 2-5 never interact;
    # each pair has its own promoter, so only the enhancer carries signal
    rows = []
    for e in range(6):
        for j in range(10):
            label = int(e < 2 and j < 8)
            rows.append(((e * 1000, e * 1000 + 100), (100_000 + 1000 * (10 * e + j),) * 2, label))
    rows = [(enh, (p[0], p[0] + 500), lab) for enh, p, lab in rows]
    m = B.PropensityBaseline().fit(_pairs(rows))
    assert m.model_.coef_[0, 0] > 0
    s = m.predict(_pairs([((0, 100), (5, 50), 0), ((2000, 2100), (5, 50), 0)]))
    assert s[0] > s[1]


def test_overlap_matching_pools_overlapping_training_elements():
    m = B.PropensityBaseline(smoothing=1.0, match="overlap").fit(TRAIN)
    query = _pairs([((150, 350), P1, 0),        # overlaps E1 (2 of 3) and E2 (0 of 2)
                    ((200, 300), P1, 0)])       # touches E1 and E2 only at their ends
    query.loc[2] = query.loc[0]
    query.loc[2, S.CHROM] = "chr2"              # same coordinates, another chromosome
    rates = m.element_rates(query)
    assert rates.loc[0, "enhancer_rate"] == pytest.approx((2 + 3 / 8) / (5 + 1))
    assert rates.loc[1, "enhancer_rate"] == 3 / 8
    assert rates.loc[2, "enhancer_rate"] == 3 / 8
    assert rates.loc[2, "promoter_rate"] == 3 / 8
    # identical coordinates give the same rates as name matching
    by_name = B.PropensityBaseline(smoothing=1.0).fit(TRAIN).element_rates(TRAIN)
    pd.testing.assert_frame_equal(m.element_rates(TRAIN), by_name)


def test_propensity_refuses_bad_input():
    with pytest.raises(ValueError, match="not fitted"):
        B.PropensityBaseline().predict(TRAIN)
    with pytest.raises(ValueError, match="only label 0"):
        B.PropensityBaseline().fit(TRAIN.assign(label=0))
    with pytest.raises(ValueError, match="match must be"):
        B.PropensityBaseline(match="fuzzy")
    with pytest.raises(ValueError, match="enhancer_name"):
        B.PropensityBaseline().fit(TRAIN.drop(columns=S.ENHANCER_NAME))


# --- distance --------------------------------------------------------------------
def test_distance_baseline_is_monotone_in_distance():
    # positives 1-5 kb apart, negatives 50-500 kb apart
    rows = [((0, 100), (d, d + 100), 1) for d in (1000, 2000, 3000, 5000)]
    rows += [((0, 100), (d, d + 100), 0) for d in (50_000, 100_000, 200_000, 500_000)]
    pairs = _pairs(rows)
    m = B.DistanceBaseline().fit(pairs)
    s = m.predict(pairs)
    assert auroc(pairs[S.LABEL], s) == 1.0
    assert np.all(np.diff(s[np.argsort(pairs[S.DISTANCE])]) < 0)


# --- k-mers ----------------------------------------------------------------------
def test_kmer_names_collapse_reverse_complements():
    assert B.kmer_names(2) == ["AA", "AC", "AG", "AT", "CA", "CC", "CG", "GA", "GC", "TA"]
    assert B.kmer_names(1) == ["A", "C"]
    assert len(B.kmer_names(2, collapse_rc=False)) == 16
    for k, n in ((3, 32), (4, 136), (5, 512), (6, 2080)):
        assert len(B.kmer_names(k)) == n


def test_kmer_counts_by_hand():
    # AACGTT: AA, AC, CG, GT, TT -> AA (+TT) = 2, AC (+GT) = 2, CG = 1
    counts = B.kmer_counts(encode("AACGTT")[None, :], 2)
    assert dict(zip(B.kmer_names(2), counts[0])) == {"AA": 2, "AC": 2, "AG": 0, "AT": 0, "CA": 0,
                                                     "CC": 0, "CG": 1, "GA": 0, "GC": 0, "TA": 0}
    # k-mers touching N are skipped: ACNGT -> AC, GT (CN, NG skipped) -> AC = 2
    counts = B.kmer_counts(encode("ACNGT")[None, :], 2)
    assert counts.sum() == 2 and counts[0, B.kmer_names(2).index("AC")] == 2
    # uncollapsed: TTT counted as TTT
    raw = B.kmer_counts(encode("TTTT")[None, :], 3, collapse_rc=False)
    assert raw[0, 63] == 2 and raw.sum() == 2
    # shorter than k: nothing
    assert B.kmer_counts(encode("AC")[None, :], 3).sum() == 0


def test_kmer_counts_are_strand_blind_and_chunked_alike():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, size=(7, 50)).astype(np.int8)
    for k in (3, 4, 5, 6):
        c = B.kmer_counts(codes, k)
        np.testing.assert_array_equal(c, B.kmer_counts(reverse_complement(codes), k))
        np.testing.assert_array_equal(c, B.kmer_counts(codes, k, max_cells=60))  # one row a chunk
        valid = np.lib.stride_tricks.sliding_window_view(codes != 4, k, axis=1).all(axis=2)
        np.testing.assert_array_equal(c.sum(axis=1), valid.sum(axis=1))


def test_kmer_counts_refuse_bad_codes():
    with pytest.raises(ValueError, match="0-4"):
        B.kmer_counts(np.array([[0, 5]]), 2)
    with pytest.raises(ValueError, match="shape"):
        B.kmer_counts(np.array([0, 1, 2]), 2)
    with pytest.raises(ValueError, match="1 to 8"):
        B.kmer_counts(np.zeros((1, 4), dtype=np.int8), 9)


def test_kmer_baseline_learns_gc_rich_enhancers():
    rng = np.random.default_rng(1)
    n, length = 400, 80
    y = np.arange(n) % 2
    gc = np.where(y[:, None] == 1, 0.7, 0.4)               # GC share of positive enhancers
    strong = rng.random((n, length)) < gc
    enh = np.where(strong, rng.choice([1, 2], size=(n, length)), rng.choice([0, 3], size=(n, length)))
    prom = rng.integers(0, 4, size=(n, length))
    pairs = _pairs([((i * 1000, i * 1000 + 100), (i * 1000 + 500, i * 1000 + 600), int(y[i]))
                    for i in range(n)])
    windows = lambda p: (enh[p.index].astype(np.int8), prom[p.index].astype(np.int8))  # noqa: E731
    model = B.KmerBaseline(k=(2, 3), windows=windows).fit(pairs.iloc[:300])
    assert len(model.feature_names()) == 2 * 10 + 2 * 32
    assert auroc(y[300:], model.predict(pairs.iloc[300:])) > 0.95
    # the same with code arrays passed directly
    direct = B.KmerBaseline(k=(2, 3)).fit(pairs.iloc[:300], *windows(pairs.iloc[:300]))
    np.testing.assert_allclose(direct.predict(pairs.iloc[300:], *windows(pairs.iloc[300:])),
                               model.predict(pairs.iloc[300:]))
    with pytest.raises(ValueError, match="needs sequence"):
        B.KmerBaseline().fit(pairs)


def test_pair_baselines_on_a_prepared_run(tmp_path):
    """run_pair_baselines: the run's own split, k-mer features read from the dataset's windows."""
    from speidlib.app.notebooks import prepare_demo
    from speidlib.data.dataset import Dataset

    prepare_demo(tmp_path / "demo", tmp_path / "run", n_pairs=1200, enhancer_window=300,
                 promoter_window=300)
    ds = Dataset(tmp_path / "run")
    test = ds.pairs[ds.pairs[S.SPLIT] == S.TEST]
    enh, prom, y = ds.arrays(S.TEST)
    got_e, got_p = B.dataset_windows(ds)(test)
    np.testing.assert_array_equal(got_e, enh)
    np.testing.assert_array_equal(got_p, prom)
    table, scores = B.run_pair_baselines(ds, kmer_k=(2, 3))
    assert list(table.index) == ["distance", "propensity", "kmer"]
    assert (table["n_test"] == len(test)).all()
    for name, s in scores.items():
        assert s.shape == (len(test),)
        assert table.loc[name, "auroc"] == pytest.approx(auroc(y, s))
    assert table.loc["distance", "auroc"] < 0.65          # the demo's negatives are distance-matched


# --- protocol and tables -----------------------------------------------------------
def test_test_elements_seen_by_hand():
    pairs = pd.concat([TRAIN, _pairs([(E1, P3, 1), (E3, (40_000, 41_000), 0)])], ignore_index=True)
    split = np.array(["train"] * 7 + ["valid", "test", "test"])
    # test enhancers E1 and E3 (both in training pairs), test promoters P3 (in training)
    # and a new one (unseen): 3 of 4 seen
    assert B.test_elements_seen(pairs, split) == {"n_test_elements": 4, "n_test_elements_seen": 3}
    split[4:6] = "valid"                        # E3's training pairs move to validation
    assert B.test_elements_seen(pairs, split)["n_test_elements_seen"] == 2


def test_split_drop_by_hand():
    table = pd.DataFrame({
        "cell_line": ["A", "A", "A", "A"], "split_method": ["random", "chromosome"] * 2,
        "model": ["propensity", "propensity", "distance", "distance"],
        "auroc": [0.9, 0.5, 0.55, 0.52], "aupr": [0.6, 0.05, 0.06, 0.05], "f1": [0.5, 0.1, 0.1, 0.1]})
    d = B.split_drop(table, metrics=("auroc", "aupr"))
    row = d[(d.model == "propensity") & (d.metric == "auroc")].iloc[0]
    assert (row["random"], row["chromosome"]) == (0.9, 0.5)
    assert row["drop"] == pytest.approx(0.4)
    assert d[(d.model == "distance") & (d.metric == "aupr")]["drop"].iloc[0] == pytest.approx(0.01)
    assert len(d) == 4
    with pytest.raises(ValueError, match="no rows for split 'group'"):
        B.split_drop(table, other="group")


def test_fit_evaluate_picks_the_threshold_on_validation():
    rng = np.random.default_rng(0)
    n = 600
    y = (rng.random(n) < 0.3).astype(int)
    dist = np.where(y == 1, rng.integers(1_000, 30_000, n), rng.integers(20_000, 500_000, n))
    pairs = _pairs([((0, 100), (d, d + 100), int(lab)) for d, lab in zip(dist, y)])
    split = np.array(["train"] * 400 + ["valid"] * 100 + ["test"] * 100)
    m = B.fit_evaluate(B.DistanceBaseline(), pairs, split)
    model = B.DistanceBaseline().fit(pairs[split == "train"])
    from speidlib.evaluate.metrics import choose_threshold
    assert m["threshold"] == choose_threshold(y[400:500], model.predict(pairs[split == "valid"]))
    assert m["n_test"] == 100 and m["n_positive_test"] == int(y[500:].sum())
    with pytest.raises(ValueError, match="not one of"):
        B.fit_evaluate(B.DistanceBaseline(), pairs, np.array(["train"] * 599 + ["holdout"]))


# --- real TargetFinder tables ---------------------------------------------------------
@pytest.fixture(scope="module")
def real_pairs():
    from speidlib.data.pairs import read_pairs

    return {c: read_pairs(TF_DIR / f"{c}_ep.csv.gz") for c in CELLS}


@needs_data
def test_baseline_table_on_six_cell_lines(real_pairs):
    # (its time is not asserted: shared machines are noisy; benchmarks measure speed)
    table = B.baseline_table(real_pairs, splits=("random", "chromosome"), seed=0)
    assert len(table) == 6 * 2 * 2
    t = table.set_index(["cell_line", "split_method", "model"])
    for cell in CELLS:
        # the propensity baseline memorises hub elements: AUROC 0.91-0.97 measured
        assert t.loc[(cell, "random", "propensity"), "auroc"] > 0.88
        assert t.loc[(cell, "random", "propensity"), "aupr"] > 0.4
        # a chromosome split leaves every test element unseen: a constant score
        chrom = t.loc[(cell, "chromosome", "propensity")]
        assert chrom["auroc"] == 0.5
        assert chrom["n_test_elements_seen"] == 0 and chrom["n_test_elements"] > 100
        assert chrom["constant"] and chrom["n_distinct_scores"] == 1
        assert {"auroc", "aupr", "f1"} <= set(chrom["degenerate"].split(";"))
        # ties broken at random: the 0.5 is a coin, not a measurement
        assert chrom["auroc_tie_broken_lo"] < 0.49 and chrom["auroc_tie_broken_hi"] > 0.51
        rand = t.loc[(cell, "random", "propensity")]
        assert not rand["constant"] and rand["n_test_elements_seen"] > 0.5 * rand["n_test_elements"]
        assert chrom["aupr"] == pytest.approx(chrom["n_positive_test"] / chrom["n_test"])
        # TargetFinder negatives are distance-matched: distance alone is near chance
        for split in ("random", "chromosome"):
            assert abs(t.loc[(cell, split, "distance"), "auroc"] - 0.5) < 0.1
    drop = B.split_drop(table)
    auroc_drop = drop[(drop.model == "propensity") & (drop.metric == "auroc")]["drop"]
    assert auroc_drop.min() > 0.35


@needs_data
def test_baseline_table_bootstrap_intervals(real_pairs):
    table = B.baseline_table({"K562": real_pairs["K562"]}, splits=("random",), n_bootstrap=200)
    row = table[table.model == "propensity"].iloc[0]
    assert row["auroc_lo"] < row["auroc"] < row["auroc_hi"]
    assert row["auroc_hi"] - row["auroc_lo"] < 0.1


@needs_data
def test_cross_cell_propensity_matrices(real_pairs):
    three = {c: real_pairs[c] for c in ("GM12878", "K562", "NHEK")}
    by_name = B.cross_cell_matrix(three, B.PropensityBaseline, metric="auroc")
    assert by_name.shape == (3, 3)
    assert list(by_name.index) == list(by_name.columns) == list(three)
    assert np.diag(by_name.to_numpy()).min() > 0.88
    # element names carry the cell line: nothing is known in another cell line
    assert (by_name.to_numpy()[~np.eye(3, dtype=bool)] == 0.5).all()
    # matching by genomic overlap transfers some element propensity across cell lines
    # (measured 0.55-0.73 off the diagonal, the range of SPEID's own Table 4)
    m = B.cross_cell_matrix(real_pairs, lambda: B.PropensityBaseline(match="overlap"))
    assert m["auroc"].shape == (6, 6) and list(m["auroc"].columns) == CELLS
    a = m["auroc"].to_numpy()
    assert np.diag(a).min() > 0.88
    off = a[~np.eye(6, dtype=bool)]
    assert 0.53 < off.min() and off.max() < 0.78
    assert (np.diag(a)[:, None] > a).sum() == 30          # each row's diagonal is its best
    aupr = m["aupr"].to_numpy()
    assert (np.diag(aupr) > 0.4).all() and (aupr[~np.eye(6, dtype=bool)] < 0.25).all()


@needs_data
def test_cross_cell_accepts_fitted_models_and_given_splits(real_pairs):
    from speidlib.data.splits import split_pairs

    two = {c: real_pairs[c] for c in ("K562", "NHEK")}
    splits = {c: split_pairs(p, "random", seed=3) for c, p in two.items()}
    fitted = {c: B.PropensityBaseline().fit(p[splits[c] == "train"]) for c, p in two.items()}
    a = B.cross_cell_matrix(two, fitted_models=fitted, splits=splits, metric=("auroc",))
    b = B.cross_cell_matrix(two, B.PropensityBaseline, splits=splits, metric=("auroc",))
    pd.testing.assert_frame_equal(a["auroc"], b["auroc"])
    with pytest.raises(ValueError, match="exactly one"):
        B.cross_cell_matrix(two, B.PropensityBaseline, fitted_models=fitted)
    with pytest.raises(ValueError, match="unknown metric"):
        B.cross_cell_matrix(two, B.PropensityBaseline, metric="f1")


@needs_data
def test_run_baselines_writes_the_report(real_pairs, tmp_path):
    two = {c: real_pairs[c] for c in ("K562", "NHEK")}
    res = run_baselines(tmp_path, two)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"baseline_table.csv", "baseline_table.md", "split_drop.csv", "split_drop.html",
                     "cross_cell_auroc.csv", "cross_cell_aupr.csv",
                     "cross_cell_auroc.html", "cross_cell_aupr.html"}
    table = pd.read_csv(tmp_path / "baseline_table.csv")
    assert len(table) == 2 * 2 * 2
    np.testing.assert_allclose(table["auroc"], res["baseline_table"]["auroc"])
    cc = pd.read_csv(tmp_path / "cross_cell_auroc.csv", index_col=0)
    assert cc.shape == (2, 2) and list(cc.columns) == ["K562", "NHEK"]
    md = (tmp_path / "baseline_table.md").read_text()
    assert md.count("constant (0 of ") == 2 * 3            # propensity, chromosome split: 3 metrics


def test_baseline_markdown_shows_intervals_and_constant_predictors():
    table = pd.DataFrame([
        {"cell_line": "K562", "split_method": "random", "model": "propensity", "auroc": 0.93,
         "auroc_lo": 0.909, "auroc_hi": 0.948, "constant": False, "n_test_elements": 7054,
         "n_test_elements_seen": 4671},
        {"cell_line": "K562", "split_method": "chromosome", "model": "propensity", "auroc": 0.5,
         "auroc_lo": 0.5, "auroc_hi": 0.5, "constant": True, "n_test_elements": 3638,
         "n_test_elements_seen": 0},
    ])
    md = B.baseline_markdown(table).splitlines()
    assert md[0] == "| cell line | propensity, random split | propensity, chromosome split |"
    assert md[2] == "| K562 | 0.930 (0.909-0.948) | constant (0 of 3,638 test elements seen) |"
