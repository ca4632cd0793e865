"""``speid modisco``: motifs discovered from contributions (TF-MoDISco), matched to JASPAR, against a null.

For each branch, TF-MoDISco (``modiscolite``, the maintained rewrite) takes
the hypothetical contributions ``speid attribute`` stored
(:mod:`speidlib.interpret.contrib_store`) of the positive pairs (all pairs
when the file has no labels), cuts high-contribution *seqlets* and clusters
them into patterns. Each pattern's PPM, trimmed to the positions that carry
at least ``trim`` of its largest contribution, is matched to JASPAR CORE
vertebrates by the project's Tomtom (:func:`speidlib.interpret.matching.tomtom_matches`,
correlation of centred columns, the windows' base composition as background);
a pattern counts for the TF of its *best* match when ``E < max_evalue``, as
the kernel route counts a kernel.

**Learned, against a null.** The same steps run on ``null.h5``, the same
pairs' contributions under the run's initial, untrained weights
(``speid attribute --null``). For each (TF, branch) the number of windows
holding a seqlet of a pattern that best-matches the TF, trained against
null, is a 2 x 2 table tested one-sided by Fisher's exact test
(:func:`speidlib.interpret.null.tf_enrichment`), Benjamini-Hochberg across
the tested (TF, branch) pairs; a TF is ``learned`` in a branch when
``q < alpha`` and more trained windows have it than null ones. Windows, not
seqlets, are the unit, so a null that finds no pattern at all (no seqlet)
still gives a valid table. Without ``null.h5`` nothing is called learned.

Writes ``RUN/modisco/``: ``motifs.csv`` (one row per pattern:
``schema``-like columns below), ``tf_summary.csv`` (one row per TF and
branch), ``<weights>_<branch>.h5`` (modiscolite's own results file), logos and
``report.html``.
"""
from __future__ import annotations

import dataclasses
import html
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.argtypes import positive_int
from speidlib.data import jaspar
from speidlib.data.encode import one_hot
from speidlib.interpret.contrib_store import CONTRIBUTIONS_FILE, NULL_FILE, ContributionStore
from speidlib.interpret.logos import kernel_logo, save_logo
from speidlib.interpret.matching import tomtom_matches
from speidlib.interpret.null import tf_enrichment
from speidlib.io import atomic_path, atomic_write_json, atomic_write_text
from speidlib.options import option
from speidlib.run import Run

MODISCO_DIR = "modisco"
MOTIFS_FILE = "motifs.csv"
TF_FILE = "tf_summary.csv"
REPORT_FILE = "report.html"
MOTIF_COLUMNS = ["branch", "pattern", "n_seqlets", "n_windows", "width", "target_id", "target_name",
                 "evalue", "qvalue", "offset", "strand", "learned"]
TF_COLUMNS = ["branch", "tf", "n_patterns", "n_windows", "n_windows_null", "n_pairs", "n_pairs_null",
              "enrichment", "pvalue", "qvalue", "learned"]


