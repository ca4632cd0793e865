"""The ``speid`` command line: batch runs of every workbench step.

Each subcommand reads and writes a run directory (see ``docs/architecture.md``)::

    speid demo-data demo/                      # synthetic genome + pairs
    speid prepare --pairs demo/pairs.csv --genome demo/genome.fa --run runs/demo
    speid train runs/demo --preset cpu
    speid evaluate runs/demo
    speid motifs runs/demo
    speid score runs/demo --pairs other.csv --genome hg19.fa --out scores.bedpe
"""
from __future__ import annotations

import argparse
import sys


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_demo(sub) -> None:
    p = sub.add_parser("demo-data", help="write the synthetic demo genome and pair tables",
                       description="Write OUTDIR/genome.fa (+ .fai), OUTDIR/pairs.csv (one "
                       "pairs_<CELL>.csv per cell line when there are several) and "
                       "OUTDIR/planted_motifs.meme, the planted ground truth.")
    p.add_argument("outdir", help="folder to write the demo into (created if missing)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files (default 0)")
    p.add_argument("--cell-lines", type=int, default=1,
                   help="number of demo cell lines sharing some grammar classes (default 1)")
    p.add_argument("--pairs-per-cell", type=int, default=None,
                   help="approximate pairs per cell line (default: the demo's small default size)")
    p.set_defaults(func=_run_demo)


def _run_demo(args) -> None:
    from .demo import make_demo

    kwargs = {} if args.pairs_per_cell is None else {"n_pairs": args.pairs_per_cell}
    info = make_demo(args.outdir, seed=args.seed, n_cell_lines=args.cell_lines, **kwargs)
    print(info)


def _add_prepare(sub) -> None:
    p = sub.add_parser("prepare", help="build RUN/dataset.h5 from a pair table and a genome",
                       description="Fit windows, split the pairs, draw the augmentation shifts "
                       "and write RUN/dataset.h5, RUN/config.json and RUN/leakage.json.")
    p.add_argument("--pairs", required=True,
                   help="pair table: TargetFinder predictions-gbm.csv or pairs.csv, or BEDPE (plain or gzip)")
    p.add_argument("--genome", required=True, help="genome FASTA (e.g. hg19.fa from UCSC; .fai built if missing)")
    p.add_argument("--run", required=True, help="run directory to write (created if missing)")
    p.add_argument("--split", choices=["random", "chromosome", "group"], default="random",
                   help="random: the preprint's stratified 90/10 pairs; chromosome: held-out "
                   "chromosomes; group: no enhancer or promoter on both sides (default random)")
    p.add_argument("--test-chromosomes", type=_csv_list, default=None,
                   help="with --split chromosome: comma-separated test chromosomes, e.g. chr1,chr2 "
                   "(default: chosen automatically to hold out about 10%% of positives)")
    p.add_argument("--valid-chromosomes", type=_csv_list, default=None,
                   help="with --split chromosome: validation chromosomes (default: chosen automatically)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="share of pairs held out for test (default 0.1)")
    p.add_argument("--valid-fraction", type=float, default=0.1,
                   help="share of the training part carved out for validation (default 0.1)")
    p.add_argument("--enhancer-window", type=int, default=3000, help="enhancer window in bp (default 3000)")
    p.add_argument("--promoter-window", type=int, default=2000, help="promoter window in bp (default 2000)")
    p.add_argument("--augment", type=int, default=20,
                   help="random shifted copies of each training/validation positive (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, windows and shifts (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_prepare)


def _run_prepare(args) -> None:
    from .dataset import PrepareConfig, prepare

    config = PrepareConfig(pairs=args.pairs, genome=args.genome, split=args.split,
                           test_chromosomes=args.test_chromosomes,
                           valid_chromosomes=args.valid_chromosomes,
                           test_fraction=args.test_fraction, valid_fraction=args.valid_fraction,
                           enhancer_window=args.enhancer_window, promoter_window=args.promoter_window,
                           augment=args.augment, seed=args.seed)
    path = prepare(config, args.run, progress=not args.quiet)
    print(f"wrote {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speid", description="SPEID workbench: enhancer-promoter interactions from sequence.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    return parser


_ADDERS = [_add_demo, _add_prepare]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ValueError as e:
        print(f"speid {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
