import os
from pathlib import Path

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.data import jaspar
from speidlib.data.encode import encode, one_hot, reverse_complement  # noqa: E402
from speidlib.interpret import ablation, kernels, matching, report  # noqa: E402

ACG = one_hot(encode("ACG"))[:, :, None].astype(np.float32)     # (3, 4, 1): counts matches to ACG
WINDOWS = np.stack([encode("ACGTTACG"), encode("AAGTTTTT"), encode("ACCTTTNN")])


def nested_model(kernel, bias, branch="enhancer", width=None, activation="relu"):
    """Two-input model whose conv layer sits inside a sub-model named feature_extractor."""
    w, _, k = kernel.shape
    width = width or 50
    e = keras.Input((width, 4), name=schema.ENHANCER_INPUT)
    p = keras.Input((width, 4), name=schema.PROMOTER_INPUT)
    convs = {b: keras.layers.Conv1D(k, w, activation=activation, name=n)
             for b, n in (("enhancer", schema.ENHANCER_CONV), ("promoter", schema.PROMOTER_CONV))}
    pooled = [keras.layers.GlobalMaxPooling1D()(convs["enhancer"](e)),
              keras.layers.GlobalMaxPooling1D()(convs["promoter"](p))]
    inner = keras.Model([e, p], keras.layers.Concatenate()(pooled), name="feature_extractor")
    e2 = keras.Input((width, 4), name=schema.ENHANCER_INPUT)
    p2 = keras.Input((width, 4), name=schema.PROMOTER_INPUT)
    out = keras.layers.Dense(1, activation="sigmoid")(inner([e2, p2]))
    model = keras.Model([e2, p2], out)
    convs[branch].set_weights([kernel, bias])
    return model


# --- kernel -> PFM ------------------------------------------------------------

def test_kernel_pfm_golden():
    kp = kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "enhancer")
    # activation = number of bases matching ACG; max 3, sites need > 1.5:
    # ACG (window 0, positions 0 and 5), AAG (window 1), ACC (window 2)
    np.testing.assert_array_equal(kp.counts[0], [[4, 0, 0, 0], [1, 3, 0, 0], [0, 1, 3, 0]])
    assert kp.n_sites.tolist() == [4]
    assert kp.max_activation.tolist() == [3.0]
    assert kp.window_max[:, 0].tolist() == [3.0, 2.0, 2.0]
    assert kp.window_argmax[:, 0].tolist() == [0, 0, 0]
    assert kp.names == ["enhancer_k0000"]
    np.testing.assert_allclose(kp.pfm(0), [[1, 0, 0, 0], [.25, .75, 0, 0], [0, .25, .75, 0]])
    # DeepBind mode: one site per window, at its best position
    best = kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "enhancer", sites="best")
    np.testing.assert_array_equal(best.counts[0], [[3, 0, 0, 0], [1, 2, 0, 0], [0, 1, 2, 0]])
    # a higher fraction keeps only the perfect matches
    strict = kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "enhancer", fraction=0.9)
    np.testing.assert_array_equal(strict.counts[0], [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]])


def test_bias_shifts_the_threshold_and_dead_kernels_get_no_sites():
    kernel = np.concatenate([ACG, -ACG], axis=2)                    # second kernel never positive
    kp = kernels.kernel_pfms((kernel, np.array([-1.0, 0.0])), WINDOWS, "promoter")
    # kernel 0: activation - 1, max 2, sites need > 1: only the two perfect ACG
    assert kp.n_sites.tolist() == [2, 0]
    assert kp.max_activation.tolist() == [2.0, 0.0]
    np.testing.assert_array_equal(kp.counts[1], 0)
    np.testing.assert_array_equal(kp.pfm(1), 0.25)                  # uniform where no site
    assert kp.names == ["promoter_k0000", "promoter_k0001"]


