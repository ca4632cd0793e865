"""The CRISPRi enhancer-gene benchmark: reader, metrics, predictors, assembly check, `speid crispr`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from speidlib import schema as S
from speidlib.app.cli import main
from speidlib.data.assembly import (
    GRCH38,
    HG19,
    UNKNOWN,
    check_assembly,
    genome_assembly,
    identify_assembly,
)
from speidlib.data.crispr import NO_TSS, evaluable_pairs, read_crispr_benchmark
from speidlib.data.random_genome import assembly_chrom_sizes, write_random_genome
from speidlib.evaluate.crispr import (
    COMBINED,
    DISTANCE,
    REPORTED_HELDOUT,
    SPEID,
    centred_starts,
    combined_scores,
    distance_scores,
    format_pooled,
    metrics_table,
    run_crispr,
)
from speidlib.evaluate.crispr_metrics import (
    _resampled,
    at_threshold,
    curve_metrics,
    precision_at_recall,
    threshold_at_recall,
    upstream_auprc,
)

TRAINING = "EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz"
HELDOUT = "EPCrisprBenchmark_combined_data.heldout_5_cell_types.GRCh38.tsv.gz"
FULCO = "EPCrisprBenchmark_Fulco2019_K562_GRCh38.tsv.gz"


# --- the reader on the real tables ---------------------------------------------------
@pytest.mark.parametrize("name, n_rows, n_regulated, n_evaluated, n_reg_evaluated", [
    (TRAINING, 10_356, 471, 10_356, 471),
    (HELDOUT, 4_378, 190, 4_378, 190),
    (FULCO, 5_091, 137, 3_771, 101),
])
def test_reader_counts_on_the_real_tables(shared_data, name, n_rows, n_regulated, n_evaluated, n_reg_evaluated):
    table = read_crispr_benchmark(shared_data / "crispr_benchmark" / name)
    assert list(table.columns) == [*S.CRISPR_PAIR_COLUMNS, S.CRISPR_DISTANCE, S.CRISPR_WEIGHT, S.CRISPR_LINE]
    assert table[S.CRISPR_LINE].tolist()[:3] == [2, 3, 4]   # the header is line 1
    assert len(table) == n_rows and int(table[S.CRISPR_REGULATED].sum()) == n_regulated
    pairs, _ = evaluable_pairs(table)
    assert len(pairs) == n_evaluated and int(pairs[S.CRISPR_REGULATED].sum()) == n_reg_evaluated
    assert (pairs[S.CRISPR_VALID] == "TRUE").all() and pairs[S.CRISPR_DISTANCE].notna().all()
    assert (pairs[S.CRISPR_TSS_START].dropna() > 0).all()    # a TSS recorded as 0 is missing


def test_tss_recorded_as_zero_is_missing_and_the_table_distance_kept(shared_data):
    raw = pd.read_csv(shared_data / "crispr_benchmark" / TRAINING, sep="\t")
    table = read_crispr_benchmark(shared_data / "crispr_benchmark" / TRAINING)
    zero = (raw["startTSS"] == 0).to_numpy()
    assert zero.sum() == 81 and set(raw.loc[zero, "measuredGeneSymbol"]) == {"C19orf43"}
    assert table.attrs["tss_missing"] == {"blank": 0, "recorded as 0": 81}
    assert table.loc[zero, S.CRISPR_TSS_START].isna().all()
    # the distance is the table's own column everywhere, those 81 pairs included (not 12.7 Mb)
    np.testing.assert_array_equal(table[S.CRISPR_DISTANCE], raw["distanceToTSS"])
    assert table.loc[zero, S.CRISPR_DISTANCE].max() < 1_000_000
    np.testing.assert_array_equal(table[S.CRISPR_WEIGHT], raw["direct_vs_indirect_negative"])


def test_fulco_valid_connection_filtering(shared_data):
    table = read_crispr_benchmark(shared_data / "crispr_benchmark" / FULCO)
    pairs, left_out = evaluable_pairs(table)
    assert left_out == {"Non-protein coding gene may not be included in ABC or other predictors": 11,
                        "PromoterElement": 1228, NO_TSS: 81}
    assert len(pairs) + sum(left_out.values()) == len(table)
    assert set(table[S.CRISPR_DATASET]) >= {"Fulco2019", "Fulco2016"}  # from Reference: no Dataset column
    # row 1 of the file: CEP104, element chr1:3774714-3775214, TSS 3857213
    first = table.iloc[0]
    assert (first[S.CRISPR_GENE], first[S.CRISPR_DISTANCE]) == ("CEP104", 3857213 - 3774964)


def test_heldout_cell_types_and_cell_type_filter(shared_data):
    table = read_crispr_benchmark(shared_data / "crispr_benchmark" / HELDOUT)
    assert table[S.CRISPR_CELL_TYPE].value_counts().to_dict() == {
        "WTC11": 1921, "K562": 1918, "HCT116": 396, "Jurkat": 75, "GM12878": 68}
    k562, _ = evaluable_pairs(table, "K562")
    assert len(k562) == 1918 and int(k562[S.CRISPR_REGULATED].sum()) == 118
    with pytest.raises(ValueError, match="no pair of cell type 'HeLa'"):
        evaluable_pairs(table, "HeLa")


HEADER = ["chrom", "chromStart", "chromEnd", "name", "chrTSS", "startTSS", "endTSS",
          "measuredGeneSymbol", "Regulated", "ValidConnection", "CellType", "Reference"]
ROWS = [["chr1", "100", "600", "A|x", "chr1", "5000", "5001", "A", "TRUE", "TRUE", "K562", "Toy"],
        ["chr1", "1000", "1500", "B|x", "chr1", "", "", "B", "FALSE", "TRUE", "K562", "Toy"],
        ["chr2", "100", "300", "C|x", "chr2", "900", "901", "C", "FALSE", "PromoterElement", "K562", "Toy"]]


def _table(tmp_path, rows=ROWS, header=HEADER):
    path = tmp_path / "toy.tsv"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    return path


def test_reader_on_a_hand_made_table(tmp_path):
    table = read_crispr_benchmark(_table(tmp_path))
    assert table[S.CRISPR_DISTANCE].iloc[0] == 5000 - 350
    assert np.isnan(table[S.CRISPR_TSS_START].iloc[1])
    pairs, left_out = evaluable_pairs(table)
    assert pairs[S.CRISPR_GENE].tolist() == ["A"] and left_out == {"PromoterElement": 1, NO_TSS: 1}


@pytest.mark.parametrize("row, column, line_text", [
    (1, 1, "12x"),        # chromStart
    (2, 8, "yes"),        # Regulated
    (0, 5, "-5"),         # startTSS
    (1, 4, "chr9"),       # chrTSS differs from chrom
])
def test_malformed_tables_name_file_line_and_column(tmp_path, row, column, line_text):
    rows = [list(r) for r in ROWS]
    rows[row][column] = line_text
    path = _table(tmp_path, rows)
    if column == 4:
        rows[row][5] = "2000"  # give it a TSS, so the chromosome is compared
        path = _table(tmp_path, rows)
    with pytest.raises(ValueError, match=rf"toy.tsv, line {row + 2}, column {HEADER[column]}: expected"):
        read_crispr_benchmark(path)


def test_missing_columns_are_named(tmp_path):
    header = [h for h in HEADER if h not in ("Regulated", "Reference")]
    rows = [[v for h, v in zip(HEADER, r) if h in header] for r in ROWS]
    with pytest.raises(ValueError, match="line 1: the header lacks column.s. Regulated, Dataset or Reference"):
        read_crispr_benchmark(_table(tmp_path, rows, header))


# --- metrics -------------------------------------------------------------------------
Y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0])


def test_precision_at_recall_by_hand():
    s = np.arange(10, 0, -1)  # positives at ranks 1, 3, 4, 7
    # 70% of 4 positives needs 3: reached at rank 4, where 3 of the 4 called are regulated
    assert precision_at_recall(Y, s, 0.7) == 0.75
    assert precision_at_recall(Y, s, 0.5) == pytest.approx(2 / 3)
    assert precision_at_recall(Y, s, 1.0) == pytest.approx(4 / 7)
    # a tie at ranks 4-5 enters together: 3 of 5 called
    tied = s.astype(float)
    tied[4] = tied[3]
    assert precision_at_recall(Y, tied, 0.7) == pytest.approx(3 / 5)


CASES = [
    (Y, np.arange(10, 0, -1)),
    (Y, np.array([3, 3, 2, 5, 1, 1, 2, 0, 3, 1])),                 # ties across classes
    (np.array([0, 1, 1, 0, 1, 0, 0, 0]), np.array([.1, .9, .3, .35, .8, .2, .05, .6])),
]


@pytest.mark.parametrize("y, s", CASES)
def test_curve_metrics_match_scikit_learn(y, s):
    m = curve_metrics(y, s, n_bootstrap=0)
    assert m["auprc"] == pytest.approx(skm.average_precision_score(y, s))
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert np.isnan(m["auroc_low"])


@pytest.mark.parametrize("y, s", CASES)
def test_resampled_metrics_equal_the_metrics_of_repeated_pairs(y, s):
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 4, size=(3, len(y)))
    counts[:, np.flatnonzero(y)[0]] += 1
    counts[:, np.flatnonzero(y == 0)[0]] += 1
    case = rng.integers(1, 4, size=len(y)).astype(float)   # whole case weights = repeated pairs
    t = float(np.median(s))
    got = _resampled(counts, y, s.astype(float), 0.7, case, t)
    for b in range(3):
        yy, ss = np.repeat(y, counts[b]), np.repeat(s, counts[b]).astype(float)
        assert got["auroc"][b] == pytest.approx(skm.roc_auc_score(yy, ss))
        assert got["auprc"][b] == pytest.approx(skm.average_precision_score(yy, ss))
        assert got["precision_at_recall"][b] == pytest.approx(precision_at_recall(yy, ss, 0.7))
        assert got["auprc_trapezoid"][b] == pytest.approx(upstream_auprc(yy, ss), nan_ok=True)
        assert got["precision_at_threshold"][b] == pytest.approx(at_threshold(yy, ss, t)[0], nan_ok=True)
        k = counts[b] * case.astype(int)
        y2, s2 = np.repeat(y, k), np.repeat(s, k).astype(float)
        assert got["auprc_weighted"][b] == pytest.approx(upstream_auprc(y2, s2), nan_ok=True)
        assert got["recall_at_threshold_weighted"][b] == pytest.approx(at_threshold(y2, s2, t)[1])


def test_upstream_auprc_by_hand():
    # scores 6..1, labels 1 0 1 0 0 1: yardstick's points (recall, precision) after its Inf point:
    # (1/3, 1), (1/3, 1/2), (2/3, 2/3), (2/3, 1/2), (2/3, 2/5), (1, 1/2); upstream drops the last two
    y, s = np.array([1, 0, 1, 0, 0, 1]), np.arange(6, 0, -1)
    r = [1 / 3, 1 / 3, 2 / 3, 2 / 3]
    p = [1, 1 / 2, 2 / 3, 1 / 2]
    by_hand = sum((r[i + 1] - r[i]) * (p[i] + p[i + 1]) / 2 for i in range(3))
    assert upstream_auprc(y, s) == pytest.approx(by_hand)            # = (1/3)(1/2 + 2/3)/2
    # case weights: whole weights repeat pairs, a zero weight removes one
    w = np.array([2.0, 1, 0, 3, 1, 1])
    assert upstream_auprc(y, s, w) == pytest.approx(upstream_auprc(np.repeat(y, [2, 1, 0, 3, 1, 1]),
                                                                   np.repeat(s, [2, 1, 0, 3, 1, 1])))
    assert upstream_auprc(y, s, w) == pytest.approx(upstream_auprc(y[w > 0], s[w > 0], w[w > 0]))


def test_threshold_at_recall_and_the_calls_at_a_threshold():
    s = np.arange(10, 0, -1).astype(float)   # positives of Y at ranks 1, 3, 4, 7
    assert threshold_at_recall(Y, s, 0.7) == 7.0        # 3 of 4 found at rank 4 (score 7)
    assert at_threshold(Y, s, 7.0) == (0.75, 0.75)
    assert at_threshold(Y, s, 10.5)[1] == 0 and np.isnan(at_threshold(Y, s, 10.5)[0])
    w = np.array([1, 1, 1, 1, 0, 0, 2, 0, 0, 0], dtype=float)
    # weighted calls at 7: regulated weight 3 among the 4 called, of 5 regulated weight in all
    assert at_threshold(Y, s, 7.0, w) == (0.75, 0.6)


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    s = y + rng.normal(0, 1, 400)
    a, b = curve_metrics(y, s, n_bootstrap=200, seed=3), curve_metrics(y, s, n_bootstrap=200, seed=3)
    assert a == b
    for m in ("auprc", "auroc", "precision_at_recall"):
        assert a[f"{m}_low"] < a[m] < a[f"{m}_high"]


def test_distance_scores_rank_closer_pairs_higher():
    np.testing.assert_allclose(distance_scores([0, 1, 10, 1000]), [0, -1, -10, -1000])
    with pytest.raises(ValueError):
        distance_scores([np.nan])


def test_metrics_table_rows_per_cell_type_and_dataset():
    pairs = pd.DataFrame({S.CRISPR_REGULATED: [1, 0, 0, 1, 0, 0, 1, 1],
                          S.CRISPR_CELL_TYPE: ["K562"] * 4 + ["HCT116"] * 4,
                          S.CRISPR_DATASET: ["a", "a", "b", "b", "c", "c", "c", "c"]})
    s = np.array([.9, .1, .2, .3, .4, .5, .6, .7])
    t = metrics_table(pairs, {DISTANCE: s}, n_bootstrap=0)
    assert list(t.columns) == S.CRISPR_METRIC_COLUMNS
    assert t[["cell_type", "dataset", "n_pairs", "n_regulated"]].values.tolist() == [
        ["all", "all", 8, 4], ["HCT116", "all", 4, 2], ["K562", "all", 4, 2],
        ["HCT116", "c", 4, 2], ["K562", "a", 2, 1], ["K562", "b", 2, 1]]
    assert t["auroc"].iloc[0] == pytest.approx(skm.roc_auc_score(pairs[S.CRISPR_REGULATED], s))
    assert t.loc[(t.cell_type == "K562") & (t.dataset == "b"), "auroc"].item() == 1.0


# --- the metrics on the real tables, against independent computations -------------------------
def test_distance_auprc_on_the_k562_table_equals_an_independent_computation(shared_data, tmp_path):
    raw = pd.read_csv(shared_data / "crispr_benchmark" / TRAINING, sep="\t")   # not the reader under test
    y = (raw["Regulated"] == True).to_numpy().astype(int)  # noqa: E712  (bools as read by pandas)
    by_hand = skm.average_precision_score(y, -raw["distanceToTSS"].to_numpy())
    out = run_crispr(shared_data / "crispr_benchmark" / TRAINING, tmp_path, n_bootstrap=0)
    row = out["metrics"].query("predictor == @DISTANCE and cell_type == 'all' and dataset == 'all'").iloc[0]
    assert row["auprc"] == pytest.approx(by_hand, abs=1e-12)
    assert row["auprc"] == pytest.approx(0.4377, abs=5e-5)
    # the benchmark's own AUPRC, rebuilt from its R code (crisprComparisonBootstrapFunctions.R):
    # yardstick's pr_curve has one point per distinct score, highest first, after an (Inf, recall 0,
    # precision 1) point; upstream drops that point and the last one, calculate_auprc the last
    # again, and caTools::trapz integrates precision over recall
    g = pd.DataFrame({"s": -raw["distanceToTSS"], "y": y}).groupby("s")["y"].agg(["sum", "count"])
    g = g.iloc[::-1]                                                # highest score first
    tp, called = g["sum"].cumsum().to_numpy(), g["count"].cumsum().to_numpy()
    recall, precision = (tp / y.sum())[:-2], (tp / called)[:-2]
    trapezoids = float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))
    assert row["auprc_trapezoid"] == pytest.approx(trapezoids, abs=1e-12)
    # the paper's distance row on this table (unweighted), 0.4359, as transcribed by a third party
    # (REPORTED_TRANSCRIPTION; the paper itself was not reachable): reproduced
    assert round(row["auprc_trapezoid"], 4) == 0.4359
    # the recomputation from startTSS and the element's centre (the old baseline) scored lower
    centre = (raw["chromStart"] + raw["chromEnd"]) // 2
    assert skm.average_precision_score(y, -(raw["startTSS"] - centre).abs()) < by_hand - 0.02
    # upstream's threshold at 70% recall for distance to the TSS (pred_config alpha 54350 bp)
    assert row["threshold"] == -54350
    summary = out["summary"]
    assert summary["tss_missing_in_table"] == {"blank": 0, "recorded as 0": 81}
    assert summary["n_evaluated_without_tss"] == 81 and summary["distance_from"] == "distanceToTSS"


def test_heldout_weighted_auprc_reproduces_the_published_distance_row(shared_data, tmp_path):
    train, held = tmp_path / "train", tmp_path / "held"
    run_crispr(shared_data / "crispr_benchmark" / TRAINING, train, n_bootstrap=0)
    out = run_crispr(shared_data / "crispr_benchmark" / HELDOUT, held, n_bootstrap=20,
                     thresholds_from=train)
    m = out["metrics"].query("cell_type == 'all' and dataset == 'all'")
    ours = m[(m.predictor == DISTANCE) & (m.source == S.CRISPR_MEASURED)].iloc[0]
    assert round(ours["auprc_weighted"], 3) == 0.363          # Gschwind et al. 2026, held-out, distance
    assert ours["auprc_weighted_low"] < ours["auprc_weighted"] < ours["auprc_weighted_high"]
    assert ours["threshold"] == -54350 and ours["threshold_from"] == TRAINING
    # at the K562-fixed threshold on the held-out pairs: calls within 54,350 bp
    raw = pd.read_csv(shared_data / "crispr_benchmark" / HELDOUT, sep="\t")
    called, reg = (raw["distanceToTSS"] <= 54350).to_numpy(), (raw["Regulated"] == True).to_numpy()  # noqa: E712
    w = raw["direct_vs_indirect_negative"].to_numpy()
    assert ours["precision_at_threshold"] == pytest.approx((called & reg).sum() / called.sum())
    assert ours["recall_at_threshold_weighted"] == pytest.approx(w[called & reg].sum() / w[reg].sum())
    # the published rows: reported as such, with their source, never as computed or verified here
    reported = m[m.source == S.CRISPR_REPORTED]
    shown = ["predictor", "auprc_weighted", "auprc_weighted_low", "auprc_weighted_high", "threshold"]
    assert reported[shown].values.tolist() == [[e[k] for k in shown] for e in REPORTED_HELDOUT]
    assert reported[["auprc", "auprc_trapezoid", "auroc", "precision_at_threshold", "recall_at_threshold",
                     "precision_at_threshold_weighted", "recall_at_threshold_weighted"]].isna().all().all()
    assert reported["reference"].str.startswith("reported, not verified here: Gschwind et al. 2026").all()
    assert reported["reference"].str.contains("main_benchmarking_pred_config.tsv @ea036d2").all()
    assert (reported["threshold_from"] != TRAINING).all()
    # the published distance row is the measured one, to its four digits, and so is its threshold
    published = reported.set_index("predictor").loc[DISTANCE]
    assert round(ours["auprc_weighted"], 4) == published["auprc_weighted"]
    assert ours["threshold"] == published["threshold"]
    assert format_pooled(m).count("reported, not run or verified here") == len(REPORTED_HELDOUT)


def test_thresholds_from_a_folder_without_thresholds_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no summary.json there"):
        run_crispr(_table(tmp_path), tmp_path / "out", n_bootstrap=0, thresholds_from=tmp_path / "none")
    assert not (tmp_path / "out").exists()


def test_zero_tss_with_and_without_a_distance_column(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][5] = rows[0][6] = "0"                       # A: TSS recorded as 0
    table = read_crispr_benchmark(_table(tmp_path, rows))
    pairs, left_out = evaluable_pairs(table)
    assert left_out == {"PromoterElement": 1, NO_TSS: 2}     # no distance column: left out
    assert table.attrs["tss_missing"] == {"blank": 1, "recorded as 0": 1}
    header = [*HEADER, "distanceToTSS", "direct_vs_indirect_negative"]
    rows = [r + extra for r, extra in zip(rows, [["4000", "0.9"], ["", "0.5"], ["600", "0.1"]])]
    table = read_crispr_benchmark(_table(tmp_path, rows, header))
    pairs, left_out = evaluable_pairs(table)
    assert pairs[S.CRISPR_GENE].tolist() == ["A"] and left_out == {"PromoterElement": 1, NO_TSS: 1}
    assert pairs[S.CRISPR_DISTANCE].tolist() == [4000] and np.isnan(pairs[S.CRISPR_TSS_START].iloc[0])
    assert pairs[S.CRISPR_WEIGHT].tolist() == [0.9]
    rows[2][-1] = "1.5"
    with pytest.raises(ValueError, match=r"toy.tsv, line 4, column direct_vs_indirect_negative: expected"):
        read_crispr_benchmark(_table(tmp_path, rows, header))


def test_pr_figure_marks_the_fixed_threshold_and_lists_the_reported_rows():
    from speidlib.viz.crispr import crispr_figures

    rng = np.random.default_rng(0)
    n = 200
    y = (rng.random(n) < 0.2).astype(int)
    pairs = pd.DataFrame({S.CRISPR_REGULATED: y, S.CRISPR_CELL_TYPE: "K562", S.CRISPR_DATASET: "a",
                          S.CRISPR_WEIGHT: rng.uniform(0.1, 1, n)})
    s = y + rng.normal(0, 1, n)
    metrics = metrics_table(pairs, {DISTANCE: s}, n_bootstrap=0, thresholds={DISTANCE: 0.5},
                            threshold_from="train.tsv", reported=REPORTED_HELDOUT)
    fig = crispr_figures(pairs.assign(score_distance=s), metrics=metrics)["all"]
    names = [tr.name for tr in fig.data]
    assert f"weighted {upstream_auprc(y, s, pairs[S.CRISPR_WEIGHT]):.3f}" in names[0]
    diamond = next(tr for tr in fig.data if "K562-fixed threshold" in tr.name)
    precision, recall = at_threshold(y, s, 0.5)
    assert (diamond.x[0], diamond.y[0]) == pytest.approx((recall, precision))
    reported = [nm for nm in names if "reported, not run or verified here" in nm]
    assert len(reported) == 3 and "ENCODE-rE2G (DNase): weighted AUPRC 0.556" in reported[0]


def test_combined_scores_never_see_the_scored_chromosome():
    rng = np.random.default_rng(0)
    n = 300
    chroms = np.array(["chr1", "chr2", "chr3"])[rng.integers(0, 3, n)]
    y = (rng.random(n) < 0.3).astype(int)
    distance = rng.integers(1_000, 1_000_000, n) / np.where(y == 1, 5, 1)
    speid = 1 / (1 + np.exp(-(y + rng.normal(0, 1, n))))
    scores, folds = combined_scores(distance, speid, y, chroms)
    assert sorted(folds) == ["chr1", "chr2", "chr3"] and len(set(folds.values())) == 3
    assert skm.roc_auc_score(y, scores) > 0.7
    # relabelling chr1 changes every fit but chr1's own: chr1's scores stay, the others move
    y2 = y.copy()
    y2[chroms == "chr1"] = rng.permutation(y2[chroms == "chr1"])
    scores2, _ = combined_scores(distance, speid, y2, chroms)
    on1 = chroms == "chr1"
    np.testing.assert_allclose(scores2[on1], scores[on1])
    assert not np.allclose(scores2[~on1], scores[~on1])
    with pytest.raises(ValueError, match="needs at least two"):
        combined_scores(distance, speid, y, np.full(n, "chr1"))


def test_centred_windows():
    np.testing.assert_array_equal(centred_starts([100, 5], [201, 6], 400), [-50, -195])


# --- the assembly check --------------------------------------------------------------
def test_identify_assembly():
    hg19, hg38 = assembly_chrom_sizes("hg19"), assembly_chrom_sizes("hg38")
    assert identify_assembly(hg19) == HG19 and identify_assembly(hg38) == GRCH38
    assert identify_assembly({"chr21": hg38["chr21"]}) == GRCH38
    assert identify_assembly({"21": hg19["chr21"], "22": hg19["chr22"]}) == HG19   # Ensembl names
    assert identify_assembly({"chr21": hg38["chr21"], "chr22": hg19["chr22"]}) == UNKNOWN
    assert identify_assembly({"chr1": 2_000_000, "chr2": 1_500_000}) == UNKNOWN  # the demo's shape
    assert identify_assembly({"contig7": 5000}) == UNKNOWN


def test_check_assembly_message():
    check_assembly(GRCH38, GRCH38, "g.fa")
    with pytest.raises(ValueError, match="genome g.fa is not GRCh38: its chromosome lengths are hg19's"):
        check_assembly(HG19, GRCH38, "g.fa")


def test_crispr_refuses_a_genome_of_another_assembly(tmp_path, capsys):
    genome = tmp_path / "small.fa"
    genome.write_text(">chr1\n" + "ACGT" * 50 + "\n")
    assert genome_assembly(genome) == UNKNOWN
    rc = main(["crispr", "--benchmark", str(_table(tmp_path)), "--out", str(tmp_path / "out"),
               "--run", str(tmp_path), "--genome", str(genome), "--bootstrap", "0", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("speid crispr: error: genome ") and "is not GRCh38" in err[0]
    assert not (tmp_path / "out" / S.CRISPR_METRICS_FILE).exists()


def test_crispr_distance_only_on_a_hand_made_table(tmp_path, capsys):
    rows = [["chr1", str(100 * i), str(100 * i + 50), f"G{i}|x", "chr1", str(100_000), str(100_001),
             f"G{i}", "TRUE" if i % 3 == 0 else "FALSE", "TRUE", "K562", "Toy"] for i in range(1, 13)]
    out = tmp_path / "out"
    rc = main(["crispr", "--benchmark", str(_table(tmp_path, rows)), "--out", str(out),
               "--bootstrap", "50", "--no-png", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    m = pd.read_csv(out / S.CRISPR_METRICS_FILE)
    pred = pd.read_csv(out / S.CRISPR_PREDICTIONS_FILE, sep="\t")
    assert m["predictor"].tolist() == [DISTANCE] and len(pred) == 12
    # farther elements are closer to the TSS at 100,000: regulated i = 3, 6, 9, 12 rank 10, 7, 4, 1
    y = pred[S.CRISPR_REGULATED].astype(int)
    assert m["auroc"].item() == pytest.approx(skm.roc_auc_score(y, pred["score_distance"]))
    assert m["precision_at_recall"].item() == pytest.approx(3 / 7)
    assert (out / "pr_all.html").exists() and not (out / "pr_all.png").exists()
    assert json.loads((out / S.CRISPR_SUMMARY_FILE).read_text())["n_evaluated"] == 12


# --- the SPEID path end to end -----------------------------------------------------------
@pytest.fixture(scope="module")
def chr21_benchmark(shared_data, tmp_path_factory):
    """The training table's chr21 pairs, and a GRCh38-shaped random chr21."""
    root = tmp_path_factory.mktemp("crispr_chr21")
    raw = pd.read_csv(shared_data / "crispr_benchmark" / TRAINING, sep="\t")
    table = root / "chr21.tsv.gz"
    raw = raw[raw["chrom"] == "chr21"].reset_index(drop=True)
    raw.loc[0, ["startTSS", "endTSS"]] = 0     # a TSS recorded as 0: the table's distance, no SPEID score
    raw.to_csv(table, sep="\t", index=False)
    genome = write_random_genome("hg38", root / "grch38_chr21.fa", seed=0, chromosomes=["chr21"])
    return table, genome, root


