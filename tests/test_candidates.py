"""Candidate pairs from BED files: the rule, streaming, and located errors."""
import gzip

import numpy as np
import pandas as pd
import pytest

from speidlib.app.cli import main
from speidlib.data.candidates import (
    CANDIDATE_COLUMNS,
    candidate_chunks,
    is_candidate_file,
    iter_candidate_chunks,
    read_bed,
    write_candidates,
)


def _random_bed(rng, n, chroms, tss=False, prefix="e"):
    chrom = rng.choice(chroms, n)
    start = rng.integers(0, 20_000, n)
    end = start + (1 if tss else rng.integers(1, 800, n))
    return pd.DataFrame({"chrom": chrom, "start": start, "end": end,
                         "name": [f"{prefix}{i}" for i in range(n)], "strand": "."})


def _brute_force(enh, prom, max_distance):
    pairs = set()
    n_overlap = 0
    for e in enh.itertuples():
        for p in prom.itertuples():
            if e.chrom != p.chrom:
                continue
            if abs((e.start + e.end) // 2 - (p.start + p.end) // 2) > max_distance:
                continue
            if e.start < p.end and p.start < e.end:
                n_overlap += 1
                continue
            pairs.add((e.name, p.name))
    return pairs, n_overlap


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_candidates_match_a_brute_force_count(seed):
    rng = np.random.default_rng(seed)
    enh = _random_bed(rng, 60, ["chr1", "chr2", "chr3"])
    prom = _random_bed(rng, 25, ["chr1", "chr2", "chr4"], tss=seed == 1, prefix="p")
    counts = {}
    got = pd.concat(list(candidate_chunks(enh, prom, 3000, chunk_pairs=7, counts=counts)))
    want, n_overlap = _brute_force(enh, prom, 3000)
    assert set(zip(got["enhancer_name"], got["promoter_name"])) == want
    assert len(got) == len(want) == counts["n_pairs"] > 0
    assert counts["n_overlapping"] == n_overlap
    assert (got["chrom1"] == got["chrom2"]).all()
    assert got["distance"].max() <= 3000


def test_a_tss_is_its_own_centre_and_the_distance_is_inclusive():
    enh = pd.DataFrame({"chrom": ["c"] * 2, "start": [0, 2000], "end": [100, 2100],
                        "name": ["near", "far"], "strand": "."})
    prom = pd.DataFrame({"chrom": ["c"], "start": [1050], "end": [1051], "name": ["G"], "strand": "+"})
    t = pd.concat(list(candidate_chunks(enh, prom, 1000)))
    # centres 50 and 2050; the TSS at 1050 is exactly 1000 bp from both
    assert sorted(t["enhancer_name"]) == ["far", "near"] and (t["distance"] == 1000).all()
    assert list(candidate_chunks(enh, prom, 999)) == []


def test_written_candidates_stream_back_per_chromosome(tmp_path):
    rng = np.random.default_rng(3)
    enh = _random_bed(rng, 40, ["chr1", "chr2"])
    prom = _random_bed(rng, 15, ["chr1", "chr2"], prefix="p")
    out = tmp_path / "c.bedpe.gz"
    info = write_candidates(enh, prom, out, 5000)
    assert is_candidate_file(out)
    with gzip.open(out, "rt") as f:
        assert f.readline().lstrip("#").split() == CANDIDATE_COLUMNS
    chunks = list(iter_candidate_chunks(out, chunk_rows=5))
    # one table per chromosome, in the enhancer file's order
    assert [c["chrom1"].iat[0] for c in chunks] == list(dict.fromkeys(enh["chrom"]))
    assert all(c["chrom1"].nunique() == 1 for c in chunks)
    assert sum(len(c) for c in chunks) == info["n_pairs"] == _brute_force(enh, prom, 5000)[0].__len__()
    assert info["mean_enhancer_reuse"] == pytest.approx(
        info["n_pairs"] / pd.concat(chunks)["enhancer_name"].nunique())


def test_read_bed_skips_headers_and_names_missing_fields(tmp_path):
    p = tmp_path / "p.bed"
    p.write_text("track name=x\nbrowser position chr1:1-10\n# comment\n\nchr1\t10\t11\tGENE1\t0\t-\n"
                 "chr1\t20\t30\n")
    t = read_bed(p, "promoter")
    assert t["name"].tolist() == ["GENE1", "chr1:20-30"] and t["strand"].tolist() == ["-", "."]


@pytest.mark.parametrize("text, message", [
    ("chr1\t10\n", r"b.bed, line 1: found 2 column\(s\)"),
    ("chr1\t10\t11\nchr1\tx\t20\n", r"b.bed, line 2: start 'x' and end '20' must be integers"),
    ("chr1\t30\t20\n", r"b.bed, line 1: needs 0 <= start < end"),
    ("chr1\t1\t2\ta\t0\t*\n", r"b.bed, line 1: strand \(column 6\)"),
    ("chr1\t1\t2\ta\nchr1\t5\t6\ta\n", r"b.bed, line 2: enhancer name 'a' was already used on line 1"),
    ("track x\n", r"b.bed: no enhancer lines"),
])
def test_bad_bed_lines_fail_with_file_and_line(tmp_path, text, message):
    p = tmp_path / "b.bed"
    p.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_bed(p, "enhancer")


def test_cli_one_line_errors_for_mismatched_chromosome_names(tmp_path, capsys):
    (tmp_path / "e.bed").write_text("chr1\t100\t200\n")
    (tmp_path / "p.bed").write_text("1\t300\t301\tG\n")
    rc = main(["candidates", "--enhancers", str(tmp_path / "e.bed"), "--promoters",
               str(tmp_path / "p.bed"), "--out", str(tmp_path / "c.bedpe"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert err.startswith("speid candidates: error:") and "chr1" in err and "1" in err
    assert not (tmp_path / "c.bedpe").exists()
    (tmp_path / "p.bed").write_text("chr1\t300\t301\tG\n")
    (tmp_path / "g.fa").write_text(">1\nACGT\n")
    rc = main(["candidates", "--enhancers", str(tmp_path / "e.bed"), "--promoters",
               str(tmp_path / "p.bed"), "--genome", str(tmp_path / "g.fa"),
               "--out", str(tmp_path / "c.bedpe"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "the genome lacks" in err and "genome has 1" in err


def test_a_chromosome_seen_twice_is_refused(tmp_path):
    p = tmp_path / "c.bedpe"
    row = "{c}\t0\t10\t{c}\t100\t101\te~p\t.\t.\t+\te\tp\t95\n"
    p.write_text("#" + "\t".join(CANDIDATE_COLUMNS) + "\n" + row.format(c="chr1")
                 + row.format(c="chr2") + row.format(c="chr1"))
    with pytest.raises(ValueError, match=r"c.bedpe, line 4: chromosome chr1 appears again"):
        list(iter_candidate_chunks(p))
