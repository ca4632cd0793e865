"""Fitting elements into fixed-size windows, and the shifts of augmentation.

Every element (enhancer or promoter) is stored once as a *span* of ``2 * W``
bases centred on the element, where ``W`` is that branch's window. Any window
the model sees is ``span[offset : offset + W]`` for an offset in ``0..W``:

- the centred window has offset ``W // 2`` (its centre is the element's);
- an element longer than ``W`` gets a window sampled inside it;
- augmentation draws offsets whose window still contains the whole element
  (or, for a long element, lies wholly inside it).

Coordinates are 0-based, half-open, as in ``CELL|chr1:100-200``.
"""
from __future__ import annotations

import zlib

import numpy as np


def _as_int(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def element_centres(starts, ends) -> np.ndarray:
    """Integer centres ``(start + end) // 2``, shape=(n,)."""
    return (_as_int(starts) + _as_int(ends)) // 2


def span_starts(starts, ends, window: int) -> np.ndarray:
    """Genome coordinate of each element's stored span, shape=(n,).

    May be negative near a chromosome start; the genome reader pads with N.
    """
    _check_window(window)
    return element_centres(starts, ends) - window


def offset_bounds(starts, ends, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest window offsets inside the span that keep the element.

    For an element of length ``L <= W`` the window must contain it; for
    ``L > W`` the window must lie inside it.

    Returns
    -------
    lo, hi : np.ndarray, shape=(n,), int64, with ``0 <= lo <= hi <= W``
    """
    starts, ends = _as_int(starts), _as_int(ends)
    if np.any(ends <= starts):
        raise ValueError("every element needs start < end")
    span0 = span_starts(starts, ends, window)
    short = (ends - starts) <= window
    # window start s must satisfy end - W <= s <= start (short) or start <= s <= end - W (long)
    lo = np.where(short, ends - window, starts) - span0
    hi = np.where(short, starts, ends - window) - span0
    return np.clip(lo, 0, window), np.clip(hi, 0, window)


def default_offsets(starts, ends, window: int, seed: int = 0, chroms=None) -> np.ndarray:
    """Offsets of the window each element gets without augmentation, shape=(n,).

    Centred (``W // 2``) for elements that fit; for a longer one, a window
    inside the element drawn from a hash of ``seed`` and the element's
    coordinates (``chroms``, ``starts``, ``ends``). The draw depends on the
    element alone, not on which other elements are scored with it, so
    ``speid prepare``, ``speid score`` and the genome-wide path give one
    element the same window.
    """
    starts, ends = _as_int(starts), _as_int(ends)
    lo, hi = offset_bounds(starts, ends, window)
    out = np.full(len(starts), window // 2, dtype=np.int64)
    long_ = (ends - starts) > window
    if long_.any():
        chrom_ids = (np.zeros(len(starts), np.uint64) if chroms is None else
                     np.array([zlib.crc32(str(c).encode()) for c in np.asarray(chroms)[long_]], np.uint64))
        if chroms is not None:
            chrom_ids = _scatter(chrom_ids, long_)
        h = _mix(_mix(_mix(np.uint64(seed) ^ chrom_ids[long_]) ^ starts[long_].astype(np.uint64))
                 ^ ends[long_].astype(np.uint64))
        width = (hi[long_] - lo[long_] + 1).astype(np.uint64)
        out[long_] = lo[long_] + (h % width).astype(np.int64)
    return out


def _scatter(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    full = np.zeros(len(mask), values.dtype)
    full[mask] = values
    return full


def _mix(x) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def sample_shifts(lo, hi, n_shifts: int, rng: np.random.Generator) -> np.ndarray:
    """Random augmentation offsets, uniform in ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : shape=(n,), bounds from :func:`offset_bounds`
    n_shifts : copies per element

    Returns
    -------
    offsets : np.ndarray, shape=(n, n_shifts), int64
    """
    lo, hi = _as_int(lo), _as_int(hi)
    if n_shifts < 0:
        raise ValueError(f"number of shifts must be >= 0, got {n_shifts}")
    return rng.integers(lo[:, None], hi[:, None] + 1, size=(len(lo), n_shifts))


def _check_window(window: int) -> None:
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive number of bases, got {window!r}")
