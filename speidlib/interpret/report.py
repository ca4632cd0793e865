"""``speid motifs``: kernels -> PFMs -> JASPAR matches against a null, logos, ablation.

:func:`run_motifs` (parameters in :class:`MotifsConfig`) reads a run's model and
held-out windows and writes ``RUN/motifs/`` (file names in :mod:`speidlib.schema`);
the method of each step is described in :mod:`speidlib.interpret.kernels`
(kernel -> PFM), :mod:`speidlib.interpret.matching` (Tomtom and redundancy),
:mod:`speidlib.interpret.null` (the null of untrained kernels) and
:mod:`speidlib.interpret.ablation`.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.argtypes import nonneg_int, open_fraction
from speidlib.data import jaspar
from speidlib.data.dataset import Dataset
from speidlib.data.jaspar import write_meme
from speidlib.interpret import null as nulls
from speidlib.interpret.ablation import (
    ablation_motifs,
    kernel_silencing,
    motif_ablation,
)
from speidlib.interpret.kernels import KernelPFMs, kernel_name, kernel_pfms
from speidlib.interpret.logos import save_kernel_logos
from speidlib.interpret.matching import kernel_matches, tf_summary
from speidlib.io import atomic_path, atomic_write_json, package_versions
from speidlib.model.load import load_model
from speidlib.options import option, seed_option
from speidlib.run import MotifsRecord, Run

# --- writers ----------------------------------------------------------------

def write_kernels_meme(pfms: Sequence[KernelPFMs], path, min_sites: int = 1) -> None:
    """Write every kernel with at least ``min_sites`` sites, trimmed, to a MEME file (atomic)."""

    entries = [(kernel_name(kp.branch, k), kp.pfm(k), int(kp.n_sites[k]))
               for kp in pfms for k in np.flatnonzero(kp.n_sites >= min_sites)]
    write_meme(entries, path)


def write_activations(pfms: Sequence[KernelPFMs], path,
                      window_ids: Mapping[str, Sequence] | None = None) -> None:
    """Save each branch's ``<branch>_max`` (n_windows, K), ``<branch>_argmax`` and ``<branch>_ids``.

    ``<branch>_max_activation`` (K,) and ``<branch>_n_sites`` (K,) come too. npz, atomic.
    """

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

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


# --- `speid motifs RUN` -------------------------------------------------------

def planted_recovery(matches: pd.DataFrame, demo_info, cell_line: str | None = None,
                     max_evalue: float = 0.5, jaspar_init: pd.DataFrame | None = None,
                     summary: pd.DataFrame | None = None) -> pd.DataFrame:
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
    summary : ``RUN/motifs/tf_summary.csv`` (:func:`tf_summary` with a null),
        for the ``learned`` column: the TF beats the null in this branch

    Returns
    -------
    DataFrame, one row per class and branch: ``class, branch, motif_id, tf,
    in_cell_line, kernels_best, kernels_same_matrix, kernels_listed,
    best_evalue, recovered, tf_in_jaspar_init, learned``.
    """
    learned = set() if summary is None else {
        (b, tf.upper()) for b in schema.BRANCHES
        for tf in summary.loc[summary[f"learned_{b}"].astype(bool), "tf"]}
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
                         "recovered": len(mine) > 0, "tf_in_jaspar_init": tf in started,
                         "learned": (branch, tf) in learned})
    return pd.DataFrame(rows)


