"""Issue 14: calibrated motif matching, the null of untrained kernels, per-TF enrichment."""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.data import jaspar  # noqa: E402
from speidlib.interpret import kernels, matching, null


@pytest.fixture(scope="module")
def targets():
    return jaspar.load_motifs("JASPAR2024")


def random_queries(rng, n, alpha, width=15):
    return {f"q{i}": rng.dirichlet([alpha] * 4, size=width) for i in range(n)}


def test_pearson_tomtom_is_calibrated_on_random_pfms(targets):
    """Random PFMs match no more often than E < 0.5 promises, and no TF collects them.

    The Euclidean score memelite uses by default sends every one of them to CTCF
    with E near 0 (the defect of issue 14)."""
    rng = np.random.default_rng(0)
    rates = {}
    for alpha in (8.0, 2.0, 0.5):
        q = random_queries(rng, 150, alpha)
        m = matching.tomtom_matches(q, targets, n_best=1, n_jobs=2)
        best = m[m["rank"] == 1]
        sig = best[best["evalue"] < 0.5]
        rates[alpha] = len(sig) / len(q)
        assert rates[alpha] <= 1 - np.exp(-0.5), rates          # 39%: what E < 0.5 allows
        assert sig["target_name"].value_counts().max() <= 6      # no TF collects them (<= 4%)
        # on average about E = 0.5 targets per query below E = 0.5
        assert (m["evalue"] < 0.5).sum() / len(q) < 0.8
    print("fraction of random PFMs with a match at E < 0.5, by Dirichlet alpha:", rates)
    euclid = matching.tomtom_matches(random_queries(rng, 20, 8.0), targets, n_best=1, n_jobs=2,
                                     score="euclidean")
    best = euclid[euclid["rank"] == 1]
    assert len(best) == 20 and (best["target_name"] == "CTCF").all() and (best["evalue"] < 0.5).all()


def test_near_uniform_pfms_are_not_informative_and_match_nothing(targets):
    rng = np.random.default_rng(1)
    k, w = 80, 15
    counts = np.stack([[rng.multinomial(400, col) for col in rng.dirichlet([200.0] * 4, size=w)]
                       for _ in range(k)])
    kp = kernels.KernelPFMs("enhancer", counts.astype(float), np.full(k, 400), np.ones(k),
                            np.ones((3, k)), np.zeros((3, k), int), np.tile([0, w], (k, 1)), 0.5, 0.5,
                            "all")
    kp.trim = np.array([kernels.trim_bounds(kp.pfm(i, trimmed=False)) for i in range(k)])
    assert not kp.informative().any()
    assert len(matching.kernel_matches([kp], targets, n_jobs=2)) == 0
    # the same PFMs, matched anyway: no more than E < 0.5 allows, and not CTCF
    forced = matching.kernel_matches([kp], targets, n_jobs=2, informative_only=False)
    best = forced[(forced["rank"] == 1) & (forced["evalue"] < 0.5)]
    assert len(best) <= 0.39 * k and (best["target_name"] != "CTCF").all()


def test_informative_golden():
    # kernel 0: 4 columns of 2 bits from 20 sites; kernel 1: same but 5 sites; kernel 2: 2 strong columns
    counts = np.zeros((3, 6, 4))
    counts[:, :, :] = 5                                   # uniform columns (0 bits)
    counts[0, 1:5] = [[20, 0, 0, 0], [0, 20, 0, 0], [0, 0, 20, 0], [0, 0, 0, 20]]
    counts[1, 1:5] = [[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]]
    counts[2, 1:3] = [[20, 0, 0, 0], [0, 20, 0, 0]]
    kp = kernels.KernelPFMs("promoter", counts, np.array([20, 5, 20]), np.ones(3), np.ones((1, 3)),
                            np.zeros((1, 3), int), np.array([[1, 5], [1, 5], [1, 3]]), 0.5, 0.5, "all")
    np.testing.assert_allclose(kp.trimmed_information(), [8.0, 8.0, 4.0])
    assert kp.informative().tolist() == [True, False, False]     # too few sites; too few columns
    assert kp.informative(min_sites=5).tolist() == [True, True, False]
    np.testing.assert_allclose(kernels.base_composition(np.array([[0, 1, 1, 4], [2, 3, 3, 3]], np.int8)),
                               [1 / 7, 2 / 7, 1 / 7, 3 / 7])


