"""Which motifs and kernels the model uses: motif ablation and kernel silencing.

Motif ablation replaces each motif's FIMO hits (``memelite.fimo``) in one
branch's windows with random bases and sets the change in AUPR and mean score
beside a control that randomises as many bases at random positions outside
the hits. Kernel silencing zeroes one kernel at a time and records the
held-out AUPR change. A Keras model's scores come from
:func:`speidlib.score.pairs.score_pairs` (the whole model per pair, batches sized
by memory); :func:`scorer` wraps a model as a function of one-hot arrays.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data.encode import one_hot
from speidlib.data.jaspar import Motif
from speidlib.evaluate.metrics import aupr
from speidlib.interpret.kernels import (
    activation_baseline,
    as_codes,
    branch_conv,
    keras_value,
)
from speidlib.model.build import model_inputs
from speidlib.model.infer import predict
from speidlib.score.pairs import score_pairs

# --- motif hits and ablation ------------------------------------------------

def _motif_list(motifs) -> list[tuple[str, str, np.ndarray]]:
    """(id, name, pfm (w, 4)) from Motif objects, (name, pfm) pairs, (id, name, pfm)
    triples or a name -> pfm dict."""

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
    motifs : :class:`speidlib.data.jaspar.Motif` objects, ``(name, pfm)`` pairs or a dict
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
        out = predict(model, model_inputs(model, enh, prom), batch_size=batch_size)
        return np.asarray(out, dtype=np.float64).reshape(len(enh), -1)[:, 0]

    return score


def score_codes(score, enhancer_codes, promoter_codes, batch_size: int = 1024) -> np.ndarray:
    """Scores, shape=(n,), of pairs given as codes, one window pair per row.

    ``score``: a Keras model (scored by :func:`speidlib.score.pairs.score_pairs`, every
    pair through the whole model) or a function of one-hot arrays (:func:`scorer`),
    called on ``batch_size`` rows at a time.
    """
    if hasattr(score, "predict_on_batch"):
        rows = np.arange(len(enhancer_codes))
        return score_pairs(score, enhancer_codes, promoter_codes, rows, rows, cache=False,
                           batch_size=batch_size)
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
    motifs : :class:`speidlib.data.jaspar.Motif` objects, ``(name, pfm)`` pairs or a dict
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

    codes = {"enhancer": as_codes(enhancer_windows, "enhancer windows"),
             "promoter": as_codes(promoter_windows, "promoter windows")}
    y = np.asarray(labels).astype(int).reshape(-1)
    if not len(codes["enhancer"]) == len(codes["promoter"]) == len(y):
        raise ValueError(f"enhancer windows ({len(codes['enhancer'])}), promoter windows "
                         f"({len(codes['promoter'])}) and labels ({len(y)}) must have one row per pair")
    ml = _motif_list(motifs)
    score = model   # a Keras model: score_codes goes through score_pairs
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


def ablation_motifs(matches: pd.DataFrame, targets, max_evalue: float = 0.5,
                    min_kernels: int = 3, max_motifs: int = 20) -> list:
    """JASPAR matrices to ablate: those matched (``E < max_evalue``) by at least
    ``min_kernels`` kernels of one branch, most-matched first, at most ``max_motifs``."""
    sig = matches[matches["evalue"] < max_evalue]
    n = sig.groupby(["target_id", "branch"])["kernel"].nunique().groupby("target_id").max()
    n = n[n >= min_kernels].sort_values(ascending=False, kind="stable")
    by_id = {m.matrix_id: m for m in targets}
    return [by_id[i] for i in n.index[:max_motifs] if i in by_id]


def kernel_silencing(model, enhancer_windows, promoter_windows, labels, kernels_to_silence,
                     batch_size: int = 256, progress: bool = False) -> pd.DataFrame:
    """Importance of single kernels: held-out AUPR when one kernel is silenced.

    A silenced kernel has a zero weight matrix and, as bias, the activation
    level the merge BatchNorm maps to zero
    (:func:`speidlib.interpret.kernels.activation_baseline`): it outputs the
    level the rest of the network reads as nothing, at every position. The
    model's weights are restored afterwards (also on error).

    Parameters
    ----------
    model : Keras model holding ``schema.ENHANCER_CONV`` / ``PROMOTER_CONV``
    enhancer_windows, promoter_windows : shape=(n, W) codes or (n, W, 4) one-hot, one per pair
    labels : shape=(n,), 0/1
    kernels_to_silence : iterable of (branch, kernel)

    Returns
    -------
    DataFrame ``branch, kernel, aupr, aupr_silenced, delta_aupr`` (silenced -
    baseline; negative when the model uses the kernel), one row per kernel.
    """
    from tqdm.auto import tqdm

    enh = as_codes(enhancer_windows, "enhancer windows")
    prom = as_codes(promoter_windows, "promoter windows")
    y = np.asarray(labels).astype(int).reshape(-1)
    if not len(enh) == len(prom) == len(y):
        raise ValueError(f"enhancer windows ({len(enh)}), promoter windows ({len(prom)}) and "
                         f"labels ({len(y)}) must have one row per pair")
    score = model   # a Keras model: score_codes goes through score_pairs
    base = aupr(y, score_codes(score, enh, prom, batch_size))
    rows = []
    for branch, k in tqdm(list(kernels_to_silence), desc="kernel silencing", disable=not progress):
        layer = branch_conv(model, branch)
        kernel, bias = keras_value(layer.kernel), keras_value(layer.bias)
        level = activation_baseline(model, branch, kernel.shape[2])[k]
        try:
            silent_k, silent_b = kernel.copy(), bias.copy()
            silent_k[:, :, k] = 0
            silent_b[k] = level
            layer.kernel.assign(silent_k)
            layer.bias.assign(silent_b)
            silenced = aupr(y, score_codes(score, enh, prom, batch_size))
        finally:
            layer.kernel.assign(kernel)
            layer.bias.assign(bias)
        rows.append({"branch": branch, "kernel": int(k), "aupr": base, "aupr_silenced": silenced,
                     "delta_aupr": silenced - base})
    return pd.DataFrame(rows, columns=["branch", "kernel", "aupr", "aupr_silenced", "delta_aupr"])