def null_kernel_matches(run_dir, windows, targets, release, n_kernels, fraction=0.5,
                        min_information=0.5, sites="all", batch_size=None, null_draws=4, seed=0,
                        n_best=5, max_evalue=0.5, n_jobs=-1):
    """Tomtom matches of the null kernels of a run, on the same windows.

    The run's initial kernels (:func:`speidlib.interpret.null.initial_kernels`)
    and ``null_draws - 1`` redraws of the randomly initialised ones
    (:func:`speidlib.interpret.null.null_draws`), each a bare ``(kernel,
    bias)`` pair (activation zero: an untrained network's merge BatchNorm is
    the identity).

    Returns
    -------
    (matches, info) : matches as :func:`kernel_matches` (kernel ``d * K + k``
    is draw ``d``'s kernel ``k``), or None when the initial kernels are
    unknown; info, a dict for ``motifs.json``.
    """

    try:
        init = nulls.initial_kernels(run_dir)
    except (ValueError, KeyError, TypeError) as e:
        return None, {"used": False, "reason": str(e)}
    source = ("file" if Run(run_dir).initial_kernels.exists() else "rebuilt")
    pfms = []
    for b in schema.BRANCHES:
        kernel, bias = init[b]
        if kernel.shape[2] != n_kernels[b]:
            return None, {"used": False, "reason": f"the initial {b} kernels are {kernel.shape[2]}, "
                                                   f"the model has {n_kernels[b]}"}
        keep = nulls.jaspar_kernels(run_dir, kernel.shape[2])
        k, bb = nulls.null_draws(kernel, bias, null_draws, seed, keep)
        pfms.append(kernel_pfms((k, bb), windows[b][0], b, fraction, min_information, sites, batch_size))
    matches = kernel_matches(pfms, targets, release, n_best, max_evalue, n_jobs=n_jobs)
    return matches, {"used": True, "source": source, "draws": int(null_draws),
                     "n_informative": {kp.branch: int(kp.informative().sum()) for kp in pfms}}


def kernels_to_silence(matches: pd.DataFrame, max_evalue: float = 0.5, max_kernels: int = 32) -> list:
    """(branch, kernel) of the kernels with a match at ``E < max_evalue``, best-matched first."""
    sig = matches[matches["evalue"] < max_evalue]
    best = sig.groupby(["branch", "kernel"])["evalue"].min().sort_values(kind="stable")
    return [(b, int(k)) for b, k in best.index[:max_kernels]]


def kernel_table(pfms: Sequence[KernelPFMs], matches: pd.DataFrame, summary: pd.DataFrame,
                 silenced: pd.DataFrame | None = None, max_evalue: float = 0.5) -> pd.DataFrame:
    """One row per kernel: its PFM, best match, whether that TF is learned, and its importance.

    Returns
    -------
    DataFrame with ``schema.KERNEL_TABLE_COLUMNS``: ``information`` is the
    trimmed PFM's bits; ``best_*`` the rank-1 Tomtom match (empty for
    kernels not matched: not informative); ``tf_learned`` True when the best
    match has ``E < max_evalue`` and its TF is learned in the kernel's branch;
    ``delta_aupr`` the held-out AUPR change when the kernel is silenced
    (NaN where not measured).
    """
    best = matches[matches["rank"] == 1].set_index(["branch", "kernel"])
    learned = {(b, tf) for b in schema.BRANCHES
               for tf in summary.loc[summary[f"learned_{b}"].astype(bool), "tf"]}
    delta = {} if silenced is None else {(r.branch, int(r.kernel)): r.delta_aupr
                                         for r in silenced.itertuples()}
    rows = []
    for kp in pfms:
        info, inform = kp.trimmed_information(), kp.informative()
        for k in range(kp.n_kernels):
            key = (kp.branch, k)
            m = best.loc[key] if key in best.index else None
            rows.append({"branch": kp.branch, "kernel": k, "kernel_name": kernel_name(kp.branch, k),
                         "n_sites": int(kp.n_sites[k]), "width": int(kp.trim[k, 1] - kp.trim[k, 0]),
                         "information": float(info[k]), "informative": bool(inform[k]),
                         "best_target_id": "" if m is None else m["target_id"],
                         "best_target_name": "" if m is None else m["target_name"],
                         "best_evalue": np.nan if m is None else float(m["evalue"]),
                         "tf_learned": m is not None and m["evalue"] < max_evalue
                         and (kp.branch, m["target_name"]) in learned,
                         "delta_aupr": delta.get(key, np.nan)})
    return pd.DataFrame(rows, columns=schema.KERNEL_TABLE_COLUMNS)


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


