"""In-silico saturation mutagenesis of one pair: the fast path against the whole model per mutant.

Both map every alternative base at every position of both windows of one
random pair (3 x (We + Wp) mutants) with the same randomly initialised model:

* whole model: :func:`speidlib.interpret.attribution.ism`, every mutant through the
  whole model (in batches of :data:`WHOLE_BATCH`, through ``predict_on_batch``);
* fast: :func:`speidlib.interpret.ism.FastISM.ism`, only the pooled positions a base
  reaches recomputed, then each LSTM direction from its first changed step and the head.

After a warm-up call on a few mutants (tracing and first allocations are not
timed) the fast map runs before and after the whole-model one and the mean
of the two is used (the machine's load changes during a run of minutes); both
maps are compared (largest difference, logit). Peak memory: numpy's peak
during a third, untimed fast map (``tracemalloc``: the mutants' convolution
windows and step inputs) and the process's peak resident set (``VmHWM``)
after the first fast map and after the whole-model one.

Presets: ``paper`` at its windows 3,000 / 2,000 bp (15,000 mutants; the whole
model takes several minutes on 2 CPU cores) and ``cpu`` at the demo's
1,000 / 1,000 bp. Run alone: ``.venv/bin/python benchmarks/bench_ism.py [--presets cpu]``
"""
from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

WINDOWS = {"paper": (3000, 2000), "cpu": (1000, 1000), "original": (3000, 2000)}
#: mutants per whole-model batch: ``paper``'s convolution output is 12 MB a mutant
#: (ism's default of 512 needs over 6 GB for it alone)
WHOLE_BATCH = 32


def bench(preset: str, seed: int = 0) -> dict:
    from bench_genome_wide import vmhwm_mb
    from speidlib.data.encode import one_hot
    from speidlib.interpret.ablation import scorer
    from speidlib.interpret.attribution import ism
    from speidlib.interpret.ism import FastISM
    from speidlib.model.build import build_model

    we, wp = WINDOWS[preset]
    model = build_model(preset, we, wp, jaspar_init=False, seed=seed)
    rng = np.random.default_rng(seed)
    enh = rng.integers(0, 4, we).astype(np.int8)
    prom = rng.integers(0, 4, wp).astype(np.int8)

    # warm-up: trace the whole model at ism's batch and the fast path's head
    score = scorer(model, WHOLE_BATCH)
    score(np.repeat(one_hot(enh)[None], 8, 0), np.repeat(one_hot(prom)[None], 8, 0))
    fast = FastISM(model)
    fast.score_mutants(enh, prom, "enhancer", np.arange(8), np.zeros(8, int))

    def time_fast():
        fast._reference = None             # each timed map builds its reference again
        t = time.perf_counter()
        out = fast.ism(enh, prom)
        return out, time.perf_counter() - t

    quick, t_before = time_fast()
    hwm_fast = vmhwm_mb()
    t = time.perf_counter()
    whole = ism(model, enh, prom, batch_size=WHOLE_BATCH)
    t_whole = time.perf_counter() - t
    _, t_after = time_fast()
    t_fast = (t_before + t_after) / 2
    tracemalloc.start()                     # numpy's peak, in a run of its own (not timed)
    time_fast()
    numpy_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    diff = max(np.abs(quick.enhancer - whole.enhancer).max(), np.abs(quick.promoter - whole.promoter).max())
    return {"preset": preset, "windows": (we, wp), "mutants": 3 * (we + wp), "fast_s": t_fast,
            "fast_before_s": t_before, "fast_after_s": t_after,
            "whole_s": t_whole, "ratio": t_whole / t_fast, "max_abs_diff": float(diff),
            "largest_effect": float(max(np.abs(whole.enhancer).max(), np.abs(whole.promoter).max())),
            "fast_numpy_peak_mb": numpy_peak, "vmhwm_after_fast_mb": hwm_fast,
            "vmhwm_after_whole_mb": vmhwm_mb()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="paper,cpu", help="comma-separated presets (default paper,cpu)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for preset in args.presets.split(","):
        r = bench(preset)
        print(f"[{preset}] windows {r['windows'][0]} / {r['windows'][1]} bp, {r['mutants']} mutants: "
              f"whole model {r['whole_s']:.1f} s, fast {r['fast_s']:.2f} s (mean of {r['fast_before_s']:.2f} s "
              f"before and {r['fast_after_s']:.2f} s after it), ratio {r['ratio']:.1f}x; "
              f"largest difference {r['max_abs_diff']:.2e} (largest effect {r['largest_effect']:.3f}, logit); "
              f"fast path numpy peak {r['fast_numpy_peak_mb']:.0f} MB; process peak (VmHWM) "
              f"{r['vmhwm_after_fast_mb']:.0f} MB after the fast map, {r['vmhwm_after_whole_mb']:.0f} MB "
              f"after the whole-model map", flush=True)


if __name__ == "__main__":
    main()
