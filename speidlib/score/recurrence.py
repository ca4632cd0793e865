"""The per-element and per-pair parts of the projection cache's LSTM recurrence.

:class:`Direction` holds one LSTM direction with the merge BatchNorm folded
into its input kernel. Used by
:class:`speidlib.score.projection.ProjectionCachedScorer`:

* per element: its branch and its projection ``BN(x) W + b`` for both
  directions (:func:`element_function`, a TensorFlow function of fixed shape on
  int8 base codes, traced once per model and batch size, run through
  :func:`speidlib.model.infer.infer_batch`), then in numpy the recurrence that
  the element determines alone, its *prefix* (:func:`element_prefix`);
* per pair (:func:`run_pairs`): the rest of both recurrences, in numpy, then
  the head through ``infer_batch``.

The recurrences run in numpy on one BLAS thread per part of the rows, parts on
threads side by side (:func:`map_rows`). Measured: an XLA-compiled
``tf.while_loop`` was up to 2x slower than numpy for the pairs' small products,
``(b, U) @ (U, 4U)``, and about 6x slower for the elements' prefixes.
"""
from __future__ import annotations

import numpy as np

from speidlib.runtime import map_threads


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``0.5 * (1 + tanh(x / 2))``, updated in place on one temporary (fewer passes and allocations)."""
    s = np.tanh(0.5 * x)
    s += 1.0
    s *= 0.5
    return s


def numpy_activation(fn):
    """numpy form of an LSTM cell's activation function (matched by its name)."""
    name = getattr(fn, "__name__", str(fn))
    acts = {
        "tanh": np.tanh,
        "sigmoid": _sigmoid,
        "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
        "keras1_hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
        "relu": lambda x: np.maximum(x, 0.0),
        "linear": lambda x: x,
    }
    if name not in acts:
        raise ValueError(f"the LSTM uses activation {name!r}; the projection cache supports "
                         f"{', '.join(acts)} (use --no-cache)")
    return acts[name]


class Direction:
    """One LSTM direction: BatchNorm folded into its input kernel.

    Attributes
    ----------
    kernel : shape=(K, 4U) float32, ``diag(bn_scale) W``
    bias : shape=(4U,) float32, ``bn_shift W + b``
    recurrent : shape=(U, 4U) float32
    units : U
    act, rec_act : the cell's activation and recurrent (gate) activation
    """

    def __init__(self, lstm, bn_scale: np.ndarray, bn_shift: np.ndarray):
        kernel, recurrent, *bias = [np.asarray(w, dtype=np.float64) for w in lstm.get_weights()]
        b = bias[0] if bias else np.zeros(kernel.shape[1])
        # BN(x) W + b == x (diag(scale) W) + (shift W + b)
        self.kernel = (bn_scale[:, None] * kernel).astype(np.float32)
        self.bias = (bn_shift @ kernel + b).astype(np.float32)
        self.recurrent = recurrent.astype(np.float32)
        self.units = int(lstm.get_config()["units"])
        self.act = lstm.cell.activation
        self.rec_act = lstm.cell.recurrent_activation
        self.np_act, self.np_rec_act = numpy_activation(self.act), numpy_activation(self.rec_act)

    def run_numpy(self, z: np.ndarray, h: np.ndarray, c: np.ndarray, keep_sequence: bool,
                  rows: np.ndarray | None = None, reverse: bool = False):
        """The recurrence over projected steps, reading each step's inputs from ``z`` as it goes.

        Parameters
        ----------
        z : shape=(n, T, 4U), projected inputs in time order (e.g. a pool of elements)
        h, c : shape=(b, U), the state to start from
        keep_sequence : also return every step's output
        rows : shape=(b,), the rows of ``z`` to run (None: all ``n``)
        reverse : run from the last step to the first

        Returns
        -------
        h, c : shape=(b, U); seq : shape=(b, T, U) in processing order, or None.
        Each step gathers its ``(b, 4U)`` inputs (no ``(b, T, 4U)`` copy, which
        measured 15-20% slower). Run it with one BLAS thread: the products are small.
        """
        u, steps = self.units, z.shape[1]
        flat = z.reshape(-1, z.shape[2])  # a view of a contiguous pool
        base = (np.arange(len(z)) if rows is None else np.asarray(rows, dtype=np.int64)) * steps
        seq = np.empty((len(base), steps, u), np.float32) if keep_sequence else None
        step = np.empty((len(base), 4 * u), np.float32)
        gates = np.empty((len(base), 4 * u), np.float32)  # reused: no allocation per step
        for i in range(steps):
            np.take(flat, base + (steps - 1 - i if reverse else i), axis=0, out=step, mode="clip")
            np.matmul(h, self.recurrent, out=gates)
            gates += step
            s = self.np_rec_act(gates)  # i, f, (unused), o in one call: fewer numpy calls per step
            c = s[:, u:2 * u] * c + s[:, :u] * self.np_act(gates[:, 2 * u:3 * u])
            h = s[:, 3 * u:] * self.np_act(c)
            if keep_sequence:
                seq[:, i] = h
        return h, c, seq


