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
    SPEID,
    _weighted_curve_metrics,
    centred_starts,
    combined_scores,
    curve_metrics,
    distance_scores,
    metrics_table,
    precision_at_recall,
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
    assert list(table.columns) == [*S.CRISPR_PAIR_COLUMNS, S.CRISPR_DISTANCE]
    assert len(table) == n_rows and int(table[S.CRISPR_REGULATED].sum()) == n_regulated
    pairs, _ = evaluable_pairs(table)
    assert len(pairs) == n_evaluated and int(pairs[S.CRISPR_REGULATED].sum()) == n_reg_evaluated
    assert (pairs[S.CRISPR_VALID] == "TRUE").all() and pairs[S.CRISPR_TSS_START].notna().all()


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
def test_weighted_metrics_equal_scikit_learn_on_repeated_pairs(y, s):
    w = np.random.default_rng(1).integers(0, 4, size=(3, len(y)))
    w[:, np.flatnonzero(y)[0]] += 1
    w[:, np.flatnonzero(y == 0)[0]] += 1
    got = _weighted_curve_metrics(w, y, s.astype(float), 0.7)
    for b in range(3):
        yy, ss = np.repeat(y, w[b]), np.repeat(s, w[b])
        assert got["auroc"][b] == pytest.approx(skm.roc_auc_score(yy, ss))
        assert got["auprc"][b] == pytest.approx(skm.average_precision_score(yy, ss))
        assert got["precision_at_recall"][b] == pytest.approx(precision_at_recall(yy, ss, 0.7))


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    s = y + rng.normal(0, 1, 400)
    a, b = curve_metrics(y, s, n_bootstrap=200, seed=3), curve_metrics(y, s, n_bootstrap=200, seed=3)
    assert a == b
    for m in ("auprc", "auroc", "precision_at_recall"):
        assert a[f"{m}_low"] < a[m] < a[f"{m}_high"]


def test_distance_scores_rank_closer_pairs_higher():
    np.testing.assert_allclose(distance_scores([0, 1, 10, 1000]), [1, 1, 0.1, 0.001])
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
    raw[raw["chrom"] == "chr21"].to_csv(table, sep="\t", index=False)
    genome = write_random_genome("hg38", root / "grch38_chr21.fa", seed=0, chromosomes=["chr21"])
    return table, genome, root


@pytest.mark.slow
def test_speid_path_end_to_end(chr21_benchmark, tiny_run, capsys):
    from speidlib.data.genome import Genome
    from speidlib.rundir import load_model, read_config
    from speidlib.score.core import score_pairs_naive

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
    row = m[(m.predictor == SPEID) & (m.dataset == "all")].iloc[0]
    assert row["auroc"] == pytest.approx(skm.roc_auc_score(pred[S.CRISPR_REGULATED], speid))
    summary = json.loads((out / S.CRISPR_SUMMARY_FILE).read_text())
    assert COMBINED in summary["skipped"]
    assert (out / "pr_all.html").exists()
