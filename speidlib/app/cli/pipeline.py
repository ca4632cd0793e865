"""``speid demo-data``, ``prepare``, ``train``, ``evaluate``, ``motifs``, ``baselines``: the run's steps.

The options of ``prepare``, ``train``, ``evaluate``, ``motifs`` and ``baselines`` are their steps'
dataclasses (:class:`speidlib.data.dataset.PrepareConfig`, :class:`speidlib.train.options.TrainOptions`,
:class:`speidlib.evaluate.heldout.EvaluateOptions`, :class:`speidlib.interpret.report.MotifsConfig`,
:class:`speidlib.evaluate.baselines.BaselinesOptions`), read here through :mod:`speidlib.options`.
"""
from __future__ import annotations

import os
from pathlib import Path

from speidlib.data.dataset import PrepareConfig
from speidlib.demo.synthetic import DemoConfig
from speidlib.evaluate.baselines import BaselinesOptions
from speidlib.evaluate.heldout import EvaluateOptions
from speidlib.interpret.report import MotifsConfig
from speidlib.options import add_arguments, add_flag, from_args
from speidlib.train.options import TrainOptions

# Each subcommand imports its step inside its handler: `speid --help` and the data steps then
# start without loading TensorFlow (tests/test_architecture.py allows deferred imports in the
# speidlib.app.cli package and nowhere else in the package).


def add_demo(sub) -> None:
    p = sub.add_parser("demo-data", help="write the synthetic demo genome and pair tables",
                       description="Write OUTDIR/genome.fa (+ .fai), OUTDIR/pairs.csv (one "
                       "pairs_<CELL>.csv per cell line when there are several) and "
                       "OUTDIR/planted_motifs.meme, the planted ground truth.")
    p.add_argument("outdir", help="folder to write the demo into (created if missing)")
    add_arguments(p, DemoConfig)
    add_flag(p, "overwrite", "replace files of OUTDIR the demo writes (genome.fa, pairs.csv, ...) that an "
             "earlier demo did not write there (without it they are refused)")
    p.set_defaults(func=_run_demo)


def _check_demo_folder(outdir, n_cell_lines: int, overwrite: bool) -> None:
    """Refuse to write the demo over files of ``outdir`` that no earlier demo wrote (the user's
    own ``pairs.csv`` or ``genome.fa``) unless ``overwrite``; an earlier demo's ``demo.json``
    names the files it wrote, which are written again."""
    import json

    from speidlib.demo import synthetic as D
    from speidlib.io import check_outputs

    outdir = Path(outdir)
    pairs = [D.PAIRS_FILE] if n_cell_lines == 1 else [f"pairs_DEMO{i + 1}.csv" for i in range(n_cell_lines)]
    names = [D.GENOME_FILE, D.GENOME_FILE + ".fai", *pairs, D.MOTIFS_FILE, D.ELEMENTS_FILE,
             D.ENHANCERS_BED, D.PROMOTERS_BED, D.DESCRIPTION_FILE]
    owned = []
    try:
        earlier = json.loads((outdir / D.DESCRIPTION_FILE).read_text())
        owned = [*earlier["files"].values(), earlier["files"]["genome"] + ".fai", D.DESCRIPTION_FILE,
                 *(c["pairs"] for c in earlier["cell_lines"].values())]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no earlier demo there
    check_outputs({"OUTDIR": [outdir / n for n in names]}, {}, overwrite=overwrite,
                  owned=[outdir / str(n) for n in owned])


def _run_demo(args) -> None:
    from speidlib.demo.synthetic import make_demo

    config = from_args(DemoConfig, args, motif_copies=tuple(args.motif_copies))
    _check_demo_folder(args.outdir, config.n_cell_lines, args.overwrite)
    info = make_demo(args.outdir, config)
    print(f"wrote {info.genome}, {', '.join(str(p) for p in info.pairs.values())} and "
          f"{info.planted_motifs} (cell lines {', '.join(info.cell_lines)}), and "
          f"{info.outdir / 'enhancers.bed'}, {info.outdir / 'promoters.bed'} for `speid candidates`")
    print(f"next: speid prepare --pairs {info.pairs_path(info.cell_lines[0])} --genome {info.genome} "
          f"--run runs/demo --enhancer-window {info.enhancer_window} "
          f"--promoter-window {info.promoter_window} --augment {info.augment}")


def add_prepare(sub) -> None:
    p = sub.add_parser("prepare", help="build RUN/dataset.h5 from a pair table and a genome",
                       description="Fit windows, split the pairs, draw the augmentation shifts "
                       "and write RUN/dataset.h5, RUN/config.json and RUN/leakage.json.")
    add_arguments(p, PrepareConfig, only=("pairs", "genome"))
    p.add_argument("--run", required=True, help="run directory to write (created if missing)")
    add_arguments(p, PrepareConfig, exclude=("pairs", "genome"))
    add_flag(p, "overwrite", "RUN already holds a run: delete its dataset, model, checkpoints, metrics, "
             "predictions and motifs (everything made from the old dataset) and prepare anew")
    add_flag(p, "quiet")
    p.set_defaults(func=_run_prepare)


def _run_prepare(args) -> None:
    from speidlib.data.dataset import prepare

    path = prepare(from_args(PrepareConfig, args), args.run, progress=not args.quiet, overwrite=args.overwrite)
    print(f"wrote {path}")


