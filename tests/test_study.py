"""Notebook 04's cell-line loop: each cell line's prepare/train/evaluate as `speid` processes."""
from __future__ import annotations

import json

import pytest

from speidlib import schema
from speidlib.app.cli import build_parser
from speidlib.app.study import cell_line_commands, run_speid, train_cell_lines
from speidlib.data.dataset import PrepareConfig
from speidlib.evaluate.heldout import EvaluateOptions
from speidlib.model.presets import PRESETS
from speidlib.options import from_args
from speidlib.train.options import TrainOptions

WINDOW = 300


def test_commands_parse_back_to_the_same_options(tmp_path):
    config = PrepareConfig(pairs="p.csv", genome="g.fa", split="chromosome", test_chromosomes=["chr1"],
                           valid_chromosomes=["chr2", "chr3"], test_fraction=0.2, valid_fraction=0.15,
                           enhancer_window=700, promoter_window=500, augment=3, seed=5)
    training = TrainOptions(preset="paper", pretrain_epochs=2, retrain_epochs=None, threads=1, seed=7)
    evaluation = EvaluateOptions(n_bootstrap=50, seed=7)
    cmds = cell_line_commands(tmp_path / "run_X", config, training, evaluation)
    parser = build_parser()
    prep = parser.parse_args(cmds["prepare"])
    assert (prep.pairs, prep.genome, prep.run, prep.split) == ("p.csv", "g.fa", str(tmp_path / "run_X"),
                                                               "chromosome")
    assert prep.test_chromosomes == ["chr1"] and prep.valid_chromosomes == ["chr2", "chr3"]
    assert (prep.test_fraction, prep.valid_fraction, prep.enhancer_window, prep.promoter_window,
            prep.augment, prep.seed, prep.overwrite, prep.quiet) == (0.2, 0.15, 700, 500, 3, 5, True, True)
    train = parser.parse_args(cmds["train"])
    assert (train.preset, train.pretrain_epochs, train.retrain_epochs, train.threads, train.seed) == (
        "paper", 2, None, 1, 7)
    ev = parser.parse_args(cmds["evaluate"])
    assert (ev.run, ev.n_bootstrap, ev.seed) == (str(tmp_path / "run_X"), 50, 7)
    # the same dataclasses back
    assert from_args(PrepareConfig, prep) == config
    assert from_args(TrainOptions, train) == training
    assert from_args(EvaluateOptions, ev) == evaluation


def test_extra_prepare_options_are_refused(tmp_path):
    config = PrepareConfig(pairs="p.csv", genome="g.fa", extra={"note": 1})
    with pytest.raises(ValueError, match="extra"):
        cell_line_commands(tmp_path, config, TrainOptions(), EvaluateOptions())


def test_a_failing_step_names_the_cell_line_and_shows_its_stderr(tmp_path):
    missing = tmp_path / "no_such_pairs.csv"
    config = PrepareConfig(pairs="", genome="")
    with pytest.raises(ValueError) as err:
        train_cell_lines({"HeLa": missing}, tmp_path / "genome.fa", str(tmp_path / "run"), config)
    text = str(err.value)
    assert "cell line HeLa" in text and "speid prepare" in text and "exit status 2" in text
    assert "speid prepare: error:" in text and "no_such_pairs.csv" in text  # the child's own message
    assert not (tmp_path / "run_HeLa" / schema.MODEL_FILE).exists()


def test_a_refused_command_line_is_a_value_error_with_its_usage_message():
    with pytest.raises(ValueError, match=r"cell line K562: `speid train") as err:
        run_speid(["train", "somewhere", "--preset", "huge"], "K562")
    assert "invalid choice: 'huge'" in str(err.value)


@pytest.mark.slow
def test_train_cell_lines_trains_each_cell_line_in_its_own_process(tmp_path):
    from speidlib.data.dataset import Dataset
    from speidlib.demo.synthetic import make_demo

    make_demo(tmp_path / "demo", seed=0, n_cell_lines=2, n_pairs=600, enhancer_window=WINDOW,
              promoter_window=WINDOW)
    demo = tmp_path / "demo"
    sources = {c: demo / f"pairs_{c}.csv" for c in ("DEMO1", "DEMO2")}
    config = PrepareConfig(pairs="", genome="", enhancer_window=WINDOW, promoter_window=WINDOW, augment=1)
    runs, metrics = train_cell_lines(sources, demo / "genome.fa", str(tmp_path / "run"), config,
                                     TrainOptions(pretrain_epochs=1, retrain_epochs=1, threads=1),
                                     EvaluateOptions(n_bootstrap=10))
    assert runs == {c: tmp_path / f"run_{c}" for c in sources}
    assert list(metrics.index) == list(sources)
    for cell, run in runs.items():
        assert (run / schema.MODEL_FILE).exists()
        ds = Dataset(run)
        assert ds.enhancer_window == WINDOW and set(ds.pairs[schema.CELL_LINE]) == {cell}
        own = json.loads((run / schema.METRICS_FILE).read_text())
        assert metrics.loc[cell, "auroc"] == own["auroc"] and metrics.loc[cell, "n_test"] == own["n_test"]


def test_a_cell_line_reuses_a_model_trained_on_its_dataset_with_the_same_options(tmp_path, monkeypatch):
    """Notebook 04 on the demo: a committed model of the same dataset and options is copied,
    not trained again; a cell line whose dataset differs trains."""
    import speidlib.app.study as study

    train = {"status": "done", "dataset_sha256": "abc", "seed": 0, "random_init": True,
             "pretrain_epochs": 12, "retrain_epochs": 6, "preset": PRESETS["cpu"].to_dict()}
    source = tmp_path / "example"
    source.mkdir()
    (source / schema.CONFIG_FILE).write_text(json.dumps({"prepare": {"dataset_sha256": "abc"}, "train": train}))
    (source / schema.MODEL_FILE).write_bytes(b"committed weights")
    (source / schema.HISTORY_FILE).write_text("stage,epoch\npretrain,1\n")
    calls = []

    def fake_speid(args, cell):  # each step leaves what the real one would leave for the next
        step, run = args[0], tmp_path / f"run_{cell}"
        calls.append((cell, step))
        if step == "prepare":
            run.mkdir()
            sha = "abc" if cell == "A" else "xyz"
            (run / schema.CONFIG_FILE).write_text(json.dumps({"prepare": {"dataset_sha256": sha}}))
        elif step == "train":
            (run / schema.MODEL_FILE).write_bytes(b"trained here")
        else:
            (run / schema.METRICS_FILE).write_text(json.dumps({"auroc": 0.9}))

    monkeypatch.setattr(study, "run_speid", fake_speid)
    training, evaluation = TrainOptions(random_init=True), EvaluateOptions(n_bootstrap=10)
    assert build_parser().parse_args(cell_line_commands(tmp_path / "r", PrepareConfig(pairs="p", genome="g"),
                                                        training, evaluation)["train"]).random_init
    runs, _ = train_cell_lines({"A": "a.csv", "B": "b.csv"}, "g.fa", str(tmp_path / "run"),
                               PrepareConfig(pairs="", genome=""), training, evaluation,
                               reuse={"A": source, "B": source})
    assert calls == [("A", "prepare"), ("A", "evaluate"), ("B", "prepare"), ("B", "train"), ("B", "evaluate")]
    assert (runs["A"] / schema.MODEL_FILE).read_bytes() == b"committed weights"
    assert (runs["B"] / schema.MODEL_FILE).read_bytes() == b"trained here"
    assert json.loads((runs["A"] / schema.CONFIG_FILE).read_text())["train"]["reused_from"] == str(source)
