"""Build, save and load SPEID datasets, and serve batches to Keras.

``prepare`` turns a pair table and a genome FASTA into ``RUN/dataset.h5``
(layout in ``docs/architecture.md``) and ``RUN/config.json``. Each distinct
enhancer and promoter is stored once, as int8 codes of a ``2 * W`` span that
holds every window a shift may choose, so the 20x augmented copies exist
only as offsets. :class:`PairBatches` one-hots windows per batch.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from . import regions, schema
from .io import atomic_path, atomic_write_json, package_versions, sha256

DATASET_VERSION = 1


@dataclass
class PrepareConfig:
    """Every parameter of ``prepare``; written to ``RUN/config.json``."""

    pairs: str
    genome: str
    split: str = "random"
    test_chromosomes: list[str] | None = None
    valid_chromosomes: list[str] | None = None
    test_fraction: float = 0.1
    valid_fraction: float = 0.1
    enhancer_window: int = 3000
    promoter_window: int = 2000
    augment: int = 20
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.split not in schema.SPLIT_METHODS:
            raise ValueError(f"split must be one of {', '.join(schema.SPLIT_METHODS)}, got {self.split!r}")
        for name in ("enhancer_window", "promoter_window"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive number of bases, got {getattr(self, name)}")
        if self.augment < 0:
            raise ValueError(f"augment must be >= 0, got {self.augment}")


def _elements(pairs: pd.DataFrame, branch: str):
    """Distinct elements of one branch and each pair's index into them."""
    names = pairs[f"{branch}_name"].to_numpy()
    uniq, first, inverse = np.unique(names, return_index=True, return_inverse=True)
    table = pd.DataFrame({
        "name": uniq,
        "chrom": pairs[schema.CHROM].to_numpy()[first],
        "start": pairs[f"{branch}_start"].to_numpy()[first].astype(np.int64),
        "end": pairs[f"{branch}_end"].to_numpy()[first].astype(np.int64),
    })
    return table, inverse.astype(np.int32)


def _augment(pair_index, enh_lo, enh_hi, prom_lo, prom_hi, n, rng):
    """Offsets of ``n`` shifted copies of each given pair, flattened, shape=(len*n,)."""
    e = regions.sample_shifts(enh_lo, enh_hi, n, rng).ravel()
    p = regions.sample_shifts(prom_lo, prom_hi, n, rng).ravel()
    return np.repeat(pair_index, n), e, p


