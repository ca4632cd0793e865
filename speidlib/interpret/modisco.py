"""``speid modisco``: motifs discovered from contributions (TF-MoDISco), matched to JASPAR, against a null.

For each branch, TF-MoDISco (``modiscolite``, the maintained rewrite) takes
the hypothetical contributions ``speid attribute`` stored
(:mod:`speidlib.interpret.contrib_store`) of the positive pairs (all pairs
when the file has no labels), cuts high-contribution *seqlets* and clusters
them into patterns. Each pattern's PPM, trimmed to the positions that carry
at least ``trim`` of its largest contribution, is matched to JASPAR CORE
vertebrates by the project's Tomtom (:func:`speidlib.interpret.matching.tomtom_matches`,
correlation of centred columns, the windows' base composition as background);
a pattern *names* the TF of its *best* match when ``E < max_evalue`` and two
pattern-level tests of that match pass, each by Benjamini-Hochberg across the
branch's patterns at ``q < alpha`` (:func:`pattern_tests`):

- *the match beats chance* (:func:`pattern_qvalues`): Tomtom's E of the best
  target turned into the chance ``1 - exp(-E)`` that any of JASPAR's targets
  matches a random query as well;
- *the match needs the pattern's column order* (:func:`permutation_pvalues`):
  the same columns in random orders rarely match as well. This one catches
  long, low-information patterns (45-50 columns, 5-7 bits in all, AT-rich),
  whose Tomtom E against JASPAR's many AT-rich homeodomain motifs is far
  smaller than chance would give a random query.

Why pattern-level tests: TF-MoDISco finds patterns in the contributions of
any model that learned *something*, even one that only memorised its training
elements (the shuffled-label model of ``docs/attribution.md``: 26 patterns).
Each best-matches one of JASPAR's 800-odd motifs, most at a weak E (0.002-0.4),
and the TF's window count was compared below with the same TF's count under
the null, which is almost always 0: one chance match spread over 40 windows
looked like strong evidence, and 8 TFs were called learned, none planted.
Windows are not independent evidence of *which* TF a pattern is; the match is
made once per pattern, so it is tested once per pattern, before any window is
counted.

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
from speidlib.options import option, seed_option
from speidlib.run import Run

MODISCO_DIR = "modisco"
MOTIFS_FILE = "motifs.csv"
TF_FILE = "tf_summary.csv"
REPORT_FILE = "report.html"
MOTIF_COLUMNS = ["branch", "pattern", "n_seqlets", "n_windows", "width", "target_id", "target_name",
                 "evalue", "qvalue", "pattern_qvalue", "permutation_pvalue", "permutation_qvalue", "offset",
                 "strand", "learned"]
#: the columns of the two pattern-level tests (:func:`pattern_tests`)
_TEST_COLUMNS = ("pattern_qvalue", "permutation_pvalue", "permutation_qvalue")
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
    max_evalue, alpha : a pattern names a TF at ``E < max_evalue`` when both pattern-level
        tests give ``q < alpha`` (:func:`pattern_tests`); ``alpha`` is also the BH level of a learned call
    permutations : column permutations per tested pattern (None: ``max(199, ceil(2 n / alpha))``
        for a branch of ``n`` patterns)
    seed : seeds the permutations
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
    permutations: int | None = option(None, type=positive_int, help="column permutations per pattern in "
                                      "the match test (default: as many as let one pattern alone reach "
                                      "q = alpha / 2 among the branch's patterns, at least 199)")
    seed: int = seed_option("seeds the column permutations")

    def check(self) -> None:
        for name in ("max_pairs", "max_seqlets", "n_leiden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.permutations is not None and self.permutations < 1:
            raise ValueError(f"permutations must be at least 1, got {self.permutations}")
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


def _pattern(branch: str, name: str, sequence, contrib, n_seqlets: int, windows, trim: float) -> Pattern:
    """A :class:`Pattern` from TF-MoDISco's (L, 4) sequence and contribution matrices, trimmed
    to the positions carrying at least ``trim`` of the largest contribution."""
    contrib = np.asarray(contrib, np.float64)
    score = np.abs(contrib).sum(axis=1)
    keep = np.flatnonzero(score >= trim * score.max())
    cut = slice(int(keep[0]), int(keep[-1]) + 1) if len(keep) else slice(0, len(score))
    ppm = np.asarray(sequence, np.float64)[cut]
    ppm = (ppm + 1e-3) / (ppm + 1e-3).sum(axis=1, keepdims=True)
    return Pattern(branch, name, ppm, contrib[cut], int(n_seqlets), np.unique(np.asarray(windows)))


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
            patterns.append(_pattern(branch, f"{group}.pattern_{i}", p.sequence, p.contrib_scores,
                                     len(p.seqlets), [s.example_idx for s in p.seqlets], config.trim))
    return patterns, len(rows)


def read_patterns(path, branch: str, trim: float) -> list:
    """The patterns of a modiscolite results file (``modiscolite.io.save_hdf5``, as
    :func:`discover` writes it), as :func:`discover` returns them: ``trim`` as
    :class:`ModiscoConfig`'s. A file with no pattern gives an empty list."""
    import h5py

    patterns = []
    with h5py.File(path, "r") as h5:
        for group in ("pos_patterns", "neg_patterns"):
            if group not in h5:
                continue
            names = sorted(h5[group], key=lambda n: int(n.rsplit("_", 1)[1]))
            for name in names:
                g = h5[group][name]
                patterns.append(_pattern(branch, f"{group}.{name}", g["sequence"], g["contrib_scores"],
                                         int(np.asarray(g["seqlets"]["n_seqlets"])[0]),
                                         g["seqlets"]["example_idx"], trim))
    return patterns


