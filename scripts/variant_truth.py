"""Variant effects measured against the demo's planted truth (issue #29 point 4).

On a run trained on the demo (default ``examples/demo_cpu``, the committed
``cpu`` model) and the demo it was trained on (``speid demo-data DEMO --seed 0
--cell-lines 3 --pairs-per-cell 105000``, checked against the run's recorded
genome and pair hashes):

1. **Site-breaking against random variants.** For every positive held-out
   pair (``predictions.csv``: label 1, split test) every planted motif copy in
   its enhancer and promoter (``elements.csv``, :func:`speidlib.demo.sites.planted_sites`)
   gets one site-breaking SNV (its most informative position changed to the
   base the motif finds least likely, :func:`speidlib.demo.sites.breaking_variants`)
   and, in the same element, one random SNV (a uniform position of the
   element's window, a uniform other base). All go into one VCF, scored by
   ``speid variants`` (:func:`speidlib.interpret.variant_run.run_variants`)
   against those pairs; a (variant, pair) row counts when the variant was
   made for that pair's enhancer or promoter. Reported: the AUROC of
   ``-delta`` separating the two sets (also of ``-logit_delta``, and of
   ``-delta`` on the rows whose pair scores at least 0.5 on the reference).
2. **ISM map against the sites.** For ``--ism-pairs`` of those pairs, the
   fast ISM map (:class:`speidlib.interpret.ism.FastISM`, logit) of both
   windows; the share of each pair's ``--top`` strongest positions (largest
   per-position summary, how much the reference base adds) that lie on a
   planted copy, beside the share of all window positions that do.

The null is the same architecture at its **initial weights** (the run's
preset and seed, untrained): the same variants and pairs, scored by a
temporary run directory holding that model. ``--null-run DIR`` adds a trained
null, measured the same way: the shuffled-label model (the demo's pairs with
their labels permuted before ``prepare``; ``scripts/motif_ground_truth.py ROOT
--jobs demo_shuffled`` trains it into ``ROOT/demo_shuffled``).

Run: ``.venv/bin/python scripts/variant_truth.py --demo DEMO [--run examples/demo_cpu] [--null-run DIR]``
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data.encode import encode, one_hot
from speidlib.data.genome import Genome
from speidlib.data.vcf import write_vcf_text
from speidlib.demo.sites import demo_motifs, planted_sites, truth_variants
from speidlib.interpret.ism import FastISM
from speidlib.interpret.variant_run import run_variants
from speidlib.interpret.variants import window_starts
from speidlib.io import sha256
from speidlib.model.build import build_model
from speidlib.model.infer import predict
from speidlib.model.load import load_run_model
from speidlib.model.presets import ModelConfig
from speidlib.run import Run

ROOT = Path(__file__).resolve().parents[1]


def positive_test_pairs(run: Run) -> pd.DataFrame:
    pred = pd.read_csv(run.predictions)
    pos = pred[(pred[schema.LABEL] == 1) & (pred["split"] == "test")].reset_index(drop=True)
    return pos


def truth_table(pairs: pd.DataFrame, demo: Path, genome: Genome, windows: dict, seed: int,
                rng: np.random.Generator) -> pd.DataFrame:
    """Site-breaking and random SNVs of the pairs' elements (:func:`speidlib.demo.sites.truth_variants`)."""
    parts = []
    for branch in ("enhancer", "promoter"):
        elems = pairs[[schema.CHROM, f"{branch}_start", f"{branch}_end"]].drop_duplicates()
        elems.columns = ["chrom", "start", "end"]
        for chrom, t in elems.groupby("chrom"):
            t = t.reset_index(drop=True)
            t["window_start"] = window_starts(t, chrom, windows[branch], seed)
            t["window"] = windows[branch]
            parts.append(t)
    elements = pd.concat(parts, ignore_index=True)
    v = truth_variants(elements, planted_sites(demo), demo_motifs(demo), genome, rng)
    v["id"] = v["kind"] + "|" + v["element"]
    return v


def auroc_of_breaking(effects: pd.DataFrame) -> dict:
    from sklearn.metrics import roc_auc_score

    kind = effects["id"].str.split("|").str[0]
    element = effects["id"].str.split("|", n=1).str[1]
    own = (element == effects["enhancer"]) | (element == effects["promoter"])
    e = effects[own]
    y = (kind[own] == "break").to_numpy().astype(int)
    called = (e["ref_score"] >= 0.5).to_numpy()
    return {"auroc": float(roc_auc_score(y, -e["delta"].to_numpy())), "n_break_rows": int(y.sum()),
            "auroc_logit": float(roc_auc_score(y, -e["logit_delta"].to_numpy())),
            "auroc_called": float(roc_auc_score(y[called], -e["delta"].to_numpy()[called]))
            if len(set(y[called])) == 2 else float("nan"),
            "n_called_rows": int(called.sum()),
            **{f"auroc_{b}": float(roc_auc_score(y[br], -e["delta"].to_numpy()[br]))
               for b in ("enhancer", "promoter") for br in [(e["branch"] == b).to_numpy()]},
            "n_random_rows": int((1 - y).sum()),
            "median_delta_break": float(e["delta"][y == 1].median()),
            "median_delta_random": float(e["delta"][y == 0].median())}


