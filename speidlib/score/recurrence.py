"""The per-element and per-pair parts of the projection cache's LSTM recurrence.

:class:`Direction` holds one LSTM direction with the merge BatchNorm folded
into its input kernel. Used by
:class:`speidlib.score.projection.ProjectionCachedScorer`:

* per element (:func:`element_function`, a TensorFlow function of fixed shape
  on int8 base codes, traced once per model and batch size, run through
  :func:`speidlib.model.infer.infer_batch`): its branch, its projection ``BN(x) W + b`` for both directions
  (one matrix product, ``(K, 8U)``), the recurrence that the element determines
  alone (its *prefix*), flattened into one array;
* per pair (:func:`run_pairs`): the rest of both recurrences, in numpy
  (measured: an XLA-compiled
  ``tf.while_loop`` was up to 2x slower than numpy on one BLAS thread for these
  small products, ``(b, U) @ (U, 4U)``), then the head through ``infer_batch``.
"""
from __future__ import annotations

import numpy as np


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
        """:meth:`run` in numpy, reading each step's inputs from ``z`` as it goes.

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

    def run(self, z, h, c, keep_sequence: bool):
        """The recurrence over projected steps, inside a TensorFlow function.

        Parameters
        ----------
        z : tensor shape=(T, b, 4U), the projected inputs, time-major in processing order
        h, c : tensors shape=(b, U), the state to start from
        keep_sequence : also return every step's output

        Returns
        -------
        h, c : shape=(b, U) after the last step; seq : shape=(T, b, U) (processing
        order) or None
        """
        import tensorflow as tf

        u, steps = self.units, int(z.shape[0])
        rec, act, rec_act = tf.constant(self.recurrent), self.act, self.rec_act
        seq = tf.TensorArray(tf.float32, size=steps) if keep_sequence else None

        def body(t, h, c, *acc):
            gates = z[t] + tf.matmul(h, rec)
            s = rec_act(gates)  # i, f, (unused), o in one call
            c = s[:, u:2 * u] * c + s[:, :u] * act(gates[:, 2 * u:3 * u])
            h = s[:, 3 * u:] * act(c)
            return (t + 1, h, c) + ((acc[0].write(t, h),) if acc else ())

        out = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), h, c, *([seq] if seq else [])))
        return out[1], out[2], (out[3].stack() if keep_sequence else None)


def element_function(branch_model, forward: Direction, backward: Direction, which: str,
                     sequences: bool, batch: int, window: int):
    """Branch, projection and prefix of a batch of elements, as one flat array.

    The forward LSTM reads the enhancer's steps first and the backward LSTM the
    promoter's (last to first), so the forward state after the enhancer and the
    backward state after the promoter depend on that element alone (its prefix).
    A pair needs the other direction's projection of each element: the
    enhancer's backward, the promoter's forward one.

    The one-hot encoding happens inside (base codes 0-4, N all zeros as
    :func:`speidlib.data.encode.one_hot`), and the prefix recurrence is an
    XLA-compiled function of its own (measured on the ``cpu`` preset, 256
    enhancers of 3 kb: 0.145 s before, 0.127 s with both).

    Returns
    -------
    tf.function, int8 base codes shape=(batch, window) -> shape=(batch, T * 4U + R * U):
    the projection kept for pairs, shape=(T, 4U), then the prefix rows, shape=(R, U),
    ``h``, ``c`` and (LSTM sequences) each step's output in processing order
    (``R = 2 [+ T]``); see :func:`split_element`.
    """
    import tensorflow as tf

    enh = which == "enhancer"
    own, kept = (forward, backward) if enh else (backward, forward)
    w = tf.constant(np.concatenate([own.kernel, kept.kernel], axis=1))
    b = tf.constant(np.concatenate([own.bias, kept.bias]))
    width = 4 * own.units

    @tf.function(jit_compile=True)
    def prefix_rows(z):
        zeros = tf.zeros((batch, own.units), tf.float32)
        h, c, seq = own.run(z, zeros, zeros, sequences)
        return [h[:, None], c[:, None]] + ([tf.transpose(seq, (1, 0, 2))] if sequences else [])

    @tf.function(input_signature=[tf.TensorSpec((batch, window), tf.int8)], reduce_retracing=True)
    def run(codes):
        x = tf.one_hot(tf.cast(codes, tf.int32), 4, dtype=tf.float32)    # N (4): all zeros
        feats = branch_model(x, training=False)                             # (b, T, K)
        proj = tf.einsum("btk,kj->btj", feats, w) + b                       # (b, T, 8U)
        z = tf.transpose(proj[:, :, :width], (1, 0, 2))                     # (T, b, 4U)
        prefix = prefix_rows(z if enh else z[::-1])
        return tf.concat([tf.reshape(proj[:, :, width:], (batch, -1)),
                          tf.reshape(tf.concat(prefix, axis=1), (batch, -1))], axis=1)

    return run


def split_element(flat: np.ndarray, steps: int, units: int):
    """The parts of :func:`element_function`'s output: (projection (n, T, 4U), prefix (n, R, U))."""
    n, cut = len(flat), steps * 4 * units
    return flat[:, :cut].reshape(n, steps, 4 * units), flat[:, cut:].reshape(n, -1, units)


def run_pairs(forward: Direction, backward: Direction, enh, enh_rows, prom, prom_rows, enh_prefix,
              prom_prefix, sequences: bool) -> np.ndarray:
    """The rest of both recurrences for a batch of pairs: the head's input features.

    The two directions run one after the other (on two threads at once they were
    no faster on the shared 2-core machine: numpy's calls on ``(b, 4U)`` arrays
    are too short to release the interpreter lock for long).

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
    # forward: from the enhancer's prefix over the promoter's steps; backward: from
    # the promoter's prefix over the enhancer's steps, last to first
    hf, _, seq_f = forward.run_numpy(prom, enh_prefix[:, 0], enh_prefix[:, 1], sequences, rows=prom_rows)
    hb, _, seq_b = backward.run_numpy(enh, prom_prefix[:, 0], prom_prefix[:, 1], sequences, rows=enh_rows,
                                      reverse=True)
    if not sequences:
        return np.concatenate([hf, hb], axis=-1)
    f = np.concatenate([enh_prefix[:, 2:], seq_f], axis=1)
    # Bidirectional flips the backward outputs back into time order
    b = np.concatenate([prom_prefix[:, 2:], seq_b], axis=1)[:, ::-1]
    return np.concatenate([f, b], axis=-1)
