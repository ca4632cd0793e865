"""JASPAR initialisation: about half of a branch's kernels start as JASPAR motifs.

:func:`jaspar_init_table` draws the motifs (and, for the ``original`` preset,
their offsets and biases as the released code does); :func:`apply_jaspar_init`
writes them into a built model's convolution kernels. The table is saved as
``RUN/jaspar_init.csv`` by ``speid train``.
"""
from __future__ import annotations

import numpy as np

from speidlib import schema
from speidlib.data.jaspar import load_motifs
from speidlib.model.presets import JASPAR_MATRICES, ModelConfig, get_config


# --- JASPAR initialisation --------------------------------------------------------
def motif_values(motif, kind: str = "pfm_centered") -> np.ndarray:
    """Kernel values for one JASPAR motif, shape=(length, 4), A/C/G/T columns.

    ``"pfm_centered"``: position frequencies minus the 0.25 background, in
    [-0.25, 0.75] (what the released SPEID code wrote into its kernels).
    ``"pwm"``: log2-odds against a uniform background, pseudocount 0.8.
    """
    if kind == "pfm_centered":
        return motif.pfm() - 0.25
    if kind == "pwm":
        return motif.pwm()
    raise ValueError(f"jaspar_matrix must be one of {JASPAR_MATRICES}, got {kind!r}")


def jaspar_init_table(preset: "str | ModelConfig", seed: int = 0):
    """Which JASPAR motif starts which kernel, and where.

    ``config.jaspar_kernels`` distinct motifs no longer than the kernel are
    drawn at random from the release's CORE vertebrate matrices and given to
    kernels 0, 1, ... of **both** branches (the branches start alike, as in
    the released code; their other kernels differ). Each motif sits at a
    uniform random offset ``0 <= offset <= kernel_size - length`` (or within
    ``config.jaspar_offset_range``; then each branch's kernel also draws a
    bias from ``config.jaspar_bias_range``). The draw
    depends only on the config and ``seed``.

    Returns
    -------
    pandas.DataFrame
        one row per (branch, kernel): ``branch, kernel, matrix_id, name,
        offset, length, release, bias``.
    """
    import pandas as pd

    config = get_config(preset)
    lo, hi = config.jaspar_offset_range or (0, config.kernel_size)
    motifs = [m for m in load_motifs(config.jaspar_release) if m.length <= hi - lo]
    n = config.jaspar_kernels
    if n > len(motifs):
        raise ValueError(f"{config.jaspar_release} has only {len(motifs)} CORE vertebrate motifs of at "
                         f"most {hi - lo} bp, but {n} JASPAR kernels were asked for")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(motifs), size=n, replace=False)
    rows = []
    for kernel, i in enumerate(chosen):
        m = motifs[i]
        offset = int(rng.integers(lo, hi - m.length + 1))
        for branch in schema.BRANCHES:
            bias = (0.0 if config.jaspar_bias_range is None
                    else float(rng.uniform(*config.jaspar_bias_range)))
            rows.append((branch, kernel, m.matrix_id, m.name, offset, m.length, config.jaspar_release,
                         bias))
    return pd.DataFrame(rows, columns=["branch", "kernel", "matrix_id", "name", "offset", "length",
                                       "release", "bias"])


def apply_jaspar_init(model, table, kind: str = "pfm_centered") -> None:
    """Write motifs into the conv kernels, as listed in ``table`` (in place).

    A kernel has shape=(kernel_size, 4, n_kernels) and Keras convolves
    without flipping, so ``kernel[offset:offset + length, :, k]`` holds the
    motif in its forward orientation. Other positions keep their initial
    (Glorot-uniform) values; a motif kernel's bias is the table's ``bias``
    (0 unless the config's ``jaspar_bias_range`` drew one), other biases stay 0.
    """

    conv_names = {"enhancer": schema.ENHANCER_CONV, "promoter": schema.PROMOTER_CONV}
    cache: dict[str, dict] = {}
    for branch, rows in table.groupby("branch"):
        layer = model.get_layer(conv_names[branch])
        kernel, *rest = layer.get_weights()
        for r in rows.itertuples():
            if r.release not in cache:
                cache[r.release] = {m.matrix_id: m for m in load_motifs(r.release)}
            values = motif_values(cache[r.release][r.matrix_id], kind)
            if r.offset + len(values) > kernel.shape[0] or r.kernel >= kernel.shape[2]:
                raise ValueError(f"JASPAR table row {r.Index}: {r.matrix_id} at offset {r.offset} does "
                                 f"not fit kernel {r.kernel} of shape {kernel.shape}")
            kernel[r.offset:r.offset + len(values), :, r.kernel] = values
            if rest and getattr(r, "bias", 0.0):
                rest[0][r.kernel] = r.bias
        layer.set_weights([kernel, *rest])