@pytest.mark.slow
def test_speid_path_end_to_end(chr21_benchmark, tiny_run, capsys):
    from speidlib.data.genome import Genome
    from speidlib.evaluate.crispr import SPEID_FILL
    from speidlib.model.load import load_run_model as load_model
    from speidlib.rundir import read_config
    from speidlib.score.pairs import score_pairs_naive

    table, genome, root = chr21_benchmark
    assert genome_assembly(genome) == GRCH38
    assert read_config(tiny_run)["prepare"]["assembly"] == UNKNOWN  # the demo genome
    out = root / "out"
    rc = main(["crispr", "--benchmark", str(table), "--out", str(out), "--run", str(tiny_run),
               "--genome", str(genome), "--bootstrap", "100", "--quiet"])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    assert f"{COMBINED} skipped" in printed.out   # one chromosome: no grouped cross-validation
    pred = pd.read_csv(out / S.CRISPR_PREDICTIONS_FILE, sep="\t")
    assert len(pred) == 45 and int(pred[S.CRISPR_REGULATED].sum()) == 4
    speid = pred[f"score_{SPEID}"].to_numpy()
    assert speid[0] == SPEID_FILL and pred[S.CRISPR_TSS_START].isna().tolist() == [True] + [False] * 44
    pred, speid = pred.iloc[1:], speid[1:]
    assert ((speid > 0) & (speid < 1)).all() and len(np.unique(speid)) > 10
    # the cached scores equal whole-model scores of windows centred on the element and the TSS
    model = load_model(tiny_run)
    we, wp = model.inputs[0].shape[1], model.inputs[1].shape[1]
    with Genome(genome) as g:
        centre = (pred[S.CRISPR_ELEMENT_START] + pred[S.CRISPR_ELEMENT_END]) // 2
        tss = (pred[S.CRISPR_TSS_START].astype(int) + pred[S.CRISPR_TSS_END].astype(int)) // 2
        e = np.stack([g.fetch("chr21", c - we // 2, c - we // 2 + we) for c in centre])
        p = np.stack([g.fetch("chr21", c - wp // 2, c - wp // 2 + wp) for c in tss])
    naive = score_pairs_naive(model, e, p, np.arange(len(pred)), np.arange(len(pred)))
    np.testing.assert_allclose(speid, naive, atol=1e-5)
    m = pd.read_csv(out / S.CRISPR_METRICS_FILE)
    assert sorted(m["predictor"].unique()) == sorted([DISTANCE, SPEID])
    all_pred = pd.read_csv(out / S.CRISPR_PREDICTIONS_FILE, sep="\t")
    row = m[(m.predictor == SPEID) & (m.dataset == "all")].iloc[0]
    assert row["auroc"] == pytest.approx(skm.roc_auc_score(all_pred[S.CRISPR_REGULATED],
                                                           all_pred[f"score_{SPEID}"]))
    summary = json.loads((out / S.CRISPR_SUMMARY_FILE).read_text())
    assert COMBINED in summary["skipped"] and summary["speid_filled"]["n_pairs"] == 1
    assert summary["model_sha256"] and SPEID in summary["thresholds"]["values"]
    # the SPEID threshold carries over only with the same model: here it does
    rc = main(["crispr", "--benchmark", str(table), "--out", str(root / "again"), "--run", str(tiny_run),
               "--genome", str(genome), "--bootstrap", "0", "--thresholds-from", str(out), "--quiet"])
    assert rc == 0
    again = pd.read_csv(root / "again" / S.CRISPR_METRICS_FILE)
    assert again.loc[again.predictor == SPEID, "threshold"].iloc[0] == row["threshold"]
    assert (out / "pr_all.html").exists()


@pytest.mark.slow
def test_speid_path_refuses_an_element_past_its_chromosome(chr21_benchmark, tiny_run, capsys):
    """#27 point 3: the benchmark's elements are bounds-checked against the genome as `prepare`'s are."""
    table, genome, root = chr21_benchmark
    raw = pd.read_csv(table, sep="\t")
    raw.loc[5, ["chromStart", "chromEnd"]] = [60_000_000, 60_000_500]     # chr21 is 46.7 Mb in GRCh38
    bad = root / "past_end.tsv"
    raw.to_csv(bad, sep="\t", index=False)
    rc = main(["crispr", "--benchmark", str(bad), "--out", str(root / "past"), "--run", str(tiny_run),
               "--genome", str(genome), "--bootstrap", "0", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "the CRISPRi benchmark, line 7: element chr21:60000000-60000500 runs past the end" in err
    assert not (root / "past").exists()
