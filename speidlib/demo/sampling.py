"""Pairs of the synthetic demo: grammar positives and distance-matched negatives.

:func:`sample_pairs` draws one cell line's pair table from the demo's elements
(:mod:`speidlib.demo.synthetic` places and plants them): positives join an
enhancer and a promoter of the same class of the cell line, negatives are
matched to TargetFinder's distance law (:func:`distance_law`) and mostly join
elements of different classes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# TargetFinder K562 E/P: enhancer-promoter distances 10 kb - 2 Mb, median
# 260 kb, 5-95% 50 kb - 1.6 Mb (a log-normal with log-sd 1.05). Chromosomes
# shorter than _FULL_DISTANCE_CHROM scale these down in proportion.
_DISTANCE_MIN, _DISTANCE_MEDIAN, _DISTANCE_MAX, _DISTANCE_LOG_SD = 10_000, 260_000, 2_000_000, 1.05
_FULL_DISTANCE_CHROM = 8_000_000


def distance_law(shortest_chrom: int, window: int) -> dict:
    """TargetFinder's distance law, scaled down for short chromosomes."""
    f = min(1.0, shortest_chrom / _FULL_DISTANCE_CHROM)
    lo = max(_DISTANCE_MIN * f, 4 * window)
    return {"min": lo, "median": max(_DISTANCE_MEDIAN * f, 2 * lo),
            "max": max(_DISTANCE_MAX * f, 8 * lo), "log_sd": _DISTANCE_LOG_SD}


