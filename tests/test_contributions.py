"""Contribution scores (issue 28): integrated gradients over shuffled references, the
streamed store, bigWig tracks, `speid attribute`, and the sanity checks of the method."""

from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.app.cli import main  # noqa: E402
from speidlib.interpret.contrib_store import ContributionStore  # noqa: E402
from speidlib.interpret.contributions import Attributor, dinucleotide_shuffle  # noqa: E402

WE, WP = 40, 30
ROOT = Path(__file__).resolve().parents[1]


def _inputs():
    return keras.Input((WE, 4), name=schema.ENHANCER_INPUT), keras.Input((WP, 4), name=schema.PROMOTER_INPUT)


def linear_model(rng):
    """logit = sum(W_e * enhancer) + sum(W_p * promoter) + 0.2."""
    e, p = _inputs()
    flat = keras.layers.Concatenate()([keras.layers.Flatten()(e), keras.layers.Flatten()(p)])
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model([e, p], dense(flat))
    w_e, w_p = rng.normal(0, 0.3, (WE, 4)), rng.normal(0, 0.3, (WP, 4))
    dense.set_weights([np.concatenate([w_e.ravel(), w_p.ravel()])[:, None].astype(np.float32),
                       np.array([0.2], np.float32)])
    return model, w_e, w_p


def smooth_model():
    """A tiny two-branch CNN (tanh convolutions, average pooling, a tanh layer): smooth, so the
    midpoint rule converges fast."""
    keras.utils.set_random_seed(1)
    e, p = _inputs()
    conv = [keras.layers.Conv1D(6, 5, activation="tanh")(x) for x in (e, p)]
    x = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(c) for c in conv])
    x = keras.layers.Dense(4, activation="tanh")(x)
    return keras.Model([e, p], keras.layers.Dense(1, activation="sigmoid")(x))


def test_dinucleotide_shuffle_keeps_every_dinucleotide():
    rng = np.random.default_rng(0)
    seq = rng.integers(0, 5, 300).astype(np.int8)        # with N (4) among the symbols
    out = dinucleotide_shuffle(seq, 5, rng)
    assert out.shape == (5, 300) and out.dtype == np.int8
    pairs = Counter(zip(seq[:-1].tolist(), seq[1:].tolist()))
    for row in out:
        assert Counter(zip(row[:-1].tolist(), row[1:].tolist())) == pairs
        assert row[0] == seq[0] and row[-1] == seq[-1]
    assert (out != seq).any(axis=1).all()                   # they are shuffles, not copies
    assert len({r.tobytes() for r in out}) == 5


def test_linear_model_contributions_are_exact():
    """On a linear logit, IG is exact at any number of steps: the actual contribution of
    position i is W[i, x_i] - mean_r W[i, r_i], the hypothetical one of base b W[i, b] - mean_r W[i, r_i]."""
    rng = np.random.default_rng(0)
    model, w_e, w_p = linear_model(rng)
    ec = rng.integers(0, 4, (3, WE)).astype(np.int8)
    pc = rng.integers(0, 4, (3, WP)).astype(np.int8)
    a = Attributor(model, steps=2, n_references=4, batch_size=16, seed=3)
    c = a(ec, pc)
    for i in range(3):
        refs = dinucleotide_shuffle(ec[i], 4, np.random.default_rng([3, i]))
        base = w_e[np.arange(WE), refs].mean(axis=0)                  # mean_r W[i, r_i]
        np.testing.assert_allclose(c.enhancer_actual[i], w_e[np.arange(WE), ec[i]] - base, atol=1e-5)
        np.testing.assert_allclose(c.enhancer_hypothetical[i], w_e - base[:, None], atol=1e-5)
    assert c.enhancer_hypothetical.shape == (3, WE, 4) and c.promoter_actual.shape == (3, WP)
    np.testing.assert_allclose(c.completeness_error(), 0, atol=1e-4)


