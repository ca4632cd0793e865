"""Scoring a pair file chromosome by chromosome, with bounded memory.

A pair file is either the candidate BEDPE of ``speid candidates``
(:mod:`speidlib.data.candidates`), read one chromosome at a time, or any pair
table :func:`speidlib.data.pairs.read_pairs` reads (TargetFinder CSV, BEDPE
with labels), grouped by chromosome. For each chromosome the distinct
elements are numbered in genome order, their windows read once, and the pairs
scored by :class:`speidlib.score.projection.ProjectionCachedScorer` (or, with
``cache=False``, per pair through the whole model); the links table of the
chromosome, with ranks, is appended to the output.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data import regions
from speidlib.data.candidates import is_candidate_file, iter_candidate_chunks
from speidlib.data.pairs import read_pairs
from speidlib.score.formats import PROMOTER_STRAND, add_ranks


@dataclass
class ChromosomePairs:
    """The pairs of one chromosome over its distinct elements.

    Attributes
    ----------
    chrom : str
    enhancers : DataFrame (name, start, end), in order of centre
    promoters : DataFrame (name, start, end, strand), in order of centre
    enhancer_index, promoter_index : shape=(n_pairs,), int64, rows of the tables
    distance : shape=(n_pairs,), int64, bp between centres
    extra : per-pair columns carried to the output (e.g. ``label``)
    """

    chrom: str
    enhancers: pd.DataFrame
    promoters: pd.DataFrame
    enhancer_index: np.ndarray
    promoter_index: np.ndarray
    distance: np.ndarray
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.enhancer_index)

    def links(self, scores: np.ndarray) -> pd.DataFrame:
        """The links table of these pairs (:data:`speidlib.score.formats.LINK_COLUMNS`) with ranks."""
        e, p = self.enhancer_index, self.promoter_index
        links = pd.DataFrame({
            schema.CHROM: self.chrom,
            schema.ENHANCER_NAME: self.enhancers["name"].to_numpy()[e],
            schema.ENHANCER_START: self.enhancers["start"].to_numpy()[e],
            schema.ENHANCER_END: self.enhancers["end"].to_numpy()[e],
            schema.PROMOTER_NAME: self.promoters["name"].to_numpy()[p],
            schema.PROMOTER_START: self.promoters["start"].to_numpy()[p],
            schema.PROMOTER_END: self.promoters["end"].to_numpy()[p],
            PROMOTER_STRAND: self.promoters["strand"].to_numpy()[p],
            schema.DISTANCE: self.distance, schema.SCORE: scores, **self.extra})
        return add_ranks(links)


def _elements(names, starts, ends, strands=None):
    """Distinct elements in order of centre, and each row's index into them."""
    uniq, first, inv = np.unique(np.asarray(names, dtype=object).astype(str), return_index=True,
                                 return_inverse=True)
    starts, ends = np.asarray(starts, dtype=np.int64)[first], np.asarray(ends, dtype=np.int64)[first]
    order = np.lexsort((uniq, regions.element_centres(starts, ends)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    table = pd.DataFrame({"name": uniq[order], "start": starts[order], "end": ends[order],
                          "strand": "." if strands is None else np.asarray(strands)[first][order]})
    return table, rank[inv.reshape(-1)]


def _chromosome(chrom, en, es, ee, pn, ps, pe, pstrand=None, extra=None) -> ChromosomePairs:
    enh, ei = _elements(en, es, ee)
    prom, pi = _elements(pn, ps, pe, pstrand)
    dist = np.abs(regions.element_centres(enh["start"].to_numpy()[ei], enh["end"].to_numpy()[ei])
                  - regions.element_centres(prom["start"].to_numpy()[pi], prom["end"].to_numpy()[pi]))
    return ChromosomePairs(chrom, enh, prom, ei, pi, dist, extra or {})


def iter_chromosomes(pairs_path) -> Iterator[ChromosomePairs]:
    """The pairs of a pair file, one chromosome at a time (see the module notes)."""
    if is_candidate_file(pairs_path):
        for t in iter_candidate_chunks(pairs_path):
            yield _chromosome(t["chrom1"].iat[0], t["enhancer_name"], t["start1"], t["end1"],
                              t["promoter_name"], t["start2"], t["end2"], t["strand2"])
        return
    pairs = read_pairs(pairs_path)
    for chrom, t in pairs.groupby(schema.CHROM, sort=False):
        extra = {c: t[c].to_numpy() for c in (schema.LABEL, schema.CELL_LINE) if c in t}
        yield _chromosome(chrom, t[schema.ENHANCER_NAME], t[schema.ENHANCER_START],
                          t[schema.ENHANCER_END], t[schema.PROMOTER_NAME], t[schema.PROMOTER_START],
                          t[schema.PROMOTER_END], extra=extra)


def chromosome_windows(cp: ChromosomePairs, genome, enhancer_window: int, promoter_window: int,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Default windows of a chromosome's elements (as in ``speid prepare``).

    Elements that fit their window are centred; a longer one gets the window
    :func:`speidlib.data.regions.default_offsets` draws from ``seed`` and its
    coordinates, as ``speid prepare`` does.

    Returns
    -------
    enhancer_codes : shape=(n_enhancers, We) int8; promoter_codes : shape=(n_promoters, Wp) int8
    """
    out = []
    for table, w in ((cp.enhancers, enhancer_window), (cp.promoters, promoter_window)):
        start = regions.span_starts(table["start"], table["end"], w) + \
            regions.default_offsets(table["start"], table["end"], w, seed, [cp.chrom] * len(table))
        out.append(genome.fetch_many(np.full(len(table), cp.chrom, dtype=object), start, w))
    return out[0], out[1]