def test_tf_enrichment_against_hand_computed_counts():
    # 5 of 10 trained kernels vs 1 of 20 null kernels: hypergeometric P(X >= 5), 6 matched of 30,
    # 10 drawn: (C(6,5) C(24,5) + C(24,4)) / C(30,10) = 265650 / 30045015
    e = null.tf_enrichment([5, 0, 2], 10, [1, 3, 4], 20)
    np.testing.assert_allclose(e["pvalue"][0], 265650 / 30045015)
    assert e["pvalue"][1] == 1.0
    np.testing.assert_allclose(e["enrichment"], [(5.5 / 10.5) / (1.5 / 20.5), (0.5 / 10.5) / (3.5 / 20.5),
                                                 (2.5 / 10.5) / (4.5 / 20.5)])
    with pytest.raises(ValueError, match="between 0"):
        null.tf_enrichment([11], 10, [0], 20)


def test_tf_summary_ranks_by_the_null():
    def table(rows):
        return pd.DataFrame(rows, columns=["branch", "kernel", "target_id", "target_name", "evalue"])

    # trained: 6 enhancer kernels match ZNF1 best and a look-alike (LOOK) second, 4 match
    # CTCF; 1 promoter kernel matches CTCF
    trained = table([("enhancer", k, "MA1", "ZNF1", 0.01) for k in range(6)]
                    + [("enhancer", k, "MA9", "LOOK", 0.05) for k in range(6)]
                    + [("enhancer", k, "MA2", "CTCF", 0.1) for k in range(6, 10)]
                    + [("promoter", 0, "MA2", "CTCF", 0.2), ("promoter", 1, "MA3", "SP1", 0.9)])
    # null, 2 draws of 20 kernels: CTCF matches 8 enhancer kernels, ZNF1 none
    nullm = table([("enhancer", k, "MA2", "CTCF", 0.05) for k in range(8)]
                  + [("promoter", 3, "MA4", "MAZ", 0.3)])
    n, nn = {"enhancer": 20, "promoter": 20}, {"enhancer": 40, "promoter": 40}
    s = matching.tf_summary(trained, null_matches=nullm, n_kernels=n, n_null_kernels=nn, n_null_draws=2)
    assert list(s.columns) == schema.TF_SUMMARY_COLUMNS
    assert s["tf"].tolist() == ["ZNF1", "CTCF", "MAZ", "LOOK"]    # learned first; SP1 has no E < 0.5
    z, c, m, look = (s.set_index("tf").loc[t] for t in ("ZNF1", "CTCF", "MAZ", "LOOK"))
    assert (z.n_enhancer_kernels, z.n_enhancer_best, z.n_enhancer_null, z.learned_enhancer,
            z.learned) == (6, 6, 0, True, True)
    # the look-alike matches the same 6 kernels, but is none's best match: not tested, not learned
    assert (look.n_enhancer_kernels, look.n_enhancer_best, look.learned) == (6, 0, False)
    assert np.isnan(look.pvalue_enhancer)
    assert (c.n_enhancer_kernels, c.n_enhancer_null, c.n_promoter_kernels) == (4, 4.0, 1)
    assert not c.learned and c.redundant_enhancer                 # redundant, yet no more than the null
    assert (m.n_promoter_kernels, m.n_promoter_null, m.target_id) == (0, 0.5, "")
    # hand-computed: ZNF1 enhancer 6/20 vs 0/40; CTCF 4/20 vs 8/40 (p = 0.5.. > 0.05)
    from scipy.stats import false_discovery_control, fisher_exact
    p_z = fisher_exact([[6, 14], [0, 40]], alternative="greater")[1]
    np.testing.assert_allclose(z.pvalue_enhancer, p_z)
    # tested: ZNF1, CTCF, MAZ(no: 0 + 0) in the enhancer; CTCF and MAZ in the promoter
    p_all = [s.set_index("tf").loc[t, f"pvalue_{b}"] for b in schema.BRANCHES for t in s["tf"]]
    p_all = [x for x in p_all if not np.isnan(x)]
    assert len(p_all) == 4 and np.isnan(m.pvalue_enhancer) and np.isnan(z.qvalue_promoter)
    np.testing.assert_allclose(z.qvalue_enhancer, false_discovery_control(p_all)[0])
    # without a null: the old ranking, nothing learned
    plain = matching.tf_summary(trained)
    assert plain["tf"].tolist() == ["LOOK", "ZNF1", "CTCF"] and not plain["learned"].any()


