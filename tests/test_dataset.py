import json

import h5py
import numpy as np
import pytest

from speidlib import schema
from speidlib.data.batches import PairBatches
from speidlib.data.dataset import Dataset, PrepareConfig, prepare
from speidlib.data.encode import one_hot
from speidlib.data.genome import Genome

W_E, W_P, N_AUG = 60, 40, 5


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-chromosome genome and 48 pairs (12 positive) in TargetFinder shape."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    chroms = {"chr1": 3000, "chr2": 2500}
    with open(root / "g.fa", "w") as fh:
        for c, n in chroms.items():
            seq = "".join(rng.choice(list("ACGTacgt"), n))
            fh.write(f">{c}\n" + "\n".join(seq[i:i + 60] for i in range(0, n, 60)) + "\n")
    rows = ["enhancer_name,promoter_name,label"]
    for i in range(48):
        c = "chr1" if i % 2 else "chr2"
        es = 10 + 37 * i % 2200          # some enhancers sit at the chromosome start
        el = [20, 50, 90][i % 3]         # 90 > W_E: sampled inside the element
        ps = 2300 + (i % 4) * 30         # promoters reused across pairs
        rows.append(f"T|{c}:{es}-{es + el},T|{c}:{ps}-{ps + 30},{int(i % 4 == 0)}")
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    run = root / "run"
    cfg = PrepareConfig(pairs=str(root / "pairs.csv"), genome=str(root / "g.fa"),
                        enhancer_window=W_E, promoter_window=W_P, augment=N_AUG, seed=3)
    prepare(cfg, run, progress=False)
    return root, run


def test_spans_hold_the_genome_and_default_windows_are_centred(tiny):
    root, run = tiny
    ds = Dataset(run)
    g = Genome(root / "g.fa")
    e = ds.elements["enhancer"]
    for i in range(len(e)):
        span = g.fetch(e.chrom[i], int(e.span_start[i]), int(e.span_start[i]) + 2 * W_E)
        np.testing.assert_array_equal(ds.enhancer_codes[i], span)
        w = ds.windows("enhancer", [i])[0]
        start = int(e.span_start[i] + ds.default_offset["enhancer"][i])
        np.testing.assert_array_equal(w, g.fetch(e.chrom[i], start, start + W_E))
        if e.end[i] - e.start[i] <= W_E:
            assert start == (e.start[i] + e.end[i]) // 2 - W_E // 2
        else:
            assert e.start[i] <= start and start + W_E <= e.end[i]


def test_augmentation_only_for_train_and_valid_positives_and_keeps_elements(tiny):
    _, run = tiny
    ds = Dataset(run)
    pos = np.flatnonzero((ds.label == 1) & (ds.split_code != schema.SPLIT_CODES["test"]))
    assert len(ds.augment_pair) == N_AUG * len(pos)
    np.testing.assert_array_equal(np.unique(ds.augment_pair), pos)
    for branch, idx in (("enhancer", ds.enhancer_index), ("promoter", ds.promoter_index)):
        el = ds.elements[branch]
        w = ds.window(branch)
        k = idx[ds.augment_pair]
        start = el.span_start.to_numpy()[k] + ds.augment_offset[branch]
        short = (el.end - el.start).to_numpy()[k] <= w
        inside = np.where(short, (start <= el.start.to_numpy()[k]) & (start + w >= el.end.to_numpy()[k]),
                          (start >= el.start.to_numpy()[k]) & (start + w <= el.end.to_numpy()[k]))
        assert inside.all()
    assert len(np.unique(ds.augment_offset["enhancer"])) > 3  # shifts really vary


def test_balanced_and_original_batches(tiny):
    _, run = tiny
    ds = Dataset(run)
    train = ds.split_index("train")
    n_neg, n_pos = int((ds.label[train] == 0).sum()), int(ds.label[train].sum())
    bal = PairBatches(ds, "train", balanced=True, batch_size=7, seed=1)
    assert len(bal.label) == n_neg + N_AUG * n_pos
    (xe, xp), y = bal[0]
    assert xe.shape == (7, W_E, 4) and xp.shape == (7, W_P, 4) and y.shape == (7,)
    assert xe.dtype == np.float32 and set(np.unique(xe)) <= {0.0, 1.0}
    orig = PairBatches(ds, "train", balanced=False, batch_size=100, shuffle=False)
    (xe, xp), y = orig[0]
    np.testing.assert_array_equal(y, ds.label[train])
    np.testing.assert_array_equal(xe, one_hot(ds.windows("enhancer", ds.enhancer_index[train])))