def row_parts(n: int, threads: int, min_rows: int = 32) -> list[slice]:
    """``n`` rows cut into at most ``threads`` contiguous parts of at least ``min_rows`` rows."""
    parts = max(1, min(int(threads), n // min_rows))
    bounds = np.linspace(0, n, parts + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def map_rows(fn, n: int, threads: int) -> list:
    """``fn(rows)`` for the parts of :func:`row_parts`, on ``threads`` threads at once.

    The recurrence's numpy calls on ``(rows, 4U)`` arrays release the interpreter
    lock for most of their time, so row parts run side by side (measured on
    2 quiet cores, ``cpu`` preset, 1,024 rows of 149 steps: 1.6-2.2x faster on
    two threads than on one). The threads are the process's one pool
    (:func:`speidlib.runtime.map_threads`).
    """
    return map_threads(fn, row_parts(n, threads), threads)


def default_threads() -> int:
    """Threads for the numpy recurrence: the CPUs this process may use, at most 8.

    ``joblib.cpu_count`` honours the CPU affinity and a container's CPU quota
    (Binder's, say, where ``os.cpu_count`` reports the host's CPUs).
    """
    import joblib

    return max(1, min(8, joblib.cpu_count()))


def element_function(branch_model, forward: Direction, backward: Direction, batch: int, window: int):
    """Branch and projection of a batch of elements, for both LSTM directions.

    The one-hot encoding happens inside (base codes 0-4, N all zeros as
    :func:`speidlib.data.encode.one_hot`); the projection is one matrix product,
    ``(K, 8U)``. The element's own recurrence (its prefix, :func:`element_prefix`)
    runs in numpy: an XLA-compiled ``tf.while_loop`` over 256 ``cpu`` enhancers
    took about 0.6 ms a step, numpy on two threads about 0.1 ms.

    Returns
    -------
    tf.function, int8 base codes shape=(batch, window) -> shape=(batch, T, 8U):
    ``BN(x) W + b`` of the forward direction (the first ``4U`` columns), then of the
    backward one
    """
    import tensorflow as tf

    w = tf.constant(np.concatenate([forward.kernel, backward.kernel], axis=1))
    b = tf.constant(np.concatenate([forward.bias, backward.bias]))

    @tf.function(input_signature=[tf.TensorSpec((batch, window), tf.int8)], reduce_retracing=True)
    def run(codes):
        x = tf.one_hot(tf.cast(codes, tf.int32), 4, dtype=tf.float32)    # N (4): all zeros
        feats = branch_model(x, training=False)                             # (b, T, K)
        return tf.einsum("btk,kj->btj", feats, w) + b                       # (b, T, 8U)

    return run


def element_prefix(own: Direction, z: np.ndarray, sequences: bool, reverse: bool,
                   threads: int = 1) -> np.ndarray:
    """The recurrence an element determines alone: its own direction over its steps.

    The forward LSTM reads the enhancer's steps first and the backward LSTM the
    promoter's (last to first), so the forward state after the enhancer and the
    backward state after the promoter depend on that element alone.

    Parameters
    ----------
    own : the element's own direction (enhancers: forward; promoters: backward)
    z : shape=(n, T, 4U), contiguous, the element's projection for that direction, time order
    reverse : run from the last step to the first (promoters)

    Returns
    -------
    shape=(n, 2 [+ T], U): ``h``, ``c`` after the element's steps and (LSTM
    sequences) each step's output in processing order
    """
    zeros = np.zeros((len(z), own.units), np.float32)

    def part(rows: slice) -> np.ndarray:
        idx = np.arange(rows.start, rows.stop)
        h, c, seq = own.run_numpy(z, zeros[rows], zeros[rows], sequences, rows=idx, reverse=reverse)
        return np.concatenate([h[:, None], c[:, None]] + ([seq] if sequences else []), axis=1)

    return np.concatenate(map_rows(part, len(z), threads))


def run_pairs(forward: Direction, backward: Direction, enh, enh_rows, prom, prom_rows, enh_prefix,
              prom_prefix, sequences: bool, threads: int = 1) -> np.ndarray:
    """The rest of both recurrences for a batch of pairs: the head's input features.

    The pairs are cut into parts run on ``threads`` threads (:func:`map_rows`);
    within a part the two directions run one after the other.

    Parameters
    ----------
    enh : shape=(n_e, Te, 4U), enhancers' backward projections (e.g. a pool)
    enh_rows : shape=(b,), each pair's row of ``enh``
    prom : shape=(n_p, Tp, 4U), promoters' forward projections
    prom_rows : shape=(b,), each pair's row of ``prom``
    enh_prefix, prom_prefix : shape=(b, 2 [+ Te], U), shape=(b, 2 [+ Tp], U), the pairs' prefixes

    Returns
    -------
    shape=(b, 2U), or (LSTM sequences) shape=(b, Te + Tp, 2U): the BiLSTM's output
    """
    def part(r: slice) -> np.ndarray:
        ep, pp = enh_prefix[r], prom_prefix[r]
        # forward: from the enhancer's prefix over the promoter's steps; backward: from
        # the promoter's prefix over the enhancer's steps, last to first
        hf, _, seq_f = forward.run_numpy(prom, ep[:, 0], ep[:, 1], sequences, rows=prom_rows[r])
        hb, _, seq_b = backward.run_numpy(enh, pp[:, 0], pp[:, 1], sequences, rows=enh_rows[r], reverse=True)
        if not sequences:
            return np.concatenate([hf, hb], axis=-1)
        f = np.concatenate([ep[:, 2:], seq_f], axis=1)
        # Bidirectional flips the backward outputs back into time order
        b = np.concatenate([pp[:, 2:], seq_b], axis=1)[:, ::-1]
        return np.concatenate([f, b], axis=-1)

    return np.concatenate(map_rows(part, len(enh_rows), threads))
