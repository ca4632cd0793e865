"""Several cell lines at once: one run per cell line, prepared, trained and evaluated.

Notebook 04 calls these; the same steps run one job each on a cluster through
the ``speid`` command line.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from speidlib import schema
from speidlib.data.dataset import PrepareConfig, prepare
from speidlib.data.pairs import download_targetfinder, targetfinder_path
from speidlib.evaluate.heldout import run_evaluate
from speidlib.train.runtime import release_keras_state
from speidlib.train.stages import train_run


@dataclasses.dataclass(frozen=True)
class CellLineTraining:
    """How each cell line's run is trained (``train_run`` and ``run_evaluate`` options)."""

    preset: str = "cpu"
    pretrain_epochs: int | None = None
    retrain_epochs: int | None = None
    threads: int | None = 2
    n_bootstrap: int = 1000
    seed: int = 0


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


def train_cell_lines(sources: Mapping[str, str], genome, run_prefix: str, prepare_config: PrepareConfig,
                     training: CellLineTraining = CellLineTraining()) -> tuple[dict, pd.DataFrame]:
    """Prepare, train and evaluate one run ``<run_prefix>_<CELL>`` per cell line.

    Parameters
    ----------
    sources : cell line -> its pair table
    genome : the genome FASTA all runs read
    run_prefix : run directories are ``<run_prefix>_<CELL>``
    prepare_config : split, windows, augmentation and seed (its ``pairs`` and
        ``genome`` are replaced per cell line)
    training : preset, epochs, threads, bootstrap resamples

    Returns
    -------
    runs : cell line -> run directory
    metrics : one row per cell line, each run's own held-out metrics (``RUN/metrics.json``)
    """
    runs = {cell: Path(f"{run_prefix}_{cell}") for cell in sources}
    for cell, pairs_path in tqdm(sources.items(), desc="cell lines"):
        config = dataclasses.replace(prepare_config, pairs=str(pairs_path), genome=str(genome))
        prepare(config, runs[cell], progress=False, overwrite=True)
        train_run(runs[cell], preset=training.preset, pretrain_epochs=training.pretrain_epochs,
                  retrain_epochs=training.retrain_epochs, seed=training.seed,
                  threads=training.threads, progress=False)
        run_evaluate(runs[cell], n_bootstrap=training.n_bootstrap, seed=training.seed)
        release_keras_state()  # one cell line's TensorFlow state must not stay beside the next's
    metrics = pd.DataFrame({c: json.loads((r / schema.METRICS_FILE).read_text())
                            for c, r in runs.items()}).T
    return runs, metrics