def test_activations_match_a_plain_numpy_scan_in_any_batch_size():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, (7, 30)).astype(np.int8)             # N included
    kernel = rng.normal(size=(5, 4, 6)).astype(np.float32)
    bias = rng.normal(size=6).astype(np.float32)
    X = one_hot(codes)
    naive = np.stack([np.einsum("nwc,wck->nk", X[:, p:p + 5], kernel) for p in range(26)], axis=1) + bias
    for bs in (1, 3, None):
        kp = kernels.kernel_pfms((kernel, bias), codes, "enhancer", batch_size=bs)
        np.testing.assert_allclose(kp.window_max, naive.max(axis=1), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(kp.window_argmax, naive.argmax(axis=1))
        thr = 0.5 * naive.max(axis=(0, 1))
        expected = np.zeros((6, 5, 4))
        for n, p, k in zip(*np.nonzero(naive > thr)):
            expected[k] += X[n, p:p + 5]
        np.testing.assert_array_equal(kp.counts, expected)
        assert kp.n_sites.tolist() == (naive > thr).sum(axis=(0, 1)).tolist()


def test_layer_is_found_in_a_nested_model_and_its_relu_does_not_matter():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(4, 4, 3)).astype(np.float32)
    bias = np.array([0.5, -0.2, 0.0], np.float32)
    codes = rng.integers(0, 4, (5, 50)).astype(np.int8)
    direct = kernels.kernel_pfms((kernel, bias), codes, "promoter")
    for activation in ("relu", None):
        model = nested_model(kernel, bias, "promoter", activation=activation)
        from_model = kernels.kernel_pfms(model, one_hot(codes), "promoter")
        np.testing.assert_array_equal(from_model.counts, direct.counts)
        np.testing.assert_allclose(from_model.window_max, direct.window_max, rtol=1e-6)
    assert kernels.find_layer(model, schema.PROMOTER_CONV).name == schema.PROMOTER_CONV
    with pytest.raises(ValueError, match="no layer named 'nope'.*enhancer_conv"):
        kernels.find_layer(model, "nope")


def test_information_and_trimming():
    pfm = np.array([[.25, .25, .25, .25], [1, 0, 0, 0], [.5, .5, 0, 0], [.25, .25, .25, .25]])
    np.testing.assert_allclose(kernels.information_content(pfm), [0, 2, 1, 0])
    assert kernels.trim_bounds(pfm, 0.5) == (1, 3)
    assert kernels.trim_bounds(pfm, 1.5) == (1, 2)
    assert kernels.trim_bounds(pfm, 3.0) == (0, 4)                         # nothing informative: keep all
    kernel = np.zeros((5, 4, 1), np.float32)
    kernel[1:4, :, 0] = one_hot(encode("GAT"))
    kp = kernels.kernel_pfms((kernel, np.zeros(1)), np.stack([encode("CGATA")] * 2), "enhancer")
    assert kp.trim[0].tolist() == [0, 5]                              # constant flanks: 2 bits
    # one 5-bp window per site: flank columns C/A/A (1.08 bits) and A/T/G (0.42 bits, trimmed)
    kp = kernels.kernel_pfms((kernel, np.zeros(1)), np.stack([encode(s) for s in ("CGATA", "AGATT", "AGATG")]),
                       "enhancer")
    np.testing.assert_allclose(kp.information()[0], [2 - 0.9183, 2, 2, 2, 2 - 1.585], atol=1e-3)
    assert kp.trim[0].tolist() == [0, 4]
    assert kp.pfm(0).shape == (4, 4) and kp.pfm(0, trimmed=False).shape == (5, 4)