def prepare(config: PrepareConfig, run_dir, progress: bool = True) -> Path:
    """Build ``RUN/dataset.h5`` and ``RUN/config.json`` from a pair table and a FASTA.

    Windows are fitted per element; the split is made on pairs first and the
    augmentation shifts are drawn afterwards, per split, so shifted copies of
    one pair never cross splits. Both files are written atomically.

    Returns the path of the dataset file.
    """
    from .genome import Genome
    from .pairs import read_pairs
    from .splits import split_pairs

    config.check()
    t0 = time.perf_counter()
    # Checksums of the inputs (a genome is gigabytes) overlap the rest of the build.
    hashing = ThreadPoolExecutor(max_workers=1)
    checksums = {k: hashing.submit(sha256, getattr(config, k)) for k in ("pairs", "genome")}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)

    pairs = read_pairs(config.pairs)
    with Genome(config.genome) as genome:
        genome.check_chromosomes(pairs[schema.CHROM].unique(), source=str(config.pairs))
    split = split_pairs(pairs, method=config.split, test_fraction=config.test_fraction,
                        valid_fraction=config.valid_fraction,
                        test_chromosomes=config.test_chromosomes,
                        valid_chromosomes=config.valid_chromosomes, seed=config.seed)
    split_code = np.array([schema.SPLIT_CODES[s] for s in split], dtype=np.int8)

    windows = {"enhancer": config.enhancer_window, "promoter": config.promoter_window}
    tables, index, lo, hi = {}, {}, {}, {}
    with Genome(config.genome) as genome:
        with atomic_path(run_dir / schema.DATASET_FILE) as tmp, h5py.File(tmp, "w") as h5:
            for branch, w in windows.items():
                table, index[branch] = _elements(pairs, branch)
                tables[branch] = table
                lo[branch], hi[branch] = regions.offset_bounds(table.start, table.end, w)
                g = h5.create_group(branch)
                codes = g.create_dataset("codes", shape=(len(table), 2 * w), dtype=np.int8,
                                         chunks=(min(len(table), max(1, (1 << 20) // (2 * w))), 2 * w))
                span0 = regions.span_starts(table.start, table.end, w)
                _fill_codes(genome, table.chrom.to_numpy(), span0, 2 * w, codes, progress, branch)
                g["names"] = table.name.to_numpy().astype("S")
                g["chrom"] = table.chrom.to_numpy().astype("S")
                g["start"], g["end"] = table.start.to_numpy(), table.end.to_numpy()
                g["span_start"] = span0
                g["default_offset"] = regions.default_offsets(table.start, table.end, w, rng).astype(np.int32)
                g["min_offset"], g["max_offset"] = lo[branch].astype(np.int32), hi[branch].astype(np.int32)

            p = h5.create_group("pairs")
            p["enhancer_index"], p["promoter_index"] = index["enhancer"], index["promoter"]
            p["label"] = pairs[schema.LABEL].to_numpy().astype(np.int8)
            p["split"] = split_code
            p["distance"] = pairs[schema.DISTANCE].to_numpy().astype(np.int64)
            for col in (schema.CELL_LINE, schema.CHROM):
                p[col] = pairs[col].astype(str).to_numpy().astype("S")

            # Shifts are drawn per pair after the split: a pair's copies stay in its split.
            positives = np.flatnonzero((p["label"][:] == 1) & (split_code != schema.SPLIT_CODES[schema.TEST]))
            ei, pi = index["enhancer"][positives], index["promoter"][positives]
            a_pair, a_e, a_p = _augment(positives, lo["enhancer"][ei], hi["enhancer"][ei],
                                        lo["promoter"][pi], hi["promoter"][pi], config.augment, rng)
            a = h5.create_group("augment")
            a["pair_index"] = a_pair.astype(np.int32)
            a["enhancer_offset"], a["promoter_offset"] = a_e.astype(np.int32), a_p.astype(np.int32)

            h5.attrs.update({"version": DATASET_VERSION, "enhancer_window": config.enhancer_window,
                             "promoter_window": config.promoter_window, "n_augment": config.augment,
                             "seed": config.seed, "split_method": config.split})

    summary = {
        "n_pairs": int(len(pairs)), "n_positive": int(pairs[schema.LABEL].sum()),
        "n_enhancers": int(len(tables["enhancer"])), "n_promoters": int(len(tables["promoter"])),
        "n_augmented_positives": int(len(a_pair)),
        "per_split": {s: {"pairs": int((split == s).sum()),
                          "positives": int(pairs[schema.LABEL].to_numpy()[split == s].sum())}
                      for s in (schema.TRAIN, schema.VALID, schema.TEST)},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    write_config(run_dir, "prepare", {
        **asdict(config),
        "pairs_sha256": checksums["pairs"].result(), "genome_sha256": checksums["genome"].result(),
        "summary": summary,
    })
    _write_leakage(pairs, split, run_dir)
    return run_dir / schema.DATASET_FILE


def _fill_codes(genome, chroms, span0, length, h5_codes, progress, branch, block=4096):
    """Read spans block by block into the HDF5 dataset (bounded memory)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(span0), desc=f"reading {branch} spans", unit="element",
               disable=not progress, mininterval=0.5)
    buf = np.empty((min(block, len(span0)), length), dtype=np.int8)
    for s in range(0, len(span0), block):
        e = min(s + block, len(span0))
        genome.fetch_many(chroms[s:e], span0[s:e], length, out=buf[:e - s])
        h5_codes[s:e] = buf[:e - s]
        bar.update(e - s)
    bar.close()


def _write_leakage(pairs, split, run_dir) -> None:
    from .leakage import leakage_report

    atomic_write_json(Path(run_dir) / "leakage.json", leakage_report(pairs, split).to_dict())


def write_config(run_dir, section: str, values: dict) -> None:
    """Merge ``values`` under ``section`` into ``RUN/config.json`` (atomically)."""
    path = Path(run_dir) / schema.CONFIG_FILE
    config = read_config(run_dir) if path.exists() else {}
    config[section] = values
    config.setdefault("versions", {}).update(package_versions())
    atomic_write_json(path, config)


def read_config(run_dir) -> dict:
    """``RUN/config.json`` as a dict; a clear error if it is missing or damaged."""
    path = Path(run_dir) / schema.CONFIG_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: run `speid prepare` for this run directory first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from e


class Dataset:
    """A prepared dataset held in memory (base codes stay int8).

    Attributes
    ----------
    enhancer_codes : shape=(n_enhancers, 2 * We), int8
    promoter_codes : shape=(n_promoters, 2 * Wp), int8
    pairs : DataFrame, one row per pair, with ``split`` as names
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_dir():
            self.path = self.path / schema.DATASET_FILE
        if not self.path.exists():
            raise ValueError(f"{self.path} does not exist: run `speid prepare` first")
        try:
            self._load()
        except (OSError, KeyError) as e:
            raise ValueError(f"{self.path} is not a complete SPEID dataset ({e})") from e

    load = classmethod(lambda cls, path: cls(path))

    def _load(self) -> None:
        with h5py.File(self.path, "r") as h5:
            self.enhancer_window = int(h5.attrs["enhancer_window"])
            self.promoter_window = int(h5.attrs["promoter_window"])
            self.attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in h5.attrs.items()}
            self.codes, self.default_offset, self.elements = {}, {}, {}
            for branch in schema.BRANCHES:
                g = h5[branch]
                self.codes[branch] = g["codes"][:]
                self.default_offset[branch] = g["default_offset"][:]
                self.elements[branch] = pd.DataFrame({
                    "name": g["names"][:].astype(str), "chrom": g["chrom"][:].astype(str),
                    "start": g["start"][:], "end": g["end"][:], "span_start": g["span_start"][:],
                    "min_offset": g["min_offset"][:], "max_offset": g["max_offset"][:]})
            p = h5["pairs"]
            self.enhancer_index = p["enhancer_index"][:]
            self.promoter_index = p["promoter_index"][:]
            self.label = p["label"][:].astype(np.int8)
            self.split_code = p["split"][:]
            e, pr = self.elements["enhancer"], self.elements["promoter"]
            self.pairs = pd.DataFrame({
                schema.ENHANCER_NAME: e.name.to_numpy()[self.enhancer_index],
                schema.PROMOTER_NAME: pr.name.to_numpy()[self.promoter_index],
                schema.CELL_LINE: p[schema.CELL_LINE][:].astype(str),
                schema.CHROM: p[schema.CHROM][:].astype(str),
                schema.ENHANCER_START: e.start.to_numpy()[self.enhancer_index],
                schema.ENHANCER_END: e.end.to_numpy()[self.enhancer_index],
                schema.PROMOTER_START: pr.start.to_numpy()[self.promoter_index],
                schema.PROMOTER_END: pr.end.to_numpy()[self.promoter_index],
                schema.DISTANCE: p["distance"][:],
                schema.LABEL: self.label,
                schema.SPLIT: [schema.SPLIT_NAMES[c] for c in self.split_code],
            })
            a = h5["augment"]
            self.augment_pair = a["pair_index"][:]
            self.augment_offset = {"enhancer": a["enhancer_offset"][:], "promoter": a["promoter_offset"][:]}

    @property
    def enhancer_codes(self) -> np.ndarray:
        return self.codes["enhancer"]

    @property
    def promoter_codes(self) -> np.ndarray:
        return self.codes["promoter"]

    def window(self, branch: str) -> int:
        return self.enhancer_window if branch == "enhancer" else self.promoter_window

    def windows(self, branch: str, element_index, offsets=None) -> np.ndarray:
        """Base codes of windows, shape=(n, W), int8.

        Parameters
        ----------
        branch : "enhancer" or "promoter"
        element_index : shape=(n,), indices into that branch's elements
        offsets : shape=(n,), window offsets in the span; default windows if None
        """
        element_index = np.asarray(element_index, dtype=np.intp)
        if offsets is None:
            offsets = self.default_offset[branch][element_index]
        w = self.window(branch)
        cols = np.asarray(offsets, dtype=np.intp)[:, None] + np.arange(w)
        return self.codes[branch][element_index[:, None], cols]

    def split_index(self, split: str) -> np.ndarray:
        """Pair indices of one split (``train``, ``valid`` or ``test``), shape=(n,)."""
        if split not in schema.SPLIT_CODES:
            raise ValueError(f"split must be one of train, valid, test; got {split!r}")
        return np.flatnonzero(self.split_code == schema.SPLIT_CODES[split])

    def examples(self, split: str, balanced: bool):
        """The examples of one split as index arrays.

        Returns
        -------
        pair_index, enhancer_offset, promoter_offset, label : each shape=(n,)
            ``balanced=False``: every pair of the split at its default windows.
            ``balanced=True``: the split's negatives plus the augmented copies
            of its positives (the test split is never augmented).
        """
        idx = self.split_index(split)
        if balanced and split != schema.TEST and len(self.augment_pair):
            neg = idx[self.label[idx] == 0]
            in_split = self.split_code[self.augment_pair] == schema.SPLIT_CODES[split]
            aug = self.augment_pair[in_split]
            pair_index = np.concatenate([neg, aug])
            e_off = np.concatenate([self.default_offset["enhancer"][self.enhancer_index[neg]],
                                    self.augment_offset["enhancer"][in_split]])
            p_off = np.concatenate([self.default_offset["promoter"][self.promoter_index[neg]],
                                    self.augment_offset["promoter"][in_split]])
        else:
            pair_index = idx
            e_off = self.default_offset["enhancer"][self.enhancer_index[idx]]
            p_off = self.default_offset["promoter"][self.promoter_index[idx]]
        return pair_index, e_off, p_off, self.label[pair_index]

    def arrays(self, split: str, balanced: bool = False):
        """Codes of a whole split: (enhancer (n, We) int8, promoter (n, Wp) int8, label (n,))."""
        pi, eo, po, y = self.examples(split, balanced)
        return (self.windows("enhancer", self.enhancer_index[pi], eo),
                self.windows("promoter", self.promoter_index[pi], po), y)


def __getattr__(name):
    # PairBatches needs keras (and so TensorFlow): imported only when asked for,
    # so that `prepare` stays light.
    if name == "PairBatches":
        from .batches import PairBatches

        return PairBatches
    raise AttributeError(name)