def test_batches_reshuffle_every_epoch_and_are_seeded(tiny):
    _, run = tiny
    ds = Dataset(run)
    a = PairBatches(ds, "train", balanced=True, batch_size=10, seed=4)
    b = PairBatches(ds, "train", balanced=True, batch_size=10, seed=4)
    first = a.order.copy()
    np.testing.assert_array_equal(first, b.order)
    a.on_epoch_end()
    assert not np.array_equal(first, a.order)
    assert sorted(first) == sorted(a.order)


def test_matched_negatives_balance_each_epoch_and_are_redrawn(tiny, tmp_path):
    root, _ = tiny
    run = tmp_path / "aug1"
    prepare(PrepareConfig(pairs=str(root / "pairs.csv"), genome=str(root / "g.fa"), enhancer_window=W_E,
                          promoter_window=W_P, augment=1, seed=3), run, progress=False)
    ds = Dataset(run)
    train = ds.split_index("train")
    n_pos = int(ds.label[train].sum())
    negatives = set(train[ds.label[train] == 0])
    assert len(negatives) > n_pos
    b = PairBatches(ds, "train", balanced=True, batch_size=4, seed=2, negatives="match")
    drawn = []
    for _ in range(3):
        y = b.labels
        assert len(y) == 2 * n_pos and y.sum() == n_pos
        neg = b.pair_index[b.order][y == 0]
        assert len(set(neg)) == n_pos and set(neg) <= negatives      # no repeats, only this split's
        drawn.append(sorted(neg))
        b.on_epoch_end()
    assert drawn[0] != drawn[1] or drawn[1] != drawn[2]               # a new draw each epoch
    fixed = PairBatches(ds, "train", balanced=True, batch_size=4, seed=2, negatives="match", shuffle=False)
    first = fixed.order.copy()
    fixed.on_epoch_end()
    np.testing.assert_array_equal(first, fixed.order)                 # validation: one fixed draw
    with pytest.raises(ValueError, match="negatives must be one of"):
        PairBatches(ds, "train", negatives="some")


def test_zero_branch_feeds_zeros(tiny):
    ds = Dataset(tiny[1])
    (xe, xp), _ = PairBatches(ds, "train", zero_branch="promoter", batch_size=5)[0]
    assert xp.sum() == 0 and xe.sum() == 5 * W_E - (xe.sum(-1) == 0).sum()


def test_storage_is_at_least_4x_smaller_than_float_one_hot(tiny):
    _, run = tiny
    ds = Dataset(run)
    stored = ds.enhancer_codes.nbytes + ds.promoter_codes.nbytes
    n = sum(len(ds.examples(s, balanced=True)[0]) for s in ("train", "valid", "test"))
    float_copy = n * (W_E + W_P) * 4 * 4
    assert float_copy / stored >= 4


def test_config_records_parameters_versions_and_checksums(tiny):
    root, run = tiny
    cfg = json.loads((run / schema.CONFIG_FILE).read_text())
    p = cfg["prepare"]
    assert p["enhancer_window"] == W_E and p["augment"] == N_AUG and p["seed"] == 3
    assert len(p["pairs_sha256"]) == 64 and len(p["genome_sha256"]) == 64
    assert cfg["versions"]["h5py"] == h5py.__version__
    assert p["summary"]["n_pairs"] == 48
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*tmp"))


def test_prepare_is_seeded(tiny, tmp_path):
    root, run = tiny
    cfg = PrepareConfig(pairs=str(root / "pairs.csv"), genome=str(root / "g.fa"),
                        enhancer_window=W_E, promoter_window=W_P, augment=N_AUG, seed=3)
    prepare(cfg, tmp_path / "again", progress=False)
    a, b = Dataset(run), Dataset(tmp_path / "again")
    np.testing.assert_array_equal(a.split_code, b.split_code)
    np.testing.assert_array_equal(a.augment_offset["enhancer"], b.augment_offset["enhancer"])


