"""Scoring pairs with each element's share of the BiLSTM input projection cached.

After the two branches, SPEID concatenates the enhancer's ``Te`` and the
promoter's ``Tp`` feature vectors along *time*; the merge BatchNorm and the
LSTM input projection ``x W + b`` then act on each time step on its own
(dropout is off at inference). So each element's part of the projection,
``BN(x) W + b`` for the forward and the backward LSTM (shape=(T, 4 * units)
each), can be computed once per element; per pair only the recurrence
(``Te + Tp`` steps each way, ``h W_rec``) and the dense head remain.

:class:`ProjectionCachedScorer` keeps a pool of projected elements that is
filled in first-use order (in fixed-size element batches through
:func:`speidlib.model.infer.predict`) and emptied as soon as an element's last
pair is scored. With pairs in genome order (enhancer, then promoter) the pool
holds only the elements near the pairs being scored, so memory does not grow
with the number of pairs. The recurrence runs in numpy on fixed-size pair
batches; the head is run through :func:`speidlib.model.infer.infer_batch`.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from speidlib import schema
from speidlib.data.encode import one_hot
from speidlib.model.build import split_model
from speidlib.model.infer import infer_batch, predict
from speidlib.score.core import branch_and_pair_models


def _activation(fn):
    """numpy form of an LSTM cell's activation function (matched by its name)."""
    name = getattr(fn, "__name__", str(fn))
    acts = {
        "tanh": np.tanh,
        "sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),
        "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
        "keras1_hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
        "relu": lambda x: np.maximum(x, 0.0),
        "linear": lambda x: x,
    }
    if name not in acts:
        raise ValueError(f"the LSTM uses activation {name!r}; the projection cache supports "
                         f"{', '.join(acts)} (use --no-cache)")
    return acts[name]


class _Direction:
    """One LSTM direction: BatchNorm folded into its input kernel, and its recurrence."""

    def __init__(self, lstm, bn_scale, bn_shift):
        cfg = lstm.get_config()
        kernel, recurrent, *bias = [np.asarray(w, dtype=np.float64) for w in lstm.get_weights()]
        b = bias[0] if bias else np.zeros(kernel.shape[1])
        # BN(x) W + b == x (diag(scale) W) + (shift W + b)
        self.kernel = (bn_scale[:, None] * kernel).astype(np.float32)      # (K, 4U)
        self.bias = (bn_shift @ kernel + b).astype(np.float32)              # (4U,)
        self.recurrent = recurrent.astype(np.float32)                       # (U, 4U)
        self.units = int(cfg["units"])
        self.act = _activation(lstm.cell.activation)
        self.rec_act = _activation(lstm.cell.recurrent_activation)

    def project(self, features: np.ndarray) -> np.ndarray:
        """``BN(x) W + b``: features shape=(n, T, K) -> shape=(n, T, 4U), float32."""
        n, t, k = features.shape
        return (features.reshape(n * t, k) @ self.kernel + self.bias).reshape(n, t, -1)

    def run(self, steps, n: int, keep_sequence: bool, state=None):
        """The recurrence over projected steps (given in processing order).

        Parameters
        ----------
        steps : iterable of arrays shape=(n, 4U), the projected inputs in processing order
        n : rows
        keep_sequence : also return every step's output
        state : ``(h, c)``, each shape=(n, U), to continue from; zeros if None

        Returns
        -------
        h : shape=(n, U), the last output; c : shape=(n, U), the last cell state;
        seq : list of shape=(n, U) per step, or None
        """
        u = self.units
        if state is None:
            h = np.zeros((n, u), dtype=np.float32)
            c = np.zeros((n, u), dtype=np.float32)
        else:
            h, c = (np.asarray(a, dtype=np.float32) for a in state)
        seq = [] if keep_sequence else None
        for z in steps:
            z = z + h @ self.recurrent
            gates = self.rec_act(z)  # i, f, (unused), o in one call: fewer numpy calls per step
            g = self.act(z[:, 2 * u:3 * u])
            c = gates[:, u:2 * u] * c + gates[:, :u] * g
            h = gates[:, 3 * u:] * self.act(c)
            if keep_sequence:
                seq.append(h)
        return h, c, seq