def test_top_windows_table():
    kp = kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "enhancer")
    top = kp.top_windows(WINDOWS, n_top=2, window_ids=["a", "b", "c"])
    assert list(top.columns) == schema.TOP_WINDOW_COLUMNS
    assert top["window_id"].tolist() == ["a", "b"]
    assert top["sequence"].tolist() == ["ACG", "AAG"]
    assert top["activation"].tolist() == [3.0, 2.0]
    assert top["rank"].tolist() == [1, 2]
    assert top["kernel_name"].tolist() == ["enhancer_k0000"] * 2


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="0-4"):
        kernels.as_codes(np.full((2, 5), 7, np.int8))
    with pytest.raises(ValueError, match="only 0 and 1"):
        kernels.as_codes(np.full((2, 5, 4), 0.25))
    with pytest.raises(ValueError, match="shape"):
        kernels.as_codes(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="shorter than the kernel"):
        kernels.kernel_pfms((np.zeros((9, 4, 1), np.float32), np.zeros(1)), WINDOWS, "enhancer")
    with pytest.raises(ValueError, match="branch"):
        kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "silencer")
    with pytest.raises(ValueError, match="sites"):
        kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "enhancer", sites="some")
    np.testing.assert_array_equal(kernels.as_codes(one_hot(WINDOWS)), WINDOWS)


# --- Tomtom -------------------------------------------------------------------

@pytest.fixture(scope="module")
def targets():
    return jaspar.load_motifs("JASPAR2024")


def test_tomtom_offsets_strands_and_values(targets):
    ctcf = jaspar.get_motif("MA0139.2").pfm()                       # CTCF, 15 bp
    uniform = np.full((3, 4), 0.25)
    queries = {"sub": ctcf[3:12], "rc_shifted": np.vstack([uniform, ctcf[::-1, ::-1]])}
    df = matching.tomtom_matches(queries, targets, n_best=3, n_jobs=1)
    best = df[df["rank"] == 1].set_index("query")
    assert best.loc["sub", "target_id"] == best.loc["rc_shifted", "target_id"] == "MA0139.2"
    assert (best.loc["sub", "offset"], best.loc["sub", "strand"]) == (3, "+")
    assert (best.loc["rc_shifted", "offset"], best.loc["rc_shifted", "strand"]) == (-3, "-")
    assert best.loc["sub", "overlap"] == 9
    assert list(df.columns) == ["query", "target_id", "target_name", "pvalue", "evalue", "qvalue",
                                "offset", "strand", "overlap", "rank"]
    np.testing.assert_allclose(df["evalue"], df["pvalue"] * len(targets))
    assert (df["evalue"] < 1e-10).sum() >= 2
    assert df.groupby("query")["rank"].apply(list).to_dict()["sub"][:3] == [1, 2, 3]


def test_benjamini_hochberg_golden():
    p = np.array([[0.01, 0.04, 0.03, 0.5]])
    # sorted .01 .03 .04 .5 -> p*m/i .04 .06 .0533 .5 -> running min from the right
    np.testing.assert_allclose(matching._bh(p), [[0.04, 0.16 / 3, 0.16 / 3, 0.5]])


def test_tf_summary_counts_kernels_per_branch():
    rows = [("enhancer", 0, "MA1", "CTCF", 0.01), ("enhancer", 1, "MA1", "CTCF", 0.1),
            ("enhancer", 1, "MA2", "CTCF", 0.1),            # same kernel, second CTCF matrix
            ("enhancer", 2, "MA2", "CTCF", 0.4), ("enhancer", 3, "MA1", "CTCF", 0.6),
            ("promoter", 0, "MA1", "CTCF", 0.2), ("promoter", 0, "MA3", "MAZ", 0.3),
            ("promoter", 1, "MA3", "MAZ", 0.3), ("promoter", 2, "MA3", "MAZ", 0.3),
            ("promoter", 3, "MA4", "SP1", 0.9)]
    matches = pd.DataFrame(rows, columns=["branch", "kernel", "target_id", "target_name", "evalue"])
    s = matching.tf_summary(matches)
    assert list(s.columns) == schema.TF_SUMMARY_COLUMNS
    assert s["tf"].tolist() == ["CTCF", "MAZ"]                   # SP1 has no E < 0.5
    ctcf, maz = s.iloc[0], s.iloc[1]
    assert (ctcf.n_enhancer_kernels, ctcf.n_promoter_kernels) == (3, 1)
    assert ctcf.target_id == "MA1;MA2" and ctcf.best_evalue == 0.01
    assert (ctcf.redundant_enhancer, ctcf.redundant_promoter, ctcf.redundant) == (True, False, True)
    assert (maz.n_enhancer_kernels, maz.n_promoter_kernels, maz.redundant_promoter) == (0, 3, True)
    assert matching.tf_summary(matches, min_kernels=4)["redundant"].tolist() == [False, False]


