"""Candidate enhancer-promoter pairs from two BED files, streamed per chromosome.

Every enhancer is paired with every promoter on its chromosome whose centre
lies within ``max_distance`` bp of the enhancer's centre (``centre = (start +
end) // 2``, as in :mod:`speidlib.data.pairs`; a promoter given as a 1-bp TSS
is centred on it). Pairs whose elements overlap are skipped and counted.
Pairs are produced with numpy, one chromosome (and at most ``chunk_pairs``
pairs) at a time, and written as BEDPE, so millions of candidates never sit in
memory as Python objects.

The candidate BEDPE (:data:`CANDIDATE_COLUMNS`, a ``#`` header line naming
them) is read back by :func:`iter_candidate_chunks`.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib.argtypes import nonneg_int
from speidlib.data.pairs import read_bedpe_block
from speidlib.data.regions import element_centres
from speidlib.io import open_output, open_text
from speidlib.options import option

CANDIDATE_COLUMNS = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score",
                     "strand1", "strand2", "enhancer_name", "promoter_name", "distance"]
_SKIP = ("track", "browser", "#")


def read_bed(path: str | os.PathLike, kind: str = "element") -> pd.DataFrame:
    """Read a BED file of elements (plain or gzip).

    Parameters
    ----------
    path : BED with 3+ tab-separated columns ``chrom start end [name [score [strand]]]``;
        blank, ``track``, ``browser`` and ``#`` lines are skipped, and a byte-order mark
    kind : what the elements are, for messages (``"enhancer"``, ``"promoter"``)

    Returns
    -------
    pandas.DataFrame, shape=(n, 5), columns ``chrom, start, end, name, strand`` in file
    order; missing names become ``chrom:start-end``, missing strands ``"."``.

    Raises
    ------
    ValueError
        ``"<file>, line <n>: <problem>"`` for fewer than 3 columns, a coordinate that
        is not a non-negative integer, ``end <= start``, a strand other than
        ``+ - .``, a repeated name, or a file without elements.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{kind} BED {path} does not exist")
    chroms, starts, ends, names, strands = [], [], [], [], []
    seen: dict[str, int] = {}
    try:
        with open_text(path) as f:
            for no, line in enumerate(f, 1):
                text = line.rstrip("\r\n")
                if not text.strip() or text.startswith(_SKIP):
                    continue
                fields = text.split("\t") if "\t" in text else text.split()
                where = f"{path.name}, line {no}"
                if len(fields) < 3:
                    raise ValueError(f"{where}: found {len(fields)} column(s); a BED line needs "
                                     "chrom, start and end separated by tabs")
                try:
                    start, end = int(fields[1]), int(fields[2])
                except ValueError:
                    raise ValueError(f"{where}: start {fields[1]!r} and end {fields[2]!r} must be "
                                     "integers (0-based, half-open)") from None
                if start < 0 or end <= start:
                    raise ValueError(f"{where}: needs 0 <= start < end, got start {start}, end {end}")
                name = fields[3].strip() if len(fields) > 3 and fields[3].strip() not in ("", ".") \
                    else f"{fields[0]}:{start}-{end}"
                strand = fields[5].strip() if len(fields) > 5 else "."
                if strand not in ("+", "-", "."):
                    raise ValueError(f"{where}: strand (column 6) must be +, - or ., got {strand!r}")
                if name in seen:
                    raise ValueError(f"{where}: {kind} name {name!r} was already used on line "
                                     f"{seen[name]}; names must be unique")
                seen[name] = no
                chroms.append(fields[0])
                starts.append(start)
                ends.append(end)
                names.append(name)
                strands.append(strand)
    except (UnicodeDecodeError, OSError, EOFError) as e:
        raise ValueError(f"{path.name}: not a readable text BED file ({e})") from None
    if not chroms:
        raise ValueError(f"{path.name}: no {kind} lines (only blank, track, browser or # lines)")
    return pd.DataFrame({"chrom": chroms, "start": np.asarray(starts, dtype=np.int64),
                         "end": np.asarray(ends, dtype=np.int64), "name": names, "strand": strands})


def _show(names) -> str:
    names = sorted(names)
    return ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")


def check_chromosomes(enhancers: pd.DataFrame, promoters: pd.DataFrame, genome_chroms=None,
                      sources=("enhancers", "promoters")) -> None:
    """Fail when the two files (or a file and the genome) name chromosomes differently.

    Raises ValueError, naming both sets, when the enhancers and promoters share no
    chromosome (``"1"`` vs ``"chr1"``), or when either file uses a chromosome that
    ``genome_chroms`` lacks.
    """
    e, p = set(enhancers["chrom"]), set(promoters["chrom"])
    if not e & p:
        raise ValueError(f"{sources[0]} and {sources[1]} share no chromosome: {sources[0]} use "
                         f"{_show(e)}; {sources[1]} use {_show(p)} (e.g. '1' vs 'chr1'?)")
    if genome_chroms is not None:
        g = set(genome_chroms)
        for source, chroms in zip(sources, (e, p)):
            if chroms - g:
                raise ValueError(f"{source} use chromosome(s) {_show(chroms - g)} that the genome "
                                 f"lacks; the genome has {_show(g)}")


