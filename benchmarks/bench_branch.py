"""Where the time goes: one enhancer branch, forward + kernel gradient, variants side by side.

The enhancer branch of the ``paper`` preset (1,024 kernels of 40 bp over a
3,000 bp window, max-pool 20) on synthetic one-hot input. One step is the
forward pass and the gradient of ``mean(output)`` with respect to the
branch's weights (what training needs; no input gradient), in a
``tf.function``. Variants, all timed interleaved (round robin) in one process:

``conv``            Conv1D alone (bias included), no pooling
``conv_relu_pool``  Conv1D(activation="relu") -> MaxPool: the straightforward port
``conv_pool_relu``  Conv1D -> MaxPool -> ReLU: ``speidlib.model`` today
``fused``           PooledConv1D: conv (no bias) -> MaxPool -> + bias -> ReLU
``fused_chunks5``   the same layer over 5 slices of the batch, concatenated
``fused_b20``       the same layer, batches of 20 (5 steps per 100 examples)
``fused_xla``       ``fused`` compiled with XLA (``jit_compile=True``)
``fused_bf16``      ``fused`` under the ``mixed_bfloat16`` policy (AMX/AVX512-BF16
                    on CPUs that have them); changes precision, reported apart

Throughput is examples per second; the FLOP rate counts the convolution only
(forward + kernel gradient, ``2 x 2 (W - w + 1) w 4 K`` per example).

Run alone: ``.venv/bin/python benchmarks/bench_branch.py [--quick]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np

WINDOW, KERNELS, WIDTH, POOL = 3000, 1024, 40, 20
VARIANTS = ("conv", "conv_relu_pool", "conv_pool_relu", "fused", "fused_chunks5", "fused_b20",
            "fused_xla")
BF16_VARIANTS = ("fused", "fused_bf16")


def conv_flops(window: int = WINDOW) -> int:
    """Forward + kernel-gradient FLOPs of the branch convolution, per example."""
    return 2 * 2 * (window - WIDTH + 1) * WIDTH * 4 * KERNELS


def _chunked_class():
    from keras import ops

    from speidlib.model.layers import PooledConv1D

    class Chunked(PooledConv1D):
        """PooledConv1D applied to 5 slices of the batch, outputs concatenated."""

        def call(self, inputs):
            return ops.concatenate([super(Chunked, self).call(x) for x in ops.split(inputs, 5, axis=0)], axis=0)

    return Chunked


def _branch(variant: str):
    """(keras.Model of one branch, examples per call, jit_compile)."""
    import keras
    from keras import layers

    from speidlib.model.layers import PooledConv1D

    batch, jit = 100, False
    inp = keras.Input((WINDOW, 4))
    if variant == "conv":
        x = layers.Conv1D(KERNELS, WIDTH)(inp)
    elif variant == "conv_relu_pool":
        x = layers.MaxPooling1D(POOL)(layers.Conv1D(KERNELS, WIDTH, activation="relu")(inp))
    elif variant == "conv_pool_relu":
        x = layers.Activation("relu")(layers.MaxPooling1D(POOL)(layers.Conv1D(KERNELS, WIDTH)(inp)))
    elif variant in ("fused", "fused_b20", "fused_xla"):
        x = PooledConv1D(KERNELS, WIDTH, POOL)(inp)
        batch = 20 if variant == "fused_b20" else 100
        jit = variant == "fused_xla"
    elif variant == "fused_chunks5":
        x = _chunked_class()(KERNELS, WIDTH, POOL)(inp)
    elif variant == "fused_bf16":
        x = PooledConv1D(KERNELS, WIDTH, POOL, dtype="mixed_bfloat16")(inp)
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return keras.Model(inp, x, name=variant), batch, jit


def _step(model, jit: bool):
    import tensorflow as tf

    @tf.function(jit_compile=jit)
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.cast(model(x, training=True), tf.float32))
        return tape.gradient(loss, model.trainable_variables)

    return step


def run(variants=VARIANTS, rounds: int = 3, verbose: bool = True) -> dict:
    """Seconds per 100 examples of each variant (median of ``rounds``), interleaved."""
    import tensorflow as tf

    from bench_train import one_hot_batch

    x100 = tf.constant(one_hot_batch(100, WINDOW, 5))
    steps = {}
    for v in variants:
        model, batch, jit = _branch(v)
        step = _step(model, jit)
        xs = [x100[i:i + batch] for i in range(0, 100, batch)]
        t0 = time.perf_counter()
        [g.numpy() for g in step(xs[0])]
        steps[v] = (step, xs, time.perf_counter() - t0)
    times = {v: [] for v in steps}
    order = list(steps)
    for r in range(rounds):
        for v in order[r % len(order):] + order[:r % len(order)]:
            step, xs, _ = steps[v]
            t0 = time.perf_counter()
            for x in xs:
                [g.numpy() for g in step(x)]
            times[v].append(time.perf_counter() - t0)
        if verbose:
            print(f"   round {r + 1}/{rounds}: " + ", ".join(f"{v} {times[v][-1]:.2f}" for v in order),
                  flush=True)
    out = {}
    for v, ts in times.items():
        sec = float(np.median(ts))
        out[v] = {"seconds_per_100": sec, "all": ts, "samples_per_s": 100 / sec,
                  "conv_gflops": 100 * conv_flops() / sec / 1e9, "first_call_s": steps[v][2]}
    return out


def bf16_error(n: int = 8) -> dict:
    """Error of the bfloat16 branch against float32 on the same weights (pooled output)."""
    from bench_train import one_hot_batch
    from speidlib.model.layers import PooledConv1D

    x = one_hot_batch(n, WINDOW, 6)
    f32 = PooledConv1D(KERNELS, WIDTH, POOL)
    b16 = PooledConv1D(KERNELS, WIDTH, POOL, dtype="mixed_bfloat16")
    a = np.asarray(f32(x))
    b16(x)
    b16.set_weights(f32.get_weights())
    b = np.asarray(b16(x), dtype=np.float32)
    scale = float(np.abs(a).max())
    return {"max_abs_error": float(np.abs(a - b).max()), "output_scale": scale,
            "max_rel_error": float(np.abs(a - b).max() / scale)}


def report(r: dict) -> list[str]:
    lines = []
    base = r.get("conv_relu_pool")
    for v, m in r.items():
        vs = f", {m['samples_per_s'] / base['samples_per_s']:.2f}x conv_relu_pool" if base else ""
        if not base and "fused" in r and v != "fused":
            vs = f", {m['samples_per_s'] / r['fused']['samples_per_s']:.2f}x fused"
        lines.append(f"   {v:15s} {m['samples_per_s']:6.1f} samples/s  {m['seconds_per_100']:.2f} s per 100  "
                     f"conv {m['conv_gflops']:4.0f} GFLOP/s{vs}")
    return lines


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="2 rounds instead of 4")
    p.add_argument("--variants", default=None, help="comma-separated, default: all float32 variants")
    p.add_argument("--bf16", action="store_true",
                   help="fused against fused_bf16 only, with the bfloat16 error (run it with "
                        "ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 too: see RESULTS.md)")
    p.add_argument("--json", help="write the figures to this JSON file")
    a = p.parse_args(argv)
    import os

    variants = a.variants.split(",") if a.variants else BF16_VARIANTS if a.bf16 else VARIANTS
    print("Enhancer branch (1,024 x 40 conv, pool 20, window 3,000), forward + kernel gradient, per 100 "
          f"examples (ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset')})")
    r = {"timings": run(variants, rounds=2 if a.quick else 4),
         "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA")}
    print("\n".join(report(r["timings"])))
    if "fused_bf16" in variants:
        e = r["bf16_error"] = bf16_error()
        print(f"   bfloat16 vs float32 pooled output: max abs error {e['max_abs_error']:.3g} "
              f"(output scale {e['output_scale']:.3g}, relative {e['max_rel_error']:.2g})")
    if a.json:
        from genomes import write_json

        write_json(a.json, r)
    return r


if __name__ == "__main__":
    main()
