"""Scoring pairs with a trained model.

The verb is :func:`score_pairs` (:mod:`speidlib.score.pairs`): pairs given as the
distinct elements' int8 windows and each pair's rows, scored by one of two paths
behind the :class:`Scorer` protocol, :func:`make_scorer` picking:
:class:`ProjectionCachedScorer` (``projection`` and ``recurrence``: each element's
branch and BiLSTM input projection once, the rest of the recurrence per pair in
numpy) or :class:`NaiveScorer` (the whole model per pair). ``genome_wide`` cuts a
pair file into chromosomes and reads their windows, ``formats`` writes and reads
the links files, and ``run`` is ``speid score`` (:func:`run_score`).
"""
from speidlib.score.formats import read_links, write_links
from speidlib.score.genome_wide import chromosome_windows, iter_chromosomes
from speidlib.score.pairs import NaiveScorer, Scorer, make_scorer, score_pairs, score_pairs_naive
from speidlib.score.projection import ProjectionCachedScorer
from speidlib.score.run import element_windows, run_score

__all__ = ["NaiveScorer", "ProjectionCachedScorer", "Scorer", "chromosome_windows", "element_windows",
           "iter_chromosomes", "make_scorer", "read_links", "run_score", "score_pairs", "score_pairs_naive",
           "write_links"]