def pair_windows(r, windows: dict, genome: Genome, seed: int) -> tuple[dict, dict]:
    """A pair's window start (0-based) and base codes per branch, placed as ``speid variants`` places
    them (:func:`speidlib.interpret.variants.window_starts`); ``r`` a row of the pair table."""
    chrom = getattr(r, schema.CHROM)
    starts, codes = {}, {}
    for b in schema.BRANCHES:
        t = pd.DataFrame({"start": [getattr(r, f"{b}_start")], "end": [getattr(r, f"{b}_end")]})
        starts[b] = int(window_starts(t, chrom, windows[b], seed)[0])
        codes[b] = genome.fetch(chrom, starts[b], starts[b] + windows[b])
    return starts, codes


def knockout(model, pairs: pd.DataFrame, variants: pd.DataFrame, genome: Genome, seed: int) -> dict:
    """Every planted copy of an element broken at once (its site-breaking SNVs together) against as
    many random SNVs of the same window together, in each positive pair: the AUROC of ``-delta``
    over (pair, element, kind) rows.

    The demo plants 3-6 copies of one motif in an element, and its labels depend on which motif an
    element holds, not on how many copies: a model that learned that grammar need not move when
    one copy of several breaks (the single-variant measure above), but must when all do.
    """
    from sklearn.metrics import roc_auc_score

    windows = {b: int(model.inputs[i].shape[1]) for i, b in enumerate(schema.BRANCHES)}
    by = {key: t for key, t in variants.groupby(["element", "kind"])}
    refs, muts, kinds, which = {b: [] for b in schema.BRANCHES}, {b: [] for b in schema.BRANCHES}, [], []
    for i, r in enumerate(pairs.itertuples(index=False)):
        starts, codes = pair_windows(r, windows, genome, seed)
        for b in schema.BRANCHES:
            refs[b].append(codes[b])
            key = f"{getattr(r, schema.CHROM)}:{getattr(r, f'{b}_start')}-{getattr(r, f'{b}_end')}"
            for kind in ("break", "random"):
                t = by.get((key, kind))
                if t is None:
                    continue
                mutated = {k: v.copy() for k, v in codes.items()}
                mutated[b][t["pos0"].to_numpy() - starts[b]] = encode("".join(t["alt"]))
                for k in schema.BRANCHES:
                    muts[k].append(mutated[k])
                kinds.append(kind)
                which.append(i)
    score = lambda d: predict(model, [one_hot(np.stack(d[b])) for b in schema.BRANCHES]).reshape(-1)  # noqa: E731
    delta = score(muts) - score(refs)[np.asarray(which)]
    y = (np.asarray(kinds) == "break").astype(int)
    return {"knockout_auroc": float(roc_auc_score(y, -delta)), "knockout_rows": int(len(y)),
            "knockout_median_break": float(np.median(delta[y == 1])),
            "knockout_median_random": float(np.median(delta[y == 0]))}


def ism_share(model, pairs: pd.DataFrame, sites: pd.DataFrame, genome: Genome, seed: int, top: int) -> dict:
    """Share of each pair's ``top`` strongest ISM positions on planted copies, and the base rate."""
    fast = FastISM(model)
    on, base, n = 0, 0.0, 0
    by_chrom = {c: t for c, t in sites.groupby("chrom")}
    for r in pairs.itertuples(index=False):
        chrom = getattr(r, schema.CHROM)
        starts, codes = pair_windows(r, fast.windows, genome, seed)
        masks = []
        for branch in schema.BRANCHES:
            w, ws = fast.windows[branch], starts[branch]
            mask = np.zeros(w, bool)
            s = by_chrom.get(chrom, sites.iloc[:0])
            s = s[(s.end > ws) & (s.start < ws + w)]
            for a, b in zip(s.start, s.end):
                mask[max(a - ws, 0):min(b - ws, w)] = True
            masks.append(mask)
        a = fast.ism(codes["enhancer"], codes["promoter"])
        summaries = np.concatenate([a.enhancer_summary, a.promoter_summary])
        mask = np.concatenate(masks)
        best = np.argsort(-summaries, kind="stable")[:top]
        on += int(mask[best].sum())
        base += mask.mean()
        n += 1
    return {"pairs": n, "top": top, "share_on_sites": on / (n * top), "base_rate": base / n}


