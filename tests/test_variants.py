"""speid variants: VCF in, (variant, pair) effects out; bad input refused in one located line."""
import gzip
import shutil
import subprocess

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pysam  # noqa: E402
import pytest  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.app.cli import main  # noqa: E402
from speidlib.data.candidates import write_candidates  # noqa: E402
from speidlib.data.encode import encode  # noqa: E402
from speidlib.data.vcf import read_vcf  # noqa: E402
from speidlib.interpret import variants as variants_module  # noqa: E402
from speidlib.interpret.variant_run import run_ism, run_variants  # noqa: E402
from speidlib.interpret.variants import VARIANT_EFFECT_COLUMNS, window_starts  # noqa: E402
from speidlib.model.build import build_model  # noqa: E402
from speidlib.model.presets import get_config  # noqa: E402
from speidlib.rundir import write_config  # noqa: E402
from speidlib.score.pairs import score_pairs_naive  # noqa: E402
from speidlib.score.run import run_score  # noqa: E402

WE = WP = 120
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chrA>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A run with an untrained cpu model (strong kernels), a genome, candidate pairs and its windows.
    The model pools in 20-bp steps (``cpu_v2``'s pooling), so which bases reach a pool depends on
    their position (``test_ism_command_writes_the_map``); the preset's whole-window pooling is
    checked in ``tests/test_ism.py``."""
    root = tmp_path_factory.mktemp("variants")
    rng = np.random.default_rng(11)
    model = build_model(get_config("cpu").replace(global_pool=False), WE, WP, jaspar_init=False, seed=4)
    for name in (schema.ENHANCER_CONV, schema.PROMOTER_CONV):
        k, b = model.get_layer(name).get_weights()
        model.get_layer(name).set_weights([k * 8, b])
    run = root / "run"
    run.mkdir()
    model.save(run / schema.MODEL_FILE)
    write_config(run, "prepare", {"seed": 0, "cell_line": "TOY"})
    seq = "".join(rng.choice(list("ACGT"), 6_000))
    (root / "g.fa").write_text(f">chrA\n{seq}\n>chrB\n{'ACGT' * 500}\n")
    enh = pd.DataFrame({"c": "chrA", "s": [500, 1500, 3000], "e": [700, 1600, 3150], "n": ["e0", "e1", "e2"]})
    prom = pd.DataFrame({"c": "chrA", "s": [1000, 2200, 4000], "e": [1001, 2201, 4001], "n": ["p0", "p1", "p2"]})
    enh.to_csv(root / "enh.bed", sep="\t", header=False, index=False)
    prom.to_csv(root / "prom.bed", sep="\t", header=False, index=False)
    write_candidates(root / "enh.bed", root / "prom.bed", root / "pairs.bedpe", 10_000)
    run_score(run, root / "pairs.bedpe", root / "g.fa", root / "scores.csv", progress=False)
    starts = {"e1": int(window_starts(pd.DataFrame({"start": [1500], "end": [1600]}), "chrA", WE, 0)[0]),
              "p1": int(window_starts(pd.DataFrame({"start": [2200], "end": [2201]}), "chrA", WP, 0)[0])}
    return {"root": root, "run": run, "model": model, "seq": seq, "starts": starts}


def _vcf(path, body: str, header: str = HEADER):
    path.write_text(header + body)
    return path


def _alt(seq, start, window, pos1, ref, alt):
    """The window at ``start`` with the variant applied, left-anchored (written out independently)."""
    s = seq[start:pos1 - 1] + alt + seq[pos1 - 1 + len(ref):]
    return s[:window]


def test_effects_match_the_whole_model_with_the_variant_applied(toy, monkeypatch):
    root, seq, st = toy["root"], toy["seq"], toy["starts"]
    e1 = st["e1"]
    snvs = [(e1 + 10 + 3 * i, seq[e1 + 9 + 3 * i], "ACGT"[(i + 1) % 4]) for i in range(20)]
    snvs = [(p, r, a if a != r else "ACGT"[("ACGT".index(r) + 1) % 4]) for p, r, a in snvs]
    p1 = st["p1"]
    lines = [f"chrA\t{p}\tsnv{i}\t{r}\t{a}\t.\t.\t." for i, (p, r, a) in enumerate(snvs)]
    ins_pos, del_pos = p1 + 40, e1 + 60
    lines += [f"chrA\t{ins_pos}\tins\t{seq[ins_pos - 1]}\t{seq[ins_pos - 1]}TTG\t.\t.\t.",
              f"chrA\t{del_pos}\tdel\t{seq[del_pos - 1:del_pos + 4]}\t{seq[del_pos - 1]}\t.\t.\t.",
              f"chrA\t{p1 + 5}\tmulti\t{seq[p1 + 4]}\t{','.join('ACGT'.replace(seq[p1 + 4], '')[:2])}\t.\t.\t.",
              f"chrA\t5900\tfar\t{seq[5899]}\t*\t.\t.\t.",
              f"chrA\t5950\tnowhere\t{seq[5949]}\tN\t.\t.\t.",
              f"chrA\t{e1 + 20}\tlong\t{seq[e1 + 19]}\t{seq[e1 + 19]}{'A' * 60}\t.\t.\t.",
              f"chrA\t{e1 + WE - 1}\tedge\t{seq[e1 + WE - 2:e1 + WE + 2]}\t{seq[e1 + WE - 2]}\t.\t.\t."]
    vcf = _vcf(root / "v.vcf", "\n".join(lines) + "\n")
    calls = []
    real = variants_module.FastISM.score_mutants
    monkeypatch.setattr(variants_module.FastISM, "score_mutants",
                        lambda self, *a, **k: calls.append(len(a[3])) or real(self, *a, **k))
    info = run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "out.tsv")
    t = pd.read_csv(root / "out.tsv", sep="\t")
    assert list(t.columns) == VARIANT_EFFECT_COLUMNS
    assert calls and max(calls) >= 16                   # the 20 SNVs in e1 with one promoter: fast path
    scores = pd.read_csv(root / "scores.csv")
    ref = {(r.enhancer_name, r.promoter_name): r.score for r in scores.itertuples()}
    np.testing.assert_allclose(t["ref_score"], [ref[k] for k in zip(t.enhancer_name, t.promoter_name)], atol=1e-5)
    # every row against the whole model on windows written out here (the reference windows
    # are those of speid score: the ref scores above agree)
    win = {}
    model = toy["model"]
    starts = {f"chrA:{s}-{e}": int(window_starts(pd.DataFrame({"start": [s], "end": [e]}), "chrA", WE, 0)[0])
              for s, e in ((500, 700), (1500, 1600), (3000, 3150), (1000, 1001), (2200, 2201), (4000, 4001))}
    for r in t.itertuples():
        es, ps = starts[r.enhancer], starts[r.promoter]
        ew, pw = seq[es:es + WE], seq[ps:ps + WP]
        if r.branch in ("enhancer", "both"):
            ew = _alt(seq, es, WE, r.pos, r.ref, r.alt)
        if r.branch in ("promoter", "both"):
            pw = _alt(seq, ps, WP, r.pos, r.ref, r.alt)
        want = score_pairs_naive(model, encode(ew)[None], encode(pw)[None], [0], [0])[0]
        assert r.alt_score == pytest.approx(want, abs=1e-5), r
        assert r.delta == pytest.approx(r.alt_score - r.ref_score, abs=2e-6)
        win[r.id] = r.branch
    assert {"ins", "del", "snv0"} <= set(t["id"]) and win["ins"] == "promoter" and win["del"] == "enhancer"
    assert set(t.loc[t.id == "multi", "alt"]) == set("ACGT".replace(seq[st["p1"] + 4], "")[:2])
    assert t["delta"].abs().max() > 1e-3
    # ranks: before = speid score's rank; after = rank with the variant's scores in place
    before = {(r.enhancer_name, r.promoter_name): r.enhancer_rank for r in scores.itertuples()}
    assert [before[k] for k in zip(t.enhancer_name, t.promoter_name)] == t["enhancer_rank_before"].tolist()
    for _, g in t.groupby(["id", "alt", "enhancer_name"]):
        cands = scores[scores.enhancer_name == g.enhancer_name.iat[0]].set_index("promoter_name")["score"].copy()
        cands[g.promoter_name.to_numpy()] = g.alt_score.to_numpy()
        for r in g.itertuples():
            assert r.enhancer_rank_after == 1 + int((cands > r.alt_score).sum())
    assert info["not_scored"] == {"in no window": 1, "indel too long": 1, "across a window edge": 1}
    assert info["skipped"] == {"ALT *": 1} and info["n_variants"] == len(lines)  # +1 ALT of multi, -1 ALT *


def test_vcf_output_declares_its_info_and_reads_back(toy):
    root, seq, st = toy["root"], toy["seq"], toy["starts"]
    e1 = st["e1"]
    body = (f"chrA\t{e1 + 30}\trs1\t{seq[e1 + 29]}\t{'ACGT'.replace(seq[e1 + 29], '')[0]}\t.\t.\t.\n"
            f"chrA\t5950\trs2\t{seq[5949]}\tN\t.\t.\t.\n")
    vcf = _vcf(root / "small.vcf", body)
    run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "small.tsv")
    run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "small.vcf.gz")
    t = pd.read_csv(root / "small.tsv", sep="\t")
    with pysam.VariantFile(str(root / "small.vcf.gz")) as f:
        assert {"SPEID_DELTA", "SPEID_RANK_AFTER", "SPEID_STATUS"} <= set(f.header.info)
        recs = list(f)
    assert [r.id for r in recs] == ["rs1", "rs2"]
    assert recs[0].info["SPEID_N"] == len(t) > 0 and recs[0].info["SPEID_STATUS"] == "scored"
    np.testing.assert_allclose(recs[0].info["SPEID_DELTA"], t["delta"], atol=1e-5)
    assert list(recs[0].info["SPEID_RANK_AFTER"]) == t["enhancer_rank_after"].tolist()
    assert recs[1].info["SPEID_N"] == 0 and recs[1].info["SPEID_STATUS"] == "in_no_window"
    if shutil.which("bcftools") is None:     # scripts/setup.sh --system installs it (make test)
        pytest.skip("bcftools is not installed: the pysam read-back above ran, the bcftools one did not")
    query = subprocess.run(["bcftools", "query", "-f", "%ID\t%INFO/SPEID_N\t%INFO/SPEID_DELTA\n",
                            str(root / "small.vcf.gz")], capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in query.stdout.splitlines()]
    assert [r[:2] for r in rows] == [["rs1", str(len(t))], ["rs2", "0"]]
    np.testing.assert_allclose([float(x) for x in rows[0][2].split(",")], t["delta"], atol=1e-5)


def test_ism_command_writes_the_map(toy):
    root = toy["root"]
    info = run_ism(toy["run"], "chrA:1500-1600", "TOY|chrA:2200-2201", root / "map.tsv", genome_path=root / "g.fa")
    t = pd.read_csv(root / "map.tsv", sep="\t")
    assert len(t) == WE + WP and info["n_mutants"] == 3 * (WE + WP)
    reach = (WE - 19) // 20 * 20 + 19              # cpu: kernel 20, pool 20; later bases reach no pool
    zeros = (t[list("ACGT")].to_numpy() == 0).sum(axis=1)
    assert (zeros[t.offset < reach] == 1).all() and (zeros[t.offset >= reach] == 4).all()
    st = toy["starts"]["e1"]
    assert t["pos"].iat[0] == st + 1 and t["ref"].iat[0] == toy["seq"][st]
    run_ism(toy["run"], "chrA:1500-1600", "chrA:2200-2201", root / "map.npz", genome_path=root / "g.fa")
    with np.load(root / "map.npz") as z:
        np.testing.assert_allclose(z["enhancer"][:, 0], t["A"][:WE], atol=1e-5)


BAD = {
    "ref_mismatch": (HEADER + "chrA\t{pos}\trsX\t{wrong}\tA\t.\t.\t.\n", "line 4: REF {wrong} of chrA:{pos} (rsX) disagrees"),
    "chrom_names": ("##fileformat=VCFv4.2\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                    "1\t100\t.\tA\tC\t.\t.\t.\n", "names chromosomes 1, the genome"),
    "symbolic": (HEADER + "chrA\t100\t.\tA\t<DEL>\t.\t.\tSVTYPE=DEL\n", "line 4: symbolic ALT allele '<DEL>'"),
    "no_header": ("chrA\t100\t.\tA\tC\t.\t.\t.\n", "line 1: not a VCF header"),
    "malformed": (HEADER + "chrA\t1x0\t.\tA\tC\t.\t.\t.\n", "line 4: POS '1x0' is not a positive integer"),
    "few_columns": (HEADER + "chrA\t100\t.\tA\n", "line 4: 4 tab-separated columns"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_located_line_and_nothing_is_written(toy, case, capsys):
    root, seq = toy["root"], toy["seq"]
    pos = 2000
    wrong = "ACGT".replace(seq[pos - 1], "")[0]
    text, message = BAD[case]
    vcf = root / f"bad_{case}.vcf"
    vcf.write_text(text.format(pos=pos, wrong=wrong))
    out = root / f"bad_{case}.tsv"
    rc = main(["variants", str(toy["run"]), "--vcf", str(vcf), "--pairs", str(root / "pairs.bedpe"),
               "--genome", str(root / "g.fa"), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and str(vcf) in err, err
    assert message.format(pos=pos, wrong=wrong) in err, err
    assert not out.exists() and not list(root.glob(f".bad_{case}.tsv*"))


def test_truncated_bgzip_and_skip_ref_mismatch(toy, capsys):
    root, seq = toy["root"], toy["seq"]
    body = "".join(f"chrA\t{p}\t.\t{seq[p - 1]}\t{'ACGT'.replace(seq[p - 1], '')[0]}\t.\t.\t.\n"
                   for p in range(100, 5000, 7))
    plain = _vcf(root / "many.vcf", body)
    pysam.tabix_compress(str(plain), str(root / "many.vcf.gz"), force=True)
    data = (root / "many.vcf.gz").read_bytes()
    (root / "cut.vcf.gz").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        read_vcf(root / "cut.vcf.gz")
    assert len(read_vcf(root / "many.vcf.gz").table) == len(body.splitlines())
    with gzip.open(root / "many.vcf.gz", "rt") as f:      # bgzip is gzip: the same text back
        assert f.read() == plain.read_text()
    wrong = "ACGT".replace(seq[2999], "")[0]
    _vcf(root / "mixed.vcf", f"chrA\t3000\tbad\t{wrong}\tA\t.\t.\t.\n" + body.splitlines()[0] + "\n")
    rc = main(["variants", str(toy["run"]), "--vcf", str(root / "mixed.vcf"), "--pairs", str(root / "pairs.bedpe"),
               "--genome", str(root / "g.fa"), "--out", str(root / "mixed.tsv"), "--skip-ref-mismatch", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "1 REF mismatches skipped" in out and f"chrA:3000 {wrong}>A" in out


def test_one_chromosome_at_a_time(toy):
    """--chromosomes: a per-chromosome job keeps only its own variants and pairs; an empty part
    is a header (the workflow's gather joins the parts)."""
    root, seq, st = toy["root"], toy["seq"], toy["starts"]
    e1 = st["e1"]
    body = (f"chrA\t{e1 + 30}\trs1\t{seq[e1 + 29]}\t{'ACGT'.replace(seq[e1 + 29], '')[0]}\t.\t.\t.\n"
            "chrB\t50\trs2\tC\tA\t.\t.\t.\n")
    vcf = _vcf(root / "two.vcf", body, HEADER.replace("##contig=<ID=chrA>", "##contig=<ID=chrA>\n##contig=<ID=chrB>"))
    whole = run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "whole.tsv")
    a = run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "a.tsv", chromosomes=["chrA"])
    b = run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "b.tsv", chromosomes=["chrB"])
    assert whole["n_variants"] == 2 and a["n_variants"] == 1 and b["n_variants"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(root / "a.tsv", sep="\t"), pd.read_csv(root / "whole.tsv", sep="\t"))
    empty = pd.read_csv(root / "b.tsv", sep="\t")
    assert list(empty.columns) == VARIANT_EFFECT_COLUMNS and len(empty) == 0


