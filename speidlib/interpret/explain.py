"""One pair explained: the stretches that carry its contributions, their JASPAR matches, and
what scrambling them does to the score (notebook 08, "explain a link").

Works on the :class:`speidlib.interpret.contributions.Contributions` of one pair
(row 0). The demo's planted sites (``elements.csv``) can be placed in window
coordinates with :func:`planted_sites` to set beside them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data.encode import BASES, one_hot
from speidlib.data.jaspar import get_motif
from speidlib.demo.sites import planted_sites as demo_planted_sites
from speidlib.interpret.contributions import dinucleotide_shuffle
from speidlib.interpret.matching import tomtom_matches


def top_stretches(actual: np.ndarray, width: int = 15, n: int = 3) -> list[tuple[int, int, float]]:
    """The ``n`` non-overlapping ``width``-bp stretches with the largest summed contribution.

    actual : shape=(W,), one pair's actual contributions in one window
    Returns ``[(start, end, total), ...]``, largest first.
    """
    sums = np.convolve(np.asarray(actual, np.float64), np.ones(width), mode="valid")
    taken = np.zeros(len(actual), bool)
    out = []
    for start in np.argsort(-sums, kind="stable"):
        if len(out) == n:
            break
        if not taken[start:start + width].any():
            taken[start:start + width] = True
            out.append((int(start), int(start + width), float(sums[start])))
    return out


def stretch_pfm(hypothetical: np.ndarray, pseudocount: float = 0.05) -> np.ndarray:
    """A PFM from hypothetical contributions, shape=(w, 4): each row's positive part, normalised
    (a pseudocount keeps rows with no positive value uniform)."""
    pos = np.clip(np.asarray(hypothetical, np.float64), 0, None)
    pos = pos / np.maximum(pos.max(), 1e-12) + pseudocount
    return pos / pos.sum(axis=1, keepdims=True)


def explain_stretches(contrib, codes: dict, targets=None, width: int = 15, n: int = 3) -> pd.DataFrame:
    """The top stretches of both windows of pair 0 with their best JASPAR match.

    contrib : :class:`~speidlib.interpret.contributions.Contributions`
    codes : branch -> shape=(1, W) or (W,) int8 codes of the pair's windows
    targets : JASPAR motifs (default the project's release)

    Returns DataFrame ``branch, start, end, sequence, contribution, share, best_match, evalue``;
    ``share`` is the stretch's part of its window's total contribution.
    """
    rows, queries = [], {}
    for b in schema.BRANCHES:
        actual = getattr(contrib, f"{b}_actual")[0]
        hyp = getattr(contrib, f"{b}_hypothetical")[0]
        seq = np.asarray(codes[b]).reshape(-1)
        for start, end, total in top_stretches(actual, width, n):
            name = f"{b}:{start}"
            queries[name] = stretch_pfm(hyp[start:end])
            rows.append({"branch": b, "start": start, "end": end,
                         "sequence": "".join(BASES[c] if c < 4 else "N" for c in seq[start:end]),
                         "contribution": total, "share": total / actual.sum() if actual.sum() else np.nan,
                         "query": name})
    m = tomtom_matches(queries, targets, n_best=1, keep_evalue=0.0, n_jobs=1)
    best = m[m["rank"] == 1].set_index("query")
    df = pd.DataFrame(rows)
    df["best_match"] = df["query"].map(best["target_name"])
    df["evalue"] = df["query"].map(best["evalue"])
    return df.drop(columns="query")


def planted_sites(elements: pd.DataFrame, chrom: str, start: int, end: int, window_start: int,
                  window: int) -> pd.DataFrame:
    """The demo's planted sites of one element in window coordinates.

    elements : the demo's ``elements.csv``; the element is found by ``chrom, start, end``
    Returns DataFrame ``start, end, motif_name, strand`` (empty when the element has none).
    """
    el = elements[(elements["chrom"] == chrom) & (elements["start"] == start) & (elements["end"] == end)]
    rows = []
    if len(el) and isinstance(el["sites"].iat[0], str) and el["sites"].iat[0]:
        motif = get_motif(el["motif_id"].iat[0])
        for site in el["sites"].iat[0].split(";"):
            pos, strand = site.split(":")
            s = int(pos) - window_start
            if 0 <= s < window:
                rows.append({"start": s, "end": s + motif.length, "motif_name": motif.name, "strand": strand})
    return pd.DataFrame(rows, columns=["start", "end", "motif_name", "strand"])


def scramble_effect(score, enhancer_codes, promoter_codes, branch: str, start: int, end: int,
                    n: int = 8, seed: int = 0) -> dict:
    """Logit change when ``[start, end)`` of one window is dinucleotide-shuffled, beside a
    control stretch of the same length elsewhere in that window (``n`` shuffles each, mean).

    score : ``(enhancer_onehot (n, We, 4), promoter_onehot (n, Wp, 4)) -> probabilities (n,)``
    Returns dict ``stretch`` and ``control`` (mean logit change) and ``control_start``.
    """
    rng = np.random.default_rng(seed)
    codes = {"enhancer": np.asarray(enhancer_codes).reshape(-1), "promoter": np.asarray(promoter_codes).reshape(-1)}
    w, length = len(codes[branch]), end - start
    far = [s for s in range(0, w - length, length) if s + length <= start - length or s >= end + length]
    control = int(rng.choice(far)) if far else 0

    def logit(e, p):
        prob = np.clip(np.asarray(score(one_hot(e), one_hot(p)), np.float64).reshape(-1), 1e-7, 1 - 1e-7)
        return np.log(prob) - np.log(1 - prob)

    base = logit(codes["enhancer"][None], codes["promoter"][None])[0]
    out = {"control_start": control}
    for key, s in (("stretch", start), ("control", control)):
        mut = np.repeat(codes[branch][None], n, axis=0)
        mut[:, s:s + length] = dinucleotide_shuffle(codes[branch][s:s + length], n, rng)
        other = np.repeat(codes["promoter" if branch == "enhancer" else "enhancer"][None], n, axis=0)
        e, p = (mut, other) if branch == "enhancer" else (other, mut)
        out[key] = float(logit(e, p).mean() - base)
    return out


def site_masks(store, copies: pd.DataFrame, branch: str, rows) -> np.ndarray:
    """shape=(n, W) bool: positions of the stored windows ``rows`` of a contributions store
    (:class:`speidlib.interpret.contrib_store.ContributionStore`) inside a planted copy of the
    pair's element; ``copies``: :func:`speidlib.demo.sites.planted_sites` of the demo."""
    spans = {el: g[["start", "end"]].to_numpy() for el, g in copies.groupby("element")}
    starts = store.read(branch, "window_start", rows)
    p = store.pairs.iloc[rows]
    mask = np.zeros((len(rows), store.windows[branch]), bool)
    for i, (chrom, s, e, ws) in enumerate(zip(p[schema.CHROM], p[f"{branch}_start"], p[f"{branch}_end"], starts)):
        for a, b in spans.get(f"{chrom}:{int(s)}-{int(e)}", ()):
            mask[i, max(a - ws, 0):max(b - ws, 0)] = True
    return mask


def site_enrichment(store, demo_dir, top: float = 0.01) -> dict:
    """How much more often the ``top`` share of positions by |contribution| lies in the demo's
    planted copies than window positions do, over a store's positive pairs.

    Returns branch -> {top_share, site_share, enrichment, n_pairs, n_top}.
    """
    rows = np.flatnonzero(store.pairs[schema.LABEL].to_numpy() == 1)
    if not len(rows):
        raise ValueError(f"{store.path} holds no positive pair: no planted sites to count")
    copies = demo_planted_sites(demo_dir)
    out = {}
    for b in schema.BRANCHES:
        mask = site_masks(store, copies, b, rows)
        score = np.abs(store.read(b, "actual", rows))
        n_top = max(1, int(round(top * score.size)))
        cut = np.partition(score.ravel(), -n_top)[-n_top]
        chosen = score >= cut
        top_share = float(mask[chosen].mean())
        site_share = float(mask.mean())
        out[b] = {"top_share": top_share, "site_share": site_share,
                  "enrichment": top_share / site_share if site_share else float("nan"),
                  "n_pairs": int(len(rows)), "n_top": int(chosen.sum())}
    return out
