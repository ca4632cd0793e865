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

**With each window pooled whole** (``global_pool``, the ``cpu`` preset) the pooled
value of kernel ``j`` at path point ``a`` is ``max_i (C(r)[i, j] + a d[i, j])``, the
upper envelope of one line per position, and its gradient goes to the maximum alone.
Only the few positions that can hold a maximum somewhere on the path (the
*candidates*; :meth:`_ConvCut.global_multipliers` says how they are found, exactly)
go through the path points, and the transpose reads only the nonzero output
gradients. Where positions tie, the gradient goes to the first, as max-pooling's does.
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
#: points of a path at which every position of a whole-window pool is scored to pick the candidates
PROBES = 5
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
    if len(codes) < 3:
        return np.repeat(codes[None], n, axis=0)
    return eulerian_walks(np.full(n, codes[0]), successor_orders(codes, n, rng))


def successor_orders(codes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """The successor lists of ``n`` shuffles of ``codes`` (:func:`dinucleotide_shuffle`'s draws).

    Returns shape=(n, 5, L - 1), ``codes``' dtype: row ``k``, symbol ``t``: the symbols that
    follow ``t`` in shuffle ``k``, in the order the walk takes them (zeros after them).
    """
    codes = np.asarray(codes)
    successors = {int(t): codes[1:][codes[:-1] == t] for t in np.unique(codes[:-1])}
    out = np.zeros((n, 5, max(1, len(codes) - 1)), codes.dtype)
    for k in range(n):
        for t, nxt in successors.items():
            perm = np.arange(len(nxt))
            perm[:-1] = rng.permutation(len(nxt) - 1)
            out[k, t, :len(nxt)] = nxt[perm]
    return out


def eulerian_walks(first: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Walk many successor lists at once: shape=(w,) first symbols, (w, 5, L - 1) orders
    (:func:`successor_orders`) -> shape=(w, L), each walk taking its symbol's next successor."""
    w, _, steps = orders.shape
    out = np.empty((w, steps + 1), orders.dtype)
    out[:, 0] = first
    flat = orders.reshape(-1).astype(np.int64)
    taken = np.zeros(w * 5, np.int64)
    base = np.arange(w, dtype=np.int64) * 5
    cur = np.asarray(first, np.int64)
    for j in range(1, steps + 1):
        slot = base + cur
        cur = flat[slot * steps + taken[slot]]
        taken[slot] += 1
        out[:, j] = cur
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
        n, R = len(e_codes), self.n_references
        # one generator per pair, drawn enhancer first, as dinucleotide_shuffle draws them
        rngs = [np.random.default_rng([self.seed, offset + i]) for i in range(n)]
        refs = []
        for codes in (e_codes, p_codes):
            if codes.shape[1] < 3:
                walks = np.repeat(codes, R, axis=0)
            else:
                orders = np.concatenate([successor_orders(x, R, rng) for x, rng in zip(codes, rngs)])
                walks = eulerian_walks(np.repeat(codes[:, 0], R), orders)
            refs.append(one_hot(walks.reshape(n, R, codes.shape[1])))
        return refs[0], refs[1]

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
        if self._cut is not None and self._cut.global_pool:
            return self._ig_global(E, P, ref_e, ref_p)
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

    def _ig_global(self, E, P, ref_e, ref_p):
        """Integrated gradients through :class:`_ConvCut` of a model that pools each window whole:
        several pairs per call, each path point only on its candidate positions
        (:meth:`_ConvCut.global_multipliers`)."""
        R, S, n = self.n_references, self.steps, len(E)
        cut = self._cut
        alpha = ((np.arange(S) + 0.5) / S).astype(np.float32)
        m = [np.empty(ref.shape, np.float32) for ref in (ref_e, ref_p)]
        score, ref_score = np.empty(n), np.empty(n)
        per = cut.global_pairs_per_call(R)
        for s in range(0, n, per):
            k = slice(s, min(n, s + per))
            m[0][k], m[1][k], y = cut.global_multipliers((E[k], P[k]), (ref_e[k], ref_p[k]), alpha)
            score[k], ref_score[k] = y[:, 0], y[:, 1:].mean(axis=1)
        return self._combine(m, (E, P), (ref_e, ref_p), score, ref_score)

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

        def activate(x, b):    # bias and activation on the pooled tensor, as PooledConv1D
            x = x + tf.cast(convs[b].bias, x.dtype)
            return keras.ops.relu(x) if convs[b].activation == "relu" else x

        def rest(c, b):
            layer = convs[b]
            return activate(keras.ops.max_pool(c, pool_size=layer.pool_size, strides=layer.pool_size,
                                               padding="valid"), b)

        def logit_from_pooled(pe, pp):
            out = pair([pe, pp], training=False)
            prob = tf.clip_by_value(tf.reshape(tf.cast(out, tf.float32), (tf.shape(pe)[0], -1))[:, 0],
                                    _EPS, 1 - _EPS)
            return tf.math.log(prob) - tf.math.log(1 - prob)

        def logit_of(ce, cp):
            return logit_from_pooled(rest(ce, 0), rest(cp, 1))

        probes = [float(x) for x in np.linspace(0, 1, PROBES)]

        # one trace each, whatever the number of paths or candidates
        lines = tf.TensorSpec((None, None, None), tf.float32)
        points = tf.TensorSpec((None,), tf.float32)

        @tf.function(input_signature=[tf.TensorSpec((None, None, None, None), tf.float32)] * 2
                     + [tf.TensorSpec((), tf.int32), points, tf.TensorSpec((None, len(probes)), tf.float32)])
        def candidates(c0, c1, m, alpha, weights):
            # c0 (n, R, K, Lc): the start of each path (a reference's convolution output), c1
            # (n, 1, K, Lc): its end (the input's), one line per position. Returns, per path
            # (p = n R) and kernel, the candidate positions (p, K, m), their lines' starts and
            # slopes (padded with lines far below the others), and whether every path's
            # candidates fit in m (see global_multipliers)
            d = c1 - c0
            best, first, slope, margin = [], [], [], None
            for b in probes:
                at = c0 if b == 0 else c1 if b == 1 else c0 + b * d
                arg = tf.argmax(at, axis=-1, output_type=tf.int32)[..., None]             # (n, R or 1, K, 1)
                top = tf.gather(at, arg, batch_dims=3)
                arg = tf.broadcast_to(arg, tf.shape(c0[..., :1]))                          # the input's: every path's
                best.append(tf.broadcast_to(top, tf.shape(arg)))
                first.append(tf.gather(c0, arg, batch_dims=3))
                slope.append(tf.gather(d, arg, batch_dims=3))
                margin = at - top if margin is None else tf.maximum(margin, at - top)
            paths = (tf.shape(c0)[0] * tf.shape(c0)[1], tf.shape(c0)[2])
            best, first, slope = (tf.reshape(tf.concat(x, axis=-1), (*paths, len(probes)))
                                  for x in (best, first, slope))                         # (p, K, G)
            margin, c0, d = (tf.reshape(x, (*paths, -1)) for x in (margin, c0, d))      # (p, K, Lc)
            # the probes' best lines at the path points, against the broken line through their
            # values at the probes: theta, the most the first falls below the second
            reached = tf.reduce_max(first[:, :, None] + alpha[:, None] * slope[:, :, None], axis=-1)   # (p, K, S)
            theta = tf.reduce_min(reached - tf.einsum("pkg,sg->pks", best, weights), axis=-1, keepdims=True)
            theta -= 1e-5 * tf.maximum(1.0, tf.reduce_max(tf.abs(best), axis=-1, keepdims=True))   # rounding
            keep = margin >= theta                                                        # (p, K, Lc)
            count = tf.reshape(tf.reduce_sum(tf.cast(keep, tf.int64), axis=-1), (-1,))   # (p K,)
            m = tf.cast(m, tf.int64)
            fits = tf.reduce_all(tf.reshape(count, paths) <= m, axis=-1)
            # the kept positions, in order, into m slots per path and kernel (tf.where lists them
            # row by row, so a position's slot is its place in the list less its row's first)
            where = tf.where(keep)                                                        # (N, 3)
            row = where[:, 0] * tf.cast(paths[1], tf.int64) + where[:, 1]
            slot = tf.range(tf.shape(where, tf.int64)[0]) - tf.gather(tf.cumsum(count, exclusive=True), row)
            where = tf.boolean_mask(where, slot < m)
            slots = tf.concat([where[:, :2], tf.boolean_mask(slot, slot < m)[:, None]], axis=1)
            shape = tf.stack([tf.cast(paths[0], tf.int64), tf.cast(paths[1], tf.int64), m])
            idx = tf.scatter_nd(slots, tf.cast(where[:, 2], tf.int32), shape)
            start = tf.tensor_scatter_nd_update(tf.fill(shape, tf.constant(-1e30, c0.dtype)), slots,
                                                tf.gather_nd(c0, where))
            return idx, start, tf.scatter_nd(slots, tf.gather_nd(d, where), shape), fits

        @tf.function(input_signature=[lines] * 4 + [points])
        def global_path_sum(c0e, de, c0p, dp, alpha):
            # candidates' lines (p, K, m) per branch -> each candidate's output gradient summed
            # over the S path points (p, K, m): a point's pooled value is its best line's (the
            # first best, as max-pooling's gradient takes it), and all its gradient goes there
            def best_lines(c0, d):
                z = c0[:, :, None] + alpha[:, None] * d[:, :, None]                     # (p, K, S, m)
                arg = tf.argmax(z, axis=-1, output_type=tf.int32)                         # (p, K, S)
                value = tf.gather(c0, arg, batch_dims=2) + alpha * tf.gather(d, arg, batch_dims=2)
                return arg, value

            (arg_e, ve), (arg_p, vp) = best_lines(c0e, de), best_lines(c0p, dp)
            rows = tf.shape(ve)[0] * tf.shape(ve)[2]
            with tf.GradientTape() as tape:
                tape.watch([ve, vp])
                pe = activate(tf.reshape(tf.transpose(ve, (0, 2, 1)), (rows, 1, -1)), 0)
                pp = activate(tf.reshape(tf.transpose(vp, (0, 2, 1)), (rows, 1, -1)), 1)
                total = tf.reduce_sum(logit_from_pooled(pe, pp))
            ge, gp = tape.gradient(total, [ve, vp])

            def per_line(g, arg, c0):   # (p, K, S) -> summed into each point's best line (p, K, m)
                m = tf.shape(c0)[-1]
                rows = tf.range(tf.shape(c0)[0] * tf.shape(c0)[1])[:, None]
                ids = rows * m + tf.reshape(arg, (-1, tf.shape(arg)[-1]))
                return tf.reshape(tf.math.unsorted_segment_sum(tf.reshape(g, (-1, tf.shape(g)[-1])), ids,
                                                               tf.size(c0)), tf.shape(c0))

            return per_line(ge, arg_e, c0e), per_line(gp, arg_p, c0p)

        @tf.function(reduce_retracing=True)
        def conv_t(x, b):       # (rows, W, 4) -> (rows, K, Lc)
            return tf.transpose(tf.nn.conv1d(x, kernels[b], stride=1, padding="VALID"), (0, 2, 1))

        @tf.function(reduce_retracing=True)
        def whole_pool_logit(ce, cp):    # (rows, K, Lc) each, every position pooled
            return logit_from_pooled(activate(tf.reduce_max(ce, axis=-1)[:, None], 0),
                                     activate(tf.reduce_max(cp, axis=-1)[:, None], 1))

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
        self._candidates, self._global_path_sum = candidates, global_path_sum
        self._conv_t, self._whole_pool_logit = conv_t, whole_pool_logit
        self.lengths = [int(t.shape[1]) - c.kernel_size + 1 for t, c in zip(model.inputs, convs)]
        #: each branch pooled over its whole window: the path runs on candidate positions only
        self.global_pool = all(c.pool_size == n for c, n in zip(convs, self.lengths))
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

    #: candidate positions per kernel and path tried first (see :meth:`global_multipliers`)
    first_candidates = 32

    def output_shape(self, b: int) -> tuple[int, int]:
        """(Lc, K): branch ``b``'s convolution output per window."""
        return self.lengths[b], int(self.convs[b].filters)

    def global_pairs_per_call(self, n_references: int) -> int:
        """Pairs per :meth:`global_multipliers` call: the convolution outputs of every path and the
        tensors the probes make of them (Lc x K per branch, float32, a few copies each) within
        :data:`GRADIENT_BATCH_BYTES`, at most 16."""
        per_path = sum(4 * _TAPE_COPIES * (PROBES + 2) * n * k for n, k in map(self.output_shape, (0, 1)))
        return rows_within(GRADIENT_BATCH_BYTES, per_path * n_references, most=16)

    def _candidate_lines(self, b: int, c, starts: np.ndarray, ends: np.ndarray, alpha, weights):
        """Candidate positions of each path of branch ``b``, grouped by their number.

        c : shape=(n, 1 + R, K, Lc), convolution outputs of each pair's input and references; path
        ``j`` runs from row ``starts[j]`` to row ``ends[j]`` of ``c`` as (n (1 + R), K, Lc), a pair's
        references in order. Returns ``{m: (paths, idx (p, K, m), line starts (p, K, m), slopes (p, K, m))}``.
        """
        import tensorflow as tf

        groups, todo, m, length = {}, np.arange(len(starts)), self.first_candidates, self.lengths[b]
        n, R = c.shape[0], c.shape[1] - 1
        rows = tf.reshape(c, (n * (1 + R), *c.shape[2:]))
        while len(todo) and m < length:
            if len(todo) == n * R:     # every path of every pair: no copies
                starts_of, ends_of = c[:, 1:], c[:, :1]
            else:
                starts_of, ends_of = (tf.gather(rows, x[todo])[:, None] for x in (starts, ends))
            idx, first, slope, exact = self._candidates(starts_of, ends_of, np.int32(m), alpha, weights)
            exact = exact.numpy()
            if exact.all():
                groups[m] = (todo, idx.numpy(), first.numpy(), slope.numpy())
            elif exact.any():
                groups[m] = (todo[exact], idx.numpy()[exact], first.numpy()[exact], slope.numpy()[exact])
            todo, m = todo[~exact], m * 4
        if len(todo):       # every position
            first = np.asarray(rows)[starts[todo]]
            idx = np.broadcast_to(np.arange(length, dtype=np.int32), first.shape)
            groups[length] = (todo, idx, first, np.asarray(rows)[ends[todo]] - first)
        return groups

    def global_multipliers(self, inputs, references, alpha):
        """Mean input gradients over each reference's path, for a model whose branches pool their
        whole window (:attr:`global_pool`), and the logits of the inputs and their references.

        inputs : per branch, shape=(k, W, 4) one-hot; references : per branch, shape=(k, R, W, 4);
        alpha : the path's points, shape=(S,), in [0, 1]. Returns the multipliers, shape=(k, R, W, 4)
        per branch, and the logits, shape=(k, 1 + R) (each pair's input first).

        Kernel ``j``'s pooled input along a path is the maximum over positions ``i`` of the line
        ``C(r)[i, j] + a (C(x)[i, j] - C(r)[i, j])``. At :data:`PROBES` evenly spaced points of the
        path (0 and 1 among them) the best line is found over all positions. Between two probes a
        line is straight, so a position whose line is below the best by more than ``theta`` at
        every probe stays below the broken line through the probes' best values minus ``theta``
        everywhere on the path. ``theta`` is how far the probes' best lines themselves fall below
        that broken line at the path points (at least 0), so such a position never holds a path
        point's maximum. The others (the candidates: a median of 6 of 981 positions per path and
        kernel on the demo) go through the path points; a path with more than
        :attr:`first_candidates` tries four times as many, up to every position. Each point's
        gradient goes to its first maximum, as the pooling's own gradient does.
        """
        import tensorflow as tf

        k, R = len(inputs[0]), references[0].shape[1]
        c = [self._conv_t(np.concatenate([x[:, None], ref], axis=1).reshape(k * (1 + R), *x.shape[1:])
                          .astype(np.float32, copy=False), b)
             for b, (x, ref) in enumerate(zip(inputs, references))]                     # (k (1 + R), K, Lc)
        logits = self._whole_pool_logit(c[0], c[1]).numpy().astype(np.float64).reshape(k, 1 + R)
        c = [tf.reshape(x, (k, 1 + R, *x.shape[1:])) for x in c]
        rows = np.arange(k * (1 + R))
        starts = rows[rows % (1 + R) > 0]                   # the references' rows; a path each
        ends = starts - starts % (1 + R)                    # their pair's input row
        probes = np.linspace(0, 1, PROBES)
        weights = np.stack([np.interp(alpha, probes, np.eye(PROBES)[g]) for g in range(PROBES)], 1)
        weights = weights.astype(np.float32)                                          # (S, G)
        groups = [self._candidate_lines(b, c[b], starts, ends, alpha, weights) for b in (0, 1)]
        where = []   # per branch: each path's group (its m) and place in that group
        for g in groups:
            m_of, place = np.empty(len(starts), np.int64), np.empty(len(starts), np.int64)
            for m, (paths, *_) in g.items():
                m_of[paths], place[paths] = m, np.arange(len(paths))
            where.append((m_of, place))
        multipliers = [np.empty((len(starts), *x.shape[1:]), np.float32) for x in inputs]     # (paths, W, 4)
        for me, mp in np.unique(np.stack([where[0][0], where[1][0]], 1), axis=0):
            paths = np.flatnonzero((where[0][0] == me) & (where[1][0] == mp))
            picked = [[a[where[b][1][paths]] for a in groups[b][m][1:]] for b, m in ((0, me), (1, mp))]
            grads = self._global_path_sum(picked[0][1], picked[0][2], picked[1][1], picked[1][2], alpha)
            for b in (0, 1):
                multipliers[b][paths] = self.sparse_transpose(b, picked[b][0], grads[b].numpy() / len(alpha),
                                                              multipliers[b].shape[1])
        return (*(x.reshape(k, R, *x.shape[1:]) for x in multipliers), logits)

    def sparse_transpose(self, b: int, idx: np.ndarray, g: np.ndarray, width: int) -> np.ndarray:
        """:meth:`transpose` of an output gradient given where it is nonzero: ``g[p, j, c]`` at
        position ``idx[p, j, c]`` of kernel ``j`` (shapes (p, K, m)) -> shape=(p, width, 4)."""
        kernel = self.convs[b].kernel.numpy().astype(np.float32, copy=False)       # (w, 4, K)
        w = kernel.shape[0]
        p, j, c = np.nonzero(g)
        flat = (p * width + idx[p, j, c])[:, None] + np.arange(w)                  # (nnz, w) positions
        flat = (flat * 4)[:, :, None] + np.arange(4)                              # (nnz, w, 4)
        values = g[p, j, c][:, None, None] * kernel.transpose(2, 0, 1)[j]          # (nnz, w, 4)
        out = np.bincount(flat.ravel(), weights=values.ravel(), minlength=len(g) * width * 4)
        return out.astype(np.float32).reshape(len(g), width, 4)

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
