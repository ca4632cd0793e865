"""How the demo's planted motifs (``speidlib.demo.PLANTED_MOTIFS``) were chosen.

The demo is the workbench's ground truth: notebook 05 and
``tests/test_motifs.py`` ask whether each planted JASPAR motif comes back as
the *best* Tomtom match of a learned kernel. That question only has an answer
when the planted motif is not a near copy of another JASPAR matrix (NR3C1,
NR3C2, AR and PGR share one motif; so do the RFX, PAX, IRF and TBX families),
so the motifs are chosen to be unambiguous in their release:

1. JASPAR2024 CORE vertebrates, 12-20 bp (they fit the ``cpu`` preset's 20 bp
   kernels), 14-26 bits of information, no heterodimers (``::``).
2. Unambiguous: a PFM rebuilt from 100 sites sampled from the matrix and then
   diluted with 40% background (what a learned kernel's PFM looks like) still
   ranks its own matrix first among all 879, and its best match to a matrix of
   any *other* TF has Tomtom p > 1e-5.
3. Distinct: every chosen pair has Tomtom p > 1e-3 in both directions, so
   the classes of the grammar are told apart by sequence alone.

Candidates are taken greedily, least ambiguous first, until 24 (12 classes,
an enhancer and a promoter motif each). Run it to print the table that
``PLANTED_MOTIFS`` copies:

    .venv/bin/python scripts/choose_demo_motifs.py
"""
from __future__ import annotations

import numpy as np

N_MOTIFS = 24
OTHER_TF_P = 1e-5
DISTINCT_P = 1e-3


def information(pfm: np.ndarray) -> float:
    p = np.clip(pfm, 1e-9, 1)
    return float((2 + (p * np.log2(p)).sum(1)).sum())


def noisy_pfm(pfm: np.ndarray, rng, n_sites: int = 100, dilution: float = 0.4) -> np.ndarray:
    """PFM of ``n_sites`` sites sampled from ``pfm``, mixed with ``dilution`` uniform background."""
    sites = np.stack([rng.choice(4, size=n_sites, p=row) for row in pfm], axis=1)
    freq = np.stack([(sites == b).mean(0) for b in range(4)], axis=1)
    return (1 - dilution) * freq + dilution / 4


def choose(release: str = "JASPAR2024", seed: int = 0) -> list[tuple[str, str, float]]:
    """[(matrix_id, name, best other-TF p-value)], in the order chosen."""
    from memelite import tomtom

    from speidlib.data.jaspar import load_motifs

    motifs = load_motifs(release)
    names = [m.name.upper() for m in motifs]
    targets = [m.pfm().T for m in motifs]
    rng = np.random.default_rng(seed)
    cand = [i for i, m in enumerate(motifs)
            if 12 <= m.length <= 20 and 14 <= information(m.pfm()) <= 26 and "::" not in m.name]
    pvalues = tomtom([noisy_pfm(motifs[i].pfm(), rng).T for i in cand], targets, n_jobs=1)[0]
    ranked = []
    for q, i in enumerate(cand):
        order = np.argsort(pvalues[q])
        other = next(j for j in order if names[j] != names[i])
        if order[0] == i and pvalues[q, other] > OTHER_TF_P:
            ranked.append((i, float(pvalues[q, other])))
    ranked.sort(key=lambda t: -t[1])
    pair_p = tomtom([targets[i] for i, _ in ranked], [targets[i] for i, _ in ranked], n_jobs=1)[0]
    chosen: list[int] = []
    for a, (i, _) in enumerate(ranked):
        if all(pair_p[a, b] > DISTINCT_P and pair_p[b, a] > DISTINCT_P for b in chosen):
            chosen.append(a)
        if len(chosen) == N_MOTIFS:
            break
    return [(motifs[ranked[a][0]].matrix_id, motifs[ranked[a][0]].name, ranked[a][1]) for a in chosen]


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    chosen = choose()
    if len(chosen) < N_MOTIFS:
        sys.exit(f"only {len(chosen)} motifs pass; relax OTHER_TF_P or DISTINCT_P")
    for k in range(0, len(chosen), 2):
        (e, en, ep), (p, pn, pp) = chosen[k], chosen[k + 1]
        print(f'    ("{e}", "{p}"),   # {k // 2}: {en} / {pn}   (best other-TF p {ep:.0e} / {pp:.0e})')
