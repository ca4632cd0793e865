"""Which human assembly a genome FASTA is: hg19, GRCh38 or unknown, from its chromosome lengths.

Coordinates only mean something on the assembly they were written for: the
CRISPRi benchmark is GRCh38, the TargetFinder pairs hg19, and every primary
chromosome differs in length between the two. A FASTA is identified as an
assembly when at least one of its sequences has the name and length of one of
that assembly's chromosomes and none has the name of one with another length
(a FASTA of chr21 alone is identified; the demo genome's ``chr1`` of 2 Mb is
not). Names without the ``chr`` prefix (Ensembl's ``21``, ``MT``) are compared
as ``chr21``, ``chrM``. The lengths are the UCSC ``chrom.sizes`` shipped with
the package (:func:`speidlib.data.random_genome.assembly_chrom_sizes`).
"""
from __future__ import annotations

from collections.abc import Mapping

from speidlib.data.genome import Genome
from speidlib.data.random_genome import assembly_chrom_sizes

HG19, GRCH38, UNKNOWN = "hg19", "GRCh38", "unknown"
_RESOURCE = {HG19: "hg19", GRCH38: "hg38"}   # assembly -> shipped chrom.sizes


def _ucsc_name(name: str) -> str:
    if name.startswith("chr"):
        return name
    return "chrM" if name == "MT" else f"chr{name}"


def identify_assembly(chrom_sizes: Mapping[str, int]) -> str:
    """The assembly whose chromosome lengths a genome's sequences have.

    Parameters
    ----------
    chrom_sizes : mapping sequence name -> length (bp), e.g. ``Genome.chrom_sizes``

    Returns
    -------
    ``"hg19"``, ``"GRCh38"`` or ``"unknown"`` (no sequence matches, or one of
    the assembly's chromosome names has another length).
    """
    sizes = {_ucsc_name(str(k)): int(v) for k, v in chrom_sizes.items()}
    found = []
    for assembly, resource in _RESOURCE.items():
        known = assembly_chrom_sizes(resource)
        shared = [c for c in sizes if c in known]
        if shared and all(sizes[c] == known[c] for c in shared):
            found.append(assembly)
    return found[0] if len(found) == 1 else UNKNOWN


def genome_assembly(genome) -> str:
    """:func:`identify_assembly` of a :class:`speidlib.data.genome.Genome` or a FASTA path."""

    if hasattr(genome, "chrom_sizes"):
        return identify_assembly(genome.chrom_sizes)
    with Genome(genome) as g:
        return identify_assembly(g.chrom_sizes)


def check_assembly(found: str, expected: str, what: str) -> None:
    """Raise ValueError unless ``found`` is ``expected``.

    Parameters
    ----------
    found : the genome's assembly (:func:`identify_assembly`)
    expected : the assembly the coordinates are in
    what : the genome, named for the message (e.g. its path)
    """
    if found != expected:
        how = ("its chromosome lengths match neither hg19 nor GRCh38" if found == UNKNOWN
               else f"its chromosome lengths are {found}'s")
        raise ValueError(f"genome {what} is not {expected}: {how}; the coordinates need a "
                         f"{expected} FASTA")
