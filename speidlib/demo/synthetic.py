"""A synthetic demo genome with a planted enhancer-promoter interaction grammar.

No human genome can be fetched on every machine, so the workbench ships a
generator of a genome and pair tables in the TargetFinder shape, with a known
answer. The grammar:

* A few *classes*, each a pair of real JASPAR CORE vertebrate motifs: one
  planted in enhancers, one in promoters (:data:`PLANTED_MOTIFS`). An active
  element of class ``k`` carries 3-6 copies (``motif_copies``) of its branch's
  motif, sampled base by base from the JASPAR PFM, at random positions inside
  the element, on a random strand. Inactive elements carry no planted motif.
* Positives join an enhancer and a promoter of the *same* class (compatible
  elements). Optionally a fraction ``positive_noise`` of positives (none by
  default) is drawn like negatives, as interactions the grammar cannot explain.
* ``negatives_per_positive`` (20) distance-matched negatives per positive,
  TargetFinder's ratio. Most negatives join two active elements of
  *different* classes, so an element alone says little; a few
  (``negative_compatible_fraction``) are compatible pairs that do not
  interact. The default size, 105,000 pairs (5,000 positives), gives a
  small SPEID enough distinct positives to learn the grammar rather than
  memorise them (``benchmarks/grammar_check.py`` measures the ``cpu``
  preset's held-out AUROC at this size); the ``cpu`` preset draws as
  many negatives as shifted positives per stage-1 epoch, so the demo's
  recommended augmentation is 4 copies, and an epoch stays short.
* Several cell lines share some classes (``n_shared_classes``) and each has
  its own; an element whose class a cell line lacks behaves there like an
  inactive one (its motifs are still in the genome).

How much each element alone and the pair together can say is measured by
:func:`oracle_aurocs` and stored in ``demo.json``: with the defaults an oracle
that knows only the enhancer's (or the promoter's) class reaches an AUROC near
0.76, one that knows whether the pair is compatible near 0.99 (a PWM scan of
the windows for the planted motifs reaches about the same). The single-element
signal is deliberate: it is what lets a small CNN find the motifs from random
kernels at all (with 0.65 it barely moved in 8 epochs); the pair grammar then
adds the rest.

The genome has realistic touches a real FASTA has: GC content varying in
blocks of tens of kb (35-60%), GC-rich promoters, soft-masked (lower-case)
stretches and runs of N. The recommended windows (1,000 bp for both branches)
are shorter than the paper's 3,000/2,000 bp, so that a small model trains on a
CPU in minutes; every element fits inside its window.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.argtypes import positive_int
from speidlib.data.encode import N_CODE
from speidlib.data.jaspar import get_motif, write_meme
from speidlib.demo.oracles import oracle_aurocs
from speidlib.demo.sampling import distance_law, sample_pairs
from speidlib.io import atomic_path, atomic_write_json
from speidlib.options import option, seed_option

# (enhancer motif, promoter motif) per class, JASPAR2024 CORE vertebrates,
# chosen by scripts/choose_demo_motifs.py: 12-20 bp, 14-26 bits, and
# *unambiguous* in the release (a noisy PFM rebuilt from sampled sites still
# matches its own matrix first, and no other TF's matrix better than
# Tomtom p = 1e-5), so "is the planted motif a kernel's best match?" has an
# answer; no two of the 24 are more alike than p = 1e-3.
PLANTED_MOTIFS = (
    ("MA1592.2", "MA0752.2"),   # 0: ZNF274 / ZNF410
    ("MA0776.1", "MA0506.3"),   # 1: MYBL1 / NRF1
    ("MA1155.1", "MA0749.2"),   # 2: ZSCAN4 / ZBED1
    ("MA0863.1", "MA1718.1"),   # 3: MTF1 / ZNF8
    ("MA1711.2", "MA0799.3"),   # 4: ZNF343 / RFX4
    ("MA1651.2", "MA0794.1"),   # 5: ZFP42 / PROX1
    ("MA1154.2", "MA1720.2"),   # 6: ZNF282 / ZNF85
    ("MA0135.2", "MA1983.2"),   # 7: LHX3 / ZNF582
    ("MA2097.1", "MA1600.2"),   # 8: ZNF75A / ZNF684
    ("MA1973.2", "MA1977.2"),   # 9: ZKSCAN3 / ZNF324
    ("MA1715.1", "MA1980.1"),   # 10: ZNF707 / ZNF418
    ("MA1573.2", "MA0757.2"),   # 11: THAP11 / ONECUT3
)
MOTIF_RELEASE = "JASPAR2024"
# Shifted copies per training positive that `prepare` should make for the demo:
# the cpu preset balances stage 1 by drawing as many negatives per epoch.
RECOMMENDED_AUGMENT = 4

# hg19 chr1-chr22 lengths in Mb: the demo chromosomes keep their proportions.
_HG19_MB = (249, 243, 198, 191, 181, 171, 159, 146, 141, 136, 135, 134,
            115, 107, 103, 90, 81, 78, 59, 63, 48, 51)

# TargetFinder K562 E/P: 41,477 pairs over 29,594 enhancers and 7,616 promoters.
_ENHANCERS_PER_PAIR, _PROMOTERS_PER_PAIR = 1.2, 0.184
_LINE_WIDTH = 60

GENOME_FILE = "genome.fa"
PAIRS_FILE = "pairs.csv"
MOTIFS_FILE = "planted_motifs.meme"
ELEMENTS_FILE = "elements.csv"
ENHANCERS_BED = "enhancers.bed"   # every demo enhancer, named chrom:start-end
PROMOTERS_BED = "promoters.bed"   # every demo promoter, named like a gene (DG00001, ...)
DESCRIPTION_FILE = "demo.json"


@dataclass(frozen=True)
class DemoClass:
    """One class of the grammar: the motif planted in its enhancers and promoters.

    Attributes
    ----------
    index : int, the class number (``motif_class`` in ``elements.csv``)
    enhancer_motif, promoter_motif : str, JASPAR matrix IDs
    enhancer_tf, promoter_tf : str, the TF names
    cell_lines : tuple of str, the cell lines whose pairs follow this class
    """

    index: int
    enhancer_motif: str
    promoter_motif: str
    enhancer_tf: str
    promoter_tf: str
    cell_lines: tuple[str, ...]


@dataclass(frozen=True)
class DemoInfo:
    """Where a demo lives and what it holds (the content of ``demo.json``).

    Attributes
    ----------
    outdir : Path
    genome : Path, ``genome.fa`` (indexed: ``genome.fa.fai``)
    pairs : dict, cell line -> pair table path
    planted_motifs : Path, the ground-truth MEME file
    elements : Path, ``elements.csv``: every element, its class and motif sites
    cell_lines : tuple of str, e.g. ``("DEMO1",)``
    classes : tuple of DemoClass
    enhancer_window, promoter_window : int, recommended windows (bp)
    oracle_auroc : dict, cell line -> {oracle name -> AUROC}
    augment : int, recommended shifted copies per training positive (4: with
        the ``cpu`` preset, stage 1 draws as many negatives per epoch)
    """

    outdir: Path
    genome: Path
    pairs: dict
    planted_motifs: Path
    elements: Path
    cell_lines: tuple[str, ...]
    classes: tuple[DemoClass, ...]
    enhancer_window: int
    promoter_window: int
    oracle_auroc: dict
    augment: int = 20

    def pairs_path(self, cell_line: str | None = None) -> Path:
        """The pair table of ``cell_line`` (the only one when there is one)."""
        if cell_line is None:
            if len(self.cell_lines) != 1:
                raise ValueError(f"this demo has cell lines {list(self.cell_lines)}; name one")
            cell_line = self.cell_lines[0]
        if cell_line not in self.pairs:
            raise ValueError(f"no cell line {cell_line!r} in this demo; it has {list(self.cell_lines)}")
        return self.pairs[cell_line]

    def classes_of(self, cell_line: str) -> tuple[int, ...]:
        """Class indices whose grammar ``cell_line`` follows."""
        return tuple(c.index for c in self.classes if cell_line in c.cell_lines)


def load_demo(outdir) -> DemoInfo:
    """Read ``outdir/demo.json`` written by :func:`make_demo`."""
    outdir = Path(outdir)
    path = outdir / DESCRIPTION_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist; build the demo with make_demo() or `speid demo-data`")
    d = json.loads(path.read_text())
    classes = tuple(DemoClass(c["class"], c["enhancer_motif"], c["promoter_motif"], c["enhancer_tf"],
                              c["promoter_tf"], tuple(c["cell_lines"])) for c in d["classes"])
    cells = d["cell_lines"]
    return DemoInfo(
        outdir=outdir, genome=outdir / d["files"]["genome"],
        pairs={c: outdir / cells[c]["pairs"] for c in cells},
        planted_motifs=outdir / d["files"]["planted_motifs"], elements=outdir / d["files"]["elements"],
        cell_lines=tuple(cells), classes=classes,
        enhancer_window=d["enhancer_window"], promoter_window=d["promoter_window"],
        oracle_auroc={c: cells[c]["oracle_auroc"] for c in cells},
        augment=int(d.get("augment", RECOMMENDED_AUGMENT)),
    )


@dataclass(frozen=True)
class DemoConfig:
    """Everything that shapes a demo; the same config and seed give the same bytes.

    Attributes
    ----------
    seed : int
    n_cell_lines : int, cell lines ``DEMO1``, ``DEMO2``, ...
    n_pairs : int, pairs per cell line (TargetFinder K562 has 41,477)
    n_classes : int, classes per cell line
    n_shared_classes : int, classes every cell line has; each cell line adds
        ``n_classes - n_shared_classes`` of its own
    n_chromosomes : int, 1-22 (lengths in hg19's chr1, chr2, ... proportions)
    enhancer_window, promoter_window : int, recommended windows (bp); element
        lengths are drawn to fit them and neighbouring elements lie at least
        the larger window apart
    negatives_per_positive : int
    positive_noise : float, fraction of positives drawn like negatives (the
        grammar does not explain them)
    negative_active_fraction : float, chance that a negative's enhancer (or
        promoter) carries a class motif of the cell line
    negative_compatible_fraction : float, fraction of negatives joining
        compatible elements
    element_active_fraction : float, fraction of the genome's elements that
        carry a class motif
    motif_copies : (int, int), least and most copies per active element
    bp_per_element : int, genome length per element (sets the genome size);
        default three times the larger window
    site_noise : float, fraction of each planted site's bases replaced by a
        uniform random base after sampling from the PFM (0: sites follow the PFM;
        the harder learning-curve grammar uses noisy sites)
    planted_motifs : ((enhancer matrix id, promoter matrix id), ...) per class, JASPAR 2024
        (default :data:`PLANTED_MOTIFS`, chosen to be unambiguous in JASPAR)
    """

    seed: int = seed_option("random seed; the same seed gives the same files")
    n_cell_lines: int = option(1, type=positive_int, flag="--cell-lines",
                               help="number of demo cell lines sharing some grammar classes (default %(default)s)")
    n_pairs: int = option(105_000, type=positive_int, flag="--pairs-per-cell",
                          help="approximate pairs per cell line (default: the demo's small default size)")
    n_classes: int = 4
    n_shared_classes: int = 2
    n_chromosomes: int = 4
    enhancer_window: int = 1000
    promoter_window: int = 1000
    negatives_per_positive: int = 20
    positive_noise: float = 0.0
    negative_active_fraction: float = 0.5
    negative_compatible_fraction: float = 0.02
    element_active_fraction: float = 0.75
    motif_copies: tuple[int, int] = option((3, 6), type=positive_int, nargs=2, metavar=("LEAST", "MOST"),
                                           help="least and most copies of its class's motif an active element "
                                           "carries (default 3 6; 1 1: every site alone makes its element)")
    bp_per_element: int | None = None
    planted_motifs: tuple = PLANTED_MOTIFS
    site_noise: float = 0.0

    def genome_bp_per_element(self) -> int:
        """``bp_per_element``, or its default: three times the larger window."""
        return self.bp_per_element or 3 * max(self.enhancer_window, self.promoter_window)

    def check(self) -> None:
        """Raise ValueError naming the first parameter out of range."""
        _check_args(self.n_cell_lines, self.n_pairs, self.n_classes, self.n_shared_classes,
                    self.n_chromosomes, self.enhancer_window, self.promoter_window,
                    self.negatives_per_positive, self.positive_noise, self.negative_active_fraction,
                    self.negative_compatible_fraction, self.element_active_fraction, self.motif_copies,
                    self.genome_bp_per_element(), self.planted_motifs)
        if not 0 <= self.site_noise <= 1:
            raise ValueError(f"site_noise must lie in 0..1, got {self.site_noise}")


def make_demo(outdir, config: DemoConfig | None = None, **options) -> DemoInfo:
    """Write a synthetic genome, pair tables and their ground truth to ``outdir``.

    ``config`` (default :class:`DemoConfig()`) with any of its fields replaced by
    ``options``, e.g. ``make_demo("demo", seed=1, n_pairs=1500)``.
    The same config gives the same bytes. Files written (atomically):
    ``genome.fa`` and ``genome.fa.fai``; ``pairs.csv`` (one cell line) or
    ``pairs_<CELL>.csv`` per cell line, in TargetFinder's
    ``predictions-gbm.csv`` shape (``enhancer_name,promoter_name,label`` with
    names ``DEMO1|chr1:100-600``, 0-based half-open); ``planted_motifs.meme``
    (MOTIF lines like ``MA0139.2 CTCF enhancer class0``); ``elements.csv``
    (every element with its class and the start and strand of each planted
    site); ``enhancers.bed`` and ``promoters.bed`` (every element, for
    ``speid candidates``; promoters named like genes); ``demo.json`` (the grammar, sizes, windows and oracle AUROCs).

    Returns
    -------
    DemoInfo
    """
    c = dataclasses.replace(config or DemoConfig(), **options)
    c.check()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(c.seed).spawn(4)]
    rng_genome, rng_elements, rng_motifs, rng_pairs = streams
    cell_lines, cell_classes, motifs, classes = _grammar(c)

    # --- genome backbone and element positions -------------------------------
    n_enh = max(50, round(_ENHANCERS_PER_PAIR * c.n_pairs * c.n_cell_lines))
    n_prom = max(20, round(_PROMOTERS_PER_PAIR * c.n_pairs))
    window = max(c.enhancer_window, c.promoter_window)
    chrom_sizes = _chromosome_sizes(c.n_chromosomes,
                                    max(2_000_000, (n_enh + n_prom) * c.genome_bp_per_element()))
    genome = {name: _backbone(rng_genome, size) for name, size in chrom_sizes.items()}
    elements = _place_elements(rng_elements, genome, n_enh, n_prom, c.enhancer_window, c.promoter_window,
                               window, len(motifs), c.element_active_fraction)
    # site noise draws from a stream of its own: a demo without it keeps its bytes
    noise_rng = np.random.default_rng([c.seed, 104729]) if c.site_noise else None
    sites = _plant(rng_motifs, genome, elements, motifs, c.motif_copies, c.site_noise, noise_rng)
    # written now and let go: the bases (1 byte each, about 1.2 GB for the default demo)
    # need not stay in memory beside the pair tables (each step has its own random stream)
    _write_fasta(outdir / GENOME_FILE, genome)
    del genome

    # --- pairs per cell line ----------------------------------------------------
    distance = distance_law(min(chrom_sizes.values()), window)
    tables, oracles = {}, {}
    for cell in cell_lines:
        table = sample_pairs(rng_pairs, elements, cell_classes[cell], c.n_pairs, c.negatives_per_positive,
                              c.positive_noise, c.negative_active_fraction, c.negative_compatible_fraction,
                              distance)
        tables[cell] = table
        oracles[cell] = oracle_aurocs(table["label"].to_numpy(), table["enhancer_class"].to_numpy(),
                                      table["promoter_class"].to_numpy(), cell_classes[cell],
                                      distance=table["distance"].to_numpy())

    pair_files = _write_pair_tables(outdir, tables)
    _write_ground_truth(outdir, motifs, elements, sites)
    _write_element_beds(outdir, elements)
    params = dict(n_pairs=c.n_pairs, n_classes=c.n_classes, n_shared_classes=c.n_shared_classes,
                  negatives_per_positive=c.negatives_per_positive, positive_noise=c.positive_noise,
                  negative_active_fraction=c.negative_active_fraction,
                  negative_compatible_fraction=c.negative_compatible_fraction,
                  element_active_fraction=c.element_active_fraction, motif_copies=list(c.motif_copies),
                  bp_per_element=c.genome_bp_per_element())
    if c.site_noise:
        params["site_noise"] = c.site_noise
    description = _description(c.seed, params, c.enhancer_window, c.promoter_window, chrom_sizes, elements,
                               distance, classes, cell_classes, pair_files, tables, oracles)
    atomic_write_json(outdir / DESCRIPTION_FILE, description)
    return load_demo(outdir)


def _grammar(c: DemoConfig):
    """Cell lines, each cell line's classes, each class's (enhancer, promoter) motifs, DemoClass rows."""
    cell_lines = tuple(f"DEMO{i + 1}" for i in range(c.n_cell_lines))
    n_private = c.n_classes - c.n_shared_classes
    n_total_classes = c.n_shared_classes + c.n_cell_lines * n_private
    cell_classes = {cell: tuple(range(c.n_shared_classes))
                    + tuple(range(c.n_shared_classes + i * n_private, c.n_shared_classes + (i + 1) * n_private))
                    for i, cell in enumerate(cell_lines)}
    motifs = [(get_motif(e, MOTIF_RELEASE), get_motif(p, MOTIF_RELEASE))
              for e, p in c.planted_motifs[:n_total_classes]]
    classes = tuple(DemoClass(k, e.matrix_id, p.matrix_id, e.name, p.name,
                              tuple(cell for cell in cell_lines if k in cell_classes[cell]))
                    for k, (e, p) in enumerate(motifs))
    return cell_lines, cell_classes, motifs, classes


def _write_pair_tables(outdir: Path, tables: dict) -> dict:
    """``pairs.csv`` (one cell line) or ``pairs_<CELL>.csv``; returns cell -> file name."""
    pair_files = {}
    for cell, table in tables.items():
        name = PAIRS_FILE if len(tables) == 1 else f"pairs_{cell}.csv"
        pair_files[cell] = name
        out = pd.DataFrame({
            schema.ENHANCER_NAME: cell + "|" + table["enhancer"],
            schema.PROMOTER_NAME: cell + "|" + table["promoter"],
            schema.LABEL: table["label"],
        })
        with atomic_path(outdir / name) as tmp:
            out.to_csv(tmp, index=False)
    return pair_files


def _write_ground_truth(outdir: Path, motifs, elements, sites) -> None:
    """``planted_motifs.meme`` and ``elements.csv``."""
    write_meme([(f"{m.matrix_id} {m.name} {branch} class{k}", m.pfm(), int(round(m.counts[0].sum())))
                for k, pair in enumerate(motifs) for branch, m in zip(schema.BRANCHES, pair)],
               outdir / MOTIFS_FILE)
    element_table = pd.DataFrame({
        "element": elements["name"], "kind": elements["kind"], "chrom": elements["chrom"],
        "start": elements["start"], "end": elements["end"], "motif_class": elements["cls"],
        "motif_id": [_motif_id(motifs, k, kind) for k, kind in zip(elements["cls"], elements["kind"])],
        "sites": sites,
    })
    with atomic_path(outdir / ELEMENTS_FILE) as tmp:
        element_table.to_csv(tmp, index=False)


def _write_element_beds(outdir: Path, elements) -> None:
    """``enhancers.bed`` and ``promoters.bed``: all demo elements, for ``speid candidates``.

    BED6 sorted by chromosome and start; enhancers are named ``chrom:start-end`` (as in
    the pair tables), promoters ``DG00001``, ``DG00002``, ... like genes, on alternating
    strands.
    """
    el = elements.sort_values(["chrom", "start"], kind="stable")
    for kind, fname in (("enhancer", ENHANCERS_BED), ("promoter", PROMOTERS_BED)):
        t = el[el["kind"] == kind]
        names = t["name"].to_numpy() if kind == "enhancer" else \
            np.array([f"DG{i + 1:05d}" for i in range(len(t))], dtype=object)
        strand = "." if kind == "enhancer" else np.where(np.arange(len(t)) % 2 == 0, "+", "-")
        bed = pd.DataFrame({"chrom": t["chrom"].to_numpy(), "start": t["start"].to_numpy(),
                            "end": t["end"].to_numpy(), "name": names, "score": 0, "strand": strand})
        with atomic_path(outdir / fname) as tmp:
            bed.to_csv(tmp, sep="\t", header=False, index=False)


def _description(seed, params, enhancer_window, promoter_window, chrom_sizes, elements, distance,
                 classes, cell_classes, pair_files, tables, oracles) -> dict:
    """The content of ``demo.json``."""
    return {
        "seed": seed,
        "motif_release": MOTIF_RELEASE,
        "files": {"genome": GENOME_FILE, "planted_motifs": MOTIFS_FILE, "elements": ELEMENTS_FILE,
                  "enhancers_bed": ENHANCERS_BED, "promoters_bed": PROMOTERS_BED},
        "enhancer_window": enhancer_window,
        "promoter_window": promoter_window,
        "augment": RECOMMENDED_AUGMENT,
        "chromosomes": chrom_sizes,
        "n_enhancers": int((elements["kind"] == "enhancer").sum()),
        "n_promoters": int((elements["kind"] == "promoter").sum()),
        "elements_per_class": {kind: {str(k): int(n) for k, n in g["cls"].value_counts().sort_index().items()}
                               for kind, g in elements.groupby("kind")},
        "distance": {k: int(v) if k != "log_sd" else v for k, v in distance.items()},
        "parameters": params,
        "classes": [{"class": c.index, "enhancer_motif": c.enhancer_motif, "enhancer_tf": c.enhancer_tf,
                     "promoter_motif": c.promoter_motif, "promoter_tf": c.promoter_tf,
                     "cell_lines": list(c.cell_lines)} for c in classes],
        "cell_lines": {cell: {
            "pairs": pair_files[cell],
            "classes": list(cell_classes[cell]),
            "n_pairs": len(t), "n_positives": int(t["label"].sum()),
            "n_negatives": int((t["label"] == 0).sum()),
            "n_enhancers": int(t["enhancer"].nunique()), "n_promoters": int(t["promoter"].nunique()),
            "oracle_auroc": oracles[cell],
        } for cell, t in tables.items()},
        "grammar": ("An active element of class k carries copies of the class's enhancer (or promoter) "
                    "motif sampled from its JASPAR PFM; positives join an enhancer and a promoter of the "
                    "same class of the cell line (except positive_noise of them); negatives are "
                    "distance-matched and mostly join elements of different classes. oracle_auroc gives "
                    "the AUROC of the best score that knows only the enhancer's class, only the "
                    "promoter's class, both classes, the pair's compatibility, or the distance."),
    }


# --------------------------------------------------------------------------- genome

def _chromosome_sizes(n_chromosomes: int, total: int) -> dict:
    mb = np.array(_HG19_MB[:n_chromosomes], dtype=float)
    sizes = np.floor(total * mb / mb.sum()).astype(int)
    return {f"chr{i + 1}": int(s) for i, s in enumerate(sizes)}


def _backbone(rng, size: int) -> dict:
    """Random sequence with GC blocks, soft-masked stretches and N runs.

    Returns a dict: ``codes`` uint8 shape=(size,), ``mask_ends`` int64
    shape=(n_runs,), the ends of alternating unmasked / masked (lower-case)
    runs (a base at ``p`` is masked when ``searchsorted(mask_ends, p, "right")``
    is odd; kept as runs, not one flag per base, to halve the memory), ``gaps``
    list of (start, end) N runs.
    """
    # GC content: blocks of 20-80 kb, an autocorrelated walk inside 35-60%.
    n_blocks = size // 20_000 + 2
    lengths = rng.integers(20_000, 80_001, n_blocks)
    gc = np.empty(n_blocks)
    gc[0] = rng.uniform(0.38, 0.5)
    steps = rng.normal(0.0, 0.05, n_blocks)
    for i in range(1, n_blocks):
        gc[i] = np.clip(0.7 * gc[i - 1] + 0.3 * 0.44 + steps[i], 0.35, 0.60)
    codes = np.empty(size, dtype=np.uint8)
    block_end = np.cumsum(lengths)
    gc = gc.astype(np.float32)
    chunk = 1 << 22
    for lo in range(0, size, chunk):
        hi = min(size, lo + chunk)
        codes[lo:hi] = _random_bases(rng, gc[np.searchsorted(block_end, np.arange(lo, hi), "right")])
    # Soft-masked repeats: alternating runs, ~30% of bases lower case.
    n_runs = size // 500 + 10
    runs = np.empty(2 * n_runs, dtype=np.int64)
    runs[0::2] = np.ceil(rng.lognormal(np.log(800), 1.0, n_runs))
    runs[1::2] = np.ceil(rng.lognormal(np.log(300), 1.0, n_runs))
    runs = runs[: np.searchsorted(np.cumsum(runs), size) + 1]
    mask_ends = np.cumsum(runs)
    # N runs: telomeres at both ends and one or two internal gaps.
    tel = min(10_000, size // 100)
    gaps = [(0, tel), (size - tel, size)]
    for _ in range(int(rng.integers(1, 3))):
        glen = int(min(rng.integers(5_000, 50_001), size // 50))
        gstart = int(rng.integers(size // 5, 4 * size // 5 - glen))
        gaps.append((gstart, gstart + glen))
    gaps.sort()
    for s, e in gaps:
        codes[s:e] = N_CODE
    return {"codes": codes, "mask_ends": mask_ends, "gaps": gaps}


def _random_bases(rng, gc: np.ndarray) -> np.ndarray:
    """Codes (A=0, C=1, G=2, T=3) with per-base GC probability ``gc``, shape=(n,)."""
    u = rng.random(len(gc), dtype=np.float32)
    c_or_g = (u < gc).view(np.uint8)
    c = (u < gc / 2).view(np.uint8)
    t = (u >= (1 + gc) / 2).view(np.uint8)
    return t * np.uint8(3) + c_or_g * (np.uint8(2) - c)


def _place_elements(rng, genome, n_enh, n_prom, enhancer_window, promoter_window, min_gap,
                    n_total_classes, active_fraction) -> pd.DataFrame:
    """Non-overlapping elements at least ``min_gap`` apart, away from N runs.

    Enhancer lengths follow a log-normal (median 400 bp) inside 200-1,500 bp,
    promoter lengths one (median 1,500 bp) inside 1,000-2,000 bp, both
    clipped to their window (lower bound at most half the window).
    """
    enh_len = _lengths(rng, n_enh, 400, 200, 1500, enhancer_window)
    prom_len = _lengths(rng, n_prom, 1500, 1000, 2000, promoter_window)
    kinds = np.array(["enhancer"] * n_enh + ["promoter"] * n_prom)
    lengths = np.concatenate([enh_len, prom_len])
    order = rng.permutation(len(kinds))
    kinds, lengths = kinds[order], lengths[order]

    segments = []  # (chrom, start, end) of N-free stretches, a window's margin inside
    for chrom, g in genome.items():
        prev = 0
        for s, e in g["gaps"] + [(len(g["codes"]), len(g["codes"]))]:
            if s - prev > 4 * min_gap:
                segments.append((chrom, prev + min_gap, s - min_gap))
            prev = max(prev, e)
    seg_len = np.array([e - s for _, s, e in segments], dtype=float)
    counts = np.floor(len(kinds) * seg_len / seg_len.sum()).astype(int)
    counts[: len(kinds) - counts.sum()] += 1
    rows, i = [], 0
    for (chrom, s, e), n in zip(segments, counts):
        ls = lengths[i:i + n]
        free = (e - s) - int(ls.sum()) - (n + 1) * min_gap
        if free < 0:
            raise ValueError(f"{chrom} has no room for {n} elements; raise bp_per_element")
        cuts = np.sort(rng.integers(0, free + 1, n))
        starts = s + min_gap + cuts + np.concatenate([[0], np.cumsum(ls[:-1] + min_gap)]).astype(int)
        for k, st, ln in zip(kinds[i:i + n], starts, ls):
            rows.append((chrom, int(st), int(st + ln), k))
        i += n
    el = pd.DataFrame(rows, columns=["chrom", "start", "end", "kind"])
    active = rng.random(len(el)) < active_fraction
    el["cls"] = np.where(active, rng.integers(0, n_total_classes, len(el)), -1)
    el["name"] = el["chrom"] + ":" + el["start"].astype(str) + "-" + el["end"].astype(str)
    el["centre2"] = el["start"] + el["end"]  # twice the centre, an exact integer
    return el


def _lengths(rng, n, median, lo, hi, window) -> np.ndarray:
    hi = min(hi, window)
    lo = min(lo, window // 2)
    return np.clip(np.round(rng.lognormal(np.log(median), 0.6, n)), lo, hi).astype(np.int64)


def _plant(rng, genome, elements, motifs, motif_copies, site_noise: float = 0.0,
           noise_rng=None) -> list[str]:
    """Plant motif copies into active elements; GC-rich backgrounds for promoters.

    With ``site_noise``, that fraction of each copy's bases (drawn from
    ``noise_rng``) is replaced by a uniform random base.

    Returns one ``sites`` string per element: ``start:strand`` of each copy
    (0-based chromosome coordinates, ``;``-separated), empty if inactive.
    """
    cum = {}
    sites = []
    for chrom, start, end, kind, cls in elements[["chrom", "start", "end", "kind", "cls"]].itertuples(
            index=False):
        codes = genome[chrom]["codes"]
        if kind == "promoter":  # CpG-island-like promoters, whatever their class
            codes[start:end] = _random_bases(rng, np.full(end - start, 0.6, dtype=np.float32))
        if cls < 0:
            sites.append("")
            continue
        motif = motifs[cls][0 if kind == "enhancer" else 1]
        key = (cls, kind)
        if key not in cum:
            cum[key] = np.cumsum(motif.pfm(), axis=1)
        width = motif.length
        n = int(rng.integers(motif_copies[0], motif_copies[1] + 1))
        n = min(n, (end - start) // width)
        free = (end - start) - n * width
        offsets = np.sort(rng.integers(0, free + 1, n)) + np.arange(n) * width
        draws = rng.random((n, width))
        seqs = (draws[:, :, None] > cum[key][None, :, :]).sum(axis=2).clip(0, 3).astype(np.uint8)
        strands = rng.random(n) < 0.5
        if site_noise:
            hit = noise_rng.random(seqs.shape) < site_noise
            seqs[hit] = noise_rng.integers(0, 4, int(hit.sum()), dtype=np.uint8)
        parts = []
        for off, seq, minus in zip(offsets, seqs, strands):
            if minus:
                seq = (3 - seq)[::-1]
            codes[start + off:start + off + width] = seq
            parts.append(f"{start + off}:{'-' if minus else '+'}")
        sites.append(";".join(parts))
    return sites


def _motif_id(motifs, cls, kind) -> str:
    return "" if cls < 0 else motifs[cls][0 if kind == "enhancer" else 1].matrix_id


def _write_fasta(path: Path, genome: dict, chunk_lines: int = 100_000) -> None:
    """Write ``genome`` as a FASTA with 60-base lines and its ``.fai`` index.

    Written ``chunk_lines`` lines at a time, so that the text never exists
    whole in memory (the demo genome is about 1.2 Gbp).
    """
    upper = np.frombuffer(b"ACGTN", dtype=np.uint8)
    lower = np.frombuffer(b"acgtN", dtype=np.uint8)
    fai, offset = [], 0
    step = chunk_lines * _LINE_WIDTH
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for chrom, g in genome.items():
            header = f">{chrom}\n".encode()
            fh.write(header)
            offset += len(header)
            codes, ends = g["codes"], g["mask_ends"]
            size = len(codes)
            for lo in range(0, size, step):
                hi = min(size, lo + step)
                masked = np.searchsorted(ends, np.arange(lo, hi), "right") % 2 == 1
                seq = np.where(masked, lower[codes[lo:hi]], upper[codes[lo:hi]])
                full = len(seq) // _LINE_WIDTH
                body = np.empty((full, _LINE_WIDTH + 1), dtype=np.uint8)
                body[:, :_LINE_WIDTH] = seq[: full * _LINE_WIDTH].reshape(full, _LINE_WIDTH)
                body[:, _LINE_WIDTH] = ord("\n")
                fh.write(body.data)
                rest = seq[full * _LINE_WIDTH:].tobytes()
                if rest:
                    fh.write(rest + b"\n")
            n_lines = -(-size // _LINE_WIDTH)
            fai.append(f"{chrom}\t{size}\t{offset}\t{_LINE_WIDTH}\t{_LINE_WIDTH + 1}\n")
            offset += size + n_lines
    with atomic_path(str(path) + ".fai") as tmp:
        tmp.write_text("".join(fai))


# --------------------------------------------------------------------------- checks

def _check_args(n_cell_lines, n_pairs, n_classes, n_shared_classes, n_chromosomes, enhancer_window,
                promoter_window, negatives_per_positive, positive_noise, negative_active_fraction,
                negative_compatible_fraction, element_active_fraction, motif_copies, bp_per_element,
                planted_motifs=PLANTED_MOTIFS):
    def need(ok, msg):
        if not ok:
            raise ValueError(msg)

    need(n_cell_lines >= 1, f"n_cell_lines must be at least 1, got {n_cell_lines}")
    need(2 <= n_classes, f"n_classes must be at least 2 (a grammar needs incompatible pairs), got {n_classes}")
    need(0 <= n_shared_classes <= n_classes,
         f"n_shared_classes must lie in 0..n_classes ({n_classes}), got {n_shared_classes}")
    total = n_shared_classes + n_cell_lines * (n_classes - n_shared_classes)
    need(total <= len(planted_motifs),
         f"{n_cell_lines} cell lines of {n_classes} classes ({n_shared_classes} shared) need {total} "
         f"classes; the demo has motifs for {len(planted_motifs)}")
    need(1 <= n_chromosomes <= len(_HG19_MB), f"n_chromosomes must lie in 1..{len(_HG19_MB)}, got {n_chromosomes}")
    need(negatives_per_positive >= 1, f"negatives_per_positive must be at least 1, got {negatives_per_positive}")
    need(n_pairs >= 2 * (1 + negatives_per_positive),
         f"n_pairs must be at least {2 * (1 + negatives_per_positive)} (two positives), got {n_pairs}")
    need(min(enhancer_window, promoter_window) >= 100,
         f"windows must be at least 100 bp, got {enhancer_window} and {promoter_window}")
    for name, v in [("positive_noise", positive_noise), ("negative_active_fraction", negative_active_fraction),
                    ("negative_compatible_fraction", negative_compatible_fraction),
                    ("element_active_fraction", element_active_fraction)]:
        need(0 <= v <= 1, f"{name} must lie in 0..1, got {v}")
    need(element_active_fraction < 1, "element_active_fraction must be below 1: negatives need inactive elements")
    need(len(motif_copies) == 2 and 1 <= motif_copies[0] <= motif_copies[1],
         f"motif_copies must be (least, most) with 1 <= least <= most, got {motif_copies}")
    need(bp_per_element >= 3 * max(enhancer_window, promoter_window),
         f"bp_per_element must be at least 3 windows ({3 * max(enhancer_window, promoter_window)}), "
         f"got {bp_per_element}")
