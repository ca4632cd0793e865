"""Genome FASTA access through pyfaidx, returning int8 base codes.

Lower case (soft-masked) bases are folded to upper case, N and other
ambiguity codes become code 4 (an all-zero one-hot column), and a window
running past a chromosome end is padded with N, never shortened.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyfaidx

from .encode import N_CODE, encode


class Genome:
    """An indexed FASTA file (the ``.fai`` index is built if missing).

    Parameters
    ----------
    path : path to a plain or bgzip-compressed FASTA
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"genome FASTA {self.path} does not exist")
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=False,
                                        rebuild=False, build_index=True)
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as e:
            raise ValueError(f"genome FASTA {self.path} could not be indexed: {e}") from e
        self.chrom_sizes = {name: len(rec) for name, rec in self._fasta.records.items()} \
            if hasattr(self._fasta, "records") else {k: len(v) for k, v in self._fasta.items()}

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def check_chromosomes(self, chroms, source: str = "the pair table") -> None:
        """Raise ValueError naming every chromosome of ``chroms`` the FASTA lacks."""
        missing = sorted(set(chroms) - set(self.chrom_sizes))
        if missing:
            have = ", ".join(list(self.chrom_sizes)[:8])
            raise ValueError(
                f"{source} uses chromosome(s) {', '.join(missing)} that the genome FASTA "
                f"{self.path} lacks (it has {have}{', ...' if len(self.chrom_sizes) > 8 else ''})")

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Base codes of ``chrom:start-end`` (0-based, half-open), shape=(end - start,), int8.

        Positions before 0 or past the chromosome end are N.
        """
        if chrom not in self.chrom_sizes:
            self.check_chromosomes([chrom], source=f"region {chrom}:{start}-{end}")
        if end < start:
            raise ValueError(f"region {chrom}:{start}-{end} has end < start")
        out = np.full(end - start, N_CODE, dtype=np.int8)
        lo, hi = max(start, 0), min(end, self.chrom_sizes[chrom])
        if hi > lo:
            seq = self._fasta.faidx.fetch(chrom, lo + 1, hi)
            out[lo - start:hi - start] = encode(seq if isinstance(seq, str) else str(seq))
        return out

    def fetch_many(self, chroms, starts, length: int, out: np.ndarray | None = None,
                   progress: bool = False, desc: str = "reading windows") -> np.ndarray:
        """Fixed-length windows, shape=(n, length), int8.

        Parameters
        ----------
        chroms : sequence of str, shape=(n,)
        starts : ints, shape=(n,), may be negative (padded with N)
        length : bases per window
        out : optional preallocated int8 array, shape=(n, length)
        """
        starts = np.asarray(starts, dtype=np.int64)
        chroms = np.asarray(chroms)
        self.check_chromosomes(np.unique(chroms))
        if out is None:
            out = np.empty((len(starts), length), dtype=np.int8)
        it = range(len(starts))
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it, desc=desc, unit="window", mininterval=0.5)
        for i in it:
            out[i] = self.fetch(chroms[i], int(starts[i]), int(starts[i]) + length)
        return out