class _Pool:
    """Projected elements of one branch, in reusable slots; shape=(capacity, T, 2, 4U)."""

    def __init__(self, n_elements: int, steps: int, width: int, units: int, sequences: bool):
        self.steps, self.width = steps, width
        self.data = np.empty((0, steps, 2, width), dtype=np.float32)
        # the element's own prefix of one direction's recurrence: h and c after its
        # steps (and each step's output when the LSTM returns sequences)
        self.prefix = np.empty((0, 2 + (steps if sequences else 0), units), dtype=np.float32)
        self.free: list[int] = []
        self.slot = np.full(n_elements, -1, dtype=np.int64)
        self.peak = 0

    def add(self, elements: np.ndarray, projected: np.ndarray, prefix: np.ndarray) -> None:
        while len(self.free) < len(elements):
            old = len(self.data)
            grow = max(len(elements) - len(self.free), old, 16)
            self.data = np.concatenate([self.data, np.empty((grow, *self.data.shape[1:]), np.float32)])
            self.prefix = np.concatenate([self.prefix, np.empty((grow, *self.prefix.shape[1:]), np.float32)])
            self.free.extend(range(old + grow - 1, old - 1, -1))
        slots = np.array([self.free.pop() for _ in range(len(elements))], dtype=np.int64)
        self.data[slots] = projected
        self.prefix[slots] = prefix
        self.slot[elements] = slots
        self.peak = max(self.peak, int((self.slot >= 0).sum()))

    def drop(self, elements: np.ndarray) -> None:
        slots = self.slot[elements]
        self.free.extend(int(s) for s in slots[slots >= 0])
        self.slot[elements] = -1


class ProjectionCachedScorer:
    """Score pairs from cached per-element LSTM input projections.

    Parameters
    ----------
    model : SPEID keras.Model (``speidlib.model.build_model`` or ``RUN/model.keras``)
    batch_size : elements per branch batch (every branch pass has this many rows)
    pair_batch : pairs per recurrence and head batch (every head pass has this many
        rows); larger batches spread numpy's per-step overhead over more pairs

    Attributes
    ----------
    stats : dict of the last :meth:`score` call: ``n_pairs``, ``n_enhancers``,
        ``n_promoters`` (distinct elements projected) and ``peak_enhancers``,
        ``peak_promoters`` (most elements held at once)
    """

    def __init__(self, model, batch_size: int = 256, pair_batch: int = 1024):
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
        self.forward = _Direction(bilstm.forward_layer, scale, shift)
        self.backward = _Direction(bilstm.backward_layer, scale, shift)
        self.sequences = bool(bilstm.return_sequences)
        self.batch_size, self.pair_batch = int(batch_size), int(pair_batch)
        self.stats: dict = {}

    @staticmethod
    def _bn_weights(bn):
        w = {v.path.split("/")[-1]: np.asarray(v, dtype=np.float64) for v in bn.weights}
        k = len(w["moving_mean"])
        return (w.get("gamma", np.ones(k)), w.get("beta", np.zeros(k)), w["moving_mean"],
                w["moving_variance"])

    def project(self, branch: str, codes: np.ndarray) -> np.ndarray:
        """Projected windows of one branch: codes shape=(n, W) int8 -> shape=(n, T, 2, 4U)."""
        model = self.enhancer_branch if branch == "enhancer" else self.promoter_branch
        feats = predict(model, lambda rows: one_hot(codes[rows]), n=len(codes),
                        batch_size=self.batch_size)
        return np.stack([self.forward.project(feats), self.backward.project(feats)], axis=2)

    def prefix(self, branch: str, projected: np.ndarray) -> np.ndarray:
        """The part of the recurrence that one element determines alone, shape=(n, 2 [+ T], U).

        The forward LSTM reads the enhancer's steps first and the backward LSTM the
        promoter's (in reverse), so the forward state after the enhancer, and the
        backward state after the promoter, depend on that element only: computed once
        per element, they leave ``Tp`` forward and ``Te`` backward steps per pair.
        Rows: ``h``, ``c`` and, when the LSTM returns sequences, each step's output in
        processing order.
        """
        n, t = projected.shape[:2]
        if branch == "enhancer":
            h, c, seq = self.forward.run((projected[:, i, 0] for i in range(t)), n, self.sequences)
        else:
            h, c, seq = self.backward.run((projected[:, i, 1] for i in range(t - 1, -1, -1)), n,
                                          self.sequences)
        return np.stack([h, c, *(seq or [])], axis=1)

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
        b = self.batch_size
        feeds = [_Feed(self, "enhancer", enhancer_codes, oe, b),
                 _Feed(self, "promoter", promoter_codes, op, b)]
        bar = tqdm(total=n, desc="scoring pairs", unit="pair", disable=not progress, mininterval=0.5)
        with threadpool_limits(1, user_api="blas"):
            self._score_batches(feeds, oe, op, order, scores, bar)
        bar.close()
        self.stats = {"n_pairs": n, "n_enhancers": feeds[0].n_used, "n_promoters": feeds[1].n_used,
                      "peak_enhancers": feeds[0].pool.peak, "peak_promoters": feeds[1].pool.peak}
        return scores

    def _score_batches(self, feeds, oe, op, order, scores, bar) -> None:
        # The recurrence's products are small ((b, U) @ (U, 4U)); multi-threaded BLAS
        # makes them tens of times slower on a busy machine, so they run on one thread.
        n, b = len(oe), self.pair_batch
        for s in range(0, n, b):
            rows = slice(s, min(s + b, n))
            for feed in feeds:
                feed.fill(rows.stop)
            se = feeds[0].pool.slot[oe[rows]]
            sp = feeds[1].pool.slot[op[rows]]
            scores[order[rows]] = self._pairs(feeds[0].pool.data, feeds[1].pool.data,
                                              feeds[0].pool.prefix, feeds[1].pool.prefix, se, sp)
            for feed in feeds:
                feed.release(rows.stop)
            bar.update(rows.stop - rows.start)

    def _pairs(self, enh: np.ndarray, prom: np.ndarray, enh_prefix: np.ndarray, prom_prefix: np.ndarray,
               se: np.ndarray, sp: np.ndarray) -> np.ndarray:
        """Recurrence and head for one batch of pairs given their pool slots, shape=(b,)."""
        te, tp = enh.shape[1], prom.shape[1]
        m = len(se)
        pe, pp = enh_prefix[se], prom_prefix[sp]
        # forward: from the enhancer's prefix over the promoter's steps; backward: from the
        # promoter's prefix over the enhancer's steps, last to first
        hf, _, seq_f = self.forward.run((prom[sp, t, 0] for t in range(tp)), m, self.sequences,
                                        state=(pe[:, 0], pe[:, 1]))
        hb, _, seq_b = self.backward.run((enh[se, t, 1] for t in range(te - 1, -1, -1)), m,
                                         self.sequences, state=(pp[:, 0], pp[:, 1]))
        if self.sequences:
            seq_f = [pe[:, 2 + t] for t in range(te)] + seq_f
            seq_b = [pp[:, 2 + t] for t in range(tp)] + seq_b
            # Bidirectional flips the backward outputs back into time order
            feats = np.concatenate([np.stack(seq_f, axis=1), np.stack(seq_b[::-1], axis=1)], axis=-1)
        else:
            feats = np.concatenate([hf, hb], axis=-1)
        return infer_batch(self.head, feats, self.pair_batch).reshape(-1).astype(np.float64)


