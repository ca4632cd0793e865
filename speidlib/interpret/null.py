"""A null for the motif tables: kernels that learned nothing, and per-TF enrichment.

Many TFs match some kernel of any network, trained or not: a random kernel's
PFM is a motif-like matrix, and JASPAR holds close to 900 of them. A TF's
count of matched kernels means something only beside the count the same
pipeline (kernel -> PFM on the same windows -> Tomtom) gives for kernels that
learned nothing: the network's *initial* kernels, as ``speid train`` saved
them (``RUN/initial_kernels.npz``) or as :func:`speidlib.model.build.build_model`
rebuilds them from the run's preset, windows, seed and initialisation. To
give the test power, ``n_draws - 1`` further null draws redraw the kernels
that started at random (Glorot uniform, the same limits) and keep the ones
that started from JASPAR motifs: a kernel that kept its JASPAR motif has not
learned it either.

Each TF and branch is then a 2 x 2 table, kernels matching the TF or not,
trained or null, tested by a one-sided Fisher exact test (more trained
kernels match than the null gives), with Benjamini-Hochberg across every TF
and branch (:func:`speidlib.interpret.matching.tf_summary`).
"""
from __future__ import annotations


import numpy as np

from speidlib import schema
from speidlib.interpret.kernels import branch_conv, conv_weights
from speidlib.model.build import build_model
from speidlib.model.presets import ModelConfig
from speidlib.run import Run


def initial_kernels(run_dir, model_config: dict | None = None) -> dict:
    """The conv kernels a run started from, per branch.

    Reads ``RUN/initial_kernels.npz`` when ``speid train`` wrote it; otherwise
    rebuilds the untrained network from the ``train`` record of
    ``RUN/config.json`` (or ``model_config``: ``preset`` (a dict or a name),
    ``enhancer_window``, ``promoter_window``, ``seed``, ``random_init``),
    which gives the same weights for the same seed.

    Returns
    -------
    dict branch -> (kernel (w, 4, K) float32, bias (K,) float32)
    """
    run = Run(run_dir)
    path = run.initial_kernels
    if path.exists() and model_config is None:
        with np.load(path) as z:
            return {b: (z[f"{b}_kernel"], z[f"{b}_bias"]) for b in schema.BRANCHES}
    if model_config is None:
        if not run.has_record("train"):
            raise ValueError(f"{run.path}: no {path.name} and no 'train' record in "
                             f"{run.config_file.name}, so the initial kernels are unknown")
        model_config = run.train_record.to_dict()
    return build_initial_kernels(model_config)


def build_initial_kernels(model_config: dict) -> dict:
    """As :func:`initial_kernels`, from a ``train`` record (see there)."""

    preset = model_config["preset"]
    if isinstance(preset, dict):
        preset = ModelConfig.from_dict(preset)
    model = build_model(preset, int(model_config["enhancer_window"]), int(model_config["promoter_window"]),
                        jaspar_init=not model_config.get("random_init", False),
                        seed=int(model_config.get("seed", 0)))
    return {b: conv_weights(branch_conv(model, b)) for b in schema.BRANCHES}


def null_draws(kernel: np.ndarray, bias: np.ndarray, n_draws: int = 4, seed: int = 0,
               keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Null kernels: the initial ones, then ``n_draws - 1`` redraws, side by side.

    Parameters
    ----------
    kernel : shape=(w, 4, K), the initial kernels
    bias : shape=(K,)
    n_draws : draws in all, the first being ``kernel`` itself
    seed : seeds the redraws
    keep : shape=(K,) bool, kernels kept in every draw (those that started
        from a JASPAR motif); the others are redrawn Glorot-uniform, limit
        ``sqrt(6 / (4 w + K w))`` as Keras draws a Conv1D kernel

    Returns
    -------
    kernel : shape=(w, 4, n_draws * K); kernel ``d * K + k`` is draw ``d``'s kernel ``k``
    bias : shape=(n_draws * K,)
    """
    kernel = np.asarray(kernel, np.float32)
    w, _, k = kernel.shape
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}")
    keep = np.zeros(k, bool) if keep is None else np.asarray(keep, bool)
    limit = np.sqrt(6.0 / (4 * w + k * w))
    out = [kernel]
    for d in range(1, n_draws):
        rng = np.random.default_rng([seed, d])
        new = rng.uniform(-limit, limit, kernel.shape).astype(np.float32)
        new[:, :, keep] = kernel[:, :, keep]
        out.append(new)
    return np.concatenate(out, axis=2), np.tile(np.asarray(bias, np.float32), n_draws)


def jaspar_kernels(run_dir, n_kernels: int) -> np.ndarray:
    """shape=(K,) bool: the kernels ``RUN/jaspar_init.csv`` started from a JASPAR motif."""
    import pandas as pd

    keep = np.zeros(n_kernels, bool)
    path = Run(run_dir).jaspar_init
    if path.exists():
        k = pd.read_csv(path)["kernel"].to_numpy(int)
        keep[k[k < n_kernels]] = True
    return keep


def tf_enrichment(n_matched, n_kernels: int, n_null_matched, n_null_kernels: int) -> dict:
    """One-sided Fisher exact test per TF: do more trained kernels match it than null ones?

    Parameters
    ----------
    n_matched : shape=(n_tf,), trained kernels matching each TF
    n_kernels : trained kernels in all
    n_null_matched : shape=(n_tf,), null kernels matching each TF
    n_null_kernels : null kernels in all

    Returns
    -------
    dict ``enrichment`` shape=(n_tf,), the ratio of the matched fractions
    with a pseudo-count of 1/2 on each count, and ``pvalue`` shape=(n_tf,)
    (``alternative="greater"``).
    """
    from scipy.stats import fisher_exact

    a = np.asarray(n_matched, np.int64)
    b = np.asarray(n_null_matched, np.int64)
    if (a > n_kernels).any() or (b > n_null_kernels).any() or (a < 0).any() or (b < 0).any():
        raise ValueError("matched kernel counts must lie between 0 and the number of kernels")
    p = np.array([fisher_exact([[ai, n_kernels - ai], [bi, n_null_kernels - bi]],
                               alternative="greater")[1] for ai, bi in zip(a, b)], np.float64)
    enrichment = ((a + 0.5) / (n_kernels + 0.5)) / ((b + 0.5) / (n_null_kernels + 0.5))
    return {"enrichment": enrichment, "pvalue": p}
