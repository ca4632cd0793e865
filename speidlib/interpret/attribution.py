"""Which bases drive one pair's score: in-silico mutagenesis and gradient x input.

Both methods work on the model's *logit* by default, ``log(p / (1 - p))`` of
its sigmoid output ``p``, where effects add up instead of saturating; pass
``output="probability"`` for the raw score.

- In-silico mutagenesis (ISM): every position of both windows is set to each
  of the 3 other bases, one at a time; ``scores[i, b]`` is the change in
  output when position ``i`` becomes base ``b`` (0 for the reference base).
  The per-position summary is minus the mean change over the alternatives,
  i.e. how much the reference base adds compared with the others.
- Gradient x input: ``scores[i, b] = d output / d x[i, b] * x[i, b]``, non-zero
  only at the reference base; the summary is the row sum.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from speidlib.data.encode import one_hot
from speidlib.interpret.ablation import model_inputs, score_codes, scorer
from speidlib.interpret.kernels import as_codes

_OUTPUTS = ("logit", "probability")
_EPS = 1e-7


@dataclasses.dataclass
class Attribution:
    """Per-base attribution of one enhancer-promoter pair.

    Attributes
    ----------
    method : ``"ism"`` or ``"gradient_x_input"``
    enhancer : shape=(We, 4), per-base scores, columns A, C, G, T
    promoter : shape=(Wp, 4)
    enhancer_summary : shape=(We,), one number per position
    promoter_summary : shape=(Wp,)
    reference : the model output for the unmutated pair (in ``output`` units)
    output : ``"logit"`` or ``"probability"``
    """

    method: str
    enhancer: np.ndarray
    promoter: np.ndarray
    enhancer_summary: np.ndarray
    promoter_summary: np.ndarray
    reference: float
    output: str


def _pair(enhancer, promoter):
    e = as_codes(np.asarray(enhancer)[None], "enhancer window")[0]
    p = as_codes(np.asarray(promoter)[None], "promoter window")[0]
    return e, p


def _transform(p, output: str, ops=np):
    if output == "probability":
        return p
    p = ops.clip(p, _EPS, 1 - _EPS)
    return ops.log(p) - ops.log(1 - p)


def _check_output(output: str) -> None:
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")


def ism(model, enhancer, promoter, output: str = "logit", batch_size: int = 512) -> Attribution:
    """In-silico saturation mutagenesis of both windows of one pair.

    Parameters
    ----------
    model : Keras model or callable ``(enhancer_onehot (n, We, 4), promoter_onehot (n, Wp, 4)) -> (n,)``
        sigmoid scores
    enhancer : shape=(We,) codes or (We, 4) one-hot
    promoter : shape=(Wp,) codes or (Wp, 4) one-hot
    output : ``"logit"`` (default) or ``"probability"``
    batch_size : mutants scored at once

    Returns
    -------
    Attribution with ``scores[i, b] = f(mutant with base b at i) - f(reference)``
    (0 at the reference base) and summary ``-mean`` over the alternatives.
    At an N position all four bases are alternatives.
    """
    _check_output(output)
    # a Keras model is scored through speidlib.score.pairs.score_pairs, a callable on one-hot
    score = model if hasattr(model, "predict_on_batch") else scorer(model, batch_size)
    e, p = _pair(enhancer, promoter)
    ref = float(_transform(score_codes(score, e[None], p[None], batch_size)[0], output))
    result = {}
    for branch, x, other in (("enhancer", e, p), ("promoter", p, e)):
        X = one_hot(x)
        pos, base = np.nonzero(X == 0)              # every (position, alternative base)
        delta = np.zeros((len(x), 4))
        for s in range(0, len(pos), batch_size):
            pi, bi = pos[s:s + batch_size], base[s:s + batch_size]
            mut = np.repeat(x[None], len(pi), axis=0)
            mut[np.arange(len(pi)), pi] = bi
            fixed = np.repeat(other[None], len(pi), axis=0)
            args = (mut, fixed) if branch == "enhancer" else (fixed, mut)
            delta[pi, bi] = _transform(score_codes(score, *args, batch_size), output) - ref
        n_alt = (X == 0).sum(axis=1)
        result[branch] = (delta, -delta.sum(axis=1) / n_alt)
    return Attribution("ism", result["enhancer"][0], result["promoter"][0],
                       result["enhancer"][1], result["promoter"][1], ref, output)


def input_gradients(model, enhancer_onehot, promoter_onehot, output: str = "logit"):
    """Gradients of the output with respect to both one-hot inputs.

    Parameters
    ----------
    model : Keras model (or a callable on backend tensors ``(enh, prom) -> (n, 1)``)
    enhancer_onehot : shape=(n, We, 4), float32
    promoter_onehot : shape=(n, Wp, 4), float32

    Returns
    -------
    (grad_enhancer (n, We, 4), grad_promoter (n, Wp, 4), outputs (n,)) as numpy arrays.
    Uses the active Keras backend's own autodiff (TensorFlow: ``GradientTape``).
    """
    import keras

    _check_output(output)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_gradients(model, enhancer_onehot, promoter_onehot, output)
    raise ValueError(f"gradient x input is implemented for the tensorflow Keras backend; "
                     f"this session runs {backend!r}")


def _tf_gradients(model, enh, prom, output):
    import keras
    import tensorflow as tf

    e = tf.convert_to_tensor(np.asarray(enh, np.float32))
    p = tf.convert_to_tensor(np.asarray(prom, np.float32))
    with tf.GradientTape() as tape:
        tape.watch([e, p])
        if isinstance(model, keras.Model):
            out = model(model_inputs(model, e, p), training=False)
        else:
            out = model(e, p)
        out = tf.reshape(tf.cast(out, tf.float32), (tf.shape(e)[0], -1))[:, 0]
        y = _transform(out, output, keras.ops)
        total = tf.reduce_sum(y)
    ge, gp = tape.gradient(total, [e, p])
    ge = np.zeros(e.shape, np.float32) if ge is None else ge.numpy()
    gp = np.zeros(p.shape, np.float32) if gp is None else gp.numpy()
    return ge, gp, y.numpy()


def gradient_x_input(model, enhancer, promoter, output: str = "logit") -> Attribution:
    """Gradient x input over both windows of one pair.

    Parameters
    ----------
    model : Keras model with inputs ``schema.ENHANCER_INPUT`` / ``PROMOTER_INPUT``
    enhancer : shape=(We,) codes or (We, 4) one-hot
    promoter : shape=(Wp,) codes or (Wp, 4) one-hot
    output : ``"logit"`` (default) or ``"probability"``

    Returns
    -------
    Attribution, scores shape=(W, 4) non-zero only at the reference bases.
    """
    e, p = _pair(enhancer, promoter)
    E, P = one_hot(e), one_hot(p)
    ge, gp, y = input_gradients(model, E[None], P[None], output)
    se, sp = ge[0] * E, gp[0] * P
    return Attribution("gradient_x_input", se.astype(np.float64), sp.astype(np.float64),
                       se.sum(axis=1).astype(np.float64), sp.sum(axis=1).astype(np.float64),
                       float(y[0]), output)
