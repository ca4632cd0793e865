"""Pair tables, genome windows, encoding, splits, leakage and the run's dataset: no model here.

Modules: ``encode`` (bases <-> int8 codes <-> one-hot), ``regions`` (windows around
elements), ``genome`` (FASTA access), ``pairs`` (TargetFinder / BEDPE tables),
``splits``, ``leakage``, ``dataset`` (``speid prepare`` and ``Dataset``),
``batches`` (the Keras batch source), ``jaspar`` (the offline motif database).
"""
