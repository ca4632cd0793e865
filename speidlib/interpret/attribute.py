"""``speid attribute``: contribution scores of many pairs, streamed to ``RUN/attributions/``.

Pairs come from the run's dataset (``split``, default the held-out test
split) or from a pair file read with a genome (``pairs`` + ``genome``, windows
fitted as ``speid prepare`` and ``speid score`` fit them). They are attributed
in batches of ``batch_pairs`` by :class:`speidlib.interpret.contributions.Attributor`
and appended to ``RUN/attributions/contributions.h5``
(:mod:`speidlib.interpret.contrib_store`), so memory does not grow with the
number of pairs. With ``null=True`` the same pairs, with the same references,
are attributed again under the run's *initial* weights (the untrained network
``speid train`` started from, rebuilt from its seed): ``null.h5``, the null
that ``speid modisco`` calls motifs learned against, and the model
randomisation check (:func:`randomisation_correlation`). With ``bigwig=True``
per-element tracks are written too (:mod:`speidlib.interpret.tracks`).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.argtypes import positive_int
from speidlib.data import regions
from speidlib.data.dataset import Dataset
from speidlib.data.genome import Genome
from speidlib.interpret.contrib_store import (CONTRIBUTIONS_FILE, NULL_FILE, ContributionStore, StoreWriter,
                                             made_with)
from speidlib.interpret.contributions import Attributor, check_method
from speidlib.interpret.tracks import write_bigwigs
from speidlib.model.build import build_model
from speidlib.model.load import snapshot_run_model
from speidlib.model.presets import ModelConfig
from speidlib.options import option, seed_option
from speidlib.run import Run
from speidlib.score.genome_wide import iter_chromosomes

ATTRIBUTIONS_DIR = "attributions"


@dataclasses.dataclass(frozen=True)
class AttributeConfig:
    """What ``speid attribute`` attributes, and how.

    Attributes
    ----------
    split : the dataset split (``test``, ``valid``, ``train``) when ``pairs`` is None
    pairs, genome : a pair file (TargetFinder CSV or labelled BEDPE) and its genome FASTA
    method : ``ig`` (integrated gradients, dinucleotide-shuffled references) or ``gradient_x_input``
    steps, n_references : integration points per reference, references per pair
    positives : only pairs labelled 1
    max_pairs : at most this many pairs (a seeded random sample of a split; the first
        ones of a pair file)
    seed : seeds the sample and the references
    batch_pairs : pairs attributed per batch (bounds memory: about
        ``batch_pairs * (steps * n_references + n_references + 1) * (We + Wp) * 16`` bytes)
    null : also attribute the same pairs under the run's initial weights (``null.h5``)
    bigwig : also write per-element bigWig tracks (:mod:`speidlib.interpret.tracks`)
    """

    split: str = option(schema.TEST, choices=schema.SPLITS_HELD_OUT_FIRST,
                        help="pairs of this split of RUN/dataset.h5 (default %(default)s)")
    pairs: str | None = option(None, help="a pair table (TargetFinder CSV or labelled BEDPE) instead")
    genome: str | None = option(None, help="genome FASTA (with --pairs, and for --bigwig)")
    method: str = option("ig", help="%(default)s (default) or gradient_x_input")
    steps: int = option(32, type=positive_int, help="integration steps per reference (default %(default)s)")
    n_references: int = option(8, type=positive_int, flag="--references",
                               help="shuffled references per pair (default %(default)s)")
    positives: bool = option(False, help="only pairs labelled 1")
    max_pairs: int | None = option(None, type=positive_int, help="at most this many pairs (a seeded sample)")
    seed: int = seed_option("seeds the sample and the references")
    batch_pairs: int = 8
    null: bool = option(False, help="also the same pairs under the run's initial weights (null.h5, for speid "
                        "modisco)")
    bigwig: bool = option(False, help="also per-element bigWig tracks, one per branch")

    def check(self) -> None:
        check_method(self.method)
        for name in ("steps", "n_references", "batch_pairs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ValueError(f"max_pairs must be at least 1, got {self.max_pairs}")
        if self.pairs is not None and self.genome is None:
            raise ValueError("a pair file needs its genome: give --genome with --pairs")
        if self.pairs is None and self.split not in schema.SPLIT_CODES:
            raise ValueError(f"split must be one of {', '.join(schema.SPLIT_CODES)}, got {self.split!r}")


def initial_model(run_dir, seed: int | None = None):
    """The run's network before training: rebuilt from its ``train`` record (preset,
    windows, initialisation) with ``seed`` (default the run's own seed, i.e. the
    weights training started from; another seed re-initialises the weights)."""
    run = Run(run_dir)
    if not run.has_record("train"):
        raise ValueError(f"{run_dir}: no 'train' record in {schema.CONFIG_FILE}, so its initial "
                         f"weights are unknown: run `speid train {run_dir}` first")
    train = run.train_record
    preset = ModelConfig.from_dict(train.preset) if isinstance(train.preset, dict) else train.preset
    return build_model(preset, int(train.enhancer_window), int(train.promoter_window),
                       jaspar_init=not train.random_init, seed=int(train.seed if seed is None else seed))


# --- pair sources: batches of (pairs, codes, window starts) --------------------------

def _sample(index: np.ndarray, max_pairs: int | None, seed: int) -> np.ndarray:
    if max_pairs is None or len(index) <= max_pairs:
        return index
    return np.sort(np.random.default_rng(seed).choice(index, max_pairs, replace=False))


def dataset_batches(run_dir, config: AttributeConfig):
    """Batches of the split's pairs from ``RUN/dataset.h5`` at their default windows."""
    ds = Dataset(run_dir)
    idx = ds.split_index(config.split)
    if config.positives:
        idx = idx[ds.label[idx] == 1]
    idx = _sample(idx, config.max_pairs, config.seed)
    if len(idx) == 0:
        raise ValueError(f"{ds.path} has no {'positive ' if config.positives else ''}pairs in "
                         f"the {config.split} split")
    element = {"enhancer": ds.enhancer_index, "promoter": ds.promoter_index}
    for s in range(0, len(idx), config.batch_pairs):
        rows = idx[s:s + config.batch_pairs]
        codes, starts = {}, {}
        for b in schema.BRANCHES:
            el = element[b][rows]
            codes[b] = ds.windows(b, el)
            starts[b] = ds.elements[b]["span_start"].to_numpy()[el] + ds.default_offset[b][el]
        yield ds.pairs.iloc[rows].reset_index(drop=True), codes, starts