@dataclasses.dataclass(frozen=True)
class MotifsConfig:
    """The parameters of ``speid motifs`` (recorded in ``motifs.json`` and ``config.json``).

    Attributes
    ----------
    split : pairs whose windows are scanned and ablated (held-out: ``"test"``)
    fraction, min_information, sites, baseline : see :func:`kernel_pfms`
    release : JASPAR release (default ``speidlib.data.jaspar.DEFAULT_RELEASE``)
    n_best : Tomtom matches kept per kernel (plus all with ``E < max_evalue``)
    max_evalue, min_kernels : the redundancy rule (E < 0.5, at least 3 kernels)
    n_top : top windows listed per kernel
    logos : ``"significant"``, ``"matched"``, ``"all"`` or None (no logos)
    ablation : run the motif ablation on the ``split`` pairs for the
        matrices of :func:`ablation_motifs` (at most ``max_ablation_motifs``)
    null, null_draws, alpha : the null comparison (skipped, with the reason in
        ``motifs.json``, when the run's initial kernels are unknown)
    importance, max_importance_kernels : silence each matched kernel (at most
        this many, best-matched first) and record the held-out AUPR change
        (:func:`speidlib.interpret.ablation.kernel_silencing`)
    fimo_threshold : FIMO p-value threshold of the ablation's motif hits
    seed : seeds the null redraws and the ablation's random bases
    batch_size, n_jobs : scanning batch size (None: automatic) and Tomtom processes (-1: all)
    """

    split: str = option(schema.TEST, choices=schema.SPLITS_HELD_OUT_FIRST, help="windows to scan (default %(default)s)")
    fraction: float = option(0.5, type=open_fraction, help="a site counts when the activation exceeds this "
                             "fraction of the kernel's maximum (default %(default)s)")
    min_information: float = 0.5
    sites: str = option("all", choices=("all", "best"), help="all sites above the fraction (DanQ) or one "
                        "best site per window (DeepBind)")
    baseline: str = option("batchnorm", choices=("batchnorm", "zero"),
                           help="measure activations from the level the merge BatchNorm maps to zero "
                           "(default), or from zero as they are (Alipanahi et al.'s rule on conv + bias)")
    release: str | None = option(None, help="JASPAR release, e.g. JASPAR2016 (default JASPAR2024)")
    n_best: int = 5
    max_evalue: float = 0.5
    min_kernels: int = 3
    n_top: int = 10
    logos: str | None = option("significant", choices=("significant", "matched", "all", "none"),
                               help="which kernels get a logo PNG (default: those with a match at E < 0.5)")
    max_logos: int | None = option(200, type=nonneg_int, help="at most this many logos (default %(default)s)")
    ablation: bool = option(True, flag="--no-ablation", help="skip the motif ablation")
    max_ablation_motifs: int = 20
    fimo_threshold: float = 1e-4
    seed: int = seed_option("seed for the ablation's random bases and the null redraws")
    batch_size: int | None = None
    n_jobs: int = -1
    null: bool = True
    null_draws: int = option(4, type=nonneg_int,
                             help="null kernels: the run's initial kernels plus redraws of its random ones, "
                             "this many draws in all (default %(default)s); 0 skips the null and no TF is "
                             "called learned")
    alpha: float = 0.05
    importance: bool = option(True, flag="--no-importance",
                              help="skip silencing each matched kernel (held-out AUPR change)")
    max_importance_kernels: int = 32

    def record(self) -> dict:
        """The parameters as recorded, with the JASPAR release resolved."""
        return {**dataclasses.asdict(self), "release": self.release or jaspar.DEFAULT_RELEASE,
                "collection": jaspar.DEFAULT_COLLECTION, "tax_group": jaspar.DEFAULT_TAX_GROUP,
                "score": "pearson", "background": "windows"}


