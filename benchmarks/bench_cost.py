"""What the full TargetFinder study costs: measured CPU seconds per batch, extrapolated.

Measures, on this machine, one ``paper``-preset training step (batch 100,
windows 3,000 / 2,000 bp, Adam, forward + backward) and one forward pass of a
batch, a few of each after a warm-up step, and scales them to every cell line's
epochs (Table 1 counts, splits 81% train / 9% validation / 10% test). GPU times
come from FLOPs (``bench_train.training_flops``) and an assumed sustained rate
calibrated on the preprint's own figure (11 h of stage 1 on K562 on a GTX 1080),
so they are estimates, not measurements.

Run alone: ``.venv/bin/python benchmarks/bench_cost.py [--batches 3] [--threads 2]``
"""
from __future__ import annotations

import argparse

import pandas as pd

from bench_train import WINDOWS, training_flops

TRAIN, VALID = 0.9 * 0.9, 0.9 * 0.1          # shares of the pairs (test 10%, validation 10% of the rest)
BATCH = 100
PRETRAIN_EPOCHS = 32
GTX1080_FP32 = 8.9e12                         # peak FP32 FLOP/s (NVIDIA)
H100_FP32 = 67e12                             # H100 SXM peak FP32 (non-tensor-core) FLOP/s
EIGHT_GPU_SPEEDUP = 6.0                       # 8 GPUs at 75% scaling efficiency (assumed)
PREPRINT_K562_PRETRAIN_S = 11 * 3600          # preprint Section 2.1


def measure(n_batches: int, threads: int) -> dict:
    """Seconds per training step and per forward pass of a 100-example ``paper`` batch
    (:func:`speidlib.app.doctor.measure_steps`, the timer ``speid doctor`` uses)."""
    from speidlib.app.doctor import measure_steps
    from speidlib.model.presets import get_config
    from speidlib.runtime import configure

    configure(seed=0, threads=threads)
    assert get_config("paper").batch_size == BATCH
    return measure_steps(get_config("paper"), *WINDOWS, steps=n_batches)


def cost_table(step: dict) -> tuple[pd.DataFrame, dict]:
    from importlib.resources import files

    counts = pd.read_csv(files("speidlib") / "resources" / "speid_paper" / "table1_counts.csv")
    counts = counts[counts["cell_line"] != "Total"]
    flops = training_flops(*WINDOWS)["total"]            # per example, one training step
    forward_flops = flops / 3                            # forward only (approximately)
    # calibration: the sustained rate the preprint's GTX 1080 reached on K562's stage 1
    k562 = counts.set_index("cell_line").loc["K562"]
    k562_balanced = k562["augmented_positive_pairs"] + k562["negative_pairs"]
    k562_flops = PRETRAIN_EPOCHS * (TRAIN * k562_balanced * flops + VALID * k562_balanced * forward_flops)
    sustained = k562_flops / PREPRINT_K562_PRETRAIN_S
    efficiency = sustained / GTX1080_FP32
    h100 = efficiency * H100_FP32
    rows = []
    for r in counts.itertuples():
        balanced = r.augmented_positive_pairs + r.negative_pairs
        original = r.positive_pairs + r.negative_pairs
        stage1_cpu = (TRAIN * balanced * step["train_step_s"] + VALID * balanced * step["forward_s"]) / BATCH
        stage1_flops = TRAIN * balanced * flops + VALID * balanced * forward_flops
        stage2_cpu = (TRAIN + VALID) * original * step["forward_s"] / BATCH   # frozen features, once
        stage2_flops = (TRAIN + VALID) * original * forward_flops
        rows.append({"cell_line": r.cell_line, "stage1_cpu_h_per_epoch": stage1_cpu / 3600,
                     "stage1_cpu_h_32_epochs": PRETRAIN_EPOCHS * stage1_cpu / 3600,
                     "stage2_features_cpu_h": stage2_cpu / 3600,
                     "stage1_1gpu_min_per_epoch": stage1_flops / h100 / 60,
                     "study_1gpu_h": (PRETRAIN_EPOCHS * stage1_flops + stage2_flops) / h100 / 3600,
                     "study_8gpu_h": (PRETRAIN_EPOCHS * stage1_flops + stage2_flops) / h100 / 3600
                     / EIGHT_GPU_SPEEDUP})
    table = pd.DataFrame(rows)
    return table, {"flops_per_example": flops, "gtx1080_sustained_tflops": sustained / 1e12,
                   "efficiency_of_fp32_peak": efficiency, "h100_sustained_tflops": h100 / 1e12}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    step = measure(args.batches, args.threads)
    print(f"paper preset, batch {BATCH}, windows {WINDOWS}, {args.threads} threads, {args.batches} batches: "
          f"{step['train_step_s']:.2f} s per training step, {step['forward_s']:.2f} s per forward pass")
    table, info = cost_table(step)
    print(f"training FLOPs per example {info['flops_per_example'] / 1e9:.2f} G; preprint GTX 1080 sustained "
          f"{info['gtx1080_sustained_tflops']:.2f} TFLOP/s = {100 * info['efficiency_of_fp32_peak']:.0f}% of FP32 "
          f"peak; same share of an H100's FP32 peak: {info['h100_sustained_tflops']:.1f} TFLOP/s")
    print(table.round(2).to_markdown(index=False))
    total = table.drop(columns="cell_line").sum()
    print(f"six cell lines, one split: CPU {total['stage1_cpu_h_32_epochs'] + total['stage2_features_cpu_h']:.0f} h, "
          f"1 GPU {total['study_1gpu_h']:.1f} h, 8 GPUs {total['study_8gpu_h']:.1f} h")


if __name__ == "__main__":
    main()
