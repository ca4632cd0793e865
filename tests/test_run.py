"""The Run object (speidlib.run): paths, step records, the manifest and the provenance check."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from speidlib import schema
from speidlib.io import sha256
from speidlib.run import (
    EvaluateRecord,
    MotifsRecord,
    Run,
    TrainRecord,
    provenance_reason,
    run_lock,
)
from speidlib.run.lock import lock_holder, record_lock
from speidlib.run.records import RECORDS
from speidlib.train.options import TrainOptions, recorded_parameters

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / schema.EXAMPLE_RUNS_DIR / "demo_cpu"


# --- the provenance check -------------------------------------------------------------------
def test_provenance_reason_names_the_input_or_parameter_that_differs():
    recorded = {"dataset_sha256": "a" * 64, "seed": 0, "preset": "cpu"}
    assert provenance_reason("m", recorded, {"dataset_sha256": "a" * 64}, {"seed": 0}) == ""
    assert provenance_reason("m", recorded, {"dataset_sha256": "b" * 64}, {"seed": 1}, remedy="train again") \
        == "m was made from another dataset (dataset aaaaaaaaaaaa, now bbbbbbbbbbbb): train again"
    assert provenance_reason("m", recorded, {"dataset_sha256": "a" * 64}, {"seed": 1, "preset": "cpu"}) \
        == "m was made with other parameters (seed=0, now 1)"


def test_an_unrecorded_fingerprint_is_not_compared_but_a_parameter_is():
    assert provenance_reason("m", {"model_sha256": None}, {"model_sha256": "x"}) == ""
    assert provenance_reason("m", {}, {"model_sha256": "x"}) == ""
    assert provenance_reason("m", {"model_sha256": "y"}, {"model_sha256": None}) == ""
    assert provenance_reason("m", {}, params={"seed": 0}) == "m was made with other parameters (seed=None, now 0)"


# --- records ----------------------------------------------------------------------------------
def test_every_section_of_the_committed_example_reads_and_writes_back_unchanged():
    config = json.loads((EXAMPLE / schema.CONFIG_FILE).read_text())
    for step, values in config.items():
        if step in RECORDS:
            record = RECORDS[step].from_dict(values)
            assert record.to_dict() == values and list(record.to_dict()) == list(values), step
    train = Run(EXAMPLE).train_record
    assert isinstance(train, TrainRecord) and train.status == "done" and train.preset["name"] == "cpu"
    assert recorded_parameters(train.to_dict()) == TrainOptions(preset="cpu", random_init=True).parameters()
    assert Run(EXAMPLE).prepare_record.enhancer_window == 1000


def test_a_new_record_writes_what_was_set_and_keeps_other_sections(tmp_path):
    run = Run(tmp_path)
    run.write_record("prepare", {"seed": 3, "dataset_sha256": "d"})
    run.write_record(EvaluateRecord(n_bootstrap=10, model_sha256="m"))
    config = json.loads(run.config_file.read_text())
    assert config["prepare"] == {"seed": 3, "dataset_sha256": "d"}
    assert config["evaluate"] == {"n_bootstrap": 10, "seed": 0, "model_sha256": "m"}
    assert "numpy" in config["versions"]
    assert run.record("evaluate").n_bootstrap == 10 and run.record("motifs") == MotifsRecord()
    with pytest.raises(ValueError, match="no 'train' record.*speid train"):
        run.record("train", missing_ok=False)


def test_paths_are_the_schema_names_under_the_run(tmp_path):
    run = Run(tmp_path / "r")
    assert run.model == tmp_path / "r" / schema.MODEL_FILE
    assert run.metrics == tmp_path / "r" / schema.METRICS_FILE
    assert run.motif_file(schema.MOTIF_MATCHES_FILE) == tmp_path / "r" / schema.MOTIFS_DIR / schema.MOTIF_MATCHES_FILE
    assert run.link_file("x.interact") == tmp_path / "r" / schema.LINKS_DIR / "x.interact"
    assert run.checkpoint_state == tmp_path / "r" / schema.CHECKPOINT_DIR / schema.CHECKPOINT_STATE
    assert Run(run).path == run.path and os.fspath(run) == str(tmp_path / "r")


# --- the manifest: --overwrite and stale artifacts ------------------------------------------------
def _file(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_clear_removes_what_the_manifest_names_and_the_workbench_files_only(tmp_path):
    run = Run(tmp_path)
    run.register("motifs", [_file(run.motif_file("matches.csv")), _file(run.motif_summary)], "m1")
    _file(run.checkpoints / "a.weights.h5")
    run.register("train", [run.checkpoints], folder=True)
    _file(run.model)                     # a workbench name: removed even when not entered
    mine = [_file(run.motif_file("mine.txt")), _file(run.links / "loops.bedpe"), _file(tmp_path / "notes.md")]
    outside = _file(tmp_path.parent / f"{tmp_path.name}_beside.txt")
    files = json.loads(run.manifest_file.read_text())
    files["files"][f"../{outside.name}"] = {"step": "evaluate"}  # a manifest edited by hand
    run.manifest_file.write_text(json.dumps(files))
    removed = run.clear()
    assert sorted(removed) == sorted([schema.MODEL_FILE, schema.CHECKPOINT_DIR,
                                      f"{schema.MOTIFS_DIR}/matches.csv",
                                      f"{schema.MOTIFS_DIR}/{schema.MOTIF_SUMMARY_FILE}"])
    assert all(p.exists() for p in mine) and outside.exists() and not run.manifest_file.exists()


def test_clear_of_a_run_from_before_the_manifest_keeps_its_folders_and_marks_them_stale(tmp_path):
    run = Run(tmp_path)
    for p in (run.model, run.metrics, run.motif_summary, run.links / "scores.csv"):
        _file(p)
    assert sorted(run.clear()) == [schema.METRICS_FILE, schema.MODEL_FILE]
    assert run.motif_summary.exists() and "stale" in run.stale_reason(run.motif_summary)
    assert "stale" in run.stale_reason(run.links / "scores.csv")


def test_an_artifact_of_another_model_is_stale_and_one_of_unknown_model_is_not(tmp_path):
    run = Run(tmp_path)
    _file(run.model, "model one")
    one = sha256(run.model)
    run.register("evaluate", [_file(run.predictions)], one)
    _file(run.metrics, json.dumps({"auroc": 0.9, "model_sha256": one}))
    _file(run.links / "old.csv")
    assert run.stale_reason(run.predictions) == run.stale_reason(run.metrics) == ""
    assert run.stale_reason(run.links / "old.csv") == ""   # not entered, no hash: not refused
    _file(run.model, "model two")
    assert "predictions.csv was made from another model" in run.stale_reason(run.predictions)
    with pytest.raises(ValueError, match="metrics.json was made from another model .* is stale"):
        run.read_metrics(check=True)


def test_a_train_record_names_the_old_model_in_what_it_made(tmp_path):
    """train's first record marks what the old model made (even files that name no model), so the
    new model makes them stale; the training outputs enter the manifest."""
    run = Run(tmp_path)
    _file(run.model, "old")
    run.write_record(TrainRecord(status="done", model_sha256=sha256(run.model)))
    _file(run.metrics, "{}")                         # a metrics.json without a model hash
    _file(run.links / "scores.csv")
    run.write_record(TrainRecord(status="running"))
    assert run.stale_reason(run.metrics) == ""       # the old model is still there
    _file(run.model, "new")
    run.write_record(TrainRecord(status="done", model_sha256=sha256(run.model)))
    assert "another model" in run.stale_reason(run.metrics)
    assert "another model" in run.stale_reason(run.links / "scores.csv")
    assert run.manifest()[schema.MODEL_FILE]["step"] == "train"
    assert run.manifest()[f"{schema.CHECKPOINT_DIR}/"]["step"] == "train"
    # the files it only noted are not the workbench's: --overwrite keeps them, still stale
    assert set(run.marks()) == {schema.METRICS_FILE, f"{schema.LINKS_DIR}/scores.csv"}
    run.clear()
    assert (run.links / "scores.csv").exists() and "another model" not in run.stale_reason(run.links / "scores.csv")
    assert run.stale_reason(run.links / "scores.csv") == ""  # no model now: nothing to compare with


def test_a_first_training_notes_nothing_in_the_users_folders(tmp_path):
    run = Run(tmp_path)
    mine = _file(run.motif_file("mine.txt"))
    run.write_record(TrainRecord(status="running"))
    assert run.marks() == {} and run.stale_reason(mine) == ""
    run.clear()
    assert mine.exists()


def test_check_model_returns_the_hash_and_refuses_a_running_or_foreign_model(tmp_path):
    run = Run(tmp_path)
    _file(run.model, "weights")
    run.write_record("prepare", {"dataset_sha256": "d1"})
    run.write_record(TrainRecord(status="done", dataset_sha256="d1", model_sha256=sha256(run.model)))
    assert run.check_model() == sha256(run.model)
    run.write_record("prepare", {"dataset_sha256": "d2"})
    with pytest.raises(ValueError, match="model.keras was made from another dataset"):
        run.check_model()
    run.write_record(TrainRecord(status="running"))
    with pytest.raises(ValueError, match="unfinished training run"):
        run.check_model()


def test_the_committed_example_is_current():
    """The committed example predates model hashes in its artifacts: accepted, not refused."""
    run = Run(EXAMPLE)
    assert run.check_model() == run.train_record.model_sha256
    assert run.read_metrics(check=True)["auroc"] > 0.5
    assert run.stale_reason(run.predictions) == run.stale_reason(run.motif_summary) == ""


# --- the lock ------------------------------------------------------------------------------
def _hold(run: Path, step: str, holder) -> None:
    (run / schema.LOCK_FILE).write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(),
                                                     "step": step}))


def test_a_record_waits_for_another_record_and_a_step_refuses_another_step(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _hold(tmp_path, "train", holder)
        assert lock_holder(tmp_path)["step"] == "train"
        with pytest.raises(ValueError, match=rf"being written by `speid train` \(process {holder.pid}"):
            with run_lock(tmp_path, "evaluate"):
                pass
        with record_lock(tmp_path):  # a record is written beside a step that holds the run
            Run(tmp_path).write_record(EvaluateRecord(n_bootstrap=1))
        (tmp_path / schema.RECORD_LOCK_FILE).write_text(json.dumps(
            {"pid": holder.pid, "host": socket.gethostname(), "step": "record"}))
        threading.Timer(0.5, lambda: (tmp_path / schema.RECORD_LOCK_FILE).unlink()).start()
        Run(tmp_path).write_record(EvaluateRecord(n_bootstrap=2))  # waits for the other record
        assert Run(tmp_path).record("evaluate").n_bootstrap == 2
    finally:
        holder.kill()
        holder.wait()
    assert lock_holder(tmp_path) is None  # its process is gone


def test_gather_into_a_run_enters_the_joined_file_with_its_parts_model(tmp_path):
    from speidlib.app.cli import main

    run = Run(tmp_path / "run")
    run.path.mkdir()
    run.write_record("prepare", {"seed": 0})
    parts = [_file(run.links / "parts" / f"chr{i}.csv", "a,b\n1,2\n") for i in (1, 2)]
    run.register("score", parts, "m1")
    assert main(["gather", *map(str, parts), "--out", str(run.link_file("scores.csv"))]) in (0, None)
    assert run.manifest()["genome_wide/scores.csv"] == {"step": "gather", "model_sha256": "m1"}
    run.register("score", parts[:1], "m2")
    main(["gather", *map(str, parts), "--out", str(run.link_file("mixed.csv"))])
    assert "different models" in run.stale_reason(run.link_file("mixed.csv"))
