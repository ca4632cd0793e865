"""Nothing stale, nothing of the user's deleted (#27 points 2 and 4): the probe's cases.

Each test reproduces one case the second hardening probe found; each failed on
the code before the run directory kept a manifest and artifacts recorded their
model (commit 304583b's parent).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.data.dataset import PrepareConfig, prepare
from speidlib.io import sha256

SIZES = {"chr1": 3000, "chr2": 3000}


def _genome(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    path = folder / "g.fa"
    with open(path, "w") as fh:
        for c, n in SIZES.items():
            fh.write(f">{c}\n{''.join(rng.choice(list('ACGT'), n))}\n")
    return path


def _pairs(path: Path, chrom2: str = "chr2") -> Path:
    lines = ["enhancer_chrom,enhancer_start,enhancer_end,promoter_chrom,promoter_start,promoter_end,"
             "cell_line,label"]
    for i in range(60):
        c = "chr1" if i % 2 else chrom2
        es, ps = 100 + 37 * i % 2000, 2300 + (i % 7) * 60
        lines.append(f"{c},{es},{es + 30},{c},{ps},{ps + 40},T,{int(i % 5 == 0)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(pairs, genome, **kw) -> PrepareConfig:
    return PrepareConfig(pairs=str(pairs), genome=str(genome), enhancer_window=60, promoter_window=60,
                         augment=2, valid_fraction=0.2, test_fraction=0.2, **kw)


def _copy_run(tiny_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


def _recorded(run: Path, key: str) -> str:
    return json.loads((run / schema.CONFIG_FILE).read_text())["prepare"][key]


# --- #27 point 2: --overwrite deletes only what the workbench wrote ------------------------------
def test_overwrite_keeps_the_users_own_notebooks_motifs_and_genome_wide(tmp_path):
    """The probe: `prepare --overwrite` on a folder the first `prepare` had accepted deleted the
    user's own notebooks/, motifs/ and genome_wide/ there."""
    genome, pairs, run = _genome(tmp_path), _pairs(tmp_path / "pairs.csv"), tmp_path / "run"
    mine = {schema.RUN_NOTEBOOKS_DIR: "analysis.ipynb", schema.MOTIFS_DIR: "my_motifs.meme",
            schema.LINKS_DIR: "hic_loops.bedpe"}
    for folder, name in mine.items():
        (run / folder).mkdir(parents=True)
        (run / folder / name).write_text("the user's")
    prepare(_config(pairs, genome), run, progress=False)  # a folder of loose folders is accepted
    prepare(_config(pairs, genome, seed=1), run, progress=False, overwrite=True)
    for folder, name in mine.items():
        assert (run / folder / name).read_text() == "the user's", f"{folder}/{name} was deleted"
    assert json.loads((run / schema.CONFIG_FILE).read_text())["prepare"]["seed"] == 1


def test_overwrite_removes_what_the_workbench_wrote_and_nothing_else(tiny_run, tmp_path):
    """A trained, evaluated run with motifs: --overwrite removes every artifact the steps wrote
    (model, checkpoints, metrics, predictions, motifs/...), and keeps a file the user put in
    motifs/ and beside the run."""
    run = _copy_run(tiny_run, tmp_path)
    (run / schema.MOTIFS_DIR / "my_notes.txt").write_text("keep")
    (run / "notes.txt").write_text("keep")
    written = [schema.MODEL_FILE, schema.METRICS_FILE, schema.PREDICTIONS_FILE, schema.PREDICTIONS_BEDPE,
               schema.HISTORY_FILE, schema.CHECKPOINT_DIR, schema.INITIAL_KERNELS_FILE,
               f"{schema.MOTIFS_DIR}/{schema.MOTIF_SUMMARY_FILE}", f"{schema.MOTIFS_DIR}/{schema.MOTIF_MATCHES_FILE}"]
    assert all((run / n).exists() for n in written)
    prepare(PrepareConfig(pairs=_recorded(run, "pairs"), genome=_recorded(run, "genome"), enhancer_window=400,
                          promoter_window=400, augment=5, seed=1), run, progress=False, overwrite=True)
    assert [n for n in written if (run / n).exists()] == []
    assert (run / schema.MOTIFS_DIR / "my_notes.txt").read_text() == "keep"
    assert (run / "notes.txt").read_text() == "keep"
    assert (run / schema.DATASET_FILE).exists()


