"""The one inference primitive: inputs in, model outputs out, in fixed-shape batches.

Every path that runs a SPEID model (or a part of one) forward goes through
here: training's validation and stage-2 features, ``speid evaluate``, the
element cache of ``speid score``, motif ablation and attribution. Each batch
is padded to the same number of rows, so Keras traces the model's predict
function once per model instead of once more for a short last batch.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

Inputs = np.ndarray | Sequence[np.ndarray]


def _pad(x: np.ndarray, rows: int) -> np.ndarray:
    if len(x) == rows:
        return x
    pad = np.zeros((rows - len(x), *x.shape[1:]), dtype=x.dtype)
    return np.concatenate([x, pad])


def rows_within(budget: int, bytes_per_row: int, most: int | None = None) -> int:
    """The largest power of two ``n`` with ``n * bytes_per_row <= budget`` (at least 1, at most ``most``).

    How every scoring path sizes its batches by memory: a row's largest
    intermediate (say its convolution output) times the rows of a batch stays
    within ``budget`` bytes.
    """
    n = 2 ** int(np.log2(max(int(budget) // max(int(bytes_per_row), 1), 1)))
    return n if most is None else max(1, min(n, int(most)))


def infer_batch(model, x: Inputs, batch_size: int) -> np.ndarray:
    """One batch through ``model`` in inference mode, padded to ``batch_size`` rows.

    Parameters
    ----------
    model : keras.Model
    x : shape=(b, ...) array, or a list of such arrays (one per model input), ``b <= batch_size``
    batch_size : the fixed number of rows every call uses

    Returns
    -------
    np.ndarray, shape=(b, ...): the model's output for the ``b`` real rows.
    """
    arrays = [np.asarray(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
    n = len(arrays[0])
    if n > batch_size:
        raise ValueError(f"a batch of {n} rows is larger than the batch size {batch_size}")
    padded = [_pad(a, batch_size) for a in arrays]
    out = model.predict_on_batch(padded if isinstance(x, (list, tuple)) else padded[0])
    return np.asarray(out)[:n]


def predict(model, inputs: Inputs | Callable[[slice], Inputs], n: int | None = None,
            batch_size: int = 256, progress: bool = False, desc: str = "scoring") -> np.ndarray:
    """All rows of ``inputs`` through ``model``, ``batch_size`` rows at a time.

    Parameters
    ----------
    model : keras.Model
    inputs : shape=(n, ...) array, a list of them (one per model input), or a function
        ``rows (slice) -> inputs of those rows`` (e.g. one-hot built per batch), with ``n``
    n : number of rows; needed only when ``inputs`` is a function
    batch_size : rows per forward pass (every pass has this shape)

    Returns
    -------
    np.ndarray, shape=(n, ...), float32 as the model gives it.
    """
    if callable(inputs):
        if n is None:
            raise ValueError("predict: give n, the number of rows, when inputs is a function")
        get = inputs
    else:
        arrays = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"predict: inputs differ in length ({[len(a) for a in arrays]})")
        get = (lambda rows: [a[rows] for a in arrays]) if isinstance(inputs, (list, tuple)) \
            else (lambda rows: arrays[0][rows])
    out = None
    for s in tqdm(range(0, n, batch_size), desc=desc, unit="batch", disable=not progress, leave=False):
        rows = slice(s, min(s + batch_size, n))
        y = infer_batch(model, get(rows), batch_size)
        if out is None:
            out = np.empty((n, *y.shape[1:]), dtype=y.dtype)
        out[rows] = y
    if out is None:
        raise ValueError("predict: there are no rows to score")
    return out


def predict_source(model, batches, progress: bool = False, desc: str = "scoring"):
    """One pass of a Keras batch source (``PyDataset`` yielding ``(x, y)``) through ``model``.

    Returns
    -------
    outputs : np.ndarray, shape=(n, ...), in the source's order
    labels : np.ndarray, shape=(n,), float32
    """
    if len(batches) == 0:
        raise ValueError("predict_source: the batch source is empty")
    size = len(batches[0][1])
    outs, ys = [], []
    for i in tqdm(range(len(batches)), desc=desc, unit="batch", disable=not progress, leave=False):
        x, y = batches[i][:2]
        outs.append(infer_batch(model, x, size))
        ys.append(np.asarray(y, dtype=np.float32).reshape(-1))
    return np.concatenate(outs), np.concatenate(ys)
