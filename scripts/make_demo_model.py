"""Regenerate ``tests/data/demo_cpu_model.keras``: the ``cpu`` preset trained on the default demo.

The ground-truth test of the motif analysis (``tests/test_motifs.py``,
``test_trained_demo_kernels_recover_every_planted_motif``) needs a model that
learned the demo's grammar, and training one takes minutes, so the model is
committed and this script makes it again, the way ``make demo`` does:
:func:`speidlib.app.notebooks.prepare_demo` (demo seed 0, its recommended windows
and augmentation), ``speid train --preset cpu --random-init --seed 0`` on 2
threads (CPU runs repeat exactly with a seed). Random initialisation, so that
a planted motif a kernel matches was learned, not started from: with the
``cpu`` preset's 33 of 64 kernels started from randomly drawn JASPAR motifs,
the same training recovers 5-7 of the 8 planted motifs instead of 8 (those
kernels mostly stay what they started as), at the same test AUROC. Run it
after changing the demo generator, ``prepare`` or the ``cpu`` preset:

    .venv/bin/python scripts/make_demo_model.py          # about 10 minutes on 2 cores

It also writes ``tests/data/demo_cpu_model.json``: the settings, the test
AUROC and the planted motifs recovered.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "demo_cpu_model.keras"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from speidlib import schema
    from speidlib.app.notebooks import prepare_demo
    from speidlib.evaluate.heldout import run_evaluate
    from speidlib.interpret.report import planted_recovery, run_motifs
    from speidlib.run import Run
    from speidlib.train.stages import train_run

    work = Path(tempfile.mkdtemp(prefix="demo_model_"))
    try:
        run = work / "run"
        info = prepare_demo(work / "demo", run, seed=0)
        train_run(run, preset="cpu", seed=0, threads=2, random_init=True)
        metrics = run_evaluate(run, n_bootstrap=200)
        run_motifs(run, logos=None, ablation=False, progress=False)
        matches = pd.read_csv(Run(run).motif_file(schema.MOTIF_MATCHES_FILE))
        cell = info.cell_lines[0]
        recovery = planted_recovery(matches, info, cell)
        recovery = recovery[recovery["in_cell_line"]]
        OUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Run(run).model, OUT)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        record = {"preset": "cpu", "seed": 0, "random_init": True, "demo": {"seed": 0, "cell_line": cell},
                  "test_auroc": metrics["auroc"], "test_auroc_ci": metrics["ci"]["auroc"],
                  "recovered": {f"{r.branch} {r.tf}": bool(r.recovered) for r in recovery.itertuples()},
                  "git_commit": commit}
        OUT.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
        print(recovery.to_string(index=False))
        print(f"wrote {OUT.relative_to(ROOT)}: test AUROC {metrics['auroc']:.3f}, "
              f"{int(recovery['recovered'].sum())} of {len(recovery)} planted motifs recovered")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
