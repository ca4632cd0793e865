"""`speid attribute`'s core: pairs per second per preset, and bounded memory for 10x the pairs.

For each preset, a randomly initialised model at its windows (``cpu``: the
demo's 1,000 / 1,000 bp; ``paper``: 3,000 / 2,000 bp) attributes random pairs
with the defaults of ``speid attribute`` (integrated gradients, 32 steps, 8
dinucleotide-shuffled references, batches of 8 pairs) and streams them to a
contributions file (:class:`speidlib.interpret.contrib_store.StoreWriter`),
as ``speid attribute`` does. Speed does not depend on the weights.

Integrated gradients run as ``speid attribute`` runs them (the network cut after each
branch's convolution: the convolution of the input and each reference once, only the
rest at every path point; with each window pooled whole, as ``cpu`` does, only each
path's candidate positions; :mod:`speidlib.interpret.contributions`) and, for the
ratios, through the whole network at every path point, as before the cut, and (where
windows are pooled whole) with every position through the path, as before the candidates.
How many candidates a path needs depends on the weights: ``--model`` times a trained
model (its own windows) instead of a random one.

Each measurement runs in a child process of its own, so its peak resident set
(``VmHWM``) is its own: one with ``n`` pairs and one with ``10 n``; their ratio
(near 1) shows memory does not grow with the number of pairs. Times exclude
the model build and the first (tracing) batches.

    .venv/bin/python benchmarks/bench_attribute.py [--presets cpu,paper] [--pairs 8] [--model MODEL.keras]
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

WINDOWS = {"paper": (3000, 2000), "cpu": (1000, 1000), "original": (3000, 2000)}
BATCH = 8
#: batches attributed before the clock starts (at most as many pairs as are timed)
WARM_UP = 4


def child(preset: str, n_pairs: int, out: str, path: str = "cut", model_path: str = "") -> dict:
    """Attribute ``n_pairs`` random pairs into ``out``; seconds, pairs/s and VmHWM (MB).

    path : ``cut`` (as ``speid attribute``), ``dense`` (the cut with every position of a
        whole-window pool through the path) or ``whole`` (every path point through the whole network)
    model_path : a saved model to time instead of a random ``preset`` one
    """
    import pandas as pd

    from bench_genome_wide import vmhwm_mb
    from speidlib import schema
    from speidlib.interpret.contrib_store import StoreWriter
    from speidlib.interpret.contributions import Attributor
    from speidlib.model.build import build_model
    from speidlib.model.load import load_model

    if model_path:
        model = load_model(model_path)
        we, wp = (int(t.shape[1]) for t in model.inputs)
    else:
        we, wp = WINDOWS[preset]
        model = build_model(preset, we, wp, jaspar_init=False, seed=0)
    attributor = Attributor(model)
    if path == "whole":
        attributor._cut = None
    elif attributor._cut is None:
        raise SystemExit(f"the {preset} model has no convolution cut")
    elif path == "dense":
        attributor._cut.global_pool = False
    rng = np.random.default_rng(0)
    # traces: a new shape (a path that needs more candidates) traces anew at first
    for s in range(0, min(WARM_UP * BATCH, n_pairs), BATCH):
        k = min(BATCH, n_pairs - s)
        attributor(rng.integers(0, 4, (k, we)).astype(np.int8), rng.integers(0, 4, (k, wp)).astype(np.int8))
    t = time.perf_counter()
    with StoreWriter(out, {"enhancer": we, "promoter": wp}, {"method": "ig"}) as writer:
        for s in range(0, n_pairs, BATCH):
            k = min(BATCH, n_pairs - s)
            codes = {"enhancer": rng.integers(0, 4, (k, we)).astype(np.int8),
                     "promoter": rng.integers(0, 4, (k, wp)).astype(np.int8)}
            c = attributor(codes["enhancer"], codes["promoter"], offset=s)
            pairs = pd.DataFrame({schema.ENHANCER_NAME: [f"e{s + i}" for i in range(k)],
                                  schema.PROMOTER_NAME: [f"p{s + i}" for i in range(k)], schema.CHROM: "chr1",
                                  schema.SPLIT: "test", schema.ENHANCER_START: 0, schema.ENHANCER_END: we,
                                  schema.PROMOTER_START: 0, schema.PROMOTER_END: wp, schema.LABEL: 1})
            writer.append(pairs, c, codes, {b: np.zeros(k, np.int64) for b in codes})
    seconds = time.perf_counter() - t
    return {"preset": preset, "pairs": n_pairs, "seconds": seconds, "pairs_per_s": n_pairs / seconds,
            "vmhwm_mb": vmhwm_mb(), "file_mb": os.path.getsize(out) / 2**20,
            "whole_pool": bool(attributor._cut is not None and attributor._cut.global_pool)}


def run_child(preset: str, n_pairs: int, path: str = "cut", model_path: str = "") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, "--child", preset, str(n_pairs), str(Path(tmp) / "c.h5"), path,
               model_path]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="cpu,paper", help="comma-separated presets (default cpu,paper)")
    parser.add_argument("--pairs", type=int, default=8, help="pairs of the small run (default 8); the large one 10x")
    parser.add_argument("--memory-presets", default="cpu",
                        help="presets that also run 10x the pairs for the memory check (default cpu)")
    parser.add_argument("--model", default="",
                        help="a saved model (e.g. examples/demo_cpu/model.keras) instead of random presets")
    parser.add_argument("--child", nargs=5, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.child:
        preset, n, out, path, model_path = args.child
        print(json.dumps(child(preset, int(n), out, path, model_path)))
        return
    for preset in [args.model] if args.model else args.presets.split(","):
        model = preset if args.model else ""
        small = run_child(preset, args.pairs, model_path=model)
        whole = run_child(preset, args.pairs, "whole", model_path=model)
        shape = "" if args.model else f"windows {WINDOWS[preset][0]} / {WINDOWS[preset][1]} bp, "
        line = (f"[{preset}] {shape}IG 32 steps x 8 "
                f"references: {small['pairs_per_s']:.3f} pairs/s ({small['pairs']} pairs in "
                f"{small['seconds']:.1f} s), peak memory (VmHWM) {small['vmhwm_mb']:.0f} MB; the whole network "
                f"at every path point {whole['pairs_per_s']:.3f} pairs/s, peak {whole['vmhwm_mb']:.0f} MB: "
                f"the cut is {small['pairs_per_s'] / whole['pairs_per_s']:.1f}x faster")
        if small["whole_pool"]:
            dense = run_child(preset, args.pairs, "dense", model_path=model)
            line += (f"; every position through the path {dense['pairs_per_s']:.3f} pairs/s: the candidates "
                     f"are {small['pairs_per_s'] / dense['pairs_per_s']:.1f}x faster")
        if preset in args.memory_presets.split(",") or args.model:
            large = run_child(preset, 10 * args.pairs, model_path=model)
            line += (f"; {large['pairs']} pairs: {large['pairs_per_s']:.3f} pairs/s, peak {large['vmhwm_mb']:.0f} MB "
                     f"(ratio {large['vmhwm_mb'] / small['vmhwm_mb']:.2f} for 10x the pairs), file "
                     f"{large['file_mb']:.1f} MB")
        print(line, flush=True)


if __name__ == "__main__":
    main()
