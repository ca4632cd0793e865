"""Tests for speidlib.demo: the synthetic genome, pair tables and their ground truth."""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from speidlib.data.encode import encode, one_hot, reverse_complement
from speidlib.data.jaspar import get_motif, load_motifs, read_meme
from speidlib.demo import synthetic as demo

TINY = dict(n_pairs=420)  # 20 positives, 400 negatives; builds in about a second
NAME = re.compile(r"^(DEMO\d+)\|(chr\d+):(\d+)-(\d+)$")
FILES = ("genome.fa", "genome.fa.fai", "pairs.csv", "planted_motifs.meme", "elements.csv", "demo.json")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return demo.make_demo(tmp_path_factory.mktemp("tiny"), seed=0, **TINY)


@pytest.fixture(scope="module")
def two_cells(tmp_path_factory):
    return demo.make_demo(tmp_path_factory.mktemp("two"), seed=3, n_cell_lines=2, **TINY)


@pytest.fixture(scope="module")
def tiny_tables(tiny):
    """The pair table joined with each element's planted class."""
    pairs = pd.read_csv(tiny.pairs_path())
    elements = pd.read_csv(tiny.elements, keep_default_na=False)
    cls = dict(zip(elements["element"], elements["motif_class"]))
    pairs["enhancer_class"] = [cls[n.split("|")[1]] for n in pairs["enhancer_name"]]
    pairs["promoter_class"] = [cls[n.split("|")[1]] for n in pairs["promoter_name"]]
    return pairs, elements


def _parse(names):
    m = [NAME.match(n) for n in names]
    assert all(m), [n for n, x in zip(names, m) if not x][:3]
    return pd.DataFrame([(x[1], x[2], int(x[3]), int(x[4])) for x in m],
                        columns=["cell", "chrom", "start", "end"])


# --- determinism --------------------------------------------------------------

def test_same_seed_same_bytes_other_seed_differs(tiny, tmp_path):
    again = demo.make_demo(tmp_path / "again", seed=0, **TINY)
    for f in FILES:
        assert (again.outdir / f).read_bytes() == (tiny.outdir / f).read_bytes(), f
    other = demo.make_demo(tmp_path / "other", seed=1, **TINY)
    for f in ("genome.fa", "pairs.csv", "elements.csv"):
        assert (other.outdir / f).read_bytes() != (tiny.outdir / f).read_bytes(), f
    # The ground truth does not depend on the seed.
    assert (other.outdir / "planted_motifs.meme").read_bytes() == (tiny.outdir / "planted_motifs.meme").read_bytes()


def test_load_demo_round_trip(tiny):
    assert demo.load_demo(tiny.outdir) == tiny
    assert tiny.cell_lines == ("DEMO1",)
    assert tiny.pairs_path() == tiny.outdir / "pairs.csv"
    assert tiny.classes_of("DEMO1") == (0, 1, 2, 3)
    assert (tiny.enhancer_window, tiny.promoter_window) == (1000, 1000)
    with pytest.raises(ValueError, match="no cell line 'K562'"):
        tiny.pairs_path("K562")
    with pytest.raises(ValueError, match="does not exist"):
        demo.load_demo(tiny.outdir / "nowhere")


# --- genome -------------------------------------------------------------------

def test_fasta_readable_by_pyfaidx_with_recorded_lengths(tiny, tmp_path):
    desc = json.loads((tiny.outdir / "demo.json").read_text())
    fa = pyfaidx.Fasta(str(tiny.genome))
    assert list(fa.keys()) == ["chr1", "chr2", "chr3", "chr4"]
    assert {k: len(fa[k]) for k in fa.keys()} == desc["chromosomes"]
    # hg19 chr1:chr2:chr3:chr4 proportions (249:243:198:191 Mb), 2 Mb in all at this size.
    assert desc["chromosomes"] == {"chr1": 565266, "chr2": 551645, "chr3": 449489, "chr4": 433598}
    # Our index is byte for byte the one pyfaidx builds itself.
    shutil.copy(tiny.genome, tmp_path / "copy.fa")
    pyfaidx.Faidx(str(tmp_path / "copy.fa"))
    assert (tmp_path / "copy.fa.fai").read_text() == (tiny.outdir / "genome.fa.fai").read_text()
    # A random slice through pyfaidx equals the same slice of the raw text.
    raw = "".join(tiny.genome.read_text().split(">chr2\n")[1].split(">")[0].split())
    assert str(fa["chr2"][123_456:124_000]) == raw[123_456:124_000]