def add_train(sub) -> None:
    p = sub.add_parser("train", help="two-stage SPEID training on RUN/dataset.h5",
                       description="Stage 1 (pretrain) on the balanced, augmented training set; "
                       "stage 2 (retrain the head) on frozen, cached features of the original "
                       "imbalanced training set. Writes RUN/model.keras, RUN/history.csv and a "
                       "checkpoint after every epoch in RUN/checkpoints/.")
    p.add_argument("run", help="run directory prepared by `speid prepare`")
    add_arguments(p, TrainOptions)
    add_flag(p, "quiet")
    p.set_defaults(func=_run_train)


def _run_train(args) -> None:
    from speidlib.train.stages import train_run

    print(f"wrote {train_run(args.run, from_args(TrainOptions, args), progress=not args.quiet)}")


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score the held-out pairs; write metrics and predictions",
                       description="Choose the F1 threshold on the validation split, score the "
                       "test split, and write RUN/metrics.json (with bootstrap 95% intervals and "
                       "the split method), RUN/predictions.csv and RUN/predictions.bedpe.")
    p.add_argument("run", help="run directory with a trained model")
    add_arguments(p, EvaluateOptions)
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> None:
    from speidlib.evaluate.heldout import run_evaluate

    options = from_args(EvaluateOptions, args)
    m = run_evaluate(args.run, n_bootstrap=options.n_bootstrap, seed=options.seed)
    ci = m.get("ci", {})
    print(f"{args.run}: split={m['split']} n_test={m['n_test']} ({m['n_positive_test']} positive)")
    for k in ("auroc", "aupr", "f1", "mcc"):
        lo, hi = ci.get(k, [float("nan")] * 2)
        print(f"  {k:6s} {m[k]:.3f}  [{lo:.3f}, {hi:.3f}]")
    print(f"  threshold {m['threshold']:.3f} (chosen on the validation split)")


MOTIFS_OPTIONS = ("split", "release", "fraction", "sites", "baseline", "logos", "max_logos", "ablation",
                  "null_draws", "importance", "seed")  # the order of `speid motifs --help`


def add_motifs(sub) -> None:
    p = sub.add_parser("motifs", help="learned kernels to motifs, JASPAR matches, logos, ablation",
                       description="Turn every kernel of both branches into a PFM over the "
                       "held-out windows, match it to JASPAR CORE vertebrates with Tomtom, count "
                       "redundant kernels per TF, draw logos and ablate motif hits. Writes RUN/motifs/.")
    p.add_argument("run", help="run directory with a trained model")
    add_arguments(p, MotifsConfig, only=MOTIFS_OPTIONS)
    add_flag(p, "quiet")
    p.set_defaults(func=_run_motifs)


def motifs_config(args) -> MotifsConfig:
    """``MotifsConfig`` of ``speid motifs``'s arguments: ``--logos none`` is no logos, ``--null-draws 0``
    no null."""
    return from_args(MotifsConfig, args, logos=None if args.logos == "none" else args.logos,
                     null=args.null_draws > 0, null_draws=max(args.null_draws, 1))


def _run_motifs(args) -> None:
    from speidlib.interpret.report import run_motifs

    out = run_motifs(args.run, motifs_config(args), progress=not args.quiet)
    print(f"wrote {args.run}/motifs/ ({', '.join(f'{k}={v}' for k, v in out.items() if isinstance(v, (int, float, str)))})")


def add_baselines(sub) -> None:
    p = sub.add_parser("baselines", help="genome-free baselines on pair tables under two splits",
                       description="Distance-only and element-propensity baselines on each pair "
                       "table, under the random and the chromosome split, with cross-cell "
                       "matrices. With no --pairs, the six TargetFinder E/P tables are used "
                       "(from ../shared/data when present, else downloaded and cached).")
    p.add_argument("out", help="folder for the tables and figures")
    add_arguments(p, BaselinesOptions)
    p.set_defaults(func=_run_baselines)


def _run_baselines(args) -> None:
    from speidlib.app.reports import BASELINE_FILES, run_baselines
    from speidlib.data import pairs
    from speidlib.io import check_outputs

    if args.pairs:
        if len(set(map(os.path.realpath, args.pairs))) < len(args.pairs):
            raise ValueError("--pairs names one file twice")
        check_outputs({"OUT": [Path(args.out) / name for name in BASELINE_FILES]},
                      {f"--pairs {Path(path).name}": path for path in args.pairs}, overwrite=True)
        read = [(path, pairs.read_pairs(path)) for path in args.pairs]
        cells = [t["cell_line"].iloc[0] or Path(path).name for path, t in read]
        # every table is kept: one per cell line is keyed by it, several by file and cell line
        tables = {(cell if cells.count(cell) == 1 else f"{cell} ({Path(path).name})"): t
                  for cell, (path, t) in zip(cells, read)}
        if len(tables) < len(read):
            raise ValueError("--pairs holds two tables of one cell line with the same file name; "
                             "rename one")
    else:
        tables = {cell: pairs.targetfinder_pairs(cell) for cell in pairs.TARGETFINDER_CELLS}
    out = run_baselines(args.out, tables, seed=args.seed, n_bootstrap=args.n_bootstrap)
    print(out["baseline_table"].to_string(index=False) if "baseline_table" in out else list(out))
    print(f"wrote {args.out}/")
