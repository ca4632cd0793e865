"""What the convolution kernels learned: kernel -> PFM (matching, null and ablation are beside it).

Kernel to PFM follows Alipanahi et al. 2015 (DeepBind), supplementary section
10.2, as DanQ and the SPEID preprint used it: every kernel is scanned over a
set of windows (the held-out windows by default); the kernel-width
subsequences whose activation exceeds ``fraction`` (0.5) of the kernel's
largest activation over the whole set are stacked into a position frequency
matrix, and low-information flanks are trimmed.

*Activation* here is the convolution of the one-hot window with the kernel
plus its bias, with ``valid`` padding, before any ReLU: the activation at
position ``p`` belongs to ``window[p : p + w]``. This is the same quantity
whether or not the model's layer carries a ReLU (``> fraction * max`` with a
positive maximum is unchanged by rectification), and its positions do not
depend on the layer's padding.

Where the activation's zero lies (``baseline``)
    "``fraction`` of the maximum" presumes that zero means "nothing here", as
    in DeepBind, whose rectification threshold is learned. In SPEID the
    pooled branch outputs go through a BatchNorm (``merge_bn``), which
    removes any constant offset: a kernel can carry any constant in its
    bias, or spread over its four bases at a position, without changing what
    the network computes, and a trained SPEID kernel's zero sits near the
    median of random sequence. There, half the maximum admits thousands of
    background subsequences, and the PFM is a blur of the motif and noise.
    By default (``baseline="batchnorm"``) activations are therefore measured
    from the level that BatchNorm maps to zero, ``mu - beta * sigma / gamma``
    per kernel (its running mean ``mu``, standard deviation ``sigma``, scale
    ``gamma`` and shift ``beta``; ``mu`` alone where ``gamma <= 0``): the
    level the LSTM reads as nothing. The rest of the rule is unchanged.
    ``baseline="zero"`` is the rule applied to ``conv + bias`` as it is (and
    what a bare kernel without a model gets).

Matching to JASPAR is :mod:`speidlib.interpret.matching`; the null of untrained
kernels :mod:`speidlib.interpret.null`; motif ablation :mod:`speidlib.interpret.ablation`.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from speidlib import checks, schema
from speidlib.data.encode import N_CODE, decode, from_one_hot, one_hot
from speidlib.model.tree import find_layer

_CONV_LAYER = {"enhancer": schema.ENHANCER_CONV, "promoter": schema.PROMOTER_CONV}
_INPUT_NAME = {"enhancer": schema.ENHANCER_INPUT, "promoter": schema.PROMOTER_INPUT}
_SITE_MODES = ("all", "best")
# what makes a kernel's PFM informative (KernelPFMs.informative): sites stacked,
# columns of at least min_information bits, bits in the trimmed PFM
MIN_SITES, MIN_COLUMNS, MIN_BITS = 10, 3, 4.0


def kernel_name(branch: str, kernel: int) -> str:
    """The name a kernel goes by in files: ``kernel_name("enhancer", 12) == "enhancer_k0012"``."""
    return f"{branch}_k{int(kernel):04d}"


def parse_kernel_name(name: str) -> tuple[str, int]:
    """The inverse of :func:`kernel_name`: ``"enhancer_k0012" -> ("enhancer", 12)``."""
    branch, sep, number = str(name).rpartition("_k")
    if not sep or branch not in schema.BRANCHES or not number.isdigit():
        raise ValueError(f"{name!r} is not a kernel name like 'enhancer_k0012'")
    return branch, int(number)


# --- input checks -------------------------------------------------------------

def as_codes(windows, what: str = "windows") -> np.ndarray:
    """Windows as int8 base codes.

    Parameters
    ----------
    windows : shape=(n, L) integer codes 0-4, or shape=(n, L, 4) one-hot (0/1,
        A/C/G/T; an all-zero column is N)
    what : name used in error messages

    Returns
    -------
    codes : np.ndarray, shape=(n, L), int8
    """
    X = np.asarray(windows)
    if X.ndim == 2 and X.dtype.kind in "iu":
        if X.size and (X.min() < 0 or X.max() > N_CODE):
            raise ValueError(f"{what}: base codes must lie in 0-4 (A, C, G, T, N), "
                             f"got {X.min()}..{X.max()}")
        return X.astype(np.int8, copy=False)
    if X.ndim == 3 and X.shape[-1] == 4:
        if X.size and not (np.isin(X, (0, 1)).all() and (X.sum(axis=-1) <= 1).all()):
            raise ValueError(f"{what}: a one-hot array must hold only 0 and 1, "
                             "at most one 1 per position")
        return from_one_hot(X)
    raise ValueError(f"{what}: expected int codes of shape (n, L) or one-hot of shape "
                     f"(n, L, 4), got dtype {X.dtype} and shape {X.shape}")


# --- the convolution layer ----------------------------------------------------

def conv_weights(layer) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of a Keras ``Conv1D`` layer over one-hot DNA.

    Returns
    -------
    kernel : shape=(w, 4, n_kernels), float32
    bias : shape=(n_kernels,), float32 (zeros when the layer has no bias)
    """
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        raise ValueError(f"layer {layer.name!r} has no kernel: expected a Conv1D layer")
    kernel = np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel, dtype=np.float32)
    if kernel.ndim != 3 or kernel.shape[1] != 4:
        raise ValueError(f"layer {layer.name!r} has a kernel of shape {kernel.shape}; expected "
                         "(width, 4, n_kernels), a Conv1D over one-hot A/C/G/T")
    for attr in ("strides", "dilation_rate"):
        if tuple(np.atleast_1d(getattr(layer, attr, 1))) != (1,):
            raise ValueError(f"layer {layer.name!r} has {attr}={getattr(layer, attr)}; "
                             "kernel motifs need 1")
    if getattr(layer, "groups", 1) != 1 or getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"layer {layer.name!r} must be a plain channels_last Conv1D with groups=1")
    bias = getattr(layer, "bias", None)
    bias = (np.zeros(kernel.shape[2], np.float32) if bias is None
            else np.asarray(bias.numpy() if hasattr(bias, "numpy") else bias, dtype=np.float32))
    return kernel, bias


