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
"""
from __future__ import annotations

import dataclasses

import numpy as np

from speidlib.data.encode import one_hot
from speidlib.interpret.ablation import model_inputs
from speidlib.interpret.kernels import branch_conv
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

    def _ig(self, e_codes, p_codes, E, P, offset):
        """Integrated gradients of every pair at once: its paths, itself and its references
        are rows of one gradient job (``n * (R * S + R + 1)`` rows, in batches)."""
        R, S, n = self.n_references, self.steps, len(E)
        refs_e, refs_p = [], []
        for i in range(n):
            rng = np.random.default_rng([self.seed, offset + i])
            refs_e.append(one_hot(dinucleotide_shuffle(e_codes[i], R, rng)))   # (R, We, 4)
            refs_p.append(one_hot(dinucleotide_shuffle(p_codes[i], R, rng)))
        ref_e, ref_p = np.stack(refs_e), np.stack(refs_p)                       # (n, R, W, 4)
        alpha = ((np.arange(S) + 0.5) / S).astype(np.float32)[None, None, :, None, None]

        def rows(x, ref):    # (n, R*S + 1 + R, W, 4): the path points, the input, the references
            path = ref[:, :, None] + alpha * (x[:, None, None] - ref[:, :, None])
            return np.concatenate([path.reshape(n, R * S, *x.shape[1:]), x[:, None], ref], axis=1)

        k = R * S + 1 + R
        ge, gp, y = self.gradients(rows(E, ref_e).reshape(n * k, *E.shape[1:]),
                                   rows(P, ref_p).reshape(n * k, *P.shape[1:]))
        y = y.reshape(n, k).astype(np.float64)
        out = []
        for g, x, ref in ((ge, E, ref_e), (gp, P, ref_p)):
            m = g.reshape(n, k, *x.shape[1:])[:, :R * S].reshape(n, R, S, *x.shape[1:]).mean(axis=2)
            hyp = (m - (m * ref).sum(-1, keepdims=True)).mean(axis=1)           # (n, W, 4)
            actual = (m * (x[:, None] - ref)).sum(-1).mean(axis=1)              # (n, W)
            out.append((hyp.astype(np.float32), actual.astype(np.float32)))
        return Contributions(out[0][0], out[1][0], out[0][1], out[1][1], y[:, R * S],
                             y[:, R * S + 1:].mean(axis=1))
