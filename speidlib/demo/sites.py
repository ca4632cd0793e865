"""The demo's planted motif sites as a table and as ``sites.bed``: the truth variants are measured against.

``speid demo-data`` records, per element of ``elements.csv``, where it planted
each motif copy (``sites``: ``start:strand`` per copy, 0-based chromosome
coordinates, ``;``-separated) and which JASPAR matrix (``motif_id``; the
matrices are in ``planted_motifs.meme``). :func:`planted_sites` turns that
into one row per copy; :func:`write_sites_bed` writes them as BED6.

:func:`breaking_variants` gives, for each copy, the variant that breaks it:
its highest-information position changed to the base the motif finds least
likely there (on the copy's strand).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from speidlib.data.jaspar import read_meme
from speidlib.io import atomic_path

SITES_BED = "sites.bed"
SITE_COLUMNS = ["chrom", "start", "end", "motif_id", "strand", "element", "kind"]


def demo_motifs(demo_dir) -> dict[str, np.ndarray]:
    """``motif_id`` -> PFM shape=(length, 4), from the demo's ``planted_motifs.meme``."""
    return {name.split()[0]: pfm for name, pfm in read_meme(Path(demo_dir) / "planted_motifs.meme")}


def planted_sites(demo_dir) -> pd.DataFrame:
    """Every planted motif copy of the demo, one row each (:data:`SITE_COLUMNS`, 0-based half-open)."""
    demo_dir = Path(demo_dir)
    elements = pd.read_csv(demo_dir / "elements.csv", keep_default_na=False)
    widths = {k: len(v) for k, v in demo_motifs(demo_dir).items()}
    rows = []
    for e in elements.itertuples(index=False):
        if not e.sites:
            continue
        for part in str(e.sites).split(";"):
            start, strand = part.split(":")
            start = int(start)
            rows.append((e.chrom, start, start + widths[e.motif_id], e.motif_id, strand, e.element, e.kind))
    return pd.DataFrame(rows, columns=SITE_COLUMNS)


def write_sites_bed(demo_dir, out=None) -> Path:
    """``DEMO/sites.bed`` (or ``out``): BED6 of every planted copy, name ``motif_id|kind``, sorted."""
    sites = planted_sites(demo_dir).sort_values(["chrom", "start"])
    out = Path(out) if out is not None else Path(demo_dir) / SITES_BED
    bed = pd.DataFrame({"chrom": sites["chrom"], "start": sites["start"], "end": sites["end"],
                        "name": sites["motif_id"] + "|" + sites["kind"], "score": 0, "strand": sites["strand"]})
    with atomic_path(out) as tmp:
        bed.to_csv(tmp, sep="\t", header=False, index=False)
    return out


def information(pfm: np.ndarray) -> np.ndarray:
    """Information content per motif position in bits, shape=(length,)."""
    p = np.clip(pfm, 1e-9, 1.0)
    return 2.0 + (p * np.log2(p)).sum(axis=1)


def breaking_variants(sites: pd.DataFrame, motifs: dict) -> pd.DataFrame:
    """One site-breaking SNV per copy: its most informative position, changed to the least likely base.

    Returns
    -------
    DataFrame ``chrom``, ``pos0`` (0-based), ``alt`` (A/C/G/T, forward strand), ``element``, ``kind``
    """
    rows = []
    for s in sites.itertuples(index=False):
        pfm = motifs[s.motif_id]
        i = int(np.argmax(information(pfm)))
        worst = int(np.argmin(pfm[i]))
        if s.strand == "-":                     # the copy reads the reverse complement
            pos0, base = s.end - 1 - i, 3 - worst
        else:
            pos0, base = s.start + i, worst
        rows.append((s.chrom, pos0, "ACGT"[base], s.element, s.kind))
    return pd.DataFrame(rows, columns=["chrom", "pos0", "alt", "element", "kind"])