def test_failed_prepare_leaves_the_previous_dataset_intact(tiny, tmp_path):
    root, run = tiny
    bad = tmp_path / "bad.csv"
    bad.write_text("enhancer_name,promoter_name,label\nT|chr9:10-50,T|chr9:100-130,1\n")
    before = (run / schema.DATASET_FILE).read_bytes()
    cfg = PrepareConfig(pairs=str(bad), genome=str(root / "g.fa"), enhancer_window=W_E,
                        promoter_window=W_P)
    with pytest.raises(ValueError, match="chr9"):
        prepare(cfg, run, progress=False, overwrite=True)
    assert (run / schema.DATASET_FILE).read_bytes() == before
    assert Dataset(run).label.shape == (48,)


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="speid prepare"):
        Dataset(tmp_path)


def test_shift_negatives_redraws_negative_windows_inside_bounds(tiny):
    ds = Dataset(tiny[1])
    a = PairBatches(ds, "train", balanced=True, batch_size=10, seed=2, shift_negatives=True)
    neg = a.label == 0
    first = a.e_off[neg].copy()
    a.on_epoch_end()
    assert not np.array_equal(first, a.e_off[neg])
    el = ds.elements["enhancer"]
    idx = ds.enhancer_index[a.pair_index[neg]]
    assert (a.e_off[neg] >= el.min_offset.to_numpy()[idx]).all()
    assert (a.e_off[neg] <= el.max_offset.to_numpy()[idx]).all()
    plain = PairBatches(ds, "train", balanced=True, batch_size=10, seed=2)
    np.testing.assert_array_equal(plain.e_off[neg], ds.default_offset["enhancer"][idx])
    # positives keep their stored augmentation shifts
    np.testing.assert_array_equal(a.e_off[~neg], plain.e_off[~neg])


def _windows_of(batches, i):
    """Codes of batch i's enhancer and promoter windows, shape=(b, W)."""
    from speidlib.data.encode import from_one_hot

    (xe, xp), y = batches[i]
    return from_one_hot(xe), from_one_hot(xp), y


def test_data_efficiency_options_off_leave_the_batches_unchanged(tiny):
    ds = Dataset(tiny[1])
    a = PairBatches(ds, "train", balanced=True, batch_size=7, seed=1, shift_negatives=True, negatives="match")
    b = PairBatches(ds, "train", balanced=True, batch_size=7, seed=1, shift_negatives=True, negatives="match",
                    rc_augment=False, redraw_shifts=False, epoch_examples=None)
    for _ in range(2):
        for i in range(len(a)):
            for u, v in zip(_windows_of(a, i), _windows_of(b, i)):
                np.testing.assert_array_equal(u, v)
        a.on_epoch_end()
        b.on_epoch_end()


def test_rc_augment_flips_about_half_the_windows_and_nothing_else(tiny):
    from speidlib.data.encode import reverse_complement

    ds = Dataset(tiny[1])
    kw = dict(balanced=True, batch_size=1000, seed=5, negatives="match")
    plain, rc = PairBatches(ds, "train", **kw), PairBatches(ds, "train", rc_augment=True, **kw)
    np.testing.assert_array_equal(plain.order, rc.order)   # its own generator: same draw of examples
    pe, pp, py = _windows_of(plain, 0)
    re_, rp, ry = _windows_of(rc, 0)
    np.testing.assert_array_equal(py, ry)
    for p, r, flips in ((pe, re_, rc._slot_rc[0]), (pp, rp, rc._slot_rc[1])):
        np.testing.assert_array_equal(r[flips], reverse_complement(p[flips]))
        np.testing.assert_array_equal(r[~flips], p[~flips])
    assert 0.2 < rc._slot_rc.mean() < 0.8
    valid = PairBatches(ds, "valid", shuffle=False, rc_augment=True, **kw)   # never in validation
    np.testing.assert_array_equal(_windows_of(valid, 0)[0],
                                  _windows_of(PairBatches(ds, "valid", shuffle=False, **kw), 0)[0])