def pattern_qvalues(motifs: pd.DataFrame) -> np.ndarray:
    """Is each pattern's best JASPAR match more than chance? One q-value per row of ``motifs``.

    ``evalue`` (Tomtom's E of the pattern's best target) is the number of
    JASPAR targets expected to match a random query as well, so ``1 - exp(-E)``
    is the chance that at least one does: the pattern's p-value for "it matches
    some known motif". Benjamini-Hochberg across the patterns of each branch (the
    patterns TF-MoDISco found there are the family tested); NaN E (no match) gives 1.

    Returns shape=(len(motifs),) float
    """
    e = motifs["evalue"].to_numpy(dtype=np.float64)
    p = np.where(np.isfinite(e), -np.expm1(-np.nan_to_num(e, nan=np.inf)), 1.0)
    return _bh_per_branch(p, motifs["branch"].to_numpy())


def _bh_per_branch(p: np.ndarray, branch: np.ndarray) -> np.ndarray:
    from scipy.stats import false_discovery_control

    q = np.ones(len(p))
    for b in np.unique(branch):
        mine = branch == b
        q[mine] = false_discovery_control(p[mine])
    return q


def permutation_pvalues(patterns: list, motifs: pd.DataFrame, background: dict, targets,
                        config: ModiscoConfig, tested: np.ndarray) -> np.ndarray:
    """Does the *order* of a pattern's columns make its match? One p-value per row of ``motifs``.

    Each tested pattern's PPM rows are put in random orders (``config.permutations``
    of them, or as many as :class:`ModiscoConfig` says): the same columns, the same
    information and base composition, no motif. p is ``(1 + k) / (B + 1)``, ``k`` the
    permutations whose best JASPAR match is at least as strong (E as small) as the
    pattern's own. A long, low-information, AT-rich pattern (what a memorising
    model's contributions give) matches homeodomain motifs about as well in any order;
    a TF's site does not. Rows not tested get 1.

    Parameters
    ----------
    patterns : the :class:`Pattern` s of ``motifs``' rows (matched by branch and name)
    motifs : :func:`match_patterns`' table; background : branch -> (4,) base composition
    tested : shape=(len(motifs),) bool, the rows to test
    """
    rng = np.random.default_rng(config.seed)
    by_name = {(p.branch, p.name): p for p in patterns}
    out = np.ones(len(motifs))
    n_branch = motifs["branch"].value_counts()
    for b in schema.BRANCHES:
        rows = np.flatnonzero(tested & (motifs["branch"] == b).to_numpy())
        if not len(rows):
            continue
        n_perm = config.permutations or max(199, int(np.ceil(2 * n_branch[b] / config.alpha)))
        queries = {}                                   # row by row, n_perm each, in order
        for r in rows:
            ppm = by_name[(b, motifs["pattern"].iat[r])].ppm
            for k in range(n_perm):
                queries[f"{r}.{k}"] = ppm[rng.permutation(len(ppm))]
        m = tomtom_matches(queries, targets, config.release, n_best=1, keep_evalue=0.0, n_jobs=-1,
                           background=background[b])
        best = m[m["rank"] == 1].set_index("query")["evalue"].reindex(list(queries)).to_numpy()
        better = best.reshape(len(rows), n_perm) <= motifs["evalue"].to_numpy()[rows, None]
        out[rows] = (1 + better.sum(axis=1)) / (n_perm + 1)
    return out


def pattern_tests(patterns: list, motifs: pd.DataFrame, background: dict, targets,
                  config: ModiscoConfig) -> pd.DataFrame:
    """``motifs`` with the two pattern-level tests of a match (``_TEST_COLUMNS``), Benjamini-Hochberg
    across each branch's patterns: ``pattern_qvalue`` (:func:`pattern_qvalues`, from Tomtom's E)
    and, for the patterns that pass it at ``E < max_evalue``, ``permutation_pvalue`` /
    ``permutation_qvalue`` (:func:`permutation_pvalues`)."""
    motifs = motifs.drop(columns=[c for c in _TEST_COLUMNS if c in motifs])
    motifs["pattern_qvalue"] = pattern_qvalues(motifs)
    tested = _beats_chance(motifs, config)
    motifs["permutation_pvalue"] = permutation_pvalues(patterns, motifs, background, targets, config, tested)
    motifs["permutation_qvalue"] = _bh_per_branch(motifs["permutation_pvalue"].to_numpy(),
                                                  motifs["branch"].to_numpy())
    return motifs[[c for c in MOTIF_COLUMNS if c in motifs]]