def plant(motif, n, length, rng, at=None):
    """Random windows, each holding one site drawn from the motif's PFM (random strand)."""
    codes = rng.integers(0, 4, (n, length)).astype(np.int8)
    pfm = motif.pfm()
    for i in range(n):
        site = np.array([rng.choice(4, p=row) for row in pfm], np.int8)
        if rng.random() < 0.5:
            site = reverse_complement(site)
        start = rng.integers(0, length - len(site)) if at is None else at
        codes[i, start:start + len(site)] = site
    return codes


def test_planted_jaspar_motifs_are_recovered(targets):
    """Ground truth: kernels set to a planted motif's (noisy) PWM find it back through Tomtom."""
    rng = np.random.default_rng(0)
    planted = {"enhancer": jaspar.get_motif("MA0139.2"),      # CTCF
               "promoter": jaspar.get_motif("MA0079.5")}      # SP1
    width = 20
    pfms = []
    for branch, motif in planted.items():
        kernel = rng.normal(scale=0.1, size=(width, 4, 2)).astype(np.float32)
        kernel[2:2 + motif.length, :, 0] += motif.pwm()       # kernel 0 is the motif, kernel 1 noise
        model = nested_model(kernel, np.zeros(2, np.float32), branch, width=120)
        codes = plant(motif, 60, 120, rng)
        pfms.append(kernels.kernel_pfms(model, codes, branch))
    matches = matching.kernel_matches(pfms, targets, n_jobs=1)
    assert list(matches.columns) == schema.MOTIF_MATCH_COLUMNS
    best = matches[matches["rank"] == 1].set_index("kernel_name")
    for branch, motif in planted.items():
        row = best.loc[kernels.kernel_name(branch, 0)]
        assert row["target_id"] == motif.matrix_id
        assert row["evalue"] < 0.5
        assert 20 <= row["n_sites"] <= 60      # forward-strand sites only: the kernel reads one strand


def test_batchnorm_baseline_moves_the_activation_zero():
    """With a merge BatchNorm, activations are measured from the level it maps to zero."""
    kernel = ACG.copy()
    e = keras.Input((8, 4), name=schema.ENHANCER_INPUT)
    x = keras.layers.Conv1D(1, 3, name=schema.ENHANCER_CONV)(e)
    bn = keras.layers.BatchNormalization(name="merge_bn", epsilon=0.0)
    model = keras.Model(e, bn(x))
    model.get_layer(schema.ENHANCER_CONV).set_weights([kernel, np.zeros(1, np.float32)])
    # gamma 2, beta 1, mean 1.5, variance 0.25: zero at 1.5 - 1 * 0.5 / 2 = 1.25
    bn.set_weights([np.array([2.0]), np.array([1.0]), np.array([1.5]), np.array([0.25])])
    np.testing.assert_allclose(kernels.activation_baseline(model, "enhancer"), [1.25])
    kp = kernels.kernel_pfms(model, WINDOWS, "enhancer")
    assert kp.baseline == "batchnorm" and kp.max_activation.tolist() == [1.75]
    # sites need 3 - 1.25 > 0.5 * 1.75: only the perfect ACG matches (activation 3) pass
    np.testing.assert_array_equal(kp.counts[0], [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]])
    raw = kernels.kernel_pfms(model, WINDOWS, "enhancer", baseline="zero")
    assert raw.baseline == "zero" and raw.n_sites.tolist() == [4]
    bn.set_weights([np.array([-2.0]), np.array([1.0]), np.array([1.5]), np.array([0.25])])
    np.testing.assert_allclose(kernels.activation_baseline(model, "enhancer"), [1.5])   # gamma <= 0: the mean
    with pytest.raises(ValueError, match="baseline"):
        kernels.kernel_pfms(model, WINDOWS, "enhancer", baseline="median")


