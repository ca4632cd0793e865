"""What a variant does to a link: every (variant, pair) whose window holds it, scored.

For each chromosome of the pair file (:func:`speidlib.score.genome_wide.iter_chromosomes`)
the elements get the windows ``speid score`` and ``speid prepare`` give them
(:func:`speidlib.data.regions.span_starts` plus
:func:`speidlib.data.regions.default_offsets`), every pair is scored on the
reference, and each variant whose REF span lies inside an element's window
is applied to that window:

* **SNV / MNV** (REF and ALT of one length): the bases are replaced in place;
* **indel**: the window keeps its start (left-anchored); the ALT replaces the
  REF, so the bases after the variant move: a deletion of ``k`` bp pulls the
  ``k`` bases after the window's end into it, an insertion of ``k`` bp pushes
  its last ``k`` bases out. Indels whose length change exceeds ``max_indel``
  (default 50 bp) are refused and counted; so are variants whose REF span
  crosses a window's edge (only part of them inside).

A pair is affected when the variant lies in its enhancer's window, its
promoter's, or both (``branch`` ``enhancer``, ``promoter``, ``both``). Its
alternative score runs through the projection cache
(:class:`speidlib.score.projection.ProjectionCachedScorer`: each changed
element's branch once, then one recurrence per pair); where at least
:data:`FAST_MIN_VARIANTS` single-base variants hit one window of one pair,
they go through :class:`speidlib.interpret.ism.FastISM` (only the pooled
positions a base reaches recomputed). ``cache=False`` runs every (variant,
pair) through the whole model instead (the reference, for comparison).
``enhancer_rank_before`` and
``enhancer_rank_after`` rank the pair among all its enhancer's candidates in
the pair file (1 = highest score; ties by distance), before and after the
variant, with every candidate the variant affects rescored.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data import regions
from speidlib.data.encode import encode
from speidlib.interpret.attribution import _transform
from speidlib.interpret.ism import FastISM
from speidlib.score.formats import rank_within
from speidlib.score.pairs import make_scorer

#: (variant, pair) output columns, in order
VARIANT_EFFECT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "branch", "enhancer", "promoter",
                          "ref_score", "alt_score", "delta", "logit_delta", "enhancer_rank_before",
                          "enhancer_rank_after", "enhancer_name", "promoter_name", "distance"]
#: single-base variants in one window of one pair from which :class:`FastISM` scores them
FAST_MIN_VARIANTS = 16
#: largest indel length change (bp) applied to a window by default
MAX_INDEL = 50
#: why a variant scored no pair (the summary's counts)
NO_WINDOW, EDGE, LONG_INDEL = "in no window", "across a window edge", "indel too long"


def window_starts(table: pd.DataFrame, chrom: str, window: int, seed: int) -> np.ndarray:
    """0-based window starts of a chromosome's elements, as ``speid score`` reads them, shape=(n,)."""
    return regions.span_starts(table["start"], table["end"], window) + \
        regions.default_offsets(table["start"], table["end"], window, seed, [chrom] * len(table))


def alt_window(genome, chrom: str, start: int, window: int, pos0: int, ref: str, alt: str) -> np.ndarray:
    """The window ``[start, start + window)`` with REF at 0-based ``pos0`` replaced by ALT, left-anchored.

    Returns shape=(window,) int8 codes (a deletion reads bases past the window's end).
    """
    extra = max(0, len(ref) - len(alt))
    seq = genome.fetch(chrom, start, start + window + extra)
    at = pos0 - start
    return np.concatenate([seq[:at], encode(alt), seq[at + len(ref):]])[:window]


def _hits(pos0: np.ndarray, end0: np.ndarray, starts: np.ndarray, window: int):
    """Which elements' windows hold each variant's REF span entirely, and which it only crosses.

    Returns
    -------
    variant, element : shape=(h,) each, the (variant, element) hits
    crosses : shape=(n_variants,) bool, some window holds part of the span but not all
    """
    order = np.argsort(starts, kind="stable")
    s = starts[order]
    lo = np.searchsorted(s, end0 - window, side="left")       # start >= end - window
    hi = np.searchsorted(s, pos0, side="right")               # start <= pos
    n = np.maximum(hi - lo, 0)
    variant = np.repeat(np.arange(len(pos0)), n)
    element = order[np.concatenate([np.arange(a, b) for a, b in zip(lo, hi) if b > a] or [np.empty(0, int)])]
    # windows overlapping the span: start in (pos - window, end)
    over_lo = np.searchsorted(s, pos0 - window, side="right")
    over_hi = np.searchsorted(s, end0, side="left")
    crosses = (over_hi - over_lo) > n
    return variant, element.astype(np.int64), crosses


