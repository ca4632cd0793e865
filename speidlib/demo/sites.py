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


def planted_sites(demo_dir, elements=None) -> pd.DataFrame:
    """Every planted motif copy of the demo, one row each (:data:`SITE_COLUMNS`, 0-based half-open).

    ``elements``: only the copies of these elements (names ``chrom:start-end``); None: all.
    """
    demo_dir = Path(demo_dir)
    widths = {k: len(v) for k, v in demo_motifs(demo_dir).items()}
    table = pd.read_csv(demo_dir / "elements.csv", keep_default_na=False)
    if elements is not None:
        table = table[table["element"].isin(set(elements))]
    active = table[table["sites"].astype(str) != ""]
    copies = active.assign(site=active["sites"].astype(str).str.split(";")).explode("site")
    parts = copies["site"].str.split(":", expand=True)
    start = parts[0].astype(np.int64).to_numpy()
    return pd.DataFrame({"chrom": copies["chrom"].to_numpy(), "start": start,
                         "end": start + copies["motif_id"].map(widths).to_numpy().astype(np.int64),
                         "motif_id": copies["motif_id"].to_numpy(), "strand": parts[1].to_numpy(),
                         "element": copies["element"].to_numpy(), "kind": copies["kind"].to_numpy()},
                        columns=SITE_COLUMNS)


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


def truth_variants(elements: pd.DataFrame, sites: pd.DataFrame, motifs: dict, genome,
                   rng: np.random.Generator) -> pd.DataFrame:
    """Site-breaking SNVs of the elements' planted copies, and as many random SNVs in the same windows.

    Parameters
    ----------
    elements : ``chrom``, ``start``, ``end`` (the element), ``window_start``, ``window`` (its window)
    sites, motifs : :func:`planted_sites`, :func:`demo_motifs`
    genome : :class:`speidlib.data.genome.Genome`
    rng : draws the random SNVs: for each breaking one, a uniform position of the same window
        and a uniform other base

    Returns
    -------
    DataFrame ``chrom``, ``pos0`` (0-based), ``ref``, ``alt``, ``kind`` (``break`` or
    ``random``), ``element`` (``chrom:start-end``), one row per SNV; copies outside the
    window and SNVs whose ALT equals the genome's base are left out
    """
    keys = elements["chrom"].astype(str) + ":" + elements["start"].astype(str) + "-" + elements["end"].astype(str)
    wanted = sites[sites["element"].isin(set(keys))]
    by_element = {k: t for k, t in wanted.groupby("element")}
    rows = []
    for e in elements.itertuples(index=False):
        key = f"{e.chrom}:{e.start}-{e.end}"
        copies = by_element.get(key)
        if copies is None:
            continue
        brk = breaking_variants(copies, motifs)
        brk = brk[(brk.pos0 >= e.window_start) & (brk.pos0 < e.window_start + e.window)]
        for v in brk.itertuples(index=False):
            rows.append((e.chrom, v.pos0, v.alt, "break", key))
            p = int(rng.integers(e.window_start, e.window_start + e.window))
            rows.append((e.chrom, p, "ACGT"[int(rng.integers(4))], "random", key))
    v = pd.DataFrame(rows, columns=["chrom", "pos0", "alt", "kind", "element"])
    v["ref"] = ["ACGTN"[genome.fetch(c, p, p + 1)[0]] for c, p in zip(v.chrom, v.pos0)]
    redraw = (v.kind == "random") & (v.ref == v.alt)          # a random base equal to the genome's
    v.loc[redraw, "alt"] = ["ACGT"[("ACGT".index(r) + int(k)) % 4] if r in "ACGT" else "A"
                            for r, k in zip(v.ref[redraw], rng.integers(1, 4, int(redraw.sum())))]
    v = v[v.ref != v.alt]
    return v[["chrom", "pos0", "ref", "alt", "kind", "element"]].reset_index(drop=True)
