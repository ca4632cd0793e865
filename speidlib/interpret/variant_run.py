"""``speid variants``: a VCF against a pair file, chromosome by chromosome, to TSV or VCF.

:func:`run_variants` reads the variants (:func:`speidlib.data.vcf.read_vcf`),
checks chromosome names and every REF against the genome, scores each
chromosome's (variant, pair) effects (:class:`speidlib.interpret.variants.VariantScorer`)
and writes, atomically, either a TSV of
:data:`speidlib.interpret.variants.VARIANT_EFFECT_COLUMNS` (one row per
(variant, pair)) or a bgzipped VCF (``.vcf.gz``): every input variant, split
per ALT, with the per-pair values as INFO lists (:data:`INFO_FIELDS`, declared
in the header). Variants in no window are counted in the summary, and in the
VCF carry ``SPEID_STATUS`` and ``SPEID_N=0``.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib.argtypes import csv_list, nonneg_int, positive_int
from speidlib.data.dataset import PrepareConfig
from speidlib.data.encode import one_hot
from speidlib.data.genome import Genome
from speidlib.data.vcf import check_chromosome_names, check_ref, read_vcf, write_vcf_text
from speidlib.demo.sites import demo_motifs, planted_sites, truth_variants
from speidlib.demo.synthetic import DemoConfig
from speidlib.interpret.attribution import _OUTPUTS as OUTPUTS
from speidlib.interpret.ism import FastISM
from speidlib.interpret.variants import MAX_INDEL, VARIANT_EFFECT_COLUMNS, VariantScorer, window_starts
from speidlib.io import atomic_path, check_outputs
from speidlib.model.load import snapshot_run_model
from speidlib.options import option, seed_option, threads_option
from speidlib.run import Run
from speidlib.runtime import set_threads
from speidlib.score.genome_wide import iter_chromosomes

#: INFO fields of the VCF output: (ID, Number, Type, column of the effects table or None, description)
INFO_FIELDS = [
    ("SPEID_STATUS", "1", "String", None, "scored, or why no pair was scored (in_no_window, "
     "across_a_window_edge, indel_too_long)"),
    ("SPEID_N", "1", "Integer", None, "number of (variant, pair) effects below"),
    ("SPEID_MIN_DELTA", "1", "Float", None, "most negative delta (alt minus ref score) over the pairs"),
    ("SPEID_BRANCH", ".", "String", "branch", "window holding the variant, per pair: enhancer, promoter or both"),
    ("SPEID_ENHANCER", ".", "String", "enhancer", "the pair's enhancer, chrom:start-end (0-based, half-open)"),
    ("SPEID_PROMOTER", ".", "String", "promoter", "the pair's promoter, chrom:start-end"),
    ("SPEID_REF", ".", "Float", "ref_score", "the pair's score on the reference"),
    ("SPEID_ALT", ".", "Float", "alt_score", "the pair's score with the ALT allele"),
    ("SPEID_DELTA", ".", "Float", "delta", "alt_score minus ref_score, per pair"),
    ("SPEID_LOGIT_DELTA", ".", "Float", "logit_delta", "logit(alt_score) minus logit(ref_score), per pair"),
    ("SPEID_RANK_BEFORE", ".", "Integer", "enhancer_rank_before",
     "the pair's rank among its enhancer's candidates (1 = highest) on the reference"),
    ("SPEID_RANK_AFTER", ".", "Integer", "enhancer_rank_after", "the same rank with the ALT allele"),
]


def _out_kind(path) -> str:
    name = str(path).lower()
    if name.endswith(".tsv") or name.endswith(".tsv.gz"):
        return "tsv"
    if name.endswith(".vcf.gz"):
        return "vcf"
    raise ValueError(f"--out {path}: give a file ending in .tsv (a table of (variant, pair) effects) "
                     "or .vcf.gz (the variants with INFO fields)")


@dataclass(frozen=True)
class VariantsOptions:
    """The options of ``speid variants`` besides the run (:mod:`speidlib.options`)."""

    vcf: str = option(help="VCF or BCF, plain or bgzipped")
    pairs: str = option(help="candidate BEDPE from `speid candidates`, or a pair table")
    genome: str = option(help="genome FASTA (REF alleles are checked against it)")
    out: str = option(help="OUT.tsv (one row per (variant, pair)) or OUT.vcf.gz")
    skip_ref_mismatch: bool = option(False, help="drop variants whose REF disagrees with the genome (counted "
                                     "and listed) instead of stopping")
    max_indel: int = option(MAX_INDEL, type=nonneg_int,
                            help="largest indel length change in bp applied to a window (default %(default)s)")
    chromosomes: list[str] | None = option(None, type=csv_list,
                                           help="only the variants and pairs of these chromosomes, comma-separated "
                                           "(one job of a per-chromosome workflow; default: all)")
    cache: bool = option(True, flag="--no-cache", help="run every (variant, pair) through the whole model (slow; "
                         "for comparison)")
    threads: int | None = threads_option()


def run_variants(run_dir, vcf_path, pairs_path, genome_path, out_path, skip_ref_mismatch: bool = False,
                 max_indel: int = MAX_INDEL, overwrite: bool = False, threads: int | None = None,
                 progress: bool = False, chromosomes=None, cache: bool = True) -> dict:
    """``speid variants``: score every (variant, pair) whose window holds the variant.

    ``chromosomes``: only the variants and pairs of these chromosomes (one job of a
    per-chromosome workflow); None: all. ``cache=False``: every (variant, pair) through the
    whole model (for comparison).

    Returns
    -------
    dict: ``out``, ``n_variants`` (ALT alleles read), ``n_scored`` (in at least one window),
    ``n_effects`` (rows), ``not_scored`` (reason -> count), ``ref_mismatch`` (list of
    ``chrom:pos ref>alt`` skipped with ``skip_ref_mismatch``), ``skipped`` (ALT ``*``, no ALT),
    ``n_chromosomes``, ``seconds``
    """
    from tqdm.auto import tqdm


    t0 = time.perf_counter()
    kind = _out_kind(out_path)
    check_outputs({"--out": out_path}, {"--vcf": vcf_path, "--pairs": pairs_path, "--genome": genome_path},
                  overwrite=overwrite)
    if max_indel < 0:
        raise ValueError(f"--max-indel must be at least 0, got {max_indel}")
    variants = read_vcf(vcf_path, chromosomes)
    run = Run(run_dir)
    with contextlib.ExitStack() as stack:
        genome = stack.enter_context(Genome(genome_path))
        table_out = None
        if kind == "tsv":            # streamed chromosome by chromosome; renamed into place at the end
            table_out = stack.enter_context(open(stack.enter_context(atomic_path(out_path)), "w"))
            table_out.write("\t".join(VARIANT_EFFECT_COLUMNS) + "\n")
        check_chromosome_names(variants, list(genome.chrom_sizes), f"the genome {genome_path}")
        mismatched = check_ref(variants, genome, skip=skip_ref_mismatch)
        set_threads(threads)
        model, _ = snapshot_run_model(run)
        scorer = VariantScorer(model, genome, seed=run.prepare_record.seed or 0, max_indel=max_indel,
                               threads=threads, cache=cache)
        table = variants.table
        status = np.full(len(table), "in no window", dtype=object)
        effects, pair_chroms, n_effects = [], [], 0
        by_chrom = {c: idx for c, idx in table.groupby("chrom").indices.items()}
        for cp in tqdm(iter_chromosomes(pairs_path), desc="chromosomes", unit="chrom", disable=not progress):
            if chromosomes is not None and cp.chrom not in chromosomes:
                continue
            pair_chroms.append(cp.chrom)
            rows = by_chrom.get(cp.chrom)
            if rows is None:
                continue
            cp.check_within(genome, Path(pairs_path).name)  # the bounds check of prepare and score
            eff, st = scorer.score_chromosome(cp, table.iloc[rows])
            status[rows] = st
            eff.insert(0, "_row", rows[eff.pop("_variant").to_numpy().astype(np.int64)])
            n_effects += len(eff)
            if table_out is not None:
                eff[VARIANT_EFFECT_COLUMNS].to_csv(table_out, sep="\t", index=False, header=False,
                                                   float_format="%.6g")
            else:                    # the VCF output groups every variant's effects
                effects.append(eff)
        if chromosomes is None:
            check_chromosome_names(variants, pair_chroms, f"the pair file {pairs_path}")
    if kind == "vcf":
        effects = pd.concat(effects, ignore_index=True) if effects else \
            pd.DataFrame(columns=["_row", *VARIANT_EFFECT_COLUMNS])
        write_vcf(out_path, variants, effects, status, genome_path)
    not_scored = pd.Series(status[status != "scored"]).value_counts().to_dict()
    return {"out": str(out_path), "n_variants": len(table), "n_scored": int((status == "scored").sum()),
            "n_effects": n_effects, "not_scored": not_scored,
            "ref_mismatch": [f"{r.chrom}:{r.pos} {r.ref}>{r.alt}" for r in mismatched.itertuples()],
            "skipped": variants.skipped, "n_chromosomes": len(pair_chroms),
            "seconds": time.perf_counter() - t0}


def write_vcf(out_path, variants, effects: pd.DataFrame, status: np.ndarray, genome_path) -> None:
    """Every variant of ``variants`` (one record per ALT) with the INFO fields of :data:`INFO_FIELDS`.

    ``effects`` must carry ``_row``, each effect's row in ``variants.table``. Written bgzipped,
    atomically; pysam and bcftools read it back.
    """
    import pysam

    header = pysam.VariantHeader()
    with Genome(genome_path) as genome:
        sizes = dict(genome.chrom_sizes)
    for chrom in dict.fromkeys(variants.table["chrom"]):
        if chrom in sizes:
            header.contigs.add(chrom, length=sizes[chrom])
        else:
            header.contigs.add(chrom)
    for key, number, kind, _, description in INFO_FIELDS:
        header.info.add(key, number, kind, description)
    groups = effects.groupby("_row").indices if len(effects) else {}
    with atomic_path(out_path) as tmp:
        with pysam.VariantFile(str(tmp), "wz", header=header) as out:
            for i, r in enumerate(variants.table.itertuples()):
                rec = out.new_record(contig=r.chrom, start=r.pos - 1, alleles=(r.ref, r.alt),
                                     id=None if r.id == "." else r.id)
                rec.info["SPEID_STATUS"] = str(status[i]).replace(" ", "_")
                rows = groups.get(i)
                rec.info["SPEID_N"] = 0 if rows is None else len(rows)
                if rows is not None:
                    e = effects.iloc[rows]
                    rec.info["SPEID_MIN_DELTA"] = float(e["delta"].min())
                    for key, _, kind, column, _ in INFO_FIELDS:
                        if column is not None:
                            values = e[column].to_list()
                            rec.info[key] = [int(x) for x in values] if kind == "Integer" else \
                                [float(x) for x in values] if kind == "Float" else [str(x) for x in values]
                out.write(rec)


def parse_element(text: str) -> tuple[str, int, int]:
    """``chrom:start-end`` (0-based, half-open; commas allowed), or a name ``CELL|chrom:start-end``."""
    import re

    m = re.fullmatch(r"(?:.*\|)?([^:|\s]+):([\d,]+)-([\d,]+)", text.strip())
    if not m:
        raise ValueError(f"element {text!r}: expected chrom:start-end (0-based, half-open), "
                         "e.g. chr1:10000-10500")
    chrom, start, end = m.group(1), int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))
    if end <= start:
        raise ValueError(f"element {text!r}: end must be greater than start")
    return chrom, start, end


@dataclass(frozen=True, kw_only=True)
class IsmOptions:
    """The options of ``speid ism`` besides the run (:mod:`speidlib.options`); :func:`run_ism`'s defaults."""

    pair: list[str] = option(nargs=2, metavar=("ENH", "PRO"), help="the enhancer and the promoter, "
                             "chrom:start-end (0-based) or CELL|chrom:start-end")
    genome: str | None = option(None, help="genome FASTA (default: the one the run was prepared from)")
    out: str = option(help="OUT.tsv (one row per position) or OUT.npz")
    output: str = option("logit", choices=OUTPUTS, help="units of the changes (default %(default)s)")
    threads: int | None = threads_option()