class _Feed:
    """Brings one branch's elements into the pool in first-use order, drops them after last use."""

    def __init__(self, scorer: ProjectionCachedScorer, branch: str, codes, ordered_index, batch: int):
        self.scorer, self.branch, self.codes, self.batch = scorer, branch, codes, batch
        used, first = np.unique(ordered_index, return_index=True)
        last = np.full(len(codes), -1, dtype=np.int64)
        np.maximum.at(last, ordered_index, np.arange(len(ordered_index)))
        self.queue = used[np.argsort(first, kind="stable")]
        self.first = np.sort(first)
        self.by_last = used[np.argsort(last[used], kind="stable")]
        self.last_sorted = np.sort(last[used])
        self.q = self.r = 0
        self.n_used = len(used)
        steps = (scorer.enhancer_branch if branch == "enhancer" else scorer.promoter_branch).output.shape[1]
        self.pool = _Pool(len(codes), int(steps), 4 * scorer.forward.units, scorer.forward.units,
                          scorer.sequences)

    def fill(self, stop: int) -> None:
        """Project every element first used before pair position ``stop`` (whole batches)."""
        while self.q < len(self.queue) and self.first[self.q] < stop:
            chunk = self.queue[self.q:self.q + self.batch]
            projected = self.scorer.project(self.branch, self.codes[chunk])
            self.pool.add(chunk, projected, self.scorer.prefix(self.branch, projected))
            self.q += len(chunk)

    def release(self, stop: int) -> None:
        """Drop the elements whose last pair lies before position ``stop``."""
        end = int(np.searchsorted(self.last_sorted, stop, side="left"))
        if end > self.r:
            self.pool.drop(self.by_last[self.r:end])
            self.r = end