def candidate_chunks(enhancers: pd.DataFrame, promoters: pd.DataFrame, max_distance: int,
                     chunk_pairs: int = 1_000_000, counts: dict | None = None) -> Iterator[pd.DataFrame]:
    """Candidate pairs, chromosome by chromosome, at most about ``chunk_pairs`` rows at a time.

    Parameters
    ----------
    enhancers, promoters : tables from :func:`read_bed`
    max_distance : largest ``|enhancer centre - promoter centre|`` in bp (inclusive)
    chunk_pairs : rows per yielded chunk (one enhancer's candidates are never split)
    counts : optional dict, filled with ``n_pairs``, ``n_overlapping`` (pairs skipped
        because the elements overlap) and ``per_chrom`` (pairs per chromosome)

    Yields
    ------
    pandas.DataFrame with columns :data:`CANDIDATE_COLUMNS`; chromosomes in the enhancer
    file's order of first appearance, within one sorted by enhancer centre, then
    promoter centre.
    """
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0 bp, got {max_distance}")
    counts = counts if counts is not None else {}
    counts.update(n_pairs=0, n_overlapping=0, per_chrom={})
    prom_by_chrom = {c: g for c, g in promoters.groupby("chrom", sort=False)}
    for chrom, enh in enhancers.groupby("chrom", sort=False):
        prom = prom_by_chrom.get(chrom)
        counts["per_chrom"][chrom] = 0
        if prom is None:
            continue
        ec = element_centres(enh["start"], enh["end"])
        eo = np.argsort(ec, kind="stable")
        pc = element_centres(prom["start"], prom["end"])
        po = np.argsort(pc, kind="stable")
        pcs = pc[po]
        lo = np.searchsorted(pcs, ec[eo] - max_distance, side="left")
        hi = np.searchsorted(pcs, ec[eo] + max_distance, side="right")
        n_per = hi - lo
        bounds = np.concatenate([[0], np.cumsum(n_per)])
        cuts = [0]
        while cuts[-1] < len(eo):  # groups of whole enhancers, about chunk_pairs pairs each
            nxt = int(np.searchsorted(bounds, bounds[cuts[-1]] + chunk_pairs, side="right")) - 1
            cuts.append(min(len(eo), max(nxt, cuts[-1] + 1)))
        for a, b in itertools.pairwise(cuts):
            k = n_per[a:b]
            ei = np.repeat(eo[a:b], k)
            offs = np.arange(int(k.sum())) - np.repeat(bounds[a:b] - bounds[a], k)
            pi = po[np.repeat(lo[a:b], k) + offs]
            es, ee = enh["start"].to_numpy()[ei], enh["end"].to_numpy()[ei]
            ps, pe = prom["start"].to_numpy()[pi], prom["end"].to_numpy()[pi]
            keep = (es >= pe) | (ps >= ee)
            counts["n_overlapping"] += int((~keep).sum())
            ei, pi, es, ee, ps, pe = ei[keep], pi[keep], es[keep], ee[keep], ps[keep], pe[keep]
            if not len(ei):
                continue
            en = enh["name"].to_numpy()[ei]
            pn = prom["name"].to_numpy()[pi]
            counts["n_pairs"] += len(ei)
            counts["per_chrom"][chrom] += len(ei)
            yield pd.DataFrame({
                "chrom1": chrom, "start1": es, "end1": ee, "chrom2": chrom, "start2": ps, "end2": pe,
                "name": en.astype(object) + "~" + pn.astype(object), "score": ".",
                "strand1": enh["strand"].to_numpy()[ei], "strand2": prom["strand"].to_numpy()[pi],
                "enhancer_name": en, "promoter_name": pn, "distance": np.abs(ec[ei] - pc[pi]),
            }, columns=CANDIDATE_COLUMNS)


@dataclass(frozen=True, kw_only=True)
class CandidatesOptions:
    """The options of ``speid candidates`` (:mod:`speidlib.options`); :func:`write_candidates`'s defaults."""

    enhancers: str = option(help="enhancer BED")
    promoters: str = option(help="promoter (or TSS) BED")
    max_distance: int = option(1_000_000, type=nonneg_int,
                               help="largest distance between centres in bp (default %(default)s)")
    genome: str | None = option(None, help="optional genome FASTA to check chromosome names against")
    out: str = option(help="output BEDPE (gzip if it ends in .gz), or - for the standard output")


