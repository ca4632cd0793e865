"""``speid doctor``; what a model learned and what a variant does: ``attribute``, ``modisco``,
``variants``, ``ism``, ``demo-variants``."""
from __future__ import annotations

from speidlib.argtypes import positive_int
from speidlib.data.dataset import PrepareConfig
from speidlib.interpret.attribute import AttributeConfig
from speidlib.interpret.modisco import ModiscoConfig
from speidlib.interpret.variant_run import DemoVariantsOptions, IsmOptions, VariantsOptions
from speidlib.options import add_arguments, add_flag, from_args
from speidlib.train.options import TrainOptions

# Each handler imports its step when it runs (`speid --help` loads no TensorFlow).


def add_doctor(sub) -> None:
    p = sub.add_parser("doctor", help="check this machine for a run: versions, GPU, genome, disk, time",
                       description="Print one table: Python, TensorFlow, Keras and key package "
                       "versions; the GPUs TensorFlow sees, whether the preset's LSTM runs cuDNN "
                       "kernels on them and mixed precision; Chromium; a genome's index and "
                       "chromosome names against a pair table; free disk and memory against the "
                       "estimated size of a run; a measured time per step with the estimated time of "
                       "one epoch and of the preset's schedule. Exits 1 on a blocking problem.")
    add_arguments(p, TrainOptions, only=("preset",),
                  help={"preset": "the preset to check and time (default %(default)s)"})
    p.add_argument("--genome", default=None, help="genome FASTA to check (its index and chromosome names)")
    p.add_argument("--pairs", default=None,
                   help="pair table of the run (default: K562's counts in the preprint's Table 1)")
    p.add_argument("--run", default=".", help="where the run directory will be (free disk; default .)")
    add_arguments(p, PrepareConfig, only=("enhancer_window", "promoter_window", "augment"),
                  help={"enhancer_window": "enhancer window in bp (default %(default)s)",
                        "augment": "shifted copies per positive (default %(default)s)"})
    p.add_argument("--steps", type=positive_int, default=2, help="timed steps after a warm-up step (default %(default)s)")
    p.add_argument("--no-timing", action="store_true", help="skip the step measurement")
    add_arguments(p, TrainOptions, only=("mixed_precision",),
                  help={"mixed_precision": "time the steps in float16 (on a GPU)"})
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


def add_attribute(sub) -> None:
    p = sub.add_parser("attribute", help="per-base contributions of both windows (integrated gradients)",
                       description="Contributions of every pair's bases to its logit against "
                       "dinucleotide-shuffled references (integrated gradients), actual and "
                       "hypothetical, streamed to RUN/attributions/contributions.h5 (docs/attribution.md).")
    p.add_argument("run", help="run directory with a trained model")
    add_arguments(p.add_mutually_exclusive_group(), AttributeConfig, only=("split", "pairs"))
    add_arguments(p, AttributeConfig, only=("genome", "method", "steps", "n_references", "positives", "max_pairs",
                                            "null", "bigwig"))
    p.add_argument("--out", default=None, help="output folder (default RUN/attributions/)")
    p.add_argument("--reuse", action="store_true",
                   help="keep the files already in the output folder that this model wrote from this dataset "
                   "with these options (a split, not --pairs)")
    add_arguments(p, AttributeConfig, only=("seed",))
    add_flag(p, "quiet")
    p.set_defaults(func=_run_attribute)


def _run_attribute(args) -> None:
    from speidlib.interpret.attribute import run_attribute

    out = run_attribute(args.run, from_args(AttributeConfig, args), out_dir=args.out, progress=not args.quiet,
                        reuse=args.reuse)
    kept = f"; reused {', '.join(out['reused'])} (same model, dataset and options)" if out["reused"] else ""
    verb = "kept" if out["out"] in out["reused"] else "wrote"
    print(f"{verb} {out['out']} ({out['n_pairs']} pairs, {out['seconds']:.1f} s; median completeness "
          f"error {out['median_completeness_error']:.2%})" + "".join(f", {f}" for f in [out["null"]]
                                                                    + out["bigwig"] if f) + kept)


def add_variants(sub) -> None:
    p = sub.add_parser("variants", help="what each VCF variant does to the pairs whose windows hold it",
                       description="Score every (variant, pair) whose enhancer or promoter window holds "
                       "the variant: reference and ALT scores, their difference (also as logits) and the "
                       "pair's rank among its enhancer's candidates before and after. Multi-allelic "
                       "records are split; indels keep the window's start (docs/variants.md). Writes a "
                       "TSV of (variant, pair) rows, or a bgzipped VCF with the values as INFO fields.")
    p.add_argument("run", help="run directory with a trained model")
    add_arguments(p, VariantsOptions)
    add_flag(p, "overwrite")
    add_flag(p, "quiet", "no progress bar")
    p.set_defaults(func=_run_variants)


