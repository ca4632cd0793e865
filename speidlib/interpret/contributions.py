"""Per-base contribution scores of both windows against a stated reference.

The method is *integrated gradients* (Sundararajan et al. 2017) averaged over
several **dinucleotide-shuffled references** of the pair itself (the
reference DeepLIFT/DeepSHAP use for genomics): for each reference ``r`` the
gradient of the model's logit is averaged along the straight path from ``r``
to the input (``steps`` midpoint-rule points, both windows moving together),
giving a *multiplier* ``m_r[i, b]``. Then, per window,

- **actual** contribution of position ``i``: ``mean_r sum_b m_r[i, b] * (x[i, b] - r[i, b])``;
  summed over both windows this is ``f(x) - mean_r f(r)`` up to the
  quadrature error (*completeness*), ``f`` the logit;
- **hypothetical** contribution of base ``b`` at ``i`` (what TF-MoDISco takes):
  the actual contribution position ``i`` would have if it held base ``b``,
  ``mean_r (m_r[i, b] - sum_b' m_r[i, b'] r[i, b'])`` (DeepLIFT's
  "combine multipliers and difference from reference"); at the input's own
  base it equals the actual contribution.

``method="gradient_x_input"`` is the reference-free shortcut (the gradient
at the input, reference all zeros, one step): fast, no completeness.
The work runs in fixed-shape batches through one compiled TensorFlow function
per model, so memory is bounded by ``batch_size`` interpolated pairs.

**The convolution is computed twice per reference, not once per path point.**
A workbench model's first layer in each branch (:class:`speidlib.model.layers.PooledConv1D`)
is a convolution, linear in the one-hot input, followed by pooling, bias and
activation. Along the path ``r + a (x - r)`` its output is ``C(r) + a (C(x) - C(r))``
and the input gradient is the convolution's transpose applied to the gradient at
its output, so the mean gradient over the path is the transpose of the mean
output gradient. :class:`Attributor` computes ``C(x)`` and ``C(r)`` once, runs
only pooling and the rest of the network at the ``steps`` path points, and
transposes once per reference: the same integrated gradients (to float32
rounding; ``tests/test_contributions.py``) at a fraction of the cost
(``benchmarks/bench_attribute.py``). Other models take every path point through
the whole network.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from speidlib import schema
from speidlib.data.encode import one_hot
from speidlib.interpret.ablation import model_inputs
from speidlib.interpret.kernels import branch_conv
from speidlib.model.build import branch_and_pair_models
from speidlib.model.infer import rows_within

METHODS = ("ig", "gradient_x_input")
_EPS = 1e-7
#: bytes the gradient rows of one call may take: each row's convolution outputs (both
#: branches, float32) times the few copies the gradient tape keeps
GRADIENT_BATCH_BYTES = 512 * 2**20
_TAPE_COPIES = 4


def gradient_rows(model, most: int = 128) -> int:
    """Rows per gradient call that keep the convolution outputs within :data:`GRADIENT_BATCH_BYTES`."""
    try:
        per_row = sum(4 * _TAPE_COPIES * int(branch_conv(model, b).filters) * int(t.shape[1])
                      for b, t in zip(("enhancer", "promoter"), model.inputs))
    except (ValueError, AttributeError):   # a model without the workbench's named convolutions
        return most
    return rows_within(GRADIENT_BATCH_BYTES, per_row, most=most)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}: expected one of {', '.join(METHODS)}")
    return method


def dinucleotide_shuffle(codes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` shuffles of one sequence that keep its dinucleotide counts exactly.

    An Eulerian walk over the sequence's dinucleotide graph (Altschul &
    Erickson 1985): each symbol's list of successors is permuted except its
    last entry, which keeps the walk able to end where the sequence ends.
    N (code 4) is a symbol like the bases, so runs of N keep their length.

    Parameters
    ----------
    codes : shape=(L,), int codes (A=0, C=1, G=2, T=3, N=4)
    n : number of shuffles
    rng : numpy Generator

    Returns
    -------
    shape=(n, L), same dtype; row ``k`` has the first symbol and every
    dinucleotide count of ``codes``.
    """
    codes = np.asarray(codes)
    length = len(codes)
    out = np.empty((n, length), codes.dtype)
    if length < 3:
        out[:] = codes
        return out
    successors = {int(t): codes[1:][codes[:-1] == t] for t in np.unique(codes[:-1])}
    for k in range(n):
        order = {}
        for t, nxt in successors.items():
            perm = np.arange(len(nxt))
            perm[:-1] = rng.permutation(len(nxt) - 1)
            order[t] = nxt[perm].tolist()
        taken = dict.fromkeys(order, 0)
        row = [int(codes[0])]
        for _ in range(length - 1):
            t = row[-1]
            row.append(order[t][taken[t]])
            taken[t] += 1
        out[k] = row
    return out