def file_batches(config: AttributeConfig, windows: dict, prepare_seed: int = 0):
    """Batches of a pair file's pairs, chromosome by chromosome, windows read from the genome."""
    taken = 0
    with Genome(config.genome) as genome:
        for cp in iter_chromosomes(config.pairs):
            cp.check_within(genome, Path(config.pairs).name)  # the bounds check of prepare and score
            tables = {"enhancer": cp.enhancers, "promoter": cp.promoters}
            label = np.asarray(cp.extra.get(schema.LABEL, np.full(len(cp), -1)), np.int64)
            keep = np.flatnonzero(label == 1) if config.positives else np.arange(len(cp))
            if config.max_pairs is not None:
                keep = keep[:max(config.max_pairs - taken, 0)]
            if len(keep) == 0:
                continue
            taken += len(keep)
            start = {b: regions.span_starts(t["start"], t["end"], windows[b])
                     + regions.default_offsets(t["start"], t["end"], windows[b], prepare_seed,
                                               [cp.chrom] * len(t)) for b, t in tables.items()}
            index = {"enhancer": cp.enhancer_index, "promoter": cp.promoter_index}
            for s in range(0, len(keep), config.batch_pairs):
                rows = keep[s:s + config.batch_pairs]
                codes, starts, cols = {}, {}, {}
                for b, t in tables.items():
                    el = index[b][rows]
                    starts[b] = np.asarray(start[b])[el]
                    codes[b] = genome.fetch_many(np.full(len(el), cp.chrom, dtype=object), starts[b], windows[b])
                    cols[f"{b}_name"] = t["name"].to_numpy()[el]
                    cols[f"{b}_start"] = t["start"].to_numpy()[el]
                    cols[f"{b}_end"] = t["end"].to_numpy()[el]
                pairs = pd.DataFrame({**cols, schema.CHROM: cp.chrom, schema.LABEL: label[rows],
                                      schema.SPLIT: ""})
                yield pairs, codes, starts
            if config.max_pairs is not None and taken >= config.max_pairs:
                return


# --- the step ------------------------------------------------------------------------------

def attributions_dir(run_dir, out_dir=None) -> Path:
    """``out_dir``, or ``RUN/attributions/``."""
    return Path(out_dir) if out_dir is not None else Path(run_dir) / ATTRIBUTIONS_DIR


def _attribute_into(path: Path, model, run_dir, config: AttributeConfig, attrs: dict, windows: dict,
                    prepare_seed: int, progress: bool) -> int:
    from tqdm.auto import tqdm

    attributor = Attributor(model, config.method, config.steps, config.n_references,
                            seed=config.seed)
    batches = (file_batches(config, windows, prepare_seed) if config.pairs is not None
               else dataset_batches(run_dir, config))
    n = 0
    with StoreWriter(path, windows, attrs) as writer:
        for pairs, codes, starts in tqdm(batches, desc=f"attributing ({path.name})", unit="batch",
                                         disable=not progress):
            contrib = attributor(codes["enhancer"], codes["promoter"], offset=n)
            writer.append(pairs, contrib, codes, starts)
            n += len(pairs)
    return n