def run_ism(run_dir, enhancer: str, promoter: str, out_path, genome_path=None, output: str = IsmOptions.output,
            overwrite: bool = False, threads: int | None = IsmOptions.threads) -> dict:
    """``speid ism``: the fast saturation mutagenesis map of one pair, to ``.tsv`` or ``.npz``.

    The windows are those ``speid score`` reads for these elements. The TSV has one row per
    position of both windows: ``branch``, ``offset`` (0-based in the window), ``chrom``,
    ``pos`` (1-based), ``ref`` (the window's base), ``A``, ``C``, ``G``, ``T`` (the change of
    the output when the position becomes that base; 0 at the reference) and ``summary`` (minus
    the mean over the alternatives). The NPZ holds ``enhancer`` (We, 4), ``promoter`` (Wp, 4),
    their summaries, ``reference``, ``enhancer_start``, ``promoter_start`` and ``chrom``.

    Returns dict: ``out``, ``reference``, ``seconds``, ``n_mutants``.
    """

    t0 = time.perf_counter()
    name = str(out_path).lower()
    if not (name.endswith(".tsv") or name.endswith(".npz")):
        raise ValueError(f"--out {out_path}: give a file ending in .tsv or .npz")
    run = Run(run_dir)
    genome_path = genome_path or run.recorded_path("prepare", "genome")
    if genome_path is None:
        raise ValueError(f"{run_dir} records no genome: give --genome")
    check_outputs({"--out": out_path}, {"--genome": genome_path}, overwrite=overwrite)
    elements = {"enhancer": parse_element(enhancer), "promoter": parse_element(promoter)}
    if elements["enhancer"][0] != elements["promoter"][0]:
        raise ValueError(f"the enhancer ({enhancer}) and the promoter ({promoter}) lie on different chromosomes")
    set_threads(threads)
    model, _ = snapshot_run_model(run)
    fast = FastISM(model, threads=threads)
    seed = run.prepare_record.seed or 0
    codes, starts = {}, {}
    with Genome(genome_path) as genome:
        for b, (chrom, s, e) in elements.items():
            genome.check_chromosomes([chrom], source=f"the {b} {chrom}:{s}-{e}")
            starts[b] = int(window_starts(pd.DataFrame({"start": [s], "end": [e]}), chrom, fast.windows[b], seed)[0])
            codes[b] = genome.fetch(chrom, starts[b], starts[b] + fast.windows[b])
    a = fast.ism(codes["enhancer"], codes["promoter"], output=output)
    chrom = elements["enhancer"][0]
    with atomic_path(out_path) as tmp:
        if name.endswith(".npz"):
            with open(tmp, "wb") as f:
                np.savez_compressed(f, enhancer=a.enhancer, promoter=a.promoter, enhancer_summary=a.enhancer_summary,
                                    promoter_summary=a.promoter_summary, reference=a.reference, output=output,
                                    enhancer_start=starts["enhancer"], promoter_start=starts["promoter"], chrom=chrom)
        else:
            ism_table(a, chrom, starts, codes).to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    n = sum(int((one_hot(c) == 0).sum()) for c in codes.values())     # N: four alternatives
    return {"out": str(out_path), "reference": a.reference, "output": output, "n_mutants": n,
            "seconds": time.perf_counter() - t0}


