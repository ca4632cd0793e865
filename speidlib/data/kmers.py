"""k-mer counts of base-coded windows: the features of the k-mer baseline.

A k-mer is read base-4 (A=0 .. T=3, first base most significant); with
``collapse_rc`` a k-mer and its reverse complement share one column (named by
the alphabetically first of the two), so a window and its reverse complement
get identical counts. k-mers that touch an N are not counted.
"""
from __future__ import annotations

import numpy as np

from speidlib.data.encode import N_CODE


def _canonical_index(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Map every k-mer index (base-4, A=0 .. T=3, first base most significant) to a column.

    Returns ``column`` (4**k,) and the canonical k-mer index of each column.
    """
    idx = np.arange(4 ** k)
    digits = (idx[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4        # (4**k, k)
    rc = ((3 - digits[:, ::-1]) * 4 ** np.arange(k - 1, -1, -1)).sum(axis=1)
    canon = np.minimum(idx, rc)
    kept, column = np.unique(canon, return_inverse=True)
    return column, kept


def check_k(k: int) -> int:
    """``k`` as an int, or a ValueError unless it is a whole number from 1 to 8."""
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= 8:
        raise ValueError(f"k-mer length must be a whole number from 1 to 8, got {k!r}")
    return int(k)


def kmer_names(k: int, collapse_rc: bool = True) -> list[str]:
    """Column names of :func:`kmer_counts`: each k-mer (the alphabetically first of a
    reverse-complement pair when ``collapse_rc``), in column order."""
    k = check_k(k)
    kept = _canonical_index(k)[1] if collapse_rc else np.arange(4 ** k)
    digits = (kept[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    return ["".join("ACGT"[d] for d in row) for row in digits]


def kmer_counts(codes: np.ndarray, k: int, collapse_rc: bool = True,
                max_cells: int = 4_000_000) -> np.ndarray:
    """Count k-mers in each sequence; k-mers touching an N are skipped.

    Parameters
    ----------
    codes : np.ndarray, shape=(n, L), int base codes (A=0, C=1, G=2, T=3, N=4)
    k : int, 1-8
    collapse_rc : bool, count a k-mer and its reverse complement in one column
        (so a sequence and its reverse complement get identical counts)
    max_cells : int, rows are processed in chunks of about this many bases

    Returns
    -------
    counts : np.ndarray, shape=(n, n_kmers), int32; columns as :func:`kmer_names`
        (``n_kmers`` is ``4**k`` or, collapsed, ``(4**k + 4**(k//2)) / 2`` for
        even ``k`` and ``4**k / 2`` for odd ``k``).
    """
    k = check_k(k)
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (n, L), got shape {codes.shape}")
    if codes.dtype.kind not in "iu":
        raise ValueError(f"codes must be integer base codes 0-4, got dtype {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() > N_CODE):
        raise ValueError(f"codes must lie in 0-4 (A, C, G, T, N), found {codes.min()}..{codes.max()}")
    n, length = codes.shape
    if collapse_rc:
        column, kept = _canonical_index(k)
        n_cols = kept.size
    else:
        column, n_cols = np.arange(4 ** k), 4 ** k
    out = np.zeros((n, n_cols), dtype=np.int32)
    n_pos = length - k + 1
    if n_pos <= 0 or n == 0:
        return out
    chunk = max(1, max_cells // max(length, 1))
    for r0 in range(0, n, chunk):
        c = codes[r0:r0 + chunk].astype(np.int64)
        b = c.shape[0]
        index = np.zeros((b, n_pos), dtype=np.int64)
        bad = np.zeros((b, n_pos), dtype=bool)
        for j in range(k):
            part = c[:, j:j + n_pos]
            index = index * 4 + np.minimum(part, 3)
            bad |= part == N_CODE
        flat = column[index] + n_cols * np.arange(b)[:, None]
        out[r0:r0 + b] = np.bincount(flat[~bad], minlength=b * n_cols).reshape(b, n_cols)
    return out
