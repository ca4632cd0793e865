"""Scoring pairs with a trained model.

The verb is :func:`score_pairs` (:mod:`speidlib.score.pairs`): pairs given as the
distinct elements' int8 windows and each pair's rows, scored by one of two paths
behind the :class:`Scorer` protocol, :func:`make_scorer` picking:
:class:`ProjectionCachedScorer` (``projection`` and ``recurrence``: each element's
branch and BiLSTM input projection once, the rest of the recurrence per pair in
numpy) or :class:`NaiveScorer` (the whole model per pair). ``genome_wide`` cuts a
pair file into chromosomes and reads their windows, ``formats`` writes and reads
the links files, and ``run`` is ``speid score`` (:func:`run_score`). The verbs below
load their module on first use.
"""
from speidlib.runtime import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "pairs": ("score_pairs", "make_scorer", "Scorer", "NaiveScorer", "score_pairs_naive"),
    "projection": ("ProjectionCachedScorer",),
    "genome_wide": ("iter_chromosomes", "chromosome_windows"),
    "formats": ("read_links", "write_links"),
    "run": ("run_score", "element_windows"),
})
