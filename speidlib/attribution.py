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

from .encode import BASES, one_hot
from .motifs import as_codes, model_inputs, scorer

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
    score = scorer(model, batch_size)
    e, p = _pair(enhancer, promoter)
    E, P = one_hot(e), one_hot(p)
    ref = float(_transform(np.asarray(score(E[None], P[None]), np.float64).reshape(-1)[0], output))
    result = {}
    for branch, X, other in (("enhancer", E, P), ("promoter", P, E)):
        length = len(X)
        pos, base = np.nonzero(X == 0)              # every (position, alternative base)
        delta = np.zeros((length, 4))
        for s in range(0, len(pos), batch_size):
            pi, bi = pos[s:s + batch_size], base[s:s + batch_size]
            mut = np.repeat(X[None], len(pi), axis=0)
            rows = np.arange(len(pi))
            mut[rows, pi] = 0.0
            mut[rows, pi, bi] = 1.0
            fixed = np.repeat(other[None], len(pi), axis=0)
            args = (mut, fixed) if branch == "enhancer" else (fixed, mut)
            out = _transform(np.asarray(score(*args), np.float64).reshape(-1), output)
            delta[pi, bi] = out - ref
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


# --- figure -------------------------------------------------------------------

def attribution_figure(attributions, enhancer_element=None, promoter_element=None,
                       enhancer_hits=None, promoter_hits=None, enhancer_sequence=None,
                       promoter_sequence=None, title: str | None = None):
    """Plotly figure of one pair's attribution: enhancer track above promoter track.

    Parameters
    ----------
    attributions : an :class:`Attribution` or a list of them (one line each)
    enhancer_element, promoter_element : ``(start, end)`` of the element in
        window coordinates (``element start - window start``; clipped to the
        window), shaded; None to leave out
    enhancer_hits, promoter_hits : DataFrame with ``start, end, motif_name``
        (and optionally ``strand``), e.g. from :func:`speidlib.motifs.motif_hits`
        for this window; drawn as boxes with the motif name above
    enhancer_sequence, promoter_sequence : codes (W,) for the hover text
    title : figure title

    Returns
    -------
    plotly.graph_objects.Figure with two rows
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if isinstance(attributions, Attribution):
        attributions = [attributions]
    if not attributions:
        raise ValueError("give at least one Attribution")
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.12,
                        subplot_titles=("enhancer window", "promoter window"))
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    tracks = ((1, "enhancer", enhancer_element, enhancer_hits, enhancer_sequence),
              (2, "promoter", promoter_element, promoter_hits, promoter_sequence))
    for row, branch, element, hits, seq in tracks:
        length = len(getattr(attributions[0], f"{branch}_summary"))
        letters = None
        if seq is not None:
            codes = np.asarray(seq)
            letters = np.array(list(BASES + "N"))[codes.astype(int)] if codes.ndim == 1 else None
        for i, a in enumerate(attributions):
            y = getattr(a, f"{branch}_summary")
            fig.add_trace(go.Scatter(
                x=np.arange(length), y=y, mode="lines", name=f"{a.method} ({a.output})",
                legendgroup=a.method, showlegend=row == 1, line=dict(width=1, color=colours[i % 4]),
                text=letters, hovertemplate="%{x}: %{y:.3g}" + (" %{text}" if letters is not None else "")
                + "<extra>" + a.method + "</extra>"), row=row, col=1)
        axis = "" if row == 1 else "2"
        if element is not None:
            start, end = (min(max(int(v), 0), length) for v in element)   # clipped to the window
            fig.add_vrect(x0=start - 0.5, x1=end - 0.5, fillcolor="#999999", opacity=0.15,
                          line_width=0, row=row, col=1, name=f"{branch} element")
        if hits is not None and len(hits):
            for h in hits.itertuples():
                fig.add_shape(type="rect", xref=f"x{axis}", yref=f"y{axis} domain",
                              x0=h.start - 0.5, x1=h.end - 0.5, y0=0.9, y1=1.0,
                              fillcolor="#ff7f0e", opacity=0.6, line_width=0, name=h.motif_name)
                strand = getattr(h, "strand", "")
                fig.add_annotation(x=(h.start + h.end - 1) / 2, y=1.0, xref=f"x{axis}",
                                   yref=f"y{axis} domain", text=f"{h.motif_name}{strand}",
                                   showarrow=False, yanchor="bottom", font=dict(size=9))
        fig.update_xaxes(title_text=f"position in {branch} window", row=row, col=1)
        fig.update_yaxes(title_text="attribution", row=row, col=1)
    fig.update_layout(title=title, height=560, template="plotly_white")
    return fig
