"""Kernel PFMs against JASPAR: Tomtom matches, a calibrated column score, redundancy.

The matched PFMs are compared with JASPAR CORE vertebrates by Tomtom
(``memelite.tomtom``); ``E = p * number of targets`` as in MEME's Tomtom, and
q-values are Benjamini-Hochberg over one kernel's p-values against every
target. Redundancy follows the preprint: a TF counts the kernels of each
branch that match any of its matrices with ``E < 0.5``, and is reported when
at least 3 kernels do.

Columns are compared by the correlation of their deviations from the
background (:func:`centred_columns`), not by memelite's raw Euclidean
distance, which makes near-uniform PFMs match CTCF's long flanks with E near
0 (``docs/motif_matching.md``); only informative PFMs are matched
(:meth:`KernelPFMs.informative`), and a TF's count of matched kernels is set
beside a null of untrained kernels (:mod:`speidlib.interpret.null`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.data import jaspar
from speidlib.data.jaspar import DEFAULT_RELEASE
from speidlib.interpret.kernels import KernelPFMs, kernel_name
from speidlib.interpret.null import tf_enrichment

# --- Tomtom -----------------------------------------------------------------

def _targets(targets, release: str):

    if targets is None:
        return jaspar.load_motifs(release)
    return tuple(targets)


SCORES = ("pearson", "euclidean")


def centred_columns(pfm: np.ndarray, background=None, eps: float = 1e-9) -> np.ndarray:
    """Each PFM column minus the background, scaled to unit length, shape=(w, 4).

    With these columns the Euclidean distance memelite's Tomtom scores by is
    ``sqrt(2 - 2 r)``, ``r`` the correlation of the two columns' deviations
    from their backgrounds (Pearson's correlation when the background is
    uniform, MEME Tomtom's default column score). A column equal to its
    background has no direction and becomes the zero vector: it lies at
    distance 1 from every informative column, the same as an uncorrelated
    one, so it carries no signal.

    pfm : shape=(w, 4), rows summing to 1
    background : shape=(4,), A/C/G/T frequencies (default uniform)
    """
    b = np.full(4, 0.25) if background is None else np.asarray(background, np.float64)
    c = np.asarray(pfm, np.float64) - b
    norm = np.linalg.norm(c, axis=-1, keepdims=True)
    return np.where(norm > eps, c / np.maximum(norm, eps), 0.0)


def tomtom_matches(queries: Mapping[str, np.ndarray], targets=None,
                   release: str | None = None, n_best: int = 5, keep_evalue: float = 0.5,
                   n_jobs: int = -1, score: str = "pearson", background=None) -> pd.DataFrame:
    """Compare PFMs with known motifs by Tomtom (memelite).

    Parameters
    ----------
    queries : name -> PFM, shape=(w, 4), rows summing to 1
    targets : sequence of :class:`speidlib.data.jaspar.Motif`; default JASPAR CORE
        vertebrates of ``release``
    release : JASPAR release (default ``speidlib.data.jaspar.DEFAULT_RELEASE``)
    n_best : the best ``n_best`` targets of every query are kept ...
    keep_evalue : ... and every other target with ``E < keep_evalue``
    n_jobs : numba threads for Tomtom (-1: all)
    score : ``"pearson"`` (default): columns are compared by the correlation
        of their deviations from the background (:func:`centred_columns`);
        ``"euclidean"``: memelite's raw Euclidean distance between
        frequency columns. The Euclidean score is miscalibrated against
        JASPAR: an uninformative query column sits close to every
        near-uniform target column, so near-uniform and random
        low-information queries all match the long flanks of the CTCF
        matrices with E near 0 (issue 14; ``docs/motif_matching.md``).
    background : shape=(4,), the base composition of the windows the query
        PFMs were built from (default uniform); targets are centred on a
        uniform background, as JASPAR frequency matrices are

    Returns
    -------
    DataFrame, one row per kept (query, target): ``query, target_id,
    target_name, pvalue, evalue, qvalue, offset, strand, overlap, rank``.
    ``rank`` 1 is the query's best target. ``offset`` and ``strand`` place the
    query on the target: query column ``i`` faces column ``i + offset`` of the
    target, read on ``strand`` (``"-"``: of the target's reverse complement).
    """
    from memelite import tomtom

    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
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
        if score == "pearson":
            q = centred_columns(q, background)
        qs.append(np.ascontiguousarray(q.T))
    if score == "pearson":
        ts = [np.ascontiguousarray(centred_columns(m.pfm()).T) for m in targets]
    else:
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
                   n_jobs: int = -1, informative_only: bool = True, score: str = "pearson",
                   use_background: bool = True) -> pd.DataFrame:
    """Tomtom matches of every kernel with at least ``min_sites`` sites.

    Parameters
    ----------
    pfms : one :class:`KernelPFMs` per branch
    targets, release, n_best, keep_evalue, n_jobs, score : see :func:`tomtom_matches`
    informative_only : match only kernels whose PFM is informative
        (:meth:`KernelPFMs.informative`); the others get no row
    use_background : compare each branch's PFMs with the base composition of
        its windows (``KernelPFMs.background``) instead of a uniform one

    Returns
    -------
    DataFrame with ``schema.MOTIF_MATCH_COLUMNS`` (``branch, kernel,
    kernel_name, target_id, target_name, pvalue, evalue, qvalue, offset,
    strand, overlap, n_sites, width, rank``); ``width`` is the trimmed PFM's.
    """
    frames = []
    for kp in pfms:
        keep = kp.n_sites >= min_sites
        if informative_only:
            keep &= kp.informative()
        queries, info = {}, {}
        for k in np.flatnonzero(keep):
            name = kernel_name(kp.branch, k)
            queries[name] = kp.pfm(k)
            info[name] = (kp.branch, int(k), int(kp.n_sites[k]), len(queries[name]))
        if not queries:
            continue
        df = tomtom_matches(queries, targets, release, n_best, keep_evalue, n_jobs, score,
                            kp.background if use_background else None)
        meta = pd.DataFrame.from_dict(info, orient="index",
                                      columns=["branch", "kernel", "n_sites", "width"])
        frames.append(df.join(meta, on="query").rename(columns={"query": "kernel_name"}))
    if not frames:
        return pd.DataFrame(columns=schema.MOTIF_MATCH_COLUMNS)
    return pd.concat(frames, ignore_index=True)[schema.MOTIF_MATCH_COLUMNS]


def best_matches(matches: pd.DataFrame) -> pd.DataFrame:
    """Each kernel's best match only: its row with the smallest E-value (ties: the first).

    Parameters
    ----------
    matches : from :func:`kernel_matches`, any number of rows per kernel

    Returns
    -------
    DataFrame, the same columns, one row per (branch, kernel)
    """
    order = ["branch", "kernel", "evalue"] + (["rank"] if "rank" in matches.columns else [])
    ranked = matches.sort_values(order, kind="stable")
    return ranked.groupby(["branch", "kernel"], sort=False).head(1).reset_index(drop=True)


def kernels_per_tf(matches: pd.DataFrame, max_evalue: float = 0.5, best_only: bool = False) -> pd.DataFrame:
    """Kernels of each branch matching each TF (any of its matrices) with ``E < max_evalue``.

    With ``best_only`` a kernel counts only for the TF of its best match
    (:func:`best_matches`), so a kernel that learned one motif is not also
    counted for every look-alike JASPAR matrix.

    Returns
    -------
    DataFrame indexed by TF name, columns ``schema.BRANCHES``, int counts;
    ``target_id`` (its matched matrices, ``;``-separated) and ``best_evalue`` too.
    """
    missing = {"branch", "kernel", "target_id", "target_name", "evalue"} - set(matches.columns)
    if missing:
        raise ValueError(f"matches lacks the columns {sorted(missing)}")
    sig = matches[matches["evalue"] < max_evalue]
    if best_only:
        sig = best_matches(sig)
    rows = {}
    for tf, g in sig.groupby("target_name", sort=True):
        rows[tf] = {**{b: g.loc[g["branch"] == b, "kernel"].nunique() for b in schema.BRANCHES},
                    "target_id": ";".join(sorted(g["target_id"].unique())),
                    "best_evalue": float(g["evalue"].min())}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=[*schema.BRANCHES, "target_id", "best_evalue"])


def tf_summary(matches: pd.DataFrame, max_evalue: float = 0.5, min_kernels: int = 3,
               null_matches: pd.DataFrame | None = None, n_kernels: Mapping[str, int] | None = None,
               n_null_kernels: Mapping[str, int] | None = None, n_null_draws: int = 1,
               alpha: float = 0.05) -> pd.DataFrame:
    """Redundancy of each TF across kernels (the preprint's rule), and a test against a null.

    Parameters
    ----------
    matches : from :func:`kernel_matches`
    max_evalue : a kernel matches a TF when it matches any of its matrices with ``E < max_evalue``
    min_kernels : a TF is *redundant* in a branch when at least this many kernels match it
    null_matches : the same pipeline on kernels that learned nothing (the
        run's initial kernels, :mod:`speidlib.interpret.null`); kernel
        numbers of different null draws must be distinct
    n_kernels : branch -> kernels in the trained model
    n_null_kernels : branch -> kernels in all null draws together
    n_null_draws : null draws pooled in ``null_matches`` (the null counts
        reported are per draw)
    alpha : Benjamini-Hochberg level of a ``learned`` call

    Returns
    -------
    DataFrame with ``schema.TF_SUMMARY_COLUMNS``, one row per TF matched by
    the trained or the null kernels (``target_id`` lists its matched JASPAR
    matrices, ``;``-separated). ``n_<branch>_kernels`` counts every kernel
    matching the TF (the redundancy of the preprint); ``n_<branch>_best``
    only the kernels whose *best* match is the TF, and ``n_<branch>_null``
    the same for the null kernels, per draw. The test uses best matches:
    a kernel that learned MYBL1 also matches look-alike matrices (OVOL2,
    say) at small E, and counting it for all of them would call the
    look-alikes learned too. Without a null, the enrichment columns are
    NaN and ``learned`` False, most-matched first. With one, each branch's
    best-match count is tested against the null's by a one-sided Fisher exact test
    (:func:`speidlib.interpret.null.tf_enrichment`; NaN where neither
    matches the TF in that branch), Benjamini-Hochberg across the tested
    (TF, branch) pairs, and TFs come ranked:
    learned first, then by the smaller q-value, then most-matched.
    """

    trained = kernels_per_tf(matches, max_evalue)
    best = kernels_per_tf(matches, max_evalue, best_only=True)
    null = None if null_matches is None else kernels_per_tf(null_matches, max_evalue, best_only=True)
    tfs = sorted(set(trained.index) | (set() if null is None else set(null.index)))
    rows = []
    for tf in tfs:
        n = {b: int(trained.at[tf, b]) if tf in trained.index else 0 for b in schema.BRANCHES}
        row = {"tf": tf, "target_id": trained.at[tf, "target_id"] if tf in trained.index else "",
               "n_enhancer_kernels": n["enhancer"], "n_promoter_kernels": n["promoter"],
               "redundant_enhancer": n["enhancer"] >= min_kernels,
               "redundant_promoter": n["promoter"] >= min_kernels,
               "redundant": max(n.values()) >= min_kernels,
               "best_evalue": float(trained.at[tf, "best_evalue"]) if tf in trained.index else np.nan}
        for b in schema.BRANCHES:
            row[f"n_{b}_best"] = int(best.at[tf, b]) if tf in best.index else 0
            row[f"n_{b}_null"] = (int(null.at[tf, b]) if null is not None and tf in null.index else 0)
        rows.append(row)
    df = pd.DataFrame(rows)
    if null is not None and len(df):
        if n_kernels is None or n_null_kernels is None:
            raise ValueError("tf_summary: a null needs n_kernels and n_null_kernels per branch")
        for b in schema.BRANCHES:
            e = tf_enrichment(df[f"n_{b}_best"].to_numpy(), n_kernels[b],
                              df[f"n_{b}_null"].to_numpy(), n_null_kernels[b])
            df[f"n_{b}_null"] = df[f"n_{b}_null"] / n_null_draws
            df[f"enrichment_{b}"], df[f"pvalue_{b}"] = e["enrichment"], e["pvalue"]
        from scipy.stats import false_discovery_control

        # only (TF, branch) pairs some kernel matches are tested: the filter is
        # a margin of the Fisher table, so it leaves the tests valid
        tested = np.concatenate([(df[f"n_{b}_best"] + df[f"n_{b}_null"] > 0).to_numpy()
                                 for b in schema.BRANCHES])
        p = np.concatenate([df[f"pvalue_{b}"].to_numpy() for b in schema.BRANCHES])
        q = np.full(len(p), np.nan)
        if tested.any():
            q[tested] = false_discovery_control(p[tested])
        p[~tested] = np.nan
        p, q = p.reshape(len(schema.BRANCHES), -1), q.reshape(len(schema.BRANCHES), -1)
        for i, b in enumerate(schema.BRANCHES):
            df[f"pvalue_{b}"], df[f"qvalue_{b}"] = p[i], q[i]
            df[f"learned_{b}"] = (q[i] < alpha) & (df[f"n_{b}_best"] > df[f"n_{b}_null"])
        df["learned"] = df["learned_enhancer"] | df["learned_promoter"]
        df["_q"] = df[["qvalue_enhancer", "qvalue_promoter"]].min(axis=1)
    else:
        for b in schema.BRANCHES:
            for c in ("enrichment", "pvalue", "qvalue"):
                df[f"{c}_{b}"] = np.nan
            df[f"n_{b}_null"] = np.nan if null is None else df.get(f"n_{b}_null", np.nan)
            df[f"learned_{b}"] = False
        df["learned"] = False
        df["_q"] = np.nan
    if not len(df):
        return pd.DataFrame(columns=schema.TF_SUMMARY_COLUMNS)
    df["_t"] = df["n_enhancer_kernels"] + df["n_promoter_kernels"]
    df = df.sort_values(["learned", "_q", "_t", "tf"], ascending=[False, True, False, True],
                        kind="stable", na_position="last")
    return df[schema.TF_SUMMARY_COLUMNS].reset_index(drop=True)
