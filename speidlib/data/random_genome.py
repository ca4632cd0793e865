"""A random genome with a real assembly's shape: its chromosome names and lengths.

The memorisation control puts real pair tables (real coordinates, real labels)
on a genome whose bases carry no biology: every window is still a unique
string a network can recognise, so whatever a model scores there it scores by
remembering elements, not by reading sequence. The genome keeps the
assembly's chromosome names and lengths, so every coordinate of a real table
falls where it did; bases are uniform A/C/G/T, upper case, with a run of N
(:data:`END_N`, 10 kb, as hg19's and GRCh38's telomere gaps) at both ends of
every chromosome of at least ``100 * END_N`` bases.

The FASTA is streamed in blocks (memory stays at a few hundred MB whatever
the assembly) with 60-base lines, and its ``.fai`` index is written beside it
from the known layout, so no second pass over the file is needed. Both files
are written atomically.

Each chromosome's bases come from its own random stream, seeded by ``seed``
and the chromosome's name: a genome of chr21 and chr22 only holds the same
chr21 and chr22 as the whole assembly with the same seed.

The hg19 and GRCh38 chromosome sizes (UCSC ``chrom.sizes``, primary
chromosomes) ship with the package: ``assembly_chrom_sizes("hg19")``.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from speidlib.argtypes import csv_list
from speidlib.io import atomic_path, open_text
from speidlib.options import option, seed_option

ASSEMBLIES = ("hg19", "hg38")
END_N = 10_000
LINE_WIDTH = 60
_BLOCK_LINES = 1_000_000            # 60 Mb of bases per block
_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Read a UCSC ``chrom.sizes`` file: ``name<TAB>length`` per line.

    Parameters
    ----------
    path : path of the file, plain or gzip (blank lines, ``#`` comments and a byte-order mark
        are skipped)

    Returns
    -------
    dict chromosome name -> length (bp), in the file's order
    """
    sizes: dict[str, int] = {}
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit() or int(fields[1]) <= 0:
                raise ValueError(f"{path}, line {lineno}: expected 'chromosome<TAB>length' with a "
                                 f"positive integer length, got {line.rstrip()!r}")
            if fields[0] in sizes:
                raise ValueError(f"{path}, line {lineno}: chromosome {fields[0]} is listed twice")
            sizes[fields[0]] = int(fields[1])
    if not sizes:
        raise ValueError(f"{path} lists no chromosome")
    return sizes


def assembly_chrom_sizes(assembly: str) -> dict[str, int]:
    """Chromosome sizes of an assembly shipped with the package (``hg19`` or ``hg38``).

    Returns
    -------
    dict chromosome name -> length (bp), chr1 ... chr22, chrX, chrY (and chrM for hg38)
    """
    if assembly not in ASSEMBLIES:
        raise ValueError(f"unknown assembly {assembly!r}; the package ships {', '.join(ASSEMBLIES)} "
                         "(give a chrom.sizes file for any other)")
    res = resources.files("speidlib") / "resources" / "chrom_sizes" / f"{assembly}.chrom.sizes"
    with resources.as_file(res) as p:
        return read_chrom_sizes(p)


def _end_n(length: int) -> int:
    return END_N if length >= 100 * END_N else 0


