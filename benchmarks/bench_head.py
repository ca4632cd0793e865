"""Stage 2 (head retraining): cached frozen features against training through the frozen model.

:func:`speidlib.train.retrain_head` with ``cache=True`` runs the frozen part
(convolutions, merge, LSTM) once over the training and validation pairs and
trains the dense head on the stored features; ``cache=False`` trains the same
head through the whole frozen network every epoch. Both run here on the
``paper`` preset's sizes (windows 3,000 / 2,000 bp, batch 100) with synthetic
one-hot pairs, on two identically initialised models. An epoch is what
``retrain_head`` records in its history (``seconds``: the fit of one epoch plus
its validation pass); the one-off feature pass of the cached run is reported
apart (the run's wall time less its epochs).

Run alone: ``.venv/bin/python benchmarks/bench_head.py [--quick]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np

WINDOWS = (3000, 2000)


def _batches(n: int, seed: int, batch: int = 100):
    from bench_train import one_hot_batch
    from speidlib.train.stages import ArrayBatches

    xe, xp = one_hot_batch(n, WINDOWS[0], seed), one_hot_batch(n, WINDOWS[1], seed + 1)
    y = (np.random.default_rng(seed).random(n) < 0.3).astype(np.float32)
    return ArrayBatches((xe, xp), y, batch_size=batch, shuffle=False)


def run(n_train: int = 400, n_valid: int = 100, cached_epochs: int = 5, frozen_epochs: int = 2,
        verbose: bool = True) -> dict:
    from speidlib.model.build import build_model
    from speidlib.train.stages import retrain_head

    out = {"n_train": n_train, "n_valid": n_valid}
    for name, cache, epochs in (("cached", True, cached_epochs), ("frozen", False, frozen_epochs)):
        model = build_model("paper", *WINDOWS, jaspar_init=False, seed=0)
        train, valid = _batches(n_train, 10), _batches(n_valid, 20)
        t0 = time.perf_counter()
        rows = retrain_head(model, train, valid, epochs=epochs, config="paper", cache=cache, seed=0,
                            progress=False)
        wall = time.perf_counter() - t0
        seconds = [float(r["seconds"]) for r in rows]
        out[name] = {"epochs": len(rows), "epoch_seconds": seconds, "epoch_median_s": float(np.median(seconds)),
                     "wall_s": wall, "outside_epochs_s": wall - sum(seconds),
                     "val_loss": [float(r["val_loss"]) for r in rows]}
        if verbose:
            print(f"   {name}: epochs {', '.join(f'{s:.2f}' for s in seconds)} s; run {wall:.1f} s", flush=True)
    out["speedup_per_epoch"] = out["frozen"]["epoch_median_s"] / out["cached"]["epoch_median_s"]
    # epochs after which the cached run (feature pass included) has cost less than the frozen one
    one_off = out["cached"]["outside_epochs_s"] - out["frozen"]["outside_epochs_s"]
    out["feature_pass_s"] = one_off
    return out


def report(r: dict) -> list[str]:
    c, f = r["cached"], r["frozen"]
    return [f"   {r['n_train']} training + {r['n_valid']} validation pairs, paper preset, batch 100",
            f"   through the frozen model: {f['epoch_median_s']:.2f} s per epoch (median of {f['epochs']})",
            f"   on cached features:       {c['epoch_median_s']:.3f} s per epoch (median of {c['epochs']}); "
            f"one-off feature pass about {r['feature_pass_s']:.1f} s",
            f"   speed-up per epoch {r['speedup_per_epoch']:.0f}x (target >= 30x)"]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="200 + 100 pairs, 3 and 1 epochs")
    p.add_argument("--json", help="write the figures to this JSON file")
    a = p.parse_args(argv)
    print("Head retraining (stage 2): cached features vs through the frozen model")
    r = run(200, 100, 3, 1) if a.quick else run()
    print("\n".join(report(r)))
    if a.json:
        from genomes import write_json

        write_json(a.json, r)
    return r


if __name__ == "__main__":
    main()
