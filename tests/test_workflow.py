"""workflow/Snakefile: the demo study end to end, incremental re-runs, and the TargetFinder plan."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
BIN = Path(sys.executable).parent
TARGETFINDER_CELLS = ["GM12878", "HeLa-S3", "HUVEC", "IMR90", "K562", "NHEK"]


def snakemake(workdir, *args, timeout=900):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([str(BIN / "snakemake"), "-s", str(SNAKEFILE), "--directory", str(workdir),
                           *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return proc.stdout + proc.stderr


def planned_jobs(output: str) -> dict[str, int]:
    """rule -> job count from the `Job stats` table of a (dry) run."""
    table = output.split("Job stats:")[1].split("\n\n")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m.group(1) != "total"}


def planned_outputs(output: str) -> list[str]:
    return [p for line in output.splitlines() if line.startswith("    output: ")
            for p in line[len("    output: "):].split(", ")]


def tiny_demo_config(path: Path) -> Path:
    config = yaml.safe_load((ROOT / "workflow" / "config" / "demo.yaml").read_text())
    config["speid"] = str(BIN / "speid")
    config["demo"].update(cell_lines=2, pairs_per_cell=1500)
    config["cell_lines"] = {c: f"data/demo_study/pairs_{c}.csv" for c in ("DEMO1", "DEMO2")}
    config["prepare"].update(enhancer_window=400, promoter_window=400)
    config["train"].update(pretrain_epochs=1, retrain_epochs=1)
    config["evaluate"]["bootstrap"] = 20
    config["baselines"]["bootstrap"] = 20
    config["genome_wide"]["max_distance"] = 100_000
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_demo_study_runs_then_reruns_only_what_changed(tmp_path):
    config = tiny_demo_config(tmp_path / "tiny.yaml")
    profile = ["--configfile", str(config), "--profile", str(ROOT / "workflow" / "profiles" / "local")]
    out = snakemake(tmp_path, *profile)
    jobs = planned_jobs(out)
    assert jobs["prepare"] == jobs["train"] == jobs["evaluate"] == jobs["motifs"] == 2
    assert jobs["score_chromosome"] == 2 * 4 and jobs["gather_scores"] == 2
    assert jobs["cross_cell"] == jobs["baselines"] == jobs["demo_data"] == jobs["demo_variants"] == 1
    assert jobs["variants_chromosome"] == 2 * 4 and jobs["gather_variants"] == 2

    runs = tmp_path / "runs"
    for cell in ("DEMO1", "DEMO2"):
        metrics = json.loads((runs / "demo_random" / cell / "metrics.json").read_text())
        assert 0.0 <= metrics["auroc"] <= 1.0 and metrics["n_test"] > 0
        assert (runs / "demo_random" / cell / "motifs" / "motifs.json").exists()
    matrix = pd.read_csv(runs / "demo_random" / "cross_cell" / "cross_cell_speid_auroc.csv", index_col=0)
    assert list(matrix.index) == list(matrix.columns) == ["DEMO1", "DEMO2"]
    assert ((matrix >= 0) & (matrix <= 1)).all().all()
    # the matrix's diagonal is each run's own test split, as `speid evaluate` scores it
    own = json.loads((runs / "demo_random" / "DEMO1" / "metrics.json").read_text())["auroc"]
    assert matrix.loc["DEMO1", "DEMO1"] == pytest.approx(own, abs=1e-6)
    assert (runs / "demo_random" / "cross_cell" / "cross_cell_speid_auroc.html").exists()
    assert (runs / "demo_baselines" / "baseline_table.csv").exists()
    # scatter/gather keeps every candidate pair exactly once
    for cell in ("DEMO1", "DEMO2"):
        def data_lines(path):
            return [l for l in Path(path).read_text().splitlines()
                    if l and not l.startswith(("#", "track", "browser"))]
        candidates = data_lines(runs / "demo_candidates" / cell / "candidates.bedpe")
        scores = data_lines(runs / "demo_random" / cell / "genome_wide" / "scores.bedpe")
        assert len(candidates) > 100 and len(scores) == len(candidates)
        assert sorted(l.split("\t")[0] for l in scores) == sorted(l.split("\t")[0] for l in candidates)

    # a second invocation has nothing to do
    assert "Nothing to be done" in snakemake(tmp_path, *profile)

    # changing one cell line's pair table re-runs that line's jobs and the matrices only
    # (Snakemake 9 compares checksums: a touch without a change re-runs nothing)
    demo2_model = runs / "demo_random" / "DEMO2" / "model.keras"
    before = demo2_model.stat().st_mtime_ns
    pairs = tmp_path / "data" / "demo_study" / "pairs_DEMO1.csv"
    header, *rows = pairs.read_text().splitlines()
    time.sleep(1)
    pairs.write_text("\n".join([header, *rows[::-1]]) + "\n")      # same pairs, another order
    plan = snakemake(tmp_path, *profile, "--dry-run")
    assert planned_jobs(plan) == {"prepare": 1, "train": 1, "evaluate": 1, "motifs": 1, "cross_cell": 1,
                                  "baselines": 1, "score_chromosome": 4, "gather_scores": 1,
                                  "variants_chromosome": 4, "gather_variants": 1, "all": 1}
    touched = [p for p in planned_outputs(plan) if "DEMO" in p]
    assert touched and not any("DEMO2" in p for p in touched)
    snakemake(tmp_path, *profile)
    assert demo2_model.stat().st_mtime_ns == before
    assert "Nothing to be done" in snakemake(tmp_path, *profile)


def test_targetfinder_dry_run_plans_six_cell_lines(tmp_path):
    genome = tmp_path / "placeholder_hg19.fa"
    genome.write_text(">chr1\nN\n")
    regions = tmp_path / "data" / "regions"
    regions.mkdir(parents=True)
    for cell in TARGETFINDER_CELLS:
        (regions / f"{cell}_enhancers.bed").write_text("")
    (regions / "promoters.bed").write_text("")
    (tmp_path / "data" / "variants").mkdir()
    (tmp_path / "data" / "variants" / "calls.vcf.gz").write_text("")
    out = snakemake(tmp_path, "--configfile", str(ROOT / "workflow" / "config" / "targetfinder.yaml"),
                    "--config", f"genome={genome}", "--dry-run", "--printshellcmds")
    chroms = 23                                   # chr1-22 and chrX
    assert planned_jobs(out) == {
        "fetch_targetfinder": 6, "prepare": 12, "train": 12, "evaluate": 12, "motifs": 12,
        "cross_cell": 2, "baselines": 1, "candidates": 6, "split_candidates": 6,
        "score_chromosome": 6 * chroms, "gather_scores": 6, "variants_chromosome": 6 * chroms,
        "gather_variants": 6, "all": 1}
    outputs = planned_outputs(out)
    for cell in TARGETFINDER_CELLS:
        for split in ("random", "chromosome"):
            assert f"runs/targetfinder_{split}/{cell}/model.keras" in outputs
    assert "runs/targetfinder_chromosome/K562/genome_wide/scores.abc" in outputs
    trains = re.findall(r"\bspeid train .*", out)
    assert len(trains) == 12 and all("--preset paper" in l for l in trains)
    # every training job asks the cluster for one GPU
    train_blocks = out.split("rule train:")[1:]
    assert len(train_blocks) == 12 and all("gpu=1" in b.split("\n\n")[0] for b in train_blocks)
    scores = re.findall(r"\bspeid score .*", out)
    # each job's CPU threads (the config's, capped by Snakemake at the cores it may use)
    assert len(scores) == 6 * chroms and all(re.search(r"--threads [1-9]\d* ", l) for l in scores)
    prepares = re.findall(r"\bspeid prepare .*", out)
    assert sum("--split chromosome" in l for l in prepares) == 6
    assert all("--enhancer-window 3000 --promoter-window 2000" in l for l in prepares)