def test_no_cache_scores_the_same_rows_through_the_whole_model(toy):
    root, seq, st = toy["root"], toy["seq"], toy["starts"]
    e1, p1 = st["e1"], st["p1"]
    body = "".join(f"chrA\t{p}\t.\t{seq[p - 1]}\t{'ACGT'.replace(seq[p - 1], '')[0]}\t.\t.\t.\n"
                   for p in sorted([*range(e1 + 5, e1 + 105, 5), p1 + 7, p1 + 50]))
    vcf = _vcf(root / "nc.vcf", body)
    run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "c.tsv")
    run_variants(toy["run"], vcf, root / "pairs.bedpe", root / "g.fa", root / "n.tsv", cache=False)
    c, n = pd.read_csv(root / "c.tsv", sep="\t"), pd.read_csv(root / "n.tsv", sep="\t")
    assert len(c) == len(n) > 20
    np.testing.assert_allclose(c["alt_score"], n["alt_score"], atol=1e-5)
    assert (c["enhancer_rank_after"] == n["enhancer_rank_after"]).all()


def test_bcf_reads_like_its_vcf(toy):
    """BCF input: the same variants as the text VCF it was converted from (record numbers for lines)."""
    root, seq = toy["root"], toy["seq"]
    body = "".join(f"chrA\t{p}\tv{p}\t{seq[p - 1]}\t{'ACGT'.replace(seq[p - 1], '')[0]},T\t.\t.\t.\n"
                   for p in range(100, 600, 50) if seq[p - 1] != "T")
    plain = _vcf(root / "conv.vcf", body)
    with pysam.VariantFile(str(plain)) as src, pysam.VariantFile(str(root / "conv.bcf"), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    a, b = read_vcf(plain).table, read_vcf(root / "conv.bcf").table
    cols = ["chrom", "pos", "id", "ref", "alt", "record"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert (b["line"] == 0).all() and len(a) == 2 * len(body.splitlines())    # multi-allelic split
