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
    print(f"wrote {info.genome}, {', '.join(str(p) for p in info.pairs.values())} and "
          f"{info.planted_motifs} (cell lines {', '.join(info.cell_lines)})")
    print(f"next: speid prepare --pairs {info.pairs_path(info.cell_lines[0])} --genome {info.genome} "
          f"--run runs/demo --enhancer-window {info.enhancer_window} "
          f"--promoter-window {info.promoter_window} --augment {info.augment}")


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


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="two-stage SPEID training on RUN/dataset.h5",
                       description="Stage 1 (pretrain) on the balanced, augmented training set; "
                       "stage 2 (retrain the head) on frozen, cached features of the original "
                       "imbalanced training set. Writes RUN/model.keras, RUN/history.csv and a "
                       "checkpoint after every epoch in RUN/checkpoints/.")
    p.add_argument("run", help="run directory prepared by `speid prepare`")
    p.add_argument("--preset", choices=["cpu", "paper", "original"], default="cpu",
                   help="cpu: small, trains on 2 cores in minutes; paper: the preprint's text; "
                   "original: the released code (default cpu)")
    p.add_argument("--pretrain-epochs", type=int, default=None, help="stage-1 epochs (default: the preset's)")
    p.add_argument("--retrain-epochs", type=int, default=None, help="stage-2 epochs (default: the preset's)")
    p.add_argument("--random-init", action="store_true",
                   help="Glorot-uniform kernels instead of starting about half of them from JASPAR motifs")
    p.add_argument("--resume", action="store_true", help="continue from the last complete checkpoint")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, data order and dropout (default 0)")
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU (ignored on CPU)")
    p.add_argument("--threads", type=int, default=None,
                   help="TensorFlow CPU threads (default: all cores)")
    p.add_argument("--zero-branch", choices=["enhancer", "promoter"], default=None,
                   help="ablation: train and evaluate with this input zeroed, to measure what "
                   "the other element alone predicts")
    p.add_argument("--shift-negatives", action=argparse.BooleanOptionalAction, default=None,
                   help="shift negatives' windows at random in stage 1 too, so an element's position "
                   "cannot mark the label (default: the preset's; cpu shifts, paper and original keep "
                   "the preprint's positives-only shifts)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_train)


def _run_train(args) -> None:
    from .train import train_run

    path = train_run(args.run, preset=args.preset, pretrain_epochs=args.pretrain_epochs,
                     retrain_epochs=args.retrain_epochs, random_init=args.random_init,
                     resume=args.resume, seed=args.seed, mixed_precision=args.mixed_precision,
                     progress=not args.quiet, threads=args.threads, zero_branch=args.zero_branch,
                     shift_negatives=args.shift_negatives)
    print(f"wrote {path}")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score the held-out pairs; write metrics and predictions",
                       description="Choose the F1 threshold on the validation split, score the "
                       "test split, and write RUN/metrics.json (with bootstrap 95% intervals and "
                       "the split method), RUN/predictions.csv and RUN/predictions.bedpe.")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> None:
    from .evaluate import run_evaluate

    m = run_evaluate(args.run, n_bootstrap=args.bootstrap, seed=args.seed)
    ci = m.get("ci", {})
    print(f"{args.run}: split={m['split']} n_test={m['n_test']} ({m['n_positive_test']} positive)")
    for k in ("auroc", "aupr", "f1", "mcc"):
        lo, hi = ci.get(k, [float("nan")] * 2)
        print(f"  {k:6s} {m[k]:.3f}  [{lo:.3f}, {hi:.3f}]")
    print(f"  threshold {m['threshold']:.3f} (chosen on the validation split)")