def test_null_draws_are_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(5, 4, 3)).astype(np.float32), np.arange(3, dtype=np.float32)
    keep = np.array([True, False, False])
    a = null.null_draws(kernel, bias, 3, seed=7, keep=keep)
    b = null.null_draws(kernel, bias, 3, seed=7, keep=keep)
    c = null.null_draws(kernel, bias, 3, seed=8, keep=keep)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (5, 4, 9) and a[1].tolist() == [0, 1, 2] * 3
    np.testing.assert_array_equal(a[0][:, :, :3], kernel)                 # draw 0: the initial kernels
    np.testing.assert_array_equal(a[0][:, :, 3], kernel[:, :, 0])         # JASPAR kernels kept
    limit = np.sqrt(6 / (4 * 5 + 3 * 5))
    assert np.abs(a[0][:, :, [4, 5, 7, 8]]).max() <= limit


def test_initial_kernels_rebuild_like_training_saves_them(tmp_path):
    """The null of a run is the same for the same seed: rebuilt, saved by training, or read back."""
    from speidlib.model.build import build_model
    from speidlib.train.stages import save_initial_kernels

    record = {"preset": "cpu", "enhancer_window": 200, "promoter_window": 200, "seed": 3,
              "random_init": True}
    a = null.build_initial_kernels(record)
    b = null.build_initial_kernels(record)
    other = null.build_initial_kernels({**record, "seed": 4})
    for br in schema.BRANCHES:
        np.testing.assert_array_equal(a[br][0], b[br][0])
        assert not np.array_equal(a[br][0], other[br][0])
    save_initial_kernels(build_model("cpu", 200, 200, jaspar_init=False, seed=3),
                         tmp_path / schema.INITIAL_KERNELS_FILE)
    saved = null.initial_kernels(tmp_path)
    for br in schema.BRANCHES:
        np.testing.assert_array_equal(saved[br][0], a[br][0])
        np.testing.assert_array_equal(saved[br][1], a[br][1])


def test_kernel_silencing_finds_the_kernel_the_score_uses():
    import keras

    from speidlib.data.encode import encode, one_hot
    from speidlib.interpret import ablation

    width = 12
    e = keras.Input((width, 4), name=schema.ENHANCER_INPUT)
    p = keras.Input((width, 4), name=schema.PROMOTER_INPUT)
    conv_e = keras.layers.Conv1D(2, 3, name=schema.ENHANCER_CONV)
    conv_p = keras.layers.Conv1D(1, 3, name=schema.PROMOTER_CONV)
    pooled = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling1D()(conv_e(e)),
                                         keras.layers.GlobalMaxPooling1D()(conv_p(p))])
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model([e, p], dense(pooled))
    acg = one_hot(encode("ACG"))[:, :, None].astype(np.float32)
    conv_e.set_weights([np.concatenate([acg, np.zeros_like(acg)], axis=2), np.zeros(2, np.float32)])
    conv_p.set_weights([acg, np.zeros(1, np.float32)])
    dense.set_weights([np.array([[4.0], [1.0], [0.0]], np.float32), np.array([-10.0], np.float32)])
    rng = np.random.default_rng(0)
    enh = rng.integers(0, 4, (40, width)).astype(np.int8)
    y = np.zeros(40, int)
    y[:20] = 1
    enh[:20, 4:7] = encode("ACG")                         # positives carry ACG
    enh[20:, 4:7] = encode("TTT")
    prom = rng.integers(0, 4, (40, width)).astype(np.int8)
    before = [w.copy() for w in conv_e.get_weights()]
    out = ablation.kernel_silencing(model, enh, prom, y, [("enhancer", 0), ("enhancer", 1),
                                                          ("promoter", 0)])
    assert list(out.columns) == ["branch", "kernel", "aupr", "aupr_silenced", "delta_aupr"]
    d = out["delta_aupr"].to_numpy()
    assert d[0] < -0.3 and d[1] == 0.0 and d[2] == 0.0
    np.testing.assert_array_equal(conv_e.get_weights()[0], before[0])      # weights restored
