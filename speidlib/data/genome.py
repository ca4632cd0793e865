"""Genome FASTA access through pyfaidx, returning int8 base codes.

Lower case (soft-masked) bases are folded to upper case, N and other
ambiguity codes become code 4 (an all-zero one-hot column), and a window
running past a chromosome end is padded with N, never shortened.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pyfaidx

from speidlib.data.encode import N_CODE, encode


class Genome:
    """An indexed FASTA file.

    The ``.fai`` index is built when missing and rebuilt when it is older
    than the FASTA or does not match it (a FASTA replaced after indexing).
    When it cannot be written beside the FASTA (a read-only folder) it is kept
    in ``$XDG_CACHE_HOME/speid/fai`` (default ``~/.cache/speid/fai``).

    Parameters
    ----------
    path : path to a plain or bgzip-compressed FASTA
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"genome FASTA {self.path} does not exist")
        if not self.path.is_file():
            raise ValueError(f"genome FASTA {self.path} is a folder, not a FASTA file")
        self.index_path = _index_path(self.path)
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), indexname=str(self.index_path), as_raw=True,
                                        sequence_always_upper=False, rebuild=False, build_index=True)
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as e:
            with open(self.path, "rb") as fh:
                if fh.read(3) == b"\xef\xbb\xbf":  # an index counts bytes: the mark cannot be read past
                    raise ValueError(f"genome FASTA {self.path} starts with a UTF-8 byte-order mark before "
                                     "its first '>' line: remove it (sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)") from e
            raise ValueError(f"genome FASTA {self.path} could not be indexed: {e}") from e
        except OSError as e:
            raise ValueError(f"genome FASTA {self.path}: cannot read it or write its index "
                             f"{self.index_path} ({e.strerror or e})") from e
        self.chrom_sizes = {name: len(rec) for name, rec in self._fasta.records.items()} \
            if hasattr(self._fasta, "records") else {k: len(v) for k, v in self._fasta.items()}

    def outside(self, chroms, starts, ends) -> np.ndarray:
        """Which elements do not lie within their chromosome, shape=(n,), bool.

        ``chroms``, ``starts``, ``ends``: shape=(n,), 0-based half-open; an
        element lies within when ``0 <= start`` and ``end <= length``.
        """
        length = np.array([self.chrom_sizes.get(c, -1) for c in np.asarray(chroms)], dtype=np.int64)
        return (np.asarray(starts) < 0) | (np.asarray(ends) > length)

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def check_chromosomes(self, chroms, source: str = "the pair table") -> None:
        """Raise ValueError naming every chromosome of ``chroms`` the FASTA lacks."""
        missing = sorted(set(chroms) - set(self.chrom_sizes))
        if missing:
            have = ", ".join(list(self.chrom_sizes)[:8])
            raise ValueError(
                f"{source} uses chromosome(s) {', '.join(missing)} that the genome FASTA "
                f"{self.path} lacks (it has {have}{', ...' if len(self.chrom_sizes) > 8 else ''})")

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Base codes of ``chrom:start-end`` (0-based, half-open), shape=(end - start,), int8.

        Positions before 0 or past the chromosome end are N.
        """
        if chrom not in self.chrom_sizes:
            self.check_chromosomes([chrom], source=f"region {chrom}:{start}-{end}")
        if end < start:
            raise ValueError(f"region {chrom}:{start}-{end} has end < start")
        out = np.full(end - start, N_CODE, dtype=np.int8)
        lo, hi = max(start, 0), min(end, self.chrom_sizes[chrom])
        if hi > lo:
            seq = self._fasta.faidx.fetch(chrom, lo + 1, hi)
            out[lo - start:hi - start] = encode(seq if isinstance(seq, str) else str(seq))
        return out

    def fetch_many(self, chroms, starts, length: int, out: np.ndarray | None = None,
                   progress: bool = False, desc: str = "reading windows") -> np.ndarray:
        """Fixed-length windows, shape=(n, length), int8.

        Parameters
        ----------
        chroms : sequence of str, shape=(n,)
        starts : ints, shape=(n,), may be negative (padded with N)
        length : bases per window
        out : optional preallocated int8 array, shape=(n, length)
        """
        starts = np.asarray(starts, dtype=np.int64)
        chroms = np.asarray(chroms)
        self.check_chromosomes(np.unique(chroms))
        if out is None:
            out = np.empty((len(starts), length), dtype=np.int8)
        it = range(len(starts))
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it, desc=desc, unit="window", mininterval=0.5)
        for i in it:
            out[i] = self.fetch(chroms[i], int(starts[i]), int(starts[i]) + length)
        return out


# --- the .fai index ------------------------------------------------------------------
def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "speid" / "fai"


def _index_path(fasta: Path) -> Path:
    """Where the FASTA's usable ``.fai`` is, or is to be built; a stale one is removed.

    Beside the FASTA when that folder is writable (or a fresh index is already
    there), else in the cache folder; a one-line ValueError when neither works.
    """
    beside = Path(str(fasta) + ".fai")
    key = hashlib.sha256(str(fasta.resolve()).encode()).hexdigest()[:16]
    cached = _cache_dir() / f"{fasta.name}.{key}.fai"
    for fai in (beside, cached):
        if fai.exists() and _index_fresh(fasta, fai):
            return fai
    for fai in (beside, cached):
        try:
            fai.parent.mkdir(parents=True, exist_ok=True)
            if fai.exists():
                fai.unlink()  # older than the FASTA, or describing another file
            if os.access(fai.parent, os.W_OK):
                return fai
        except OSError:
            continue
    raise ValueError(f"genome FASTA {fasta}: its index {beside} is missing or out of date and cannot "
                     f"be written there or in {_cache_dir()}; index it with `samtools faidx` where "
                     "you can write, or set XDG_CACHE_HOME to a writable folder")


def _index_fresh(fasta: Path, fai: Path, n_checked: int = 200) -> bool:
    """Is ``fai`` at least as new as ``fasta`` and does it describe its bytes?

    For a plain FASTA, up to ``n_checked`` records (spread over the index,
    the last included) are checked: the header line before each record's
    offset names it, and its last base is followed by a line end, a header
    or the end of the file.
    """
    try:
        if fai.stat().st_mtime < fasta.stat().st_mtime:
            return False
        rows = [line.split("\t") for line in fai.read_text().splitlines() if line.strip()]
        if not rows or fasta.suffix in (".gz", ".bgz", ".bgzf"):
            return bool(rows)
        size = fasta.stat().st_size
        picks = sorted(set(np.linspace(0, len(rows) - 1, min(n_checked, len(rows))).astype(int)))
        with open(fasta, "rb") as fh:
            for i in picks:
                name, length, offset, line_bases, line_width = rows[i][:5]
                length, offset, line_bases, line_width = (int(length), int(offset), int(line_bases),
                                                          int(line_width))
                end = offset + (length // line_bases) * line_width + length % line_bases
                if offset < 1 or end > size:
                    return False
                fh.seek(max(0, offset - 4097))
                before = fh.read(offset - max(0, offset - 4097))
                header = before[:-1].rsplit(b"\n", 1)[-1].rstrip(b"\r").split()
                if not before.endswith(b"\n") or not header or header[0] != b">" + name.encode():
                    return False
                fh.seek(end)
                if fh.read(1) not in (b"", b"\n", b"\r", b">"):
                    return False
    except (OSError, ValueError, IndexError, ZeroDivisionError):
        return False
    return True
