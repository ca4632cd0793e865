"""Shared fixtures: the real reference data and one tiny trained demo run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"reference data {SHARED_DATA} is not beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A complete run directory on a small demo: prepared, trained, evaluated, motifs.

    Built once per test session (about a minute on 2 cores); tests must not
    write into it.
    """
    from speidlib.dataset import PrepareConfig, prepare
    from speidlib.demo import make_demo
    from speidlib.evaluate import run_evaluate
    from speidlib.motifs import run_motifs
    from speidlib.train import train_run

    root = tmp_path_factory.mktemp("tiny_run")
    make_demo(root / "demo", seed=0, n_cell_lines=2, n_pairs=1500)
    run = root / "run"
    prepare(PrepareConfig(pairs=str(root / "demo" / "pairs_DEMO1.csv"),
                          genome=str(root / "demo" / "genome.fa"), enhancer_window=400,
                          promoter_window=400, augment=5, seed=0), run, progress=False)
    train_run(run, preset="cpu", pretrain_epochs=1, retrain_epochs=1, progress=False)
    run_evaluate(run, n_bootstrap=100)
    run_motifs(run, max_logos=5, progress=False)
    return run
