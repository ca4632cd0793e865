"""Scatter by chromosome and gather: every line once, headers once, errors that name the line."""
import gzip

import pytest

from speidlib.app.cli import main
from speidlib.data.scatter import gather_tables, split_by_chromosome

BEDPE = ("#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tname\n"
         "chr1\t10\t20\tchr1\t100\t120\te1|p1\n"
         "chr2\t10\t20\tchr2\t300\t320\te2|p2\n"
         "chr1\t50\t60\tchr1\t100\t120\te3|p1\n"
         "chrM\t1\t2\tchrM\t5\t6\tem|pm\n")


def test_split_by_chromosome_keeps_order_header_and_counts(tmp_path):
    src = tmp_path / "pairs.bedpe.gz"
    with gzip.open(src, "wt") as fh:
        fh.write(BEDPE)
    outs = [tmp_path / "parts" / f"{c}.bedpe" for c in ("chr1", "chr2", "chr3")]
    counts = split_by_chromosome(src, ["chr1", "chr2", "chr3"], outs)
    assert counts == {"chr1": 2, "chr2": 1, "chr3": 0, "other": 1}
    header = BEDPE.splitlines(keepends=True)[0]
    assert outs[0].read_text() == header + "chr1\t10\t20\tchr1\t100\t120\te1|p1\nchr1\t50\t60\tchr1\t100\t120\te3|p1\n"
    assert outs[1].read_text() == header + "chr2\t10\t20\tchr2\t300\t320\te2|p2\n"
    assert outs[2].read_text() == header            # no pairs: header only

    # gathering the parts gives back the input minus the dropped chromosome
    gathered = tmp_path / "all.bedpe"
    assert gather_tables(outs, gathered) == 3
    lines = gathered.read_text().splitlines()
    assert lines[0] == header.rstrip("\n") and lines.count(lines[0]) == 1
    assert sorted(lines[1:]) == sorted(l for l in BEDPE.splitlines()[1:] if not l.startswith("chrM"))


def test_gather_csv_keeps_one_column_line(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,score\n1,0.5\n")
    b.write_text("x,score\n2,0.25\n3,0.125")
    assert gather_tables([a, b], tmp_path / "all.csv") == 3
    assert (tmp_path / "all.csv").read_text() == "x,score\n1,0.5\n2,0.25\n3,0.125\n"
    c = tmp_path / "c.csv"
    c.write_text("y,score\n4,0.1\n")
    with pytest.raises(ValueError, match="different header"):
        gather_tables([a, c], tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="does not exist"):
        gather_tables([a, tmp_path / "missing.csv"], tmp_path / "bad.csv")
    assert not (tmp_path / "bad.csv").exists()


def test_split_errors_name_file_and_line_and_leave_nothing(tmp_path, capsys):
    src = tmp_path / "bad.bedpe"
    src.write_text("chr1\t1\t2\tchr1\t5\t6\nchr1\t1\t2\tchr2\t5\t6\n")
    out = tmp_path / "parts" / "chr1.bedpe"
    with pytest.raises(ValueError, match=r"bad.bedpe, line 2: the pair joins chr1 and chr2"):
        split_by_chromosome(src, ["chr1"], [out])
    assert not out.exists()
    src.write_text("chr1\t1\t2\n")
    assert main(["split-pairs", str(src), "--chromosomes", "chr1", "--out-dir", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("speid split-pairs: error:") and "bad.bedpe, line 1" in err and "6" in err