def measure(run_dir: Path, model, demo: Path, pairs: pd.DataFrame, variants: pd.DataFrame, work: Path,
            ism_pairs: int, top: int, seed: int) -> dict:
    pair_file = work / "pairs.csv"
    pairs.to_csv(pair_file, index=False)
    vcf = work / "variants.vcf"
    write_vcf_text(variants, vcf)   # ID: kind|element
    t0 = time.perf_counter()
    info = run_variants(run_dir, vcf, pair_file, demo / "genome.fa", work / "effects.tsv", overwrite=True)
    effects = pd.read_csv(work / "effects.tsv", sep="\t")
    result = {"variants": info["n_variants"], "effects": info["n_effects"],
              "variants_seconds": round(time.perf_counter() - t0, 1), **auroc_of_breaking(effects)}
    with Genome(demo / "genome.fa") as genome:
        result.update(knockout(model, pairs, variants, genome, seed))
        if ism_pairs:
            t0 = time.perf_counter()
            result.update(ism_share(model, pairs.head(ism_pairs), planted_sites(demo), genome, seed, top))
            result["ism_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def untrained_run(run: Run, work: Path):
    """A run directory holding the run's architecture at its initial weights (the null)."""
    train = run.train_record
    prep = run.prepare_record
    preset = ModelConfig.from_dict(train.preset) if isinstance(train.preset, dict) else train.preset
    model = build_model(preset, prep.enhancer_window, prep.promoter_window,
                        jaspar_init=not train.random_init, seed=train.seed or 0)
    null = work / "untrained_run"
    null.mkdir(exist_ok=True)
    model.save(null / schema.MODEL_FILE)
    cfg = run.config()
    cfg.pop("train", None)                    # no train record: the model is not the recorded one
    Run(null).config_file.write_text(json.dumps(cfg))
    return null, model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", required=True, type=Path, help="the demo folder the run was prepared from")
    parser.add_argument("--run", default=ROOT / "examples" / "demo_cpu", type=Path)
    parser.add_argument("--ism-pairs", type=int, default=100, help="pairs mapped by ISM (default 100; 0: none)")
    parser.add_argument("--top", type=int, default=20, help="strongest ISM positions per pair (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the random variants")
    parser.add_argument("--no-null", action="store_true", help="skip the untrained-model null")
    parser.add_argument("--null-run", type=Path, action="append", default=[],
                        help="a trained null run measured the same way, e.g. the shuffled-label model "
                             "(scripts/motif_ground_truth.py ROOT --jobs demo_shuffled writes ROOT/demo_shuffled); "
                             "its genome must be the demo's (repeatable)")
    args = parser.parse_args(argv)

    run = Run(args.run)
    prep = run.prepare_record
    for name, key in (("genome.fa", "genome_sha256"), (Path(prep.pairs).name, "pairs_sha256")):
        if sha256(args.demo / name) != getattr(prep, key):
            raise SystemExit(f"{args.demo / name} is not the file {args.run} was prepared from ({key} differs)")
    pairs = positive_test_pairs(run)
    windows = {"enhancer": prep.enhancer_window, "promoter": prep.promoter_window}
    with Genome(args.demo / "genome.fa") as genome:
        variants = truth_table(pairs, args.demo, genome, windows, prep.seed or 0, np.random.default_rng(args.seed))
    print(f"{len(pairs)} positive held-out pairs; {int((variants.kind == 'break').sum())} site-breaking and "
          f"{int((variants.kind == 'random').sum())} random SNVs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        models = [("trained (" + str(args.run) + ")", args.run, load_run_model(run, check=False))]
        if not args.no_null:
            null_dir, null_model = untrained_run(run, work)
            models.append(("untrained (initial weights, same preset and seed)", null_dir, null_model))
        for null_run in args.null_run:
            other = Run(null_run)
            if other.prepare_record.genome_sha256 != prep.genome_sha256:
                raise SystemExit(f"{null_run} was prepared from another genome than {args.run}")
            models.append((f"null run ({null_run})", null_run, load_run_model(other, check=False)))
        for name, run_dir, model in models:
            sub = work / f"m{len(name)}"
            sub.mkdir()
            r = measure(Path(run_dir), model, args.demo, pairs, variants, sub, args.ism_pairs, args.top,
                        prep.seed or 0)
            print(f"{name}: AUROC of -delta, site-breaking ({r['n_break_rows']} (variant, pair) rows) "
                  f"against random ({r['n_random_rows']}): {r['auroc']:.3f} (of -logit_delta {r['auroc_logit']:.3f}; "
                  f"rows whose pair scores >= 0.5 on the reference ({r['n_called_rows']}): {r['auroc_called']:.3f}; "
                  f"variants in enhancers {r['auroc_enhancer']:.3f}, in promoters {r['auroc_promoter']:.3f}); "
                  f"median delta "
                  f"{r['median_delta_break']:.4f} against {r['median_delta_random']:.4f}; every copy of an "
                  f"element broken at once against as many random SNVs ({r['knockout_rows']} (pair, element, "
                  f"kind) rows): AUROC {r['knockout_auroc']:.3f}, median delta {r['knockout_median_break']:.4f} "
                  f"against {r['knockout_median_random']:.4f}; speid variants {r['variants_seconds']} s for "
                  f"{r['variants']} variants, {r['effects']} effects"
                  + (f"; ISM top {r['top']} positions of {r['pairs']} pairs on planted sites: "
                     f"{r['share_on_sites']:.1%} (all window positions: {r['base_rate']:.1%}); ISM maps "
                     f"{r['ism_seconds']} s" if "ism_seconds" in r else ""), flush=True)


if __name__ == "__main__":
    main()
