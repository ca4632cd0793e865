"""Cross-cell matrices on two tiny demo runs with small untrained models.

The models are random (built, not trained) so the fixture takes seconds; the
checks are exact: every cell of the SPEID matrix equals the metric of that
model scored pair by pair with ``evaluate.score_split`` (the scoring of
``speid evaluate``, so the diagonal is what it reports) on the other run's
test split.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.data.dataset import Dataset, PrepareConfig, prepare
from speidlib.evaluate.baselines import PropensityBaseline, fit_evaluate
from speidlib.evaluate.crosscell import (
    cross_cell_runs,
    matrix_path,
    propensity_cross_cell,
    read_matrix,
    run_cell_lines,
    speid_cross_cell,
    split_windows,
)
from speidlib.evaluate.metrics import aupr, auroc

WINDOW = 300


def _tiny_model(window, seed):
    from speidlib.model.build import build_model
    from speidlib.model.presets import get_config

    cfg = get_config("cpu").replace(n_kernels=8, kernel_size=6, pool_size=5, lstm_units=4, dense_units=6)
    return build_model(cfg, window, window, jaspar_init=False, seed=seed)


def _run(root, demo, cell, window, seed):
    from speidlib.train.stages import save_model

    run = root / f"run_{cell}_{window}"
    prepare(PrepareConfig(pairs=str(demo / f"pairs_{cell}.csv"), genome=str(demo / "genome.fa"),
                          enhancer_window=window, promoter_window=window, augment=0, seed=0),
            run, progress=False)
    save_model(_tiny_model(window, seed), run / schema.MODEL_FILE)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from speidlib.demo.synthetic import make_demo

    root = tmp_path_factory.mktemp("crosscell")
    make_demo(root / "demo", seed=0, n_cell_lines=2, n_pairs=600, enhancer_window=WINDOW,
              promoter_window=WINDOW)
    return {"root": root, "DEMO1": _run(root, root / "demo", "DEMO1", WINDOW, 1),
            "DEMO2": _run(root, root / "demo", "DEMO2", WINDOW, 2)}


@pytest.fixture(scope="module")
def written(runs):
    out = runs["root"] / "cross_cell"
    return out, cross_cell_runs([runs["DEMO1"], runs["DEMO2"]], out, progress=False)


def test_cells_are_named_by_their_pairs(runs):
    assert run_cell_lines([runs["DEMO2"], runs["DEMO1"]]) == {"DEMO2": runs["DEMO2"], "DEMO1": runs["DEMO1"]}
    assert list(run_cell_lines({"a": runs["DEMO1"], "b": runs["DEMO1"]})) == ["a", "b"]


def test_split_windows_are_the_evaluated_windows(runs):
    ds = Dataset(runs["DEMO1"])
    w = split_windows(ds)
    enh, prom, y = ds.arrays(schema.TEST, balanced=False)
    np.testing.assert_array_equal(w["enhancer_codes"][w["enhancer_index"]], enh)
    np.testing.assert_array_equal(w["promoter_codes"][w["promoter_index"]], prom)
    np.testing.assert_array_equal(w["label"], y)
    assert len(w["enhancer_codes"]) == len(np.unique(ds.enhancer_index[ds.split_index(schema.TEST)]))


def test_each_cell_is_that_model_on_that_test_split(runs, written):
    from speidlib.evaluate.heldout import score_split
    from speidlib.model.load import load_run_model as load_model

    _, result = written
    cells = ["DEMO1", "DEMO2"]
    for name in ("speid_auroc", "speid_aupr", "propensity_auroc", "propensity_aupr"):
        df = result[name]
        assert df.shape == (2, 2) and list(df.index) == cells and list(df.columns) == cells
        assert (df.index.name, df.columns.name) == ("train", "test")
        assert ((df.to_numpy() >= 0) & (df.to_numpy() <= 1)).all()
    for a in cells:
        model = load_model(runs[a])
        for b in cells:
            ds = Dataset(runs[b])
            y = ds.label[ds.split_index(schema.TEST)]
            s = score_split(model, ds, schema.TEST)
            assert s.std() > 0  # the random model ranks; the check is not vacuous
            assert result["speid_auroc"].loc[a, b] == pytest.approx(auroc(y, s), abs=1e-6)
            assert result["speid_aupr"].loc[a, b] == pytest.approx(aupr(y, s), abs=1e-6)


def test_propensity_uses_the_runs_splits(runs, written):
    _, result = written
    for cell in ("DEMO1", "DEMO2"):
        pairs = Dataset(runs[cell]).pairs
        m = fit_evaluate(PropensityBaseline(match="overlap"), pairs, pairs[schema.SPLIT].to_numpy())
        assert result["propensity_auroc"].loc[cell, cell] == pytest.approx(m["auroc"], abs=1e-12)
        assert result["propensity_aupr"].loc[cell, cell] == pytest.approx(m["aupr"], abs=1e-12)
    again = propensity_cross_cell({"DEMO1": runs["DEMO1"], "DEMO2": runs["DEMO2"]})
    pd.testing.assert_frame_equal(again["auroc"], result["propensity_auroc"])


def test_files_round_trip(runs, written):
    out, result = written
    for model in ("speid", "propensity"):
        for metric in ("auroc", "aupr"):
            assert matrix_path(out, model, metric).name == f"cross_cell_{model}_{metric}.csv"
            pd.testing.assert_frame_equal(read_matrix(out, model, metric), result[f"{model}_{metric}"],
                                          check_exact=False, atol=1e-12)
    long = pd.read_csv(out / schema.CROSS_CELL_LONG_FILE)
    assert list(long.columns) == ["model", "train", "test", "n_test", "n_positive_test", "auroc", "aupr"]
    assert len(long) == 8 and set(long["model"]) == {"speid", "propensity"}
    summary = json.loads((out / schema.CROSS_CELL_SUMMARY_FILE).read_text())
    for cell in ("DEMO1", "DEMO2"):
        ds = Dataset(runs[cell])
        y = ds.label[ds.split_index(schema.TEST)]
        row = long[(long["model"] == "speid") & (long["train"] == "DEMO1") & (long["test"] == cell)].iloc[0]
        assert (row["n_test"], row["n_positive_test"]) == (len(y), int(y.sum()))
        assert row["auroc"] == pytest.approx(result["speid_auroc"].loc["DEMO1", cell])
        assert summary["runs"][cell]["enhancer_window"] == WINDOW
        assert summary["runs"][cell]["n_test"] == len(y)
    assert not list(out.glob("*.tmp"))


def test_bad_inputs_are_named(runs, tmp_path):
    with pytest.raises(ValueError, match="at least two runs"):
        speid_cross_cell([runs["DEMO1"]])
    with pytest.raises(ValueError, match="not one path"):
        speid_cross_cell(str(runs["DEMO1"]))
    with pytest.raises(ValueError, match="both cell line 'DEMO1'"):
        run_cell_lines([runs["DEMO1"], runs["DEMO1"]])
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(ValueError, match=r"bare \(cell line x\) has no dataset.h5"):
        run_cell_lines({"DEMO1": runs["DEMO1"], "x": bare})
    other = _run(tmp_path, runs["root"] / "demo", "DEMO2", 200, 3)
    with pytest.raises(ValueError, match="reads 300/300 bp .* the other run holds 200/200 bp"):
        speid_cross_cell({"DEMO1": runs["DEMO1"], "other": other})
