"""Dataset build: time and peak memory, measured side by side in one run.

1. The workbench's ``prepare`` on a K562-sized synthetic demo (41,477 pairs).
2. ``prepare`` against the straightforward loop (``naive_prepare.py``) on the
   real K562 TargetFinder pairs over a random genome of hg19's chromosome sizes.
Each build runs in its own process, so its peak RSS is its own.

Run: ``.venv/bin/python benchmarks/bench_prepare.py``
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from genomes import CACHE, SHARED, hg19_sizes, random_genome  # noqa: E402

# Peak memory is the process's VmHWM: unlike ru_maxrss, which Linux carries
# across fork and exec, it belongs to this process's own address space.
CHILD = """
import json, sys, time
sys.path.insert(0, {here!r})
t0 = time.perf_counter()
{body}
print("RESULT", json.dumps({{"seconds": time.perf_counter() - t0,
      "peak_gib": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 2**20}}))
"""


def measure(body: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(here=str(HERE), body=body)],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[7:])


def prepare_body(pairs, genome, run, we=3000, wp=2000):
    return (f"from speidlib.data.dataset import PrepareConfig, prepare\n"
            f"prepare(PrepareConfig(pairs={str(pairs)!r}, genome={str(genome)!r}, "
            f"enhancer_window={we}, promoter_window={wp}, augment=20), {str(run)!r}, progress=False)")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    print("Dataset build benchmark (positives augmented 20x, windows 3,000/2,000 bp)")

    from speidlib.demo.synthetic import make_demo

    demo = CACHE / "demo_k562_size"
    if not (demo / "pairs.csv").exists():
        make_demo(demo, seed=0, n_cell_lines=1, n_pairs=41477)
    r = measure(prepare_body(demo / "pairs.csv", demo / "genome.fa", work / "demo_run"))
    import pandas as pd
    n = len(pd.read_csv(demo / "pairs.csv"))
    print(f"\n1. demo genome, {n:,} pairs: prepare {r['seconds']:.1f} s "
          f"(limit 60 s, {r['seconds'] / 60:.2f} of it), peak {r['peak_gib']:.2f} GiB "
          f"(limit 2 GiB, {r['peak_gib'] / 2:.2f} of it)")

    genome = random_genome(CACHE / "hg19_random.fa", hg19_sizes())
    k562 = SHARED / "targetfinder" / "K562_ep.csv.gz"
    ours = measure(prepare_body(k562, genome, work / "k562_run"))
    naive = measure("from naive_prepare import naive_prepare\n"
                    f"naive_prepare({str(k562)!r}, {str(genome)!r}, {str(work / 'naive.h5')!r})")
    print("\n2. real K562 pairs (41,477) on a random hg19-sized genome:")
    print(f"   prepare        {ours['seconds']:7.1f} s  peak {ours['peak_gib']:.2f} GiB")
    print(f"   naive loop     {naive['seconds']:7.1f} s  peak {naive['peak_gib']:.2f} GiB")
    print(f"   speed-up       {naive['seconds'] / ours['seconds']:7.2f}x (target >= 2x)")
    print(f"   peak memory    {ours['peak_gib']:.2f} GiB (target <= 0.5 GiB); "
          f"{naive['peak_gib'] / ours['peak_gib']:.2f}x less than the naive loop")


if __name__ == "__main__":
    main()
