"""``speid candidates``, ``score``, ``split-pairs``, ``gather``: genome-wide links; ``crispr``,
``cross-cell``: benchmarks over trained runs; ``fetch-targetfinder``, ``random-genome``: inputs."""
from __future__ import annotations

from pathlib import Path

from speidlib.app.cli.common import summary_stream
from speidlib.argtypes import csv_list
from speidlib.data.candidates import CandidatesOptions
from speidlib.data.pairs import TargetFinderOptions
from speidlib.data.random_genome import RandomGenomeOptions
from speidlib.evaluate.crispr import CrisprOptions
from speidlib.options import add_arguments, add_flag, from_args
from speidlib.score.run import ScoreOptions

# Each handler imports its step when it runs (`speid --help` loads no TensorFlow).


def add_score(sub) -> None:
    p = sub.add_parser("score", help="score a pair file with a trained run's model",
                       description="Score candidate pairs (`speid candidates`) or a pair table, "
                       "chromosome by chromosome: each distinct element runs through its branch and "
                       "its share of the BiLSTM input projection once, and only the recurrence and "
                       "the head run per pair. Write CSV, BEDPE, UCSC interact or an ABC-style table "
                       "with each pair's rank among its enhancer's and its promoter's candidates. "
                       "Windows are fitted as in `speid prepare`.")
    p.add_argument("run", help="run directory with a trained model")
    add_arguments(p, ScoreOptions)
    add_flag(p, "quiet")
    p.set_defaults(func=_run_score)


def _run_score(args) -> None:
    from speidlib.score.run import run_score

    o = from_args(ScoreOptions, args)
    out = run_score(args.run, o.pairs, o.genome, o.out, fmt=o.format, cache=o.cache, batch_size=o.batch_size,
                    cell_type=o.cell_type, progress=not args.quiet, threads=o.threads)
    print(f"wrote {out['out']} ({out['n_pairs']} pairs on {out['n_chromosomes']} chromosome(s), "
          f"{out['format']}, {out['seconds']:.1f} s)", file=summary_stream(args))


def add_candidates(sub) -> None:
    p = sub.add_parser("candidates", help="every enhancer-promoter pair within a distance, as BEDPE",
                       description="Pair every enhancer with every promoter on its chromosome whose "
                       "centre lies within --max-distance of the enhancer's centre (a 1-bp promoter "
                       "is its TSS); overlapping elements are skipped and counted. BED input: 3+ "
                       "columns, optional name (the gene for promoters) and strand, plain or gzip.")
    add_arguments(p, CandidatesOptions)
    add_flag(p, "quiet", "no progress bar")
    p.set_defaults(func=_run_candidates)


def _run_candidates(args) -> None:
    from speidlib.data.candidates import write_candidates
    from speidlib.io import check_outputs

    o = from_args(CandidatesOptions, args)
    check_outputs({"--out": o.out}, {"--enhancers": o.enhancers, "--promoters": o.promoters,
                                     "--genome": o.genome}, overwrite=True)
    chroms = None
    if o.genome:
        from speidlib.data.genome import Genome

        with Genome(o.genome) as g:
            chroms = list(g.chrom_sizes)
    info = write_candidates(o.enhancers, o.promoters, o.out, o.max_distance,
                            genome_chroms=chroms, progress=not args.quiet)
    print(f"wrote {o.out}: {info['n_pairs']} pairs of {info['n_enhancers']} enhancers and "
          f"{info['n_promoters']} promoters within {o.max_distance} bp "
          f"({info['n_overlapping']} overlapping pairs skipped, "
          f"{info['n_enhancers_without_candidates']} enhancers without a candidate; mean reuse "
          f"{info['mean_enhancer_reuse']:.1f} pairs per enhancer, "
          f"{info['mean_promoter_reuse']:.1f} per promoter)", file=summary_stream(args))


def add_fetch(sub) -> None:
    p = sub.add_parser("fetch-targetfinder", help="download a TargetFinder pair table (cached)",
                       description="Download paper/targetfinder/<CELL>/output-<SET>/predictions-gbm.csv "
                       "from the public shwhalen/targetfinder repository into a cache folder.")
    add_arguments(p, TargetFinderOptions)
    p.set_defaults(func=_run_fetch)


def _run_fetch(args) -> None:
    from speidlib.data.pairs import download_targetfinder

    o = from_args(TargetFinderOptions, args)
    print(download_targetfinder(o.cell, o.feature_set, o.cache))