def ism_table(attribution, chrom: str, starts: dict, codes: dict) -> pd.DataFrame:
    """One row per window position of both branches (the columns of :func:`run_ism`'s TSV)."""
    parts = []
    for b in ("enhancer", "promoter"):
        scores, summary = getattr(attribution, b), getattr(attribution, f"{b}_summary")
        n = len(scores)
        parts.append(pd.DataFrame({"branch": b, "offset": np.arange(n), "chrom": chrom,
                                   "pos": starts[b] + np.arange(n) + 1, "ref": np.array(list("ACGTN"))[codes[b]],
                                   "A": scores[:, 0], "C": scores[:, 1], "G": scores[:, 2], "T": scores[:, 3],
                                   "summary": summary}))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True, kw_only=True)
class DemoVariantsOptions:
    """The options of ``speid demo-variants`` (:mod:`speidlib.options`); :func:`write_demo_vcf`'s defaults.
    The windows default to the demo's (:class:`speidlib.demo.synthetic.DemoConfig`), the seed to
    ``speid prepare``'s (:class:`speidlib.data.dataset.PrepareConfig`)."""

    demo: str = option(flag="", help="demo folder (genome.fa, elements.csv, planted_motifs.meme)")
    out: str = option(help="output VCF (plain text)")
    enhancer_window: int = option(DemoConfig.enhancer_window, type=positive_int,
                                  help="as speid prepare (default %(default)s)")
    promoter_window: int = option(DemoConfig.promoter_window, type=positive_int,
                                  help="as speid prepare (default %(default)s)")
    seed: int = seed_option("speid prepare's seed, for the window offsets", PrepareConfig.seed)
    max_elements: int = option(200, type=positive_int, flag="--elements",
                               help="active elements of each kind, in genome order (default %(default)s)")
    random_seed: int = seed_option("seeds the random SNVs")


