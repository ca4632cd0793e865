"""The random genome of an assembly's shape (``speid random-genome``)."""
from __future__ import annotations

import numpy as np
import pyfaidx
import pytest

from speidlib.app.cli import main
from speidlib.data import random_genome as rg
from speidlib.data.genome import Genome

SIZES = {"chrA": 1_234_567, "chrB": 61, "chrC": 60}


def test_shape_ends_and_index(tmp_path):
    fa = rg.write_random_genome(SIZES, tmp_path / "g.fa", seed=3)
    # our .fai is exactly what samtools/pyfaidx would build from the file
    ours = (tmp_path / "g.fa.fai").read_text()
    (tmp_path / "g.fa.fai").unlink()
    pyfaidx.Faidx(str(fa))
    assert (tmp_path / "g.fa.fai").read_text() == ours
    fasta = pyfaidx.Fasta(str(fa))
    assert {k: len(fasta[k]) for k in fasta.keys()} == SIZES  # noqa: SIM118 (a Fasta iterates records)
    a = str(fasta["chrA"][:])
    # 10 kb of N at both ends of a chromosome >= 1 Mb, none inside
    assert a[:rg.END_N] == "N" * rg.END_N and a[-rg.END_N:] == "N" * rg.END_N
    middle = a[rg.END_N:-rg.END_N]
    assert a[rg.END_N] != "N" and a[-rg.END_N - 1] != "N" and set(middle) == set("ACGT")
    counts = np.array([middle.count(b) for b in "ACGT"]) / len(middle)
    assert np.allclose(counts, 0.25, atol=0.005)
    # a short chromosome keeps no N run; a 61-base one spills onto a second line
    assert set(str(fasta["chrB"][:])) <= set("ACGT") and len(str(fasta["chrC"][:])) == 60


def test_seeded_and_subset_equal(tmp_path):
    rg.write_random_genome(SIZES, tmp_path / "a.fa", seed=1)
    rg.write_random_genome(SIZES, tmp_path / "b.fa", seed=1, chromosomes=["chrC", "chrA"])
    rg.write_random_genome(SIZES, tmp_path / "c.fa", seed=2)
    a, b, c = (pyfaidx.Fasta(str(tmp_path / f"{x}.fa")) for x in "abc")
    assert list(b.keys()) == ["chrC", "chrA"]
    assert str(a["chrA"][:]) == str(b["chrA"][:]) and str(a["chrC"][:]) == str(b["chrC"][:])
    assert str(a["chrA"][20_000:20_100]) != str(c["chrA"][20_000:20_100])
    # the workbench's own reader agrees with pyfaidx
    with Genome(tmp_path / "a.fa") as g:
        codes = g.fetch("chrC", 0, 60)
    assert "".join("ACGTN"[i] for i in codes) == str(a["chrC"][:])


def test_shipped_sizes_and_subset_cli(tmp_path, capsys):
    hg19, hg38 = rg.assembly_chrom_sizes("hg19"), rg.assembly_chrom_sizes("hg38")
    assert hg19["chr1"] == 249_250_621 and hg38["chr1"] == 248_956_422
    assert hg38["chr21"] == 46_709_983 and len(hg19) == 24
    sizes = tmp_path / "tiny.sizes"
    sizes.write_text("chr1\t100\nchr2\t70\n")
    assert main(["random-genome", "--chrom-sizes", str(sizes), "--out", str(tmp_path / "t.fa"),
                 "--chromosomes", "chr2"]) == 0
    assert (tmp_path / "t.fa.fai").read_text() == "chr2\t70\t6\t60\t61\n"


def test_user_errors(tmp_path, capsys):
    bad = tmp_path / "bad.sizes"
    bad.write_text("chr1\t100\nchr2\tlong\n")
    with pytest.raises(ValueError, match=r"bad.sizes, line 2"):
        rg.read_chrom_sizes(bad)
    with pytest.raises(ValueError, match="chrZ"):
        rg.write_random_genome({"chr1": 10}, tmp_path / "x.fa", chromosomes=["chrZ"])
    assert main(["random-genome", "--chrom-sizes", str(bad), "--out", str(tmp_path / "y.fa")]) == 2
    assert "speid random-genome: error:" in capsys.readouterr().err
    assert not (tmp_path / "y.fa").exists()
