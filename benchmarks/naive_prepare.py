"""The straightforward dataset build, kept for comparison only.

Fetches every window, the augmented copies included, with pyfaidx, one-by-one,
and stacks them into int8 arrays, as a direct port of the preprint's
preprocessing would. Not used by the workbench.
"""
from __future__ import annotations

import h5py
import numpy as np
import pyfaidx

from speidlib.data import regions
from speidlib.data.encode import encode
from speidlib.data.pairs import read_pairs


def naive_prepare(pairs_path, genome_path, out_path, enhancer_window=3000, promoter_window=2000,
                  augment=20, seed=0):
    rng = np.random.default_rng(seed)
    pairs = read_pairs(pairs_path)
    fasta = pyfaidx.Fasta(str(genome_path), as_raw=True)
    sizes = {k: len(v) for k, v in fasta.items()}

    def window(chrom, start, w):
        seq = fasta[chrom][max(start, 0):min(start + w, sizes[chrom])]
        codes = encode(seq)
        return np.pad(codes, (max(0, -start), w - len(codes) - max(0, -start)), constant_values=4)

    enh, prom, labels = [], [], []
    for row in pairs.itertuples(index=False):
        copies = augment if row.label == 1 else 1
        for _ in range(copies):
            for branch, w, out in (("enhancer", enhancer_window, enh), ("promoter", promoter_window, prom)):
                s, e = getattr(row, f"{branch}_start"), getattr(row, f"{branch}_end")
                lo, hi = regions.offset_bounds([s], [e], w)
                off = rng.integers(lo[0], hi[0] + 1) if row.label == 1 else w // 2
                out.append(window(row.chrom, int(regions.span_starts([s], [e], w)[0] + off), w))
        labels.extend([row.label] * copies)
    with h5py.File(out_path, "w") as h5:
        h5["enhancer"] = np.stack(enh)
        h5["promoter"] = np.stack(prom)
        h5["label"] = np.array(labels, dtype=np.int8)
    return len(labels)
