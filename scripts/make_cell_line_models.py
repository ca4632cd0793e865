"""Trained models of the demo's other cell lines, for notebook 04 to reuse.

Notebook 04 trains one model per demo cell line for its cross-cell matrix. A
model of the ``cpu`` preset needs its full schedule to learn the demo's grammar
(its first epoch ends near a validation AUROC of 0.52), which does not fit in
``make demo``'s ten minutes. As notebook 02 reuses the example run's model,
notebook 04 reuses, per cell line, a model trained on the same dataset with the
same options: ``DEMO1``'s is the example run's (``examples/demo_cpu``), and this
script trains the others with the steps and defaults of notebook 04
(:func:`speidlib.app.study.train_cell_lines`) and keeps, in
``examples/demo_cpu/cell_lines/<CELL>/``, what
:func:`speidlib.app.notebooks.reuse_trained_model` copies (``model.keras``,
``history.csv``, the initial kernels) with ``config.json`` and ``metrics.json``.
``cell_lines.json`` records the inputs, commands, seconds and files.

    .venv/bin/python scripts/make_cell_line_models.py [--cells DEMO2,DEMO3] [--work DIR]

About 15-20 minutes per cell line on 2 quiet cores; cell lines given to
separate invocations (sharing ``--work``) train side by side.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from speidlib import schema  # noqa: E402
from speidlib.app.notebooks import EXAMPLE_RUN  # noqa: E402
from speidlib.app.study import run_speid, train_cell_lines  # noqa: E402
from speidlib.data.dataset import PrepareConfig  # noqa: E402
from speidlib.demo.synthetic import load_demo  # noqa: E402
from speidlib.evaluate.heldout import EvaluateOptions  # noqa: E402
from speidlib.io import atomic_write_json, sha256  # noqa: E402
from speidlib.run import Run  # noqa: E402
from speidlib.train.options import TrainOptions  # noqa: E402

# notebook 01's demo and notebook 04's defaults (tests/test_example_run.py compares them)
DEMO = {"seed": 0, "cell_lines": 3, "pairs_per_cell": 105_000}
PREPARE = {"split": "random", "seed": 0, "enhancer_window": 1000, "promoter_window": 1000}
TRAIN = {"preset": "cpu", "pretrain_epochs": None, "retrain_epochs": None, "random_init": True,
         "n_bootstrap": 200, "seed": 0}
KEPT = (schema.MODEL_FILE, schema.HISTORY_FILE, schema.INITIAL_KERNELS_FILE, schema.JASPAR_INIT_FILE,
        schema.CONFIG_FILE, schema.METRICS_FILE)
OUT = ROOT / EXAMPLE_RUN / "cell_lines"


def demo(work: Path) -> Path:
    """The demo of notebook 01 in ``work/demo`` (written once, then shared)."""
    folder = work / "demo"
    if not (folder / "demo.json").exists():
        run_speid(["demo-data", str(folder), "--seed", str(DEMO["seed"]), "--cell-lines",
                   str(DEMO["cell_lines"]), "--pairs-per-cell", str(DEMO["pairs_per_cell"])], "demo")
    return folder


def keep(run: Path, out: Path, work: Path) -> list[str]:
    """Copy the files notebook 04 reuses into ``out``; paths of ``work`` recorded relative to it."""
    out.mkdir(parents=True, exist_ok=True)
    kept = []
    for name in KEPT:
        if (run / name).exists():
            shutil.copy2(run / name, out / name)
            kept.append(name)
    Run(out).relative_records(work)
    return kept


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", default="DEMO2,DEMO3")
    p.add_argument("--work", default=None, help="scratch folder (kept; default: a temporary one)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="speid_cells_")).resolve()
    out = Path(args.out)
    info = load_demo(demo(work))
    training = TrainOptions(threads=args.threads, **{k: v for k, v in TRAIN.items() if k != "n_bootstrap"})
    evaluation = EvaluateOptions(n_bootstrap=TRAIN["n_bootstrap"], seed=TRAIN["seed"])
    prepare = PrepareConfig(pairs="", genome="", augment=info.augment, **PREPARE)
    for cell in args.cells.split(","):
        t0 = time.perf_counter()
        runs, metrics = train_cell_lines({cell: info.pairs_path(cell)}, info.genome, str(work / "run"),
                                         prepare, training, evaluation)
        files = keep(runs[cell], out / cell, work)
        record = {"what": f"notebook 04's {cell} model, for it to reuse (scripts/make_cell_line_models.py)",
                  "inputs": {"demo": DEMO, "prepare": {**PREPARE, "augment": info.augment}, "train": TRAIN},
                  "seconds": round(time.perf_counter() - t0, 1),
                  "test_auroc": float(metrics.loc[cell, "auroc"]), "test_aupr": float(metrics.loc[cell, "aupr"]),
                  "files": {f: sha256(out / cell / f)[:16] for f in files}}
        atomic_write_json(out / cell / "cell_line.json", record)
        print(f"{cell}: test AUROC {record['test_auroc']:.3f}, {record['seconds']:.0f} s -> {out / cell}",
              flush=True)


if __name__ == "__main__":
    main()
