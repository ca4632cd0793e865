"""The ``speid`` command line: batch runs of every workbench step.

Each subcommand reads and writes a run directory (see ``docs/architecture.md``)::

    speid demo-data demo/                      # synthetic genome + pairs
    speid prepare --pairs demo/pairs.csv --genome demo/genome.fa --run runs/demo
    speid train runs/demo --preset cpu
    speid evaluate runs/demo
    speid motifs runs/demo
    speid candidates --enhancers demo/enhancers.bed --promoters demo/promoters.bed --out pairs.bedpe
    speid score runs/demo --pairs pairs.bedpe --genome demo/genome.fa --out links.interact
    speid crispr --benchmark crispr.tsv.gz --out crispr/ [--run runs/demo --genome GRCh38.fa]
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from speidlib.app.argtypes import fraction, nonneg_int, open_fraction, positive_int, share, unit_interval

# Each subcommand imports its step inside its handler: `speid --help` and the data
# steps then start without loading TensorFlow (tests/test_architecture.py allows
# deferred imports here and nowhere else in the package).


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_demo(sub) -> None:
    p = sub.add_parser("demo-data", help="write the synthetic demo genome and pair tables",
                       description="Write OUTDIR/genome.fa (+ .fai), OUTDIR/pairs.csv (one "
                       "pairs_<CELL>.csv per cell line when there are several) and "
                       "OUTDIR/planted_motifs.meme, the planted ground truth.")
    p.add_argument("outdir", help="folder to write the demo into (created if missing)")
    p.add_argument("--seed", type=nonneg_int, default=0,
                   help="random seed; the same seed gives the same files (default 0)")
    p.add_argument("--cell-lines", type=positive_int, default=1,
                   help="number of demo cell lines sharing some grammar classes (default 1)")
    p.add_argument("--pairs-per-cell", type=positive_int, default=None,
                   help="approximate pairs per cell line (default: the demo's small default size)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files of OUTDIR the demo writes (genome.fa, pairs.csv, ...) that an "
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

    kwargs = {} if args.pairs_per_cell is None else {"n_pairs": args.pairs_per_cell}
    _check_demo_folder(args.outdir, args.cell_lines, args.overwrite)
    info = make_demo(args.outdir, seed=args.seed, n_cell_lines=args.cell_lines, **kwargs)
    print(f"wrote {info.genome}, {', '.join(str(p) for p in info.pairs.values())} and "
          f"{info.planted_motifs} (cell lines {', '.join(info.cell_lines)}), and "
          f"{info.outdir / 'enhancers.bed'}, {info.outdir / 'promoters.bed'} for `speid candidates`")
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
    p.add_argument("--test-fraction", type=fraction, default=0.1,
                   help="share of pairs held out for test (default 0.1)")
    p.add_argument("--valid-fraction", type=share, default=0.1,
                   help="share of the training part carved out for validation (default 0.1)")
    p.add_argument("--enhancer-window", type=positive_int, default=3000,
                   help="enhancer window in bp (default 3000; one that cannot fit in memory is refused)")
    p.add_argument("--promoter-window", type=positive_int, default=2000,
                   help="promoter window in bp (default 2000)")
    p.add_argument("--augment", type=nonneg_int, default=20,
                   help="random shifted copies of each training/validation positive (default 20)")
    p.add_argument("--seed", type=nonneg_int, default=0,
                   help="seed for the split, windows and shifts (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="RUN already holds a run: delete its dataset, model, checkpoints, metrics, "
                   "predictions and motifs (everything made from the old dataset) and prepare anew")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_prepare)


def _run_prepare(args) -> None:
    from speidlib.data.dataset import PrepareConfig, prepare

    config = PrepareConfig(pairs=args.pairs, genome=args.genome, split=args.split,
                           test_chromosomes=args.test_chromosomes,
                           valid_chromosomes=args.valid_chromosomes,
                           test_fraction=args.test_fraction, valid_fraction=args.valid_fraction,
                           enhancer_window=args.enhancer_window, promoter_window=args.promoter_window,
                           augment=args.augment, seed=args.seed)
    path = prepare(config, args.run, progress=not args.quiet, overwrite=args.overwrite)
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
    p.add_argument("--pretrain-epochs", type=positive_int, default=None,
                   help="stage-1 epochs, at least 1 (default: the preset's)")
    p.add_argument("--retrain-epochs", type=positive_int, default=None,
                   help="stage-2 epochs, at least 1 (default: the preset's)")
    p.add_argument("--random-init", action="store_true",
                   help="Glorot-uniform kernels instead of starting about half of them from JASPAR motifs")
    p.add_argument("--resume", action="store_true", help="continue from the last complete checkpoint")
    p.add_argument("--seed", type=nonneg_int, default=0,
                   help="seed for weights, data order and dropout (default 0)")
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU (ignored on CPU)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="TensorFlow CPU threads (default: all cores)")
    p.add_argument("--zero-branch", choices=["enhancer", "promoter"], default=None,
                   help="ablation: train and evaluate with this input zeroed, to measure what "
                   "the other element alone predicts")
    p.add_argument("--shift-negatives", action=argparse.BooleanOptionalAction, default=None,
                   help="shift negatives' windows at random in stage 1 too, so an element's position "
                   "cannot mark the label (default: the preset's; cpu shifts, paper and original keep "
                   "the preprint's positives-only shifts)")
    p.add_argument("--devices", default=None,
                   help="devices to train on: all (every visible GPU, the default), cpu, GPU indices "
                   "such as 0,1 or names such as /gpu:0,/gpu:1; with several, "
                   "tf.distribute.MirroredStrategy splits each batch across them")
    small = p.add_argument_group("data efficiency (stage 1; default: the preset's, see docs/learning_curve.md)")
    small.add_argument("--rc-augment", action=argparse.BooleanOptionalAction, default=None,
                       help="reverse-complement each training window with probability 1/2, every epoch")
    small.add_argument("--redraw-shifts", action=argparse.BooleanOptionalAction, default=None,
                       help="a fresh random shift for every training example (positive copies too) every epoch")
    small.add_argument("--epoch-examples", type=positive_int, default=None, metavar="N",
                       help="at least N stage-1 examples per epoch, half positive copies (cycled), half "
                       "negatives; needs the preset's matched negatives (cpu)")
    small.add_argument("--swap-negatives", type=unit_interval, default=None, metavar="F",
                       help="replace this fraction of each epoch's negatives by partner swaps (one positive's "
                       "enhancer with another's promoter)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_train)


def _train_preset(args):
    """The preset named by ``--preset`` with the data-efficiency options given on the command line."""
    from speidlib.model.presets import get_config

    changes = {k: getattr(args, k) for k in ("rc_augment", "redraw_shifts", "epoch_examples", "swap_negatives")
               if getattr(args, k) is not None}
    return get_config(args.preset).replace(**changes) if changes else args.preset


def _run_train(args) -> None:
    from speidlib.train.stages import train_run

    path = train_run(args.run, preset=_train_preset(args), pretrain_epochs=args.pretrain_epochs,
                     retrain_epochs=args.retrain_epochs, random_init=args.random_init,
                     resume=args.resume, seed=args.seed, mixed_precision=args.mixed_precision,
                     progress=not args.quiet, threads=args.threads, zero_branch=args.zero_branch,
                     shift_negatives=args.shift_negatives, devices=args.devices)
    print(f"wrote {path}")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score the held-out pairs; write metrics and predictions",
                       description="Choose the F1 threshold on the validation split, score the "
                       "test split, and write RUN/metrics.json (with bootstrap 95% intervals and "
                       "the split method), RUN/predictions.csv and RUN/predictions.bedpe.")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--bootstrap", type=nonneg_int, default=1000,
                   help="bootstrap resamples for the intervals (default 1000)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> None:
    from speidlib.evaluate.heldout import run_evaluate

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
    p.add_argument("--fraction", type=open_fraction, default=0.5,
                   help="a site counts when the activation exceeds this fraction of the kernel's maximum (default 0.5)")
    p.add_argument("--sites", choices=["all", "best"], default="all",
                   help="all sites above the fraction (DanQ) or one best site per window (DeepBind)")
    p.add_argument("--baseline", choices=["batchnorm", "zero"], default="batchnorm",
                   help="measure activations from the level the merge BatchNorm maps to zero "
                   "(default), or from zero as they are (Alipanahi et al.'s rule on conv + bias)")
    p.add_argument("--logos", choices=["significant", "matched", "all", "none"], default="significant",
                   help="which kernels get a logo PNG (default: those with a match at E < 0.5)")
    p.add_argument("--max-logos", type=nonneg_int, default=200, help="at most this many logos (default 200)")
    p.add_argument("--no-ablation", action="store_true", help="skip the motif ablation")
    p.add_argument("--null-draws", type=nonneg_int, default=4,
                   help="null kernels: the run's initial kernels plus redraws of its random ones, "
                   "this many draws in all (default 4); 0 skips the null and no TF is called learned")
    p.add_argument("--no-importance", action="store_true",
                   help="skip silencing each matched kernel (held-out AUPR change)")
    p.add_argument("--seed", type=nonneg_int, default=0,
                   help="seed for the ablation's random bases and the null redraws (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_motifs)


def _run_motifs(args) -> None:
    from speidlib.interpret.report import run_motifs

    out = run_motifs(args.run, split=args.split, fraction=args.fraction, sites=args.sites,
                     baseline=args.baseline,
                     release=args.release, logos=None if args.logos == "none" else args.logos,
                     max_logos=args.max_logos, ablation=not args.no_ablation, seed=args.seed,
                     null=args.null_draws > 0, null_draws=max(args.null_draws, 1),
                     importance=not args.no_importance, progress=not args.quiet)
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
    p.add_argument("--seed", type=nonneg_int, default=0, help="split seed (default 0)")
    p.add_argument("--bootstrap", type=nonneg_int, default=1000, help="bootstrap resamples (default 1000)")
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
    out = run_baselines(args.out, tables, seed=args.seed, n_bootstrap=args.bootstrap)
    print(out["baseline_table"].to_string(index=False) if "baseline_table" in out else list(out))
    print(f"wrote {args.out}/")


def _add_score(sub) -> None:
    p = sub.add_parser("score", help="score a pair file with a trained run's model",
                       description="Score candidate pairs (`speid candidates`) or a pair table, "
                       "chromosome by chromosome: each distinct element runs through its branch and "
                       "its share of the BiLSTM input projection once, and only the recurrence and "
                       "the head run per pair. Write CSV, BEDPE, UCSC interact or an ABC-style table "
                       "with each pair's rank among its enhancer's and its promoter's candidates. "
                       "Windows are fitted as in `speid prepare`.")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--pairs", required=True,
                   help="candidate BEDPE from `speid candidates`, or a pair table (TargetFinder CSV "
                   "or labelled BEDPE, plain or gzip)")
    p.add_argument("--genome", required=True, help="genome FASTA")
    p.add_argument("--out", default=None,
                   help="output file, or - for the standard output (default: RUN/genome_wide/<pairs "
                   "file stem>.<ext>, where the links dashboard finds it)")
    p.add_argument("--format", choices=["csv", "bedpe", "interact", "abc"], default=None,
                   help="output format (default: from the extension of --out: .csv, .bedpe, "
                   ".interact, .tsv; interact without --out, csv for --out -)")
    p.add_argument("--cell-type", default=None, help="CellType column of the abc format "
                   "(default: the run's cell line)")
    p.add_argument("--no-cache", action="store_true",
                   help="run every pair through the whole model (slow; for comparison)")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="examples per forward pass (default 256)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads for TensorFlow and the recurrences (default: the CPUs this "
                   "process may use; give the cores a scheduler allotted)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_score)


def _run_score(args) -> None:
    from speidlib.score.run import run_score

    out = run_score(args.run, args.pairs, args.genome, args.out, fmt=args.format,
                    cache=not args.no_cache, batch_size=args.batch_size, cell_type=args.cell_type,
                    progress=not args.quiet, threads=args.threads)
    print(f"wrote {out['out']} ({out['n_pairs']} pairs on {out['n_chromosomes']} chromosome(s), "
          f"{out['format']}, {out['seconds']:.1f} s)", file=_summary_stream(args))


def _add_candidates(sub) -> None:
    p = sub.add_parser("candidates", help="every enhancer-promoter pair within a distance, as BEDPE",
                       description="Pair every enhancer with every promoter on its chromosome whose "
                       "centre lies within --max-distance of the enhancer's centre (a 1-bp promoter "
                       "is its TSS); overlapping elements are skipped and counted. BED input: 3+ "
                       "columns, optional name (the gene for promoters) and strand, plain or gzip.")
    p.add_argument("--enhancers", required=True, help="enhancer BED")
    p.add_argument("--promoters", required=True, help="promoter (or TSS) BED")
    p.add_argument("--max-distance", type=nonneg_int, default=1_000_000,
                   help="largest distance between centres in bp (default 1000000)")
    p.add_argument("--genome", default=None, help="optional genome FASTA to check chromosome names against")
    p.add_argument("--out", required=True,
                   help="output BEDPE (gzip if it ends in .gz), or - for the standard output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_candidates)


def _run_candidates(args) -> None:
    from speidlib.data.candidates import write_candidates
    from speidlib.io import check_outputs

    check_outputs({"--out": args.out}, {"--enhancers": args.enhancers, "--promoters": args.promoters,
                                        "--genome": args.genome}, overwrite=True)
    chroms = None
    if args.genome:
        from speidlib.data.genome import Genome

        with Genome(args.genome) as g:
            chroms = list(g.chrom_sizes)
    info = write_candidates(args.enhancers, args.promoters, args.out, args.max_distance,
                            genome_chroms=chroms, progress=not args.quiet)
    print(f"wrote {args.out}: {info['n_pairs']} pairs of {info['n_enhancers']} enhancers and "
          f"{info['n_promoters']} promoters within {args.max_distance} bp "
          f"({info['n_overlapping']} overlapping pairs skipped, "
          f"{info['n_enhancers_without_candidates']} enhancers without a candidate; mean reuse "
          f"{info['mean_enhancer_reuse']:.1f} pairs per enhancer, "
          f"{info['mean_promoter_reuse']:.1f} per promoter)", file=_summary_stream(args))


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
    from speidlib.data.pairs import download_targetfinder

    print(download_targetfinder(args.cell, args.feature_set, args.cache))


def _add_random_genome(sub) -> None:
    p = sub.add_parser("random-genome", help="write a random genome with an assembly's chromosome sizes",
                       description="Write uniform random A/C/G/T with an assembly's chromosome names "
                       "and lengths (10 kb of N at each end of every chromosome of 1 Mb or more), "
                       "streamed, and its .fai index: the genome of the memorisation control, where "
                       "real pair coordinates land on sequence that carries no biology.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--assembly", choices=["hg19", "hg38"], help="chromosome sizes shipped with the package")
    src.add_argument("--chrom-sizes", help="a UCSC chrom.sizes file (name<TAB>length per line)")
    p.add_argument("--out", required=True, help="FASTA to write (OUT.fai is written beside it)")
    p.add_argument("--chromosomes", type=_csv_list, default=None,
                   help="comma-separated chromosomes to write, e.g. chr21,chr22 (default: all)")
    p.add_argument("--seed", type=nonneg_int, default=0,
                   help="random seed; a chromosome's bases depend only on the seed and its name (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing OUT (and OUT.fai); without it an existing file is refused")
    p.set_defaults(func=_run_random_genome)


def _run_random_genome(args) -> None:
    from speidlib.data.random_genome import write_random_genome
    from speidlib.io import check_outputs

    check_outputs({"--out": [args.out, f"{args.out}.fai"]}, {"--chrom-sizes": args.chrom_sizes},
                  overwrite=args.overwrite)
    out = write_random_genome(args.assembly or args.chrom_sizes, args.out, seed=args.seed,
                              chromosomes=args.chromosomes)
    print(f"wrote {out} and {out}.fai")


def _add_crispr(sub) -> None:
    p = sub.add_parser("crispr", help="the CRISPRi enhancer-gene benchmark: predictors beside distance",
                       description="Evaluate predictors on an ENCODE CRISPRi benchmark table (GRCh38): "
                       "AUPRC, AUROC and precision at 70% recall, and EngreitzLab/CRISPR_comparison's "
                       "trapezoidal AUPRC (unweighted and weighted by direct_vs_indirect_negative) "
                       "and precision and recall at a threshold fixed at 70% recall on the K562 "
                       "training table (--thresholds-from), each with a bootstrap 95% "
                       "interval, for distance to the TSS and, with --run and --genome, the run's "
                       "SPEID score and distance + SPEID combined by a logistic regression fitted "
                       "with chromosome-grouped cross-validation. Writes OUT/metrics.csv, "
                       "OUT/predictions.tsv, OUT/summary.json and precision-recall curves "
                       "(OUT/pr_*.html, and .png where plotly's image export works).")
    p.add_argument("--benchmark", required=True,
                   help="benchmark table, e.g. EPCrisprBenchmark_combined_data.training_K562.GRCh38.tsv.gz")
    p.add_argument("--out", required=True, help="folder to write (created if missing)")
    p.add_argument("--run", default=None, help="run directory with a trained model (needs --genome)")
    p.add_argument("--genome", default=None, help="GRCh38 genome FASTA (needs --run)")
    p.add_argument("--cell-type", default=None, help="evaluate this CellType only, e.g. K562 (default: all)")
    p.add_argument("--thresholds-from", default=None, metavar="DIR",
                   help="an speid crispr --out folder of the K562 training table: apply its thresholds "
                   "at 70%% recall here unchanged (default: fix them on this table)")
    p.add_argument("--bootstrap", type=nonneg_int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-png", action="store_true", help="write the figures as HTML only")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_crispr)


def _run_crispr(args) -> None:
    from speidlib import schema
    from speidlib.evaluate.crispr import run_crispr
    from speidlib.io import check_outputs
    from speidlib.viz.crispr import write_crispr_figures

    written = (schema.CRISPR_METRICS_FILE, schema.CRISPR_PREDICTIONS_FILE, schema.CRISPR_SUMMARY_FILE)
    check_outputs({"--out": [Path(args.out) / name for name in written]},
                  {"--benchmark": args.benchmark, "--genome": args.genome, "--thresholds-from":
                   args.thresholds_from and Path(args.thresholds_from) / schema.CRISPR_SUMMARY_FILE},
                  overwrite=True)
    out = run_crispr(args.benchmark, args.out, run_dir=args.run, genome=args.genome,
                     cell_type=args.cell_type, n_bootstrap=args.bootstrap, seed=args.seed,
                     thresholds_from=args.thresholds_from, progress=not args.quiet)
    s = out["summary"]
    left = ", ".join(f"{n} {why}" for why, n in s["left_out"].items()) or "none"
    print(f"{args.benchmark}: {s['n_evaluated']:,} pairs evaluated ({s['n_regulated']:,} regulated); "
          f"left out: {left}")
    for name, why in s["skipped"].items():
        print(f"  {name} skipped: {why}")
    from speidlib.evaluate.crispr import format_pooled

    print(format_pooled(out["metrics"]))
    label = Path(args.benchmark).name.split(".tsv")[0]
    files, png_error = write_crispr_figures(args.out, label=label, png=not args.no_png)
    if png_error:
        print(f"  no PNG figures ({png_error}); HTML only")
    print(f"wrote {args.out}/ (metrics.csv, predictions.tsv, summary.json, {len(files)} figure files)")


def _add_cross_cell(sub) -> None:
    p = sub.add_parser("cross-cell", help="cross-cell-line matrices: each run's model on every run's test split",
                       description="Score every run's model on every run's test pairs (rows: training "
                       "cell line, columns: test cell line) and, beside it, the element-propensity "
                       "baseline on the same pairs. Writes OUT/cross_cell_<model>_<metric>.csv, "
                       "OUT/cross_cell_long.csv, OUT/cross_cell.json and a heatmap per matrix "
                       "(OUT/cross_cell_<model>_<metric>.html).")
    p.add_argument("runs", nargs="+", help="two or more trained run directories, one per cell line")
    p.add_argument("--out", required=True, help="folder to write (created if missing)")
    p.add_argument("--no-baseline", action="store_true", help="SPEID only, no propensity baseline")
    p.add_argument("--batch-size", type=positive_int, default=256, help="examples per forward pass (default 256)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_cross_cell)


def _run_cross_cell(args) -> None:
    from speidlib.evaluate.crosscell import cross_cell_runs
    from speidlib.io import atomic_write_text
    from speidlib.viz.figures import cross_cell_heatmap

    out = cross_cell_runs(args.runs, args.out, baseline=not args.no_baseline,
                          batch_size=args.batch_size, progress=not args.quiet)
    for key, matrix in out.items():
        if key == "long":
            continue
        model, metric = key.split("_", 1)
        fig = cross_cell_heatmap(matrix, title=f"{model} {metric.upper()}: train (rows) x test (columns)",
                                 zmin=0.0 if metric == "aupr" else 0.5, zmax=1.0)
        atomic_write_text(Path(args.out) / f"cross_cell_{key}.html", fig.to_html(include_plotlyjs=True))
    print(out["speid_auroc"].round(3).to_string())
    print(f"wrote {args.out}/")


def _add_split_pairs(sub) -> None:
    p = sub.add_parser("split-pairs", help="split a BEDPE pair table into one file per chromosome",
                       description="Scatter step of genome-wide scoring: write OUTDIR/<chromosome>.bedpe "
                       "for every chromosome named (header lines copied; a chromosome without pairs "
                       "gets a header-only file). Pairs on other chromosomes are counted and dropped.")
    p.add_argument("pairs", help="BEDPE (plain or gzip), e.g. from `speid candidates`")
    p.add_argument("--chromosomes", type=_csv_list, required=True, help="comma-separated, e.g. chr1,chr2")
    p.add_argument("--out-dir", required=True, help="folder for the per-chromosome files")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing per-chromosome files (never the input itself)")
    p.set_defaults(func=_run_split_pairs)


def _run_split_pairs(args) -> None:
    from speidlib.data.scatter import split_by_chromosome

    paths = [Path(args.out_dir) / f"{c}.bedpe" for c in args.chromosomes]
    counts = split_by_chromosome(args.pairs, args.chromosomes, paths, overwrite=args.overwrite)
    print(", ".join(f"{c} {n:,}" for c, n in counts.items()) + f" pairs; wrote {args.out_dir}/")


def _add_gather(sub) -> None:
    p = sub.add_parser("gather", help="join per-chromosome result files into one",
                       description="Gather step of genome-wide scoring: concatenate files written by "
                       "one command (e.g. `speid score` per chromosome), keeping their shared header once.")
    p.add_argument("parts", nargs="+", help="the files, in output order")
    p.add_argument("--out", required=True, help="file to write (not one of the parts), or - for the standard output")
    p.set_defaults(func=_run_gather)


def _run_gather(args) -> None:
    from speidlib.data.scatter import gather_tables
    from speidlib.run import Run

    rows = gather_tables(args.parts, args.out)
    run = Run.holding(args.out) if str(args.out) != "-" else None
    if run is not None:  # joined into a run (the workflow's genome_wide/scores.*): in its manifest
        run.register_from("gather", args.out, args.parts)
    print(f"wrote {args.out} ({rows:,} rows from {len(args.parts)} parts)", file=_summary_stream(args))


def _add_doctor(sub) -> None:
    p = sub.add_parser("doctor", help="check this machine for a run: versions, GPU, genome, disk, time",
                       description="Print one table: Python, TensorFlow, Keras and key package "
                       "versions; the GPUs TensorFlow sees, whether the preset's LSTM runs cuDNN "
                       "kernels on them and mixed precision; Chromium; a genome's index and "
                       "chromosome names against a pair table; free disk and memory against the "
                       "estimated size of a run; a measured time per step with the estimated time of "
                       "one epoch and of the preset's schedule. Exits 1 on a blocking problem.")
    p.add_argument("--preset", choices=["cpu", "paper", "original"], default="cpu",
                   help="the preset to check and time (default cpu)")
    p.add_argument("--genome", default=None, help="genome FASTA to check (its index and chromosome names)")
    p.add_argument("--pairs", default=None,
                   help="pair table of the run (default: K562's counts in the preprint's Table 1)")
    p.add_argument("--run", default=".", help="where the run directory will be (free disk; default .)")
    p.add_argument("--enhancer-window", type=positive_int, default=3000, help="enhancer window in bp (default 3000)")
    p.add_argument("--promoter-window", type=positive_int, default=2000, help="promoter window in bp (default 2000)")
    p.add_argument("--augment", type=nonneg_int, default=20, help="shifted copies per positive (default 20)")
    p.add_argument("--steps", type=positive_int, default=2, help="timed steps after a warm-up step (default 2)")
    p.add_argument("--no-timing", action="store_true", help="skip the step measurement")
    p.add_argument("--mixed-precision", action="store_true", help="time the steps in float16 (on a GPU)")
    p.set_defaults(func=_run_doctor)


def _run_doctor(args) -> None:
    from speidlib.app.doctor import FAIL, DoctorOptions, format_table, run_doctor

    rows = run_doctor(DoctorOptions(
        preset=args.preset, genome=args.genome, pairs=args.pairs, run=args.run,
        enhancer_window=args.enhancer_window, promoter_window=args.promoter_window, augment=args.augment,
        steps=args.steps, timing=not args.no_timing, mixed_precision=args.mixed_precision))
    print(format_table(rows))
    if any(r.status == FAIL for r in rows):
        raise SystemExit(1)


def _add_attribute(sub) -> None:
    p = sub.add_parser("attribute", help="per-base contributions of both windows (integrated gradients)",
                       description="Contributions of every pair's bases to its logit against "
                       "dinucleotide-shuffled references (integrated gradients), actual and "
                       "hypothetical, streamed to RUN/attributions/contributions.h5 (docs/attribution.md).")
    p.add_argument("run", help="run directory with a trained model")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--split", default="test", choices=["test", "valid", "train"],
                     help="pairs of this split of RUN/dataset.h5 (default test)")
    src.add_argument("--pairs", default=None, help="a pair table (TargetFinder CSV or labelled BEDPE) instead")
    p.add_argument("--genome", default=None, help="genome FASTA (with --pairs, and for --bigwig)")
    p.add_argument("--method", default="ig", help="ig (default) or gradient_x_input")
    p.add_argument("--steps", type=positive_int, default=32, help="integration steps per reference (default 32)")
    p.add_argument("--references", type=positive_int, default=8, help="shuffled references per pair (default 8)")
    p.add_argument("--positives", action="store_true", help="only pairs labelled 1")
    p.add_argument("--max-pairs", type=positive_int, default=None, help="at most this many pairs (a seeded sample)")
    p.add_argument("--null", action="store_true",
                   help="also the same pairs under the run's initial weights (null.h5, for speid modisco)")
    p.add_argument("--bigwig", action="store_true", help="also per-element bigWig tracks, one per branch")
    p.add_argument("--out", default=None, help="output folder (default RUN/attributions/)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seeds the sample and the references (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_attribute)


def _run_attribute(args) -> None:
    from speidlib.interpret.attribute import AttributeConfig, run_attribute

    out = run_attribute(args.run, AttributeConfig(
        split=args.split, pairs=args.pairs, genome=args.genome, method=args.method, steps=args.steps,
        n_references=args.references, positives=args.positives, max_pairs=args.max_pairs, seed=args.seed,
        null=args.null, bigwig=args.bigwig), out_dir=args.out, progress=not args.quiet)
    print(f"wrote {out['out']} ({out['n_pairs']} pairs, {out['seconds']:.1f} s; median completeness "
          f"error {out['median_completeness_error']:.2%})" + "".join(f", {f}" for f in [out["null"]]
                                                                    + out["bigwig"] if f))


def _add_variants(sub) -> None:
    p = sub.add_parser("variants", help="what each VCF variant does to the pairs whose windows hold it",
                       description="Score every (variant, pair) whose enhancer or promoter window holds "
                       "the variant: reference and ALT scores, their difference (also as logits) and the "
                       "pair's rank among its enhancer's candidates before and after. Multi-allelic "
                       "records are split; indels keep the window's start (docs/variants.md). Writes a "
                       "TSV of (variant, pair) rows, or a bgzipped VCF with the values as INFO fields.")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--vcf", required=True, help="VCF or BCF, plain or bgzipped")
    p.add_argument("--pairs", required=True, help="candidate BEDPE from `speid candidates`, or a pair table")
    p.add_argument("--genome", required=True, help="genome FASTA (REF alleles are checked against it)")
    p.add_argument("--out", required=True, help="OUT.tsv (one row per (variant, pair)) or OUT.vcf.gz")
    p.add_argument("--skip-ref-mismatch", action="store_true",
                   help="drop variants whose REF disagrees with the genome (counted and listed) "
                   "instead of stopping")
    p.add_argument("--max-indel", type=nonneg_int, default=50,
                   help="largest indel length change in bp applied to a window (default 50)")
    p.add_argument("--chromosomes", type=_csv_list, default=None,
                   help="only the variants and pairs of these chromosomes, comma-separated (one job of "
                   "a per-chromosome workflow; default: all)")
    p.add_argument("--no-cache", action="store_true",
                   help="run every (variant, pair) through the whole model (slow; for comparison)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all this process may use)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_variants)


def _run_variants(args) -> None:
    from speidlib.interpret.variant_run import run_variants

    out = run_variants(args.run, args.vcf, args.pairs, args.genome, args.out,
                       skip_ref_mismatch=args.skip_ref_mismatch, max_indel=args.max_indel,
                       overwrite=args.overwrite, threads=args.threads, progress=not args.quiet,
                       chromosomes=args.chromosomes, cache=not args.no_cache)
    not_scored = ", ".join(f"{n} {why}" for why, n in out["not_scored"].items()) or "none"
    skipped = "".join(f", {n} skipped ({why})" for why, n in out["skipped"].items())
    print(f"wrote {out['out']}: {out['n_effects']} (variant, pair) effects of {out['n_scored']} of "
          f"{out['n_variants']} variants; not scored: {not_scored}{skipped}; "
          f"{len(out['ref_mismatch'])} REF mismatches skipped ({out['seconds']:.1f} s)")
    if out["ref_mismatch"]:
        shown = out["ref_mismatch"][:20]
        print("REF mismatches: " + ", ".join(shown) + (" ..." if len(out["ref_mismatch"]) > 20 else ""))


def _add_demo_variants(sub) -> None:
    p = sub.add_parser("demo-variants", help="the demo's truth VCF: site-breaking and random SNVs",
                       description="For the first --elements active enhancers and promoters of a demo "
                       "folder (speid demo-data), one SNV per planted motif copy in the element's window "
                       "that breaks it (its most informative position changed to the least likely base) "
                       "and one random SNV in the same window; IDs say which (break|element, "
                       "random|element). Input for speid variants (docs/variants.md).")
    p.add_argument("demo", help="demo folder (genome.fa, elements.csv, planted_motifs.meme)")
    p.add_argument("--out", required=True, help="output VCF (plain text)")
    p.add_argument("--enhancer-window", type=positive_int, default=1000, help="as speid prepare (default 1000)")
    p.add_argument("--promoter-window", type=positive_int, default=1000, help="as speid prepare (default 1000)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="speid prepare's seed (window offsets; default 0)")
    p.add_argument("--elements", type=positive_int, default=200,
                   help="active elements of each kind, in genome order (default 200)")
    p.add_argument("--random-seed", type=nonneg_int, default=0, help="seeds the random SNVs (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.set_defaults(func=_run_demo_variants)


def _run_demo_variants(args) -> None:
    from speidlib.interpret.variant_run import write_demo_vcf

    out = write_demo_vcf(args.demo, args.out, args.enhancer_window, args.promoter_window, seed=args.seed,
                         max_elements=args.elements, random_seed=args.random_seed, overwrite=args.overwrite)
    print(f"wrote {out['out']}: {out['n_break']} site-breaking and {out['n_random']} random SNVs in "
          f"{out['n_elements']} elements")


def _add_ism(sub) -> None:
    p = sub.add_parser("ism", help="in-silico saturation mutagenesis map of one pair",
                       description="Every alternative base at every position of the pair's enhancer "
                       "and promoter windows (the windows speid score reads), scored by the fast path: "
                       "only the pooled positions a base reaches are recomputed (docs/variants.md).")
    p.add_argument("run", help="run directory with a trained model")
    p.add_argument("--pair", nargs=2, required=True, metavar=("ENH", "PRO"),
                   help="the enhancer and the promoter, chrom:start-end (0-based) or CELL|chrom:start-end")
    p.add_argument("--genome", default=None, help="genome FASTA (default: the one the run was prepared from)")
    p.add_argument("--out", required=True, help="OUT.tsv (one row per position) or OUT.npz")
    p.add_argument("--output", choices=["logit", "probability"], default="logit",
                   help="units of the changes (default logit)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all this process may use)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.set_defaults(func=_run_ism)


def _run_ism(args) -> None:
    from speidlib.interpret.variant_run import run_ism

    out = run_ism(args.run, args.pair[0], args.pair[1], args.out, genome_path=args.genome,
                  output=args.output, overwrite=args.overwrite, threads=args.threads)
    print(f"wrote {out['out']}: {out['n_mutants']} mutants, reference {out['output']} "
          f"{out['reference']:.4f} ({out['seconds']:.1f} s)")


def _add_modisco(sub) -> None:
    p = sub.add_parser("modisco", help="TF-MoDISco motifs from RUN/attributions/, matched to JASPAR, against a null",
                       description="Run TF-MoDISco per branch on the hypothetical contributions "
                       "`speid attribute` stored (positive pairs), match each pattern to JASPAR with "
                       "Tomtom, and call a TF learned against the same steps on null.h5 (the initial "
                       "weights; `speid attribute --null`). Writes RUN/modisco/ (motifs.csv, report.html).")
    p.add_argument("run", help="run directory")
    p.add_argument("--attributions", default=None, help="folder of `speid attribute` (default RUN/attributions/)")
    p.add_argument("--all-pairs", action="store_true", help="every stored pair, not only the positives")
    p.add_argument("--max-pairs", type=positive_int, default=2000, help="at most this many pairs (default 2000)")
    p.add_argument("--release", default=None, help="JASPAR release (default JASPAR2024)")
    p.add_argument("--out", default=None, help="output folder (default RUN/modisco/)")
    p.set_defaults(func=_run_modisco)


def _run_modisco(args) -> None:
    from speidlib.interpret.modisco import run_modisco

    out = run_modisco(args.run, args.attributions, out_dir=args.out, positives=not args.all_pairs,
                      max_pairs=args.max_pairs, release=args.release)
    tf = out["tf_summary"]
    learned = ", ".join(f"{t} ({b})" for b, t in zip(tf.loc[tf["learned"], "branch"], tf.loc[tf["learned"], "tf"]))
    print(f"wrote {out['out']}/ ({len(out['motifs'])} patterns, {out['seconds']:.0f} s); learned: "
          f"{learned or 'none'}" + ("" if out["null"] else " (no null.h5: nothing can be called learned)"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("speidlib")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


def _summary_stream(args):
    """Where a step's summary line goes: the standard error when the table went to the standard
    output (``--out -``), so that the output stays the table alone."""
    return sys.stderr if getattr(args, "out", None) == "-" else sys.stdout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speid", description="SPEID workbench: enhancer-promoter interactions from sequence.")
    parser.add_argument("--version", action="version", version=f"speid {_version()}",
                        help="print the workbench's version (recorded in every run's config.json)")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(sub)
    for p in sub.choices.values():  # `speid train RUN --debug` works too
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    return parser


_ADDERS = [_add_demo, _add_prepare, _add_train, _add_evaluate, _add_motifs, _add_baselines,
           _add_candidates, _add_score, _add_fetch,
           _add_random_genome, _add_crispr, _add_cross_cell, _add_split_pairs, _add_gather,
           _add_doctor, _add_attribute, _add_modisco, _add_variants, _add_ism, _add_demo_variants]


# the steps that load TensorFlow
_TF_COMMANDS = ("train", "evaluate", "motifs", "score", "crispr", "doctor", "attribute", "modisco",
                "variants", "ism")


def _quiet_tensorflow(command: str) -> None:
    """No TensorFlow/absl start-up log lines before a step's own output (or its error):
    :func:`speidlib.runtime.import_tensorflow_quietly` for the steps that load it."""
    if command in _TF_COMMANDS:
        from speidlib.runtime import import_tensorflow_quietly

        import_tensorflow_quietly()


# Errors of the user's input, files, disk or network: one line, exit 2. Anything else is
# a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError)


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and not isinstance(e, (ValueError,)) and e.strerror:
        where = f" {e.filename}" if e.filename else ""
        return f"{e.strerror}:{where}" if where else e.strerror
    text = " ".join(str(e).split()) or type(e).__name__
    return text


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_tensorflow(args.command)
    try:
        run = getattr(args, "run", None)
        if args.command in ("prepare", "train", "evaluate", "motifs", "attribute", "modisco") and run:
            from speidlib.run import run_lock

            with run_lock(run, args.command):
                args.func(args)
        else:
            args.func(args)
    except BrokenPipeError:  # `--out - | head`: the reader has what it wanted; no traceback, no error line
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 141  # as a command killed by SIGPIPE
    except USER_ERRORS as e:
        if args.debug:
            traceback.print_exc()
        print(f"speid {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
