"""Regenerate ``examples/demo_cpu/``: the small, ready run the dashboards open on a fresh clone.

A fresh clone (or a Binder session) has no run until the notebooks have
run, so one small run is committed: the ``cpu`` preset trained on the demo's
first cell line, its held-out predictions, its motifs with logos and a
genome-wide scoring of the demo's candidate pairs on one chromosome. The
dashboards list it beside the runs under the runs root
(:func:`speidlib.app.dashboards.runs.example_runs_root`), and notebook 02 reuses
its model when notebook 01 prepared the same dataset (the defaults), so that
``make demo`` does not train it again.

Every step is the ``speid`` command line, started in a scratch folder with
paths relative to it (``demo/``, ``run/``: the layout of the repository after
notebook 01, whose default ``demo/`` holds the same demo), with the
inputs notebook 01 uses by default (demo seed 0, three cell lines of
105,000 pairs, ``DEMO1``, 1,000 bp windows, 4 shifts, random split, seed 0).
Only what the dashboards and notebook 02 read is copied into the example;
``dataset.h5`` (tens of MB) is not committed: ``--dataset-only`` writes it
again in a few minutes and checks that it is the dataset the model was
trained on (``postBuild`` runs it on Binder); without it the predictions
dashboard shows the example's table and curves, and says that a pair's
attribution needs ``dataset.h5``.
``example.json`` records the inputs, seeds, commands, versions and the
example's files. No record names a machine's path: the commands are relative
to the scratch folder, and so are the example's ``config.json`` paths
(``prepare.pairs`` ``demo/pairs_DEMO1.csv``, ``prepare.genome``
``demo/genome.fa``; ``speidlib.run.Run.recorded_path`` resolves them against the
run's parent folders, so from a checkout where notebook 01 wrote ``demo/``).

    .venv/bin/python scripts/make_example_run.py          # about 15 minutes on 2 quiet cores

Options: ``--out DIR`` (default ``examples/demo_cpu``), ``--keep-work DIR``
(keep the scratch folder there, e.g. for a full run with ``dataset.h5``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from speidlib import schema  # noqa: E402
from speidlib.io import atomic_write_json, sha256  # noqa: E402
from speidlib.run import Run  # noqa: E402

# The inputs: notebook 01's defaults, so that notebook 02 can reuse the model.
DEMO = {"seed": 0, "cell_lines": 3, "pairs_per_cell": 105_000, "cell_line": "DEMO1"}
PREPARE = {"enhancer_window": 1000, "promoter_window": 1000, "augment": 4, "split": "random", "seed": 0}
TRAIN = {"preset": "cpu", "seed": 0, "random_init": True, "threads": 2}
EVALUATE = {"bootstrap": 200, "seed": 0}
MOTIFS = {"max_logos": 12, "null_draws": 4, "seed": 0}  # other kernels' logos: drawn by the dashboard
# genome-wide scoring: every demo enhancer-promoter pair within max_distance, those of the
# enhancers starting in one stretch of one chromosome (the whole demo has 1.2 M candidates)
LINKS = {"chromosome": "chr4", "start": 0, "end": 5_000_000, "max_distance": 100_000, "format": "csv"}

# What goes into the example: the files the dashboards (and notebook 02's reuse) read.
COPIED = (schema.CONFIG_FILE, schema.MODEL_FILE, schema.HISTORY_FILE, schema.METRICS_FILE,
          schema.PREDICTIONS_FILE, schema.LEAKAGE_FILE, schema.JASPAR_INIT_FILE,
          schema.INITIAL_KERNELS_FILE)


def speid(*args, cwd: Path, dry: bool = False) -> list[str]:
    """Run one ``speid`` command (this interpreter, this checkout's speidlib) in ``cwd``,
    echoing it; return the command."""
    cmd = [sys.executable, "-m", "speidlib.app.cli", *map(str, args)]
    print("$ speid " + " ".join(map(str, args)), flush=True)
    if not dry:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        subprocess.run(cmd, check=True, cwd=cwd,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=path))
    return ["speid", *map(str, args)]


def relative_records(config_file: Path, work: Path) -> dict:
    """Rewrite ``config_file``'s paths inside ``work`` relative to ``work`` (atomically); return it.

    ``speid prepare`` records absolute paths (``prepare.pairs``, ``prepare.genome``);
    those of the scratch folder mean nothing on another machine
    (:meth:`speidlib.run.Run.relative_records`).
    """
    return Run(config_file.parent).relative_records(work)


def one_region(candidates: Path, chrom: str, start: int, end: int, out: Path) -> int:
    """Copy the BEDPE lines of ``candidates`` whose enhancer (first element) starts in
    ``chrom:start-end`` to ``out``; returns how many."""
    n = 0
    with open(candidates) as src, open(out, "w") as dst:
        for line in src:
            fields = line.split("\t", 2)
            if line.startswith("#") or (fields[0] == chrom and start <= int(fields[1]) < end):
                dst.write(line)
                n += not line.startswith("#")
    if n == 0:
        raise ValueError(f"{candidates} has no candidate pair in {chrom}:{start}-{end}")
    return n


STEPS = ("demo-data", "prepare", "train", "evaluate", "motifs", "candidates", "score")


def build(work: Path, only=STEPS) -> tuple[Path, list, dict]:
    """The steps in ``work``; returns the run directory, the commands and step seconds.

    ``only``: the steps to run; the others are only recorded (``work`` holds their
    outputs from an earlier build with the same inputs).
    """
    demo, run = Path("demo"), Path("run")  # relative to work, where the commands run
    commands, seconds = [], {}

    def step(name, *args):
        t0 = time.perf_counter()
        commands.append(speid(*args, cwd=work, dry=name not in only))
        seconds[name] = round(time.perf_counter() - t0, 1) if name in only else None

    step("demo-data", "demo-data", demo, "--seed", DEMO["seed"], "--cell-lines", DEMO["cell_lines"],
         "--pairs-per-cell", DEMO["pairs_per_cell"])
    step("prepare", "prepare", "--pairs", demo / f"pairs_{DEMO['cell_line']}.csv", "--genome",
         demo / "genome.fa", "--run", run, "--enhancer-window", PREPARE["enhancer_window"],
         "--promoter-window", PREPARE["promoter_window"], "--augment", PREPARE["augment"],
         "--split", PREPARE["split"], "--seed", PREPARE["seed"])
    step("train", "train", run, "--preset", TRAIN["preset"], "--seed", TRAIN["seed"], "--threads",
         TRAIN["threads"], *(["--random-init"] if TRAIN["random_init"] else []))
    step("evaluate", "evaluate", run, "--bootstrap", EVALUATE["bootstrap"], "--seed", EVALUATE["seed"])
    step("motifs", "motifs", run, "--max-logos", MOTIFS["max_logos"], "--null-draws",
         MOTIFS["null_draws"], "--seed", MOTIFS["seed"])
    step("candidates", "candidates", "--enhancers", demo / "enhancers.bed", "--promoters",
         demo / "promoters.bed", "--max-distance", LINKS["max_distance"], "--genome",
         demo / "genome.fa", "--out", "candidates.bedpe", "--quiet")
    if "score" in only:
        one_region(work / "candidates.bedpe", LINKS["chromosome"], LINKS["start"], LINKS["end"],
                   work / "candidates_one.bedpe")
    gw = run / "genome_wide"
    (work / gw).mkdir(exist_ok=True)
    step("score", "score", run, "--pairs", "candidates_one.bedpe", "--genome", demo / "genome.fa",
         "--out", gw / f"scores.{LINKS['format']}", "--format", LINKS["format"], "--quiet")
    return work / run, commands, seconds


def slim_motifs(run: Run) -> None:
    """Keep of ``run``'s ``motifs/`` only what the motifs dashboard reads, smaller.

    ``activations.npz``: each branch's ``<branch>_max`` (n_windows, K) as float16 and the
    per-kernel ``<branch>_max_activation`` and ``<branch>_n_sites`` (the argmax and window ids,
    which no dashboard reads, are dropped); ``logos/``: the ``max_logos`` kernels with the
    smallest best-match E-values (the dashboard draws the others).
    """
    import numpy as np
    import pandas as pd

    path = run.motif_file(schema.MOTIF_ACTIVATIONS_FILE)
    with np.load(path) as acts:
        kept = {k: (acts[k].astype(np.float16) if k.endswith("_max") else acts[k])
                for k in acts.files if k.endswith(("_max", "_max_activation", "_n_sites"))}
    np.savez_compressed(path, **kept)
    best = pd.read_csv(run.motif_file(schema.MOTIF_MATCHES_FILE)).query("rank == 1")
    keep = set(best.sort_values("evalue", kind="stable")["kernel_name"].head(MOTIFS["max_logos"]))
    for png in run.motif_file(schema.MOTIF_LOGOS_DIR).glob("*.png"):
        if png.stem not in keep:
            png.unlink()


def copy_example(run: Path, out: Path) -> list[str]:
    """Copy what the dashboards read from ``run`` to a fresh ``out``; return the files copied."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in COPIED:
        if (run / name).exists():
            shutil.copy2(run / name, tmp / name)
    shutil.copytree(Run(run).motifs, Run(tmp).motifs)
    slim_motifs(Run(tmp))
    shutil.copytree(run / "genome_wide", tmp / "genome_wide")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def rebuild_dataset(out: Path, work: Path) -> str:
    """Write ``out/dataset.h5`` again (demo-data and prepare only) and check it is the one trained on.

    Returns a sentence saying what was done; ValueError when the dataset made
    differs from the one the example's model was trained on.
    """
    wanted = Run(out).dataset_sha256()
    target = Run(out).dataset
    if target.exists() and wanted and sha256(target) == wanted:
        return f"{target} is already the dataset the example was trained on"
    demo, run = Path("demo"), Path("run")  # relative to work, as in build()
    speid("demo-data", demo, "--seed", DEMO["seed"], "--cell-lines", DEMO["cell_lines"],
          "--pairs-per-cell", DEMO["pairs_per_cell"], cwd=work)
    speid("prepare", "--pairs", demo / f"pairs_{DEMO['cell_line']}.csv", "--genome", demo / "genome.fa",
          "--run", run, "--enhancer-window", PREPARE["enhancer_window"], "--promoter-window",
          PREPARE["promoter_window"], "--augment", PREPARE["augment"], "--split", PREPARE["split"],
          "--seed", PREPARE["seed"], cwd=work)
    run = work / run
    made = sha256(Run(run).dataset)
    if made != wanted:
        raise ValueError(f"the dataset made ({made[:12]}) is not the one {Run(out).config_file} "
                         f"records ({str(wanted)[:12]}): regenerate the example with "
                         f"scripts/make_example_run.py")
    shutil.move(str(Run(run).dataset), target)
    return f"wrote {target} ({target.stat().st_size / 1e6:.0f} MB), the dataset the example was trained on"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / schema.EXAMPLE_RUNS_DIR / "demo_cpu"))
    parser.add_argument("--keep-work", default=None, help="build in this folder and keep it")
    parser.add_argument("--only", default=",".join(STEPS),
                        help="comma-separated steps to run (default all); the others' outputs are "
                        "taken from the build in --keep-work")
    parser.add_argument("--dataset-only", action="store_true",
                        help="only write OUT/dataset.h5 again (not committed: the windows the "
                        "predictions dashboard's attribution reads; about 2 minutes; postBuild runs it)")
    args = parser.parse_args(argv)
    only = tuple(s for s in args.only.split(",") if s)
    if set(only) - set(STEPS):
        parser.error(f"--only: steps are {', '.join(STEPS)}")
    if only != STEPS and not args.keep_work:
        parser.error("--only needs --keep-work DIR, the folder of an earlier build")
    out = Path(args.out).resolve()
    work = Path(args.keep_work or tempfile.mkdtemp(prefix="speid_example_")).resolve()
    t0 = time.perf_counter()
    try:
        if args.dataset_only:
            print(rebuild_dataset(out, work))
            return
        run, commands, seconds = build(work, only)
        if (out / "example.json").exists():  # the steps not run now keep their recorded times
            earlier = json.loads((out / "example.json").read_text()).get("seconds", {})
            seconds = {k: earlier.get(k) if v is None else v for k, v in seconds.items()}
        files = copy_example(run, out)
        relative_records(Run(out).config_file, work)
        metrics = Run(out).read_metrics()
        motifs = Run(out).read_motif_summary()
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        record = {
            "what": "the cpu preset on the synthetic demo's first cell line: notebook 01's defaults",
            "script": "scripts/make_example_run.py",
            "inputs": {"demo": DEMO, "prepare": PREPARE, "train": TRAIN, "evaluate": EVALUATE,
                       "motifs": MOTIFS, "links": LINKS},
            "commands": commands,
            "seconds": {**seconds, "total": round(time.perf_counter() - t0, 1)},
            "steps_run_now": list(only),
            "left_out": {"dataset.h5": "not committed; scripts/make_example_run.py --dataset-only writes it",
                         "motifs/activations.npz": "only what the dashboard reads, max as float16",
                         "motifs/logos": f"the {MOTIFS['max_logos']} best-matched kernels only",
                         "checkpoints/": "only for resuming training"},
            "test_auroc": metrics.get("auroc"), "test_aupr": metrics.get("aupr"),
            "learned_tfs": motifs.get("learned_tfs"), "git_commit": commit,
            "files": {f: sha256(out / f)[:16] for f in files},
        }
        atomic_write_json(out / "example.json", record)
        size = sum((out / f).stat().st_size for f in files)
        print(f"wrote {out} ({len(files)} files, {size / 1e6:.1f} MB); test AUROC "
              f"{metrics.get('auroc'):.3f}; {time.perf_counter() - t0:.0f} s")
    finally:
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