class VariantScorer:
    """Scores the (variant, pair) effects of one chromosome at a time.

    Parameters
    ----------
    model : SPEID keras.Model
    genome : :class:`speidlib.data.genome.Genome`
    seed : the run's ``prepare`` seed (window offsets of long elements)
    max_indel : largest indel length change applied (bp)
    batch_size, threads : as :func:`speidlib.score.pairs.make_scorer`
    cache : False scores every (variant, pair) through the whole model (the reference, for
        comparison; no fast ISM path)
    """

    def __init__(self, model, genome, seed: int = 0, max_indel: int = MAX_INDEL, batch_size: int = 256,
                 threads: int | None = None, cache: bool = True):
        self.genome, self.seed, self.max_indel = genome, int(seed), int(max_indel)
        self.scorer = make_scorer(model, cache=cache, batch_size=batch_size, threads=threads)
        self.fast = FastISM(model, threads=threads) if cache else None
        inputs = {t.name: int(t.shape[1]) for t in model.inputs}
        self.windows = {b: inputs.get(name, int(model.inputs[i].shape[1]))
                        for i, (b, name) in enumerate((("enhancer", schema.ENHANCER_INPUT),
                                                       ("promoter", schema.PROMOTER_INPUT)))}

    def score_chromosome(self, cp, variants: pd.DataFrame):
        """Effects of a chromosome's variants on its pairs.

        Parameters
        ----------
        cp : :class:`speidlib.score.genome_wide.ChromosomePairs`
        variants : the chromosome's rows of :func:`speidlib.data.vcf.read_vcf`'s table

        Returns
        -------
        effects : DataFrame of ``_variant`` (the row of ``variants``) and
            :data:`VARIANT_EFFECT_COLUMNS`, in variant order, then pair order
        status : shape=(n_variants,) object, ``"scored"`` or why not (:data:`NO_WINDOW`, ...)
        """
        chrom = cp.chrom
        tables = {"enhancer": cp.enhancers, "promoter": cp.promoters}
        starts = {b: window_starts(t, chrom, self.windows[b], self.seed) for b, t in tables.items()}
        codes = {b: self.genome.fetch_many(np.full(len(t), chrom, dtype=object), starts[b], self.windows[b])
                 for b, t in tables.items()}
        e_idx, p_idx = cp.enhancer_index, cp.promoter_index
        ref_scores = self.scorer.score(codes["enhancer"], codes["promoter"], e_idx, p_idx)

        v = variants.reset_index(drop=True)
        pos0 = v["pos"].to_numpy(np.int64) - 1
        ref_len = v["ref"].str.len().to_numpy()
        change = v["alt"].str.len().to_numpy() - ref_len
        status = np.full(len(v), NO_WINDOW, dtype=object)
        too_long = np.abs(change) > self.max_indel
        status[too_long] = LONG_INDEL
        usable = np.flatnonzero(~too_long)

        # (variant, pair) rows and each row's changed element (alt row) per branch
        rows = []
        alt_codes = {"enhancer": [], "promoter": []}
        pair_of = {"enhancer": _members(e_idx, len(tables["enhancer"])),
                   "promoter": _members(p_idx, len(tables["promoter"]))}
        for b in ("enhancer", "promoter"):
            hv, he, crosses = _hits(pos0[usable], pos0[usable] + ref_len[usable], starts[b], self.windows[b])
            status[usable[crosses]] = np.where(status[usable[crosses]] == NO_WINDOW, EDGE,
                                               status[usable[crosses]])
            for vi, el in zip(usable[hv], he):
                r = v.iloc[vi]
                alt_codes[b].append(alt_window(self.genome, chrom, int(starts[b][el]), self.windows[b],
                                               int(pos0[vi]), r["ref"], r["alt"]))
                for pair in pair_of[b][el]:
                    rows.append((vi, pair, b, len(alt_codes[b]) - 1))
        if not rows:
            return pd.DataFrame(columns=["_variant", *VARIANT_EFFECT_COLUMNS]), status
        hits = pd.DataFrame(rows, columns=["variant", "pair", "branch", "alt_row"])
        wide = hits.pivot_table(index=["variant", "pair"], columns="branch", values="alt_row",
                                aggfunc="first").reset_index()
        for b in ("enhancer", "promoter"):
            if b not in wide:
                wide[b] = np.nan
        status[wide["variant"].unique()] = "scored"
        vi, pair = wide["variant"].to_numpy(), wide["pair"].to_numpy()
        alt_e, alt_p = wide["enhancer"].to_numpy(), wide["promoter"].to_numpy()
        branch = np.where(np.isnan(alt_e), "promoter", np.where(np.isnan(alt_p), "enhancer", "both"))
        alt_scores = self._alt_scores(codes, alt_codes, v, e_idx[pair], p_idx[pair], alt_e, alt_p, vi, branch,
                                      starts, pos0)

        after = _ranks_after(vi, pair, alt_scores, ref_scores, e_idx, cp.distance, pair_of["enhancer"])
        before = rank_within(e_idx, ref_scores, cp.distance)
        ref_s = ref_scores[pair]
        enh, prom = cp.enhancers, cp.promoters

        def coords(t, idx):
            return chrom + ":" + t["start"].to_numpy()[idx].astype(str) + "-" + t["end"].to_numpy()[idx].astype(str)

        out = pd.DataFrame({
            "chrom": chrom, "pos": v["pos"].to_numpy()[vi], "id": v["id"].to_numpy()[vi],
            "ref": v["ref"].to_numpy()[vi], "alt": v["alt"].to_numpy()[vi], "branch": branch,
            "enhancer": coords(enh, e_idx[pair]), "promoter": coords(prom, p_idx[pair]),
            "ref_score": ref_s, "alt_score": alt_scores, "delta": alt_scores - ref_s,
            "logit_delta": _transform(alt_scores, "logit") - _transform(ref_s, "logit"),
            "enhancer_rank_before": before[pair], "enhancer_rank_after": after,
            "enhancer_name": enh["name"].to_numpy()[e_idx[pair]],
            "promoter_name": prom["name"].to_numpy()[p_idx[pair]], "distance": cp.distance[pair],
            "_variant": vi})
        return out[["_variant", *VARIANT_EFFECT_COLUMNS]], status

    def _alt_scores(self, codes, alt_codes, v, e_rows, p_rows, alt_e, alt_p, vi, branch, starts, pos0):
        """Alternative scores of the (variant, pair) rows, shape=(r,)."""
        out = np.empty(len(vi), np.float64)
        snv = (v["ref"].str.len() == 1).to_numpy() & (v["alt"].str.len() == 1).to_numpy()
        fast = np.zeros(len(vi), bool)
        for b, alt in (("enhancer", alt_e), ("promoter", alt_p)):
            # many single-base variants in one window of one pair: FastISM
            pick = np.flatnonzero((branch == b) & snv[vi]) if self.fast is not None else []
            if not len(pick):
                continue
            owner = e_rows if b == "enhancer" else p_rows
            groups = pd.Series(pick).groupby([e_rows[pick], p_rows[pick]]).agg(list)
            for (e, p), members in groups.items():
                if len(members) < FAST_MIN_VARIANTS:
                    continue
                members = np.asarray(members)
                within = pos0[vi[members]] - starts[b][owner[members]]
                bases = encode("".join(v["alt"].to_numpy()[vi[members]]))
                ok = bases < 4
                out[members[ok]] = self.fast.score_mutants(codes["enhancer"][e], codes["promoter"][p], b,
                                                           within[ok], bases[ok])
                fast[members[ok]] = True
        rest = np.flatnonzero(~fast)
        if len(rest):
            ne, npr = len(codes["enhancer"]), len(codes["promoter"])
            all_e = np.concatenate([codes["enhancer"], *[a[None] for a in alt_codes["enhancer"]]]) \
                if alt_codes["enhancer"] else codes["enhancer"]
            all_p = np.concatenate([codes["promoter"], *[a[None] for a in alt_codes["promoter"]]]) \
                if alt_codes["promoter"] else codes["promoter"]
            er = np.where(np.isnan(alt_e[rest]), e_rows[rest], ne + np.nan_to_num(alt_e[rest]).astype(np.int64))
            pr = np.where(np.isnan(alt_p[rest]), p_rows[rest], npr + np.nan_to_num(alt_p[rest]).astype(np.int64))
            out[rest] = self.scorer.score(all_e, all_p, er, pr)
        return out


def _members(index: np.ndarray, n: int) -> list[np.ndarray]:
    """The pairs of each element: ``members[k]`` = rows with ``index == k``."""
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(n + 1))
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _ranks_after(vi, pair, alt_scores, ref_scores, e_idx, distance, pairs_of_enhancer) -> np.ndarray:
    """Each row's rank among its enhancer's candidates with the variant applied, shape=(r,)."""
    out = np.empty(len(vi), np.int64)
    frame = pd.DataFrame({"v": vi, "e": e_idx[pair], "row": np.arange(len(vi))})
    for (_, e), rows in frame.groupby(["v", "e"])["row"]:
        cands = pairs_of_enhancer[e]
        s = ref_scores[cands].copy()
        where = np.searchsorted(cands, pair[rows.to_numpy()])
        s[where] = alt_scores[rows.to_numpy()]
        ranks = rank_within(np.zeros(len(cands)), s, distance[cands])
        out[rows.to_numpy()] = ranks[where]
    return out