@dataclasses.dataclass
class Contributions:
    """Contributions of a batch of pairs.

    Attributes
    ----------
    enhancer_hypothetical : shape=(n, We, 4), float32
    promoter_hypothetical : shape=(n, Wp, 4), float32
    enhancer_actual : shape=(n, We), float32
    promoter_actual : shape=(n, Wp), float32
    score : shape=(n,), the model's logit for each pair
    reference_score : shape=(n,), the mean logit of its references (0-input logit for
        gradient x input)
    """

    enhancer_hypothetical: np.ndarray
    promoter_hypothetical: np.ndarray
    enhancer_actual: np.ndarray
    promoter_actual: np.ndarray
    score: np.ndarray
    reference_score: np.ndarray

    def completeness_error(self) -> np.ndarray:
        """shape=(n,): |sum of actual contributions - (score - reference score)| / |score - reference score|."""
        total = self.enhancer_actual.sum(axis=1) + self.promoter_actual.sum(axis=1)
        delta = self.score - self.reference_score
        return np.abs(total - delta) / np.maximum(np.abs(delta), 1e-12)


class Attributor:
    """Contribution scores of pairs under one model (one compiled gradient function).

    Parameters
    ----------
    model : Keras model with inputs ``schema.ENHANCER_INPUT`` / ``PROMOTER_INPUT``
        and a sigmoid output; contributions are to its logit
    method : ``"ig"`` (integrated gradients over shuffled references) or ``"gradient_x_input"``
    steps : integration points per reference (midpoint rule)
    n_references : dinucleotide-shuffled references per pair
    batch_size : interpolated pairs per gradient call (bounds memory); None: as many as keep
        the convolution outputs within :data:`GRADIENT_BATCH_BYTES` (:func:`gradient_rows`), at most 128
    seed : seeds the shuffles; pair ``k`` of a call uses ``default_rng([seed, k + offset])``
    """

    def __init__(self, model, method: str = "ig", steps: int = 32, n_references: int = 8,
                 batch_size: int | None = None, seed: int = 0):
        self.method = check_method(method)
        batch_size = gradient_rows(model) if batch_size is None else batch_size
        if steps < 1 or n_references < 1 or batch_size < 1:
            raise ValueError("steps, n_references and batch_size must be at least 1")
        self.model, self.steps, self.n_references = model, int(steps), int(n_references)
        self.batch_size, self.seed = int(batch_size), int(seed)
        self._grad = self._compile()
        self._cut = _ConvCut.of(model)

    def _compile(self):
        import tensorflow as tf

        model = self.model

        @tf.function(reduce_retracing=True)
        def grad(e, p):
            with tf.GradientTape() as tape:
                tape.watch([e, p])
                out = model(model_inputs(model, e, p), training=False)
                prob = tf.clip_by_value(tf.reshape(tf.cast(out, tf.float32), (tf.shape(e)[0], -1))[:, 0],
                                        _EPS, 1 - _EPS)
                logit = tf.math.log(prob) - tf.math.log(1 - prob)
                total = tf.reduce_sum(logit)      # inside the tape: it must be recorded
            ge, gp = tape.gradient(total, [e, p])
            return ge, gp, logit

        return grad

    def gradients(self, enh: np.ndarray, prom: np.ndarray):
        """Logit gradients of one-hot inputs in fixed-size batches (the last one padded).

        enh : shape=(n, We, 4); prom : shape=(n, Wp, 4)
        Returns (grad_enh (n, We, 4), grad_prom (n, Wp, 4), logit (n,)), float32.
        """
        n, b = len(enh), self.batch_size
        ge = np.empty(enh.shape, np.float32)
        gp = np.empty(prom.shape, np.float32)
        y = np.empty(n, np.float32)
        for s in range(0, n, b):
            e, p = enh[s:s + b], prom[s:s + b]
            k = len(e)
            if k < b:   # one shape for every call: one trace
                e = np.concatenate([e, np.zeros((b - k, *e.shape[1:]), e.dtype)])
                p = np.concatenate([p, np.zeros((b - k, *p.shape[1:]), p.dtype)])
            a, c, out = self._grad(e.astype(np.float32), p.astype(np.float32))
            ge[s:s + k], gp[s:s + k], y[s:s + k] = a.numpy()[:k], c.numpy()[:k], out.numpy()[:k]
        return ge, gp, y

    def __call__(self, enhancer_codes: np.ndarray, promoter_codes: np.ndarray, offset: int = 0) -> Contributions:
        """Contributions of pairs given as base codes.

        enhancer_codes : shape=(n, We), int8; promoter_codes : shape=(n, Wp), int8
        offset : index of the first pair in the whole job (seeds its references)
        """
        E, P = one_hot(enhancer_codes), one_hot(promoter_codes)
        if self.method == "gradient_x_input":
            ge, gp, y = self.gradients(E, P)
            _, _, y0 = self.gradients(np.zeros_like(E[:1]), np.zeros_like(P[:1]))
            return Contributions(ge, gp, (ge * E).sum(-1), (gp * P).sum(-1), y.astype(np.float64),
                                 np.full(len(E), float(y0[0])))
        return self._ig(enhancer_codes, promoter_codes, E, P, offset)

    def _references(self, e_codes, p_codes, offset):
        """Each pair's dinucleotide-shuffled references, one-hot: two arrays (n, R, W, 4)."""
        refs_e, refs_p = [], []
        for i in range(len(e_codes)):
            rng = np.random.default_rng([self.seed, offset + i])
            refs_e.append(one_hot(dinucleotide_shuffle(e_codes[i], self.n_references, rng)))
            refs_p.append(one_hot(dinucleotide_shuffle(p_codes[i], self.n_references, rng)))
        return np.stack(refs_e), np.stack(refs_p)

    @staticmethod
    def _combine(multipliers, inputs, refs, score, reference_score) -> Contributions:
        """Contributions from the path-mean gradients ``m`` (n, R, W, 4) of each window."""
        out = []
        for m, x, ref in zip(multipliers, inputs, refs):
            hyp = (m - (m * ref).sum(-1, keepdims=True)).mean(axis=1)           # (n, W, 4)
            actual = (m * (x[:, None] - ref)).sum(-1).mean(axis=1)              # (n, W)
            out.append((hyp.astype(np.float32), actual.astype(np.float32)))
        return Contributions(out[0][0], out[1][0], out[0][1], out[1][1], score, reference_score)

    def _ig(self, e_codes, p_codes, E, P, offset):
        ref_e, ref_p = self._references(e_codes, p_codes, offset)               # (n, R, W, 4)
        if self._cut is not None:
            return self._ig_cut(E, P, ref_e, ref_p)
        return self._ig_whole(E, P, ref_e, ref_p)

    def _ig_cut(self, E, P, ref_e, ref_p):
        """Integrated gradients through :class:`_ConvCut`: per pair, the convolution of the input
        and its references once, the path points from pooling on, one transpose per reference."""
        R, S, n = self.n_references, self.steps, len(E)
        cut = self._cut
        alpha = ((np.arange(S) + 0.5) / S).astype(np.float32)
        # references per call: as many as keep r * S path rows within the batch (at least one)
        r_chunk = max(1, min(R, self.batch_size // S))
        m_e = np.empty(ref_e.shape, np.float32)
        m_p = np.empty(ref_p.shape, np.float32)
        score, ref_score = np.empty(n), np.empty(n)
        for i in range(n):
            ce = cut.conv(0, np.concatenate([E[i:i + 1], ref_e[i]]))            # (1 + R, Lc, K)
            cp = cut.conv(1, np.concatenate([P[i:i + 1], ref_p[i]]))
            y = cut.logit(ce, cp)
            score[i], ref_score[i] = y[0], y[1:].mean()
            ge = np.empty((R, *ce.shape[1:]), np.float32)
            gp = np.empty((R, *cp.shape[1:]), np.float32)
            for j in range(0, R, r_chunk):
                k = min(r_chunk, R - j)
                ge[j:j + k], gp[j:j + k] = cut.path_gradient(ce[1 + j:1 + j + k], ce[0] - ce[1 + j:1 + j + k],
                                                             cp[1 + j:1 + j + k], cp[0] - cp[1 + j:1 + j + k],
                                                             alpha, r_chunk, self.batch_size)
            m_e[i], m_p[i] = cut.transpose(0, ge), cut.transpose(1, gp)
        return self._combine((m_e, m_p), (E, P), (ref_e, ref_p), score, ref_score)

    def _ig_whole(self, E, P, ref_e, ref_p):
        """Integrated gradients of every pair at once: its paths, itself and its references
        are rows of one gradient job (``n * (R * S + R + 1)`` rows, in batches)."""
        R, S, n = self.n_references, self.steps, len(E)
        alpha = ((np.arange(S) + 0.5) / S).astype(np.float32)[None, None, :, None, None]

        def rows(x, ref):    # (n, R*S + 1 + R, W, 4): the path points, the input, the references
            path = ref[:, :, None] + alpha * (x[:, None, None] - ref[:, :, None])
            return np.concatenate([path.reshape(n, R * S, *x.shape[1:]), x[:, None], ref], axis=1)

        k = R * S + 1 + R
        ge, gp, y = self.gradients(rows(E, ref_e).reshape(n * k, *E.shape[1:]),
                                   rows(P, ref_p).reshape(n * k, *P.shape[1:]))
        y = y.reshape(n, k).astype(np.float64)
        m = [g.reshape(n, k, *x.shape[1:])[:, :R * S].reshape(n, R, S, *x.shape[1:]).mean(axis=2)
             for g, x in ((ge, E), (gp, P))]
        return self._combine(m, (E, P), (ref_e, ref_p), y[:, R * S], y[:, R * S + 1:].mean(axis=1))


class _ConvCut:
    """A workbench model cut after each branch's convolution, before its pooling.

    ``conv`` (bias-free, linear in the input) and ``transpose`` (its adjoint) are the
    first part; ``logit`` and ``path_gradient`` run the rest: pooling, bias and
    activation as :class:`speidlib.model.layers.PooledConv1D` does, then the layers
    from the merge on. Branch 0 is the enhancer, 1 the promoter.
    """

    def __init__(self, model, convs):
        import keras
        import tensorflow as tf

        _, _, pair = branch_and_pair_models(model)
        self.convs = convs
        kernels = [tf.cast(c.kernel, tf.float32) for c in convs]

        def rest(c, b):
            layer = convs[b]
            x = keras.ops.max_pool(c, pool_size=layer.pool_size, strides=layer.pool_size, padding="valid")
            x = x + tf.cast(layer.bias, x.dtype)
            return keras.ops.relu(x) if layer.activation == "relu" else x

        def logit_of(ce, cp):
            out = pair([rest(ce, 0), rest(cp, 1)], training=False)
            prob = tf.clip_by_value(tf.reshape(tf.cast(out, tf.float32), (tf.shape(ce)[0], -1))[:, 0],
                                    _EPS, 1 - _EPS)
            return tf.math.log(prob) - tf.math.log(1 - prob)

        @tf.function(reduce_retracing=True)
        def conv(x, b):
            return tf.nn.conv1d(x, kernels[b], stride=1, padding="VALID")

        @tf.function(reduce_retracing=True)
        def transpose(g, b, width):
            return tf.nn.conv1d_transpose(g, kernels[b], output_shape=(tf.shape(g)[0], width, 4), strides=1,
                                          padding="VALID")

        @tf.function(reduce_retracing=True)
        def path_sum(ce0, de, cp0, dp, alpha):
            # rows: reference j, step s -> C(r_j) + alpha_s (C(x) - C(r_j)); summed over the steps
            r, s = tf.shape(ce0)[0], tf.shape(alpha)[0]
            a = tf.reshape(alpha, (1, -1, 1, 1))
            xe = tf.reshape(ce0[:, None] + a * de[:, None], (r * s, tf.shape(ce0)[1], tf.shape(ce0)[2]))
            xp = tf.reshape(cp0[:, None] + a * dp[:, None], (r * s, tf.shape(cp0)[1], tf.shape(cp0)[2]))
            with tf.GradientTape() as tape:
                tape.watch([xe, xp])
                total = tf.reduce_sum(logit_of(xe, xp))
            ge, gp = tape.gradient(total, [xe, xp])
            return (tf.reduce_sum(tf.reshape(ge, (r, s, tf.shape(ce0)[1], tf.shape(ce0)[2])), axis=1),
                    tf.reduce_sum(tf.reshape(gp, (r, s, tf.shape(cp0)[1], tf.shape(cp0)[2])), axis=1))

        self._conv, self._transpose, self._path_sum = conv, transpose, path_sum
        self._logit = tf.function(logit_of, reduce_retracing=True)

    @classmethod
    def of(cls, model) -> "_ConvCut | None":
        """The cut of ``model``, or None when a branch does not open with a PooledConv1D that feeds
        the merge directly (then integrated gradients take the whole network at every point)."""
        from speidlib.model.layers import PooledConv1D

        try:
            convs = [branch_conv(model, b) for b in schema.BRANCHES]
            merge = model.get_layer(schema.MERGE_LAYER)
        except (ValueError, AttributeError):
            return None
        if not all(isinstance(c, PooledConv1D) for c in convs):
            return None
        inputs = merge.input if isinstance(merge.input, (list, tuple)) else [merge.input]
        fed = [t is c.output for t, c in zip(inputs, convs)]
        first = [any(c.input is t for t in model.inputs) for c in convs]    # identity: == is symbolic
        if not (all(fed) and all(first)):
            return None
        return cls(model, convs)

    def conv(self, b: int, x: np.ndarray) -> np.ndarray:
        """shape=(m, W, 4) one-hot -> (m, W - w + 1, K), bias-free convolution output."""
        return self._conv(np.ascontiguousarray(x, np.float32), b).numpy()

    def transpose(self, b: int, g: np.ndarray) -> np.ndarray:
        """shape=(m, W - w + 1, K) output gradients -> (m, W, 4) input gradients."""
        width = g.shape[1] + self.convs[b].kernel_size - 1
        return self._transpose(np.ascontiguousarray(g, np.float32), b, width).numpy()

    def logit(self, ce: np.ndarray, cp: np.ndarray) -> np.ndarray:
        """Logits of rows given by their convolution outputs, shape=(m,)."""
        return self._logit(ce, cp).numpy().astype(np.float64)

    def path_gradient(self, ce0, de, cp0, dp, alpha, r_chunk: int, batch_size: int):
        """Mean output gradient over the path points of ``k`` references, shape=(k, Lc, K) per branch.

        ce0, cp0 : the references' convolution outputs, shape=(k, Lc, K); de, dp : C(x) - C(r)
        alpha : the path's points, shape=(S,). Calls take ``r_chunk`` references (padded with
        zeros, dropped after) and a divisor of S steps, at most ``batch_size`` rows in all.
        """
        k, n_steps = len(ce0), len(alpha)
        if k < r_chunk:    # one shape for every call: one trace
            pad = [(0, r_chunk - k)] + [(0, 0)] * 2
            ce0, de, cp0, dp = (np.pad(a, pad) for a in (ce0, de, cp0, dp))
        most = max(1, batch_size // r_chunk)
        step = max(d for d in range(1, min(most, n_steps) + 1) if n_steps % d == 0)
        ge = np.zeros(ce0.shape, np.float32)
        gp = np.zeros(cp0.shape, np.float32)
        for s in range(0, n_steps, step):
            e, p = self._path_sum(ce0, de, cp0, dp, alpha[s:s + step])
            ge += e.numpy()
            gp += p.numpy()
        return ge[:k] / n_steps, gp[:k] / n_steps
