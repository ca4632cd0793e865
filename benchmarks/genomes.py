"""Benchmark inputs and outputs: a random genome with hg19's chromosome sizes (cached), JSON figures."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path(__file__).resolve().parent / ".cache"


def hg19_sizes() -> dict[str, int]:
    sizes = {}
    for line in (SHARED / "hg19.chrom.sizes").read_text().split("\n"):
        if line.strip():
            name, n = line.split()[:2]
            sizes[name] = int(n)
    return sizes


def random_genome(path: Path, sizes: dict[str, int], seed: int = 0, line: int = 60) -> Path:
    """Write a FASTA of uniform random bases with the given chromosome sizes (once)."""
    if path.exists() and Path(str(path) + ".fai").exists():
        return path
    import pyfaidx

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        for name, n in sizes.items():
            fh.write(f">{name}\n".encode())
            for s in range(0, n, 60 * 1_000_000):
                k = min(60 * 1_000_000, n - s)
                seq = letters[rng.integers(0, 4, k, dtype=np.uint8)]
                full = k // line * line
                block = np.empty((k // line, line + 1), dtype=np.uint8)
                block[:, :line] = seq[:full].reshape(-1, line)
                block[:, line] = ord("\n")
                fh.write(block.tobytes())
                if k > full:
                    fh.write(seq[full:].tobytes() + b"\n")
    tmp.rename(path)
    pyfaidx.Faidx(str(path))
    return path


def write_json(path, figures) -> None:
    """Write a benchmark's figures (``--json``) for ``run_all.py`` to collect."""
    with open(path, "w") as fh:
        json.dump(figures, fh, indent=1, default=float)