def test_completeness_within_one_percent_on_a_tiny_model():
    """IG's contributions of a pair sum to its logit minus its references' mean logit, within
    1% at 32 steps (the default); 2 steps miss it, so the check has teeth."""
    rng = np.random.default_rng(1)
    model = smooth_model()
    ec = rng.integers(0, 4, (6, WE)).astype(np.int8)
    pc = rng.integers(0, 4, (6, WP)).astype(np.int8)
    c = Attributor(model, steps=32, n_references=4, batch_size=64)(ec, pc)
    total = c.enhancer_actual.sum(1) + c.promoter_actual.sum(1)
    assert np.abs(c.score - c.reference_score).min() > 1e-3          # something to attribute
    np.testing.assert_allclose(total, c.score - c.reference_score, rtol=0.01)
    rough = Attributor(model, steps=2, n_references=4, batch_size=64)(ec, pc)
    assert rough.completeness_error().max() > 0.01
    # the hypothetical contribution at the input's own base is the actual one
    x = np.eye(4)[ec]
    np.testing.assert_allclose((c.enhancer_hypothetical * x).sum(-1), c.enhancer_actual, atol=1e-5)


@pytest.mark.parametrize("preset,first", [("cpu", None), ("cpu", 1), ("paper", None), ("original", None),
                                          ("cpu_pool_20", None)])
def test_the_convolution_cut_gives_the_same_integrated_gradients(preset, first):
    """IG through the cut (convolution of input and references once, the path from pooling on,
    one transpose per reference) equals IG through the whole network at every path point. With
    each window pooled whole (``cpu``), only candidate positions go through the path: started
    from one candidate (``first=1``), paths need more and some every position; where positions
    tie (a poly-A window) the gradient goes to the first, as max-pooling's does."""
    from speidlib.interpret.contributions import _ConvCut
    from speidlib.model.build import build_model
    from speidlib.model.presets import get_config

    if preset == "cpu_pool_20":
        preset = get_config("cpu").replace(global_pool=False)
    keras.utils.set_random_seed(2)
    model = build_model(preset, 300, 260, seed=2)
    rng = np.random.default_rng(4)
    ec = rng.integers(0, 4, (3, 300)).astype(np.int8)
    pc = rng.integers(0, 4, (3, 260)).astype(np.int8)
    if preset == "cpu":    # whole windows pooled: a poly-A window's shuffles are itself, so every
        pc[1] = 0          # position ties on every path
    # 5 references of 6 steps in calls of 16 rows: references padded, steps split
    fast = Attributor(model, steps=6, n_references=5, batch_size=16, seed=1)
    assert fast._cut is not None
    assert fast._cut.global_pool == (preset == "cpu")
    if first is not None:
        fast._cut.first_candidates = first
    whole = Attributor(model, steps=6, n_references=5, batch_size=16, seed=1)
    whole._cut = None
    a, b = fast(ec, pc), whole(ec, pc)
    for field in ("enhancer_hypothetical", "promoter_hypothetical", "enhancer_actual", "promoter_actual"):
        x, y = getattr(a, field), getattr(b, field)
        np.testing.assert_allclose(x, y, atol=1e-5 * max(1.0, np.abs(y).max()))
    np.testing.assert_allclose(a.score, b.score, atol=1e-4)
    np.testing.assert_allclose(a.reference_score, b.reference_score, atol=1e-4)
    assert _ConvCut.of(smooth_model()) is None          # not a workbench model: the whole network
    # plain Conv1D + pooling layers (fused_conv=False): no cut, integrated gradients still run
    plain = build_model(get_config("cpu").replace(fused_conv=False), 300, 260, jaspar_init=False, seed=2)
    assert _ConvCut.of(plain) is None
    assert Attributor(plain, steps=2, n_references=2)(ec[:1], pc[:1]).enhancer_actual.shape == (1, 300)


