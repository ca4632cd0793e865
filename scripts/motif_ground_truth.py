"""Precision and recall of the "learned TF" calls against planted motifs (issue 14).

Each job trains (or loads) a model on a synthetic demo whose planted (TF,
branch) pairs are known, runs ``speid motifs`` with its null, and compares the
TFs called learned with the planted set. Jobs:

* ``committed``: the committed example run's model ``examples/demo_cpu/model.keras``
  (random init, ``cpu`` preset, seed 0; ``scripts/make_example_run.py``) on the demo it was
  trained on (3 cell lines, ``DEMO1``; the job refuses a dataset with another hash);
* ``demo_jaspar``: the default demo trained from JASPAR-initialised kernels;
* ``g2_random`` / ``g2_jaspar``: a second grammar (demo seed 1, 3 classes,
  60,000 pairs; CTCF, ZNF343, ZFP42 planted in enhancers only, RFX4, PROX1,
  ZNF85 in promoters only), random and JASPAR initialisation;
* ``demo_shuffled``: the default demo's pairs with their labels permuted
  (seed 0) before ``prepare``, random initialisation: the shuffled-label
  null. The elements and their planted motifs are the same, only the
  pairing signal is gone, so a TF called learned here was not learned from
  the labels (and "recall" counts such calls);
* ``g2_shuffled``: the same null on the second grammar.

Training jobs take 15-25 minutes each on 2 cores; ``--reuse`` keeps a trained
model already in ``ROOT/<job>``. One JSON per job goes to ``ROOT/<job>.json``.

Usage::

    python scripts/motif_ground_truth.py ROOT [--jobs committed,demo_jaspar,g2_random,g2_jaspar] [--reuse]
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from speidlib import schema  # noqa: E402
from speidlib.app.notebooks import prepare_demo  # noqa: E402
from speidlib.demo.synthetic import load_demo  # noqa: E402
from speidlib.evaluate.heldout import run_evaluate  # noqa: E402
from speidlib.interpret.null import build_initial_kernels  # noqa: E402
from speidlib.interpret.report import run_motifs  # noqa: E402
from speidlib.model.load import load_model, load_run_model  # noqa: E402
from speidlib.run import Run  # noqa: E402
from speidlib.train.stages import train_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "examples" / "demo_cpu"          # the example run: its model, config and metrics
GRAMMARS = {
    "demo": dict(seed=0),
    # the demo the committed example was trained on (scripts/make_example_run.py: 3 cell lines, DEMO1)
    "example": dict(seed=0, n_cell_lines=3),
    "g2": dict(seed=1, n_classes=3, n_shared_classes=3, n_pairs=60_000,
               planted_motifs=(("MA0139.2", "MA0799.3"), ("MA1711.2", "MA0794.1"), ("MA1651.2", "MA1720.2"))),
}
JOBS = {"committed": ("example", None), "demo_jaspar": ("demo", False),
        "g2_random": ("g2", True), "g2_jaspar": ("g2", False), "demo_shuffled": ("demo", True),
        "g2_shuffled": ("g2", True)}
#: jobs whose training labels are permuted (the shuffled-label null)
SHUFFLED = {"demo_shuffled", "g2_shuffled"}


def base_run(root: Path, grammar: str) -> tuple[Path, Path]:
    """The grammar's demo folder and a prepared run of it (built once)."""
    demo, base = root / f"{grammar}_demo", root / f"{grammar}_base"
    if not Run(base).dataset.exists():
        prepare_demo(demo, base, **GRAMMARS[grammar])
    return demo, base


def shuffled_base(root: Path, grammar: str, seed: int = 0) -> Path:
    """A run prepared from the grammar's pairs with their labels permuted (built once)."""
    from speidlib.data.dataset import PrepareConfig, prepare

    demo, _ = base_run(root, grammar)
    base = root / f"{grammar}_shuffled_base"
    if not Run(base).dataset.exists():
        info = load_demo(demo)
        pairs = pd.read_csv(info.pairs_path(info.cell_lines[0]))
        pairs[schema.LABEL] = np.random.default_rng(seed).permutation(pairs[schema.LABEL].to_numpy())
        table = root / f"{grammar}_shuffled_pairs.csv"
        pairs.to_csv(table, index=False)
        prepare(PrepareConfig(pairs=str(table), genome=str(info.genome), enhancer_window=info.enhancer_window,
                              promoter_window=info.promoter_window, augment=info.augment, seed=0), base,
                overwrite=True)
    return base


