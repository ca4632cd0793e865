"""Issue 27, the second hardening pass: nothing written where it should not be, one element
identity and one check of pair files, numbers checked at the door.

One test (or a few) per case of the probe, grouped by the issue's points (1, 2: inputs
and user files, 3, 5; the --overwrite manifest and point 4 are in tests/test_stale.py and
tests/test_run.py). Each was run on the code before its fix and failed there. Data-side
tests build tiny files by hand; the ``speid score`` cases use the session's ``tiny_run``
(tests/conftest.py), read only.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.app import cli
from speidlib.data.candidates import CANDIDATE_COLUMNS, is_candidate_file, read_bed
from speidlib.data.pairs import read_pairs
from speidlib.data.random_genome import read_chrom_sizes
from speidlib.data.scatter import split_by_chromosome
from speidlib.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
BOM = "\ufeff"
HEADER = "#" + "\t".join(CANDIDATE_COLUMNS) + "\n"


def _bed(path: Path, rows) -> Path:
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def _beds(tmp: Path) -> tuple[Path, Path]:
    enh = _bed(tmp / "enh.bed", [("chr1", 100, 200, "e1"), ("chr1", 5000, 5100, "e2")])
    prom = _bed(tmp / "prom.bed", [("chr1", 1000, 1001, "g1", 0, "+"), ("chr1", 9000, 9001, "g2", 0, "-")])
    return enh, prom


def _candidate_line(chrom, es, ee, ps, pe, en="e", pn="p", chrom2=None, extra=()) -> str:
    chrom2 = chrom if chrom2 is None else chrom2
    fields = [chrom, es, ee, chrom2, ps, pe, f"{en}~{pn}", ".", ".", ".", en, pn,
              abs((es + ee) // 2 - (ps + pe) // 2) if isinstance(es, int) else 0, *extra]
    return "\t".join(map(str, fields)) + "\n"


def _candidates(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(lines))
    return path


def _kind(path: Path) -> str:
    m = os.lstat(path).st_mode
    return next(k for k, f in (("link", stat.S_ISLNK), ("fifo", stat.S_ISFIFO), ("dir", stat.S_ISDIR),
                               ("socket", stat.S_ISSOCK), ("chr", stat.S_ISCHR), ("file", stat.S_ISREG)) if f(m))


def _make_node(path: Path, kind: str):
    """A non-regular file at ``path``; returns what must be closed afterwards (or None)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        return s
    elif kind == "chr":  # a copy of /dev/null
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)
        except PermissionError:
            pytest.skip("making a character device needs root")
    return None


def _speid(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "speidlib.app.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _recorded(run: Path, key: str) -> Path:
    """An input ``speid prepare`` recorded for ``run`` (absolute in config.json)."""
    return Path(json.loads((run / schema.CONFIG_FILE).read_text())["prepare"][key])


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"speid {command}: error: "), err
    return err


# --- 1. what is at --out ------------------------------------------------------------------------
def _writers(tmp: Path):
    """(command, argv given the output path) of the table writers that run without a model."""
    enh, prom = _beds(tmp)
    part = _candidates(tmp / "part.bedpe", _candidate_line("chr1", 100, 200, 1000, 1001))
    sizes = tmp / "sizes.txt"
    sizes.write_text("chr1\t500\n")
    return [("candidates", lambda out: ["candidates", "--enhancers", enh, "--promoters", prom, "--out", out,
                                        "--quiet"]),
            ("gather", lambda out: ["gather", part, part, "--out", out]),
            ("random-genome", lambda out: ["random-genome", "--chrom-sizes", sizes, "--out", out])]


@pytest.mark.parametrize("kind", ["fifo", "dir", "socket", "chr"])
def test_writers_refuse_to_replace_what_is_not_a_regular_file(tmp_path, capsys, kind):
    for command, argv in _writers(tmp_path):
        out = tmp_path / f"out_{command}_{kind}"
        held = _make_node(out, kind)
        try:
            assert cli.main([str(a) for a in argv(out)]) == 2
            err = _one_line_error(capsys, command)
            assert str(out) in err and "not a regular file" in err, err
            assert _kind(out) == kind  # the node is still there, untouched
        finally:
            if held is not None:
                held.close()


def test_atomic_writers_refuse_a_fifo_and_write_through_a_symlink(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="is a FIFO .*not a regular file"):
        atomic_write_text(fifo, "x")
    assert _kind(fifo) == "fifo"
    target = tmp_path / "elsewhere" / "t.txt"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert _kind(link) == "link" and target.read_text() == "new"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left beside the link