def run_motifs(run_dir, config: MotifsConfig | None = None, *, model=None, progress: bool = True,
               **options) -> dict:
    """Everything of ``speid motifs RUN``: kernels -> PFMs -> JASPAR matches, logos, ablation.

    Reads ``RUN/model.keras`` and the ``split`` pairs of ``RUN/dataset.h5``;
    writes, atomically, under ``RUN/motifs/``: ``kernels.meme``,
    ``matches.csv``, ``tf_summary.csv``, ``activations.npz``,
    ``top_windows.csv``, ``logos/<kernel>.png``, ``ablation.csv``,
    ``null_matches.csv`` (the null's Tomtom matches), ``kernel_table.csv``
    (one row per kernel: informative, best match, whether its TF is learned,
    held-out AUPR change when silenced) and ``motifs.json`` (parameters,
    JASPAR release, counts); the parameters go to ``RUN/config.json`` under
    ``"motifs"`` too.

    ``tf_summary.csv`` sets each TF's matched kernels beside the count for
    kernels that learned nothing (:mod:`speidlib.interpret.null`): the run's
    initial kernels and ``null_draws - 1`` redraws of its randomly
    initialised ones, through the same PFM and Tomtom steps on the same
    windows; a TF is ``learned`` in a branch when a one-sided Fisher test
    against the null passes Benjamini-Hochberg at ``alpha``.

    Parameters
    ----------
    run_dir : the run directory
    config : :class:`MotifsConfig` (default ``MotifsConfig()``), with any field replaced by
        ``options``, e.g. ``run_motifs(run, max_logos=5)``
    model : an already loaded model (default: ``RUN/model.keras``)

    Returns
    -------
    dict, the content of ``motifs.json`` (with the paths written)
    """
    from tqdm.auto import tqdm

    c = dataclasses.replace(config or MotifsConfig(), **options)
    t0, started = time.time(), time.perf_counter()
    run = Run(run_dir)
    run_dir = run.path
    release = c.release or jaspar.DEFAULT_RELEASE
    params = c.record()
    steps = tqdm(total=6 + bool(c.logos) + bool(c.ablation) + bool(c.null) + bool(c.importance),
                 desc="speid motifs", disable=not progress)

    def step(text):
        steps.set_postfix_str(text)
        steps.update(1)

    model_sha256 = None
    if model is None:
        model_sha256 = run.check_model()  # refuses a model trained on another dataset
        model = load_model(run.model, run.path)
    dataset = Dataset.load(run.dataset)
    windows = held_out_windows(dataset, c.split)
    targets = jaspar.load_motifs(release)
    step("loaded model, windows, JASPAR")

    pfms = [kernel_pfms(model, windows[b][0], b, c.fraction, c.min_information, c.sites, c.batch_size, progress,
                        c.baseline) for b in schema.BRANCHES]
    step("kernel PFMs")
    write_kernels_meme(pfms, run.motif_file(schema.MOTIF_KERNELS_MEME))
    write_activations(pfms, run.motif_file(schema.MOTIF_ACTIVATIONS_FILE), {b: windows[b][1] for b in windows})
    write_csv(pd.concat([kp.top_windows(windows[kp.branch][0], c.n_top, windows[kp.branch][1])
                         for kp in pfms], ignore_index=True), run.motif_file(schema.MOTIF_TOP_WINDOWS_FILE))
    step("activations, top windows")

    matches = kernel_matches(pfms, targets, release, c.n_best, c.max_evalue, n_jobs=c.n_jobs)
    write_csv(matches, run.motif_file(schema.MOTIF_MATCHES_FILE))
    step("Tomtom")
    n_kernels = {kp.branch: kp.n_kernels for kp in pfms}
    null_matches, null_info = None, {"used": False}
    if c.null:
        null_matches, null_info = null_kernel_matches(run_dir, windows, targets, release, n_kernels,
                                                      c.fraction, c.min_information, c.sites, c.batch_size,
                                                      c.null_draws, c.seed, c.n_best, c.max_evalue, c.n_jobs)
        if null_matches is not None:
            write_csv(null_matches, run.motif_file(schema.MOTIF_NULL_MATCHES_FILE))
        step("null kernels")
    summary = tf_summary(matches, c.max_evalue, c.min_kernels, null_matches, n_kernels,
                         {b: n * c.null_draws for b, n in n_kernels.items()}, c.null_draws, c.alpha)
    write_csv(summary, run.motif_file(schema.MOTIF_TF_SUMMARY_FILE))
    step("TF redundancy")

    silenced = None
    if c.importance:
        chosen = kernels_to_silence(matches, c.max_evalue, c.max_importance_kernels)
        if chosen:
            enh, prom, y = dataset.arrays(c.split, balanced=False)
            silenced = kernel_silencing(model, enh, prom, y, chosen, progress=progress)
        step("kernel silencing")
    write_csv(kernel_table(pfms, matches, summary, silenced, c.max_evalue),
              run.motif_file(schema.MOTIF_KERNEL_TABLE_FILE))

    n_logos = 0
    if c.logos:
        n_logos = len(save_kernel_logos(pfms, matches, run.motif_file(schema.MOTIF_LOGOS_DIR), targets,
                                        which=c.logos, max_evalue=c.max_evalue, max_logos=c.max_logos,
                                        progress=progress))
        step("logos")

    ablated = []
    if c.ablation:
        ablated = _run_ablation(model, dataset, matches, targets, c, run, progress)
        step("ablation")

    result = _summary(params, release, targets, windows, pfms, matches, summary, null_info, n_logos,
                      ablated, c.max_evalue)
    result["model_sha256"] = model_sha256  # what made these motifs: stale once train replaces it
    atomic_write_json(run.motif_summary, result)
    run.register_since("motifs", run.motifs, t0, model_sha256)
    run.write_record(MotifsRecord(extra=params, model_sha256=model_sha256,
                                  dataset_sha256=run.dataset_sha256(),
                                  seconds=round(time.perf_counter() - started, 1)))
    step("done")
    steps.close()
    return result


