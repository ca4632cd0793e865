"""Sequence logos (logomaker) of kernel PFMs beside their best Tomtom match.

Figures are plain ``matplotlib.figure.Figure`` objects drawn on the Agg
canvas: nothing here touches pyplot's global state, so notebooks keep their
own backend and a server writes PNGs without a display.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib.data.encode import BASES
from speidlib.data.jaspar import DEFAULT_RELEASE, load_motifs
from speidlib.interpret.kernels import kernel_name
from speidlib.io import atomic_path


def pfm_frame(pfm, index=None) -> pd.DataFrame:
    """A PFM, shape=(w, 4), as a DataFrame with columns A, C, G, T (rows re-normalised)."""
    pfm = np.asarray(pfm, dtype=np.float64)
    if pfm.ndim != 2 or pfm.shape[1] != 4:
        raise ValueError(f"expected a PFM of shape (w, 4), got {pfm.shape}")
    if (pfm < 0).any():
        raise ValueError("a PFM cannot hold negative frequencies")
    total = pfm.sum(axis=1, keepdims=True)
    pfm = np.where(total > 0, pfm / np.where(total > 0, total, 1), 0.25)
    return pd.DataFrame(pfm, columns=list(BASES),
                        index=np.arange(len(pfm)) if index is None else np.asarray(index))


def pfm_bits(pfm, index=None) -> pd.DataFrame:
    """Letter heights in bits (frequency x column information content), columns A, C, G, T."""
    import logomaker

    return logomaker.transform_matrix(pfm_frame(pfm, index), from_type="probability",
                                      to_type="information")


def aligned_match(match_pfm, offset: int, strand: str) -> pd.DataFrame:
    """A Tomtom target placed in the query's coordinates.

    Parameters
    ----------
    match_pfm : shape=(wt, 4), the target as stored (JASPAR orientation)
    offset : Tomtom's offset: query column ``i`` faces target column ``i + offset``
    strand : ``"+"``, or ``"-"`` when the query matched the target's reverse complement

    Returns
    -------
    DataFrame (wt rows, A/C/G/T) of the target, reverse-complemented when
    ``strand == "-"``, indexed by query position (``j - offset`` for its column ``j``).
    """
    if strand not in ("+", "-"):
        raise ValueError(f"strand must be '+' or '-', got {strand!r}")
    pfm = np.asarray(match_pfm, dtype=np.float64)
    if strand == "-":
        pfm = pfm[::-1, ::-1]
    return pfm_frame(pfm, np.arange(len(pfm)) - int(offset))


def kernel_logo(kernel_pfm, match_pfm=None, offset: int = 0, strand: str = "+",
                kernel_label: str = "kernel", match_label: str = "match",
                figsize=None):
    """A kernel's PFM above its Tomtom match, in bits, on one aligned x axis.

    Parameters
    ----------
    kernel_pfm : shape=(w, 4), the (trimmed) kernel PFM
    match_pfm : shape=(wt, 4) or None; the target as stored in JASPAR
    offset, strand : from Tomtom (see :func:`aligned_match`)
    kernel_label, match_label : panel titles

    Returns
    -------
    matplotlib.figure.Figure with one axis (kernel) or two (kernel, match)
    """
    import logomaker
    from matplotlib.figure import Figure

    kernel = pfm_bits(kernel_pfm)
    panels = [(kernel, kernel_label)]
    if match_pfm is not None:
        match = aligned_match(match_pfm, offset, strand)
        panels.append((pfm_bits(match.to_numpy(), match.index), match_label))
    lo = min(int(p.index.min()) for p, _ in panels)
    hi = max(int(p.index.max()) for p, _ in panels)
    if figsize is None:
        figsize = (max(4.0, 0.35 * (hi - lo + 1) + 1.0), 1.9 * len(panels))
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (bits, label) in zip(axes, panels):
        with warnings.catch_warnings():     # an all-zero logo (no sites) sets ylim (0, 0) first
            warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
            logomaker.Logo(bits, ax=ax, color_scheme="classic")
        ax.set_ylim(0, 2)
        ax.set_ylabel("bits")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1].set_xlim(lo - 0.5, hi + 0.5)
    axes[-1].set_xlabel("position in kernel PFM")
    return fig


def save_logo(fig, path) -> Path:
    """Write a figure as PNG, atomically."""

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def save_kernel_logos(pfms: Sequence, matches: pd.DataFrame, out_dir, targets=None,
                      release: str | None = None, which: str = "significant",
                      max_evalue: float = 0.5, max_logos: int | None = 200,
                      progress: bool = False) -> list[Path]:
    """One PNG per kernel, ``OUT_DIR/<kernel_name>.png``: its PFM beside its best match.

    Parameters
    ----------
    pfms : :class:`speidlib.interpret.KernelPFMs`, one per branch
    matches : from :func:`speidlib.interpret.kernel_matches`
    targets : the Tomtom targets (default JASPAR CORE vertebrates of ``release``)
    which : ``"significant"`` (best match has ``E < max_evalue``), ``"matched"``
        (any kernel with sites, with its best match whatever its E-value) or ``"all"``
    max_logos : at most this many, best E-values first (None: no limit)

    Returns
    -------
    paths written, in order
    """
    from tqdm.auto import tqdm

    if which not in ("significant", "matched", "all"):
        raise ValueError(f"which must be 'significant', 'matched' or 'all', got {which!r}")
    by_id = {m.matrix_id: m for m in (targets if targets is not None
                                      else load_motifs(release or DEFAULT_RELEASE))}
    best = matches[matches["rank"] == 1].set_index("kernel_name")
    jobs = []
    for kp in pfms:
        for k in range(kp.n_kernels):
            name = kernel_name(kp.branch, k)
            row = best.loc[name] if name in best.index else None
            e = float(row["evalue"]) if row is not None else np.inf
            if which == "significant" and not e < max_evalue:
                continue
            if which == "matched" and row is None:
                continue
            jobs.append((e, name, kp, k, row))
    jobs.sort(key=lambda j: (j[0], j[1]))
    if max_logos is not None:
        jobs = jobs[:max_logos]
    paths = []
    for e, name, kp, k, row in tqdm(jobs, desc="logos", disable=not progress):
        label = f"{name}  ({int(kp.n_sites[k])} sites)"
        if row is None or row["target_id"] not in by_id:
            fig = kernel_logo(kp.pfm(k), kernel_label=label)
        else:
            m = by_id[row["target_id"]]
            fig = kernel_logo(kp.pfm(k), m.pfm(), int(row["offset"]), row["strand"], label,
                              f"{m.matrix_id} {m.name}  strand {row['strand']}  E = {e:.2g}")
        paths.append(save_logo(fig, Path(out_dir) / f"{name}.png"))
    return paths
