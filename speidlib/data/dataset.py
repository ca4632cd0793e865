"""Build, save and load SPEID datasets, and serve batches to Keras.

``prepare`` turns a pair table and a genome FASTA into ``RUN/dataset.h5``
(layout in ``docs/architecture.md``) and ``RUN/config.json``. Each distinct
enhancer and promoter is stored once, as int8 codes of a ``2 * W`` span that
holds every window a shift may choose, so the 20x augmented copies exist
only as offsets. :class:`PairBatches` one-hots windows per batch.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.argtypes import csv_list, fraction, nonneg_int, positive_int, share
from speidlib.data import regions
from speidlib.data.assembly import identify_assembly
from speidlib.data.genome import Genome
from speidlib.data.leakage import leakage_report
from speidlib.data.pairs import check_within_genome, element_index, read_pairs_with_lines
from speidlib.data.splits import split_pairs
from speidlib.io import atomic_path, atomic_write_json, free_disk, human_bytes, memory_bytes, sha256
from speidlib.options import option, seed_option
from speidlib.run import DATASET_SHA256, Run, run_lock

DATASET_VERSION = 1


@dataclass
class PrepareConfig:
    """Every parameter of ``prepare``; written to ``RUN/config.json``. The fields are the options
    of ``speid prepare`` (:mod:`speidlib.options`)."""

    pairs: str = option(help="pair table: TargetFinder predictions-gbm.csv or pairs.csv, or BEDPE (plain or gzip)")
    genome: str = option(help="genome FASTA (e.g. hg19.fa from UCSC; .fai built if missing)")
    split: str = option("random", choices=schema.SPLIT_METHODS,
                        help="random: the preprint's stratified 90/10 pairs; chromosome: held-out "
                        "chromosomes; group: no enhancer or promoter on both sides (default %(default)s)")
    test_chromosomes: list[str] | None = option(
        None, type=csv_list, help="with --split chromosome: comma-separated test chromosomes, e.g. chr1,chr2 "
        "(default: chosen automatically to hold out about 10%% of positives)")
    valid_chromosomes: list[str] | None = option(
        None, type=csv_list, help="with --split chromosome: validation chromosomes (default: chosen automatically)")
    test_fraction: float = option(0.1, type=fraction, help="share of pairs held out for test (default %(default)s)")
    valid_fraction: float = option(0.1, type=share, help="share of the training part carved out for validation "
                                   "(default %(default)s)")
    enhancer_window: int = option(3000, type=positive_int, help="enhancer window in bp (default %(default)s; one "
                                  "that cannot fit in memory is refused)")
    promoter_window: int = option(2000, type=positive_int, help="promoter window in bp (default %(default)s)")
    augment: int = option(20, type=nonneg_int, help="random shifted copies of each training/validation positive "
                          "(default %(default)s)")
    seed: int = seed_option("seed for the split, windows and shifts")
    extra: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.split not in schema.SPLIT_METHODS:
            raise ValueError(f"split must be one of {', '.join(schema.SPLIT_METHODS)}, got {self.split!r}")
        for name in ("enhancer_window", "promoter_window"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive number of bases, got {getattr(self, name)}")
        if self.augment < 0:
            raise ValueError(f"augment must be >= 0, got {self.augment}")


def _augment(pair_index, enh_lo, enh_hi, prom_lo, prom_hi, n, rng):
    """Offsets of ``n`` shifted copies of each given pair, flattened, shape=(len*n,)."""
    e = regions.sample_shifts(enh_lo, enh_hi, n, rng).ravel()
    p = regions.sample_shifts(prom_lo, prom_hi, n, rng).ravel()
    return np.repeat(pair_index, n), e, p


def prepare(config: PrepareConfig, run_dir, progress: bool = True, overwrite: bool = False) -> Path:
    """Build ``RUN/dataset.h5`` and ``RUN/config.json`` from a pair table and a FASTA.

    Windows are fitted per element; exact duplicate pairs (same coordinates
    and label) are collapsed first, so copies never straddle splits; the
    split is made on pairs and the augmentation shifts are drawn afterwards,
    per split, so shifted copies of one pair never cross splits. Every input
    is checked before anything is written (:func:`check_pairs`), every file
    is written atomically, and the run directory is locked meanwhile
    (:func:`speidlib.run.lock.run_lock`).

    Parameters
    ----------
    config : the parameters (paths are recorded absolute in ``config.json``)
    run_dir : the run directory; one that already holds a run is refused
        unless ``overwrite``
    progress : tqdm bars
    overwrite : replace an existing run: everything the workbench wrote there
        (the run's manifest: model, checkpoints, metrics, predictions, motifs...)
        is removed once the new dataset is built (:meth:`speidlib.run.Run.clear`),
        so nothing made from the old dataset remains; the user's own files stay

    Returns the path of the dataset file.
    """

    config.check()
    run_dir = Path(run_dir)
    with run_lock(run_dir, "prepare"):
        existing = Run(run_dir).holds_run()
        if existing and not overwrite:
            raise ValueError(f"{run_dir} already holds a run ({', '.join(existing[:4])}"
                             f"{', ...' if len(existing) > 4 else ''}): choose a new --run folder, or "
                             "pass --overwrite to delete it and everything made from it")
        return _prepare(config, run_dir, progress, overwrite)


def check_pairs(pairs: pd.DataFrame, lines, source: str, genome) -> tuple[pd.DataFrame, dict]:
    """Check a pair table against its genome; collapse exact duplicate pairs.

    Parameters
    ----------
    pairs : pair table (:func:`speidlib.data.pairs.read_pairs`), shape=(n, ...)
    lines : shape=(n,), each row's line in ``source`` (for error messages)
    source : the pair table's file name
    genome : an open :class:`speidlib.data.genome.Genome`

    Returns
    -------
    pairs : the table without repeated pairs (first rows kept), index reset
    report : ``{"n_duplicates_collapsed": int}``

    Raises
    ------
    ValueError
        naming file and line(s) for a chromosome the FASTA lacks, an element
        not within its chromosome, one pair given with labels 0 and 1, or a
        table without positives or without negatives.
    """
    lines = np.asarray(lines)
    genome.check_chromosomes(pairs[schema.CHROM].unique(), source=source)
    check_within_genome(genome, source, lines, pairs[schema.CHROM].to_numpy(), {
        branch: (pairs[f"{branch}_start"].to_numpy(), pairs[f"{branch}_end"].to_numpy())
        for branch in schema.BRANCHES})
    key = pd.MultiIndex.from_arrays([pairs[c].to_numpy() for c in (
        schema.CHROM, schema.ENHANCER_START, schema.ENHANCER_END, schema.PROMOTER_START,
        schema.PROMOTER_END)])
    codes, _ = pd.factorize(key)
    labels = pairs[schema.LABEL].to_numpy()
    order = np.lexsort((np.arange(len(codes)), codes))
    same = codes[order][1:] == codes[order][:-1]
    conflict = np.flatnonzero(same & (labels[order][1:] != labels[order][:-1]))
    if conflict.size:
        a, b = sorted((order[conflict[0]], order[conflict[0] + 1]))
        raise ValueError(f"{source}, lines {lines[a]} and {lines[b]}: the same pair "
                         f"({key[a][0]}:{key[a][1]}-{key[a][2]} with {key[a][0]}:{key[a][3]}-{key[a][4]}) "
                         f"is labelled {labels[a]} and {labels[b]}; the model sees only sequence, so "
                         "keep one label per pair")
    first = ~pd.Series(codes).duplicated().to_numpy()
    out = pairs[first].reset_index(drop=True)
    n_pos = int(out[schema.LABEL].sum())
    if n_pos == 0 or n_pos == len(out):
        raise ValueError(f"{source}: all {len(out)} pairs are labelled {1 if n_pos else 0}; training "
                         f"needs {'negative (label 0)' if n_pos else 'positive (label 1)'} pairs too")
    return out, {"n_duplicates_collapsed": int((~first).sum())}


def check_window_sizes(pairs: pd.DataFrame, windows: dict, chrom_sizes: dict, run_dir) -> None:
    """Refuse windows that cannot fit, before anything is allocated.

    A window longer than the genome's longest chromosome is refused, and so is a
    dataset larger than this machine's memory or the free disk at ``run_dir``: each
    distinct element is stored once as its ``2 * W`` span of int8 codes, and
    training holds them all in memory (:class:`Dataset`).

    Parameters
    ----------
    pairs : the checked pair table, shape=(n_pairs, ...)
    windows : branch -> window in bp
    chrom_sizes : chromosome -> length of the genome
    run_dir : where ``dataset.h5`` is to be written
    """
    longest = max(chrom_sizes, key=chrom_sizes.get)
    for branch, w in windows.items():
        if w > chrom_sizes[longest]:
            raise ValueError(f"{branch} window of {w:,} bp is longer than the genome's longest chromosome "
                             f"({longest}, {chrom_sizes[longest]:,} bp): give --{branch}-window a size "
                             "that fits (the preprint's are 3,000 and 2,000 bp)")
    n = {b: len(pairs[[schema.CHROM, f"{b}_start", f"{b}_end"]].drop_duplicates()) for b in windows}
    need = sum(n[b] * 2 * w for b, w in windows.items())
    what = (" and ".join(f"{b} window of {w:,} bp" for b, w in windows.items()) + ": the dataset's "
            + " and ".join(f"{n[b]:,} {b}" for b in windows) + " spans (2 x window bases each) need "
            + human_bytes(need))
    total, _ = memory_bytes()
    if need > total:
        raise ValueError(f"{what} in memory, more than this machine's {human_bytes(total)}: use smaller windows")
    free = free_disk(run_dir)
    if need > free:
        raise ValueError(f"{what} on disk, more than the {human_bytes(free)} free at {run_dir}: use "
                         "smaller windows or another --run folder")


def _check_split_classes(split: np.ndarray, labels: np.ndarray, method: str) -> None:
    for side, words in ((schema.TRAIN, "training"), (schema.VALID, "validation"),
                        (schema.TEST, "test")):
        y = labels[split == side]
        missing = [c for c, v in (("positive", 1), ("negative", 0)) if not (y == v).any()]
        if missing:
            raise ValueError(f"the {method} split leaves the {words} set ({len(y)} pairs) without "
                             f"{' and '.join(missing)} pairs; use more pairs, larger fractions, other "
                             "held-out chromosomes or another --split")


def _prepare(config: PrepareConfig, run_dir: Path, progress: bool, overwrite: bool) -> Path:
    t0 = time.perf_counter()
    # Checksums of the inputs (a genome is gigabytes) overlap the rest of the build.
    hashing = ThreadPoolExecutor(max_workers=1)
    checksums = {k: hashing.submit(sha256, getattr(config, k)) for k in ("pairs", "genome")}
    rng = np.random.default_rng(config.seed)

    pairs, lines = read_pairs_with_lines(config.pairs)
    with Genome(config.genome) as genome:
        pairs, report = check_pairs(pairs, lines, Path(config.pairs).name, genome)
        assembly = identify_assembly(genome.chrom_sizes)
        chrom_sizes = dict(genome.chrom_sizes)
    check_window_sizes(pairs, {"enhancer": config.enhancer_window, "promoter": config.promoter_window},
                       chrom_sizes, run_dir)
    split = split_pairs(pairs, method=config.split, test_fraction=config.test_fraction,
                        valid_fraction=config.valid_fraction,
                        test_chromosomes=config.test_chromosomes,
                        valid_chromosomes=config.valid_chromosomes, seed=config.seed)
    _check_split_classes(split, pairs[schema.LABEL].to_numpy(), config.split)
    split_code = np.array([schema.SPLIT_CODES[s] for s in split], dtype=np.int8)
    for k in checksums:   # a missing or unreadable input has failed by now, with a clear error
        checksums[k] = checksums[k].result()

    windows = {"enhancer": config.enhancer_window, "promoter": config.promoter_window}
    tables, index, lo, hi, padded = {}, {}, {}, {}, {}
    run = Run(run_dir)
    with Genome(config.genome) as genome, atomic_path(run.dataset) as tmp:
        with h5py.File(tmp, "w") as h5:
            for branch, w in windows.items():
                tables[branch], index[branch] = element_index(pairs, branch)
                lo[branch], hi[branch] = _write_elements(h5.create_group(branch), tables[branch], w,
                                                         genome, config.seed, progress, branch)
                g = h5[branch]
                first = g["span_start"][:] + g["default_offset"][:]
                length = tables[branch].chrom.map(chrom_sizes).to_numpy()
                padded[branch] = int(((first < 0) | (first + w > length)).sum())

            p = h5.create_group("pairs")
            p["enhancer_index"], p["promoter_index"] = index["enhancer"], index["promoter"]
            p["label"] = pairs[schema.LABEL].to_numpy().astype(np.int8)
            p["split"] = split_code
            p["distance"] = pairs[schema.DISTANCE].to_numpy().astype(np.int64)
            for col in (schema.CELL_LINE, schema.CHROM):
                p[col] = _utf8(pairs[col])

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
        dataset_sha256 = sha256(tmp)
        if overwrite:  # the new dataset is complete: nothing made from the old one may stay
            run.clear()

    summary = {
        "n_pairs": int(len(pairs)), "n_positive": int(pairs[schema.LABEL].sum()),
        "n_duplicates_collapsed": report["n_duplicates_collapsed"],
        "n_enhancers": int(len(tables["enhancer"])), "n_promoters": int(len(tables["promoter"])),
        "n_augmented_positives": int(len(a_pair)),
        # default windows reaching past a chromosome end (their outside bases are N)
        "windows_padded_with_n": padded,
        "per_split": {s: {"pairs": int((split == s).sum()),
                          "positives": int(pairs[schema.LABEL].to_numpy()[split == s].sum())}
                      for s in (schema.TRAIN, schema.VALID, schema.TEST)},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    run.write_record("prepare", {
        **asdict(config),  # paths absolute, so they resolve from any directory
        "pairs": str(Path(config.pairs).expanduser().resolve()),
        "genome": str(Path(config.genome).expanduser().resolve()),
        "assembly": assembly,  # hg19, GRCh38 or unknown, from the FASTA's chromosome lengths
        "pairs_sha256": checksums["pairs"], "genome_sha256": checksums["genome"],
        DATASET_SHA256: dataset_sha256,
        "summary": summary,
    })
    _write_leakage(pairs, split, run)
    run.register("prepare", [run.dataset, run.leakage])
    return run.dataset


def _write_elements(g, table: pd.DataFrame, w: int, genome, seed: int, progress: bool, branch: str):
    """One branch's distinct elements into h5 group ``g``: codes of each ``2 * w`` span, names,
    coordinates and offsets (layout in ``docs/architecture.md``).

    Returns
    -------
    min_offset, max_offset : shape=(n_elements,), the shifts that keep each element in its window
    """
    lo, hi = regions.offset_bounds(table.start, table.end, w)
    codes = g.create_dataset("codes", shape=(len(table), 2 * w), dtype=np.int8,
                             chunks=(min(len(table), max(1, (1 << 20) // (2 * w))), 2 * w))
    span0 = regions.span_starts(table.start, table.end, w)
    _fill_codes(genome, table.chrom.to_numpy(), span0, 2 * w, codes, progress, branch)
    g["names"] = _utf8(table.name)
    g["chrom"] = _utf8(table.chrom)
    g["start"], g["end"] = table.start.to_numpy(), table.end.to_numpy()
    g["span_start"] = span0
    g["default_offset"] = regions.default_offsets(table.start, table.end, w, seed,
                                                   table.chrom.to_numpy()).astype(np.int32)
    g["min_offset"], g["max_offset"] = lo.astype(np.int32), hi.astype(np.int32)
    return lo, hi


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


def _write_leakage(pairs, split, run: Run) -> None:

    atomic_write_json(run.leakage, leakage_report(pairs, split).to_dict())


def _utf8(values) -> np.ndarray:
    """Text as UTF-8 bytes for HDF5 (names and cell lines may hold any character)."""
    return np.char.encode(np.asarray(values).astype(str), "utf-8")


def _text(values) -> np.ndarray:
    """HDF5 bytes (:func:`_utf8`) back to text, shape kept."""
    return np.char.decode(np.asarray(values, dtype=bytes), "utf-8")


_WINDOW_CHUNK = 4096  # rows of windows gathered at once by Dataset.windows

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
            self.path = Run(self.path).dataset
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
                    "name": _text(g["names"][:]), "chrom": _text(g["chrom"][:]),
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
                schema.CELL_LINE: _text(p[schema.CELL_LINE][:]),
                schema.CHROM: _text(p[schema.CHROM][:]),
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
        offsets = np.asarray(offsets, dtype=np.intp)
        out = np.empty((len(element_index), w), dtype=self.codes[branch].dtype)
        # in row chunks: the (n, W) index array would take 8 bytes per base returned
        for lo in range(0, len(element_index), _WINDOW_CHUNK):
            hi = lo + _WINDOW_CHUNK
            cols = offsets[lo:hi, None] + np.arange(w)
            out[lo:hi] = self.codes[branch][element_index[lo:hi, None], cols]
        return out

    def default_window(self, branch: str, element: int):
        """One element's default (scored) window and where the element lies in it.

        Returns
        -------
        codes : shape=(W,), int8
        window_start : genome coordinate of the window's first base
        bounds : ``(start, end)`` of the element in window coordinates (may reach past the window)
        """
        e = self.elements[branch].iloc[int(element)]
        start = int(e["span_start"]) + int(self.default_offset[branch][int(element)])
        return (self.windows(branch, [int(element)])[0], start,
                (int(e["start"]) - start, int(e["end"]) - start))

    def element_named(self, branch: str, name: str) -> int:
        """Index of the ``branch`` element called ``name``; a clear error when there is none."""
        hit = np.flatnonzero(self.elements[branch]["name"].to_numpy() == name)
        if len(hit) == 0:
            raise ValueError(f"{self.path} has no {branch} named {name!r}: are the predictions and "
                             "dataset.h5 from the same run?")
        return int(hit[0])

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