def branch_conv(model, branch: str):
    """The convolution layer of one branch (``schema.ENHANCER_CONV`` / ``PROMOTER_CONV``)."""
    return find_layer(model, _CONV_LAYER[checks.branch(branch)])


BASELINES = ("batchnorm", "zero")


def activation_baseline(model, branch: str, n_kernels: int | None = None) -> np.ndarray:
    """The activation level SPEID's merge BatchNorm maps to zero, per kernel, shape=(K,).

    ``mu - beta * sqrt(var + eps) / gamma`` from the running statistics and
    the scale and shift of the layer ``merge_bn`` (the pooled outputs of both
    branches share its channels); ``mu`` where ``gamma <= 0``. Zeros when the
    model has no such layer (a model not built by :mod:`speidlib.model`).
    """
    checks.branch(branch)
    try:
        bn = find_layer(model, schema.MERGE_BATCHNORM)
    except (ValueError, AttributeError):
        if n_kernels is None:
            raise ValueError(f"model has no layer {schema.MERGE_BATCHNORM!r} and no kernel count was given") from None
        return np.zeros(n_kernels, np.float32)
    gamma, beta, mu, var = (np.asarray(keras_value(v), np.float64) for v in
                            (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance))
    sigma = np.sqrt(var + bn.epsilon)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(gamma > 0, mu - beta * sigma / np.where(gamma > 0, gamma, 1), mu)
    return level.astype(np.float32)


def keras_value(v) -> np.ndarray:
    """A Keras variable (or array) as a NumPy array."""
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def conv_activations(codes: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                     batch_size: int | None = None, progress: bool = False, desc: str = ""):
    """Scan windows with every kernel at once, batch by batch.

    Parameters
    ----------
    codes : shape=(n, L), int8 base codes
    kernel : shape=(w, 4, K)
    bias : shape=(K,)
    batch_size : windows per batch; by default about 64 MB of activations

    Yields
    ------
    start : int, index of the batch's first window
    activations : np.ndarray, shape=(b, L - w + 1, K), float32; position ``p``
        belongs to ``window[p : p + w]``
    """
    import keras

    for start, a in _conv_batches(codes, kernel, bias, batch_size, progress, desc):
        yield start, keras.ops.convert_to_numpy(a)


