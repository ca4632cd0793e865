"""Numeric option types for the ``speid`` command line: a number out of range is refused at
the door, by argparse, in one line naming the option (``speid train: error: argument
--pretrain-epochs: must be a whole number >= 1, got -1``), before any step starts.

Each is an ``argparse`` ``type=`` function; argparse turns its ``ArgumentTypeError`` into
the one-line usage error. They sit at the bottom layer, beside :mod:`speidlib.options`, so
that each step's options dataclass names its fields' types where it declares them. Ranges are the meaningful ones: counts of things that must
happen at least once (epochs, batch sizes, threads, windows) are >= 1, counts that may be
none (bootstrap resamples, augmentation copies, null draws) >= 0, shares in (0, 1).
"""
from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "nonneg_int", "fraction", "share", "unit_interval", "open_fraction", "csv_list"]


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (epochs, batch sizes, threads, windows in bp, counts of things)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return value


def nonneg_int(text: str) -> int:
    """A whole number >= 0 (bootstrap resamples, augmentation copies, seeds, distances in bp)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value}")
    return value


def fraction(text: str) -> float:
    """A share strictly between 0 and 1 (the test split's share of the pairs)."""
    value = _real(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (both excluded), got {text}")
    return value


def share(text: str) -> float:
    """A share from 0 (none) up to, not including, 1 (the validation split's share)."""
    value = _real(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 up to 1 (1 excluded), got {text}")
    return value


def unit_interval(text: str) -> float:
    """A share from 0 to 1, both included (the share of negatives made partner swaps)."""
    value = _real(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text}")
    return value


def open_fraction(text: str) -> float:
    """A share above 0 and up to 1 (a fraction of a kernel's maximum activation)."""
    value = _real(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number above 0 and at most 1, got {text}")
    return value


def csv_list(text: str) -> list[str]:
    """Comma-separated names (chromosomes), blanks dropped: ``chr1, chr2`` -> ``["chr1", "chr2"]``."""
    return [t.strip() for t in text.split(",") if t.strip()]