def write_candidates(enhancers, promoters, out, max_distance: int = CandidatesOptions.max_distance,
                     genome_chroms=None, progress: bool = False) -> dict:
    """``speid candidates``: write every candidate pair as BEDPE (atomically; gzip if ``.gz``;
    ``-`` writes it to the standard output).

    Parameters
    ----------
    enhancers, promoters : BED paths, or tables from :func:`read_bed`
    out : output path
    max_distance : bp between centres (inclusive)
    genome_chroms : optional chromosome names of the genome, checked against both files

    Returns
    -------
    dict: ``n_pairs``, ``n_overlapping``, ``n_enhancers``, ``n_promoters``,
    ``n_enhancers_without_candidates``, ``per_chrom``, ``mean_enhancer_reuse`` and
    ``mean_promoter_reuse`` (pairs per element that has any)
    """
    from tqdm.auto import tqdm

    sources = [str(enhancers) if not isinstance(enhancers, pd.DataFrame) else "enhancers",
               str(promoters) if not isinstance(promoters, pd.DataFrame) else "promoters"]
    if not isinstance(enhancers, pd.DataFrame):
        enhancers = read_bed(enhancers, "enhancer")
    if not isinstance(promoters, pd.DataFrame):
        promoters = read_bed(promoters, "promoter")
    check_chromosomes(enhancers, promoters, genome_chroms, sources=sources)
    counts: dict = {}
    used_e: set = set()
    used_p: set = set()
    with open_output(out) as f:
        f.write("#" + "\t".join(CANDIDATE_COLUMNS) + "\n")
        bar = tqdm(desc="candidate pairs", unit="pair", disable=not progress, mininterval=0.5)
        for chunk in candidate_chunks(enhancers, promoters, max_distance, counts=counts):
            chunk.to_csv(f, sep="\t", header=False, index=False)
            used_e.update(np.unique(chunk["enhancer_name"].to_numpy()))
            used_p.update(np.unique(chunk["promoter_name"].to_numpy()))
            bar.update(len(chunk))
        bar.close()
    n = counts["n_pairs"]
    return {"n_pairs": n, "n_overlapping": counts["n_overlapping"], "n_enhancers": len(enhancers),
                "n_promoters": len(promoters), "n_enhancers_without_candidates": len(enhancers) - len(used_e),
                "per_chrom": counts["per_chrom"],
                "mean_enhancer_reuse": n / max(len(used_e), 1), "mean_promoter_reuse": n / max(len(used_p), 1)}


def is_candidate_file(path) -> bool:
    """Whether ``path`` starts with the candidate BEDPE header of :func:`write_candidates`."""
    try:
        with open_text(path) as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    return first.lstrip("#").rstrip("\r\n").split("\t") == CANDIDATE_COLUMNS


def iter_candidate_chunks(path, chunk_rows: int = 500_000) -> Iterator[pd.DataFrame]:
    """A candidate BEDPE, one whole chromosome per yielded table.

    Every line is checked as :func:`speidlib.data.pairs.read_pairs` checks a pair table
    (:func:`speidlib.data.pairs.read_bedpe_block`: field count, whole non-negative
    coordinates, start < end, one chromosome per pair), ``chunk_rows`` lines at a time;
    blank and ``#`` lines are skipped. Each table has :data:`CANDIDATE_COLUMNS`
    (coordinates int64) and ``line``, each pair's line in the file; a blank name is
    built as ``chrom:start-end``.

    The file must hold each chromosome's pairs together (as :func:`write_candidates`
    writes them); a chromosome seen again after another one raises ValueError.
    """
    path = Path(path)
    pending: list[pd.DataFrame] = []
    done: set = set()
    with open_text(path) as f:
        numbered = enumerate(f, 1)
        while block := list(itertools.islice(numbered, chunk_rows)):
            kept = [(no, line.rstrip("\r\n")) for no, line in block
                    if line.strip() and not line.startswith("#")]
            if not kept:
                continue
            chunk = read_bedpe_block(path.name, kept, CANDIDATE_COLUMNS)
            for side, name in (("1", "enhancer_name"), ("2", "promoter_name")):
                blank = chunk[name].isin(["", "."])
                if blank.any():
                    chunk.loc[blank, name] = (chunk["chrom" + side] + ":" + chunk["start" + side].astype(str)
                                              + "-" + chunk["end" + side].astype(str))[blank]
            chunk["distance"] = np.abs(element_centres(chunk["start1"], chunk["end1"])
                                       - element_centres(chunk["start2"], chunk["end2"]))
            chroms = chunk["chrom1"].to_numpy()
            change = np.flatnonzero(chroms[1:] != chroms[:-1]) + 1
            for a, b in zip(np.r_[0, change], np.r_[change, len(chunk)]):
                piece = chunk.iloc[a:b]
                chrom = chroms[a]
                if pending and pending[0]["chrom1"].iat[0] != chrom:
                    yield pd.concat(pending, ignore_index=True)
                    done.add(pending[0]["chrom1"].iat[0])
                    pending = []
                if chrom in done:
                    raise ValueError(f"{path.name}, line {piece['line'].iat[0]}: chromosome {chrom} appears "
                                     "again after other chromosomes; keep each chromosome's pairs together "
                                     "(sort -k1,1 -s)")
                pending.append(piece)
    if pending:
        yield pd.concat(pending, ignore_index=True)