def add_random_genome(sub) -> None:
    p = sub.add_parser("random-genome", help="write a random genome with an assembly's chromosome sizes",
                       description="Write uniform random A/C/G/T with an assembly's chromosome names "
                       "and lengths (10 kb of N at each end of every chromosome of 1 Mb or more), "
                       "streamed, and its .fai index: the genome of the memorisation control, where "
                       "real pair coordinates land on sequence that carries no biology.")
    add_arguments(p.add_mutually_exclusive_group(required=True), RandomGenomeOptions,
                  only=("assembly", "chrom_sizes"))
    add_arguments(p, RandomGenomeOptions, exclude=("assembly", "chrom_sizes"))
    add_flag(p, "overwrite", "replace an existing OUT (and OUT.fai); without it an existing file is refused")
    p.set_defaults(func=_run_random_genome)


def _run_random_genome(args) -> None:
    from speidlib.data.random_genome import write_random_genome
    from speidlib.io import check_outputs

    o = from_args(RandomGenomeOptions, args)
    check_outputs({"--out": [o.out, f"{o.out}.fai"]}, {"--chrom-sizes": o.chrom_sizes}, overwrite=args.overwrite)
    out = write_random_genome(o.assembly or o.chrom_sizes, o.out, seed=o.seed, chromosomes=o.chromosomes)
    print(f"wrote {out} and {out}.fai")


def add_crispr(sub) -> None:
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
    add_arguments(p, CrisprOptions)
    p.add_argument("--no-png", action="store_true", help="write the figures as HTML only")
    add_flag(p, "quiet")
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
    o = from_args(CrisprOptions, args)
    out = run_crispr(o.benchmark, o.out, run_dir=o.run, genome=o.genome, cell_type=o.cell_type,
                     n_bootstrap=o.n_bootstrap, seed=o.seed, thresholds_from=o.thresholds_from,
                     progress=not args.quiet)
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


def add_cross_cell(sub) -> None:
    p = sub.add_parser("cross-cell", help="cross-cell-line matrices: each run's model on every run's test split",
                       description="Score every run's model on every run's test pairs (rows: training "
                       "cell line, columns: test cell line) and, beside it, the element-propensity "
                       "baseline on the same pairs. Writes OUT/cross_cell_<model>_<metric>.csv, "
                       "OUT/cross_cell_long.csv, OUT/cross_cell.json and a heatmap per matrix "
                       "(OUT/cross_cell_<model>_<metric>.html).")
    p.add_argument("runs", nargs="+", help="two or more trained run directories, one per cell line")
    p.add_argument("--out", required=True, help="folder to write (created if missing)")
    p.add_argument("--no-baseline", action="store_true", help="SPEID only, no propensity baseline")
    add_arguments(p, ScoreOptions, only=("batch_size",))
    add_flag(p, "quiet")
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


def add_split_pairs(sub) -> None:
    p = sub.add_parser("split-pairs", help="split a BEDPE pair table into one file per chromosome",
                       description="Scatter step of genome-wide scoring: write OUTDIR/<chromosome>.bedpe "
                       "for every chromosome named (header lines copied; a chromosome without pairs "
                       "gets a header-only file). Pairs on other chromosomes are counted and dropped.")
    p.add_argument("pairs", help="BEDPE (plain or gzip), e.g. from `speid candidates`")
    p.add_argument("--chromosomes", type=csv_list, required=True, help="comma-separated, e.g. chr1,chr2")
    p.add_argument("--out-dir", required=True, help="folder for the per-chromosome files")
    add_flag(p, "overwrite", "replace existing per-chromosome files (never the input itself)")
    p.set_defaults(func=_run_split_pairs)


def _run_split_pairs(args) -> None:
    from speidlib.data.scatter import split_by_chromosome

    paths = [Path(args.out_dir) / f"{c}.bedpe" for c in args.chromosomes]
    counts = split_by_chromosome(args.pairs, args.chromosomes, paths, overwrite=args.overwrite)
    print(", ".join(f"{c} {n:,}" for c, n in counts.items()) + f" pairs; wrote {args.out_dir}/")


def add_gather(sub) -> None:
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
    print(f"wrote {args.out} ({rows:,} rows from {len(args.parts)} parts)", file=summary_stream(args))