def _conv_batches(codes, kernel, bias, batch_size, progress, desc):
    """As :func:`conv_activations`, yielding backend tensors (reductions stay in the backend)."""
    import keras
    from tqdm.auto import tqdm

    n, length = codes.shape
    w, _, k = kernel.shape
    if length < w:
        raise ValueError(f"windows of {length} bp are shorter than the kernel width {w}")
    if batch_size is None:
        batch_size = max(1, min(n, (64 << 20) // (4 * (length - w + 1) * k)))
    kern = keras.ops.convert_to_tensor(np.asarray(kernel, np.float32))
    b = keras.ops.convert_to_tensor(np.asarray(bias, np.float32))
    for start in tqdm(range(0, n, batch_size), desc=desc, disable=not progress, leave=False):
        x = one_hot(codes[start:start + batch_size])
        yield start, keras.ops.conv(x, kern, strides=1, padding="valid") + b


# --- kernel -> PFM ------------------------------------------------------------

@dataclasses.dataclass
class KernelPFMs:
    """Position frequency matrices of one branch's kernels, and their activations.

    Attributes
    ----------
    branch : ``"enhancer"`` or ``"promoter"``
    counts : shape=(K, w, 4), A/C/G/T counts over the sites (N is not counted)
    n_sites : shape=(K,), subsequences stacked into each PFM
    max_activation : shape=(K,), largest activation over the windows
    window_max : shape=(n_windows, K), each window's largest activation
    window_argmax : shape=(n_windows, K), where in the window it is (start position)
    trim : shape=(K, 2), ``[start, end)`` of the informative columns kept
    fraction, min_information, sites, baseline : the parameters used
    background : shape=(4,), A/C/G/T composition of the scanned windows (N
        not counted); Tomtom compares the PFMs' deviations from it
    """

    branch: str
    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    window_max: np.ndarray
    window_argmax: np.ndarray
    trim: np.ndarray
    fraction: float
    min_information: float
    sites: str
    baseline: str = "zero"
    background: np.ndarray = dataclasses.field(default_factory=lambda: np.full(4, 0.25))

    @property
    def n_kernels(self) -> int:
        return self.counts.shape[0]

    @property
    def width(self) -> int:
        return self.counts.shape[1]

    @property
    def names(self) -> list[str]:
        return [kernel_name(self.branch, k) for k in range(self.n_kernels)]

    def pfm(self, kernel: int, trimmed: bool = True) -> np.ndarray:
        """PFM of one kernel, shape=(w', 4), rows summing to 1 (uniform where no site)."""
        freq = _frequencies(self.counts[kernel])
        if trimmed:
            start, end = self.trim[kernel]
            freq = freq[start:end]
        return freq

    def information(self) -> np.ndarray:
        """Information content in bits of every untrimmed PFM column, shape=(K, w)."""
        return information_content(_frequencies(self.counts))

    def trimmed_information(self) -> np.ndarray:
        """Total information in bits of each trimmed PFM, shape=(K,)."""
        info = self.information()
        cols = np.arange(self.width)
        inside = (cols >= self.trim[:, :1]) & (cols < self.trim[:, 1:])
        return np.where(inside, info, 0.0).sum(axis=1)

    def informative(self, min_sites: int = MIN_SITES, min_columns: int = MIN_COLUMNS,
                    min_bits: float = MIN_BITS) -> np.ndarray:
        """Which kernels have a PFM worth matching, shape=(K,) bool.

        A PFM is informative when it is stacked from at least ``min_sites``
        sites, at least ``min_columns`` of its columns carry
        ``min_information`` bits (the trimming threshold) and its trimmed
        columns hold at least ``min_bits`` bits in all. A near-uniform PFM
        (a kernel that fires on background sequence) is not, and is not
        matched to JASPAR at all.
        """
        strong = (self.information() >= self.min_information).sum(axis=1)
        return (self.n_sites >= min_sites) & (strong >= min_columns) & \
            (self.trimmed_information() >= min_bits)

    def top_windows(self, codes, n_top: int = 10, window_ids=None) -> pd.DataFrame:
        """The windows that activate each kernel most.

        Parameters
        ----------
        codes : shape=(n_windows, L), the windows the PFMs were built from
        n_top : windows kept per kernel
        window_ids : shape=(n_windows,), names for the windows (default: their index)

        Returns
        -------
        DataFrame with ``schema.TOP_WINDOW_COLUMNS``, one row per kernel and rank
        (1 = highest activation); ``sequence`` is the kernel-width subsequence.
        """
        codes = as_codes(codes)
        if len(codes) != len(self.window_max):
            raise ValueError(f"codes has {len(codes)} windows, the activations {len(self.window_max)}")
        n_top = min(n_top, len(codes))
        order = np.argsort(-self.window_max, axis=0, kind="stable")[:n_top]      # (n_top, K)
        kernels = np.broadcast_to(np.arange(self.n_kernels), order.shape)
        pos = self.window_argmax[order, kernels]
        sub = codes[order[..., None], pos[..., None] + np.arange(self.width)]   # (n_top, K, w)
        ids = np.arange(len(codes)) if window_ids is None else np.asarray(window_ids)
        df = pd.DataFrame({
            "branch": self.branch,
            "kernel": kernels.T.ravel(),
            "kernel_name": np.array(self.names)[kernels.T.ravel()],
            "rank": np.tile(np.arange(1, n_top + 1), self.n_kernels),
            "window_index": order.T.ravel(),
            "window_id": ids[order.T.ravel()],
            "position": pos.T.ravel(),
            "sequence": [decode(s) for s in sub.transpose(1, 0, 2).reshape(-1, self.width)],
            "activation": self.window_max[order, kernels].T.ravel(),
        })
        return df[schema.TOP_WINDOW_COLUMNS]


def _frequencies(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / np.where(total > 0, total, 1), 0.25)


def information_content(pfm: np.ndarray) -> np.ndarray:
    """Information content in bits, ``2 + sum_b p_b log2 p_b``, of each PFM column.

    pfm : shape=(..., w, 4), rows summing to 1 -> shape=(..., w)
    """
    p = np.asarray(pfm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0.0)
    return 2.0 + plogp.sum(axis=-1)


def trim_bounds(pfm: np.ndarray, min_information: float = 0.5) -> tuple[int, int]:
    """``[start, end)`` from the first to the last column with at least ``min_information`` bits.

    pfm : shape=(w, 4). When no column reaches the threshold the whole matrix is kept.
    """
    keep = np.flatnonzero(information_content(pfm) >= min_information)
    if len(keep) == 0:
        return 0, len(pfm)
    return int(keep[0]), int(keep[-1]) + 1


def kernel_pfms(model, windows, branch: str = "enhancer", fraction: float = 0.5,
                min_information: float = 0.5, sites: str = "all",
                batch_size: int | None = None, progress: bool = False,
                baseline: str = "batchnorm") -> KernelPFMs:
    """Turn every kernel of one branch into a PFM (Alipanahi et al. 2015, supp. 10.2).

    Parameters
    ----------
    model : keras.Model holding the layer ``schema.ENHANCER_CONV`` /
        ``PROMOTER_CONV`` (found in nested sub-models too), or the Conv1D layer
        itself, or a ``(kernel (w, 4, K), bias (K,))`` pair
    windows : shape=(n, L) int8 codes or (n, L, 4) one-hot; the held-out
        windows of ``branch`` by default in :func:`run_motifs`
    branch : ``"enhancer"`` or ``"promoter"``
    fraction : a subsequence is a site when its activation exceeds
        ``fraction * max`` (max over all windows; kernels whose max is not
        positive get no sites)
    min_information : flanking columns with fewer bits than this are trimmed
        (0.5 bits: above the ~2.2/n bits a uniform column shows from n sites by
        chance once n >= 5)
    sites : ``"all"`` stacks every position above the threshold (DanQ, Basset);
        ``"best"`` only each window's best position (DeepBind)
    batch_size : windows per batch (default: about 64 MB of activations)
    baseline : ``"batchnorm"`` measures activations from the level the
        model's merge BatchNorm maps to zero (:func:`activation_baseline`;
        see the module notes), ``"zero"`` takes ``conv + bias`` as it is. A
        layer or ``(kernel, bias)`` pair has no BatchNorm: always ``"zero"``.

    Returns
    -------
    KernelPFMs
        activations (``max_activation``, ``window_max``) are measured from
        the baseline.
    """
    import keras

    checks.branch(branch)
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must lie in [0, 1), got {fraction}")
    if sites not in _SITE_MODES:
        raise ValueError(f"sites must be one of {_SITE_MODES}, got {sites!r}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if isinstance(model, tuple):
        kernel, bias = (np.asarray(a, dtype=np.float32) for a in model)
    else:
        layer = model if hasattr(model, "kernel") else branch_conv(model, branch)
        kernel, bias = conv_weights(layer)
        if baseline == "batchnorm" and not hasattr(model, "kernel"):
            bias = bias - activation_baseline(model, branch, kernel.shape[2])
    codes = as_codes(windows, f"{branch} windows")
    if len(codes) == 0:
        raise ValueError(f"no {branch} windows given")
    w, _, k = kernel.shape

    # pass 1: each window's largest activation and where it is
    window_max = np.empty((len(codes), k), np.float32)
    window_argmax = np.empty((len(codes), k), np.int32)
    for start, a in _conv_batches(codes, kernel, bias, batch_size, progress, f"{branch} activations"):
        window_max[start:start + len(a)] = keras.ops.convert_to_numpy(keras.ops.max(a, axis=1))
        window_argmax[start:start + len(a)] = keras.ops.convert_to_numpy(keras.ops.argmax(a, axis=1))
    max_activation = window_max.max(axis=0)
    threshold = np.where(max_activation > 0, fraction * max_activation, np.inf).astype(np.float32)

    # pass 2: stack the sites
    if sites == "best":      # few sites: gather them and bincount kernel x column x base
        win, kern = np.nonzero(window_max > threshold)
        counts5 = _site_counts(codes, win, window_argmax[win, kern], kern, w, k).reshape(k, w, 5)
        counts = counts5[..., :4].astype(np.float64)
        n_sites = counts5[:, 0, :].sum(axis=1)
    else:                    # counts = (sparse site mask)^T @ unfolded one-hot windows
        from scipy import sparse

        counts, n_sites = np.zeros((k, w * 4), np.float64), np.zeros(k, np.int64)
        thr = keras.ops.convert_to_tensor(threshold)
        for start, a in _conv_batches(codes, kernel, bias, batch_size, progress, f"{branch} sites"):
            b, n_pos = a.shape[:2]
            row, kern = np.nonzero(keras.ops.convert_to_numpy(a > thr).reshape(b * n_pos, k))
            n_sites += np.bincount(kern, minlength=k)
            if len(row) == 0:
                continue
            unfolded = np.lib.stride_tricks.sliding_window_view(
                one_hot(codes[start:start + b]), w, axis=1)               # (b, P, 4, w)
            unfolded = unfolded.transpose(0, 1, 3, 2).reshape(b * n_pos, w * 4)
            sites_t = sparse.csr_matrix((np.ones(len(row), np.float32), (kern, row)),
                                        shape=(k, b * n_pos))
            counts += sites_t @ unfolded
        counts = counts.reshape(k, w, 4)
    freq = _frequencies(counts)
    trim = np.array([trim_bounds(freq[i], min_information) for i in range(k)], dtype=np.int64)
    used = "batchnorm" if baseline == "batchnorm" and not isinstance(model, tuple) \
        and not hasattr(model, "kernel") else "zero"
    return KernelPFMs(branch, counts, n_sites, max_activation, window_max, window_argmax,
                      trim, float(fraction), float(min_information), sites, used,
                      base_composition(codes))


def base_composition(codes: np.ndarray) -> np.ndarray:
    """A/C/G/T frequencies of int8 codes (N not counted), shape=(4,); uniform when there is no base."""
    n = np.bincount(np.asarray(codes, np.int64).ravel(), minlength=5)[:4].astype(np.float64)
    return n / n.sum() if n.sum() > 0 else np.full(4, 0.25)


def _site_counts(codes, win, pos, kern, w, k, chunk: int = 1 << 20) -> np.ndarray:
    out = np.zeros(k * w * 5, np.int64)
    cols = np.arange(w)
    for s in range(0, len(win), chunk):
        sub = codes[win[s:s + chunk, None], pos[s:s + chunk, None] + cols].astype(np.int64)
        idx = (kern[s:s + chunk, None].astype(np.int64) * w + cols) * 5 + sub
        out += np.bincount(idx.ravel(), minlength=k * w * 5)
    return out
