"""Several cell lines at once: one run per cell line, prepared, trained and evaluated.

Notebook 04 calls these; the same steps run one job each on a cluster through
the ``speid`` command line. Each cell line's steps run as ``speid`` commands in
processes of their own, so a kernel that trains several cell lines holds no
TensorFlow state from any of them (one cell line's training alone peaks at
1.3-1.8 GiB; in one process the kernel kept 0.3-0.4 GiB more after each).
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from speidlib.app.notebooks import reuse_trained_model
from speidlib.data.dataset import PrepareConfig
from speidlib.data.pairs import download_targetfinder, targetfinder_path
from speidlib.evaluate.heldout import EvaluateOptions
from speidlib.options import to_argv
from speidlib.run import Run
from speidlib.runtime import quiet_logs
from speidlib.train.options import TrainOptions

STDERR_LINES = 20  # the last lines of a failed step's stderr shown in the error
PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # the folder holding this speidlib


def find_targetfinder_tables(cells: Sequence[str], folders: Sequence, download_to=None) -> dict:
    """cell -> path of its TargetFinder ``ep`` table in the first folder that has it.

    With ``download_to`` a missing table is downloaded there; otherwise it maps to None.
    """
    found = {}
    for cell in cells:
        path = next((p for p in (targetfinder_path(cell, "ep", Path(d)) for d in folders
                                 if Path(d).is_dir()) if p), None)
        if path is None and download_to is not None:
            path = download_targetfinder(cell, "ep", download_to)
        found[cell] = path
    return found


def cell_line_commands(run_dir, prepare_config: PrepareConfig, training: TrainOptions,
                       evaluation: EvaluateOptions) -> dict:
    """The ``speid`` arguments of one cell line's three steps, generated from the steps' options
    (:func:`speidlib.options.to_argv`: what differs from each command's defaults).

    Returns
    -------
    dict ``"prepare"``, ``"train"``, ``"evaluate"`` -> list of arguments after ``speid``
    """
    run = str(run_dir)
    if prepare_config.extra:
        raise ValueError(f"PrepareConfig.extra ({sorted(prepare_config.extra)}) has no `speid prepare` "
                         "option; leave it empty for train_cell_lines")
    if training.resume:
        raise ValueError("train_cell_lines trains each cell line anew; resume=True has no place there")
    return {
        "prepare": ["prepare", "--run", run, *to_argv(prepare_config), "--overwrite", "--quiet"],
        "train": ["train", run, *to_argv(training), "--quiet"],
        "evaluate": ["evaluate", run, *to_argv(evaluation)],
    }


def run_speid(args: Sequence[str], cell: str) -> None:
    """Run ``speid ARGS`` in a new process of this Python; raise naming ``cell`` if it fails.

    The child imports the same ``speidlib`` as this process (its folder leads
    ``PYTHONPATH``). On failure the error names the cell line, the command and
    the last :data:`STDERR_LINES` lines of its standard error; exit status 2
    (the command's own check of its input) raises ``ValueError``, any other
    ``RuntimeError``.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")) if p))
    quiet_logs(env)
    proc = subprocess.run([sys.executable, "-m", "speidlib.app.cli", *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.rstrip().splitlines()[-STDERR_LINES:]) or "(no output on stderr)"
        error = ValueError if proc.returncode == 2 else RuntimeError
        how = (f"was killed by signal {-proc.returncode} (out of memory?)" if proc.returncode < 0
               else f"failed (exit status {proc.returncode})")
        raise error(f"cell line {cell}: `speid {' '.join(args)}` {how}; the last lines of its "
                    f"stderr:\n{tail}")


def train_cell_lines(sources: Mapping[str, str], genome, run_prefix: str, prepare_config: PrepareConfig,
                     training: TrainOptions = TrainOptions(), evaluation: EvaluateOptions = EvaluateOptions(),
                     reuse: Mapping[str, Path] | None = None) -> tuple[dict, pd.DataFrame]:
    """Prepare, train and evaluate one run ``<run_prefix>_<CELL>`` per cell line.

    Each step is a ``speid prepare|train|evaluate`` command in a process of its
    own (:func:`run_speid`), so this process's memory does not grow with the
    number of cell lines (and it need not import TensorFlow); a tqdm bar counts
    the cell lines, and one line per cell line names the device it trained on
    (``RUN/config.json``, ``train.device``).

    Parameters
    ----------
    sources : cell line -> its pair table
    genome : the genome FASTA all runs read
    run_prefix : run directories are ``<run_prefix>_<CELL>``
    prepare_config : split, windows, augmentation and seed (its ``pairs`` and
        ``genome`` are replaced per cell line)
    training : ``speid train``'s options (preset, epochs, threads, seed, ...)
    evaluation : ``speid evaluate``'s options (bootstrap resamples, seed)
    reuse : cell line -> a run whose trained model is copied instead of training,
        when it was trained on this cell line's dataset (the same content hash)
        with these options (:func:`speidlib.app.notebooks.reuse_trained_model`);
        otherwise the cell line trains, and a line says why

    Returns
    -------
    runs : cell line -> run directory
    metrics : one row per cell line, each run's own held-out metrics (``RUN/metrics.json``)
    """
    runs = {cell: Path(f"{run_prefix}_{cell}") for cell in sources}
    bar = tqdm(sources.items(), desc="cell lines", total=len(runs))
    for cell, pairs_path in bar:
        config = dataclasses.replace(prepare_config, pairs=str(pairs_path), genome=str(genome))
        for step, args in cell_line_commands(runs[cell], config, training, evaluation).items():
            if step == "train" and (reuse or {}).get(cell) is not None:
                why = reuse_trained_model(runs[cell], reuse[cell], training)
                if not why:
                    bar.write(f"{cell}: reused the model trained in {reuse[cell]} (same dataset and options)")
                    continue
                bar.write(f"{cell}: trains here: {why}")
            bar.set_postfix_str(f"{cell}: {step}")
            run_speid(args, cell)
        device = (Run(runs[cell]).train_record.device or {}).get("device", "?")
        bar.write(f"{cell}: trained on {device}, wrote {runs[cell]}")
    metrics = pd.DataFrame({c: Run(r).read_metrics(check=True) for c, r in runs.items()}).T
    return runs, metrics
