"""Does SPEID learn the demo's pair grammar? (issue 3, point 8)

Runs, as a user would, ``speid demo-data``, ``speid prepare`` and ``speid
train --preset cpu`` and times them together (target: 10 minutes on 2
cores), evaluates on the held-out test split, then trains and evaluates the
same model with the promoter input zeroed (enhancer only) and with the
enhancer input zeroed (promoter only). Targets: AUROC >= 0.85 and >= 0.1
above both single-element models.

Run: ``.venv/bin/python benchmarks/grammar_check.py [WORKDIR] [-- extra train args]``
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEID = str(Path(sys.executable).with_name("speid"))


def speid(*args) -> float:
    t0 = time.perf_counter()
    subprocess.run([SPEID, *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    work = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="grammar_"))
    demo, runs = work / "demo", {}
    t = speid("demo-data", demo, "--seed", "0")
    info = json.loads((demo / "demo.json").read_text())
    we, wp, augment = info["enhancer_window"], info["promoter_window"], info["augment"]
    for name, zero in (("pair", None), ("enhancer_only", "promoter"), ("promoter_only", "enhancer")):
        run = work / name
        shutil.rmtree(run, ignore_errors=True)
        t_prep = speid("prepare", "--pairs", demo / "pairs.csv", "--genome", demo / "genome.fa",
                       "--run", run, "--enhancer-window", we, "--promoter-window", wp, "--augment", augment,
                       "--quiet")
        t_train = speid("train", run, "--preset", "cpu", "--quiet", "--threads", "2",
                        *(["--zero-branch", zero] if zero else []), *extra)
        speid("evaluate", run, "--bootstrap", "200")
        runs[name] = json.loads((run / "metrics.json").read_text())
        if name == "pair":
            total = t + t_prep + t_train
            print(f"demo-data {t:.0f} s + prepare {t_prep:.0f} s + train {t_train:.0f} s "
                  f"= {total / 60:.1f} min (target <= 10 min)")
    for name, m in runs.items():
        lo, hi = m["ci"]["auroc"]
        print(f"{name:14s} test AUROC {m['auroc']:.3f} [{lo:.3f}, {hi:.3f}]  AUPR {m['aupr']:.3f}  "
              f"(n_test={m['n_test']}, {m['n_positive_test']} positive, split={m['split']})")
    pair = runs["pair"]["auroc"]
    gap = pair - max(runs["enhancer_only"]["auroc"], runs["promoter_only"]["auroc"])
    print(f"pair AUROC {pair:.3f} (target >= 0.85); gap to the better single element {gap:.3f} "
          f"(target >= 0.1); oracle AUROCs of the demo: {info['cell_lines']['DEMO1']['oracle_auroc']}")


if __name__ == "__main__":
    main()