def test_a_refused_prepare_leaves_no_empty_run_folder(tmp_path):
    """The probe: a refused `prepare` left an empty run folder behind."""
    genome = _genome(tmp_path)
    bad = _pairs(tmp_path / "pairs.csv", chrom2="chrX")  # a chromosome the genome lacks
    run = tmp_path / "new" / "run"
    with pytest.raises(ValueError, match="chrX"):
        prepare(_config(bad, genome), run, progress=False)
    assert not (tmp_path / "new").exists()


# --- #27 point 4: what a model made records the model; a new model makes it stale -----------------
def _one_line_error(model) -> str:
    assert model.error and "\n" not in model.error, model.error
    return model.error


def test_retraining_makes_metrics_predictions_motifs_and_links_stale(tiny_run, tmp_path, monkeypatch):
    """The probe: retraining an evaluated run left the old model's metrics.json and predictions in
    place with nothing marking them stale (metrics.json recorded no model hash). Now each artifact
    names its model; the dashboards refuse what a replaced model made, in one line."""
    from speidlib.app.dashboards import LinksModel, MotifsModel, PredictionsModel
    from speidlib.evaluate.heldout import run_evaluate
    from speidlib.score.run import run_score
    from speidlib.train.stages import train_run

    monkeypatch.setenv(schema.EXAMPLE_RUNS_ENV, "")
    run = _copy_run(tiny_run, tmp_path)
    old_model = sha256(run / schema.MODEL_FILE)
    some = pd.read_csv(_recorded(run, "pairs")).head(40)
    some.to_csv(tmp_path / "some.csv", index=False)
    run_score(run, tmp_path / "some.csv", _recorded(run, "genome"), progress=False)
    assert json.loads((run / schema.METRICS_FILE).read_text())["model_sha256"] == old_model
    assert json.loads((run / schema.MOTIFS_DIR / schema.MOTIF_SUMMARY_FILE).read_text())["model_sha256"] \
        == old_model
    for view in (PredictionsModel, MotifsModel, LinksModel):
        assert view(tmp_path, "run").error == "", view

    train_run(run, preset="cpu", pretrain_epochs=1, retrain_epochs=1, seed=1, progress=False)
    assert sha256(run / schema.MODEL_FILE) != old_model
    assert "stale" in _one_line_error(PredictionsModel(tmp_path, "run"))
    assert "stale" in _one_line_error(MotifsModel(tmp_path, "run"))
    assert "stale" in _one_line_error(LinksModel(tmp_path, "run"))

    run_evaluate(run, n_bootstrap=10)  # evaluated again: the predictions are the new model's
    assert PredictionsModel(tmp_path, "run").error == ""
    assert json.loads((run / schema.METRICS_FILE).read_text())["model_sha256"] == \
        sha256(run / schema.MODEL_FILE)


def test_score_refuses_while_train_replaces_the_model(tiny_run, tmp_path):
    """The probe: `score` started while `train` replaced the model scored with the old one (score
    took no lock). Now it reads the model under the run's lock: refused while train holds it."""
    from speidlib.score.run import run_score

    run = _copy_run(tiny_run, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / schema.LOCK_FILE).write_text(json.dumps(
            {"pid": holder.pid, "host": socket.gethostname(), "step": "train"}))
        for out in (None, tmp_path / "elsewhere.csv"):   # into the run, and outside it
            with pytest.raises(ValueError, match=rf"being written by `speid train` \(process {holder.pid}"):
                run_score(run, _recorded(run, "pairs"), _recorded(run, "genome"), out_path=out,
                          progress=False)
        assert not (run / schema.LINKS_DIR).exists() and not (tmp_path / "elsewhere.csv").exists()
        # a step that only reads the model (evaluate) does not hold score up: the workflow's
        # score jobs run beside it, each on a checked copy of the model
        (run / schema.LOCK_FILE).write_text(json.dumps(
            {"pid": holder.pid, "host": socket.gethostname(), "step": "evaluate"}))
        pd.read_csv(_recorded(run, "pairs")).head(20).to_csv(tmp_path / "some.csv", index=False)
        done = run_score(run, tmp_path / "some.csv", _recorded(run, "genome"), progress=False)
        assert done["n_pairs"] == 20 and done["model_sha256"] == sha256(run / schema.MODEL_FILE)
    finally:
        holder.kill()
        holder.wait()
    os.remove(run / schema.LOCK_FILE)