def test_genome_looks_like_a_real_fasta(tiny):
    fa = pyfaidx.Fasta(str(tiny.genome))
    seq = str(fa["chr1"][:])
    assert seq[:5650] == "N" * 5650 and seq[-5650:] == "N" * 5650   # telomeres: 1% of the length
    assert set(seq) == set("ACGTacgtN")
    masked = np.mean([c.islower() for c in seq])
    assert 0.2 < masked < 0.35
    # GC content in 20 kb blocks spreads over the 35-60% range.
    up = seq.upper()
    gc = [(b.count("G") + b.count("C")) / (len(b) - b.count("N"))
          for b in (up[i:i + 20_000] for i in range(20_000, len(up) - 40_000, 20_000))]
    assert 0.33 < min(gc) < 0.45 < max(gc) < 0.62
    assert np.std(gc) > 0.03


def test_elements_fit_windows_do_not_overlap_and_avoid_n(tiny, tiny_tables):
    _, el = tiny_tables
    fa = pyfaidx.Fasta(str(tiny.genome))
    length = el["end"] - el["start"]
    enh, prom = el[el["kind"] == "enhancer"], el[el["kind"] == "promoter"]
    assert (length[enh.index].between(200, 1000)).all() and (length[prom.index].between(500, 1000)).all()
    assert 350 < np.median(length[enh.index]) < 450 and np.median(length[prom.index]) == 1000
    for chrom, g in el.sort_values("start").groupby("chrom"):
        gaps = g["start"].to_numpy()[1:] - g["end"].to_numpy()[:-1]
        assert gaps.min() >= 1000, chrom       # no element reaches into a neighbour's window
        for s, e in zip(g["start"], g["end"]):
            assert "N" not in str(fa[chrom][s - 1000:e + 1000]).upper()


# --- pair tables ----------------------------------------------------------------

def test_pair_table_shape_names_and_labels(tiny):
    pairs = pd.read_csv(tiny.pairs_path())
    assert list(pairs.columns) == ["enhancer_name", "promoter_name", "label"]
    assert pairs["label"].value_counts().to_dict() == {0: 400, 1: 20}
    assert (pairs["label"].to_numpy()[:20] == 1).all()         # positives first, as TargetFinder
    e, p = _parse(pairs["enhancer_name"]), _parse(pairs["promoter_name"])
    sizes = json.loads((tiny.outdir / "demo.json").read_text())["chromosomes"]
    for x in (e, p):
        assert (x["cell"] == "DEMO1").all()
        assert (x["start"] >= 0).all() and (x["start"] < x["end"]).all()
        assert (x["end"] <= x["chrom"].map(sizes)).all()
    assert (e["chrom"] == p["chrom"]).all()
    assert not pairs.duplicated(["enhancer_name", "promoter_name"]).any()


def test_read_pairs_accepts_the_demo_table(tiny):
    from speidlib.data.pairs import read_pairs

    pairs = read_pairs(tiny.pairs_path())
    assert len(pairs) == 420 and pairs["label"].sum() == 20
    assert set(pairs["cell_line"]) == {"DEMO1"}


def test_positives_only_between_compatible_elements(tiny_tables):
    pairs, _ = tiny_tables
    pos, neg = pairs[pairs["label"] == 1], pairs[pairs["label"] == 0]
    assert (pos["enhancer_class"] == pos["promoter_class"]).all()
    assert pos["enhancer_class"].isin([0, 1, 2, 3]).all()
    # Negatives: mostly active, mostly incompatible.
    compatible = (neg["enhancer_class"] == neg["promoter_class"]) & (neg["enhancer_class"] >= 0)
    assert compatible.mean() < 0.06
    assert 0.4 < (neg["enhancer_class"] >= 0).mean() < 0.6
    assert 0.4 < (neg["promoter_class"] >= 0).mean() < 0.6


