"""Variants from a VCF or BCF file (plain or bgzipped), read with pysam (htslib).

:func:`read_vcf` gives one row per (record, ALT allele): multi-allelic records
are split, each ALT its own variant with the record's position and REF.
Columns: ``chrom``, ``pos`` (1-based, as in the file), ``id`` (``.`` when
none), ``ref``, ``alt``, ``record`` (1-based record number) and ``line``
(1-based line of the record in the text, 0 for BCF). Alleles are upper-cased.

Refused with a one-line ``ValueError`` naming the file and the line (or
record): a file without a VCF header (``##fileformat=VCF...`` and a
``#CHROM`` line), a truncated bgzip file, a record htslib cannot parse (the
line is read again to say which column is wrong), a symbolic or breakend
ALT (``<DEL>``, ``N[chr2:100[``) and alleles with letters other than A, C,
G, T, N. ALT ``*`` (a deletion described by another record) and a missing
ALT (``.``) are skipped and counted in :attr:`VcfVariants.skipped`.
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib.data.genome import Genome
from speidlib.io import atomic_write_text

VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "record", "line"]
_BASES = re.compile(r"^[ACGTN]+$")


@dataclass
class VcfVariants:
    """Variants of one file and what was skipped.

    Attributes
    ----------
    table : DataFrame of :data:`VARIANT_COLUMNS`, one row per ALT allele, in file order
    skipped : dict reason -> count (``"ALT *"``, ``"no ALT"``)
    path : the file
    """

    table: pd.DataFrame
    path: Path
    skipped: dict = field(default_factory=dict)


def _open_text(path: Path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:3] == b"BCF":
        return None
    if magic[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as f:
                if f.read(3) == b"BCF":                  # BCF is bgzipped as written by htslib
                    return None
        except (EOFError, OSError):
            pass                                          # a damaged file: its header check says so
        return gzip.open(path, "rt", errors="replace")
    return open(path, errors="replace")


def _header_lines(path: Path) -> int:
    """Lines of the text header (0 for BCF); raises on a missing header."""
    f = _open_text(path)
    if f is None:
        return 0
    n = 0
    try:
        with f:
            for line in f:
                n += 1
                if n == 1 and not line.startswith("##fileformat=VCF"):
                    raise ValueError(f"{path} line 1: not a VCF header (expected '##fileformat=VCFv4.x', "
                                     f"got {line.strip()[:40]!r})")
                if line.startswith("#CHROM"):
                    return n
                if not line.startswith("#"):
                    raise ValueError(f"{path} line {n}: a record before the '#CHROM' header line "
                                     "(the VCF header is incomplete)")
    except (EOFError, OSError, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: the compressed file is truncated or damaged in its header ({e})") from None
    raise ValueError(f"{path}: no '#CHROM' header line (the VCF header is missing or incomplete)")


def _raw_line(path: Path, line_no: int) -> str | None:
    f = _open_text(path)
    if f is None or line_no < 1:
        return None
    try:
        with f:
            for i, line in enumerate(f, 1):
                if i == line_no:
                    return line.rstrip("\n")
    except (EOFError, OSError, gzip.BadGzipFile):
        return None
    return None


def _what_is_wrong(line: str | None) -> str:
    """A short description of a record line htslib refused."""
    if line is None:
        return "the file ends inside it (truncated) or it cannot be parsed"
    cols = line.split("\t")
    if len(cols) < 8:
        return f"{len(cols)} tab-separated columns, expected at least 8 (CHROM POS ID REF ALT QUAL FILTER INFO)"
    if not cols[1].isdigit():
        return f"POS {cols[1]!r} is not a positive integer"
    return "it cannot be parsed as a VCF record"


def _check_allele(allele: str, what: str, where: str) -> None:
    if allele.startswith("<") or "[" in allele or "]" in allele:
        raise ValueError(f"{where}: symbolic {what} allele {allele!r} is not supported (give the "
                         "sequence of the change)")
    if not _BASES.match(allele):
        raise ValueError(f"{where}: {what} allele {allele!r} has letters other than A, C, G, T, N")


def read_vcf(path: str | os.PathLike, chromosomes=None) -> VcfVariants:
    """Every variant of a VCF/BCF file, multi-allelic records split (see the module notes).

    ``chromosomes``: keep only the variants of these (the others are read, checked and
    dropped; a per-chromosome job holds only its own); None: all.
    """
    import pysam

    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    header = _header_lines(path)
    pysam.set_verbosity(0)   # htslib's own warnings; every problem is raised here, located
    try:
        vf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as e:
        if "EOF marker" in str(e) or "truncated" in str(e):
            raise ValueError(f"{path}: the bgzip file is truncated (no end-of-file block); "
                             "the file is incomplete") from None
        raise ValueError(f"{path}: not a readable VCF/BCF file ({e})") from None
    rows, skipped = [], {}
    n = 0
    keep = None if chromosomes is None else set(chromosomes)
    with vf:
        it = iter(vf)
        while True:
            where = f"{path} " + (f"line {header + n + 1}" if header else f"record {n + 1}")
            try:
                rec = next(it)
            except StopIteration:
                break
            except (OSError, ValueError) as e:
                line = _raw_line(path, header + n + 1) if header else None
                if line is None and header and "truncated" in str(e):
                    raise ValueError(f"{path}: the file ends inside a record after line {header + n} "
                                     "(truncated)") from None
                raise ValueError(f"{where}: {_what_is_wrong(line)}") from None
            n += 1
            if keep is not None and rec.chrom not in keep:
                continue
            ref = rec.ref.upper()
            _check_allele(ref, "REF", where)
            if not rec.alts:
                skipped["no ALT"] = skipped.get("no ALT", 0) + 1
                continue
            for alt in rec.alts:
                alt = alt.upper()
                if alt == "*":
                    skipped["ALT *"] = skipped.get("ALT *", 0) + 1
                    continue
                _check_allele(alt, "ALT", where)
                rows.append((rec.chrom, rec.pos, rec.id or ".", ref, alt, n, header + n if header else 0))
    table = pd.DataFrame(rows, columns=VARIANT_COLUMNS)
    table["pos"] = table["pos"].astype(np.int64)
    return VcfVariants(table, path, skipped)


def check_chromosome_names(variants: VcfVariants, chroms, what: str) -> None:
    """Raise when no variant's chromosome is among ``chroms`` (naming both sets, e.g. '1' vs 'chr1')."""
    have = list(dict.fromkeys(variants.table["chrom"]))
    want = list(dict.fromkeys(chroms))
    if have and not set(have) & set(want):
        def show(names):
            return ", ".join(map(str, names[:6])) + (", ..." if len(names) > 6 else "")
        raise ValueError(f"{variants.path} names chromosomes {show(have)}, {what} names {show(want)}: "
                         "none in common (chromosome naming, e.g. '1' against 'chr1'?)")


