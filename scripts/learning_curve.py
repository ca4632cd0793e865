"""The learning curve of a training recipe on planted grammars (issue 26).

Trains from random kernels at 250-5,000 positives (1:20) on three grammars,
two replicates per point, and writes ``ROOT/learning_curve.{csv,md,png}``: test
AUROC and AUPR with bootstrap intervals, the k-mer baseline and the pair oracle
on the same test pairs, and the precision and recall of the learned-TF calls
against the planted truth (:mod:`speidlib.app.learning_curve`). A job whose
record exists is skipped, so an interrupted curve continues where it stopped.

Usage::

    python scripts/learning_curve.py ROOT [--grammars demo,g2,hard] [--recipes cpu]
        [--positives 250,500,1000,2000,5000] [--replicates 2] [--no-motifs]
    python scripts/learning_curve.py ROOT --job demo:cpu:500:0      # one job (the workflow's rule)
    python scripts/learning_curve.py ROOT --report                  # tables and figure only

The workflow runs the same jobs one per cluster task:
``snakemake -s workflow/learning_curve.smk --configfile workflow/config/learning_curve.yaml``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from speidlib.app import learning_curve as lc  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("root", type=Path)
    p.add_argument("--grammars", default=",".join(lc.GRAMMARS))
    p.add_argument("--recipes", default="cpu")
    p.add_argument("--positives", default=",".join(map(str, lc.POSITIVES)))
    p.add_argument("--replicates", type=int, default=2)
    p.add_argument("--job", action="append", default=[], help="grammar:recipe:positives:replicate (repeatable)")
    p.add_argument("--report", action="store_true", help="only gather the job records into tables and a figure")
    p.add_argument("--no-motifs", action="store_true", help="skip `speid motifs` (no learned-TF calls)")
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--redo", action="store_true", help="run jobs whose record exists again")
    args = p.parse_args(argv)
    try:
        if args.job:
            jobs = [lc.Job.parse(j) for j in args.job]
        else:
            jobs = [lc.Job(g, r, int(n), k) for n in args.positives.split(",") for k in range(args.replicates)
                    for g in args.grammars.split(",") for r in args.recipes.split(",")]
            for j in jobs:
                j.check()
    except ValueError as err:
        p.error(str(err))
    if not args.report:
        for j in jobs:
            if (args.root / "jobs" / f"{j.name}.json").exists() and not args.redo:
                print(f"{j.name}: done before, skipped", flush=True)
                continue
            r = lc.run_job(args.root, j, n_bootstrap=args.bootstrap, motifs=not args.no_motifs,
                           threads=args.threads)
            print(f"{j.name}: test AUROC {r['auroc']:.3f} (k-mer {r['kmer_auroc']:.3f}, oracle "
                  f"{r['oracle_auroc']:.3f}), recall {r.get('recall', float('nan')):.2f}, "
                  f"calls {r.get('n_calls', '-')}, false {r.get('false_calls', '-')} ({r['seconds']:.0f} s)",
                  flush=True)
    if not args.job:
        print(lc.markdown(lc.report(args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
