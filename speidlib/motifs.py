"""What the convolution kernels learned, in motifs: kernel -> PFM, Tomtom, redundancy, ablation.

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

The matched PFMs are compared with JASPAR CORE vertebrates by Tomtom
(``memelite.tomtom``); ``E = p * number of targets`` as in MEME's Tomtom, and
q-values are Benjamini-Hochberg over one kernel's p-values against every
target. Redundancy follows the preprint: a TF counts the kernels of each
branch that match any of its matrices with ``E < 0.5``, and is reported when
at least 3 kernels do.

Motif importance is measured by ablation: each motif's FIMO hits
(``memelite.fimo``) in one branch's windows are replaced with random bases,
and the change in AUPR and mean score is set beside a control that
randomises as many bases of the same windows at random positions outside the
hits.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .encode import N_CODE, decode, from_one_hot, one_hot

_CONV_LAYER = {"enhancer": schema.ENHANCER_CONV, "promoter": schema.PROMOTER_CONV}
_INPUT_NAME = {"enhancer": schema.ENHANCER_INPUT, "promoter": schema.PROMOTER_INPUT}
_SITE_MODES = ("all", "best")
MERGE_BATCHNORM = "merge_bn"


def kernel_name(branch: str, kernel: int) -> str:
    """The name a kernel goes by in files: ``kernel_name("enhancer", 12) == "enhancer_k0012"``."""
    return f"{branch}_k{int(kernel):04d}"


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


def _check_branch(branch: str) -> str:
    if branch not in schema.BRANCHES:
        raise ValueError(f"branch must be one of {schema.BRANCHES}, got {branch!r}")
    return branch


# --- the convolution layer ----------------------------------------------------

def find_layer(model, name: str):
    """The layer called ``name`` anywhere inside ``model`` (nested sub-models included).

    Raises ValueError naming the layers that are there when none matches.
    """
    seen, stack = [], [model]
    while stack:
        layer = stack.pop(0)
        if layer is not model and layer.name == name:
            return layer
        seen.append(layer.name)
        stack.extend(getattr(layer, "layers", []) or [])
    raise ValueError(f"model {model.name!r} has no layer named {name!r}; "
                     f"its layers are {seen[1:]}")


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
    return find_layer(model, _CONV_LAYER[_check_branch(branch)])


BASELINES = ("batchnorm", "zero")


def activation_baseline(model, branch: str, n_kernels: int | None = None) -> np.ndarray:
    """The activation level SPEID's merge BatchNorm maps to zero, per kernel, shape=(K,).

    ``mu - beta * sqrt(var + eps) / gamma`` from the running statistics and
    the scale and shift of the layer ``merge_bn`` (the pooled outputs of both
    branches share its channels); ``mu`` where ``gamma <= 0``. Zeros when the
    model has no such layer (a model not built by :mod:`speidlib.model`).
    """
    _check_branch(branch)
    try:
        bn = find_layer(model, MERGE_BATCHNORM)
    except (ValueError, AttributeError):
        if n_kernels is None:
            raise ValueError(f"model has no layer {MERGE_BATCHNORM!r} and no kernel count was given") from None
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

    _check_branch(branch)
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
                      trim, float(fraction), float(min_information), sites, used)


def _site_counts(codes, win, pos, kern, w, k, chunk: int = 1 << 20) -> np.ndarray:
    out = np.zeros(k * w * 5, np.int64)
    cols = np.arange(w)
    for s in range(0, len(win), chunk):
        sub = codes[win[s:s + chunk, None], pos[s:s + chunk, None] + cols].astype(np.int64)
        idx = (kern[s:s + chunk, None].astype(np.int64) * w + cols) * 5 + sub
        out += np.bincount(idx.ravel(), minlength=k * w * 5)
    return out


# --- Tomtom -----------------------------------------------------------------

def _targets(targets, release: str):
    from . import jaspar

    if targets is None:
        return jaspar.load_motifs(release)
    return tuple(targets)


def tomtom_matches(queries: Mapping[str, np.ndarray], targets=None,
                   release: str | None = None, n_best: int = 5, keep_evalue: float = 0.5,
                   n_jobs: int = -1) -> pd.DataFrame:
    """Compare PFMs with known motifs by Tomtom (memelite).

    Parameters
    ----------
    queries : name -> PFM, shape=(w, 4), rows summing to 1
    targets : sequence of :class:`speidlib.jaspar.Motif`; default JASPAR CORE
        vertebrates of ``release``
    release : JASPAR release (default ``speidlib.jaspar.DEFAULT_RELEASE``)
    n_best : the best ``n_best`` targets of every query are kept ...
    keep_evalue : ... and every other target with ``E < keep_evalue``
    n_jobs : numba threads for Tomtom (-1: all)

    Returns
    -------
    DataFrame, one row per kept (query, target): ``query, target_id,
    target_name, pvalue, evalue, qvalue, offset, strand, overlap, rank``.
    ``rank`` 1 is the query's best target. ``offset`` and ``strand`` place the
    query on the target: query column ``i`` faces column ``i + offset`` of the
    target, read on ``strand`` (``"-"``: of the target's reverse complement).
    """
    from memelite import tomtom

    from .jaspar import DEFAULT_RELEASE

    targets = _targets(targets, release or DEFAULT_RELEASE)
    if not queries:
        return pd.DataFrame(columns=["query", "target_id", "target_name", "pvalue", "evalue",
                                     "qvalue", "offset", "strand", "overlap", "rank"])
    names = list(queries)
    qs = []
    for name in names:
        q = np.asarray(queries[name], dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != 4 or len(q) == 0:
            raise ValueError(f"query {name!r}: expected a PFM of shape (w, 4), got {q.shape}")
        qs.append(np.ascontiguousarray(q.T))
    ts = [np.ascontiguousarray(m.pfm().T) for m in targets]
    p, _, offsets, overlaps, strands = tomtom(qs, ts, n_jobs=n_jobs)
    n_t = len(ts)
    evalue = p * n_t
    qvalue = _bh(p)
    rank = np.argsort(np.argsort(p, axis=1, kind="stable"), axis=1, kind="stable") + 1
    keep = (rank <= n_best) | (evalue < keep_evalue)
    qi, ti = np.nonzero(keep)
    order = np.lexsort((rank[qi, ti], qi))
    qi, ti = qi[order], ti[order]
    df = pd.DataFrame({
        "query": np.array(names, dtype=object)[qi],
        "target_id": np.array([m.matrix_id for m in targets], dtype=object)[ti],
        "target_name": np.array([m.name for m in targets], dtype=object)[ti],
        "pvalue": p[qi, ti], "evalue": evalue[qi, ti], "qvalue": qvalue[qi, ti],
        "offset": offsets[qi, ti].astype(int),
        "strand": np.where(strands[qi, ti] > 0, "-", "+"),
        "overlap": overlaps[qi, ti].astype(int),
        "rank": rank[qi, ti],
    })
    return df


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis."""
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    qs = np.minimum(np.minimum.accumulate(ps[..., ::-1], axis=-1)[..., ::-1], 1.0)
    out = np.empty_like(qs)
    np.put_along_axis(out, order, qs, axis=-1)
    return out


def kernel_matches(pfms: Sequence[KernelPFMs], targets=None, release: str | None = None,
                   n_best: int = 5, keep_evalue: float = 0.5, min_sites: int = 1,
                   n_jobs: int = -1) -> pd.DataFrame:
    """Tomtom matches of every kernel with at least ``min_sites`` sites.

    Parameters
    ----------
    pfms : one :class:`KernelPFMs` per branch
    targets, release, n_best, keep_evalue, n_jobs : see :func:`tomtom_matches`

    Returns
    -------
    DataFrame with ``schema.MOTIF_MATCH_COLUMNS`` (``branch, kernel,
    kernel_name, target_id, target_name, pvalue, evalue, qvalue, offset,
    strand, overlap, n_sites, width, rank``); ``width`` is the trimmed PFM's.
    """
    queries, info = {}, {}
    for kp in pfms:
        for k in np.flatnonzero(kp.n_sites >= min_sites):
            name = kernel_name(kp.branch, k)
            queries[name] = kp.pfm(k)
            info[name] = (kp.branch, int(k), int(kp.n_sites[k]), len(queries[name]))
    df = tomtom_matches(queries, targets, release, n_best, keep_evalue, n_jobs)
    meta = pd.DataFrame.from_dict(info, orient="index",
                                  columns=["branch", "kernel", "n_sites", "width"])
    df = df.join(meta, on="query").rename(columns={"query": "kernel_name"})
    return df[schema.MOTIF_MATCH_COLUMNS]


def tf_summary(matches: pd.DataFrame, max_evalue: float = 0.5, min_kernels: int = 3) -> pd.DataFrame:
    """Redundancy of each TF across kernels (the preprint's rule).

    Parameters
    ----------
    matches : from :func:`kernel_matches`
    max_evalue : a kernel matches a TF when it matches any of its matrices with ``E < max_evalue``
    min_kernels : a TF is *redundant* in a branch when at least this many kernels match it

    Returns
    -------
    DataFrame with ``schema.TF_SUMMARY_COLUMNS``, one row per matched TF
    (``target_id`` lists its matched JASPAR matrices, ``;``-separated),
    most-matched first.
    """
    missing = {"branch", "kernel", "target_id", "target_name", "evalue"} - set(matches.columns)
    if missing:
        raise ValueError(f"matches lacks the columns {sorted(missing)}")
    sig = matches[matches["evalue"] < max_evalue]
    rows = []
    for tf, g in sig.groupby("target_name", sort=True):
        n = {b: g.loc[g["branch"] == b, "kernel"].nunique() for b in schema.BRANCHES}
        rows.append({
            "tf": tf, "target_id": ";".join(sorted(g["target_id"].unique())),
            "n_enhancer_kernels": n["enhancer"], "n_promoter_kernels": n["promoter"],
            "redundant_enhancer": n["enhancer"] >= min_kernels,
            "redundant_promoter": n["promoter"] >= min_kernels,
            "redundant": max(n.values()) >= min_kernels,
            "best_evalue": float(g["evalue"].min()),
        })
    df = pd.DataFrame(rows, columns=schema.TF_SUMMARY_COLUMNS)
    if len(df):
        total = df["n_enhancer_kernels"] + df["n_promoter_kernels"]
        df = df.assign(_t=total).sort_values(["_t", "tf"], ascending=[False, True],
                                             kind="stable").drop(columns="_t")
    return df.reset_index(drop=True)


# --- writers ----------------------------------------------------------------

def write_kernels_meme(pfms: Sequence[KernelPFMs], path, min_sites: int = 1) -> None:
    """Write every kernel with at least ``min_sites`` sites, trimmed, to a MEME file (atomic)."""
    from .jaspar import write_meme

    entries = [(kernel_name(kp.branch, k), kp.pfm(k), int(kp.n_sites[k]))
               for kp in pfms for k in np.flatnonzero(kp.n_sites >= min_sites)]
    write_meme(entries, path)


def write_activations(pfms: Sequence[KernelPFMs], path,
                      window_ids: Mapping[str, Sequence] | None = None) -> None:
    """Save each branch's ``<branch>_max`` (n_windows, K), ``<branch>_argmax`` and ``<branch>_ids``.

    ``<branch>_max_activation`` (K,) and ``<branch>_n_sites`` (K,) come too. npz, atomic.
    """
    from .io import atomic_path

    arrays = {}
    for kp in pfms:
        ids = (np.arange(len(kp.window_max)) if window_ids is None or kp.branch not in window_ids
               else np.asarray(window_ids[kp.branch]))
        if ids.dtype == object:
            ids = ids.astype(str)
        arrays.update({f"{kp.branch}_max": kp.window_max, f"{kp.branch}_argmax": kp.window_argmax,
                       f"{kp.branch}_ids": ids, f"{kp.branch}_max_activation": kp.max_activation,
                       f"{kp.branch}_n_sites": kp.n_sites})
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def write_csv(df: pd.DataFrame, path) -> None:
    """Write a table as CSV, atomically."""
    from .io import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


# --- motif hits and ablation ------------------------------------------------

def _motif_list(motifs) -> list[tuple[str, str, np.ndarray]]:
    """(id, name, pfm (w, 4)) from Motif objects, (name, pfm) pairs, (id, name, pfm)
    triples or a name -> pfm dict."""
    from .jaspar import Motif

    if isinstance(motifs, Mapping):
        motifs = list(motifs.items())
    out = []
    for m in motifs:
        if isinstance(m, Motif):
            out.append((m.matrix_id, m.name, m.pfm()))
        else:
            mid, name, pfm = (m[0], m[1], m[2]) if len(m) == 3 else (m[0], m[0], m[1])
            pfm = np.asarray(pfm, dtype=np.float64)
            if pfm.ndim != 2 or pfm.shape[1] != 4:
                raise ValueError(f"motif {mid!r}: expected a PFM of shape (w, 4), got {pfm.shape}")
            out.append((str(mid), str(name), pfm))
    ids = [m[0] for m in out]
    if len(set(ids)) != len(ids):
        raise ValueError("motif IDs must be distinct")
    return out


def motif_hits(windows, motifs, threshold: float = 1e-4) -> pd.DataFrame:
    """FIMO hits (memelite, both strands) of motifs in windows.

    Parameters
    ----------
    windows : shape=(n, L) codes or (n, L, 4) one-hot
    motifs : :class:`speidlib.jaspar.Motif` objects, ``(name, pfm)`` pairs or a dict
    threshold : FIMO p-value threshold

    Returns
    -------
    DataFrame ``window, motif_id, motif_name, start, end, strand, score, pvalue``;
    ``[start, end)`` are window coordinates.
    """
    from memelite import fimo

    codes = as_codes(windows)
    ml = _motif_list(motifs)
    cols = ["window", "motif_id", "motif_name", "start", "end", "strand", "score", "pvalue"]
    if not ml or len(codes) == 0:
        return pd.DataFrame(columns=cols)
    names = {mid: name for mid, name, _ in ml}
    frames = []
    for s in range(0, len(codes), 4096):
        X = one_hot(codes[s:s + 4096]).transpose(0, 2, 1)
        for df in fimo({mid: pfm.T for mid, _, pfm in ml}, X, threshold=threshold):
            if len(df):
                frames.append(pd.DataFrame({
                    "window": df["sequence_name"].astype(int).to_numpy() + s,
                    "motif_id": df["motif_name"].astype(str).to_numpy(),
                    "start": df["start"].astype(int).to_numpy(), "end": df["end"].astype(int).to_numpy(),
                    "strand": df["strand"].astype(str).to_numpy(),
                    "score": df["score"].to_numpy(float), "pvalue": df["p-value"].to_numpy(float)}))
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["motif_name"] = out["motif_id"].map(names)
    return out[cols].sort_values(["motif_id", "window", "start", "strand"]).reset_index(drop=True)


def hit_mask(hits: pd.DataFrame, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask, shape=(n, L), of the bases covered by any hit."""
    diff = np.zeros((shape[0], shape[1] + 1), np.int32)
    if len(hits):
        w = hits["window"].to_numpy(int)
        np.add.at(diff, (w, np.clip(hits["start"].to_numpy(int), 0, shape[1])), 1)
        np.add.at(diff, (w, np.clip(hits["end"].to_numpy(int), 0, shape[1])), -1)
    return np.cumsum(diff, axis=1)[:, :-1] > 0


def randomize(codes: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``codes`` (n, L) with the masked bases replaced by uniform random bases."""
    out = codes.copy()
    out[mask] = rng.integers(0, 4, int(mask.sum()), dtype=np.int8)
    return out


def control_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """As many positions per window as ``mask`` holds, drawn at random outside it.

    mask : shape=(n, L) bool -> shape=(n, L) bool, disjoint from ``mask``,
    with the same row sums (fewer only where a row has too few free positions).
    """
    keys = rng.random(mask.shape)
    keys[mask] = np.inf
    ranks = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    return (ranks < mask.sum(axis=1, keepdims=True)) & ~mask


def scorer(model, batch_size: int = 256) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function ``(enhancer_onehot (n, We, 4), promoter_onehot (n, Wp, 4)) -> scores (n,)``.

    ``model`` is a Keras model with inputs ``schema.ENHANCER_INPUT`` and
    ``schema.PROMOTER_INPUT`` (or, failing those names, enhancer then
    promoter); any other callable is returned as it is.
    """
    if not hasattr(model, "predict"):
        return model

    def score(enh, prom):
        out = model.predict(model_inputs(model, enh, prom), batch_size=batch_size, verbose=0)
        return np.asarray(out, dtype=np.float64).reshape(len(enh), -1)[:, 0]

    return score


def model_inputs(model, enh, prom):
    """Order (enhancer, promoter) as the model's inputs: a list in ``model.inputs`` order."""
    names = [getattr(t, "name", "").split(":")[0] for t in getattr(model, "inputs", None) or []]
    by_name = {schema.ENHANCER_INPUT: enh, schema.PROMOTER_INPUT: prom}
    if sorted(names) == sorted(by_name):
        return [by_name[n] for n in names]
    return [enh, prom]


def score_codes(score: Callable, enhancer_codes, promoter_codes, batch_size: int = 1024) -> np.ndarray:
    """Scores, shape=(n,), of pairs given as codes (one-hot built batch by batch)."""
    out = np.empty(len(enhancer_codes), np.float64)
    for s in range(0, len(out), batch_size):
        out[s:s + batch_size] = np.asarray(
            score(one_hot(enhancer_codes[s:s + batch_size]), one_hot(promoter_codes[s:s + batch_size])),
            dtype=np.float64).reshape(-1)
    return out


def motif_ablation(model, enhancer_windows, promoter_windows, labels, motifs,
                   threshold: float = 1e-4, seed: int = 0, batch_size: int = 256,
                   progress: bool = False) -> pd.DataFrame:
    """Importance of each motif by ablating its FIMO hits, per branch, beside a control.

    Only pairs whose window holds a hit change, so only those are re-scored.
    Use held-out pairs only.

    Parameters
    ----------
    model : Keras model or callable ``(enhancer_onehot, promoter_onehot) -> scores``
    enhancer_windows : shape=(n, We) codes or (n, We, 4) one-hot, one per pair
    promoter_windows : shape=(n, Wp) codes or (n, Wp, 4) one-hot
    labels : shape=(n,), 0/1
    motifs : :class:`speidlib.jaspar.Motif` objects, ``(name, pfm)`` pairs or a dict
    threshold : FIMO p-value threshold for a hit
    seed : seeds the random bases (each motif and branch gets its own stream)

    Returns
    -------
    DataFrame with ``schema.ABLATION_COLUMNS``, one row per motif and branch:
    hits, windows hit and bases replaced; baseline AUPR and mean score; the
    ablated AUPR and the changes (ablated - baseline) in AUPR, mean score over
    all pairs and mean score over the pairs hit; and the same changes for the
    control.
    """
    from tqdm.auto import tqdm

    from .metrics import aupr

    codes = {"enhancer": as_codes(enhancer_windows, "enhancer windows"),
             "promoter": as_codes(promoter_windows, "promoter windows")}
    y = np.asarray(labels).astype(int).reshape(-1)
    if not len(codes["enhancer"]) == len(codes["promoter"]) == len(y):
        raise ValueError(f"enhancer windows ({len(codes['enhancer'])}), promoter windows "
                         f"({len(codes['promoter'])}) and labels ({len(y)}) must have one row per pair")
    ml = _motif_list(motifs)
    score = scorer(model, batch_size)
    base = score_codes(score, codes["enhancer"], codes["promoter"], batch_size)
    base_aupr = aupr(y, base)

    def rescore(branch, new_codes, rows):
        s = base.copy()
        if len(rows):
            other = "promoter" if branch == "enhancer" else "enhancer"
            args = {branch: new_codes[rows], other: codes[other][rows]}
            s[rows] = score_codes(score, args["enhancer"], args["promoter"], batch_size)
        return s

    rows_out = []
    jobs = [(bi, branch, mi) for bi, branch in enumerate(schema.BRANCHES) for mi in range(len(ml))]
    hits = {branch: motif_hits(codes[branch], ml, threshold) for branch in schema.BRANCHES}
    for bi, branch, mi in tqdm(jobs, desc="motif ablation", disable=not progress):
        mid, name, _ = ml[mi]
        h = hits[branch][hits[branch]["motif_id"] == mid]
        mask = hit_mask(h, codes[branch].shape)
        rows = np.flatnonzero(mask.any(axis=1))
        rng = np.random.default_rng([seed, bi, mi])
        ablated = rescore(branch, randomize(codes[branch], mask, rng), rows)
        control = rescore(branch, randomize(codes[branch], control_mask(mask, rng), rng), rows)
        hit_mean = (lambda s: float((s[rows] - base[rows]).mean())) if len(rows) else (lambda s: 0.0)
        rows_out.append({
            "motif_id": mid, "motif_name": name, "branch": branch, "n_hits": len(h),
            "n_windows_hit": len(rows), "n_bases": int(mask.sum()),
            "aupr": base_aupr, "aupr_ablated": aupr(y, ablated),
            "delta_aupr": aupr(y, ablated) - base_aupr,
            "mean_score": float(base.mean()),
            "delta_mean_score": float(ablated.mean() - base.mean()),
            "delta_mean_score_hit": hit_mean(ablated),
            "control_delta_aupr": aupr(y, control) - base_aupr,
            "control_delta_mean_score": float(control.mean() - base.mean()),
            "control_delta_mean_score_hit": hit_mean(control),
        })
    return pd.DataFrame(rows_out, columns=schema.ABLATION_COLUMNS)


# --- `speid motifs RUN` -------------------------------------------------------

def planted_recovery(matches: pd.DataFrame, demo_info, cell_line: str | None = None,
                     max_evalue: float = 0.5, jaspar_init: pd.DataFrame | None = None) -> pd.DataFrame:
    """Does each motif planted in a demo come back as a kernel's best JASPAR match?

    The ground-truth check of a demo run: a planted motif is *recovered* when
    it is the best Tomtom match (rank 1, ``E < max_evalue``) of at least one
    kernel of the branch it was planted in. Matches count by TF name (case
    folded), so another JASPAR matrix of the same TF counts too;
    ``kernels_same_matrix`` counts the planted matrix itself.

    Parameters
    ----------
    matches : ``RUN/motifs/matches.csv`` (:func:`kernel_matches`)
    demo_info : :class:`speidlib.demo.DemoInfo`
    cell_line : the run's cell line; its own classes have ``in_cell_line`` True
    max_evalue : E-value below which a best match counts
    jaspar_init : ``RUN/jaspar_init.csv``, to flag TFs a kernel started from

    Returns
    -------
    DataFrame, one row per class and branch: ``class, branch, motif_id, tf,
    in_cell_line, kernels_best, kernels_same_matrix, kernels_listed,
    best_evalue, recovered, tf_in_jaspar_init``.
    """
    best = matches[(matches["rank"] == 1) & (matches["evalue"] < max_evalue)]
    listed = matches[matches["evalue"] < max_evalue]
    started = set() if jaspar_init is None else set(jaspar_init["name"].str.upper())
    rows = []
    for c in demo_info.classes:
        for branch in schema.BRANCHES:
            motif_id, tf = getattr(c, f"{branch}_motif"), getattr(c, f"{branch}_tf").upper()
            mine = best[(best["branch"] == branch) & (best["target_name"].str.upper() == tf)]
            seen = listed[(listed["branch"] == branch) & (listed["target_name"].str.upper() == tf)]
            rows.append({"class": c.index, "branch": branch, "motif_id": motif_id, "tf": tf,
                         "in_cell_line": cell_line is None or cell_line in c.cell_lines,
                         "kernels_best": int(mine["kernel"].nunique()),
                         "kernels_same_matrix": int(mine.loc[mine["target_id"] == motif_id, "kernel"].nunique()),
                         "kernels_listed": int(seen["kernel"].nunique()),
                         "best_evalue": float(seen["evalue"].min()) if len(seen) else np.nan,
                         "recovered": len(mine) > 0, "tf_in_jaspar_init": tf in started})
    return pd.DataFrame(rows)


def held_out_windows(dataset, split: str = schema.TEST) -> dict:
    """The distinct windows of one split's pairs, per branch.

    Returns
    -------
    dict branch -> (codes (n_elements, W) int8, element names (n_elements,))
    at the elements' default windows (the windows the split is scored on).
    """
    pair_index, _, _, _ = dataset.examples(split, balanced=False)
    if len(pair_index) == 0:
        raise ValueError(f"{dataset.path} has no {split} pairs")
    out = {}
    for branch, index in (("enhancer", dataset.enhancer_index), ("promoter", dataset.promoter_index)):
        elements = np.unique(index[pair_index])
        out[branch] = (dataset.windows(branch, elements),
                       dataset.elements[branch]["name"].to_numpy()[elements].astype(str))
    return out


def ablation_motifs(matches: pd.DataFrame, targets, max_evalue: float = 0.5,
                    min_kernels: int = 3, max_motifs: int = 20) -> list:
    """JASPAR matrices to ablate: those matched (``E < max_evalue``) by at least
    ``min_kernels`` kernels of one branch, most-matched first, at most ``max_motifs``."""
    sig = matches[matches["evalue"] < max_evalue]
    n = sig.groupby(["target_id", "branch"])["kernel"].nunique().groupby("target_id").max()
    n = n[n >= min_kernels].sort_values(ascending=False, kind="stable")
    by_id = {m.matrix_id: m for m in targets}
    return [by_id[i] for i in n.index[:max_motifs] if i in by_id]


def run_motifs(run_dir, *, split: str = schema.TEST, fraction: float = 0.5,
               min_information: float = 0.5, sites: str = "all", baseline: str = "batchnorm",
               release: str | None = None,
               n_best: int = 5, max_evalue: float = 0.5, min_kernels: int = 3, n_top: int = 10,
               logos: str | None = "significant", max_logos: int | None = 200,
               ablation: bool = True, max_ablation_motifs: int = 20, fimo_threshold: float = 1e-4,
               seed: int = 0, batch_size: int | None = None, n_jobs: int = -1,
               model=None, progress: bool = True) -> dict:
    """Everything of ``speid motifs RUN``: kernels -> PFMs -> JASPAR matches, logos, ablation.

    Reads ``RUN/model.keras`` and the ``split`` pairs of ``RUN/dataset.h5``;
    writes, atomically, under ``RUN/motifs/``: ``kernels.meme``,
    ``matches.csv``, ``tf_summary.csv``, ``activations.npz``,
    ``top_windows.csv``, ``logos/<kernel>.png``, ``ablation.csv`` and
    ``motifs.json`` (parameters, JASPAR release, counts); the parameters go
    to ``RUN/config.json`` under ``"motifs"`` too.

    Parameters
    ----------
    run_dir : the run directory
    split : pairs whose windows are scanned and ablated (held-out: ``"test"``)
    fraction, min_information, sites, baseline : see :func:`kernel_pfms`
    release : JASPAR release (default ``speidlib.jaspar.DEFAULT_RELEASE``)
    n_best : Tomtom matches kept per kernel (plus all with ``E < max_evalue``)
    max_evalue, min_kernels : the redundancy rule (E < 0.5, at least 3 kernels)
    n_top : top windows listed per kernel
    logos : ``"significant"``, ``"matched"``, ``"all"`` or None (no logos)
    ablation : run the motif ablation on the ``split`` pairs for the
        matrices of :func:`ablation_motifs` (at most ``max_ablation_motifs``)
    model : an already loaded model (default: ``RUN/model.keras``)

    Returns
    -------
    dict, the content of ``motifs.json`` (with the paths written)
    """
    from tqdm.auto import tqdm

    from . import jaspar
    from .dataset import Dataset, write_config
    from .io import atomic_write_json, package_versions

    run_dir = Path(run_dir)
    out = run_dir / schema.MOTIFS_DIR
    release = release or jaspar.DEFAULT_RELEASE
    params = dict(split=split, fraction=fraction, min_information=min_information, sites=sites,
                  baseline=baseline,
                  release=release, collection=jaspar.DEFAULT_COLLECTION,
                  tax_group=jaspar.DEFAULT_TAX_GROUP, n_best=n_best, max_evalue=max_evalue,
                  min_kernels=min_kernels, n_top=n_top, logos=logos, max_logos=max_logos,
                  ablation=ablation, max_ablation_motifs=max_ablation_motifs,
                  fimo_threshold=fimo_threshold, seed=seed)
    steps = tqdm(total=6 + bool(logos) + bool(ablation), desc="speid motifs", disable=not progress)

    def step(text):
        steps.set_postfix_str(text)
        steps.update(1)

    if model is None:
        from .evaluate import load_model

        model = load_model(run_dir)
    dataset = Dataset.load(run_dir / schema.DATASET_FILE)
    windows = held_out_windows(dataset, split)
    targets = jaspar.load_motifs(release)
    step("loaded model, windows, JASPAR")

    pfms = [kernel_pfms(model, windows[b][0], b, fraction, min_information, sites, batch_size, progress,
                        baseline) for b in schema.BRANCHES]
    step("kernel PFMs")
    write_kernels_meme(pfms, out / schema.MOTIF_KERNELS_MEME)
    write_activations(pfms, out / schema.MOTIF_ACTIVATIONS_FILE, {b: windows[b][1] for b in windows})
    write_csv(pd.concat([kp.top_windows(windows[kp.branch][0], n_top, windows[kp.branch][1])
                         for kp in pfms], ignore_index=True), out / schema.MOTIF_TOP_WINDOWS_FILE)
    step("activations, top windows")

    matches = kernel_matches(pfms, targets, release, n_best, max_evalue, n_jobs=n_jobs)
    write_csv(matches, out / schema.MOTIF_MATCHES_FILE)
    step("Tomtom")
    summary = tf_summary(matches, max_evalue, min_kernels)
    write_csv(summary, out / schema.MOTIF_TF_SUMMARY_FILE)
    step("TF redundancy")

    n_logos = 0
    if logos:
        from .logos import save_kernel_logos

        n_logos = len(save_kernel_logos(pfms, matches, out / schema.MOTIF_LOGOS_DIR, targets,
                                        which=logos, max_evalue=max_evalue, max_logos=max_logos,
                                        progress=progress))
        step("logos")

    ablated = []
    if ablation:
        ablated = ablation_motifs(matches, targets, max_evalue, min_kernels, max_ablation_motifs)
        enh, prom, y = dataset.arrays(split, balanced=False)
        table = motif_ablation(model, enh, prom, y, ablated, fimo_threshold, seed,
                               progress=progress) if ablated else \
            pd.DataFrame(columns=schema.ABLATION_COLUMNS)
        write_csv(table, out / schema.MOTIF_ABLATION_FILE)
        step("ablation")

    result = {
        "parameters": params,
        "jaspar": {"release": release, "collection": jaspar.DEFAULT_COLLECTION,
                   "tax_group": jaspar.DEFAULT_TAX_GROUP, "n_matrices": len(targets)},
        "n_windows": {b: int(len(windows[b][0])) for b in windows},
        "n_kernels": {kp.branch: kp.n_kernels for kp in pfms},
        "n_kernels_with_sites": {kp.branch: int((kp.n_sites > 0).sum()) for kp in pfms},
        "n_kernels_matched": {b: int(matches.loc[(matches["branch"] == b)
                                                 & (matches["evalue"] < max_evalue), "kernel"].nunique())
                              for b in schema.BRANCHES},
        "n_redundant_tfs": {b: int(summary[f"redundant_{b}"].sum()) for b in schema.BRANCHES},
        "n_logos": n_logos,
        "ablated_motifs": [m.matrix_id for m in ablated],
        "versions": package_versions(("numpy", "pandas", "keras", "tensorflow", "pyjaspar",
                                      "memelite", "logomaker")),
    }
    atomic_write_json(out / schema.MOTIF_SUMMARY_FILE, result)
    write_config(run_dir, "motifs", params)
    step("done")
    steps.close()
    return result
