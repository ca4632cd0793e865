"""``speid score``: a pair file scored with a run's model, chromosome by chromosome.

Pairs come from ``speid candidates`` (every promoter near each enhancer) or any
pair table; each distinct element runs through its branch, and its part of the
BiLSTM input projection is computed, once
(:func:`speidlib.score.pairs.make_scorer`: the projection cache); per pair only the
recurrence and the head run. The output (CSV, BEDPE, UCSC interact or an
ABC-style table, :mod:`speidlib.score.formats`) carries each pair's score and
its rank among the enhancer's and the promoter's candidates.
:func:`element_windows` reads the default windows of a whole pair table.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from speidlib.argtypes import positive_int
from speidlib.data import regions
from speidlib.data.genome import Genome
from speidlib.data.pairs import element_index
from speidlib.io import STDOUT, check_outputs
from speidlib.model.load import snapshot_run_model
from speidlib.options import option, threads_option
from speidlib.run import Run, ScoreRecord
from speidlib.runtime import keeps_process_state, set_threads
from speidlib.score.formats import LinkWriter, format_from_path
from speidlib.score.genome_wide import chromosome_windows, iter_chromosomes
from speidlib.score.pairs import make_scorer


def element_windows(pairs: pd.DataFrame, genome, enhancer_window: int, promoter_window: int,
                    seed: int = 0, progress: bool = False):
    """Default windows of the distinct elements of a pair table.

    Returns
    -------
    codes : dict branch -> int8 array, shape=(n_elements, W)
    index : dict branch -> shape=(n_pairs,), each pair's element
    """
    codes, index = {}, {}
    for branch, w in (("enhancer", enhancer_window), ("promoter", promoter_window)):
        table, index[branch] = element_index(pairs, branch)
        start = regions.span_starts(table.start, table.end, w) + \
            regions.default_offsets(table.start, table.end, w, seed, table.chrom.to_numpy())
        codes[branch] = genome.fetch_many(table.chrom.to_numpy(), start, w, progress=progress,
                                          desc=f"reading {branch} windows")
    return codes, index


#: the file extension of each output format (the ABC-style table is a ``.tsv``)
FORMAT_EXTENSIONS = {"csv": ".csv", "bedpe": ".bedpe", "interact": ".interact", "abc": ".tsv"}


@dataclass(frozen=True)
class ScoreOptions:
    """The options of ``speid score`` besides the run (:mod:`speidlib.options`)."""

    pairs: str = option(help="candidate BEDPE from `speid candidates`, or a pair table (TargetFinder CSV or "
                        "labelled BEDPE, plain or gzip)")
    genome: str = option(help="genome FASTA")
    out: str | None = option(None, help="output file, or - for the standard output (default: "
                             "RUN/genome_wide/<pairs file stem>.<ext>, where the links dashboard finds it)")
    format: str | None = option(None, choices=FORMAT_EXTENSIONS,
                                help="output format (default: from the extension of --out: .csv, .bedpe, "
                                ".interact, .tsv; interact without --out, csv for --out -)")
    cell_type: str | None = option(None, help="CellType column of the abc format (default: the run's cell line)")
    cache: bool = option(True, flag="--no-cache", help="run every pair through the whole model (slow; for "
                         "comparison)")
    batch_size: int = option(256, type=positive_int, help="examples per forward pass (default %(default)s)")
    threads: int | None = threads_option("CPU threads for TensorFlow and the recurrences (default: the CPUs this "
                                         "process may use; give the cores a scheduler allotted)")


def default_links_path(run_dir, pairs_path, fmt: str | None = None) -> Path:
    """Where ``speid score`` writes without ``--out``: ``RUN/genome_wide/<pairs stem>.<ext>``.

    The stem is the pair file's name without its extensions (``candidates.bedpe.gz``
    gives ``candidates``); ``fmt`` (default ``interact``) picks the extension.
    The links dashboard lists the files of ``RUN/genome_wide/``.
    """
    fmt = format_from_path("", fmt or "interact")
    stem = Path(pairs_path).name.split(".")[0] or "links"
    return Run(run_dir).link_file(f"{stem}{FORMAT_EXTENSIONS[fmt]}")


@keeps_process_state()
def run_score(run_dir, pairs_path, genome_path, out_path=None, fmt: str | None = None, cache: bool = True,
              batch_size: int = ScoreOptions.batch_size, cell_type: str | None = None, progress: bool = True,
              threads: int | None = None) -> dict:
    """``speid score``: score a pair file with a run's model, chromosome by chromosome.

    Parameters
    ----------
    run_dir : run directory with ``model.keras``
    pairs_path : candidate BEDPE of ``speid candidates``, or a pair table
        (TargetFinder CSV, labelled BEDPE)
    genome_path : genome FASTA
    out_path : output file, written atomically (a link is written through, anything but a
        regular file refused: :func:`speidlib.io.output_target`); ``-``: the standard output;
        None: :func:`default_links_path` (``RUN/genome_wide/<pairs stem>.<ext>``, where the
        links dashboard finds it)
    fmt : ``csv``, ``bedpe``, ``interact`` or ``abc``
        (:mod:`speidlib.score.formats`); None takes it from the extension (``csv`` for ``-``)
    cache : True scores through :class:`~speidlib.score.projection.ProjectionCachedScorer`
        (each element's branch and input projection once); False runs every pair
        through the whole model (:class:`~speidlib.score.pairs.NaiveScorer`, batches
        sized by memory)
    cell_type : the ABC table's ``CellType`` (default: the run's cell line, else ".")
    threads : CPU threads for TensorFlow and the cached path's numpy recurrences
        (None: TensorFlow's default and :func:`speidlib.score.recurrence.default_threads`);
        set it to the cores a scheduler gave the job

    The model is read from a snapshot (:func:`speidlib.model.load.snapshot_run_model`;
    refused while ``train`` holds the run): it cannot change while the pairs are
    scored, and a later ``train`` makes the output stale. An output inside the run
    is entered in its manifest with the model's hash, and the ``score`` record of
    ``config.json`` names it.

    Returns
    -------
    dict: ``n_pairs``, ``n_chromosomes``, ``n_enhancers``, ``n_promoters``,
    ``format``, ``out``, ``model_sha256`` and ``seconds``
    """
    import time

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    run = Run(run_dir)
    out_path = Path(out_path) if out_path is not None else default_links_path(run, pairs_path, fmt)
    check_outputs({"--out": out_path}, {"--pairs": pairs_path, "--genome": genome_path}, overwrite=True)
    run.check_output_path(out_path, {"--pairs": pairs_path, "--genome": genome_path})
    fmt = format_from_path(out_path, fmt)
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    set_threads(threads)
    prep = run.prepare_record
    model, model_sha256 = snapshot_run_model(run)  # a checked copy: train cannot change it under us
    we = int(model.inputs[0].shape[1])
    wp = int(model.inputs[1].shape[1])
    scorer = make_scorer(model, cache=cache, batch_size=batch_size, threads=threads)
    if cell_type is None:
        cell_type = str(prep.cell_line or ".")
    summary = {"n_pairs": 0, "n_chromosomes": 0, "n_enhancers": 0, "n_promoters": 0}
    with Genome(genome_path) as genome, LinkWriter(out_path, fmt, cell_type=cell_type) as writer:
        for cp in tqdm(iter_chromosomes(pairs_path), desc="chromosomes", unit="chrom",
                       disable=not progress):
            cp.check_within(genome, Path(pairs_path).name)  # as prepare checks a pair table
            enh, prom = chromosome_windows(cp, genome, we, wp, seed=prep.seed)
            scores = scorer.score(enh, prom, cp.enhancer_index, cp.promoter_index, progress=progress)
            writer.write(cp.links(scores))
            summary["n_pairs"] += len(cp)
            summary["n_chromosomes"] += 1
            summary["n_enhancers"] += len(cp.enhancers)
            summary["n_promoters"] += len(cp.promoters)
    if summary["n_pairs"] == 0:
        raise ValueError(f"{pairs_path} holds no pairs to score")
    seconds = time.perf_counter() - t0
    if str(out_path) != STDOUT and run.inside(out_path):
        run.register("score", [out_path], model_sha256)
        run.write_record(ScoreRecord(pairs=str(Path(pairs_path).resolve()),
                                     genome=str(Path(genome_path).resolve()), out=str(out_path),
                                     format=fmt, cache=cache, n_pairs=summary["n_pairs"],
                                     model_sha256=model_sha256, seconds=round(seconds, 1)))
    return {**summary, "format": fmt, "out": str(out_path), "model_sha256": model_sha256,
            "seconds": seconds}
