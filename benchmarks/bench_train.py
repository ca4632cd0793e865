"""Training throughput of SPEID on the CPU, and its FLOP rate against numpy's matmul.

Three models of the ``paper`` preset's sizes (windows 3,000 / 2,000 bp, batch
100, synthetic one-hot input), each trained with Adam on binary cross-entropy
(forward + backward + optimizer step, Keras' own ``train_on_batch``):

``naive``
    the straightforward port, ``naive_speid.py`` (Conv1D with the ReLU inside,
    then MaxPool)
``layers``
    ``speidlib.model.build_model("paper")`` with ``fused_conv=False``: plain
    Conv1D -> MaxPool -> ReLU layers (pooling before the ReLU)
``paper``
    ``speidlib.model.build_model("paper")`` as the workbench builds it: each
    branch one :class:`speidlib.model.layers.PooledConv1D` (bias after the pooling)
``fused_lstm``
    ``paper`` with the LSTMs' input projection hoisted out of the time loop
    (``fast_lstm.ProjectedLSTM``, a prototype kept in benchmarks/)

Steps of the models are interleaved (round robin, the order rotating every
round) so that the load of a shared machine falls on all of them alike, and a
float32 ``numpy.matmul`` of two 4,096 x 4,096 matrices is timed between rounds,
so the matrix-multiply rate is measured over the same minutes.

FLOPs are counted analytically, per example, for one training step (the
formula is :func:`training_flops`).

Run alone: ``.venv/bin/python benchmarks/bench_train.py [--quick]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np

WINDOWS = (3000, 2000)


# --- FLOPs --------------------------------------------------------------------------
def training_flops(enhancer_window: int, promoter_window: int, n_kernels: int = 1024, kernel_size: int = 40,
                   pool_size: int = 20, lstm_units: int = 100, dense_units: int = 925,
                   channels: int = 4) -> dict:
    """Multiply-add FLOPs (2 per multiply-add) of one training step, per example.

    * convolution, per branch of window W: forward ``2 (W - w + 1) w C K``;
      training adds the kernel gradient (the same count) but no input
      gradient (the input is data), so ``2x`` forward.
    * bidirectional LSTM over the ``T = (We - w + 1) // p + (Wp - w + 1) // p``
      merged positions, input size ``d = K``, ``u`` units: forward
      ``2 directions x T x 2 x 4u (d + u)`` (the four gates' input and recurrent
      matrix products); training ``3x`` forward (input and weight gradients).
    * dense head: ``2 (2u D + D)`` forward, ``3x`` in training.

    Elementwise work (bias, ReLU, pooling, BatchNorm, dropout, gate
    nonlinearities, Adam) is not counted.

    Returns
    -------
    dict : ``conv``, ``lstm``, ``dense``, ``total`` FLOPs per example
    """
    conv = sum(2 * (w - kernel_size + 1) * kernel_size * channels * n_kernels
               for w in (enhancer_window, promoter_window)) * 2
    steps = sum((w - kernel_size + 1) // pool_size for w in (enhancer_window, promoter_window))
    lstm = 2 * steps * 2 * 4 * lstm_units * (n_kernels + lstm_units) * 3
    dense = 2 * (2 * lstm_units * dense_units + dense_units) * 3
    return {"conv": conv, "lstm": lstm, "dense": dense, "total": conv + lstm + dense}


def matmul_gflops(n: int = 4096, repeats: int = 2) -> float:
    """numpy float32 ``a @ b`` of two n x n matrices: best GFLOP/s of ``repeats`` runs."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def blas_info() -> str:
    """Which BLAS numpy uses, its kernel and threads (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl missing)"
    libs = [f"{d.get('internal_api')} {d.get('version')} kernel {d.get('architecture')}, "
            f"{d.get('num_threads')} threads" for d in threadpool_info() if d.get("user_api") == "blas"]
    return "; ".join(libs) or "no BLAS found"


# --- models ---------------------------------------------------------------------------
def one_hot_batch(batch: int, window: int, seed: int = 0) -> np.ndarray:
    """Random one-hot DNA, shape=(batch, window, 4), float32."""
    rng = np.random.default_rng(seed)
    x = np.zeros((batch, window, 4), np.float32)
    x[np.arange(batch)[:, None], np.arange(window)[None, :], rng.integers(0, 4, (batch, window))] = 1
    return x


def paper_model(seed: int = 0, fused_conv: bool = True, projected_lstm: bool = False):
    """``build_model("paper")`` (windows 3,000 / 2,000), optionally with plain conv layers or
    with the LSTMs swapped for :class:`fast_lstm.ProjectedLSTM` (same weights)."""
    import keras

    from speidlib import schema
    from speidlib.model.build import build_model
    from speidlib.model.presets import get_config

    config = get_config("paper").replace(fused_conv=fused_conv)
    model = build_model(config, *WINDOWS, jaspar_init=False, seed=seed)
    if not projected_lstm:
        return model
    from fast_lstm import projected_bilstm

    names = [layer.name for layer in model.layers]
    x = model.get_layer("merge").output
    for layer in model.layers[names.index("merge") + 1:]:
        if layer.name == schema.FEATURES_LAYER:
            new = projected_bilstm(layer)
            x = new(x)
            new.set_weights(layer.get_weights())
        else:
            x = layer(x)
    return keras.Model(model.inputs, x, name="speid_paper_projected_lstm")


def build_variants(names=("naive", "layers", "paper"), seed: int = 0) -> dict:
    """Compiled models by name, all with the paper preset's sizes and the same weights."""
    import keras

    from naive_speid import build_naive_speid, copy_weights
    from speidlib.model.presets import get_config

    makers = {"naive": lambda: build_naive_speid(*WINDOWS, seed=seed),
              "layers": lambda: paper_model(seed, fused_conv=False),
              "paper": lambda: paper_model(seed),
              "fused_lstm": lambda: paper_model(seed, projected_lstm=True)}
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown model variant(s) {unknown}; choose from {list(makers)}")
    models = {name: makers[name]() for name in names}
    first = next(iter(models.values()))
    for m in models.values():
        if m is not first:
            copy_weights(first, m)
    for m in models.values():
        m.compile(optimizer=keras.optimizers.Adam(learning_rate=get_config("paper").learning_rate),
                  loss="binary_crossentropy")
    return models


