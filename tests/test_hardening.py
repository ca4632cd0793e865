"""Issue 16: no silent wrong results. One test (or a few) per point of the issue.

Data-side tests build a tiny genome and pair tables by hand; model-side tests use the
session's ``tiny_run`` (tests/conftest.py) copied to a temporary folder.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speidlib import schema
from speidlib.data.dataset import Dataset, PrepareConfig, prepare
from speidlib.data.genome import Genome
from speidlib.data.leakage import leakage_report
from speidlib.data.pairs import element_index
from speidlib.data.splits import element_groups, split_pairs
from speidlib.io import atomic_write_text
from speidlib.model.load import load_run_model
from speidlib.run import DATASET_SHA256, Run, run_lock

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"chr1": 3000, "chr2": 3000}
W = 60


def _genome(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    path = folder / "g.fa"
    with open(path, "w") as fh:
        for c, n in SIZES.items():
            seq = "".join(rng.choice(list("ACGT"), n))
            fh.write(f">{c}\n" + "\n".join(seq[i:i + 50] for i in range(0, n, 50)) + "\n")
    return path


def _rows(n=60):
    """Valid pairs.csv rows: distinct pairs, every fifth positive, on two chromosomes."""
    rows = []
    for i in range(n):
        c = "chr1" if i % 2 else "chr2"
        es, ps = 100 + 37 * i % 2000, 2300 + (i % 7) * 60
        rows.append((c, es, es + 30, c, ps, ps + 40, int(i % 5 == 0)))
    return rows


def _write_pairs(path: Path, rows, cell="T") -> Path:
    head = ("enhancer_chrom,enhancer_start,enhancer_end,promoter_chrom,promoter_start,"
            "promoter_end,cell_line,label")
    lines = [head] + [f"{c},{es},{ee},{pc},{ps},{pe},{cell},{y}" for c, es, ee, pc, ps, pe, y in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(pairs, genome, **kw):
    kw = {"enhancer_window": W, "promoter_window": W, "augment": 2, "valid_fraction": 0.2,
          "test_fraction": 0.2, **kw}
    return PrepareConfig(pairs=str(pairs), genome=str(genome), **kw)


@pytest.fixture()
def folder(tmp_path):
    return tmp_path, _genome(tmp_path)


def _snapshot(run: Path) -> dict:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


# --- 1. fingerprints, refusal, --overwrite ----------------------------------------------
def test_prepare_refuses_an_existing_run_and_overwrite_removes_every_derived_artifact(folder):
    tmp, genome = folder
    pairs = _write_pairs(tmp / "pairs.csv", _rows())
    run = tmp / "run"
    prepare(_config(pairs, genome), run, progress=False)
    first = json.loads((run / schema.CONFIG_FILE).read_text())["prepare"]
    assert first[DATASET_SHA256] == __import__("speidlib.io").io.sha256(run / schema.DATASET_FILE)
    # stand-ins for what later steps write, and a file of the user's
    for name in (schema.MODEL_FILE, schema.METRICS_FILE, schema.PREDICTIONS_FILE):
        (run / name).write_text("old")
    (run / schema.CHECKPOINT_DIR).mkdir()
    (run / schema.CHECKPOINT_DIR / schema.CHECKPOINT_STATE).write_text("{}")
    (run / schema.LINKS_DIR).mkdir()                       # `speid score`'s default output folder
    (run / schema.LINKS_DIR / "pairs.bedpe").write_text("old")
    Run(run).register("score", [run / schema.LINKS_DIR / "pairs.bedpe"])  # as `speid score` does
    (run / "my_notes.txt").write_text("keep")
    before = _snapshot(run)
    with pytest.raises(ValueError, match="already holds a run .*--overwrite"):
        prepare(_config(pairs, genome, seed=1), run, progress=False)
    assert _snapshot(run) == before
    prepare(_config(pairs, genome, seed=1), run, progress=False, overwrite=True)
    left = sorted(p.name for p in run.iterdir())
    assert left == sorted([schema.DATASET_FILE, schema.CONFIG_FILE, schema.LEAKAGE_FILE, schema.MANIFEST_FILE,
                           "my_notes.txt"])
    second = json.loads((run / schema.CONFIG_FILE).read_text())["prepare"]
    assert second["seed"] == 1 and second[DATASET_SHA256] != first[DATASET_SHA256]


def _copy_run(tiny_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


def test_model_from_another_dataset_is_refused_by_evaluate_and_resume(tiny_run, tmp_path):
    from speidlib.evaluate.heldout import run_evaluate
    from speidlib.train.stages import train_run

    run = _copy_run(tiny_run, tmp_path)
    cfg = json.loads((run / schema.CONFIG_FILE).read_text())
    assert cfg["train"][DATASET_SHA256] == cfg["prepare"][DATASET_SHA256]
    Run(run).check_model()  # the run as trained passes
    cfg["prepare"][DATASET_SHA256] = "0" * 64  # as if prepared again from other inputs
    (run / schema.CONFIG_FILE).write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="another dataset .*speid train"):
        run_evaluate(run, n_bootstrap=0)
    with pytest.raises(ValueError, match="not the dataset `speid prepare` recorded"):
        train_run(run, preset="cpu", pretrain_epochs=1, retrain_epochs=1, progress=False, resume=True)


def test_replaced_or_truncated_model_is_refused_in_one_line(tiny_run, tmp_path):
    run = _copy_run(tiny_run, tmp_path)
    data = (run / schema.MODEL_FILE).read_bytes()
    (run / schema.MODEL_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="content hash differs"):
        Run(run).check_model()
    with pytest.raises(ValueError, match="damaged or incomplete"):
        load_run_model(run, check=False)


def test_resume_from_checkpoints_of_another_dataset_is_refused(tiny_run, tmp_path):
    from speidlib.train.stages import train_run

    run = _copy_run(tiny_run, tmp_path)
    state_path = run / schema.CHECKPOINT_DIR / schema.CHECKPOINT_STATE
    state = json.loads(state_path.read_text())
    state["run"][DATASET_SHA256] = "f" * 64
    state_path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="checkpoint .* another dataset"):
        train_run(run, preset="cpu", pretrain_epochs=1, retrain_epochs=1, progress=False, resume=True)


# --- 2. elements by coordinates ---------------------------------------------------------
def test_one_element_under_two_names_is_one_element_everywhere():
    # rows 0 and 1: the same enhancer and promoter coordinates named for two cell lines
    pairs = pd.DataFrame({
        schema.ENHANCER_NAME: ["A|e", "B|e", "A|f"], schema.PROMOTER_NAME: ["A|p", "B|p", "A|q"],
        schema.CHROM: "chr1", schema.ENHANCER_START: [10, 10, 500], schema.ENHANCER_END: [20, 20, 510],
        schema.PROMOTER_START: [100, 100, 900], schema.PROMOTER_END: [130, 130, 930],
        schema.LABEL: [1, 0, 1], schema.DISTANCE: [100, 100, 400]})
    table, index = element_index(pairs, "enhancer")
    assert len(table) == 2 and index.tolist() == [0, 0, 1] and table.name.tolist() == ["A|e", "A|f"]
    assert element_groups(pairs).tolist() == [0, 0, 1]
    report = leakage_report(pairs, ["train", "test", "train"]).overlap.loc["test"]
    assert (report["enhancers_in_train"], report["promoters_in_train"]) == (1, 1)


def test_group_split_of_a_mixed_table_never_shares_coordinates():
    rows = []
    for cell in ("A", "B"):  # two cell lines' names for the same 40 elements
        for i in range(40):
            rows.append({schema.ENHANCER_NAME: f"{cell}|e{i}", schema.PROMOTER_NAME: f"{cell}|p{i // 4}",
                         schema.CHROM: "chr1", schema.ENHANCER_START: 1000 * i,
                         schema.ENHANCER_END: 1000 * i + 50, schema.PROMOTER_START: 90000 + 100 * (i // 4),
                         schema.PROMOTER_END: 90000 + 100 * (i // 4) + 40,
                         schema.LABEL: int(i % 3 == 0 and cell == "A")})
    pairs = pd.DataFrame(rows)
    split = split_pairs(pairs, "group", test_fraction=0.2, valid_fraction=0.2, seed=0)
    key = pairs[schema.ENHANCER_START]
    assert not set(key[split == "train"]) & set(key[split == "test"])
    assert not set(key[split == "train"]) & set(key[split == "valid"])


# --- 3. elements within their chromosome --------------------------------------------------
def test_element_past_the_chromosome_end_names_file_row_chromosome_and_length(folder):
    tmp, genome = folder
    rows = _rows()
    rows[7] = ("chr1", 2990, 3050, "chr1", 2400, 2440, 0)  # runs 50 bp past chr1's 3,000
    pairs = _write_pairs(tmp / "bad.csv", rows)
    with pytest.raises(ValueError, match=r"bad\.csv, line 9: enhancer chr1:2990-3050 runs past "
                                         r"the end of chr1 \(3,000 bp in g\.fa.*assembly"):
        prepare(_config(pairs, genome), tmp / "run", progress=False)


def test_windows_past_a_chromosome_end_are_counted(folder):
    tmp, genome = folder
    rows = _rows()
    rows[3] = ("chr1", 2960, 2990, "chr1", 2400, 2440, 0)  # in chr1, but its 60 bp window is not
    pairs = _write_pairs(tmp / "edge.csv", rows)
    prepare(_config(pairs, genome), tmp / "run", progress=False)
    summary = json.loads((tmp / "run" / schema.CONFIG_FILE).read_text())["prepare"]["summary"]
    assert summary["windows_padded_with_n"] == {"enhancer": 1, "promoter": 0}


# --- 4. the FASTA index -----------------------------------------------------------------
def test_stale_or_mismatched_index_is_rebuilt(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\nACGTACGTAC\nAC\n>chr2\nTTTT\n")
    with Genome(fa) as g:
        assert g.chrom_sizes == {"chr1": 12, "chr2": 4}
    fa.write_text(">chr1\nACGTACGTAC\nACGTACGTAC\nAC\n>chr2\nGGGGGG\n")  # downloaded again
    future = time.time() + 60
    os.utime(str(fa) + ".fai", (future, future))  # an index that looks newer but is wrong
    with Genome(fa) as g:
        assert g.chrom_sizes == {"chr1": 22, "chr2": 6}
        assert g.fetch("chr2", 0, 6).tolist() == [2] * 6  # G, not N


def test_index_goes_to_the_cache_when_the_fasta_folder_is_read_only(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "g.fa").write_text(">chr1\nACGT\n")
    ro.chmod(0o555)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        with Genome(ro / "g.fa") as g:
            assert g.index_path.parent == tmp_path / "cache" / "speid" / "fai"
            assert g.fetch("chr1", 0, 4).tolist() == [0, 1, 2, 3]
    finally:
        ro.chmod(0o755)


def test_index_goes_to_the_cache_when_the_fasta_folder_is_not_writable(tmp_path, monkeypatch):
    """The same fallback, on any user (root included): the FASTA's folder reported unwritable."""
    from speidlib.data import genome as G

    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "g.fa").write_text(">chr1\nACGT\n")
    real_access = os.access
    monkeypatch.setattr(G.os, "access", lambda path, mode: False if Path(path) == ro else real_access(path, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with Genome(ro / "g.fa") as g:
        assert g.index_path.parent == tmp_path / "cache" / "speid" / "fai"
        assert g.fetch("chr1", 0, 4).tolist() == [0, 1, 2, 3]
    assert not (ro / "g.fa.fai").exists()
    # and when the cache cannot be written either: one line saying so
    monkeypatch.setattr(G.os, "access", lambda path, mode: False)
    (ro / "h.fa").write_text(">chr1\nACGT\n")
    with pytest.raises(ValueError, match="cannot be written there or in"):
        Genome(ro / "h.fa")


def test_fasta_path_that_is_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a FASTA file"):
        Genome(tmp_path)


# --- 5. duplicates and conflicting labels ---------------------------------------------------
def test_duplicate_pairs_are_collapsed_and_conflicting_labels_name_both_rows(folder):
    tmp, genome = folder
    rows = _rows()
    dup = _write_pairs(tmp / "dup.csv", rows + [rows[0], rows[5], rows[0]])
    prepare(_config(dup, genome), tmp / "run", progress=False)
    summary = json.loads((tmp / "run" / schema.CONFIG_FILE).read_text())["prepare"]["summary"]
    assert (summary["n_pairs"], summary["n_duplicates_collapsed"]) == (60, 3)
    assert len(Dataset(tmp / "run").label) == 60
    flipped = (*rows[4][:6], 1 - rows[4][6])
    bad = _write_pairs(tmp / "conflict.csv", rows + [flipped])
    with pytest.raises(ValueError, match=r"conflict\.csv, lines 6 and 62: the same pair .* labelled"):
        prepare(_config(bad, genome), tmp / "run2", progress=False)


# --- 6. both classes everywhere -------------------------------------------------------------
def test_table_or_split_without_a_class_is_refused(folder):
    tmp, genome = folder
    no_pos = _write_pairs(tmp / "neg.csv", [(*r[:6], 0) for r in _rows()])
    with pytest.raises(ValueError, match=r"neg\.csv: all 60 pairs are labelled 0"):
        prepare(_config(no_pos, genome), tmp / "run", progress=False)
    # the only positives are on chr1; holding chr1 out as test leaves training without any
    rows = [(*r[:6], int(r[0] == "chr1" and i % 4 == 1)) for i, r in enumerate(_rows())]
    one_chrom = _write_pairs(tmp / "chr1pos.csv", rows)
    with pytest.raises(ValueError, match="leaves the training set .* without positive pairs"):
        prepare(_config(one_chrom, genome, split="chromosome", test_chromosomes=["chr1"],
                        valid_fraction=0.0), tmp / "run", progress=False)
    assert not (tmp / "run" / schema.CONFIG_FILE).exists()


# --- 7. score --out and baselines -----------------------------------------------------------
def test_score_out_may_not_be_an_input_or_a_run_file(tmp_path):
    run = tmp_path / "run"
    pairs = tmp_path / "pairs.csv"
    for out, what in ((pairs, "--pairs file"), (run / schema.PREDICTIONS_FILE, "predictions.csv"),
                      (run / schema.MOTIFS_DIR / "x.csv", "motifs")):
        with pytest.raises(ValueError, match=what):
            Run(run).check_output_path(out, {"--pairs": pairs, "--genome": tmp_path / "g.fa"})
    Run(run).check_output_path(run / "scores.bedpe", {"--pairs": pairs})


def test_baselines_keep_two_tables_of_one_cell_line(folder, monkeypatch):
    from speidlib.app import cli, reports

    tmp, _ = folder
    a = _write_pairs(tmp / "a.csv", _rows(), cell="K562")
    b = _write_pairs(tmp / "b.csv", _rows(40), cell="K562")
    seen = {}
    monkeypatch.setattr(reports, "run_baselines", lambda out, tables, **kw: seen.update(tables) or {})
    assert cli.main(["baselines", str(tmp / "out"), "--pairs", str(a), str(b)]) == 0
    assert {k: len(v) for k, v in seen.items()} == {"K562 (a.csv)": 60, "K562 (b.csv)": 40}


# --- 9. one line per user error -------------------------------------------------------------
def _speid(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "speidlib.app.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_user_errors_are_one_line_without_tensorflow_logs(folder):
    tmp, genome = folder
    p = _speid("evaluate", str(tmp / "missing"), cwd=tmp)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert p.stderr.startswith("speid evaluate: error: ")
    p = _speid("prepare", "--pairs", str(tmp / "nope.csv"), "--genome", str(tmp), "--run", "r", cwd=tmp)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    p = _speid("demo-data", str(genome), cwd=tmp)  # a file, not a folder
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "g.fa" in p.stderr, p.stderr
    p = _speid("--debug", "demo-data", str(genome), cwd=tmp)
    assert p.returncode == 2 and "Traceback" in p.stderr


def test_non_ascii_cell_line_round_trips(folder):
    tmp, genome = folder
    pairs = _write_pairs(tmp / "p.csv", _rows(), cell="Zelllinie-ä")
    prepare(_config(pairs, genome), tmp / "run", progress=False)
    assert set(Dataset(tmp / "run").pairs[schema.CELL_LINE]) == {"Zelllinie-ä"}


# --- 10. stray temporaries and the lock -------------------------------------------------------
def test_stray_temporaries_are_removed_and_a_second_writer_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stray = run / f".{schema.DATASET_FILE}.{dead.pid}.abcd1234.tmp"
    stray.write_bytes(b"x" * 100)
    atomic_write_text(run / schema.DATASET_FILE, "new")  # the next write of that file
    assert not stray.exists()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (run / schema.LOCK_FILE).write_text(json.dumps(
            {"pid": holder.pid, "host": __import__("socket").gethostname(), "step": "train"}))
        with pytest.raises(ValueError, match=rf"`speid train` \(process {holder.pid}"):
            with run_lock(run, "evaluate"):
                pass
    finally:
        holder.kill()
        holder.wait()
    (run / ".model.123.tmp.keras").write_text("x")  # a crashed save_model's file
    with run_lock(run, "evaluate"):  # the holder is gone: the stale lock is taken over
        assert json.loads((run / schema.LOCK_FILE).read_text())["pid"] == os.getpid()
    assert not (run / schema.LOCK_FILE).exists() and not (run / ".model.123.tmp.keras").exists()


# --- 11. paths in config.json ----------------------------------------------------------------
def test_recorded_paths_resolve_from_any_working_directory(folder, monkeypatch):
    tmp, genome = folder
    _write_pairs(tmp / "pairs.csv", _rows())
    monkeypatch.chdir(tmp)
    prepare(_config("pairs.csv", "g.fa"), "run", progress=False)  # relative, as typed
    monkeypatch.chdir(tmp / "run")
    assert Run(tmp / "run").recorded_path("prepare", "pairs") == tmp.resolve() / "pairs.csv"
    old = json.loads((tmp / "run" / schema.CONFIG_FILE).read_text())
    old["prepare"]["genome"] = "g.fa"  # a run from before: relative to where prepare ran
    (tmp / "run" / schema.CONFIG_FILE).write_text(json.dumps(old))
    assert Run(tmp / "run").recorded_path("prepare", "genome") == tmp.resolve() / "g.fa"


# --- 12. property: prepare writes a consistent run or fails in one line, touching nothing ------
_ROW = st.one_of(
    st.tuples(st.sampled_from(["chr1", "chr2"]), st.integers(0, 2900), st.integers(1, 80),
              st.integers(0, 2900), st.integers(1, 80), st.integers(0, 1)).map(
        lambda t: f"{t[0]},{t[1]},{t[1] + t[2]},{t[0]},{t[3]},{t[3] + t[4]},T,{t[5]}"),
    st.sampled_from([
        "chr1,10,40,chr1,2990,3100,T,0",      # past the chromosome end
        "chr3,10,40,chr3,100,140,T,1",        # a chromosome the genome lacks
        "chr1,50,40,chr1,100,140,T,0",        # start > end
        "chr1,10,40,chr2,100,140,T,1",        # two chromosomes
        "chr1,10,40,chr1,100,140,T,2",        # label 2
        "chr1,10,40,chr1,100,140,T,1",        # with the next: one pair, two labels
        "chr1,10,40,chr1,100,140,T,0",
        "chr1,x,40,chr1,100,140,T,0",         # not a number
    ]))


@pytest.fixture(scope="module")
def prop_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("prop")
    genome = _genome(root)
    pairs = _write_pairs(root / "good.csv", _rows())
    run = root / "run"
    prepare(_config(pairs, genome), run, progress=False)
    return root, genome, run


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=1, max_size=60))
def test_prepare_property_consistent_run_or_one_line_error(prop_root, rows):
    root, genome, run = prop_root
    head = ("enhancer_chrom,enhancer_start,enhancer_end,promoter_chrom,promoter_start,"
            "promoter_end,cell_line,label")
    table = root / "drawn.csv"
    table.write_text("\n".join([head, *rows]) + "\n")
    existing = root / "existing"
    shutil.rmtree(existing, ignore_errors=True)
    shutil.copytree(run, existing)
    before = _snapshot(existing)
    try:
        prepare(_config(table, genome), existing, progress=False, overwrite=True)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        assert _snapshot(existing) == before  # a failure leaves the run byte-identical
        return
    ds, cfg = Dataset(existing), json.loads((existing / schema.CONFIG_FILE).read_text())["prepare"]
    assert cfg["summary"]["n_pairs"] == len(ds.label) and cfg["pairs"] == str(table.resolve())
    for split in ("train", "valid", "test"):
        y = ds.label[ds.split_index(split)]
        assert 0 < y.sum() < len(y)
    coords = ds.pairs[[schema.CHROM, schema.ENHANCER_START, schema.ENHANCER_END,
                       schema.PROMOTER_START, schema.PROMOTER_END]]
    assert not coords.duplicated().any()