def _summary(params, release, targets, windows, pfms, matches, summary, null_info, n_logos, ablated,
             max_evalue) -> dict:
    """The content of ``motifs.json``: parameters, JASPAR release and what was found."""
    return {
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
        "n_informative_kernels": {kp.branch: int(kp.informative().sum()) for kp in pfms},
        "null": null_info,
        "learned_tfs": {b: summary.loc[summary[f"learned_{b}"].astype(bool), "tf"].tolist()
                        for b in schema.BRANCHES},
        "n_logos": n_logos,
        "ablated_motifs": [m.matrix_id for m in ablated],
        "versions": package_versions(("numpy", "pandas", "keras", "tensorflow", "pyjaspar",
                                      "memelite", "logomaker")),
    }


def _run_ablation(model, dataset, matches, targets, c: MotifsConfig, run: Run, progress: bool) -> list:
    """Motif ablation on the ``c.split`` pairs; writes ``ablation.csv``; the motifs ablated."""
    ablated = ablation_motifs(matches, targets, c.max_evalue, c.min_kernels, c.max_ablation_motifs)
    enh, prom, y = dataset.arrays(c.split, balanced=False)
    table = motif_ablation(model, enh, prom, y, ablated, c.fimo_threshold, c.seed,
                           progress=progress) if ablated else pd.DataFrame(columns=schema.ABLATION_COLUMNS)
    write_csv(table, run.motif_file(schema.MOTIF_ABLATION_FILE))
    return ablated