def _background(store: ContributionStore, branch: str, rows) -> np.ndarray:
    codes = store.read(branch, "codes", rows)
    counts = np.bincount(codes[codes < 4].ravel(), minlength=4).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def match_patterns(patterns: list, background: dict, config: ModiscoConfig, targets) -> pd.DataFrame:
    """Each pattern's best JASPAR match (rank 1) and the tests of it (:func:`pattern_tests`),
    one row per pattern (``MOTIF_COLUMNS`` less ``learned``)."""
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
    df = pd.DataFrame(rows, columns=[c for c in MOTIF_COLUMNS[:-1] if c not in _TEST_COLUMNS])
    return pattern_tests(patterns, df, background, targets, config)


def _beats_chance(motifs: pd.DataFrame, config: ModiscoConfig) -> np.ndarray:
    """shape=(len(motifs),) bool: a best match at ``E < max_evalue`` and ``pattern_qvalue < alpha``."""
    return (motifs["target_name"].notna() & (motifs["evalue"] < config.max_evalue)
            & (motifs["pattern_qvalue"] < config.alpha)).to_numpy()


def names_tf(motifs: pd.DataFrame, config: ModiscoConfig) -> np.ndarray:
    """shape=(len(motifs),) bool: the pattern's best match names its TF (``E < max_evalue``
    and both pattern-level tests at ``q < alpha``; see the module notes)."""
    return _beats_chance(motifs, config) & (motifs["permutation_qvalue"] < config.alpha).to_numpy()


def _windows_per_tf(patterns: list, motifs: pd.DataFrame, config: ModiscoConfig) -> dict:
    """(branch, TF) -> (patterns, set of windows with a seqlet of a pattern naming the TF)."""
    out: dict = {}
    by_name = {(p.branch, p.name): p for p in patterns}
    for r, named in zip(motifs.itertuples(), names_tf(motifs, config)):
        if not named:
            continue
        n, w = out.get((r.branch, r.target_name), (0, set()))
        out[(r.branch, r.target_name)] = (n + 1, w | set(by_name[(r.branch, r.pattern)].windows.tolist()))
    return out


def tf_calls(trained: tuple, null: tuple | None, config: ModiscoConfig) -> pd.DataFrame:
    """The per-(branch, TF) table (``TF_COLUMNS``); ``trained``/``null`` are
    ``(patterns, motifs table, n_pairs per branch)``."""
    from scipy.stats import false_discovery_control

    t = _windows_per_tf(trained[0], trained[1], config)
    n = {} if null is None else _windows_per_tf(null[0], null[1], config)
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
    motifs["learned"] = [(b, t) in learned and named for b, t, named
                         in zip(motifs["branch"], motifs["target_name"], names_tf(motifs, config))]
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
                    f"<td>{r.evalue:.2g}</td><td>{r.pattern_qvalue:.2g}</td><td>{r.permutation_qvalue:.2g}</td>"
                    f"<td>{'yes' if r.learned else 'no'}</td>"
                    f"<td><img src='logos/{logo.name}' height='110'></td></tr>")
    tf_rows = tf[tf["learned"]] if len(tf) else tf
    summary = ", ".join(f"{t} ({b})" for b, t in zip(tf_rows["branch"], tf_rows["tf"])) or "none"
    page = (f"<html><head><meta charset='utf-8'><title>TF-MoDISco motifs</title></head><body>"
            f"<h1>Motifs from contributions (TF-MoDISco)</h1><p>{html.escape(str(store.path))}: "
            f"{len(store)} pairs, method {html.escape(str(store.attrs.get('method')))}. Null: "
            f"{'the same pairs under the initial weights' if has_null else 'none (nothing is called learned)'}."
            f" Learned (q &lt; {config.alpha}): {html.escape(summary)}."
            f" A pattern names its best match's TF when E &lt; {config.max_evalue} and the match beats chance"
            f" across the branch's patterns (pattern q &lt; {config.alpha}) and needs the pattern's column order"
            f" (permutation q &lt; {config.alpha}).</p><table border='1'>"
            f"<tr><th>branch</th><th>pattern</th><th>seqlets</th><th>best JASPAR match</th><th>E</th><th>pattern q</th>"
            f"<th>permutation q</th>"
            f"<th>learned</th><th>logo (pattern above its match)</th></tr>{''.join(rows)}</table></body></html>")
    atomic_write_text(out / REPORT_FILE, page)
    atomic_write_json(out / "modisco.json", {**dataclasses.asdict(config), "null": has_null,
                                             "model_sha256": store.attrs.get("model_sha256"),
                                             "n_patterns": len(motifs), "learned": json.loads(
                                                 tf_rows[["branch", "tf"]].to_json(orient="values"))})
