"""The projection cache of `speid score`, the streaming run, and the output formats."""
import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.data.candidates import write_candidates
from speidlib.model.build import build_model
from speidlib.rundir import write_config
from speidlib.score.pairs import score_pairs_naive
from speidlib.score.formats import (
    ABC_COLUMNS,
    FORMATS,
    INTERACT_COLUMNS,
    LINK_COLUMNS,
    rank_within,
    read_links,
    write_links,
)
from speidlib.score.projection import ProjectionCachedScorer
from speidlib.score.recurrence import row_parts
from speidlib.score.run import run_score

WE, WP = 120, 100


def _randomise_batchnorms(model, rng):
    """Non-trivial BatchNorm statistics, so folding them into the projection is tested."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            k = len(layer.get_weights()[0])
            layer.set_weights([rng.uniform(0.5, 1.5, k), rng.normal(0, 0.2, k), rng.normal(0, 0.3, k),
                               rng.uniform(0.5, 2.0, k)])


@pytest.fixture(scope="module", params=["paper", "original", "cpu"])
def preset_model(request):
    model = build_model(request.param, WE, WP, jaspar_init=False, seed=1)
    _randomise_batchnorms(model, np.random.default_rng(5))
    return model


def test_cached_scores_equal_the_whole_model_for_every_preset(preset_model):
    rng = np.random.default_rng(0)
    enh = rng.integers(0, 5, (23, WE)).astype(np.int8)
    prom = rng.integers(0, 5, (9, WP)).astype(np.int8)
    e_idx, p_idx = rng.integers(0, 23, 70), rng.integers(0, 9, 70)
    naive = score_pairs_naive(preset_model, enh, prom, e_idx, p_idx, batch_size=16)
    scorer = ProjectionCachedScorer(preset_model, batch_size=16, pair_batch=32)
    cached = scorer.score(enh, prom, e_idx, p_idx)
    np.testing.assert_allclose(cached, naive, atol=1e-5, rtol=0)
    assert np.ptp(naive) > 1e-4  # the check is not vacuous
    assert scorer.stats["n_enhancers"] == len(np.unique(e_idx))


def test_the_pool_holds_only_live_elements():
    """Pairs in genome order keep few projected elements at once."""
    model = build_model("cpu", WE, WP, jaspar_init=False, seed=2)
    rng = np.random.default_rng(1)
    n_e, n_p = 200, 60
    enh = rng.integers(0, 4, (n_e, WE)).astype(np.int8)
    prom = rng.integers(0, 4, (n_p, WP)).astype(np.int8)
    # each enhancer with the 5 promoters nearest to it (as candidates in genome order)
    e_idx = np.repeat(np.arange(n_e), 5)
    p_idx = np.clip(np.repeat(np.arange(n_e) * n_p // n_e, 5) + np.tile(np.arange(-2, 3), n_e), 0, n_p - 1)
    scorer = ProjectionCachedScorer(model, batch_size=32, pair_batch=64)
    cached = scorer.score(enh, prom, e_idx, p_idx)
    np.testing.assert_allclose(cached, score_pairs_naive(model, enh, prom, e_idx, p_idx, batch_size=32),
                               atol=1e-5)
    assert scorer.stats["peak_enhancers"] <= 2 * 32 + 8 < n_e
    assert scorer.stats["peak_promoters"] < n_p


def test_each_element_projected_once_by_functions_traced_once():
    """Every distinct element goes through its branch once; no compiled function is retraced."""
    model = build_model("cpu", WE, WP, jaspar_init=False, seed=3)
    rng = np.random.default_rng(2)
    enh = rng.integers(0, 5, (150, WE)).astype(np.int8)
    prom = rng.integers(0, 5, (40, WP)).astype(np.int8)
    e_idx = np.repeat(np.arange(150), 2)
    p_idx = rng.integers(0, 40, 300)
    scorer = ProjectionCachedScorer(model, batch_size=64, pair_batch=64)
    projected = {"enhancer": [], "promoter": []}
    project = scorer.project

    def counting(branch, codes):
        projected[branch].append(len(codes))
        return project(branch, codes)

    scorer.project = counting
    for _ in range(2):
        cached = scorer.score(enh, prom, e_idx, p_idx)
    np.testing.assert_allclose(cached, score_pairs_naive(model, enh, prom, e_idx, p_idx, batch_size=64),
                               atol=1e-5)
    # two runs: each distinct element once per run, in whole batches of 64 and a last partial one
    assert projected["enhancer"] == [64, 64, 22] * 2
    assert sum(projected["promoter"]) == 2 * len(np.unique(p_idx))
    # 40 promoters: one partial batch, run in batches of TAIL_BATCH = 32
    assert sorted(scorer._compiled) == [("enhancer", 32), ("enhancer", 64), ("promoter", 32)]
    assert all(c.fn.experimental_get_tracing_count() == 1 for c in scorer._compiled.values())


def test_recurrence_on_threads_equals_one_thread(preset_model):
    """Pairs and element prefixes cut into parts on 3 threads give the one-thread scores."""
    rng = np.random.default_rng(3)
    enh = rng.integers(0, 5, (150, WE)).astype(np.int8)
    prom = rng.integers(0, 5, (70, WP)).astype(np.int8)
    e_idx, p_idx = rng.integers(0, 150, 300), rng.integers(0, 70, 300)
    scores = {}
    for threads in (1, 3):
        scorer = ProjectionCachedScorer(preset_model, batch_size=128, pair_batch=128, threads=threads)
        scores[threads] = scorer.score(enh, prom, e_idx, p_idx)
    np.testing.assert_allclose(scores[3], scores[1], atol=1e-6, rtol=0)
    np.testing.assert_allclose(scores[1], score_pairs_naive(preset_model, enh, prom, e_idx, p_idx, batch_size=64),
                               atol=1e-5, rtol=0)


def test_row_parts_cover_the_rows_once():
    for n, threads in ((0, 2), (31, 4), (64, 2), (1000, 3), (100, 8)):
        parts = row_parts(n, threads)
        assert parts[0].start == 0 and parts[-1].stop == n
        assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
        assert len(parts) <= max(1, threads) and (len(parts) == 1 or min(p.stop - p.start for p in parts) >= 32)
    assert len(row_parts(1000, 3)) == 3


def test_element_batches_sized_by_the_convolution_output():
    """Large branches run fewer elements at a time; small ones the batch size."""
    paper = ProjectionCachedScorer(build_model("paper", 3000, 2000, jaspar_init=False), batch_size=256)
    # 1,024 kernels: 12.3 MB (3 kb) and 8.2 MB (2 kb) of convolution output per element
    assert paper.element_batch == {"enhancer": 32, "promoter": 64}
    cpu = ProjectionCachedScorer(build_model("cpu", 3000, 2000, jaspar_init=False), batch_size=256)
    assert cpu.element_batch == {"enhancer": 256, "promoter": 256}


def test_rank_within_groups_ties_broken_by_distance():
    groups = np.array(["a", "a", "a", "b", "b"])
    scores = np.array([0.2, 0.9, 0.2, 0.5, 0.7])
    dist = np.array([50, 10, 20, 1, 2])
    assert rank_within(groups, scores, dist).tolist() == [3, 1, 2, 2, 1]


def _links():
    return pd.DataFrame({
        schema.CHROM: ["chr1", "chr1", "chr2"], schema.ENHANCER_NAME: ["e1", "e1", "e2"],
        schema.ENHANCER_START: [100, 100, 5000], schema.ENHANCER_END: [300, 300, 5400],
        schema.PROMOTER_NAME: ["G1", "G2", "G1b"], schema.PROMOTER_START: [1000, 50_000, 100],
        schema.PROMOTER_END: [1001, 50_001, 101], "promoter_strand": ["+", "-", "+"],
        schema.DISTANCE: [800, 49_800, 5100], schema.SCORE: [0.8765432, 0.1, 0.5],
        "enhancer_rank": [1, 2, 1], "promoter_rank": [1, 1, 1]})


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back(tmp_path, fmt):
    links = _links()
    path = tmp_path / f"links.{fmt}"
    write_links(links, path, fmt=fmt, cell_type="K562")
    back = read_links(path, fmt=fmt)
    assert list(back.columns[:len(LINK_COLUMNS)]) == LINK_COLUMNS
    np.testing.assert_allclose(back[schema.SCORE], links[schema.SCORE], atol=1e-6)
    for col in (schema.ENHANCER_NAME, schema.PROMOTER_NAME, "enhancer_rank", "promoter_rank",
                schema.DISTANCE):
        assert back[col].tolist() == links[col].tolist(), col
    if fmt == "interact":
        lines = path.read_text().splitlines()
        assert lines[0].startswith("track type=interact")
        rows = [line.split("\t") for line in lines[1:]]
        assert {len(r) for r in rows} == {18} and len(INTERACT_COLUMNS) == 18
        assert [int(r[4]) for r in rows] == [877, 100, 500]  # integer 0-1000
        assert rows[0][1:3] == ["100", "1001"]  # spans both elements
    if fmt == "abc":
        t = pd.read_csv(path, sep="\t")
        assert list(t.columns) == ABC_COLUMNS and t["CellType"].eq("K562").all()
        assert t["TargetGeneTSS"].tolist() == [1000, 50_000, 100]


@pytest.fixture(scope="module")
def tiny_score_run(tmp_path_factory):
    """A run directory holding an untrained cpu model, a two-chromosome genome and BED files."""
    root = tmp_path_factory.mktemp("score_run")
    rng = np.random.default_rng(7)
    model = build_model("cpu", WE, WP, jaspar_init=False, seed=3)
    _randomise_batchnorms(model, rng)
    run = root / "run"
    run.mkdir()
    model.save(run / schema.MODEL_FILE)
    write_config(run, "prepare", {"seed": 0, "cell_line": "TOY"})
    (root / "g.fa").write_text("".join(f">{c}\n" + "".join(rng.choice(list("ACGT"), 30_000)) + "\n"
                                       for c in ("chrA", "chrB")))
    for kind, n, length in (("enh", 30, 300), ("prom", 8, 1)):
        chrom = rng.choice(["chrA", "chrB"], n)
        start = rng.integers(200, 29_000, n)
        pd.DataFrame({"c": chrom, "s": start, "e": start + length, "n": [f"{kind}{i}" for i in range(n)]}) \
            .to_csv(root / f"{kind}.bed", sep="\t", header=False, index=False)
    write_candidates(root / "enh.bed", root / "prom.bed", root / "pairs.bedpe", 10_000)
    return root


def test_speid_score_streams_chromosomes_and_matches_no_cache(tiny_score_run):
    root = tiny_score_run
    args = (root / "run", root / "pairs.bedpe", root / "g.fa")
    info = run_score(*args, root / "cached.csv", progress=False)
    run_score(*args, root / "plain.csv", cache=False, progress=False)
    cached, plain = pd.read_csv(root / "cached.csv"), pd.read_csv(root / "plain.csv")
    n_pairs = len(pd.read_csv(root / "pairs.bedpe", sep="\t"))
    assert len(cached) == info["n_pairs"] == n_pairs and info["n_chromosomes"] == 2
    np.testing.assert_allclose(cached[schema.SCORE], plain[schema.SCORE], atol=1e-5)
    assert cached[schema.SCORE].std() > 0
    # ranks agree with a pandas ranking within each enhancer and each promoter
    for col, key in (("enhancer_rank", schema.ENHANCER_NAME), ("promoter_rank", schema.PROMOTER_NAME)):
        want = cached.groupby(key)[schema.SCORE].rank(ascending=False, method="min")
        assert (cached[col] >= want).all() and (cached.groupby(key)[col].min() == 1).all()
    for fmt in ("bedpe", "interact", "abc"):
        run_score(*args, root / f"links.{fmt}", fmt=fmt, progress=False)
        back = read_links(root / f"links.{fmt}", fmt=fmt)
        assert len(back) == n_pairs
    assert pd.read_csv(root / "links.abc", sep="\t")["CellType"].eq("TOY").all()


def test_speid_score_unknown_extension_is_a_one_line_error(tiny_score_run, capsys):
    from speidlib.app.cli import main

    root = tiny_score_run
    rc = main(["score", str(root / "run"), "--pairs", str(root / "pairs.bedpe"), "--genome",
               str(root / "g.fa"), "--out", str(root / "x.xyz"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("speid score: error: cannot tell the format") and "\n" not in err


def test_speid_score_threads(tiny_score_run, capsys):
    """--threads reaches the scorer (same scores on one thread); 0 threads is refused by argparse."""
    from speidlib.app.cli import main

    root = tiny_score_run
    base = ["score", str(root / "run"), "--pairs", str(root / "pairs.bedpe"), "--genome", str(root / "g.fa"),
            "--quiet"]
    assert main(base + ["--out", str(root / "one.csv"), "--threads", "1"]) == 0
    run_score(root / "run", root / "pairs.bedpe", root / "g.fa", root / "default.csv", progress=False)
    np.testing.assert_allclose(pd.read_csv(root / "one.csv")[schema.SCORE],
                               pd.read_csv(root / "default.csv")[schema.SCORE], atol=1e-6)
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(base + ["--out", str(root / "zero.csv"), "--threads", "0"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert done.value.code == 2 and "argument --threads: must be a whole number >= 1" in err
    assert not (root / "zero.csv").exists()

