"""Genome-wide scoring: the projection cache against per-pair prediction, in one run.

Three measurements, for the ``paper`` and ``cpu`` presets (randomly initialised
models; speed does not depend on the weights):

1. **Demo candidates.** ``speid demo-data`` (``n_pairs=1500``: 1,800 enhancers,
   276 promoters on a 4-chromosome synthetic genome), then every promoter
   within 1 Mb of each enhancer (:func:`speidlib.data.candidates.write_candidates`),
   windows 1,000 / 1,000 bp. The per-pair path is too slow on 2 shared cores for
   all candidates, so both scorers get the candidates of the first chromosome
   (``cpu``: all its enhancers; ``paper``: its first 60 enhancers in genome
   order, with all of each enhancer's candidates; stated in the output).
2. **K562 TargetFinder table** (``/work/shared/data/targetfinder/K562_ep.csv.gz``,
   its own reuse: 1.40 pairs per enhancer, 5.45 per promoter), windows 3,000 /
   2,000 bp, random int8 windows per element (a random genome's windows; the
   speed does not depend on the bases). ``cpu``: the whole table; ``paper``:
   chr21 and chr22 (1,213 pairs).
3. **Peak memory.** ``speid score`` (:func:`speidlib.score.run.run_score`, the
   streaming path) on demo candidate sets an order of magnitude apart (1 Mb
   candidates of 1/10 of the enhancers, and of all), each in a fresh process;
   VmHWM from ``/proc/self/status``.

Both scorers get the same int8 windows and are traced before timing; they run
alternately three times, every time is printed and the fastest of each counts;
ratios are measured in the same run. Each timed row prints its pairs, its
distinct enhancers and promoters and the pairs per element (the reuse).

Run alone: ``.venv/bin/python benchmarks/bench_genome_wide.py [--quick]``
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def demo(workdir: Path):
    """The demo, its BED files and 1 Mb candidates (built once per work folder)."""
    from speidlib.data.candidates import write_candidates
    from speidlib.demo.synthetic import make_demo

    d = workdir / "demo"
    if not (d / "promoters.bed").exists():
        make_demo(d, seed=0, n_pairs=1500)
    info = write_candidates(d / "enhancers.bed", d / "promoters.bed", workdir / "cand.bedpe", 1_000_000)
    return d, info


def vmhwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def time_both(model, enh, prom, e_idx, p_idx, batch_size=256, repeats=3):
    """Seconds of the cached and the per-pair scorer on the same windows, and max |difference|.

    Both are traced before timing; the two run alternately ``repeats`` times and the
    fastest time of each counts (the machine is shared: this damps other jobs' load);
    every time is printed.
    """
    from speidlib.score import make_scorer

    scorer = make_scorer(model, batch_size=batch_size)
    per_pair = make_scorer(model, cache=False, batch_size=batch_size)   # batches sized by memory
    scorer.compile()  # trace every compiled function once
    per_pair.score(enh, prom, e_idx[:batch_size], p_idx[:batch_size])
    times = {"cached": [], "per pair": []}
    for _ in range(repeats):
        t = time.perf_counter()
        cached = scorer.score(enh, prom, e_idx, p_idx)
        times["cached"].append(time.perf_counter() - t)
        t = time.perf_counter()
        naive = per_pair.score(enh, prom, e_idx, p_idx)
        times["per pair"].append(time.perf_counter() - t)
    print("    runs (s): " + "; ".join(f"{k} " + ", ".join(f"{v:.2f}" for v in ts) for k, ts in times.items()),
          flush=True)
    # where the cached path's time goes: every used element through project() once, as score() does
    parts = {}
    for branch, codes, idx in (("enhancer", enh, e_idx), ("promoter", prom, p_idx)):
        used = np.unique(idx)
        t = time.perf_counter()
        for s in range(0, len(used), batch_size):
            scorer.project(branch, codes[used[s:s + batch_size]])
        parts[branch] = time.perf_counter() - t
    best = min(times["cached"])
    print(f"    cached path: elements (branch, projection, prefix) {sum(parts.values()):.2f} s (enhancers "
          f"{parts['enhancer']:.2f}, promoters {parts['promoter']:.2f}); the rest (pair recurrences on "
          f"{scorer.threads} threads, head) about {best - sum(parts.values()):.2f} s of the best {best:.2f} s",
          flush=True)
    return best, min(times["per pair"]), float(np.abs(cached - naive).max())


def report(label, n, n_e, n_p, t_cached, t_naive, diff):
    print(f"{label}: {n} pairs over {n_e} distinct enhancers ({n / n_e:.2f} pairs each) and {n_p} distinct "
          f"promoters ({n / n_p:.2f} each)\n    best of 3: cached {t_cached:.1f} s ({n / t_cached:.0f} pairs/s), "
          f"per pair {t_naive:.1f} s ({n / t_naive:.0f} pairs/s): {t_naive / t_cached:.1f}x; max |diff| {diff:.1e}",
          flush=True)


def bench_demo(preset: str, workdir: Path, n_enhancers: int | None) -> None:
    """Timed: all 1 Mb candidates of the first ``n_enhancers`` enhancers of the first
    chromosome (None: of all its enhancers)."""
    from speidlib.data.genome import Genome
    from speidlib.model.build import build_model
    from speidlib.score.genome_wide import chromosome_windows, iter_chromosomes

    d, info = demo(workdir)
    cp = next(iter(iter_chromosomes(workdir / "cand.bedpe")))
    keep = cp.enhancer_index < (n_enhancers or len(cp.enhancer_index) + 1)
    cp.enhancer_index, cp.promoter_index, cp.distance = (cp.enhancer_index[keep], cp.promoter_index[keep],
                                                         cp.distance[keep])
    with Genome(d / "genome.fa") as g:
        enh, prom = chromosome_windows(cp, g, 1000, 1000)
    model = build_model(preset, 1000, 1000, jaspar_init=False)
    n_e, n_p = len(np.unique(cp.enhancer_index)), len(np.unique(cp.promoter_index))
    print(f"[{preset}] demo genome-wide candidates: {info['n_pairs']} pairs within 1 Mb in all, "
          f"mean reuse {info['mean_enhancer_reuse']:.1f} pairs per enhancer, "
          f"{info['mean_promoter_reuse']:.1f} per promoter; timed: "
          f"{'all' if n_enhancers is None else f'the first {n_enhancers}'} enhancers "
          f"of {cp.chrom} with all their candidates")
    report(f"[{preset}] demo", int(keep.sum()), n_e, n_p,
           *time_both(model, enh, prom, cp.enhancer_index, cp.promoter_index))


def bench_k562(preset: str, chromosomes) -> None:
    from speidlib import schema
    from speidlib.data.pairs import element_index, read_pairs
    from speidlib.model.build import build_model

    pairs = read_pairs(SHARED / "targetfinder" / "K562_ep.csv.gz")
    if chromosomes != ["all"]:
        pairs = pairs[pairs[schema.CHROM].isin(chromosomes)].reset_index(drop=True)
    te, e_idx = element_index(pairs, "enhancer")
    tp, p_idx = element_index(pairs, "promoter")
    # genome order, as speid score numbers the elements
    for t, idx in ((te, e_idx), (tp, p_idx)):
        order = np.lexsort((t["start"].to_numpy(), t["chrom"].to_numpy()))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        idx[:] = rank[idx]
    rng = np.random.default_rng(0)
    enh = rng.integers(0, 4, (len(te), 3000)).astype(np.int8)
    prom = rng.integers(0, 4, (len(tp), 2000)).astype(np.int8)
    model = build_model(preset, 3000, 2000, jaspar_init=False)
    report(f"[{preset}] K562 TargetFinder {','.join(chromosomes)}", len(pairs), len(te), len(tp),
           *time_both(model, enh, prom, e_idx, p_idx))


def memory_child(preset: str, workdir: Path, fraction: int) -> None:
    """One `speid score` run on the candidates of 1/fraction of the demo enhancers; prints JSON."""
    import pandas as pd

    from speidlib.data.candidates import read_bed, write_candidates
    from speidlib.model.build import build_model
    from speidlib.rundir import write_config
    from speidlib.score.run import run_score

    d, _ = demo(workdir)
    run = workdir / f"run_{preset}"
    if not (run / "model.keras").exists():
        run.mkdir(exist_ok=True)
        build_model(preset, 1000, 1000, jaspar_init=False).save(run / "model.keras")
        write_config(run, "prepare", {"seed": 0})
    enh = read_bed(d / "enhancers.bed", "enhancer")
    enh = enh.iloc[::fraction]
    cand = workdir / f"cand_{fraction}.bedpe"
    info = write_candidates(enh, read_bed(d / "promoters.bed", "promoter"), cand, 1_000_000)
    base = vmhwm_mb()
    t = time.perf_counter()
    out = run_score(run, cand, d / "genome.fa", workdir / f"links_{fraction}.interact", progress=False)
    secs = time.perf_counter() - t
    del pd
    print(json.dumps({"pairs": out["n_pairs"], "seconds": secs, "vmhwm_mb": vmhwm_mb(),
                      "vmhwm_before_scoring_mb": base, "mean_enhancer_reuse": info["mean_enhancer_reuse"]}))


def bench_memory(preset: str, workdir: Path, fractions=(100, 10)) -> None:
    res = {}
    for f in fractions:
        out = subprocess.run([sys.executable, __file__, "--memory-child", preset, str(workdir), str(f)],
                             capture_output=True, text=True, check=True)
        res[f] = json.loads(out.stdout.strip().splitlines()[-1])
    small, large = res[fractions[0]], res[fractions[1]]
    print(f"[{preset}] speid score peak memory (VmHWM): {small['pairs']} pairs {small['vmhwm_mb']:.0f} MB "
          f"({small['pairs'] / small['seconds']:.0f} pairs/s end to end); {large['pairs']} pairs "
          f"{large['vmhwm_mb']:.0f} MB ({large['pairs'] / large['seconds']:.0f} pairs/s): "
          f"{large['pairs'] / small['pairs']:.1f}x the pairs, "
          f"{100 * (large['vmhwm_mb'] / small['vmhwm_mb'] - 1):+.1f}% memory", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller subsets")
    ap.add_argument("--presets", default="cpu,paper")
    ap.add_argument("--workdir", default=None, help="folder for the demo and runs (default: a temporary one)")
    ap.add_argument("--memory-child", nargs=3, metavar=("PRESET", "WORKDIR", "FRACTION"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        preset, workdir, fraction = args.memory_child
        memory_child(preset, Path(workdir), int(fraction))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for preset in args.presets.split(","):
            paper = preset == "paper"
            # timed runs of several seconds a side on the shared 2-core machine
            bench_demo(preset, workdir, (8 if args.quick else 60) if paper else (60 if args.quick else None))
            bench_k562(preset, ["chr22"] if args.quick else ["chr21", "chr22"] if paper else ["all"])
            bench_memory(preset, workdir, (100, 10) if paper else (20, 2))


if __name__ == "__main__":
    main()