@dataclasses.dataclass(frozen=True)
class ModiscoConfig:
    """Parameters of ``speid modisco`` (see the module notes).

    positives : only pairs labelled 1 (when the file has labels)
    max_pairs : at most this many pairs per file (the first ones)
    max_seqlets : TF-MoDISco's ``max_seqlets_per_metacluster``
    n_leiden : TF-MoDISco's Leiden runs per clustering (its default is 50)
    trim : pattern positions kept: |contribution| at least this fraction of the largest
    max_evalue, alpha : a pattern matches a TF at ``E < max_evalue``; BH level of a learned call
    release : JASPAR release (default the project's)

    The fields that are ``speid modisco`` options are declared with :func:`speidlib.options.option`.
    """

    positives: bool = option(True, flag="--all-pairs", help="every stored pair, not only the positives")
    max_pairs: int = option(2000, type=positive_int, help="at most this many pairs (default %(default)s)")
    max_seqlets: int = 2000
    n_leiden: int = 8
    trim: float = 0.3
    max_evalue: float = 0.5
    alpha: float = 0.05
    release: str | None = option(None, help=f"JASPAR release (default {jaspar.DEFAULT_RELEASE})")

    def check(self) -> None:
        for name in ("max_pairs", "max_seqlets", "n_leiden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.trim < 1 or self.max_evalue <= 0 or not 0 < self.alpha < 1:
            raise ValueError("trim and alpha must lie in (0, 1) and max_evalue be positive")


@dataclasses.dataclass
class Pattern:
    """One TF-MoDISco pattern: name (``pos_patterns.pattern_0``), trimmed PPM and CWM
    (w, 4), its seqlets' windows (indices into the pairs used)."""

    branch: str
    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int
    windows: np.ndarray


def _rows(store: ContributionStore, config: ModiscoConfig) -> np.ndarray:
    label = store.pairs[schema.LABEL].to_numpy()
    rows = np.flatnonzero(label == 1) if config.positives and (label >= 0).all() else np.arange(len(store))
    return rows[:config.max_pairs]


def _trim(pattern, fraction: float) -> slice:
    score = np.abs(pattern.contrib_scores).sum(axis=1)
    keep = np.flatnonzero(score >= fraction * score.max())
    return slice(int(keep[0]), int(keep[-1]) + 1) if len(keep) else slice(0, len(score))


def discover(store: ContributionStore, branch: str, config: ModiscoConfig, out_h5=None) -> tuple[list, int]:
    """TF-MoDISco on one branch of a store.

    Returns
    -------
    patterns : list of :class:`Pattern`
    n_pairs : pairs (windows) given to TF-MoDISco
    """
    from modiscolite import io as modisco_io
    from modiscolite.tfmodisco import TFMoDISco

    rows = _rows(store, config)
    if len(rows) == 0:
        raise ValueError(f"{store.path} has no {'positive ' if config.positives else ''}pairs to run TF-MoDISco on")
    hyp = store.read(branch, "hypothetical", rows).astype(np.float32)
    x = one_hot(store.read(branch, "codes", rows)).astype(np.float32)
    try:
        pos, neg = TFMoDISco(x, hyp, max_seqlets_per_metacluster=config.max_seqlets,
                             n_leiden_runs=config.n_leiden, verbose=False)
    except ValueError as e:      # too few seqlets to cluster: no pattern
        if "seqlet" not in str(e).lower() and "empty" not in str(e).lower():
            raise
        pos, neg = None, None
    if out_h5 is not None:
        with atomic_path(out_h5) as tmp:
            modisco_io.save_hdf5(str(tmp), pos, neg, 21)
    patterns = []
    for group, found in (("pos_patterns", pos), ("neg_patterns", neg)):
        for i, p in enumerate(found or []):
            cut = _trim(p, config.trim)
            ppm = np.asarray(p.sequence, np.float64)[cut]
            ppm = (ppm + 1e-3) / (ppm + 1e-3).sum(axis=1, keepdims=True)
            windows = np.unique([s.example_idx for s in p.seqlets])
            patterns.append(Pattern(branch, f"{group}.pattern_{i}", ppm,
                                    np.asarray(p.contrib_scores, np.float64)[cut], len(p.seqlets), windows))
    return patterns, len(rows)


def _background(store: ContributionStore, branch: str, rows) -> np.ndarray:
    codes = store.read(branch, "codes", rows)
    counts = np.bincount(codes[codes < 4].ravel(), minlength=4).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def match_patterns(patterns: list, background: dict, config: ModiscoConfig, targets) -> pd.DataFrame:
    """Each pattern's best JASPAR match (rank 1), one row per pattern (``MOTIF_COLUMNS`` less ``learned``)."""
    rows = []
    for branch in schema.BRANCHES:
        mine = [p for p in patterns if p.branch == branch]
        if not mine:
            continue
        m = tomtom_matches({p.name: p.ppm for p in mine}, targets, config.release, n_best=1,
                           keep_evalue=0.0, n_jobs=1, background=background[branch])
        best = m[m["rank"] == 1].set_index("query")
        for p in mine:
            b = best.loc[p.name] if p.name in best.index else None
            rows.append({"branch": branch, "pattern": p.name, "n_seqlets": p.n_seqlets,
                         "n_windows": len(p.windows), "width": len(p.ppm),
                         "target_id": None if b is None else b["target_id"],
                         "target_name": None if b is None else b["target_name"],
                         "evalue": np.nan if b is None else float(b["evalue"]),
                         "qvalue": np.nan if b is None else float(b["qvalue"]),
                         "offset": 0 if b is None else int(b["offset"]),
                         "strand": "+" if b is None else b["strand"]})
    return pd.DataFrame(rows, columns=MOTIF_COLUMNS[:-1])


def _windows_per_tf(patterns: list, motifs: pd.DataFrame, max_evalue: float) -> dict:
    """(branch, TF) -> (patterns, set of windows with a seqlet of a pattern best-matching the TF)."""
    out: dict = {}
    by_name = {(p.branch, p.name): p for p in patterns}
    for r in motifs.itertuples():
        if r.target_name is None or not r.evalue < max_evalue:
            continue
        n, w = out.get((r.branch, r.target_name), (0, set()))
        out[(r.branch, r.target_name)] = (n + 1, w | set(by_name[(r.branch, r.pattern)].windows.tolist()))
    return out


def tf_calls(trained: tuple, null: tuple | None, config: ModiscoConfig) -> pd.DataFrame:
    """The per-(branch, TF) table (``TF_COLUMNS``); ``trained``/``null`` are
    ``(patterns, motifs table, n_pairs per branch)``."""
    from scipy.stats import false_discovery_control

    t = _windows_per_tf(trained[0], trained[1], config.max_evalue)
    n = {} if null is None else _windows_per_tf(null[0], null[1], config.max_evalue)
    keys = sorted(set(t) | set(n))
    rows = []
    for branch, tf in keys:
        rows.append({"branch": branch, "tf": tf, "n_patterns": t.get((branch, tf), (0, set()))[0],
                     "n_windows": len(t.get((branch, tf), (0, set()))[1]),
                     "n_windows_null": len(n.get((branch, tf), (0, set()))[1]) if null is not None else np.nan,
                     "n_pairs": trained[2][branch], "n_pairs_null": null[2][branch] if null else np.nan})
    df = pd.DataFrame(rows, columns=TF_COLUMNS)
    if null is None or not len(df):
        df["enrichment"], df["pvalue"], df["qvalue"], df["learned"] = np.nan, np.nan, np.nan, False
        return df
    parts = []
    for branch, g in df.groupby("branch", sort=False):
        e = tf_enrichment(g["n_windows"].to_numpy(), int(trained[2][branch]),
                          g["n_windows_null"].to_numpy().astype(int), int(null[2][branch]))
        parts.append(pd.DataFrame({"enrichment": e["enrichment"], "pvalue": e["pvalue"]}, index=g.index))
    df[["enrichment", "pvalue"]] = pd.concat(parts).loc[df.index]
    df["qvalue"] = false_discovery_control(df["pvalue"].to_numpy())
    more = df["n_windows"] / df["n_pairs"] > df["n_windows_null"] / df["n_pairs_null"]
    df["learned"] = (df["qvalue"] < config.alpha) & more
    return df.sort_values(["learned", "qvalue", "n_windows"], ascending=[False, True, False],
                          kind="stable").reset_index(drop=True)


def _discover_all(store, config, out: Path, tag: str, targets, progress: bool):
    patterns, n_pairs = [], {}
    rows = _rows(store, config)
    background = {b: _background(store, b, rows) for b in schema.BRANCHES}
    for b in schema.BRANCHES:
        if progress:
            print(f"TF-MoDISco: {tag} {b} windows ({len(rows)} pairs)", flush=True)
        found, n_pairs[b] = discover(store, b, config, out / f"{tag}_{b}.h5")
        patterns += found
    return patterns, match_patterns(patterns, background, config, targets), n_pairs


def run_modisco(run_dir, attributions=None, config: ModiscoConfig | None = None, out_dir=None,
                progress: bool = True, **overrides) -> dict:
    """``speid modisco``: see the module notes.

    attributions : the folder ``speid attribute`` wrote (default ``RUN/attributions/``)
    out_dir : default ``RUN/modisco/``

    Returns dict: ``motifs`` (DataFrame), ``tf_summary`` (DataFrame), ``out``, ``null`` (bool), ``seconds``
    """
    config = dataclasses.replace(config or ModiscoConfig(), **overrides)
    config.check()
    t0 = time.perf_counter()
    src = Path(attributions) if attributions is not None else Path(run_dir) / "attributions"
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / MODISCO_DIR
    store = ContributionStore(src / CONTRIBUTIONS_FILE)
    run = Run(run_dir)
    made_by, current = store.attrs.get("model_sha256") or "", run.model_sha256() if run.model.exists() else ""
    if made_by and current and made_by != current:   # contributions of a model since replaced
        raise ValueError(f"{store.path} holds the contributions of another model ({made_by[:12]}; the run's "
                         f"is {current[:12]}): run `speid attribute {run_dir}` again")
    null_store = ContributionStore(src / NULL_FILE) if (src / NULL_FILE).exists() else None
    targets = jaspar.load_motifs(config.release or jaspar.DEFAULT_RELEASE)
    trained = _discover_all(store, config, out, "trained", targets, progress)
    null = _discover_all(null_store, config, out, "null", targets, progress) if null_store else None
    tf = tf_calls(trained, null, config)
    learned = set(map(tuple, tf.loc[tf["learned"], ["branch", "tf"]].to_numpy().tolist()))
    motifs = trained[1].copy()
    motifs["learned"] = [(b, t) in learned and e < config.max_evalue
                         for b, t, e in zip(motifs["branch"], motifs["target_name"], motifs["evalue"])]
    _write(out, motifs, tf, trained[0], targets, store, null is not None, config, progress)
    if run.inside(out):
        run.register_since("modisco", out, t0 - 1, store.attrs.get("model_sha256") or None)
    return {"motifs": motifs, "tf_summary": tf, "out": str(out), "null": null is not None,
            "seconds": time.perf_counter() - t0}


def _write(out: Path, motifs, tf, patterns, targets, store, has_null: bool, config, progress) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in ((MOTIFS_FILE, motifs), (TF_FILE, tf)):
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False)
    by_id = {m.matrix_id: m for m in targets}
    rows = []
    for p, r in zip(patterns, motifs.itertuples()):
        logo = out / "logos" / f"{p.branch}.{p.name}.png"
        match = by_id.get(r.target_id)
        fig = kernel_logo(p.ppm, None if match is None else match.pfm(), r.offset, r.strand,
                          kernel_label=f"{p.branch} {p.name} ({p.n_seqlets} seqlets)",
                          match_label=f"{r.target_name} {r.target_id} E={r.evalue:.2g}" if match else "match")
        save_logo(fig, logo)
        rows.append(f"<tr><td>{p.branch}</td><td>{html.escape(p.name)}</td><td>{p.n_seqlets}</td>"
                    f"<td>{html.escape(str(r.target_name))} ({html.escape(str(r.target_id))})</td>"
                    f"<td>{r.evalue:.2g}</td><td>{'yes' if r.learned else 'no'}</td>"
                    f"<td><img src='logos/{logo.name}' height='110'></td></tr>")
    tf_rows = tf[tf["learned"]] if len(tf) else tf
    summary = ", ".join(f"{t} ({b})" for b, t in zip(tf_rows["branch"], tf_rows["tf"])) or "none"
    page = (f"<html><head><meta charset='utf-8'><title>TF-MoDISco motifs</title></head><body>"
            f"<h1>Motifs from contributions (TF-MoDISco)</h1><p>{html.escape(str(store.path))}: "
            f"{len(store)} pairs, method {html.escape(str(store.attrs.get('method')))}. Null: "
            f"{'the same pairs under the initial weights' if has_null else 'none (nothing is called learned)'}."
            f" Learned (q &lt; {config.alpha}): {html.escape(summary)}.</p><table border='1'>"
            f"<tr><th>branch</th><th>pattern</th><th>seqlets</th><th>best JASPAR match</th><th>E</th>"
            f"<th>learned</th><th>logo (pattern above its match)</th></tr>{''.join(rows)}</table></body></html>")
    atomic_write_text(out / REPORT_FILE, page)
    atomic_write_json(out / "modisco.json", {**dataclasses.asdict(config), "null": has_null,
                                             "model_sha256": store.attrs.get("model_sha256"),
                                             "n_patterns": len(motifs), "learned": json.loads(
                                                 tf_rows[["branch", "tf"]].to_json(orient="values"))})