def write_demo_vcf(demo_dir, out_path, enhancer_window: int, promoter_window: int,
                   seed: int = DemoVariantsOptions.seed, max_elements: int = DemoVariantsOptions.max_elements,
                   random_seed: int = DemoVariantsOptions.random_seed, overwrite: bool = False) -> dict:
    """``speid demo-variants``: the demo's truth VCF, for ``speid variants`` and the workflow.

    For the first ``max_elements`` active enhancers and promoters of the demo (``elements.csv``,
    genome order), every planted copy inside the element's window (as ``speid prepare`` places
    it with these windows and ``seed``) gets its site-breaking SNV and the window one random
    SNV (:func:`speidlib.demo.sites.truth_variants`); IDs are ``break|element`` and
    ``random|element``. Written as plain VCF text, atomically.

    Returns dict: ``out``, ``n_break``, ``n_random``, ``n_elements``.
    """
    demo_dir = Path(demo_dir)
    check_outputs({"--out": out_path}, {}, overwrite=overwrite)
    if min(enhancer_window, promoter_window, max_elements) < 1:
        raise ValueError("the windows and --elements must be at least 1")
    table = pd.read_csv(demo_dir / "elements.csv", keep_default_na=False)
    parts = []
    for kind, window in (("enhancer", enhancer_window), ("promoter", promoter_window)):
        t = table[(table["kind"] == kind) & (table["motif_class"] >= 0)].head(max_elements)
        for chrom, g in t.groupby("chrom", sort=False):
            g = g[["chrom", "start", "end"]].reset_index(drop=True)
            g["window_start"], g["window"] = window_starts(g, chrom, window, seed), window
            parts.append(g)
    elements = pd.concat(parts, ignore_index=True)
    names = elements["chrom"] + ":" + elements["start"].astype(str) + "-" + elements["end"].astype(str)
    with Genome(demo_dir / "genome.fa") as genome:
        v = truth_variants(elements, planted_sites(demo_dir, names), demo_motifs(demo_dir), genome,
                           np.random.default_rng(random_seed))
    v["id"] = v["kind"] + "|" + v["element"]
    write_vcf_text(v, out_path)
    return {"out": str(out_path), "n_break": int((v["kind"] == "break").sum()),
            "n_random": int((v["kind"] == "random").sum()), "n_elements": len(elements)}
