"""speid variants at scale: (variant, pair) effects per second, cached against the whole model,
and the peak memory for 10x the variants.

On a small demo (``speid demo-data --pairs-per-cell 3000``, seed 0) with a randomly initialised
``cpu`` model at the demo's 1,000-bp windows: the truth VCF of ``speid demo-variants`` (the
site-breaking and random SNVs of the first ``--elements`` active enhancers and promoters)
against every candidate pair of the demo's elements within 250 kb (``speid candidates``).

* cached: :func:`speidlib.interpret.variant_run.run_variants` (each changed element's branch
  once, then one recurrence per pair; many SNVs in one window of one pair by fast ISM);
* whole model: the same call with ``cache=False``, every (variant, pair) through the whole model.

Both score the same rows; the largest difference of their ``alt_score`` is printed. Peak
memory: each size runs in a child process of its own (``VmHWM``), ``--elements`` and 10x it.

Run alone: ``.venv/bin/python benchmarks/bench_variants.py [--elements 20]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPEID = str(Path(sys.executable).with_name("speid"))


def setup(work: Path, elements: int) -> dict:
    """Demo, run (random cpu model), candidates and the truth VCF of ``elements`` elements a kind."""
    from speidlib import schema
    from speidlib.data.candidates import write_candidates
    from speidlib.interpret.variant_run import write_demo_vcf
    from speidlib.model.build import build_model
    from speidlib.run import Run

    demo, run = work / "demo", work / "run"
    if not (demo / "genome.fa").exists():
        subprocess.run([SPEID, "demo-data", str(demo), "--seed", "0", "--pairs-per-cell", "3000"], check=True,
                       capture_output=True)
    if not (run / schema.MODEL_FILE).exists():
        run.mkdir(exist_ok=True)
        build_model("cpu", 1000, 1000, jaspar_init=False, seed=0).save(run / schema.MODEL_FILE)
        Run(run).write_record("prepare", {"seed": 0, "enhancer_window": 1000, "promoter_window": 1000})
    pairs = work / "candidates.bedpe"
    if not pairs.exists():
        write_candidates(demo / "enhancers.bed", demo / "promoters.bed", pairs, 250_000)
    vcf = work / f"truth_{elements}.vcf"
    info = write_demo_vcf(demo, vcf, 1000, 1000, max_elements=elements, overwrite=True)
    return {"demo": demo, "run": run, "pairs": pairs, "vcf": vcf, "n_snvs": info["n_break"] + info["n_random"]}


def child(work: Path, elements: int, cache: bool) -> None:
    """One run_variants call; prints its figures and the process's peak resident set as JSON."""
    from bench_genome_wide import vmhwm_mb
    from speidlib.interpret.variant_run import run_variants

    s = setup(work, elements)
    out = work / f"effects_{elements}_{int(cache)}.tsv"
    t = time.perf_counter()
    info = run_variants(s["run"], s["vcf"], s["pairs"], s["demo"] / "genome.fa", out, overwrite=True,
                        cache=cache)
    seconds = time.perf_counter() - t
    print(json.dumps({"elements": elements, "cache": cache, "variants": info["n_variants"],
                      "effects": info["n_effects"], "seconds": seconds, "vmhwm_mb": vmhwm_mb(),
                      "out": str(out)}))


def run_child(work: Path, elements: int, cache: bool) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, __file__, "--child", str(work), "--elements", str(elements)]
                          + ([] if cache else ["--no-cache"]), capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=20, help="active elements of each kind (default 20)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.elements, not args.no_cache)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        setup(work, args.elements)                  # demo, model, candidates once, outside the timings
        cached, whole = run_child(work, args.elements, True), run_child(work, args.elements, False)
        a, b = pd.read_csv(cached["out"], sep="\t"), pd.read_csv(whole["out"], sep="\t")
        diff = float(np.abs(a["alt_score"].to_numpy() - b["alt_score"].to_numpy()).max())
        print(f"{cached['variants']} variants, {cached['effects']} (variant, pair) effects: cached "
              f"{cached['seconds']:.1f} s ({cached['effects'] / cached['seconds']:,.0f} effects/s), whole model "
              f"{whole['seconds']:.1f} s ({whole['effects'] / whole['seconds']:,.0f} effects/s), ratio "
              f"{whole['seconds'] / cached['seconds']:.1f}x; largest alt_score difference {diff:.1e}; "
              f"peak memory (VmHWM) cached {cached['vmhwm_mb']:.0f} MB, whole model {whole['vmhwm_mb']:.0f} MB",
              flush=True)
        big = run_child(work, 10 * args.elements, True)
        print(f"10x the elements: {big['variants']} variants, {big['effects']} effects, cached "
              f"{big['seconds']:.1f} s ({big['effects'] / big['seconds']:,.0f} effects/s), peak memory (VmHWM) "
              f"{big['vmhwm_mb']:.0f} MB (against {cached['vmhwm_mb']:.0f} MB)", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