def test_redraw_shifts_gives_positive_copies_new_windows_inside_bounds(tiny):
    ds = Dataset(tiny[1])
    b = PairBatches(ds, "train", balanced=True, batch_size=10, seed=2, redraw_shifts=True)
    first = [o.copy() for o in b._slot_off]
    b.on_epoch_end()
    assert not np.array_equal(first[0], b._slot_off[0])
    for k, (branch, idx) in enumerate((("enhancer", ds.enhancer_index), ("promoter", ds.promoter_index))):
        el = ds.elements[branch]
        elem = idx[b.pair_index[b.order]]
        assert (b._slot_off[k] >= el.min_offset.to_numpy()[elem]).all()
        assert (b._slot_off[k] <= el.max_offset.to_numpy()[elem]).all()


def test_epoch_examples_sets_a_floor_of_balanced_examples(tiny):
    ds = Dataset(tiny[1])
    plain = PairBatches(ds, "train", balanced=True, batch_size=8, seed=2, negatives="match")
    n_copies = int((plain.labels == 1).sum())
    b = PairBatches(ds, "train", balanced=True, batch_size=8, seed=2, negatives="match", epoch_examples=101)
    assert len(b.order) == 102 and (b.labels == 1).sum() == 51
    # every positive copy is drawn before any is drawn again
    pos_rows = b.order[b.label[b.order] == 1]
    assert len(np.unique(pos_rows)) == min(51, n_copies)
    small = PairBatches(ds, "train", balanced=True, batch_size=8, seed=2, negatives="match", epoch_examples=4)
    assert len(small.order) == 2 * n_copies   # a floor, never fewer than one pass
    with pytest.raises(ValueError, match="epoch_examples"):
        PairBatches(ds, "train", negatives="match", epoch_examples=0)


@pytest.fixture(scope="module")
def varied(tiny, tmp_path_factory):
    """The tiny genome with 60 pairs whose positives have several promoters."""
    root = tiny[0]
    rows = ["enhancer_name,promoter_name,label"]
    for i in range(60):
        c = "chr1" if i % 2 else "chr2"
        es, ps = 10 + 37 * i % 2200, 2300 + (i % 6) * 30
        rows.append(f"T|{c}:{es}-{es + 40},T|{c}:{ps}-{ps + 30},{int(i % 4 == 0)}")
    table = tmp_path_factory.mktemp("varied") / "pairs.csv"
    table.write_text("\n".join(rows) + "\n")
    run = table.parent / "run"
    prepare(PrepareConfig(pairs=str(table), genome=str(root / "g.fa"), enhancer_window=W_E,
                          promoter_window=W_P, augment=2, seed=3), run, progress=False)
    return Dataset(run)


def test_swap_negatives_pairs_positive_elements_with_other_partners(varied):
    ds = varied
    kw = dict(balanced=True, batch_size=1000, seed=3, negatives="match", epoch_examples=400)
    b = PairBatches(ds, "train", swap_negatives=0.5, **kw)
    pos_pairs = np.unique(b.pair_index[b.label == 1])
    enh_pos, prom_pos = set(ds.enhancer_index[pos_pairs]), set(ds.promoter_index[pos_pairs])
    known = set(zip(ds.enhancer_index[ds.label == 1], ds.promoter_index[ds.label == 1]))
    orig_e = ds.enhancer_index[b.pair_index[b.order]]
    orig_p = ds.promoter_index[b.pair_index[b.order]]
    swapped = (b._slot_elem[0] != orig_e) | (b._slot_elem[1] != orig_p)
    neg = b._slot_label == 0
    assert swapped.sum() > 0.2 * neg.sum()   # half the negatives, less swaps that gave a known positive
    assert not swapped[~neg].any()                      # positives are never swapped
    for e, p in zip(b._slot_elem[0][swapped], b._slot_elem[1][swapped]):
        assert e in enh_pos and p in prom_pos and (e, p) not in known
    (xe, _), y = b[0]
    assert (y[swapped[:len(y)]] == 0).all()
    assert (b._slot_label == 1).sum() == 200          # the balance is kept
    with pytest.raises(ValueError, match="swap_negatives"):
        PairBatches(ds, "train", swap_negatives=1.5)