def sample_pairs(rng, elements, classes, n_pairs, negatives_per_positive, positive_noise,
                  negative_active_fraction, negative_compatible_fraction, distance) -> pd.DataFrame:
    """One cell line's pairs: grammar positives, noise positives, matched negatives."""
    sampler = _PairSampler(rng, elements, classes, distance)
    n_pos = max(1, round(n_pairs / (1 + negatives_per_positive)))
    n_noise = round(positive_noise * n_pos)
    n_neg = n_pairs - n_pos
    rows = []
    for k in rng.integers(0, len(classes), n_pos - n_noise):
        rows.append(sampler.draw(classes[k], classes[k], None) + (1,))
    for _ in range(n_noise):
        ce, cp = sampler.negative_classes(negative_active_fraction, negative_compatible_fraction)
        rows.append(sampler.draw(ce, cp, None) + (1,))
    per_positive = np.full(n_pos, n_neg // n_pos)
    per_positive[rng.permutation(n_pos)[: n_neg % n_pos]] += 1
    for (_, _, d, _), m in zip(list(rows), per_positive):
        for _ in range(m):
            ce, cp = sampler.negative_classes(negative_active_fraction, negative_compatible_fraction)
            rows.append(sampler.draw(ce, cp, d) + (0,))
    e_idx, p_idx, dist, label = (np.array(c) for c in zip(*rows))
    enh, prom = elements.iloc[e_idx], elements.iloc[p_idx]
    table = pd.DataFrame({
        "enhancer": enh["name"].to_numpy(), "promoter": prom["name"].to_numpy(),
        "label": label.astype(int), "distance": dist,
        "enhancer_class": enh["cls"].to_numpy(), "promoter_class": prom["cls"].to_numpy(),
        "chrom_order": enh["chrom"].str[3:].astype(int).to_numpy(), "start": enh["start"].to_numpy(),
    })
    # TargetFinder lists positives first, each block in genome order.
    table = table.sort_values(["label", "chrom_order", "start", "promoter"], ascending=[False, True, True, True],
                              kind="stable").reset_index(drop=True)
    return table.drop(columns=["chrom_order", "start"])


class _PairSampler:
    """Draws enhancer-promoter pairs of given local classes at given distances.

    A cell line's *local* class of an element is its motif class if the cell
    line has that class, else -1 (inactive there).
    """

    def __init__(self, rng, elements, classes, distance):
        self.rng, self.classes, self.law = rng, tuple(classes), distance
        local = np.where(np.isin(elements["cls"], classes), elements["cls"], -1)
        is_enh = (elements["kind"] == "enhancer").to_numpy()
        chrom = elements["chrom"].to_numpy()
        centre2 = elements["centre2"].to_numpy()
        self.centre2, self.chrom = centre2, chrom
        self.promoters = {c: np.flatnonzero(~is_enh & (local == c)) for c in (-1, *classes)}
        self.enhancers = {}
        for c in (-1, *classes):
            for ch in np.unique(chrom):
                idx = np.flatnonzero(is_enh & (local == c) & (chrom == ch))
                idx = idx[np.argsort(centre2[idx], kind="stable")]
                self.enhancers[ch, c] = (centre2[idx], idx)
        for c, idx in self.promoters.items():
            if len(idx) == 0:
                raise ValueError(f"the demo genome has no promoter of local class {c}; "
                                 "raise n_pairs or lower element_active_fraction")
        self.used = set()

    def negative_classes(self, active_fraction, compatible_fraction) -> tuple[int, int]:
        rng, classes = self.rng, self.classes
        if rng.random() < compatible_fraction:
            k = classes[rng.integers(len(classes))]
            return k, k
        while True:
            ce = classes[rng.integers(len(classes))] if rng.random() < active_fraction else -1
            cp = classes[rng.integers(len(classes))] if rng.random() < active_fraction else -1
            if ce != cp or ce == -1:
                return ce, cp

    def draw(self, ce: int, cp: int, target: float | None) -> tuple[int, int, int]:
        """One new pair (enhancer index, promoter index, distance).

        ``target=None`` draws the distance from the log-normal law; a number
        asks for a distance within 10% of it. Where 50 random promoters offer
        none, every promoter is searched with a tolerance doubled in turn
        (needed only in tiny demos).
        """
        promoters = self.promoters[cp]
        for _ in range(50):
            p = promoters[self.rng.integers(len(promoters))]
            if (e := self._pick(ce, p, target, 0.1)) is not None:
                return self._take(e, p)
        for tol in (0.2, 0.4, 0.8, 1.6, np.inf):
            for p in promoters[self.rng.permutation(len(promoters))]:
                if (e := self._pick(ce, p, target, tol)) is not None:
                    return self._take(e, p)
        raise ValueError(f"found no new pair of enhancer class {ce} and promoter class {cp}"
                         + ("" if target is None else f" near {target} bp") + "; raise n_pairs")

    def _pick(self, ce, p, target, tol):
        """An enhancer of local class ``ce`` at a fitting distance from promoter ``p``, or None."""
        law, rng = self.law, self.rng
        centres, idx = self.enhancers[self.chrom[p], ce]
        c2 = self.centre2[p]
        if target is None:
            lo, hi = 2 * law["min"], 2 * law["max"]
        else:
            lo, hi = 2 * target * np.exp(-tol), 2 * target * np.exp(tol)
        left = idx[np.searchsorted(centres, c2 - hi):np.searchsorted(centres, c2 - lo, "right")]
        right = idx[np.searchsorted(centres, c2 + lo):np.searchsorted(centres, c2 + hi, "right")]
        cand = np.concatenate([left, right])
        if len(cand) == 0:
            return None
        if target is None:  # weight by the law's density; candidates lie evenly in bp
            d = np.abs(self.centre2[cand] - c2) / 2
            z = (np.log(d) - np.log(law["median"])) / law["log_sd"]
            cum = np.cumsum(np.exp(-0.5 * z * z) / d)
        for _ in range(min(5, len(cand))):
            if target is None:
                e = cand[min(np.searchsorted(cum, rng.random() * cum[-1], "right"), len(cand) - 1)]
            else:
                e = cand[rng.integers(len(cand))]
            if (e, p) not in self.used:
                return e
        return next((e for e in cand if (e, p) not in self.used), None)

    def _take(self, e, p) -> tuple[int, int, int]:
        self.used.add((e, p))
        return int(e), int(p), int(abs(self.centre2[e] - self.centre2[p]) // 2)
