"""Scoring pairs of elements: one verb, :func:`score_pairs`, over two paths.

Every caller that scores (enhancer, promoter) pairs with a SPEID model (``speid
score``, ``speid evaluate``, the CRISPRi benchmark, the cross-cell matrix, motif
ablation, kernel silencing and in-silico mutagenesis, the benchmarks) states the
pairs the same way: the distinct elements' windows as int8 base codes and each
pair's row in them. :func:`make_scorer` returns a :class:`Scorer` for a model:

* ``cache=True`` (the default): :class:`~speidlib.score.projection.ProjectionCachedScorer`,
  each distinct element through its branch and its share of the BiLSTM input
  projection once, the rest of the recurrence per pair in numpy. It replaced an
  element cache that kept the branch outputs and ran the pair part in Keras: the
  projection cache is what ``speid score`` measured fastest, holds only the
  elements near the pairs being scored, and agrees with the whole model within
  1e-5 (tests/test_score_cache.py, every preset).
* ``cache=False``: :class:`NaiveScorer`, every pair through the whole model (the
  reference; for a model the projection cache cannot fold).

Both size their batches by memory: a batch's convolution output stays within
:data:`CONV_BATCH_BYTES` (:func:`speidlib.model.infer.rows_within`).
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from speidlib.data.encode import one_hot
from speidlib.model.build import model_inputs
from speidlib.model.infer import predict, rows_within
from speidlib.model.tree import walk_layers
from speidlib.score.projection import ProjectionCachedScorer

#: bytes of one batch's convolution output (float32, window x kernels, both branches) that
#: set the batch size: ``paper`` pairs of 3 kb and 2 kb windows (20 MB each) run 16 at a
#: time, not 256 (a 5 GB intermediate)
CONV_BATCH_BYTES = 512 * 2**20


class Scorer(Protocol):
    """What scores pairs: :class:`NaiveScorer` or :class:`~speidlib.score.projection.ProjectionCachedScorer`."""

    def score(self, enhancer_codes, promoter_codes, enhancer_index, promoter_index,
              progress: bool = False) -> np.ndarray:
        """Scores, shape=(n_pairs,) float64, in the order of the given pairs.

        Parameters
        ----------
        enhancer_codes : shape=(n_enhancers, We) int8 windows of the distinct enhancers
        promoter_codes : shape=(n_promoters, Wp) int8
        enhancer_index, promoter_index : shape=(n_pairs,), each pair's rows of those
        """


def conv_bytes_per_row(model) -> int:
    """Bytes of one pair's convolution output in ``model``: 4 x window x kernels, both branches
    (a model without a convolution: 4 x window x 4, its one-hot input)."""
    kernels = [int(layer.filters) for layer in walk_layers(model) if hasattr(layer, "filters")]
    return sum(4 * int(inp.shape[1]) * max(kernels, default=4) for inp in model.inputs)


class NaiveScorer:
    """Every pair through the whole model, in batches whose convolution output fits the budget.

    Parameters
    ----------
    model : SPEID keras.Model
    batch_size : the most pairs per forward pass; fewer where the convolution output
        of a batch would pass :data:`CONV_BATCH_BYTES` (:attr:`batch_size` is what runs)
    """

    def __init__(self, model, batch_size: int = 256):
        self.model = model
        self.batch_size = rows_within(CONV_BATCH_BYTES, conv_bytes_per_row(model), most=batch_size)

    def score(self, enhancer_codes, promoter_codes, enhancer_index, promoter_index,
              progress: bool = False) -> np.ndarray:
        """Scores, shape=(n_pairs,); arguments as :meth:`Scorer.score`."""
        e, p = np.asarray(enhancer_index), np.asarray(promoter_index)
        if e.shape != p.shape:
            raise ValueError(f"{len(e)} enhancer indices but {len(p)} promoter indices")
        out = predict(self.model, lambda rows: model_inputs(self.model, one_hot(enhancer_codes[e[rows]]),
                                                            one_hot(promoter_codes[p[rows]])),
                      n=len(e), batch_size=self.batch_size, progress=progress, desc="scoring pairs")
        return out.reshape(-1).astype(np.float64)


def make_scorer(model, cache: bool = True, batch_size: int = 256, threads: int | None = None) -> Scorer:
    """The scorer of ``model``: projection-cached (``cache``) or per pair.

    ``batch_size``: elements (cached) or pairs (per pair) per forward pass, at most;
    ``threads``: the cached path's numpy recurrence threads (None: the CPUs, at most 8).
    Build it once and call :meth:`Scorer.score` per chromosome or table: the cached
    path traces its functions once per scorer.
    """
    if cache:
        return ProjectionCachedScorer(model, batch_size=batch_size, threads=threads)
    return NaiveScorer(model, batch_size=batch_size)


def score_pairs(model, enhancer_codes, promoter_codes, enhancer_index, promoter_index, cache: bool = True,
                batch_size: int = 256, threads: int | None = None, progress: bool = False) -> np.ndarray:
    """Scores of pairs, shape=(n_pairs,) float64: ``make_scorer(...).score(...)`` in one call.

    Parameters as :meth:`Scorer.score` and :func:`make_scorer`.
    """
    return make_scorer(model, cache, batch_size, threads).score(
        enhancer_codes, promoter_codes, enhancer_index, promoter_index, progress=progress)


def score_pairs_naive(model, enhancer_codes, promoter_codes, enhancer_index, promoter_index,
                      batch_size: int = 256, progress: bool = False) -> np.ndarray:
    """Per-pair scores through the whole model (the reference): ``score_pairs(..., cache=False)``."""
    return NaiveScorer(model, batch_size).score(enhancer_codes, promoter_codes, enhancer_index,
                                                promoter_index, progress=progress)
