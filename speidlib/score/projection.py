"""Scoring pairs with each element's share of the BiLSTM input projection cached.

After the two branches, SPEID concatenates the enhancer's ``Te`` and the
promoter's ``Tp`` feature vectors along *time*; the merge BatchNorm and the
LSTM input projection ``x W + b`` then act on each time step on its own
(dropout is off at inference). So each element's part of the projection,
``BN(x) W + b`` for the forward and the backward LSTM (shape=(T, 4 * units)
each), can be computed once per element, and so can the part of the
recurrence that one element determines alone (its *prefix*: the forward LSTM
reads the enhancer first, the backward LSTM the promoter); per pair only
``Tp`` forward and ``Te`` backward steps and the dense head remain.

:class:`ProjectionCachedScorer` keeps a pool of projected elements that is
filled in first-use order (element batches through one compiled function per
branch, :func:`speidlib.score.recurrence.element_function`: branch and
projection; then the prefix in numpy,
:func:`speidlib.score.recurrence.element_prefix`) and emptied as soon as an
element's last pair is scored. With pairs in genome order (enhancer, then
promoter) the pool holds only the elements near the pairs being scored, so
memory does not grow with the number of pairs. Each fixed-size pair batch runs
the rest of the recurrence in numpy, parts of the batch on threads side by
side, reading each step's projections from the pools
(:func:`speidlib.score.recurrence.run_pairs`), then the head through
:func:`speidlib.model.infer.infer_batch`.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from speidlib import schema
from speidlib.data.encode import check_codes
from speidlib.model.build import branch_and_pair_models, split_model
from speidlib.model.infer import infer_batch, predict, rows_within
from speidlib.score.recurrence import (
    Direction,
    default_threads,
    element_function,
    element_prefix,
    run_pairs,
)

#: the last, partial element batch of a chromosome runs in batches of this many rows
TAIL_BATCH = 32
#: bytes of one element batch's convolution output (float32, window x kernels) that set
#: its size: ``paper`` enhancers of 3 kb (12 MB each) run 32 at a time, which measured
#: 6.8 ms an element against 7.5 ms in batches of 256 (and 5.6 s for a first batch
#: of 256 after other work, whose 3 GB intermediate is allocated anew)
ELEMENT_BATCH_BYTES = 512 * 2**20
#: bytes of the projections one pair batch reads that set the default pair batch
PAIR_BATCH_BYTES = 128 * 2**20


class _Compiled:
    """A compiled function in the shape :func:`speidlib.model.infer.infer_batch` calls."""

    def __init__(self, fn):
        self.fn = fn

    def predict_on_batch(self, x):
        return self.fn(x).numpy()


class _Pool:
    """One branch's projections kept for pairs, shape=(capacity, T, 4U), and prefixes, in slots."""

    def __init__(self, n_elements: int, steps: int, width: int, prefix_rows: int, units: int):
        self.data = np.empty((0, steps, width), dtype=np.float32)
        self.prefix = np.empty((0, prefix_rows, units), dtype=np.float32)
        self.free: list[int] = []
        self.slot = np.full(n_elements, -1, dtype=np.int64)
        self.live = self.peak = 0

    def add(self, elements: np.ndarray, projected: np.ndarray, prefix: np.ndarray) -> None:
        if len(self.free) < len(elements):
            old = len(self.data)
            grow = max(len(elements) - len(self.free), old, 16)
            self.data = np.concatenate([self.data, np.empty((grow, *self.data.shape[1:]), np.float32)])
            self.prefix = np.concatenate([self.prefix, np.empty((grow, *self.prefix.shape[1:]), np.float32)])
            self.free.extend(range(old + grow - 1, old - 1, -1))
        slots = np.array(self.free[-len(elements):][::-1], dtype=np.int64)
        del self.free[-len(elements):]
        self.data[slots] = projected
        self.prefix[slots] = prefix
        self.slot[elements] = slots
        self.live += len(elements)
        self.peak = max(self.peak, self.live)

    def drop(self, elements: np.ndarray) -> None:
        slots = self.slot[elements]
        slots = slots[slots >= 0]
        self.free.extend(slots.tolist())
        self.live -= len(slots)
        self.slot[elements] = -1


