"""How much of the demo grammar each part of a pair carries: oracle AUROCs.

An oracle scores a pair by the fraction of positives among the pairs that look
the same to it; ``demo.json`` stores them, and the learning curve computes the
pair oracle on each run's test pairs (the ceiling of the grammar).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

def oracle_aurocs(label, enhancer_class, promoter_class, compatible_classes, distance=None) -> dict:
    """AUROC of oracles that know part of the grammar.

    Each oracle scores a pair by the fraction of positives among the pairs
    that look the same to it (so it is the best score given what it knows,
    fitted on the same pairs).

    Parameters
    ----------
    label : shape=(n,), 0/1
    enhancer_class, promoter_class : shape=(n,), int, the class of the motif
        each element carries, -1 for none
    compatible_classes : iterable of int, the classes of the cell line
    distance : shape=(n,), optional; adds a ``distance`` entry (the AUROC
        of the distance itself as a score, 0.5 when negatives are matched)

    Returns
    -------
    dict with ``enhancer_class``, ``promoter_class`` (one element's class
    known), ``pair_classes`` (both known), ``pair_compatible`` (only whether
    they form a compatible pair) and optionally ``distance``.
    """
    from sklearn.metrics import roc_auc_score

    label = np.asarray(label)
    enhancer_class, promoter_class = np.asarray(enhancer_class), np.asarray(promoter_class)
    if not (label.shape == enhancer_class.shape == promoter_class.shape) or label.ndim != 1:
        raise ValueError(f"label, enhancer_class and promoter_class must be 1-d of one length, got "
                         f"{label.shape}, {enhancer_class.shape}, {promoter_class.shape}")
    if not np.isin(label, (0, 1)).all() or len(np.unique(label)) != 2:
        raise ValueError("label must hold both 0 and 1 and nothing else")
    compatible = (enhancer_class == promoter_class) & np.isin(enhancer_class, list(compatible_classes))

    def group_rate(*keys):
        frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)} | {"y": label})
        return frame.groupby([f"k{i}" for i in range(len(keys))])["y"].transform("mean").to_numpy()

    out = {
        "enhancer_class": roc_auc_score(label, group_rate(enhancer_class)),
        "promoter_class": roc_auc_score(label, group_rate(promoter_class)),
        "pair_classes": roc_auc_score(label, group_rate(enhancer_class, promoter_class)),
        "pair_compatible": roc_auc_score(label, compatible.astype(float)),
    }
    if distance is not None:
        out["distance"] = roc_auc_score(label, np.asarray(distance, dtype=float))
    return {k: round(float(v), 4) for k, v in out.items()}
