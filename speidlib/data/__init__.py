"""Pair tables, genome windows, encoding, splits, leakage and the run's dataset: no model here.

Modules: ``encode`` (bases <-> int8 codes <-> one-hot), ``regions`` (windows around
elements), ``genome`` (FASTA access), ``pairs`` (TargetFinder / BEDPE tables),
``candidates`` (every pair within a distance), ``splits``, ``leakage``, ``dataset``
(``speid prepare`` and ``Dataset``), ``batches`` (the Keras batch sources), ``kmers``,
``jaspar`` (the offline motif database), ``random_genome``, ``crispr`` (the CRISPRi
benchmark table) and ``vcf``. The verbs below import from here; each loads its
module on first use, so ``import speidlib.data`` loads no TensorFlow.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "dataset": ("prepare", "PrepareConfig", "Dataset"),
    "genome": ("Genome",),
    "encode": ("decode", "one_hot", "reverse_complement"),
    "pairs": ("read_pairs", "write_pairs", "download_targetfinder", "targetfinder_path",
             "targetfinder_download", "TARGETFINDER_CELLS"),
    "candidates": ("read_bed", "write_candidates"),
    "splits": ("split_pairs", "split_summary"),
    "leakage": ("leakage_report",),
    "kmers": ("kmer_counts", "kmer_names"),
    "jaspar": ("load_motifs", "get_motif", "read_meme", "write_meme"),
    "random_genome": ("write_random_genome",),
    "crispr": ("read_crispr_benchmark", "evaluable_pairs"),
    "vcf": ("read_vcf",),
    "batches": ("BatchSource", "PairBatches", "ArrayBatches"),
})