def test_negatives_are_distance_matched(tiny):
    desc = json.loads((tiny.outdir / "demo.json").read_text())
    assert 0.4 < desc["cell_lines"]["DEMO1"]["oracle_auroc"]["distance"] < 0.6
    pairs = pd.read_csv(tiny.pairs_path())
    e, p = _parse(pairs["enhancer_name"]), _parse(pairs["promoter_name"])
    dist = ((e["start"] + e["end"]) - (p["start"] + p["end"])).abs() / 2
    pos = np.sort(dist[pairs["label"] == 1].to_numpy())
    neg = dist[pairs["label"] == 0].to_numpy()
    # Each negative lies within 10% of some positive's distance (a few need more at this tiny size).
    nearest = np.min(np.abs(np.log(neg[:, None] / pos[None, :])), axis=1)
    assert np.mean(nearest <= 0.1) > 0.9 and np.all(nearest <= 0.8)
    assert desc["distance"]["min"] <= pos.min() and pos.max() <= desc["distance"]["max"]


def test_promoters_reused_more_than_enhancers(tiny):
    pairs = pd.read_csv(tiny.pairs_path())
    per_enhancer = pairs["enhancer_name"].value_counts().mean()
    per_promoter = pairs["promoter_name"].value_counts().mean()
    # K562: 1.40 pairs per enhancer, 5.45 per promoter.
    assert 1.2 < per_enhancer < 1.8 and 4 < per_promoter < 7


# --- planted motifs ---------------------------------------------------------------

def _site_scores(fa, elements, kind, cls):
    motif = get_motif(demo.PLANTED_MOTIFS[cls][0 if kind == "enhancer" else 1])
    pwm, width, scores = motif.pwm(), motif.length, []
    for chrom, sites in elements.loc[(elements["kind"] == kind) & (elements["motif_class"] == cls),
                                     ["chrom", "sites"]].itertuples(index=False):
        for site in sites.split(";"):
            start, strand = int(site[:-2]), site[-1]
            codes = encode(str(fa[chrom][start:start + width]))
            if strand == "-":
                codes = reverse_complement(codes)
            scores.append(float((one_hot(codes) * pwm).sum()))
    return motif, np.array(scores)


@pytest.mark.parametrize("kind", ["enhancer", "promoter"])
def test_recorded_sites_hold_the_planted_motif(tiny, tiny_tables, kind):
    _, el = tiny_tables
    fa = pyfaidx.Fasta(str(tiny.genome))
    for cls in range(4):
        motif, scores = _site_scores(fa, el, kind, cls)
        assert len(scores) > 0
        # Background: the same PWM on every position of inactive elements' windows.
        inactive = el[(el["kind"] == kind) & (el["motif_class"] == -1)].head(20)
        X = one_hot(np.stack([encode(str(fa[c][s:s + 500])) for c, s in zip(inactive["chrom"], inactive["start"])]))
        windows = np.lib.stride_tricks.sliding_window_view(X, (motif.length, 4), axis=(1, 2))[:, :, 0]
        background = np.einsum("nplk,lk->np", windows, motif.pwm())
        assert np.mean(scores > np.quantile(background, 0.999)) > 0.95, motif.name


def test_sites_per_element_and_inside_it(tiny_tables):
    _, el = tiny_tables
    active = el[el["motif_class"] >= 0]
    assert (el.loc[el["motif_class"] < 0, "sites"] == "").all()
    n_sites = active["sites"].str.count(";") + 1
    assert set(n_sites) == {3, 4, 5, 6}
    for start, end, motif_id, sites in active[["start", "end", "motif_id", "sites"]].itertuples(index=False):
        width = get_motif(motif_id).length
        pos = sorted(int(s[:-2]) for s in sites.split(";"))
        assert start <= pos[0] and pos[-1] + width <= end
        assert all(b - a >= width for a, b in zip(pos, pos[1:]))        # copies do not overlap