# the committed example run's model: the cpu preset trained on the default demo (scripts/make_example_run.py)
DEMO_MODEL = Path(__file__).parents[1] / "examples" / "demo_cpu" / "model.keras"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The default grammar (demo seed 0, one cell line), prepared with the demo's windows.

    The committed example model was trained on the 3-cell-line demo's ``DEMO1`` (notebook 01's
    defaults), whose genome is another draw: the same planted motifs and classes, other windows.
    Its kernels are read here on windows it never saw, of the grammar it learned (a smaller
    demo keeps the suite fast); ``scripts/motif_ground_truth.py``'s ``committed`` job reads them
    on the example's own dataset and refuses another."""
    from speidlib.app.notebooks import prepare_demo

    root = tmp_path_factory.mktemp("demo_run")
    info = prepare_demo(root / "demo", root / "run", seed=0)
    return info, root / "run"


def test_trained_demo_kernels_recover_every_planted_motif(demo_run, targets):
    """Ground truth (issue 5): each planted motif is the best JASPAR match (E < 0.5) of at
    least one kernel of its branch, in the committed ``cpu`` model trained on the default
    grammar (the example run's; ``scripts/make_example_run.py`` regenerates it), read from the
    held-out windows of the fixture's demo (see ``demo_run``)."""
    from speidlib.data.dataset import Dataset

    info, run = demo_run
    import speidlib.model.layers  # noqa: F401  registers PooledConv1D

    assert DEMO_MODEL.exists(), f"{DEMO_MODEL} is missing: run scripts/make_example_run.py"
    model = keras.models.load_model(DEMO_MODEL, compile=False)
    windows = report.held_out_windows(Dataset(run))
    pfms = [kernels.kernel_pfms(model, windows[b][0], b) for b in schema.BRANCHES]
    matches = matching.kernel_matches(pfms, targets, n_jobs=1)
    recovery = report.planted_recovery(matches, info, info.cell_lines[0])
    mine = recovery[recovery["in_cell_line"]]
    assert len(mine) == 8
    assert mine["recovered"].all(), mine.to_string()


# --- writers --------------------------------------------------------------------

