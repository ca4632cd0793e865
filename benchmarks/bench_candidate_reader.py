"""What checking every line of a candidate BEDPE costs `speid score`: the checked reader against a bare parse.

``speid score`` streams a candidate BEDPE (``speid candidates``) chromosome by chromosome
through :func:`speidlib.data.candidates.iter_candidate_chunks`, which checks each line as
``speid prepare`` checks a pair table (field count, whole non-negative coordinates,
start < end, one chromosome per pair; file and line named). The reference is a bare
``pandas.read_csv`` of the same file with the coordinates as int64 and nothing checked.
Both read the same file, best of ``--repeats`` runs each, interleaved, in one process.

    .venv/bin/python benchmarks/bench_candidate_reader.py [--enhancers 20000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from speidlib.data.candidates import CANDIDATE_COLUMNS, iter_candidate_chunks, write_candidates  # noqa: E402


def _bed(rng, n: int, prefix: str, width: int) -> pd.DataFrame:
    chrom = rng.choice(["chr1", "chr2"], n)
    start = rng.integers(0, 50_000_000, n)
    return pd.DataFrame({"chrom": chrom, "start": start, "end": start + width,
                         "name": [f"{prefix}{i}" for i in range(n)], "strand": "."})


def bare_parse(path) -> int:
    """The unchecked reference: pandas' C parser, coordinates as int64."""
    ints = {c: np.int64 for c in ("start1", "end1", "start2", "end2")}
    n = 0
    for chunk in pd.read_csv(path, sep="\t", skiprows=1, header=None, names=CANDIDATE_COLUMNS,
                             dtype={**ints, "chrom1": str, "chrom2": str}, chunksize=500_000):
        n += len(chunk)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enhancers", type=int, default=20_000, help="enhancers (promoters: a tenth)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidates.bedpe"
        info = write_candidates(_bed(rng, args.enhancers, "e", 500), _bed(rng, args.enhancers // 10, "p", 1),
                                path, 1_000_000)
        best = {"checked": float("inf"), "bare": float("inf")}
        for _ in range(args.repeats):
            for name, read in (("bare", bare_parse),
                               ("checked", lambda p: sum(len(c) for c in iter_candidate_chunks(p)))):
                t0 = time.perf_counter()
                assert read(path) == info["n_pairs"]
                best[name] = min(best[name], time.perf_counter() - t0)
    n = info["n_pairs"]
    print(f"{n:,} candidate pairs ({path.name}, {args.repeats} runs each, best)")
    for name, seconds in best.items():
        print(f"  {name:8s} {seconds:6.2f} s  {n / seconds / 1e6:5.2f} M pairs/s")
    print(f"  checked / bare: {best['checked'] / best['bare']:.2f}x the time")


if __name__ == "__main__":
    main()