def test_meme_file_holds_the_jaspar_matrices(tiny):
    motifs = read_meme(tiny.planted_motifs)
    assert [name for name, _ in motifs] == [
        "MA1592.2 ZNF274 enhancer class0", "MA0752.2 ZNF410 promoter class0",
        "MA0776.1 MYBL1 enhancer class1", "MA0506.3 Nrf1 promoter class1",
        "MA1155.1 ZSCAN4 enhancer class2", "MA0749.2 ZBED1 promoter class2",
        "MA0863.1 MTF1 enhancer class3", "MA1718.1 ZNF8 promoter class3",
    ]
    for name, pfm in motifs:
        np.testing.assert_allclose(pfm, get_motif(name.split()[0]).pfm(), atol=5e-7)


def test_planted_motifs_are_distinct_and_unambiguous():
    """The 24 planted motifs are what scripts/choose_demo_motifs.py picks: each is its own
    best Tomtom match among all 879 matrices, far ahead of any other TF's, and no two are alike."""
    import sys
    from pathlib import Path

    from memelite import tomtom

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from choose_demo_motifs import choose

    ids = [m for pair in demo.PLANTED_MOTIFS for m in pair]
    assert len(set(ids)) == 24
    assert [c[0] for c in choose()] == ids
    every = load_motifs()
    column = {m.matrix_id: j for j, m in enumerate(every)}
    pvalues = tomtom([get_motif(i).pfm().T for i in ids], [m.pfm().T for m in every], n_jobs=1)[0]
    for row, i in zip(pvalues, ids):
        name = get_motif(i).name.upper()
        other = min(p for m, p in zip(every, row) if m.name.upper() != name)
        assert row.argmin() == column[i] and other > 1e3 * row[column[i]], i
    among = pvalues[:, [column[i] for i in ids]]
    np.fill_diagonal(among, 1.0)
    assert among.min() > 1e-3
    assert all(12 <= get_motif(i).length <= 20 for i in ids)


# --- oracles ----------------------------------------------------------------------

def test_oracle_aurocs_golden():
    got = demo.oracle_aurocs(label=[1, 1, 0, 0, 0, 0], enhancer_class=[0, 1, 0, 1, -1, -1],
                             promoter_class=[0, 1, 1, 0, 0, -1], compatible_classes=[0, 1],
                             distance=[10, 20, 30, 40, 50, 60])
    assert got == {"enhancer_class": 0.75, "promoter_class": 0.6875, "pair_classes": 1.0,
                   "pair_compatible": 1.0, "distance": 0.0}
    # A class outside the cell line's grammar is not compatible.
    got = demo.oracle_aurocs([1, 0, 0, 0], [0, 2, 1, -1], [0, 2, 0, -1], [0, 1])
    assert got["pair_compatible"] == 1.0
    with pytest.raises(ValueError, match="both 0 and 1"):
        demo.oracle_aurocs([0, 0], [0, 1], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="one length"):
        demo.oracle_aurocs([0, 1], [0, 1, 2], [0, 1], [0, 1])


def test_pair_oracle_far_above_single_element_oracles(tiny, tiny_tables):
    pairs, _ = tiny_tables
    stored = tiny.oracle_auroc["DEMO1"]
    assert stored == demo.oracle_aurocs(pairs["label"], pairs["enhancer_class"], pairs["promoter_class"],
                                        [0, 1, 2, 3], distance=_distances(pairs))
    assert stored["pair_compatible"] > 0.95 and stored["pair_classes"] > 0.95
    assert 0.65 < stored["enhancer_class"] < 0.85 and 0.65 < stored["promoter_class"] < 0.85
    assert stored["pair_compatible"] - max(stored["enhancer_class"], stored["promoter_class"]) > 0.15