def _chrom_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _chrom_bases(rng: np.random.Generator, length: int):
    """Yield the chromosome's bases as uint8 ASCII blocks, in order."""
    n_end = _end_n(length)
    block = _BLOCK_LINES * LINE_WIDTH
    for start in range(0, length, block):
        k = min(block, length - start)
        # four bases per random byte, two bits each
        raw = np.frombuffer(rng.bytes((k + 3) // 4), dtype=np.uint8)
        codes = np.stack([(raw >> s) & 3 for s in (0, 2, 4, 6)], axis=1).reshape(-1)[:k]
        seq = _LETTERS[codes]
        lo, hi = max(0, n_end - start), min(k, length - n_end - start)
        if lo > 0:
            seq[:min(lo, k)] = ord("N")
        if hi < k:
            seq[max(hi, 0):] = ord("N")
        yield seq


@dataclass(frozen=True, kw_only=True)
class RandomGenomeOptions:
    """The options of ``speid random-genome`` (:mod:`speidlib.options`); :func:`write_random_genome`'s
    defaults. ``assembly`` and ``chrom_sizes``: one of them."""

    assembly: str | None = option(None, choices=ASSEMBLIES, help="chromosome sizes shipped with the package")
    chrom_sizes: str | None = option(None, help="a UCSC chrom.sizes file (name<TAB>length per line)")
    out: str = option(help="FASTA to write (OUT.fai is written beside it)")
    chromosomes: list[str] | None = option(None, type=csv_list, help="comma-separated chromosomes to write, "
                                           "e.g. chr21,chr22 (default: all)")
    seed: int = seed_option("random seed; a chromosome's bases depend only on the seed and its name")


def write_random_genome(chrom_sizes: Mapping[str, int] | str | os.PathLike, out_path,
                        seed: int = RandomGenomeOptions.seed,
                        chromosomes: Sequence[str] | None = RandomGenomeOptions.chromosomes) -> Path:
    """Write a FASTA of uniform random bases in an assembly's shape, and its ``.fai``.

    Parameters
    ----------
    chrom_sizes : mapping chromosome -> length, a ``chrom.sizes`` path, or an
        assembly name shipped with the package (``"hg19"``, ``"hg38"``)
    out_path : path of the FASTA to write (``out_path + ".fai"`` beside it)
    seed : int; the same seed gives the same bases for each chromosome name
    chromosomes : sequence of str, optional: write only these, in this order
        (default: all, in the sizes' order)

    Returns
    -------
    Path of the FASTA.
    """
    if isinstance(chrom_sizes, Mapping):
        sizes = {str(k): int(v) for k, v in chrom_sizes.items()}
        bad = [k for k, v in sizes.items() if v <= 0]
        if bad:
            raise ValueError(f"chromosome lengths must be positive; {', '.join(bad)} are not")
    elif str(chrom_sizes) in ASSEMBLIES:
        sizes = assembly_chrom_sizes(str(chrom_sizes))
    else:
        sizes = read_chrom_sizes(chrom_sizes)
    if chromosomes is not None:
        missing = [c for c in chromosomes if c not in sizes]
        if missing:
            raise ValueError(f"chromosome(s) {', '.join(missing)} are not in the chromosome sizes "
                             f"(which list {', '.join(list(sizes)[:5])}...)")
        sizes = {c: sizes[c] for c in chromosomes}
    if not sizes:
        raise ValueError("no chromosome to write")
    out_path = Path(out_path)
    fai, offset = [], 0
    with atomic_path(out_path) as tmp, open(tmp, "wb", buffering=1 << 24) as fh:
        for name, length in sizes.items():
            header = f">{name}\n".encode()
            fh.write(header)
            offset += len(header)
            for seq in _chrom_bases(_chrom_rng(seed, name), length):
                full = len(seq) // LINE_WIDTH
                body = np.empty((full, LINE_WIDTH + 1), dtype=np.uint8)
                body[:, :LINE_WIDTH] = seq[: full * LINE_WIDTH].reshape(full, LINE_WIDTH)
                body[:, LINE_WIDTH] = ord("\n")
                fh.write(body.tobytes())
                rest = seq[full * LINE_WIDTH:].tobytes()
                if rest:  # only in a chromosome's last block: blocks hold whole lines
                    fh.write(rest + b"\n")
            fai.append(f"{name}\t{length}\t{offset}\t{LINE_WIDTH}\t{LINE_WIDTH + 1}\n")
            offset += length + -(-length // LINE_WIDTH)
    with atomic_path(str(out_path) + ".fai") as tmp:
        tmp.write_text("".join(fai))
    return out_path