def _run_variants(args) -> None:
    from speidlib.interpret.variant_run import run_variants

    o = from_args(VariantsOptions, args)
    out = run_variants(args.run, o.vcf, o.pairs, o.genome, o.out, skip_ref_mismatch=o.skip_ref_mismatch,
                       max_indel=o.max_indel, overwrite=args.overwrite, threads=o.threads,
                       progress=not args.quiet, chromosomes=o.chromosomes, cache=o.cache)
    not_scored = ", ".join(f"{n} {why}" for why, n in out["not_scored"].items()) or "none"
    skipped = "".join(f", {n} skipped ({why})" for why, n in out["skipped"].items())
    print(f"wrote {out['out']}: {out['n_effects']} (variant, pair) effects of {out['n_scored']} of "
          f"{out['n_variants']} variants; not scored: {not_scored}{skipped}; "
          f"{len(out['ref_mismatch'])} REF mismatches skipped ({out['seconds']:.1f} s)")
    if out["ref_mismatch"]:
        shown = out["ref_mismatch"][:20]
        print("REF mismatches: " + ", ".join(shown) + (" ..." if len(out["ref_mismatch"]) > 20 else ""))


def add_demo_variants(sub) -> None:
    p = sub.add_parser("demo-variants", help="the demo's truth VCF: site-breaking and random SNVs",
                       description="For the first --elements active enhancers and promoters of a demo "
                       "folder (speid demo-data), one SNV per planted motif copy in the element's window "
                       "that breaks it (its most informative position changed to the least likely base) "
                       "and one random SNV in the same window; IDs say which (break|element, "
                       "random|element). Input for speid variants (docs/variants.md).")
    add_arguments(p, DemoVariantsOptions)
    add_flag(p, "overwrite")
    p.set_defaults(func=_run_demo_variants)


def _run_demo_variants(args) -> None:
    from speidlib.interpret.variant_run import write_demo_vcf

    o = from_args(DemoVariantsOptions, args)
    out = write_demo_vcf(o.demo, o.out, o.enhancer_window, o.promoter_window, seed=o.seed,
                         max_elements=o.max_elements, random_seed=o.random_seed, overwrite=args.overwrite)
    print(f"wrote {out['out']}: {out['n_break']} site-breaking and {out['n_random']} random SNVs in "
          f"{out['n_elements']} elements")


def add_ism(sub) -> None:
    p = sub.add_parser("ism", help="in-silico saturation mutagenesis map of one pair",
                       description="Every alternative base at every position of the pair's enhancer "
                       "and promoter windows (the windows speid score reads), scored by the fast path: "
                       "only the pooled positions a base reaches are recomputed (docs/variants.md).")
    p.add_argument("run", help="run directory with a trained model")
    add_arguments(p, IsmOptions)
    add_flag(p, "overwrite")
    p.set_defaults(func=_run_ism)


def _run_ism(args) -> None:
    from speidlib.interpret.variant_run import run_ism

    o = from_args(IsmOptions, args)
    out = run_ism(args.run, o.pair[0], o.pair[1], o.out, genome_path=o.genome, output=o.output,
                  overwrite=args.overwrite, threads=o.threads)
    print(f"wrote {out['out']}: {out['n_mutants']} mutants, reference {out['output']} "
          f"{out['reference']:.4f} ({out['seconds']:.1f} s)")


def add_modisco(sub) -> None:
    p = sub.add_parser("modisco", help="TF-MoDISco motifs from RUN/attributions/, matched to JASPAR, against a null",
                       description="Run TF-MoDISco per branch on the hypothetical contributions "
                       "`speid attribute` stored (positive pairs), match each pattern to JASPAR with "
                       "Tomtom (a pattern names its best-matching TF only when the match beats chance "
                       "across the branch's patterns and needs the pattern's column order), and call a TF learned against the same steps on "
                       "null.h5 (the initial weights; `speid attribute --null`). Writes RUN/modisco/ "
                       "(motifs.csv, tf_summary.csv, report.html).")
    p.add_argument("run", help="run directory")
    p.add_argument("--attributions", default=None, help="folder of `speid attribute` (default RUN/attributions/)")
    add_arguments(p, ModiscoConfig, only=("positives", "max_pairs", "release", "permutations", "seed"))
    p.add_argument("--out", default=None, help="output folder (default RUN/modisco/)")
    add_flag(p, "quiet", "no progress lines")
    p.set_defaults(func=_run_modisco)


def _run_modisco(args) -> None:
    from speidlib.interpret.modisco import run_modisco

    out = run_modisco(args.run, args.attributions, config=from_args(ModiscoConfig, args), out_dir=args.out,
                      progress=not args.quiet)
    tf = out["tf_summary"]
    learned = ", ".join(f"{t} ({b})" for b, t in zip(tf.loc[tf["learned"], "branch"], tf.loc[tf["learned"], "tf"]))
    print(f"wrote {out['out']}/ ({len(out['motifs'])} patterns, {out['seconds']:.0f} s); learned: "
          f"{learned or 'none'}" + ("" if out["null"] else " (no null.h5: nothing can be called learned)"))
