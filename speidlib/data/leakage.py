"""How much a held-out set shares with training: elements, positives, distances.

TargetFinder pairs reuse elements: one promoter sits in many pairs, often as
a positive in several. A random pair split then puts most test promoters in
training too, and a model can score a test pair by recognising its promoter
rather than by reading the pair. :func:`leakage_report` measures that for
each held-out side (``valid``, ``test``) against ``train``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from speidlib import checks
from speidlib import schema as S
from speidlib.data.pairs import element_keys
from speidlib.data.splits import as_split_names

__all__ = ["leakage_report", "LeakageReport", "QUANTILES"]

QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)

# overlap columns and how __str__ words them
_WORDS = {
    "enhancers_in_train": "distinct enhancers also in training",
    "promoters_in_train": "distinct promoters also in training",
    "positive_promoter_in_other_pair": "positives whose promoter is in another pair",
    "positive_promoter_in_train_pair": "positives whose promoter is in a training pair",
    "positive_promoter_train_positive": "positives whose promoter is a training positive",
    "positive_enhancer_in_other_pair": "positives whose enhancer is in another pair",
    "positive_enhancer_in_train_pair": "positives whose enhancer is in a training pair",
    "positive_enhancer_train_positive": "positives whose enhancer is a training positive",
}


@dataclass
class LeakageReport:
    """Element sharing between held-out sides and training, and distance distributions.

    Attributes
    ----------
    overlap : pandas.DataFrame
        One row per held-out side present (``valid``, ``test``). Columns:
        ``pairs, positives``; ``enhancers`` and ``promoters`` (distinct in
        that side), ``enhancers_in_train`` / ``promoters_in_train`` (how many
        of them also occur in a training pair) and ``*_fraction`` of those;
        and, as fractions of the side's positives, ``positive_<element>_in_
        other_pair`` (the element occurs in any other pair of the table),
        ``positive_<element>_in_train_pair`` (in a training pair) and
        ``positive_<element>_train_positive`` (in a training positive), for
        ``<element>`` = ``promoter`` and ``enhancer``.
    distance : pandas.DataFrame
        Enhancer-promoter distance (bp) per ``(split, label)``: ``n``,
        ``mean`` and the quantiles in :data:`QUANTILES` (columns ``q0`` ...
        ``q100``).
    """

    overlap: pd.DataFrame
    distance: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The overlap table (one row per held-out side)."""
        return self.overlap.copy()

    def to_dict(self) -> dict:
        """JSON-ready nested dict: ``{"overlap": {side: {...}}, "distance": {split: {label: {...}}}}``."""
        def clean(x):
            x = x.item() if isinstance(x, np.generic) else x
            return None if isinstance(x, float) and math.isnan(x) else x

        overlap = {side: {k: clean(v) for k, v in row.items()}
                   for side, row in self.overlap.to_dict("index").items()}
        distance: dict = {}
        for (split, label), row in self.distance.to_dict("index").items():
            distance.setdefault(split, {})[str(label)] = {k: clean(v) for k, v in row.items()}
        return {"overlap": overlap, "distance": distance}

    def __str__(self) -> str:
        lines = ["Leakage report (held-out sides against training)"]
        for side in self.overlap.index:
            row = self.overlap.loc[side].to_dict()
            lines.append(f"{side}: {int(row['pairs']):,} pairs, {int(row['positives']):,} positives")
            for which in ("enhancers", "promoters"):
                lines.append(f"  {_WORDS[which + '_in_train']:<48} {int(row[which + '_in_train']):>7,}"
                             f" of {int(row[which]):,} ({_pct(row[which + '_in_train_fraction'])})")
            for key, words in _WORDS.items():
                if key.startswith("positive_"):
                    lines.append(f"  {words:<48} {_pct(row[key]):>7}")
        lines.append("Enhancer-promoter distance (bp) by split and label:")
        lines.append(self.distance.round(0).to_string())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return ("<h4>Leakage report</h4><p>Held-out sides against training (fractions are of "
                "distinct elements or of the side's positives).</p>"
                + self.overlap.T.to_html(float_format=lambda x: f"{x:.3f}")
                + "<p>Enhancer-promoter distance (bp) by split and label</p>"
                + self.distance.to_html(float_format=lambda x: f"{x:,.0f}"))

    def __repr__(self) -> str:
        return str(self)


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def leakage_report(pairs: pd.DataFrame, split) -> LeakageReport:
    """Measure what each held-out side shares with training.

    Parameters
    ----------
    pairs : pandas.DataFrame, shape=(n_pairs, ...)
        A pair table (``read_pairs``) with ``distance``.
    split : array-like, shape=(n_pairs,)
        ``train``/``valid``/``test`` names or ``schema.SPLIT_CODES`` ints.

    Elements are identified by chromosome and coordinates
    (:func:`speidlib.data.pairs.element_keys`), never by name.

    Returns
    -------
    LeakageReport
    """
    checks.pair_table(pairs)
    if S.DISTANCE not in pairs.columns:
        raise ValueError(f"pair table lacks column {S.DISTANCE}")
    split = as_split_names(split, len(pairs))
    label = pairs[S.LABEL].to_numpy()
    train, positive = split == S.TRAIN, label == 1
    rows = {}
    for side in (S.VALID, S.TEST):
        held = split == side
        if not held.any():
            continue
        row = {"pairs": int(held.sum()), "positives": int((held & positive).sum())}
        for which in S.BRANCHES:
            names = pd.Series(element_keys(pairs, which))  # by coordinates; names are labels
            in_train = names.isin(set(names[train])).to_numpy()
            in_train_positive = names.isin(set(names[train & positive])).to_numpy()
            in_other_pair = names.duplicated(keep=False).to_numpy()
            distinct = names[held].unique()
            n_shared = int(pd.Series(distinct).isin(set(names[train])).sum())
            row[f"{which}s"] = len(distinct)
            row[f"{which}s_in_train"] = n_shared
            row[f"{which}s_in_train_fraction"] = n_shared / len(distinct)
            held_pos = held & positive
            for key, mask in (("in_other_pair", in_other_pair), ("in_train_pair", in_train),
                              ("train_positive", in_train_positive)):
                row[f"positive_{which}_{key}"] = (float(mask[held_pos].mean()) if held_pos.any()
                                                  else float("nan"))
        rows[side] = row
    overlap = pd.DataFrame.from_dict(rows, orient="index")
    overlap.index.name = S.SPLIT
    return LeakageReport(overlap=overlap, distance=_distance_table(pairs, split))


def _distance_table(pairs, split) -> pd.DataFrame:
    df = pd.DataFrame({S.SPLIT: split, S.LABEL: pairs[S.LABEL].to_numpy(),
                       S.DISTANCE: pairs[S.DISTANCE].to_numpy()})
    g = df.groupby([S.SPLIT, S.LABEL])[S.DISTANCE]
    table = g.quantile(list(QUANTILES)).unstack()
    table.columns = [f"q{round(q * 100)}" for q in QUANTILES]
    table.insert(0, "mean", g.mean())
    table.insert(0, "n", g.size())
    order = [s for s in S.SPLIT_CODES if s in set(split)]
    return table.reindex(order, level=0)