def test_out_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path, capsys):
    for command, argv in _writers(tmp_path):
        target = tmp_path / "real" / f"{command}.txt"
        target.parent.mkdir(exist_ok=True)
        target.write_text("old")
        link = tmp_path / f"link_{command}"
        link.symlink_to(target)
        argv_ = [str(a) for a in argv(link)] + (["--overwrite"] if command == "random-genome" else [])
        assert cli.main(argv_) == 0, capsys.readouterr().err
        assert _kind(link) == "link" and target.read_text() != "old"


def test_out_through_a_symlink_to_a_standard_stream_is_refused(tmp_path):
    enh, prom = _beds(tmp_path)
    link = tmp_path / "stdout.bedpe"
    link.symlink_to("/proc/self/fd/1")  # fd 1 of the command below is a pipe
    p = _speid("candidates", "--enhancers", enh, "--promoters", prom, "--out", link, "--quiet", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "not a regular file" in p.stderr, p.stderr
    assert _kind(link) == "link" and os.readlink(link) == "/proc/self/fd/1"


def test_out_dash_writes_the_table_to_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command, argv in _writers(tmp_path)[:2]:  # candidates and gather write tables
        assert cli.main([str(a) for a in argv(tmp_path / f"{command}.txt")]) == 0
        capsys.readouterr()
        assert cli.main([str(a) for a in argv("-")]) == 0
        captured = capsys.readouterr()
        assert captured.out == (tmp_path / f"{command}.txt").read_text()
        assert "wrote" in captured.err  # the summary goes to stderr, not into the table
        assert not (tmp_path / "-").exists()


def test_out_dash_into_a_reader_that_stops_early_is_quiet(tmp_path):
    """``speid candidates --out - | head -1``: no traceback and no error line, exit 141 as for SIGPIPE."""
    enh = _bed(tmp_path / "e.bed", [("chr1", 1000 * i, 1000 * i + 100, f"e{i}") for i in range(300)])
    prom = _bed(tmp_path / "p.bed", [("chr1", 6000 * i + 500, 6000 * i + 501, f"g{i}") for i in range(50)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "speidlib.app.cli", "candidates", "--enhancers", str(enh),
                          "--promoters", str(prom), "--out", "-", "--quiet"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline().startswith(b"#chrom1")
    p.stdout.close()  # far less than the 15,000 pairs' megabyte: the writer meets a closed pipe
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == "", err


def test_executed_notebooks_go_through_the_one_writer(tmp_path, monkeypatch):
    """RUN/notebooks/: a link is written through, a FIFO refused, a failed run's copy kept, no temporary left."""
    import papermill

    from speidlib.app.notebooks import NOTEBOOKS, run_notebooks

    def execute(source, out, **kw):  # papermill stood in for: the executed copy is "{}"
        Path(out).write_text("{}")
        if NOTEBOOKS[2] in source:
            raise RuntimeError("a cell failed")

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    folder = tmp_path / "run" / "notebooks"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.ipynb"
    elsewhere.write_text("old")
    (folder / f"{NOTEBOOKS[0]}.ipynb").symlink_to(elsewhere)
    os.mkfifo(folder / f"{NOTEBOOKS[1]}.ipynb")
    run_notebooks(tmp_path / "run", {}, notebooks=[NOTEBOOKS[0]], progress=False)
    assert _kind(folder / f"{NOTEBOOKS[0]}.ipynb") == "link" and elsewhere.read_text() == "{}"
    with pytest.raises(ValueError, match="is a FIFO"):
        run_notebooks(tmp_path / "run", {}, notebooks=[NOTEBOOKS[1]], progress=False)
    with pytest.raises(RuntimeError, match="a cell failed"):
        run_notebooks(tmp_path / "run", {}, notebooks=[NOTEBOOKS[2]], progress=False)
    assert (folder / f"{NOTEBOOKS[2]}.failed.ipynb").read_text() == "{}"
    assert _kind(folder / f"{NOTEBOOKS[1]}.ipynb") == "fifo"
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --- 2. inputs and user files are not overwritten ---------------------------------------------------
def test_random_genome_refuses_an_existing_file_without_overwrite(tmp_path, capsys):
    sizes = tmp_path / "sizes.txt"
    sizes.write_text("chr1\t500\n")
    fasta = tmp_path / "hg19.fa"
    fasta.write_text(">chr1\nACGT\n")  # the user's genome
    assert cli.main(["random-genome", "--chrom-sizes", str(sizes), "--out", str(fasta)]) == 2
    assert "--overwrite" in _one_line_error(capsys, "random-genome")
    assert fasta.read_text() == ">chr1\nACGT\n"
    assert cli.main(["random-genome", "--chrom-sizes", str(sizes), "--out", str(fasta), "--overwrite"]) == 0
    assert fasta.read_text().startswith(">chr1\n") and len(fasta.read_text()) > 500
    # its own input, never (not with --overwrite either)
    for flags in ([], ["--overwrite"]):
        assert cli.main(["random-genome", "--chrom-sizes", str(sizes), "--out", str(sizes), *flags]) == 2
        assert "--chrom-sizes" in _one_line_error(capsys, "random-genome")
    assert sizes.read_text() == "chr1\t500\n"


def test_demo_data_refuses_a_folder_holding_the_users_pairs_or_genome(tmp_path, capsys):
    for name in ("pairs.csv", "genome.fa"):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_text("mine\n")
        assert cli.main(["demo-data", str(folder), "--pairs-per-cell", "200"]) == 2
        err = _one_line_error(capsys, "demo-data")
        assert name in err and "--overwrite" in err
        assert sorted(p.name for p in folder.iterdir()) == [name] and (folder / name).read_text() == "mine\n"
    # a demo folder is written again (same seed, same bytes); --overwrite replaces the user's files
    demo = tmp_path / "demo"
    assert cli.main(["demo-data", str(demo), "--pairs-per-cell", "200"]) == 0
    before = (demo / "pairs.csv").read_bytes()
    assert cli.main(["demo-data", str(demo), "--pairs-per-cell", "200"]) == 0
    assert (demo / "pairs.csv").read_bytes() == before
    assert cli.main(["demo-data", str(tmp_path / "pairs"), "--pairs-per-cell", "200", "--overwrite"]) == 0
    assert (tmp_path / "pairs" / "pairs.csv").read_bytes() == before


def test_split_pairs_never_writes_over_its_input(tmp_path, capsys):
    sp = tmp_path / "sp"
    sp.mkdir()
    lines = [_candidate_line(c, 100 * i, 100 * i + 50, 5000, 5001) for i in range(1, 4) for c in ("chr1", "chr2")]
    src = _candidates(sp / "chr1.bedpe", *lines)
    before = src.read_bytes()
    for flags in ([], ["--overwrite"]):
        assert cli.main(["split-pairs", str(src), "--chromosomes", "chr1,chr2", "--out-dir", str(sp), *flags]) == 2
        err = _one_line_error(capsys, "split-pairs")
        assert "chr1.bedpe" in err and "reads" in err
        assert src.read_bytes() == before and not (sp / "chr2.bedpe").exists()
    # through another spelling of the same folder, too
    assert cli.main(["split-pairs", str(src), "--chromosomes", "chr1", "--out-dir", f"{sp}/../sp/."]) == 2
    assert "reads" in _one_line_error(capsys, "split-pairs") and src.read_bytes() == before
    # an existing part that is not the input: only with --overwrite
    out = tmp_path / "parts"
    out.mkdir()
    (out / "chr2.bedpe").write_text("mine\n")
    assert cli.main(["split-pairs", str(src), "--chromosomes", "chr1,chr2", "--out-dir", str(out)]) == 2
    assert "--overwrite" in _one_line_error(capsys, "split-pairs")
    assert (out / "chr2.bedpe").read_text() == "mine\n"
    assert cli.main(["split-pairs", str(src), "--chromosomes", "chr1,chr2", "--out-dir", str(out),
                     "--overwrite"]) == 0
    assert len((out / "chr2.bedpe").read_text().splitlines()) == 4


def test_candidates_and_gather_never_write_over_an_input(tmp_path, capsys):
    enh, prom = _beds(tmp_path)
    part = _candidates(tmp_path / "part.bedpe", _candidate_line("chr1", 100, 200, 1000, 1001))
    for argv, option, path in (
            (["candidates", "--enhancers", enh, "--promoters", prom, "--out", enh], "--enhancers", enh),
            (["gather", part, part, "--out", part], "part", part)):
        before = path.read_bytes()
        assert cli.main([str(a) for a in argv]) == 2
        assert f"is the {option}" in _one_line_error(capsys, argv[0]) and path.read_bytes() == before


def test_crispr_never_writes_over_its_benchmark(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    bench = _crispr_table(out / schema.CRISPR_PREDICTIONS_FILE)  # the table sits where an output goes
    before = bench.read_bytes()
    assert cli.main(["crispr", "--benchmark", str(bench), "--out", str(out), "--bootstrap", "0", "--no-png",
                     "--quiet"]) == 2
    assert "is the --benchmark file this step reads" in _one_line_error(capsys, "crispr")
    assert bench.read_bytes() == before and not (out / schema.CRISPR_METRICS_FILE).exists()


def test_baselines_never_write_over_a_pair_table(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    table = out / "split_drop.csv"  # a pair table where an output goes
    table.write_text("enhancer_name,promoter_name,label\n" + "".join(
        f"K|chr{1 + i % 8}:{100 * i}-{100 * i + 50},K|chr{1 + i % 8}:{90000 + i}-{90010 + i},{int(i % 3 == 0)}\n"
        for i in range(400)))
    before = table.read_bytes()
    assert cli.main(["baselines", str(out), "--pairs", str(table), "--bootstrap", "0"]) == 2
    assert "is the --pairs split_drop.csv file this step reads" in _one_line_error(capsys, "baselines")
    assert table.read_bytes() == before


def test_outputs_are_compared_with_inputs_by_resolved_path(tmp_path):
    from speidlib.io import check_outputs

    src = tmp_path / "in.bedpe"
    src.write_text("x\n")
    (tmp_path / "alias.bedpe").symlink_to(src)
    os.link(src, tmp_path / "hard.bedpe")
    for out in (src, tmp_path / "alias.bedpe", tmp_path / "hard.bedpe", tmp_path / "d" / ".." / "in.bedpe"):
        with pytest.raises(ValueError, match="is the --pairs file this step reads"):
            check_outputs({"--out": out}, {"--pairs": src}, overwrite=True)
    check_outputs({"--out": tmp_path / "new.bedpe"}, {"--pairs": src})
    with pytest.raises(ValueError, match="exists.*--overwrite"):
        check_outputs({"--out": tmp_path / "hard.bedpe"}, {"--pairs": tmp_path / "other"})


# --- 3. one element identity, one check of pair files ---------------------------------------------------
def test_elements_are_keyed_by_coordinates_not_name(tmp_path):
    from speidlib.score.genome_wide import iter_chromosomes

    # two promoters named after one gene (alternative TSSs), each with its own enhancer
    path = _candidates(tmp_path / "c.bedpe",
                       _candidate_line("chr1", 100, 200, 1000, 1001, "e1", "GENE"),
                       _candidate_line("chr1", 100, 200, 9000, 9001, "e1", "GENE"),
                       _candidate_line("chr1", 8000, 8100, 9000, 9001, "e2", "GENE"))
    table = tmp_path / "t.csv"
    table.write_text("enhancer_chrom,enhancer_start,enhancer_end,promoter_chrom,promoter_start,promoter_end,"
                     "enhancer_name,promoter_name,label\n"
                     "chr1,100,200,chr1,1000,1001,e1,GENE,1\nchr1,100,200,chr1,9000,9001,e1,GENE,0\n"
                     "chr1,8000,8100,chr1,9000,9001,e2,GENE,0\n")
    for source in (path, table):
        (cp,) = list(iter_chromosomes(source))
        assert cp.promoters["start"].tolist() == [1000, 9000] and cp.promoters["name"].tolist() == ["GENE"] * 2
        links = cp.links(np.array([0.9, 0.1, 0.5]))
        assert links[schema.PROMOTER_START].tolist() == [1000, 9000, 9000]
        assert links["promoter_rank"].tolist() == [1, 2, 1]  # ranked among each promoter's own enhancers
        assert links["enhancer_rank"].tolist() == [1, 2, 1]


@pytest.mark.parametrize("line, problem", [
    (_candidate_line("chr1", "x", 200, 1000, 1001), r"start1 'x' is not a whole number"),
    (_candidate_line("chr1", -10, 200, 1000, 1001), r"start1 is negative \(-10\)"),
    (_candidate_line("chr1", 300, 200, 1000, 1001), r"enhancer start 300 >= end 200"),
    (_candidate_line("chr1", 100, 200, 1000, 1001, chrom2="chr2"), r"enhancer on chr1 but promoter on chr2"),
    (_candidate_line("chr1", 100, 200, 1000, 1001, extra=(5, 6)), r"expected 13 fields as in the header, found 15"),
    ("chr1\t100\t200\tchr1\t1000\n", r"expected 13 fields as in the header, found 5"),
])
def test_candidate_bedpe_rows_are_checked_naming_file_and_line(tmp_path, line, problem):
    from speidlib.score.genome_wide import iter_chromosomes

    path = _candidates(tmp_path / "hand.bedpe", _candidate_line("chr1", 10, 20, 1000, 1001, "e0"), line)
    with pytest.raises(ValueError, match=rf"^hand\.bedpe, line 3: {problem}"):
        list(iter_chromosomes(path))


def test_a_damaged_links_file_is_a_located_error(tmp_path):
    """The links dashboard's reader of `speid score` outputs: one line naming the file, not a traceback."""
    from speidlib.score.formats import read_links

    short = tmp_path / "short.bedpe"
    short.write_text("#chrom1\tstart1\nchr1\tx\t1\n")
    with pytest.raises(ValueError, match=r"^short\.bedpe: not a links table in the bedpe format"):
        read_links(short)
    text = tmp_path / "text.bedpe"
    text.write_text("#h\nchr1\t10\t20\tchr1\t30\t40\te~p\t0.5\t.\t.\t10\t1\t1\n"
                    "chr1\tx\t20\tchr1\t30\t40\te~p\t0.5\t.\t.\t10\t1\t1\n")
    with pytest.raises(ValueError, match=r"^text\.bedpe, line 3: enhancer_start 'x' is not a number"):
        read_links(text)


def test_a_byte_order_mark_is_read_past_in_every_text_input(tmp_path):
    bed = tmp_path / "e.bed"
    bed.write_text(BOM + "chr1\t100\t200\te1\n")
    assert read_bed(bed)["chrom"].tolist() == ["chr1"]
    sizes = tmp_path / "sizes.txt"
    sizes.write_text(BOM + "chr1\t500\n")
    assert read_chrom_sizes(sizes) == {"chr1": 500}
    cand = tmp_path / "c.bedpe"
    cand.write_text(BOM + HEADER + _candidate_line("chr1", 100, 200, 1000, 1001))
    assert is_candidate_file(cand)
    counts = split_by_chromosome(cand, ["chr1"], [tmp_path / "chr1.bedpe"])
    assert counts == {"chr1": 1, "other": 0}
    assert (tmp_path / "chr1.bedpe").read_text() == HEADER + _candidate_line("chr1", 100, 200, 1000, 1001)
    csv = tmp_path / "p.csv"
    csv.write_text(BOM + "enhancer_name,promoter_name,label\nK|chr1:1-50,K|chr1:90-99,1\n")
    bedpe = tmp_path / "p.bedpe"
    bedpe.write_text(BOM + "chr1\t1\t50\tchr1\t90\t99\tx\t1\n")
    for path in (csv, bedpe):
        assert read_pairs(path)[schema.CHROM].tolist() == ["chr1"]
    fasta = tmp_path / "g.fa"  # an index counts bytes: a FASTA's mark is named, with how to remove it
    fasta.write_text(BOM + ">chr1\nACGT\n")
    from speidlib.data.genome import Genome

    with pytest.raises(ValueError, match=r"g\.fa starts with a UTF-8 byte-order mark .*sed -i"):
        Genome(fasta)


def _crispr_table(path: Path, bom: bool = False) -> Path:
    """A CRISPRi benchmark table: pair A's TSS recorded as 0; pairs on two chromosomes."""
    head = ["chrom", "chromStart", "chromEnd", "measuredGeneSymbol", "chrTSS", "startTSS", "endTSS",
            "Regulated", "ValidConnection", "CellType", "Dataset"]
    rows = [["chr1", "5000", "5400", "A", "chr1", "0", "0", "TRUE", "TRUE", "K562", "d"],
            ["chr1", "9000", "9400", "B", "chr1", "20000", "20001", "FALSE", "TRUE", "K562", "d"]]
    rows += [[c, str(s), str(s + 400), g, c, str(s + 9000), str(s + 9001), reg, "TRUE", "K562", "d"]
             for c, s, g, reg in (("chr2", 5000, "C", "TRUE"), ("chr2", 30000, "D", "FALSE"),
                                  ("chr3", 7000, "E", "TRUE"), ("chr3", 60000, "F", "FALSE"))]
    path.write_text((BOM if bom else "") + "\n".join("\t".join(r) for r in [head, *rows]) + "\n")
    return path


def test_crispr_table_with_a_bom_and_a_tss_recorded_as_0(tmp_path):
    """The probe's `speid crispr` case (helper CRISPR's fix, #30): a TSS recorded as 0 is missing,
    not position 0; the table starts with a byte-order mark."""
    from speidlib.data.crispr import read_crispr_benchmark

    table = read_crispr_benchmark(_crispr_table(tmp_path / "bench.tsv", bom=True))
    assert table[schema.CRISPR_ELEMENT_CHROM].tolist()[:2] == ["chr1", "chr1"]  # not "\ufeffchr1"
    assert np.isnan(table[schema.CRISPR_TSS_START].iat[0]) and table[schema.CRISPR_TSS_START].iat[1] == 20000
    assert np.isnan(table[schema.CRISPR_DISTANCE].iat[0])  # no distance from a TSS that is not there


def test_score_checks_pairs_against_the_genome_as_prepare_does(tiny_run, tmp_path, capsys):
    from speidlib.data.genome import Genome

    genome = _recorded(tiny_run, "genome")
    with Genome(genome) as g:
        chrom, length = next(iter(g.chrom_sizes.items()))
    past = _candidates(tmp_path / "past.bedpe",
                       _candidate_line(chrom, 1000, 1500, 3000, 3001, "e1", "g1"),
                       _candidate_line(chrom, length - 100, length + 400, length - 3000, length - 2999, "e2", "g2"))
    argv = ["score", str(tiny_run), "--genome", str(genome), "--quiet"]
    assert cli.main([*argv, "--pairs", str(past), "--out", str(tmp_path / "s.csv")]) == 2
    err = _one_line_error(capsys, "score")
    assert f"past.bedpe, line 3: enhancer {chrom}:{length - 100}-{length + 400} runs past the end of {chrom}" in err
    assert not (tmp_path / "s.csv").exists()
    # two promoters named after one gene are two promoters; --out - writes the table to stdout
    same = _candidates(tmp_path / "same.bedpe",
                       _candidate_line(chrom, 10000, 10500, 20000, 20001, "e1", "GENE"),
                       _candidate_line(chrom, 10000, 10500, 90000, 90001, "e1", "GENE"))
    assert cli.main([*argv, "--pairs", str(same), "--out", "-", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    links = pd.read_csv(__import__("io").StringIO(captured.out))
    assert links[schema.PROMOTER_START].tolist() == [20000, 90000]
    assert links[schema.SCORE].nunique() == 2 and "wrote" in captured.err


def test_score_refuses_an_out_that_is_not_a_regular_file(tiny_run, tmp_path, capsys):
    genome, pairs = _recorded(tiny_run, "genome"), _recorded(tiny_run, "pairs")
    fifo = tmp_path / "links.csv"
    os.mkfifo(fifo)
    assert cli.main(["score", str(tiny_run), "--pairs", str(pairs), "--genome", str(genome),
                     "--out", str(fifo), "--quiet"]) == 2
    assert "not a regular file" in _one_line_error(capsys, "score")
    assert _kind(fifo) == "fifo"


# --- 5. numbers at the door -----------------------------------------------------------------------
@pytest.mark.parametrize("argv, option", [
    (["train", "r", "--pretrain-epochs", "-1"], "--pretrain-epochs"),
    (["train", "r", "--retrain-epochs", "0"], "--retrain-epochs"),
    (["train", "r", "--threads", "0"], "--threads"),
    (["score", "r", "--pairs", "p", "--genome", "g", "--batch-size", "0"], "--batch-size"),
    (["score", "r", "--pairs", "p", "--genome", "g", "--threads", "-2"], "--threads"),
    (["cross-cell", "a", "b", "--out", "o", "--batch-size", "-1"], "--batch-size"),
    (["evaluate", "r", "--bootstrap", "-3"], "--bootstrap"),
    (["crispr", "--benchmark", "b", "--out", "o", "--bootstrap", "-1"], "--bootstrap"),
    (["baselines", "o", "--bootstrap", "-1"], "--bootstrap"),
    (["prepare", "--pairs", "p", "--genome", "g", "--run", "r", "--enhancer-window", "0"], "--enhancer-window"),
    (["prepare", "--pairs", "p", "--genome", "g", "--run", "r", "--promoter-window", "-5"], "--promoter-window"),
    (["prepare", "--pairs", "p", "--genome", "g", "--run", "r", "--augment", "-1"], "--augment"),
    (["prepare", "--pairs", "p", "--genome", "g", "--run", "r", "--test-fraction", "1.5"], "--test-fraction"),
    (["prepare", "--pairs", "p", "--genome", "g", "--run", "r", "--seed", "-1"], "--seed"),
    (["candidates", "--enhancers", "e", "--promoters", "p", "--out", "o", "--max-distance", "-1"],
     "--max-distance"),
    (["demo-data", "d", "--cell-lines", "0"], "--cell-lines"),
    (["demo-data", "d", "--pairs-per-cell", "-10"], "--pairs-per-cell"),
    (["motifs", "r", "--max-logos", "-1"], "--max-logos"),
    (["motifs", "r", "--null-draws", "-1"], "--null-draws"),
    (["motifs", "r", "--fraction", "2"], "--fraction"),
    (["train", "r", "--pretrain-epochs", "many"], "--pretrain-epochs"),
    (["doctor", "--steps", "0"], "--steps"),
    (["doctor", "--enhancer-window", "-1"], "--enhancer-window"),
    (["attribute", "r", "--references", "0"], "--references"),
    (["modisco", "r", "--max-pairs", "0"], "--max-pairs"),
])
def test_numeric_options_are_checked_at_the_door(argv, option, capsys):
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(argv)
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"speid {argv[0]}: error: argument {option}") and "must be" in last, last


def _window_case(tmp: Path, chrom_length: int, n_pairs: int):
    """A one-chromosome genome of ``chrom_length`` bp and ``n_pairs`` pairs of distinct elements."""
    from speidlib.data.dataset import PrepareConfig

    genome = tmp / "g.fa"
    genome.write_text(">chr1\n" + "ACGT" * (chrom_length // 4) + "\n")
    pairs = tmp / "p.csv"
    pairs.write_text("enhancer_name,promoter_name,label\n" + "".join(
        f"T|chr1:{100 * i}-{100 * i + 50},T|chr1:{chrom_length - 1000 + i}-{chrom_length - 990 + i},{i % 2}\n"
        for i in range(1, n_pairs + 1)))
    return lambda **windows: PrepareConfig(pairs=str(pairs), genome=str(genome), **windows)


def test_prepare_refuses_a_window_that_cannot_fit_naming_its_size(tmp_path):
    from speidlib.data.dataset import prepare

    config = _window_case(tmp_path, 4000, 19)
    with pytest.raises(ValueError, match=r"enhancer window of 100,000,000 bp .*longer than .*chr1, 4,000 bp"):
        prepare(config(enhancer_window=100_000_000), tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / schema.DATASET_FILE).exists()


def test_prepare_estimates_the_datasets_memory_before_allocating(tmp_path, monkeypatch):
    from speidlib.data import dataset as D

    config = _window_case(tmp_path, 20_000, 39)
    monkeypatch.setattr(D, "memory_bytes", lambda: (1_000_000, 1_000_000))  # a machine of 1 MB
    with pytest.raises(ValueError, match=r"enhancer window of 15,000 bp.*39 enhancer.*1\.2 MB in memory.*1\.0 MB"):
        D.prepare(config(enhancer_window=15_000, promoter_window=100), tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / schema.DATASET_FILE).exists()


def test_serve_dashboards_takes_the_port_from_the_environment(tmp_path):
    """``PORT=... scripts/serve_dashboards.sh`` as the README offers it (voila stood in for by a stub)."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "serve_dashboards.sh", root / "scripts")
    (root / "runs").mkdir()
    (root / "dashboards").mkdir()
    venv = root / ".venv"
    (venv / "share" / "jupyter" / "kernels" / "python3").mkdir(parents=True)
    (venv / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").write_text("{}")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").symlink_to(sys.executable)
    voila = venv / "bin" / "voila"
    voila.write_text('#!/bin/sh\necho "voila $*" > "$(dirname "$0")/../../voila_args"\n')
    voila.chmod(0o755)
    env = {**os.environ, "PORT": "9123"}
    env.pop("SPEID_RUNS_ROOT", None)
    subprocess.run(["bash", str(root / "scripts" / "serve_dashboards.sh")], env=env, capture_output=True,
                   timeout=60)
    assert "--port=9123" in (root / "voila_args").read_text()
