"""Scoring a pair file chromosome by chromosome, with bounded memory.

A pair file is either the candidate BEDPE of ``speid candidates``
(:mod:`speidlib.data.candidates`), read one chromosome at a time, or any pair
table :func:`speidlib.data.pairs.read_pairs` reads (TargetFinder CSV, BEDPE
with labels), grouped by chromosome, each line checked as ``speid prepare``
checks it. For each chromosome the distinct elements (by coordinates, never
by name) are numbered in genome order, their windows read once, and the pairs
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
from speidlib.data.pairs import check_within_genome, read_pairs_with_lines
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
    lines : shape=(n_pairs,), each pair's line in the pair file (None: not known)

    Elements are identified by their coordinates (on ``chrom``), never by name: two
    promoters named after one gene are two promoters.
    """

    chrom: str
    enhancers: pd.DataFrame
    promoters: pd.DataFrame
    enhancer_index: np.ndarray
    promoter_index: np.ndarray
    distance: np.ndarray
    extra: dict = field(default_factory=dict)
    lines: np.ndarray | None = None

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

    def check_within(self, genome, source: str) -> None:
        """Refuse pairs on a chromosome the genome lacks, or with an element outside its
        chromosome, naming ``source`` and the line, as ``speid prepare`` does
        (:func:`speidlib.data.pairs.check_within_genome`)."""
        genome.check_chromosomes([self.chrom], source=source)
        lines = self.lines if self.lines is not None else np.full(len(self), "?")
        spans = {branch: (table["start"].to_numpy()[i], table["end"].to_numpy()[i]) for branch, table, i in
                 (("enhancer", self.enhancers, self.enhancer_index),
                  ("promoter", self.promoters, self.promoter_index))}
        check_within_genome(genome, source, lines, np.full(len(self), self.chrom, dtype=object), spans)


def _elements(names, starts, ends, strands=None):
    """Distinct elements of one chromosome, by coordinates, in order of centre (then start, end).

    Returns the table (``name, start, end, strand``: the first name and strand each
    element has among the rows) and each row's index into it, shape=(n_rows,), int64.
    """
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    codes, _ = pd.factorize(pd.MultiIndex.from_arrays([starts, ends]))
    first = np.full(codes.max(initial=-1) + 1, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    s, e = starts[first], ends[first]
    order = np.lexsort((e, s, regions.element_centres(s, e)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    names = np.asarray(names, dtype=object).astype(str)[first]
    table = pd.DataFrame({"name": names[order], "start": s[order], "end": e[order],
                          "strand": "." if strands is None else np.asarray(strands)[first][order]})
    return table, rank[codes]


def _chromosome(chrom, en, es, ee, pn, ps, pe, pstrand=None, extra=None, lines=None) -> ChromosomePairs:
    enh, ei = _elements(en, es, ee)
    prom, pi = _elements(pn, ps, pe, pstrand)
    dist = np.abs(regions.element_centres(enh["start"].to_numpy()[ei], enh["end"].to_numpy()[ei])
                  - regions.element_centres(prom["start"].to_numpy()[pi], prom["end"].to_numpy()[pi]))
    return ChromosomePairs(chrom, enh, prom, ei, pi, dist, extra or {},
                           None if lines is None else np.asarray(lines))


def iter_chromosomes(pairs_path) -> Iterator[ChromosomePairs]:
    """The pairs of a pair file, one chromosome at a time (see the module notes)."""
    if is_candidate_file(pairs_path):
        for t in iter_candidate_chunks(pairs_path):
            yield _chromosome(t["chrom1"].iat[0], t["enhancer_name"], t["start1"], t["end1"],
                              t["promoter_name"], t["start2"], t["end2"], t["strand2"], lines=t["line"])
        return
    pairs, lines = read_pairs_with_lines(pairs_path)
    pairs["line"] = lines
    for chrom, t in pairs.groupby(schema.CHROM, sort=False):
        extra = {c: t[c].to_numpy() for c in (schema.LABEL, schema.CELL_LINE) if c in t}
        yield _chromosome(chrom, t[schema.ENHANCER_NAME], t[schema.ENHANCER_START],
                          t[schema.ENHANCER_END], t[schema.PROMOTER_NAME], t[schema.PROMOTER_START],
                          t[schema.PROMOTER_END], extra=extra, lines=t["line"])


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