def _add_motifs(sub) -> None:
    p = sub.add_parser("motifs", help="learned kernels to motifs, JASPAR matches, logos, ablation",
                       description="Turn every kernel of both branches into a PFM over the "
                       "held-out windows, match it to JASPAR CORE vertebrates with Tomtom, count "
                       "redundant kernels per TF, draw logos and ablate motif hits. Writes RUN/motifs/.")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--split", default="test", choices=["test", "valid", "train"],
                   help="windows to scan (default test)")
    p.add_argument("--release", default=None, help="JASPAR release, e.g. JASPAR2016 (default JASPAR2024)")
    p.add_argument("--fraction", type=float, default=0.5,
                   help="a site counts when the activation exceeds this fraction of the kernel's maximum (default 0.5)")
    p.add_argument("--sites", choices=["all", "best"], default="all",
                   help="all sites above the fraction (DanQ) or one best site per window (DeepBind)")
    p.add_argument("--baseline", choices=["batchnorm", "zero"], default="batchnorm",
                   help="measure activations from the level the merge BatchNorm maps to zero "
                   "(default), or from zero as they are (Alipanahi et al.'s rule on conv + bias)")
    p.add_argument("--logos", choices=["significant", "matched", "all", "none"], default="significant",
                   help="which kernels get a logo PNG (default: those with a match at E < 0.5)")
    p.add_argument("--max-logos", type=int, default=200, help="at most this many logos (default 200)")
    p.add_argument("--no-ablation", action="store_true", help="skip the motif ablation")
    p.add_argument("--seed", type=int, default=0, help="seed for the ablation's random bases (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_motifs)


def _run_motifs(args) -> None:
    from .motifs import run_motifs

    out = run_motifs(args.run, split=args.split, fraction=args.fraction, sites=args.sites,
                     baseline=args.baseline,
                     release=args.release, logos=None if args.logos == "none" else args.logos,
                     max_logos=args.max_logos, ablation=not args.no_ablation, seed=args.seed,
                     progress=not args.quiet)
    print(f"wrote {args.run}/motifs/ ({', '.join(f'{k}={v}' for k, v in out.items() if isinstance(v, (int, float, str)))})")


def _add_baselines(sub) -> None:
    p = sub.add_parser("baselines", help="genome-free baselines on pair tables under two splits",
                       description="Distance-only and element-propensity baselines on each pair "
                       "table, under the random and the chromosome split, with cross-cell "
                       "matrices. With no --pairs, the six TargetFinder E/P tables are used "
                       "(from ../shared/data when present, else downloaded and cached).")
    p.add_argument("out", help="folder for the tables and figures")
    p.add_argument("--pairs", nargs="*", default=None,
                   help="pair tables (one per cell line); default: the six TargetFinder ep tables")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.set_defaults(func=_run_baselines)


def _run_baselines(args) -> None:
    from . import baselines, pairs

    if args.pairs:
        tables = {}
        for path in args.pairs:
            t = pairs.read_pairs(path)
            cell = t["cell_line"].iloc[0] or path
            tables[cell] = t
    else:
        tables = {cell: pairs.targetfinder_pairs(cell) for cell in pairs.TARGETFINDER_CELLS}
    out = baselines.run_baselines(args.out, tables, seed=args.seed, n_bootstrap=args.bootstrap)
    print(out["baseline_table"].to_string(index=False) if "baseline_table" in out else list(out))
    print(f"wrote {args.out}/")


def _add_score(sub) -> None:
    p = sub.add_parser("score", help="score a pair table with a trained run's model",
                       description="Read each distinct enhancer and promoter once, run it through "
                       "its branch once, and score every pair; write CSV or BEDPE by the extension "
                       "of --out. Windows are fitted as in `speid prepare`.")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--pairs", required=True, help="pair table (TargetFinder CSV or BEDPE, plain or gzip)")
    p.add_argument("--genome", required=True, help="genome FASTA")
    p.add_argument("--out", required=True, help="output file, .csv or .bedpe")
    p.add_argument("--batch-size", type=int, default=256, help="examples per forward pass (default 256)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_score)


def _run_score(args) -> None:
    from .predict import run_score

    out = run_score(args.run, args.pairs, args.genome, args.out, batch_size=args.batch_size,
                    progress=not args.quiet)
    print(f"wrote {args.out} ({len(out)} pairs)")


def _add_fetch(sub) -> None:
    p = sub.add_parser("fetch-targetfinder", help="download a TargetFinder pair table (cached)",
                       description="Download paper/targetfinder/<CELL>/output-<SET>/predictions-gbm.csv "
                       "from the public shwhalen/targetfinder repository into a cache folder.")
    p.add_argument("cell", help="GM12878, HeLa-S3, HUVEC, IMR90, K562 or NHEK")
    p.add_argument("--set", dest="feature_set", default="ep", choices=["ep", "eep", "epw"],
                   help="feature set: ep (the pairs SPEID used), eep or epw (default ep)")
    p.add_argument("--cache", default="data/targetfinder", help="cache folder (default data/targetfinder)")
    p.set_defaults(func=_run_fetch)


def _run_fetch(args) -> None:
    from .pairs import download_targetfinder

    print(download_targetfinder(args.cell, args.feature_set, args.cache))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speid", description="SPEID workbench: enhancer-promoter interactions from sequence.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    return parser


_ADDERS = [_add_demo, _add_prepare, _add_train, _add_evaluate, _add_motifs, _add_baselines, _add_score, _add_fetch]


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