def _chrom_sizes(run: Run, genome) -> dict:
    genome = genome or run.recorded_path("prepare", "genome")
    if genome is None or not Path(genome).exists():
        raise ValueError(f"--bigwig needs the genome's chromosome sizes: give --genome (the run "
                         f"records {genome})")
    with Genome(genome) as g:
        return dict(g.chrom_sizes)


def run_attribute(run_dir, config: AttributeConfig | None = None, out_dir=None, progress: bool = True,
                  reuse: bool = False, **overrides) -> dict:
    """``speid attribute``: contributions of a split's or a pair file's pairs (see the module notes).

    reuse : keep a contributions (and null) file already in the output folder when it was written
        by this model from this dataset with exactly these options (its attributes say so); a
        pair file has no hash in the run, so ``reuse`` needs a split

    Returns
    -------
    dict: ``n_pairs``, ``out`` (the contributions file), ``null`` (its file or None),
    ``bigwig`` (the track files), ``reused`` (the files kept), ``seconds``, ``median_completeness_error``
    """
    config = dataclasses.replace(config or AttributeConfig(), **overrides)
    config.check()
    if reuse and config.pairs is not None:
        raise ValueError("--reuse keeps files made from RUN's dataset, whose hash the run records; a pair "
                         "file has none: drop --reuse, or --pairs")
    t0 = time.perf_counter()
    run = Run(run_dir)
    sizes = _chrom_sizes(run, config.genome) if config.bigwig else None   # refuse early
    model, sha = snapshot_run_model(run)
    windows = {"enhancer": int(model.inputs[0].shape[1]), "promoter": int(model.inputs[1].shape[1])}
    prepare_seed = int(run.prepare_record.seed)
    out = attributions_dir(run_dir, out_dir)
    inputs = {"--pairs": config.pairs, "--genome": config.genome} if config.pairs else {}
    for p in inputs.values():
        if Path(p).resolve().parent == out.resolve():
            raise ValueError(f"--out {out} holds the input {p}; pick another folder")
    attrs = {**{k: v for k, v in dataclasses.asdict(config).items() if k not in ("null", "bigwig")},
             "output": "logit", "model_sha256": sha, "dataset_sha256": run.dataset_sha256(),
             "weights": "trained"}
    reused = []
    if reuse and made_with(out / CONTRIBUTIONS_FILE, attrs):
        n = len(ContributionStore(out / CONTRIBUTIONS_FILE))
        reused.append(str(out / CONTRIBUTIONS_FILE))
    else:
        n = _attribute_into(out / CONTRIBUTIONS_FILE, model, run_dir, config, attrs, windows, prepare_seed,
                            progress)
    result = {"n_pairs": n, "out": str(out / CONTRIBUTIONS_FILE), "null": None, "bigwig": [], "reused": reused}
    if config.null:
        null_attrs = {**attrs, "weights": "initial"}
        if reuse and made_with(out / NULL_FILE, null_attrs):
            reused.append(str(out / NULL_FILE))
        else:
            _attribute_into(out / NULL_FILE, initial_model(run_dir), run_dir, config, null_attrs, windows,
                            prepare_seed, progress)
        result["null"] = str(out / NULL_FILE)
    store = ContributionStore(out / CONTRIBUTIONS_FILE)
    result["median_completeness_error"] = float(np.median(store.pairs["completeness_error"]))
    if config.bigwig:
        result["bigwig"] = [str(p) for p in write_bigwigs(store, sizes, out)]
    written = [Path(result["out"]), *(Path(f) for f in [result["null"], *result["bigwig"]] if f)]
    if config.bigwig:
        written.append(out / "tracks.txt")
    inside = [f for f in written if run.inside(f)]
    if inside:   # the manifest: a later `speid train` marks them stale, `prepare --overwrite` removes them
        run.register("attribute", inside, sha)
    result["seconds"] = time.perf_counter() - t0
    return result


def randomisation_correlation(trained: ContributionStore, other: ContributionStore, absolute: bool = False,
                              max_rows: int = 1000) -> np.ndarray:
    """Per pair, Spearman's correlation of the actual contributions of two stores of the same
    pairs (both windows joined), shape=(n,); the model randomisation test (Adebayo et al.
    2018) compares the trained model's with a re-initialised one's."""
    from scipy.stats import spearmanr

    if len(trained) != len(other) or not (trained.pairs[schema.ENHANCER_NAME].to_numpy()
                                          == other.pairs[schema.ENHANCER_NAME].to_numpy()).all():
        raise ValueError(f"{trained.path} and {other.path} do not hold the same pairs")
    rows = slice(0, min(len(trained), max_rows))
    a = np.concatenate([trained.read(b, "actual", rows) for b in schema.BRANCHES], axis=1)
    b = np.concatenate([other.read(br, "actual", rows) for br in schema.BRANCHES], axis=1)
    if absolute:
        a, b = np.abs(a), np.abs(b)
    return np.array([spearmanr(x, y).statistic for x, y in zip(a, b)])