@pytest.fixture(scope="module")
def attributed(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("attributions")
    genome = tiny_run.parent / "demo" / "genome.fa"
    assert main(["attribute", str(tiny_run), "--max-pairs", "6", "--steps", "8", "--references", "2",
                 "--null", "--bigwig", "--genome", str(genome), "--out", str(out), "--quiet"]) == 0
    return out, genome


def test_attribute_writes_a_store_null_and_tracks(attributed, tiny_run):
    import pyBigWig

    out, _ = attributed
    store = ContributionStore(out / "contributions.h5")
    null = ContributionStore(out / "null.h5")
    assert len(store) == len(null) == 6
    assert store.attrs["method"] == "ig" and store.attrs["weights"] == "trained"
    assert null.attrs["weights"] == "initial"
    assert (store.pairs[schema.SPLIT] == "test").all()
    assert store.read("enhancer", "hypothetical").shape == (6, 400, 4)
    with __import__("h5py").File(out / "contributions.h5") as h5:
        assert h5["enhancer/hypothetical"].dtype == np.float16
    # the stored windows are the dataset's default windows of those pairs
    from speidlib.data.dataset import Dataset

    ds = Dataset(tiny_run)
    row = ds.pairs.reset_index().merge(store.pairs.iloc[:1], on=[schema.ENHANCER_NAME, schema.PROMOTER_NAME])
    e = ds.element_named("enhancer", row[schema.ENHANCER_NAME].iat[0])
    np.testing.assert_array_equal(store.read("enhancer", "codes", [0])[0], ds.windows("enhancer", [e])[0])
    # actual = hypothetical at the window's bases, and the sum matches the logit difference
    x = np.eye(5)[store.read("promoter", "codes")][..., :4]
    np.testing.assert_allclose((store.read("promoter", "hypothetical") * x).sum(-1),
                               store.read("promoter", "actual"), atol=2e-2)
    # the bigWig track of an element is its contributions (one pair per element here)
    bw = pyBigWig.open(str(out / "enhancer.mean_contribution.bw"))
    start = int(store.read("enhancer", "window_start", [0])[0])
    chrom = store.pairs[schema.CHROM].iat[0]
    np.testing.assert_allclose(bw.values(chrom, max(start, 0), start + 400)[-10:],
                               store.read("enhancer", "actual", [0])[0][-10:], atol=1e-2)
    assert "mean over" in (out / "tracks.txt").read_text()


def test_attribute_reuses_only_files_made_the_same_way(tiny_run, tmp_path, capsys):
    """--reuse keeps contributions that this model wrote from this dataset with these options, and
    recomputes when any of them differs or the file is not a complete one."""
    args = ["attribute", str(tiny_run), "--max-pairs", "3", "--steps", "4", "--references", "2", "--null",
            "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    files = [tmp_path / "contributions.h5", tmp_path / "null.h5"]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main(args + ["--reuse"]) == 0
    assert "kept" in capsys.readouterr().out
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert main(args[:-1] + ["--steps", "5", "--reuse", "--quiet"]) == 0          # other options: made anew
    assert "reused" not in capsys.readouterr().out
    assert ContributionStore(files[0]).attrs["steps"] == 5
    files[1].write_bytes(b"not hdf5")                                              # a broken null: made anew
    assert main(args[:-1] + ["--steps", "5", "--reuse", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "kept" in out and "null.h5 (same" not in out
    assert len(ContributionStore(files[1])) == 3
    genome = tiny_run.parent / "demo" / "genome.fa"
    assert main(["attribute", str(tiny_run), "--pairs", str(tiny_run.parent / "demo" / "pairs_DEMO1.csv"),
                 "--genome", str(genome), "--reuse", "--out", str(tmp_path / "p")]) == 2
    assert "--reuse keeps files made from RUN's dataset" in capsys.readouterr().err


def test_attribute_refuses_bad_input(tiny_run, tmp_path, capsys):
    genome = tiny_run.parent / "demo" / "genome.fa"
    assert main(["attribute", str(tiny_run), "--method", "deeplift", "--out", str(tmp_path)]) == 2
    assert "unknown attribution method 'deeplift'" in capsys.readouterr().err
    assert main(["attribute", str(tmp_path), "--out", str(tmp_path / "a")]) == 2
    assert "model.keras does not exist" in capsys.readouterr().err
    pairs = pd.read_csv(tiny_run.parent / "demo" / "pairs_DEMO1.csv").head(2)
    pairs.loc[1, schema.PROMOTER_NAME] = "DEMO1|chr1:999999990-999999999"
    bad = tmp_path / "bad.csv"
    pairs.to_csv(bad, index=False)
    assert main(["attribute", str(tiny_run), "--pairs", str(bad), "--genome", str(genome),
                 "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "outside" in err or "bad.csv" in err
    assert not (tmp_path / "b" / "contributions.h5").exists()


@pytest.mark.slow
def test_model_randomisation_on_the_demo(tmp_path):
    """The committed example model's contributions on positive held-out pairs of a small demo
    with the same grammar (seed 0: DEMO1's classes are the same at any size) sit on the planted
    sites, and correlate below 0.2 (Spearman, per pair, both windows) with those of the same
    architecture re-initialised (model randomisation, Adebayo et al. 2018)."""
    import json

    from scipy.stats import spearmanr

    from speidlib.app.notebooks import prepare_demo
    from speidlib.data.dataset import Dataset
    from speidlib.interpret.explain import planted_sites
    from speidlib.model.build import build_model
    from speidlib.model.load import load_model
    from speidlib.model.presets import ModelConfig

    example = ROOT / "examples" / "demo_cpu"
    train = json.loads((example / "config.json").read_text())["train"]
    prepare_demo(tmp_path / "demo", tmp_path / "run", seed=0, n_pairs=4000)
    ds = Dataset(tmp_path / "run")
    idx = ds.split_index("test")
    idx = idx[ds.label[idx] == 1][:8]
    ec = ds.windows("enhancer", ds.enhancer_index[idx])
    pc = ds.windows("promoter", ds.promoter_index[idx])
    trained = Attributor(load_model(example / "model.keras"), steps=16, n_references=4)(ec, pc)
    fresh = build_model(ModelConfig.from_dict(train["preset"]), 1000, 1000, jaspar_init=False, seed=12345)
    other = Attributor(fresh, steps=16, n_references=4)(ec, pc)
    a = np.concatenate([trained.enhancer_actual, trained.promoter_actual], axis=1)
    b = np.concatenate([other.enhancer_actual, other.promoter_actual], axis=1)
    rho = np.array([spearmanr(x, y).statistic for x, y in zip(a, b)])
    assert np.abs(rho).max() < 0.2, rho
    # the enhancer's top 1% |contribution| positions lie in planted sites far above chance
    elements = pd.read_csv(tmp_path / "demo" / "elements.csv", keep_default_na=False)
    mask = np.zeros(trained.enhancer_actual.shape, bool)
    for row, i in enumerate(ds.enhancer_index[idx]):
        e = ds.elements["enhancer"].iloc[i]
        start = int(e["span_start"] + ds.default_offset["enhancer"][i])
        for s in planted_sites(elements, e["chrom"], int(e["start"]), int(e["end"]), start, 1000).itertuples():
            mask[row, s.start:s.end] = True
    score = np.abs(trained.enhancer_actual)
    top = score >= np.quantile(score, 0.99)
    assert mask[top].mean() > 5 * mask.mean(), (mask[top].mean(), mask.mean())


# --- speid modisco ------------------------------------------------------------------

def _synthetic_store(path, planted: bool, n: int = 240, w: int = 160, seed: int = 0):
    """A contributions file whose hypothetical contributions mark planted consensus sites of
    MTF1 (enhancer) and ZBED1 (promoter) in every window (or nothing but noise)."""
    from speidlib.data.jaspar import get_motif
    from speidlib.interpret.contrib_store import StoreWriter
    from speidlib.interpret.contributions import Contributions

    rng = np.random.default_rng(seed)
    codes, hyp = {}, {}
    for b, motif in (("enhancer", "MA0863.1"), ("promoter", "MA0749.2")):
        consensus = get_motif(motif).pfm().argmax(axis=1)
        c = rng.integers(0, 4, (n, w)).astype(np.int8)
        h = rng.normal(0, 0.01, (n, w, 4)).astype(np.float32)
        for i in range(n):
            s = rng.integers(0, w - len(consensus))
            if planted:
                c[i, s:s + len(consensus)] = consensus
                h[i, s:s + len(consensus)] += np.eye(4, dtype=np.float32)[consensus]
        codes[b], hyp[b] = c, h
    x = {b: np.eye(4, dtype=np.float32)[codes[b]] for b in codes}
    contrib = Contributions(hyp["enhancer"], hyp["promoter"], (hyp["enhancer"] * x["enhancer"]).sum(-1),
                            (hyp["promoter"] * x["promoter"]).sum(-1), np.ones(n), np.zeros(n))
    pairs = pd.DataFrame({schema.ENHANCER_NAME: [f"e{i}" for i in range(n)],
                          schema.PROMOTER_NAME: [f"p{i}" for i in range(n)], schema.CHROM: "chr1",
                          schema.SPLIT: "test", schema.ENHANCER_START: 0, schema.ENHANCER_END: w,
                          schema.PROMOTER_START: 0, schema.PROMOTER_END: w, schema.LABEL: 1})
    with StoreWriter(path, {"enhancer": w, "promoter": w}, {"method": "ig"}) as writer:
        writer.append(pairs, contrib, codes, {b: np.zeros(n, np.int64) for b in codes})


@pytest.mark.slow
def test_modisco_finds_the_planted_motif_and_calls_it_against_the_null(tmp_path):
    from speidlib.interpret.modisco import run_modisco

    att = tmp_path / "attributions"
    _synthetic_store(att / "contributions.h5", planted=True)
    _synthetic_store(att / "null.h5", planted=False, seed=1)
    out = run_modisco(tmp_path, att, progress=False, n_leiden=2)
    motifs, tf = out["motifs"], out["tf_summary"]
    best = motifs.sort_values("n_seqlets").groupby("branch").tail(1).set_index("branch")
    assert best.at["enhancer", "target_name"].upper() == "MTF1" and best.at["enhancer", "learned"]
    assert best.at["promoter", "target_name"].upper() == "ZBED1" and best.at["promoter", "learned"]
    called = {(b, t.upper()) for b, t in zip(tf.loc[tf["learned"], "branch"], tf.loc[tf["learned"], "tf"])}
    assert called == {("enhancer", "MTF1"), ("promoter", "ZBED1")}
    written = pd.read_csv(tmp_path / "modisco" / "motifs.csv")
    assert {"branch", "pattern", "n_seqlets", "target_id", "target_name", "evalue", "learned"} <= set(written)
    assert "MTF1" in (tmp_path / "modisco" / "report.html").read_text()
    assert (written["pattern_qvalue"][written["learned"]] < 0.05).all()
    # the results files read back as the same patterns (re-analysis without re-clustering)
    from speidlib.interpret.modisco import read_patterns
    back = [p for b in schema.BRANCHES for p in read_patterns(tmp_path / "modisco" / f"trained_{b}.h5", b, 0.3)]
    assert [(p.branch, p.name, p.n_seqlets, len(p.windows), len(p.ppm)) for p in back] == \
        list(motifs[["branch", "pattern", "n_seqlets", "n_windows", "width"]].itertuples(index=False, name=None))
    # without a null nothing is called learned
    (att / "null.h5").unlink()
    again = run_modisco(tmp_path, att, out_dir=tmp_path / "m2", progress=False, n_leiden=2)
    assert not again["tf_summary"]["learned"].any() and not again["motifs"]["learned"].any()


def _motif_rows(branch: str, evalues, names) -> pd.DataFrame:
    from speidlib.interpret.modisco import MOTIF_COLUMNS, pattern_qvalues

    df = pd.DataFrame({"branch": branch, "pattern": [f"pos_patterns.pattern_{i}" for i in range(len(evalues))],
                       "n_seqlets": 50, "n_windows": 40, "width": 10, "target_id": names,
                       "target_name": names, "evalue": evalues, "qvalue": 0.01, "offset": 0, "strand": "+"})
    df["pattern_qvalue"] = pattern_qvalues(df)
    df["permutation_pvalue"], df["permutation_qvalue"] = 0.001, 0.01     # as if the order mattered
    return df[MOTIF_COLUMNS[:-1]]


def test_a_pattern_names_a_tf_only_when_its_match_beats_chance_across_the_patterns():
    from speidlib.interpret.modisco import pattern_qvalues

    alone = _motif_rows("enhancer", [0.002], ["NKX6-1"])
    assert alone["pattern_qvalue"].iloc[0] == pytest.approx(-np.expm1(-0.002))
    crowd = _motif_rows("enhancer", [0.002] + [0.6] * 25, ["NKX6-1"] + ["ZNF"] * 25)
    assert crowd["pattern_qvalue"].iloc[0] > 0.05          # one chance match among 26 patterns
    both = pd.concat([crowd, _motif_rows("promoter", [1e-9, np.nan], ["NRF1", None])], ignore_index=True)
    q = pattern_qvalues(both)
    assert np.allclose(q[:26], crowd["pattern_qvalue"])    # each branch is its own family
    assert q[26] < 1e-7 and q[27] == 1.0


def test_one_weak_match_over_many_windows_is_not_called_learned():
    """The shuffled-label failure of docs/attribution.md: a pattern with a chance match (E 0.01)
    found in 40 windows, against a null where the TF has none, was called learned; a pattern
    with a strong match still is."""
    from speidlib.interpret.modisco import ModiscoConfig, Pattern, tf_calls

    names = ["NKX6-1", "MTF1"] + [f"TF{i}" for i in range(28)]
    motifs = _motif_rows("enhancer", [0.01, 1e-9] + [1.5] * 28, names)
    windows = [np.arange(40), np.arange(40, 80)] + [np.arange(3)] * 28
    patterns = [Pattern("enhancer", n, np.full((10, 4), 0.25), np.zeros((10, 4)), 50, w)
                for n, w in zip(motifs["pattern"], windows)]
    null_motifs = _motif_rows("enhancer", [0.2], ["ZNF382"])
    null = ([Pattern("enhancer", null_motifs["pattern"][0], np.full((10, 4), 0.25), np.zeros((10, 4)), 9,
                     np.arange(5))], null_motifs, {"enhancer": 300})
    tf = tf_calls((patterns, motifs, {"enhancer": 300}), null, ModiscoConfig())
    called = set(tf.loc[tf["learned"], "tf"])
    assert called == {"MTF1"}, tf
    assert tf.set_index("tf").at["MTF1", "n_windows"] == 40
    assert "NKX6-1" not in set(tf["tf"])                  # it names no TF, so it is not even tested


def test_the_column_order_test_rejects_the_shuffled_label_models_pattern_and_keeps_a_motif():
    """The pattern that was called NKX6-1 on the shuffled-label model (tests/data) passes the
    E-value test alone among 23 patterns but matches about as well with its columns in any order;
    a planted motif's pattern does not."""
    from speidlib.data import jaspar
    from speidlib.data.jaspar import get_motif
    from speidlib.interpret.modisco import ModiscoConfig, Pattern, names_tf, pattern_tests

    memorised = np.loadtxt(Path(__file__).parent / "data" / "shuffled_label_pattern.tsv")
    mtf1 = get_motif("MA0863.1").pfm()
    mtf1 = (mtf1 + 0.02) / (mtf1 + 0.02).sum(axis=1, keepdims=True)
    targets = jaspar.load_motifs(jaspar.DEFAULT_RELEASE)
    config = ModiscoConfig()
    rows = []
    for branch, ppms in (("enhancer", [memorised] + [np.full((8, 4), 0.25)] * 22), ("promoter", [mtf1])):
        for i, ppm in enumerate(ppms):
            rows.append(Pattern(branch, f"pos_patterns.pattern_{i}", ppm, np.zeros_like(ppm), 50, np.arange(5)))
    from speidlib.interpret.matching import tomtom_matches
    # the base composition of the shuffled-label model's enhancer windows (its Tomtom background)
    bg = {"enhancer": np.array([0.2727, 0.2277, 0.2265, 0.2731]), "promoter": np.full(4, 0.25)}
    table = []
    for p in rows:
        if p.ppm.std() == 0:                                  # 22 patterns that match nothing
            table.append({"branch": p.branch, "pattern": p.name, "target_name": "ZNF", "evalue": 5.0})
            continue
        m = tomtom_matches({p.name: p.ppm}, targets, n_best=1, keep_evalue=0.0, n_jobs=1, background=bg[p.branch])
        table.append({"branch": p.branch, "pattern": p.name, "target_name": m["target_name"].iat[0],
                      "evalue": m["evalue"].iat[0]})
    tested = pattern_tests(rows, pd.DataFrame(table), bg, targets, config)
    first = tested.iloc[0]
    assert first["target_name"] == "NKX6-1" and first["pattern_qvalue"] < 0.05      # E alone would name it
    assert first["permutation_pvalue"] > 0.002 and first["permutation_qvalue"] > 0.05
    last = tested.iloc[-1]
    assert last["target_name"].upper() == "MTF1" and last["permutation_pvalue"] < 0.01
    assert names_tf(tested, config).tolist() == [False] * 23 + [True]
    assert (tested["permutation_pvalue"].iloc[1:23] == 1).all()                    # untested: p = 1


def test_top_stretches_and_planted_sites():
    from speidlib.interpret.explain import planted_sites, stretch_pfm, top_stretches

    actual = np.zeros(100)
    actual[10:15] = 1.0
    actual[40:45] = 2.0
    actual[12] = 0.5                                          # inside the first block
    got = top_stretches(actual, width=5, n=2)
    assert [(s, e) for s, e, _ in got] == [(40, 45), (10, 15)] and got[0][2] == pytest.approx(10.0)
    pfm = stretch_pfm(np.array([[1.0, -1, 0, 0], [0, 0, 0, 0]]))
    assert pfm[0].argmax() == 0 and np.allclose(pfm[1], 0.25) and np.allclose(pfm.sum(1), 1)
    elements = pd.DataFrame({"chrom": ["chr1"], "start": [1000], "end": [1300], "motif_id": ["MA0863.1"],
                             "sites": ["1010:+;1200:-;5000:+"]})
    sites = planted_sites(elements, "chr1", 1000, 1300, window_start=900, window=400)
    assert sites[["start", "motif_name", "strand"]].values.tolist() == [[110, "MTF1", "+"], [300, "MTF1", "-"]]
    assert (sites["end"] - sites["start"] == 14).all()
    assert planted_sites(elements, "chr2", 1000, 1300, 900, 400).empty


def test_modisco_refuses_contributions_of_another_model(attributed, tiny_run, tmp_path, capsys):
    import shutil

    import h5py

    out, _ = attributed
    shutil.copy(out / "contributions.h5", tmp_path / "contributions.h5")
    with h5py.File(tmp_path / "contributions.h5", "a") as h5:
        h5.attrs["model_sha256"] = "0" * 64
    assert main(["modisco", str(tiny_run), "--attributions", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "holds the contributions of another model" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_site_enrichment_counts_the_planted_sites_of_each_stored_window(tmp_path):
    """A store whose contributions are 1 exactly on the planted sites (placed with
    speidlib.interpret.explain.planted_sites from elements.csv) and 0 elsewhere: site_enrichment
    (which reads the demo folder's copies) finds every top position in a site, and the enrichment
    is 1 / (share of window in sites); a negative pair is left out."""
    from speidlib.interpret.contrib_store import StoreWriter
    from speidlib.interpret.contributions import Contributions
    from speidlib.interpret.explain import planted_sites, site_enrichment

    from speidlib.data.jaspar import get_motif, write_meme

    w = 400
    elements = pd.DataFrame({"element": ["chr1:1000-1300", "chr1:5000-5300"], "kind": ["enhancer", "promoter"],
                             "chrom": ["chr1", "chr1"], "start": [1000, 5000], "end": [1300, 5300],
                             "motif_id": ["MA0863.1", "MA0863.1"], "sites": ["1010:+;1200:-", "5100:+"]})
    demo = tmp_path / "demo"
    demo.mkdir()
    elements.to_csv(demo / "elements.csv", index=False)
    write_meme([get_motif("MA0863.1")], demo / "planted_motifs.meme")
    pairs = pd.DataFrame({schema.ENHANCER_NAME: ["e1", "e2"], schema.PROMOTER_NAME: ["p2", "p1"],
                          schema.CHROM: "chr1", schema.SPLIT: "test", schema.ENHANCER_START: [1000, 5000],
                          schema.ENHANCER_END: [1300, 5300], schema.PROMOTER_START: [5000, 1000],
                          schema.PROMOTER_END: [5300, 1300], schema.LABEL: [1, 0]})
    starts = {"enhancer": np.array([900, 4900]), "promoter": np.array([4950, 950])}
    actual = {b: np.zeros((2, w), np.float32) for b in schema.BRANCHES}
    for b in schema.BRANCHES:
        for i in range(2):
            s = planted_sites(elements, "chr1", int(pairs[f"{b}_start"][i]), int(pairs[f"{b}_end"][i]),
                              int(starts[b][i]), w)
            for a, e in zip(s["start"], s["end"]):
                actual[b][i, a:e] = 1.0
    contrib = Contributions(*(np.repeat(actual[b][..., None], 4, -1) for b in schema.BRANCHES),
                            actual["enhancer"], actual["promoter"], np.zeros(2), np.zeros(2))
    with StoreWriter(tmp_path / "c.h5", {b: w for b in schema.BRANCHES}, {"method": "ig"}) as writer:
        writer.append(pairs, contrib, {b: np.zeros((2, w), np.int8) for b in schema.BRANCHES}, starts)
    got = site_enrichment(ContributionStore(tmp_path / "c.h5"), demo, top=0.01)
    assert got["enhancer"]["n_pairs"] == 1                        # the positive pair only
    assert got["enhancer"]["site_share"] == pytest.approx(28 / w)  # two 14-bp MTF1 copies
    assert got["promoter"]["site_share"] == pytest.approx(14 / w)
    for b in schema.BRANCHES:
        assert got[b]["top_share"] == 1.0
        assert got[b]["enrichment"] == pytest.approx(1 / got[b]["site_share"])