class ProjectionCachedScorer:
    """Score pairs from cached per-element LSTM input projections and recurrence prefixes.

    Parameters
    ----------
    model : SPEID keras.Model (``speidlib.model.build_model`` or ``RUN/model.keras``)
    batch_size : elements brought into the pool at a time; each branch runs them in
        batches of at most this many, fewer where the convolution output would pass
        :data:`ELEMENT_BATCH_BYTES` (:attr:`element_batch`), and a chromosome's last,
        partial batch in batches of :data:`TAIL_BATCH`
    pair_batch : pairs per recurrence and head batch; None: the largest power
        of two from 64 to 1,024 whose projections (read step by step) take at most
        :data:`PAIR_BATCH_BYTES`
    threads : threads for the numpy recurrences (None: :func:`~speidlib.score.recurrence.default_threads`)

    Attributes
    ----------
    stats : dict of the last :meth:`score` call: ``n_pairs``, ``n_enhancers``,
        ``n_promoters`` (distinct elements projected) and ``peak_enhancers``,
        ``peak_promoters`` (most elements held at once)
    """

    def __init__(self, model, batch_size: int = 256, pair_batch: int | None = None,
                 threads: int | None = None):
        self.enhancer_branch, self.promoter_branch, _ = branch_and_pair_models(model)
        _, self.head = split_model(model)
        bn = model.get_layer(schema.MERGE_BATCHNORM)
        gamma, beta, mean, var = [np.asarray(w, dtype=np.float64) for w in bn.get_weights()] \
            if bn.scale and bn.center else self._bn_weights(bn)
        scale = gamma / np.sqrt(var + bn.epsilon)
        shift = beta - mean * scale
        bilstm = model.get_layer(schema.FEATURES_LAYER)
        if bilstm.merge_mode != "concat":
            raise ValueError(f"the projection cache needs merge_mode='concat', the model has "
                             f"{bilstm.merge_mode!r} (use --no-cache)")
        self.forward = Direction(bilstm.forward_layer, scale, shift)
        self.backward = Direction(bilstm.backward_layer, scale, shift)
        self.sequences = bool(bilstm.return_sequences)
        self.steps = {"enhancer": int(self.enhancer_branch.output.shape[1]),
                      "promoter": int(self.promoter_branch.output.shape[1])}
        self.windows = {"enhancer": int(self.enhancer_branch.input.shape[1]),
                        "promoter": int(self.promoter_branch.input.shape[1])}
        self.batch_size = int(batch_size)
        self.threads = int(threads) if threads else default_threads()
        self.element_batch = {}
        for branch, m in (("enhancer", self.enhancer_branch), ("promoter", self.promoter_branch)):
            per_element = 4 * self.windows[branch] * int(m.output.shape[-1])
            self.element_batch[branch] = rows_within(ELEMENT_BATCH_BYTES, per_element, most=self.batch_size)
        per_pair = 16 * self.forward.units * (self.steps["enhancer"] + self.steps["promoter"])
        self.pair_batch = int(pair_batch) if pair_batch else \
            int(np.clip(rows_within(PAIR_BATCH_BYTES, per_pair), 64, 1024))
        self._compiled: dict = {}
        self.stats: dict = {}

    @staticmethod
    def _bn_weights(bn):
        w = {v.path.split("/")[-1]: np.asarray(v, dtype=np.float64) for v in bn.weights}
        k = len(w["moving_mean"])
        return (w.get("gamma", np.ones(k)), w.get("beta", np.zeros(k)), w["moving_mean"],
                w["moving_variance"])

    def _element_fn(self, branch: str, size: int) -> _Compiled:
        key = (branch, size)
        if key not in self._compiled:
            model = self.enhancer_branch if branch == "enhancer" else self.promoter_branch
            self._compiled[key] = _Compiled(element_function(model, self.forward, self.backward, size,
                                                             self.windows[branch]))
        return self._compiled[key]

    def project(self, branch: str, codes: np.ndarray):
        """Projection kept for pairs and prefix of a batch of elements.

        Parameters
        ----------
        branch : ``"enhancer"`` or ``"promoter"``
        codes : shape=(n, W) int8 windows, run in batches of :attr:`element_batch`
            (fewer than that: of :data:`TAIL_BATCH`)

        Returns
        -------
        projected : shape=(n, T, 4U), the enhancers' backward / the promoters' forward
            ``BN(x) W + b``
        prefix : shape=(n, 2 [+ T], U): ``h``, ``c`` of the element's own direction
            after its steps (and, when the LSTM returns sequences, each step's output
            in processing order)
        """
        full = self.element_batch[branch]
        size = full if len(codes) >= full else min(TAIL_BATCH, full)
        codes = check_codes(codes).astype(np.int8, copy=False)  # one-hot inside the compiled function
        proj = predict(self._element_fn(branch, size), lambda rows: codes[rows], n=len(codes),
                       batch_size=size)
        width = 4 * self.forward.units
        enh = branch == "enhancer"
        own = np.ascontiguousarray(proj[:, :, :width] if enh else proj[:, :, width:])
        kept = proj[:, :, width:] if enh else proj[:, :, :width]
        with threadpool_limits(1, user_api="blas"):
            prefix = element_prefix(self.forward if enh else self.backward, own, self.sequences,
                                    reverse=not enh, threads=self.threads)
        return kept, prefix

    def compile(self) -> None:
        """Trace and compile every function :meth:`score` may call (else done on first use)."""
        for branch in ("enhancer", "promoter"):
            for n in {self.element_batch[branch], 1}:
                self.project(branch, np.zeros((n, self.windows[branch]), dtype=np.int8))
        infer_batch(self.head, np.zeros((1, *self.head.input.shape[1:]), np.float32), self.pair_batch)

    def score(self, enhancer_codes, promoter_codes, enhancer_index, promoter_index,
              progress: bool = False) -> np.ndarray:
        """Scores, shape=(n_pairs,), in the order of the given pairs.

        Parameters
        ----------
        enhancer_codes : shape=(n_enhancers, We) int8 windows
        promoter_codes : shape=(n_promoters, Wp) int8 windows
        enhancer_index, promoter_index : shape=(n_pairs,), each pair's elements. Pairs are
            scored sorted by (enhancer, promoter); number elements in genome order to
            keep the pool of projected elements small.
        """
        from tqdm.auto import tqdm

        e_idx = np.asarray(enhancer_index, dtype=np.int64)
        p_idx = np.asarray(promoter_index, dtype=np.int64)
        if e_idx.shape != p_idx.shape:
            raise ValueError(f"{len(e_idx)} enhancer indices but {len(p_idx)} promoter indices")
        n = len(e_idx)
        scores = np.empty(n, dtype=np.float64)
        if n == 0:
            self.stats = {"n_pairs": 0, "n_enhancers": 0, "n_promoters": 0, "peak_enhancers": 0,
                          "peak_promoters": 0}
            return scores
        order = np.lexsort((p_idx, e_idx))
        oe, op = e_idx[order], p_idx[order]
        feeds = [_Feed(self, "enhancer", enhancer_codes, oe), _Feed(self, "promoter", promoter_codes, op)]
        bar = tqdm(total=n, desc="scoring pairs", unit="pair", disable=not progress, mininterval=0.5)
        # The recurrence's products are small ((b, U) @ (U, 4U)); multi-threaded BLAS
        # makes them tens of times slower on a busy machine, so they run on one thread.
        with threadpool_limits(1, user_api="blas"):
            self._score_batches(feeds, oe, op, order, scores, bar)
        bar.close()
        self.stats = {"n_pairs": n, "n_enhancers": feeds[0].n_used, "n_promoters": feeds[1].n_used,
                      "peak_enhancers": feeds[0].pool.peak, "peak_promoters": feeds[1].pool.peak}
        return scores

    def _score_batches(self, feeds, oe, op, order, scores, bar) -> None:
        # (running each batch's recurrence on a worker thread while the next batch's
        # elements go through TensorFlow was measured no faster: 1.34 s vs 1.30 s best
        # of 4 on K562 chr12 + chr22, `cpu`; the machine has 2 cores, TensorFlow uses both)
        n, b = len(oe), self.pair_batch
        pools = [feed.pool for feed in feeds]
        for s in range(0, n, b):
            rows = slice(s, min(s + b, n))
            for feed in feeds:
                feed.fill(rows.stop)
            slots = [pools[0].slot[oe[rows]], pools[1].slot[op[rows]]]
            # the recurrence reads each step's projections straight from the pools
            feats = run_pairs(self.forward, self.backward, pools[0].data, slots[0], pools[1].data, slots[1],
                              pools[0].prefix[slots[0]], pools[1].prefix[slots[1]], self.sequences,
                              threads=self.threads)
            scores[order[rows]] = infer_batch(self.head, feats, b).reshape(-1)
            for feed in feeds:
                feed.release(rows.stop)
            bar.update(rows.stop - rows.start)


