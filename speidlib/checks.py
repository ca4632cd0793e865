"""Input checks shared by every step: each raises ValueError with a sentence a user understands.

Checks that belong to one module's own inputs stay in that module; the ones
here are used across sub-packages (labels and scores, pair tables, branch
names).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from speidlib import schema


def labels_scores(y, s, name: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """Validate 0/1 labels and finite scores of equal length.

    Parameters
    ----------
    y : array-like, shape=(n,), 0/1 labels (1 = interacting)
    s : array-like, shape=(n,), scores
    name : what the labels are called in error messages

    Returns
    -------
    y : np.ndarray, shape=(n,), int8
    s : np.ndarray, shape=(n,), float64
    """
    y = np.asarray(y)
    s = np.asarray(s, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"{name} and scores must be 1-D arrays, got shapes {y.shape} and {s.shape}")
    if y.shape != s.shape:
        raise ValueError(f"{name} and scores differ in length: {y.shape[0]} labels, {s.shape[0]} scores")
    if y.size == 0:
        raise ValueError(f"{name} are empty: there is nothing to evaluate")
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:5]
        raise ValueError(f"{name} must be 0 or 1 (1 = interacting), found {bad.tolist()}")
    if not np.isfinite(s).all():
        raise ValueError(f"scores contain {int((~np.isfinite(s)).sum())} NaN or infinite values")
    return y.astype(np.int8), s


def both_classes(y: np.ndarray, what: str) -> None:
    """Raise unless the 0/1 labels ``y`` (shape=(n,)) hold both classes."""
    n_pos = int(np.sum(y))
    if n_pos == 0 or n_pos == len(y):
        cls = "positive" if n_pos == 0 else "negative"
        raise ValueError(f"{what} needs both classes, but the {len(y)} labels hold no {cls} pair")


def pair_table(pairs, needed=(schema.LABEL, schema.CHROM, schema.ENHANCER_NAME,
                              schema.PROMOTER_NAME)) -> None:
    """Raise unless ``pairs`` is a non-empty pair table with 0/1 labels and the ``needed`` columns."""
    if not isinstance(pairs, pd.DataFrame):
        raise ValueError(f"pairs must be a pandas DataFrame (see speidlib.data.pairs.read_pairs), "
                         f"not {type(pairs).__name__}")
    missing = [c for c in needed if c not in pairs.columns]
    if missing:
        raise ValueError(f"pair table lacks column(s) {', '.join(missing)}")
    if len(pairs) == 0:
        raise ValueError("pair table has no rows")
    if schema.LABEL in pairs.columns and not pairs[schema.LABEL].isin([0, 1]).all():
        raise ValueError("label must be 0 or 1 in every row")


def branch(name: str) -> str:
    """``name`` if it is ``"enhancer"`` or ``"promoter"``, else a ValueError."""
    if name not in schema.BRANCHES:
        raise ValueError(f"branch must be one of {schema.BRANCHES}, got {name!r}")
    return name


def numeric_columns(df: pd.DataFrame, columns, where, hint: str = "") -> None:
    """Convert ``columns`` of ``df`` to numbers in place; a located error at the first that is not.

    ``where(row)`` names the 0-based table row in the message (e.g. file and line);
    ``hint`` ends it (what to do).
    """
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise ValueError(f"{where(row)}: column {col!r} must be a number, "
                             f"got {df[col].iloc[row]!r}.{' ' + hint if hint else ''}")
        df[col] = values