def test_writers(tmp_path):
    e = kernels.kernel_pfms((ACG, np.zeros(1)), WINDOWS, "enhancer")
    kernel = np.concatenate([ACG, -ACG], axis=2)
    p = kernels.kernel_pfms((kernel, np.zeros(2)), WINDOWS, "promoter")
    report.write_kernels_meme([e, p], tmp_path / "k.meme")
    got = jaspar.read_meme(tmp_path / "k.meme")
    assert [n for n, _ in got] == ["enhancer_k0000", "promoter_k0000"]   # no-site kernel left out
    np.testing.assert_allclose(got[0][1], e.pfm(0), atol=1e-6)
    assert "nsites= 4" in (tmp_path / "k.meme").read_text()
    report.write_activations([e, p], tmp_path / "a.npz", {"enhancer": ["x", "y", "z"]})
    with np.load(tmp_path / "a.npz") as z:
        assert z["enhancer_ids"].tolist() == ["x", "y", "z"]
        assert z["promoter_ids"].tolist() == [0, 1, 2]
        assert z["promoter_max"].shape == (3, 2)
        np.testing.assert_array_equal(z["enhancer_max"], e.window_max)
        assert z["enhancer_n_sites"].tolist() == [4]
    report.write_csv(e.top_windows(WINDOWS, 1), tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["sequence"].tolist() == ["ACG"]
    assert not list(tmp_path.glob(".*.tmp"))


# --- hits and ablation ----------------------------------------------------------

def test_motif_hits_and_masks():
    ctcf = jaspar.get_motif("MA0139.2")
    consensus = ctcf.counts.argmax(axis=1).astype(np.int8)
    codes = np.zeros((3, 40), np.int8)                              # poly-A: no chance hits
    codes[0, 5:20] = consensus
    codes[2, 20:35] = reverse_complement(consensus)
    hits = ablation.motif_hits(codes, [ctcf])
    assert hits[["window", "motif_id", "motif_name", "start", "end", "strand"]].values.tolist() == [
        [0, "MA0139.2", "CTCF", 5, 20, "+"], [2, "MA0139.2", "CTCF", 20, 35, "-"]]
    mask = ablation.hit_mask(hits, codes.shape)
    assert mask.sum(axis=1).tolist() == [15, 0, 15]
    assert mask[0, 5:20].all() and mask[2, 20:35].all()
    rng = np.random.default_rng(0)
    control = ablation.control_mask(mask, rng)
    assert control.sum(axis=1).tolist() == [15, 0, 15]
    assert not (control & mask).any()
    shuffled = ablation.randomize(codes, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(shuffled[~mask], codes[~mask])
    assert (shuffled[mask] != codes[mask]).sum() > 15               # most of 30 bases change
    assert ablation.motif_hits(codes, {"x": np.full((4, 4), .25)}).empty


def ctcf_scorer():
    """Score = sigmoid(best CTCF PWM match in the enhancer - 10); the promoter is ignored."""
    pwm = jaspar.get_motif("MA0139.2").pwm()

    def score(enh, prom):
        windows = np.lib.stride_tricks.sliding_window_view(enh, (15, 4), axis=(1, 2))[:, :, 0]
        best = np.einsum("npwc,wc->np", windows, pwm).max(axis=1)
        return 1 / (1 + np.exp(-(best - 10)))

    return score


def test_ablation_of_a_motif_the_score_depends_on():
    ctcf, sp1 = jaspar.get_motif("MA0139.2"), jaspar.get_motif("MA0079.5")
    rng = np.random.default_rng(3)
    n = 40
    labels = np.arange(n) % 2
    enh = rng.integers(0, 4, (n, 60)).astype(np.int8)
    consensus = ctcf.counts.argmax(axis=1).astype(np.int8)
    enh[labels == 1, 20:35] = consensus
    enh[:6:2, 40:55] = consensus                  # 3 negatives carry CTCF too: AUPR < 1
    prom = rng.integers(0, 4, (n, 50)).astype(np.int8)
    table = ablation.motif_ablation(ctcf_scorer(), enh, prom, labels, [ctcf, sp1], seed=0)
    assert list(table.columns) == schema.ABLATION_COLUMNS
    t = table.set_index(["motif_id", "branch"])
    row = t.loc[("MA0139.2", "enhancer")]
    assert row.n_windows_hit == 23 and row.n_bases >= 23 * 15     # 20 positives + 3 negatives
    assert row.aupr == pytest.approx(20 / 23)                       # the 3 negatives tie the positives
    assert row.delta_aupr < -0.4
    assert row.delta_mean_score_hit == pytest.approx(-1, abs=1e-3)  # every hit window drops to ~0
    assert row.delta_mean_score == pytest.approx(-row.mean_score, abs=1e-3)
    # the control leaves the best CTCF match in place: nothing changes
    assert (row.control_delta_aupr, row.control_delta_mean_score) == (0, 0)
    for key in [("MA0139.2", "promoter"), ("MA0079.5", "promoter")]:   # promoter is ignored
        assert t.loc[key, ["delta_aupr", "delta_mean_score", "control_delta_aupr"]].tolist() == [0, 0, 0]
    again = ablation.motif_ablation(ctcf_scorer(), enh, prom, labels, [ctcf, sp1], seed=0)
    pd.testing.assert_frame_equal(again, table)                    # seeded
    with pytest.raises(ValueError, match="one row per pair"):
        ablation.motif_ablation(ctcf_scorer(), enh, prom[:5], labels, [ctcf])


def test_keras_model_scores_like_its_callable():
    rng = np.random.default_rng(4)
    kernel = rng.normal(size=(4, 4, 2)).astype(np.float32)
    model = nested_model(kernel, np.zeros(2, np.float32), width=20)
    enh = rng.integers(0, 4, (6, 20)).astype(np.int8)
    prom = rng.integers(0, 4, (6, 20)).astype(np.int8)
    got = ablation.score_codes(ablation.scorer(model), enh, prom, batch_size=4)
    want = np.asarray(model([one_hot(enh), one_hot(prom)])).reshape(-1)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # inputs are matched by name, whatever their order in the model
    e = keras.Input((20, 4), name=schema.ENHANCER_INPUT)
    p = keras.Input((20, 4), name=schema.PROMOTER_INPUT)
    diff = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Flatten()(keras.layers.Subtract()([e, p])))
    swapped = keras.Model([p, e], diff)
    assert np.asarray(ablation.model_inputs(swapped, "E", "P")).tolist() == ["P", "E"]


def test_ablation_motifs_pick_the_redundantly_matched_matrices():
    targets = [jaspar.get_motif(i) for i in ("MA0139.2", "MA0079.5", "MA0041.3")]
    matches = pd.DataFrame({
        "branch": ["enhancer"] * 3 + ["promoter"] * 4,
        "kernel": [0, 1, 2, 0, 1, 2, 3],
        "target_id": ["MA0139.2"] * 3 + ["MA0079.5"] * 3 + ["MA0041.3"],
        "evalue": [0.1, 0.2, 0.3, 0.1, 0.1, 0.9, 0.01]})
    assert [m.matrix_id for m in ablation.ablation_motifs(matches, targets)] == ["MA0139.2"]
    assert [m.matrix_id for m in ablation.ablation_motifs(matches, targets, min_kernels=1)] == [
        "MA0139.2", "MA0079.5", "MA0041.3"]
    assert [m.matrix_id for m in ablation.ablation_motifs(matches, targets, min_kernels=1, max_motifs=1)] == [
        "MA0139.2"]


@pytest.mark.slow
def test_run_motifs_writes_every_artifact(tmp_path):
    """`speid motifs RUN` on a small demo run with an untrained, JASPAR-initialised model."""
    from speidlib.data import dataset
    from speidlib.demo import synthetic as demo
    from speidlib.model.build import build_model
    from speidlib.model.presets import ModelConfig
    from speidlib.rundir import read_config

    demo.make_demo(tmp_path / "demo", n_pairs=400, enhancer_window=400, promoter_window=400,
                   n_chromosomes=2)
    run = tmp_path / "run"
    dataset.prepare(dataset.PrepareConfig(pairs=str(tmp_path / "demo" / "pairs.csv"),
                                          genome=str(tmp_path / "demo" / "genome.fa"),
                                          enhancer_window=400, promoter_window=400, augment=2),
                    run, progress=False)
    config = ModelConfig(name="tiny", n_kernels=8, kernel_size=20, lstm_units=4,
                         dense_units=8, n_jaspar_kernels=8)
    build_model(config, 400, 400).save(run / schema.MODEL_FILE)
    result = report.run_motifs(run, logos="matched", max_logos=3, min_kernels=1, max_ablation_motifs=2,
                          n_jobs=1, progress=False)
    out = run / schema.MOTIFS_DIR
    ds = dataset.Dataset.load(run)
    n_test = {b: len(np.unique(getattr(ds, f"{b}_index")[ds.split_index("test")])) for b in schema.BRANCHES}
    assert result["n_windows"] == n_test
    assert result["jaspar"]["release"] == "JASPAR2024" and result["jaspar"]["n_matrices"] == 879
    names = [n for n, _ in jaspar.read_meme(out / schema.MOTIF_KERNELS_MEME)]
    assert names[0] == "enhancer_k0000" and len(names) == 16
    matches = pd.read_csv(out / schema.MOTIF_MATCHES_FILE)
    assert list(matches.columns) == schema.MOTIF_MATCH_COLUMNS
    # only informative kernels are matched (issue 14): exactly those of kernel_table.csv
    kernels = pd.read_csv(out / schema.MOTIF_KERNEL_TABLE_FILE)
    informative = set(kernels.loc[kernels["informative"].astype(bool), "kernel_name"])
    assert (matches.groupby("kernel_name")["rank"].min() == 1).all()
    assert 0 < len(informative) <= 16 and set(matches["kernel_name"]) == informative
    assert result["n_informative_kernels"]["enhancer"] + result["n_informative_kernels"]["promoter"] \
        == len(informative)
    assert list(pd.read_csv(out / schema.MOTIF_TF_SUMMARY_FILE).columns) == schema.TF_SUMMARY_COLUMNS
    top = pd.read_csv(out / schema.MOTIF_TOP_WINDOWS_FILE)
    assert list(top.columns) == schema.TOP_WINDOW_COLUMNS and len(top) == 2 * 8 * 10
    assert top["sequence"].str.len().eq(20).all()
    with np.load(out / schema.MOTIF_ACTIVATIONS_FILE) as z:
        assert z["enhancer_max"].shape == (n_test["enhancer"], 8)
        assert z["promoter_ids"][0].startswith("DEMO1|")
    assert len(list((out / schema.MOTIF_LOGOS_DIR).glob("*.png"))) == result["n_logos"] == 3
    ablation = pd.read_csv(out / schema.MOTIF_ABLATION_FILE)
    assert list(ablation.columns) == schema.ABLATION_COLUMNS and len(ablation) == 2 * 2
    assert (out / schema.MOTIF_SUMMARY_FILE).exists()
    assert read_config(run)["motifs"]["release"] == "JASPAR2024"


@pytest.mark.slow
def test_committed_demo_model_learns_no_ctcf(demo_run, targets):
    """Issue 14: on the default demo (no CTCF planted) CTCF is not called learned against the
    null of the model's own initial kernels, and a planted TF is called only in its branch."""
    from speidlib.data.dataset import Dataset
    from speidlib.interpret import null

    info, run = demo_run
    import speidlib.model.layers  # noqa: F401  registers PooledConv1D

    model = keras.models.load_model(DEMO_MODEL, compile=False)
    ds = Dataset(run)
    windows = report.held_out_windows(ds)
    pfms = [kernels.kernel_pfms(model, windows[b][0], b) for b in schema.BRANCHES]
    matches = matching.kernel_matches(pfms, targets, n_jobs=2)
    init = null.build_initial_kernels({"preset": "cpu", "enhancer_window": ds.enhancer_window,
                                       "promoter_window": ds.promoter_window, "seed": 0,
                                       "random_init": True})          # examples/demo_cpu/config.json
    npfms = [kernels.kernel_pfms(init[b], windows[b][0], b) for b in schema.BRANCHES]
    n = {b: init[b][0].shape[2] for b in schema.BRANCHES}
    summary = matching.tf_summary(matches, null_matches=matching.kernel_matches(npfms, targets, n_jobs=2),
                                  n_kernels=n, n_null_kernels=n)
    learned = {(b, t.upper()) for b in schema.BRANCHES for t in summary.loc[summary[f"learned_{b}"], "tf"]}
    assert not {t for _, t in learned} & {"CTCF", "CTCFL"}, summary.head(10).to_string()
    planted = {b: {getattr(c, f"{b}_tf").upper() for c in info.classes} for b in schema.BRANCHES}
    for b, other in (("enhancer", "promoter"), ("promoter", "enhancer")):
        assert not {t for br, t in learned if br == other} & (planted[b] - planted[other])
    assert learned & {(b, t) for b in schema.BRANCHES for t in planted[b]}