class _Feed:
    """Brings one branch's elements into the pool in first-use order, drops them after last use."""

    def __init__(self, scorer: ProjectionCachedScorer, branch: str, codes, ordered_index):
        self.scorer, self.branch, self.codes, self.batch = scorer, branch, codes, scorer.batch_size
        used, first = np.unique(ordered_index, return_index=True)
        last = np.full(len(codes), -1, dtype=np.int64)
        np.maximum.at(last, ordered_index, np.arange(len(ordered_index)))
        self.queue = used[np.argsort(first, kind="stable")]
        self.first = np.sort(first)
        self.by_last = used[np.argsort(last[used], kind="stable")]
        self.last_sorted = np.sort(last[used])
        self.q = self.r = 0
        self.n_used = len(used)
        steps, u = scorer.steps[branch], scorer.forward.units
        self.pool = _Pool(len(codes), steps, 4 * u, 2 + (steps if scorer.sequences else 0), u)

    def fill(self, stop: int) -> None:
        """Project every element first used before pair position ``stop`` (whole batches)."""
        while self.q < len(self.queue) and self.first[self.q] < stop:
            chunk = self.queue[self.q:self.q + self.batch]
            self.pool.add(chunk, *self.scorer.project(self.branch, self.codes[chunk]))
            self.q += len(chunk)

    def release(self, stop: int) -> None:
        """Drop the elements whose last pair lies before position ``stop``."""
        end = int(np.searchsorted(self.last_sorted, stop, side="left"))
        if end > self.r:
            self.pool.drop(self.by_last[self.r:end])
            self.r = end
