"""Scoring pairs: the cached path against per-pair prediction, same model, same run.

The pairs are the real K562 TargetFinder table (41,477 pairs over 29,594
enhancers and 7,616 promoters: 1.40 pairs per enhancer, 5.45 per promoter),
their windows read from a random genome of hg19's chromosome sizes
(``benchmarks/.cache/hg19_random.fa``) with :func:`speidlib.score.element_windows`,
windows 3,000 / 2,000 bp. Both scorers get the same int8 windows and the
same (randomly initialised) model:

* per pair: ``speidlib.score.make_scorer(model, cache=False)``, every pair through the
  whole model;
* cached: ``speidlib.score.make_scorer(model)``, the projection cache ``speid score``
  uses: each distinct element through its branch and input projection once, the
  rest of the recurrence per pair.

Both call their Keras models through ``predict_on_batch`` (compiled, as
``speidlib.score`` does; an eager call would run the LSTM step by step from
Python).

Sizes: on 2 CPU cores the ``paper`` preset scores some tens of pairs/s per
pair, so the whole table is scored with the ``cpu`` preset's layer sizes; the
``paper`` preset runs on whole chromosomes, chr12 (2,244 pairs over 1,613
enhancers and 414 promoters: 1.39 and 5.42 pairs per element, the table's own
reuse) and, with ``--quick``, chr22 (818 pairs, 1.33 and 4.90). The cached
scorer runs twice, before and after the per-pair one, and its mean is used.

Run alone: ``.venv/bin/python benchmarks/bench_score.py [--quick]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np

WINDOWS = (3000, 2000)


def load_pairs(chromosomes=None):
    """The K562 pair table (optionally a chromosome subset) and its reuse figures."""
    from genomes import SHARED
    from speidlib import schema
    from speidlib.data.pairs import read_pairs

    pairs = read_pairs(SHARED / "targetfinder" / "K562_ep.csv.gz")
    if chromosomes:
        pairs = pairs[pairs[schema.CHROM].isin(chromosomes)].reset_index(drop=True)
    return pairs


def reuse(pairs) -> dict:
    n_e, n_p = pairs["enhancer_name"].nunique(), pairs["promoter_name"].nunique()
    return {"pairs": len(pairs), "enhancers": n_e, "promoters": n_p,
            "pairs_per_enhancer": len(pairs) / n_e, "pairs_per_promoter": len(pairs) / n_p}


def windows(pairs):
    """int8 windows of the distinct elements and each pair's indices (and the seconds taken)."""
    from genomes import CACHE, hg19_sizes, random_genome
    from speidlib.data.genome import Genome
    from speidlib.score.run import element_windows

    path = random_genome(CACHE / "hg19_random.fa", hg19_sizes())
    t0 = time.perf_counter()
    with Genome(path) as genome:
        codes, index = element_windows(pairs, genome, *WINDOWS, seed=0)
    return codes, index, time.perf_counter() - t0


def compare(preset: str, pairs, batch_size: int) -> dict:
    """Both scorers on ``pairs`` with a ``preset``-sized model; times, speed-up, largest difference."""
    from speidlib.model.build import build_model
    from speidlib.score import make_scorer

    codes, index, read_s = windows(pairs)
    model = build_model(preset, *WINDOWS, jaspar_init=False, seed=0)
    args = (codes["enhancer"], codes["promoter"], index["enhancer"], index["promoter"])
    scorer = make_scorer(model, batch_size=batch_size)
    per_pair = make_scorer(model, cache=False, batch_size=batch_size)
    # warm-up: trace both paths on a few pairs
    few = tuple(a[:8] for a in args[2:])
    scorer.score(*args[:2], *few)
    per_pair.score(*args[:2], *few)

    t0 = time.perf_counter()
    cached_1 = scorer.score(*args)
    t1 = time.perf_counter()
    naive = per_pair.score(*args)
    t2 = time.perf_counter()
    cached_2 = scorer.score(*args)
    t3 = time.perf_counter()
    cached_s = ((t1 - t0) + (t3 - t2)) / 2
    return {"preset": preset, **reuse(pairs), "batch_size": batch_size, "read_windows_s": read_s,
            "naive_s": t2 - t1, "cached_s": cached_s, "cached_runs_s": [t1 - t0, t3 - t2],
            "speedup": (t2 - t1) / cached_s,
            "max_abs_difference": float(np.abs(cached_1 - naive).max()),
            "runs_identical": bool(np.array_equal(cached_1, cached_2)),
            "score_std": float(np.std(naive))}


def report(r: dict) -> list[str]:
    return [f"   {r['preset']} preset, {r['pairs']:,} pairs over {r['enhancers']:,} enhancers and "
            f"{r['promoters']:,} promoters ({r['pairs_per_enhancer']:.2f} / {r['pairs_per_promoter']:.2f} "
            f"pairs per element); windows read in {r['read_windows_s']:.1f} s",
            f"     per pair {r['naive_s']:7.1f} s ({r['pairs'] / r['naive_s']:.0f} pairs/s)   cached "
            f"{r['cached_s']:7.1f} s ({r['pairs'] / r['cached_s']:.0f} pairs/s; runs "
            f"{r['cached_runs_s'][0]:.1f}, {r['cached_runs_s'][1]:.1f} s)   speed-up {r['speedup']:.2f}x "
            f"(target >= 1.5x)",
            f"     largest |score difference| {r['max_abs_difference']:.2e} (target <= 1e-5; "
            f"score s.d. {r['score_std']:.3g})"]


def run(quick: bool = False, verbose: bool = True) -> list[dict]:
    jobs = ([("cpu", ["chr12"], 256), ("paper", ["chr22"], 100)] if quick else
            [("cpu", None, 256), ("paper", ["chr12"], 100)])
    out = []
    for preset, chroms, bs in jobs:
        r = compare(preset, load_pairs(chroms), bs)
        r["chromosomes"] = chroms or "all"
        out.append(r)
        if verbose:
            print("\n".join(report(r)), flush=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="chr12 (cpu preset) and chr22 (paper preset) only")
    p.add_argument("--json", help="write the figures to this JSON file")
    a = p.parse_args(argv)
    print("Scoring K562 pairs on a random hg19-sized genome: element-level caching vs per pair")
    r = run(a.quick)
    if a.json:
        from genomes import write_json

        write_json(a.json, r)
    return r


if __name__ == "__main__":
    main()