def max_output_difference(models: dict, batch: int = 4) -> float:
    """Largest |difference| of the models' inference outputs on one random batch."""
    xe, xp = one_hot_batch(batch, WINDOWS[0], 1), one_hot_batch(batch, WINDOWS[1], 2)
    outs = [np.asarray(m([xe, xp], training=False)) for m in models.values()]
    return float(max(np.abs(o - outs[0]).max() for o in outs))


# --- the benchmark ----------------------------------------------------------------------
def run(steps: int = 10, warmup: int = 2, batch: int = 100, names=("naive", "layers", "paper"),
        verbose: bool = True) -> dict:
    """Interleaved training steps of the variants; throughput, FLOP rates, ratios."""
    models = build_variants(names)
    diff = max_output_difference(models)
    xe, xp = one_hot_batch(batch, WINDOWS[0], 3), one_hot_batch(batch, WINDOWS[1], 4)
    y = (np.arange(batch) % 2).astype(np.float32)
    for _ in range(warmup):
        for m in models.values():
            m.train_on_batch([xe, xp], y)
    times = {n: [] for n in models}
    matmul = [matmul_gflops()]
    order = list(models)
    for r in range(steps):
        for n in order[r % len(order):] + order[:r % len(order)]:
            t0 = time.perf_counter()
            models[n].train_on_batch([xe, xp], y)
            times[n].append(time.perf_counter() - t0)
        matmul.append(matmul_gflops(repeats=1))
        if verbose:
            print(f"   round {r + 1}/{steps}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in order)
                  + f", matmul {matmul[-1]:.0f} GFLOP/s", flush=True)
    flops = training_flops(*WINDOWS)
    out = {"batch": batch, "steps": steps, "warmup": warmup, "flops_per_example": flops,
           "matmul_gflops": {"median": float(np.median(matmul)), "max": float(np.max(matmul)),
                             "all": matmul},
           "blas": blas_info(), "max_output_difference": diff, "models": {}}
    mm = float(np.median(matmul))
    for n, ts in times.items():
        sec = float(np.median(ts))
        rate = batch / sec
        out["models"][n] = {"seconds_per_step": sec, "all": ts, "samples_per_s": rate,
                            "gflops": rate * flops["total"] / 1e9,
                            "fraction_of_matmul": rate * flops["total"] / 1e9 / mm}
    return out


def report(r: dict) -> list[str]:
    f = r["flops_per_example"]
    lines = [f"   FLOPs per example and step: conv {f['conv'] / 1e9:.2f} G + LSTM {f['lstm'] / 1e9:.2f} G "
             f"+ dense {f['dense'] / 1e9:.3f} G = {f['total'] / 1e9:.2f} GFLOP",
             f"   numpy float32 matmul ({r['blas']}): median {r['matmul_gflops']['median']:.0f} GFLOP/s "
             f"(best {r['matmul_gflops']['max']:.0f}) over the same minutes",
             f"   largest output difference between the variants (same weights): "
             f"{r['max_output_difference']:.2e}"]
    for n, m in r["models"].items():
        lines.append(f"   {n:6s} {m['samples_per_s']:6.2f} samples/s ({m['seconds_per_step']:.2f} s/step of "
                     f"{r['batch']}), {m['gflops']:.0f} GFLOP/s = {m['fraction_of_matmul']:.2f} of matmul")
    models = r["models"]
    if "naive" in models:
        for n in models:
            if n != "naive":
                lines.append(f"   {n} / naive: {models[n]['samples_per_s'] / models['naive']['samples_per_s']:.2f}x")
    return lines


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="3 timed steps instead of 10")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--variants", default="naive,layers,paper,fused_lstm",
                   help="comma-separated: naive, layers, paper, fused_lstm")
    p.add_argument("--json", help="write the figures to this JSON file")
    a = p.parse_args(argv)
    steps = a.steps or (3 if a.quick else 10)
    print(f"Training throughput, paper preset sizes, batch 100, {steps} interleaved steps per model")
    r = run(steps=steps, warmup=1 if a.quick else 2, names=tuple(a.variants.split(",")))
    print("\n".join(report(r)))
    if a.json:
        from genomes import write_json

        write_json(a.json, r)
    return r


if __name__ == "__main__":
    main()
