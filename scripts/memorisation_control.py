"""The memorisation control: SPEID on real TargetFinder labels over a random genome.

Real pair tables (real coordinates, real labels) are put on a genome of
uniform random bases with hg19's chromosome names and lengths
(:func:`speidlib.data.random_genome.write_random_genome`). The sequence then
carries no biology, yet every element is still a unique string the network
can recognise, so whatever SPEID scores here it scores by remembering which
elements were positive in training. Beside it, on the very same split, the
propensity baseline (which reads no sequence and knows exactly that).

For each cell line and split (random and chromosome): ``prepare`` (1 kb
windows, 4 shifted copies per training positive), ``train`` (``cpu`` preset),
``evaluate`` (test AUROC/AUPR/F1 with bootstrap 95% intervals), then the
distance and propensity baselines fitted on the run's own training pairs.

    .venv/bin/python scripts/memorisation_control.py --out runs/memorisation          # K562
    .venv/bin/python scripts/memorisation_control.py --out runs/memorisation --cells all

Writes ``OUT/genome/hg19_random.fa`` (+ .fai; 3.1 GB, reused when present),
one run directory per cell line and split, ``OUT/results.csv`` (one row per
cell line x split x model; rows of other cell lines and splits already there
are kept) and ``OUT/results.md``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "targetfinder"
CELLS = ("GM12878", "HeLa-S3", "HUVEC", "IMR90", "K562", "NHEK")


def _pairs_path(cell: str, cache: Path) -> Path:
    local = SHARED / f"{cell}_ep.csv.gz"
    if local.is_file():
        return local
    from speidlib.data.pairs import download_targetfinder

    return Path(download_targetfinder(cell, "ep", cache))


def _fmt(m: dict, metric: str) -> str:
    lo, hi = m.get("ci", {}).get(metric, (float("nan"),) * 2)
    return f"{m[metric]:.3f} ({lo:.3f}-{hi:.3f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/memorisation", help="output folder (default runs/memorisation)")
    ap.add_argument("--cells", default="K562", help="comma-separated cell lines, or 'all' (default K562)")
    ap.add_argument("--splits", default="random,chromosome", help="split methods (default random,chromosome)")
    ap.add_argument("--window", type=int, default=1000, help="enhancer and promoter window, bp (default 1000)")
    ap.add_argument("--augment", type=int, default=4, help="shifted copies per training positive (default 4)")
    ap.add_argument("--pretrain-epochs", type=int, default=None, help="stage-1 epochs (default: the preset's)")
    ap.add_argument("--retrain-epochs", type=int, default=None, help="stage-2 epochs (default: the preset's)")
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="genome, split and training seed (default 0)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from speidlib import schema as S
    from speidlib.data.dataset import Dataset, PrepareConfig, prepare
    from speidlib.data.random_genome import write_random_genome
    from speidlib.evaluate.baselines import (
        DistanceBaseline,
        PropensityBaseline,
        fit_evaluate,
    )
    from speidlib.evaluate.heldout import run_evaluate
    from speidlib.train.stages import train_run

    out = Path(args.out)
    cells = CELLS if args.cells == "all" else tuple(c.strip() for c in args.cells.split(","))
    genome = out / "genome" / "hg19_random.fa"
    if not (genome.is_file() and Path(f"{genome}.fai").is_file()):
        t0 = time.perf_counter()
        write_random_genome("hg19", genome, seed=args.seed)
        print(f"wrote {genome} in {time.perf_counter() - t0:.0f} s", flush=True)
    rows, lines = [], []
    for cell in cells:
        pairs = _pairs_path(cell, out / "targetfinder")
        for split in args.splits.split(","):
            run = out / f"{cell}_{split}"
            t0 = time.perf_counter()
            prepare(PrepareConfig(pairs=str(pairs), genome=str(genome), split=split,
                                  enhancer_window=args.window, promoter_window=args.window,
                                  augment=args.augment, seed=args.seed), run, progress=False)
            train_run(run, preset="cpu", pretrain_epochs=args.pretrain_epochs,
                      retrain_epochs=args.retrain_epochs, seed=args.seed, progress=False)
            speid = run_evaluate(run, n_bootstrap=args.bootstrap, seed=args.seed)
            minutes = (time.perf_counter() - t0) / 60
            dataset = Dataset(run)
            table, split_names = dataset.pairs, dataset.pairs[S.SPLIT].to_numpy()
            results = {"SPEID (random DNA)": speid}
            for name, model in (("propensity", PropensityBaseline()), ("distance", DistanceBaseline())):
                results[name] = fit_evaluate(model, table, split_names, n_bootstrap=args.bootstrap,
                                             seed=args.seed)
            for name, m in results.items():
                row = {"cell_line": cell, "split_method": split, "model": name,
                       "n_test": m["n_test"], "n_positive_test": m["n_positive_test"],
                       "constant": m["constant"], "minutes": round(minutes, 1) if name.startswith("SPEID") else None}
                for metric in ("auroc", "aupr", "f1"):
                    row[metric] = m[metric]
                    row[f"{metric}_lo"], row[f"{metric}_hi"] = m["ci"].get(metric, (None, None))
                rows.append(row)
                shown = ("constant" if m["constant"] else
                         " | ".join(_fmt(m, k) for k in ("auroc", "aupr", "f1")))
                lines.append(f"| {cell} | {split} | {name} | {shown} |")
                print(lines[-1], flush=True)
            print(f"{cell} {split}: SPEID trained and evaluated in {minutes:.1f} min", flush=True)
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    from speidlib.io import atomic_path, atomic_write_text

    if (out / "results.csv").is_file():   # keep earlier cell lines and splits, replace these
        old = pd.read_csv(out / "results.csv")
        done = set(zip(df.cell_line, df.split_method))
        old = old[[(c, m) not in done for c, m in zip(old.cell_line, old.split_method)]]
        df = pd.concat([old, df], ignore_index=True)
    with atomic_path(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)

    def cell(r, m):
        return f"{r[m]:.3f} ({r[m + '_lo']:.3f}-{r[m + '_hi']:.3f})"

    md = ["| cell line | split | model | AUROC | AUPR | F1 |", "|---|---|---|---|---|---|"]
    for r in df.to_dict("records"):
        shown = ("constant" if r["constant"] else
                 " | ".join(cell(r, m) for m in ("auroc", "aupr", "f1")))
        md.append(f"| {r['cell_line']} | {r['split_method']} | {r['model']} | {shown} |")
    atomic_write_text(out / "results.md", "\n".join(md) + "\n")
    print(f"wrote {out}/results.csv and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
