"""DNA base codes and one-hot encoding.

The base order is **A, C, G, T** everywhere in the workbench: one-hot column 0
is A, 1 is C, 2 is G, 3 is T. Sequences are stored as int8 codes
(A=0, C=1, G=2, T=3, N=4) and turned into float one-hot arrays per batch; N
(and any other IUPAC ambiguity code) becomes an all-zero column.
"""
from __future__ import annotations

import numpy as np

BASES = "ACGT"
N_CODE = 4

_LOOKUP = np.full(256, N_CODE, dtype=np.int8)
for _i, _b in enumerate(BASES):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i

_ONEHOT_TABLE = np.zeros((5, 4), dtype=np.float32)
_ONEHOT_TABLE[np.arange(4), np.arange(4)] = 1.0

_COMPLEMENT = np.array([3, 2, 1, 0, N_CODE], dtype=np.int8)


def encode(sequence: str | bytes) -> np.ndarray:
    """Encode a DNA string as int8 base codes.

    Parameters
    ----------
    sequence : str or bytes, length L
        Upper or lower case; anything but A/C/G/T becomes N.

    Returns
    -------
    codes : np.ndarray, shape=(L,), dtype=int8
    """
    if isinstance(sequence, str):
        sequence = sequence.encode("ascii", errors="replace")
    return _LOOKUP[np.frombuffer(sequence, dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Turn int8 codes, shape=(L,), back into an upper-case string (N for 4)."""
    codes = check_codes(codes)
    return np.frombuffer(b"ACGTN", dtype=np.uint8)[codes].tobytes().decode()


def one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot encode base codes.

    Parameters
    ----------
    codes : np.ndarray, shape=(..., L), int8 codes 0-4

    Returns
    -------
    X : np.ndarray, shape=(..., L, 4), A/C/G/T columns; N is all zeros.
    """
    codes = check_codes(codes)
    return _ONEHOT_TABLE.astype(dtype, copy=False)[codes]


def from_one_hot(X: np.ndarray) -> np.ndarray:
    """Invert :func:`one_hot`: X shape=(..., L, 4) -> codes shape=(..., L)."""
    X = np.asarray(X)
    if X.shape[-1] != 4:
        raise ValueError(f"expected a last axis of 4 (A, C, G, T), got shape {X.shape}")
    codes = X.argmax(axis=-1).astype(np.int8)
    codes[X.sum(axis=-1) == 0] = N_CODE
    return codes


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes, shape=(..., L); N stays N."""
    codes = check_codes(codes)
    return _COMPLEMENT[codes][..., ::-1]




def check_codes(codes) -> np.ndarray:
    """``codes`` as an integer array after checking every value lies in 0-4 (A, C, G, T, N).

    Raises ValueError naming the dtype or the range found. int8 arrays come back
    as they are, other integer types as ``np.intp``.
    """
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        raise ValueError(f"base codes must be integers 0-4, got dtype {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() > N_CODE):
        raise ValueError(f"base codes must lie in 0-4 (A, C, G, T, N), got {codes.min()}..{codes.max()}")
    return codes.astype(np.intp, copy=False) if codes.dtype != np.int8 else codes