def fresh_run(root: Path, name: str, base: Path) -> Path:
    run = root / name
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copy(Run(base).dataset, Run(run).dataset)
    shutil.copy(Run(base).config_file, Run(run).config_file)
    return run


def committed_run(root: Path, base: Path):
    """The committed model beside the default demo's windows, with its initial kernels."""
    run = fresh_run(root, "committed", base)
    example = Run(COMMITTED)
    train = json.loads(example.config_file.read_text())["train"]
    z = Run(base).prepare_record
    if z.dataset_sha256 != example.dataset_sha256():
        raise SystemExit(f"{base} is not the dataset {COMMITTED} was trained on (dataset_sha256 differs): "
                         "its motifs would be read from other windows")
    init = build_initial_kernels({"preset": train["preset"]["name"], "seed": train["seed"], "random_init": True,
                                  "enhancer_window": z.enhancer_window,
                                  "promoter_window": z.promoter_window})
    np.savez(Run(run).initial_kernels,
             **{f"{b}_{part}": init[b][i] for b in schema.BRANCHES for i, part in enumerate(("kernel", "bias"))})
    return run, load_model(example.model), json.loads(example.metrics.read_text())["auroc"]


def job(root: Path, name: str, reuse: bool) -> dict:
    grammar, random_init = JOBS[name]
    t0 = time.time()
    demo, base = base_run(root, grammar)
    if name in SHUFFLED:
        base = shuffled_base(root, grammar)
    info = load_demo(demo)
    if name == "committed":
        run, model, auroc = committed_run(root, base)
    else:
        run = root / name
        if not (reuse and Run(run).model.exists()):
            run = fresh_run(root, name, base)
            train_run(run, preset="cpu", seed=0, threads=2, random_init=random_init, progress=False)
            run_evaluate(run, n_bootstrap=50)
        model = load_run_model(run)
        auroc = Run(run).read_metrics().get("auroc")
    result = run_motifs(run, model=model, logos=None, ablation=False, importance=False, progress=False)
    summary = pd.read_csv(Run(run).motif_file(schema.MOTIF_TF_SUMMARY_FILE))
    cell = info.cell_lines[0]
    planted = {(b, getattr(c, f"{b}_tf").upper()) for c in info.classes if cell in c.cell_lines
               for b in schema.BRANCHES}
    calls = {(b, t.upper()) for b in schema.BRANCHES for t in summary.loc[summary[f"learned_{b}"], "tf"]}
    hits = calls & planted
    return {"job": name, "grammar": grammar, "random_init": random_init is not False,
            "labels": "permuted" if name in SHUFFLED else "true",
            "test_auroc": auroc, "null": result["null"],
            "planted": sorted(planted), "learned_calls": sorted(calls),
            "precision": f"{len(hits)}/{len(calls)}", "recall": f"{len(hits)}/{len(planted)}",
            "false_calls": sorted(calls - planted), "missed": sorted(planted - calls),
            "seconds": round(time.time() - t0)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("root", type=Path)
    p.add_argument("--jobs", default=",".join(JOBS))
    p.add_argument("--reuse", action="store_true", help="keep a model already trained in ROOT/<job>")
    args = p.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    for name in args.jobs.split(","):
        if name not in JOBS:
            p.error(f"unknown job {name!r}; choose from {', '.join(JOBS)}")
        record = job(args.root, name, args.reuse)
        (args.root / f"{name}.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
        print(f"{name}: precision {record['precision']}, recall {record['recall']}, "
              f"false {record['false_calls']}, missed {record['missed']} ({record['seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