def check_ref(variants: VcfVariants, genome: Genome, skip: bool = False) -> pd.DataFrame:
    """Compare each REF with the genome; return the rows that disagree.

    Raises ``ValueError`` naming the first variant that disagrees, unless ``skip``; with
    ``skip`` the disagreeing rows are dropped from ``variants.table`` and returned.
    Chromosomes the genome lacks are left to :func:`check_chromosome_names`; their
    variants are not checked.
    """
    t = variants.table
    bad = np.zeros(len(t), bool)
    for i, (chrom, pos, ref) in enumerate(zip(t["chrom"], t["pos"], t["ref"])):
        if chrom not in genome.chrom_sizes:
            continue
        seq = genome.fetch(chrom, pos - 1, pos - 1 + len(ref))
        want = np.frombuffer(ref.encode(), np.uint8)
        got = np.array([ord(c) for c in "ACGTN"], np.uint8)[seq]
        bad[i] = not np.array_equal(np.where(want == ord("N"), got, want), got)
    if bad.any() and not skip:
        i = int(np.flatnonzero(bad)[0])
        r = t.iloc[i]
        where = f"line {r['line']}" if r["line"] else f"record {r['record']}"
        seq = genome.fetch(r["chrom"], r["pos"] - 1, r["pos"] - 1 + len(r["ref"]))
        got = "".join("ACGTN"[c] for c in seq)
        raise ValueError(f"{variants.path} {where}: REF {r['ref']} of {r['chrom']}:{r['pos']} "
                         f"({r['id']}) disagrees with the genome ({got}); wrong assembly? "
                         f"(--skip-ref-mismatch drops such variants and lists them)")
    out = t[bad].copy()
    variants.table = t[~bad].reset_index(drop=True)
    return out


def write_vcf_text(table: pd.DataFrame, path) -> None:
    """A minimal VCF 4.2 (no INFO) of ``chrom``, ``pos0`` (0-based) or ``pos``, ``ref``, ``alt`` and
    optional ``id``, sorted by chromosome and position, written atomically (plain text)."""
    t = table.copy()
    if "pos" not in t:
        t["pos"] = t["pos0"] + 1
    t = t.sort_values(["chrom", "pos"], kind="stable")
    ids = t["id"] if "id" in t else pd.Series(".", index=t.index)
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for c, p, i, r, a in zip(t["chrom"], t["pos"], ids, t["ref"], t["alt"])]
    atomic_write_text(path, "\n".join(lines) + "\n")
