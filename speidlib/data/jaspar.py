"""Motif matrices from the offline JASPAR database (pyjaspar).

pyjaspar ships the JASPAR releases 2014-2026 as a local SQLite file, so no
network is needed. The default is JASPAR2024 CORE vertebrates (879 matrices);
the preprint used JASPAR2016, which is also available.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from speidlib.io import atomic_write_text

DEFAULT_RELEASE = "JASPAR2024"
DEFAULT_COLLECTION = "CORE"
DEFAULT_TAX_GROUP = "vertebrates"


@dataclass(frozen=True)
class Motif:
    """One JASPAR matrix.

    Attributes
    ----------
    matrix_id : str, e.g. ``"MA0139.1"``
    name : str, e.g. ``"CTCF"``
    counts : np.ndarray, shape=(length, 4), A/C/G/T site counts
    """

    matrix_id: str
    name: str
    counts: np.ndarray

    @property
    def length(self) -> int:
        return self.counts.shape[0]

    def pfm(self, pseudocount: float = 0.0) -> np.ndarray:
        """Position frequency matrix, shape=(length, 4), rows sum to 1."""
        c = self.counts + pseudocount
        return c / c.sum(axis=1, keepdims=True)

    def pwm(self, pseudocount: float = 0.8, background=(0.25, 0.25, 0.25, 0.25)) -> np.ndarray:
        """Log2-odds position weight matrix, shape=(length, 4)."""
        c = self.counts + pseudocount * np.asarray(background)
        freq = c / c.sum(axis=1, keepdims=True)
        return np.log2(freq / np.asarray(background))


@functools.lru_cache(maxsize=8)
def load_motifs(release: str = DEFAULT_RELEASE, collection: str = DEFAULT_COLLECTION,
                tax_group: str = DEFAULT_TAX_GROUP) -> tuple[Motif, ...]:
    """All matrices of one JASPAR release, collection and taxonomic group.

    Returns a tuple of :class:`Motif`, sorted by matrix ID.
    """
    from pyjaspar import jaspardb

    db = jaspardb(release=release)
    if release not in db.get_releases():
        raise ValueError(f"unknown JASPAR release {release!r}; pyjaspar has {db.get_releases()}")
    records = db.fetch_motifs(collection=collection, tax_group=[tax_group])
    motifs = [
        Motif(r.matrix_id, r.name, np.array([r.counts[b] for b in "ACGT"], dtype=np.float64).T)
        for r in records
    ]
    if not motifs:
        raise ValueError(f"{release} has no {collection} matrices for tax group {tax_group!r}")
    return tuple(sorted(motifs, key=lambda m: m.matrix_id))


def get_motif(matrix_id: str, release: str = DEFAULT_RELEASE) -> Motif:
    """One matrix by ID (``"MA0139.1"``) or, failing that, by TF name (``"CTCF"``)."""
    for m in load_motifs(release):
        if m.matrix_id == matrix_id or m.name == matrix_id:
            return m
    raise ValueError(f"no matrix {matrix_id!r} in {release} {DEFAULT_COLLECTION} {DEFAULT_TAX_GROUP}")


def write_meme(motifs, path, background=(0.25, 0.25, 0.25, 0.25)) -> None:
    """Write motifs (``Motif`` objects or ``(name, pfm)`` pairs) in MEME minimal format.

    Each PFM has shape=(length, 4); the file is written atomically.
    """

    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies",
             "A {:.3f} C {:.3f} G {:.3f} T {:.3f}".format(*background), ""]
    for m in motifs:
        if isinstance(m, Motif):
            name, pfm, nsites = f"{m.matrix_id} {m.name}", m.pfm(), int(round(m.counts[0].sum()))
        else:
            name, pfm = m[0], np.asarray(m[1])
            nsites = int(m[2]) if len(m) > 2 else 20
        lines += [f"MOTIF {name}",
                  f"letter-probability matrix: alength= 4 w= {len(pfm)} nsites= {nsites} E= 0"]
        lines += [" ".join(f"{v:.6f}" for v in row) for row in pfm]
        lines.append("")
    atomic_write_text(path, "\n".join(lines))


def read_meme(path) -> list[tuple[str, np.ndarray]]:
    """Read a MEME minimal-format file into ``(name, pfm)`` pairs, pfm shape=(length, 4)."""
    out, name, rows, in_matrix = [], None, [], False
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            if s.startswith("MOTIF"):
                if name is not None:
                    out.append((name, np.array(rows)))
                name, rows, in_matrix = s[5:].strip(), [], False
            elif s.startswith("letter-probability"):
                in_matrix = True
            elif in_matrix and s:
                try:
                    rows.append([float(v) for v in s.split()[:4]])
                except ValueError:
                    in_matrix = False
                    if s.startswith("URL"):
                        continue
                    raise ValueError(f"{path}, line {lineno}: expected 4 probabilities, got {s!r}")
            elif in_matrix and not s:
                in_matrix = False
    if name is not None:
        out.append((name, np.array(rows)))
    return out
