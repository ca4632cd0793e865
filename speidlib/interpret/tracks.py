"""Contribution tracks in genome coordinates, as bigWig files (pyBigWig) for IGV or UCSC.

One file per branch, ``<branch>.mean_contribution.bw``: for each element, the
actual contribution of every base of its window, averaged over the pairs the
element was attributed in (an element scored with several partners has one
map per partner; the track shows their mean, as its name says). Where windows
of different elements overlap, the overlapping bases get the mean of their
elements' values. ``tracks.txt`` beside them holds one UCSC ``track`` line per
file (``bigDataUrl`` is the file name: put the files where the browser can
fetch them and edit it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from speidlib import schema
from speidlib.io import atomic_path, atomic_write_text

TRACK_FILE = "{branch}.mean_contribution.bw"
TRACK_LINES_FILE = "tracks.txt"


def element_means(store, branch: str, chunk: int = 256) -> dict:
    """Each element's contribution map, averaged over its pairs.

    Returns
    -------
    dict ``(chrom, window_start, element name) -> (mean (W,) float64, n_pairs)``, read in row chunks
    """
    name_col = schema.ENHANCER_NAME if branch == "enhancer" else schema.PROMOTER_NAME
    sums: dict = {}
    chroms = store.pairs[schema.CHROM].to_numpy()
    for rows in store.chunks(chunk):
        actual = store.read(branch, "actual", rows).astype(np.float64)
        starts = store.read(branch, "window_start", rows)
        names = store.pairs[name_col].to_numpy()[rows]
        for i, (chrom, start) in enumerate(zip(chroms[rows], starts)):
            key = (str(chrom), int(start), str(names[i]))
            if key in sums:
                sums[key][0] += actual[i]
                sums[key][1] += 1
            else:
                sums[key] = [actual[i].copy(), 1]
    return {key: (v / n, n) for key, (v, n) in sums.items()}


def _merge(windows: list[tuple[int, np.ndarray]], size: int):
    """Non-overlapping (start, values) runs of one chromosome: overlapping windows averaged,
    clipped to ``[0, size)``."""
    windows = sorted(windows, key=lambda t: t[0])
    runs = []
    i = 0
    while i < len(windows):
        lo, hi = windows[i][0], windows[i][0] + len(windows[i][1])
        j = i + 1
        while j < len(windows) and windows[j][0] < hi:
            hi = max(hi, windows[j][0] + len(windows[j][1]))
            j += 1
        total, count = np.zeros(hi - lo), np.zeros(hi - lo)
        for start, values in windows[i:j]:
            total[start - lo:start - lo + len(values)] += values
            count[start - lo:start - lo + len(values)] += 1
        a, b = max(lo, 0), min(hi, size)
        if b > a:
            runs.append((a, total[a - lo:b - lo] / count[a - lo:b - lo]))
        i = j
    return runs


def write_bigwigs(store, chrom_sizes: dict, out_dir) -> list[Path]:
    """Write ``<branch>.mean_contribution.bw`` per branch and ``tracks.txt`` (see the module notes).

    store : :class:`speidlib.interpret.contrib_store.ContributionStore`
    chrom_sizes : chromosome -> length (the genome's; every chromosome goes in the header)
    """
    import pyBigWig

    out_dir = Path(out_dir)
    written, lines = [], []
    n_pairs = len(store)
    for branch in schema.BRANCHES:
        means = element_means(store, branch)
        by_chrom: dict = {}
        for (chrom, start, _), (values, _) in means.items():
            if chrom not in chrom_sizes:
                raise ValueError(f"{store.path}: chromosome {chrom} is not in the genome given for the tracks")
            by_chrom.setdefault(chrom, []).append((start, values))
        path = out_dir / TRACK_FILE.format(branch=branch)
        header = sorted(chrom_sizes.items())
        with atomic_path(path) as tmp:
            bw = pyBigWig.open(str(tmp), "w")
            try:
                bw.addHeader(header)
                for chrom, _ in header:
                    for start, values in _merge(by_chrom.get(chrom, []), chrom_sizes[chrom]):
                        bw.addEntries(chrom, int(start), values=values.astype(np.float64), span=1, step=1)
            finally:
                bw.close()
        written.append(path)
        lines.append(f'track type=bigWig name="SPEID {branch} contribution, mean over pairs" description="SPEID {branch} '
                     f'per-base contribution ({store.attrs.get("method", "")}, logit), mean over each '
                     f'element\'s pairs ({len(means)} elements, {n_pairs} pairs)" bigDataUrl={path.name} '
                     f'visibility=full autoScale=on alwaysZero=on')
    atomic_write_text(out_dir / TRACK_LINES_FILE, "\n".join(lines) + "\n")
    return written