def _distances(pairs):
    e, p = _parse(pairs["enhancer_name"]), _parse(pairs["promoter_name"])
    return (((e["start"] + e["end"]) - (p["start"] + p["end"])).abs() // 2).to_numpy()


def test_positive_noise_adds_unexplained_positives(tmp_path):
    info = demo.make_demo(tmp_path, seed=0, positive_noise=0.5, **TINY)
    pairs = pd.read_csv(info.pairs_path())
    el = pd.read_csv(info.elements, keep_default_na=False)
    cls = dict(zip(el["element"], el["motif_class"]))
    pos = pairs[pairs["label"] == 1]
    ce = pos["enhancer_name"].str.split("|").str[1].map(cls)
    cp = pos["promoter_name"].str.split("|").str[1].map(cls)
    assert 6 <= ((ce != cp) | (ce < 0)).sum() <= 10          # 10 drawn like negatives
    assert info.oracle_auroc["DEMO1"]["pair_compatible"] < 0.85


# --- cell lines -------------------------------------------------------------------

def test_cell_lines_share_some_classes_and_differ_in_others(two_cells):
    assert two_cells.cell_lines == ("DEMO1", "DEMO2")
    assert not (two_cells.outdir / "pairs.csv").exists()
    assert two_cells.pairs_path("DEMO2") == two_cells.outdir / "pairs_DEMO2.csv"
    assert two_cells.classes_of("DEMO1") == (0, 1, 2, 3)
    assert two_cells.classes_of("DEMO2") == (0, 1, 4, 5)
    assert len(read_meme(two_cells.planted_motifs)) == 12
    el = pd.read_csv(two_cells.elements, keep_default_na=False)
    cls = dict(zip(el["element"], el["motif_class"]))
    for cell in two_cells.cell_lines:
        pairs = pd.read_csv(two_cells.pairs_path(cell))
        assert _parse(pairs["enhancer_name"])["cell"].eq(cell).all()
        pos = pairs[pairs["label"] == 1]
        ce = pos["enhancer_name"].str.split("|").str[1].map(cls)
        cp = pos["promoter_name"].str.split("|").str[1].map(cls)
        assert (ce == cp).all() and set(ce) == set(two_cells.classes_of(cell))
        assert two_cells.oracle_auroc[cell]["pair_compatible"] > 0.95
    with pytest.raises(ValueError, match="name one"):
        two_cells.pairs_path()


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_classes=1), "at least 2"),
    (dict(n_cell_lines=6), "need 14 classes"),
    (dict(n_pairs=30), "n_pairs must be at least 42"),
    (dict(n_shared_classes=5), "n_shared_classes"),
    (dict(positive_noise=1.5), "positive_noise must lie in 0..1"),
    (dict(motif_copies=(3, 2)), "motif_copies"),
    (dict(n_chromosomes=23), "n_chromosomes"),
])
def test_bad_arguments_raise(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        demo.make_demo(tmp_path, **({"n_pairs": 420} | kwargs))
    assert not any(tmp_path.iterdir())


def test_demo_data_plants_one_copy_per_element_when_asked(tmp_path, capsys):
    """`speid demo-data --motif-copies 1 1`: every active element carries exactly one site (the
    grammar of docs/variants.md's single-copy measure); the default carries 3-6."""
    from speidlib.app.cli import main

    for copies, lo, hi in (([], 3, 6), (["--motif-copies", "1", "1"], 1, 1)):
        out = tmp_path / f"d{lo}{hi}"
        assert main(["demo-data", str(out), "--pairs-per-cell", "420", *copies]) == 0
        elements = pd.read_csv(out / "elements.csv", keep_default_na=False)
        n = elements["sites"][elements["sites"] != ""].str.count(";") + 1
        assert len(n) and n.min() == lo and n.max() == hi
        assert json.loads((out / "demo.json").read_text())["parameters"]["motif_copies"] == [lo, hi]
    assert main(["demo-data", str(tmp_path / "bad"), "--motif-copies", "2", "1"]) == 2
    assert "motif_copies" in capsys.readouterr().err
