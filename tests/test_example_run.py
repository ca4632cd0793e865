"""The committed example run and what a fresh clone needs: example runs listed beside the
runs root, notebook 02 reusing the example's model, the TargetFinder network check, a quiet
TensorFlow import, the README's Binder links and the licence."""
from __future__ import annotations

import http.server
import io
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from speidlib import schema
from speidlib.app.dashboards import PredictionsModel
from speidlib.app.dashboards.runs import list_all_runs, resolve_run
from speidlib.app.notebooks import (
    EXAMPLE_RUN,
    notebook_parameters,
    reuse_example_motifs,
    reuse_trained_model,
)
from speidlib.data.pairs import targetfinder_download
from speidlib.io import sha256
from speidlib.model.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / EXAMPLE_RUN


def _predictions(n_pos=2, n_neg=3) -> pd.DataFrame:
    rows = [{"enhancer_name": f"C|chr1:{1000 * i}-{1000 * i + 200}",
             "promoter_name": f"C|chr1:{1000 * i + 5000}-{1000 * i + 5400}", "cell_line": "C",
             "chrom": "chr1", "enhancer_start": 1000 * i, "enhancer_end": 1000 * i + 200,
             "promoter_start": 1000 * i + 5000, "promoter_end": 1000 * i + 5400, "distance": 5100,
             "label": int(i < n_pos), "score": 0.9 - 0.1 * i, "split": "test", "split_method": "random"}
            for i in range(n_pos + n_neg)]
    return pd.DataFrame(rows)


# --- example runs in the dashboards -------------------------------------------------

def test_an_empty_runs_root_opens_the_example_run(tmp_path, monkeypatch):
    examples, root = tmp_path / "examples", tmp_path / "runs"
    (examples / "demo").mkdir(parents=True)
    root.mkdir()
    _predictions().to_csv(examples / "demo" / schema.PREDICTIONS_FILE, index=False)
    monkeypatch.setenv(schema.EXAMPLE_RUNS_ENV, str(examples))
    model = PredictionsModel(root)
    assert model.runs == ("example:demo",)
    assert model.run == "example:demo" and model.error == ""
    assert model.run_dir == str(examples / "demo") and len(model.selection) == 5
    # a run of the root comes first, the example stays listed after it
    (root / "mine").mkdir()
    _predictions(1, 1).to_csv(root / "mine" / schema.PREDICTIONS_FILE, index=False)
    model = PredictionsModel(root)
    assert model.runs == ("mine", "example:demo") and model.run == "mine"
    model.run = "example:../runs/mine"
    assert "is outside the runs root" in model.error


def test_example_runs_are_not_listed_twice_or_when_switched_off(tmp_path, monkeypatch):
    (tmp_path / "examples" / "demo").mkdir(parents=True)
    (tmp_path / "examples" / "demo" / schema.CONFIG_FILE).write_text("{}")
    assert list_all_runs(tmp_path, tmp_path / "examples") == ["examples/demo"]
    monkeypatch.setenv(schema.EXAMPLE_RUNS_ENV, "")
    assert list_all_runs(tmp_path / "examples") == ["demo"]
    with pytest.raises(ValueError, match="no folder of example runs"):
        resolve_run(tmp_path, "example:demo")


# --- notebook 02 reusing a trained model -------------------------------------------------

def _run(folder: Path, config: dict, model: bytes | None = None) -> Path:
    folder.mkdir()
    (folder / schema.CONFIG_FILE).write_text(json.dumps(config))
    if model is not None:
        (folder / schema.MODEL_FILE).write_bytes(model)
        (folder / schema.HISTORY_FILE).write_text("stage,epoch\npretrain,1\n")
    return folder


def test_reuse_trained_model_copies_only_a_model_of_the_same_dataset_and_options(tmp_path):
    train = {"status": "done", "dataset_sha256": "abc", "seed": 0, "random_init": True,
             "pretrain_epochs": 12, "retrain_epochs": 6, "model_sha256": "m",
             "preset": PRESETS["cpu"].to_dict()}
    source = _run(tmp_path / "example", {"prepare": {"dataset_sha256": "abc"}, "train": train}, b"weights")
    same = _run(tmp_path / "same", {"prepare": {"dataset_sha256": "abc"}})
    other = _run(tmp_path / "other", {"prepare": {"dataset_sha256": "xyz"}})
    options = dict(preset="cpu", seed=0, random_init=True, pretrain_epochs=None, retrain_epochs=None)

    assert reuse_trained_model(other, source, **options) == \
        f"{source / schema.MODEL_FILE} was made from another dataset (dataset 'abc', now 'xyz')"
    assert not (other / schema.MODEL_FILE).exists()
    assert reuse_trained_model(same, source, **{**options, "seed": 1}) == \
        f"{source / schema.MODEL_FILE} was made with other parameters (seed=0, now 1)"
    assert reuse_trained_model(same, source, **{**options, "pretrain_epochs": 2}) == \
        f"{source / schema.MODEL_FILE} was made with other parameters (pretrain_epochs=12, now 2)"
    assert reuse_trained_model(same, source, **options) == ""
    assert (same / schema.MODEL_FILE).read_bytes() == b"weights"
    assert (same / schema.HISTORY_FILE).exists()
    config = json.loads((same / schema.CONFIG_FILE).read_text())
    assert config["prepare"] == {"dataset_sha256": "abc"}
    assert config["train"] == {**train, "reused_from": str(source)}


def test_reuse_example_motifs_copies_only_motifs_of_the_same_model_dataset_and_parameters(tmp_path):
    from speidlib.interpret.report import MotifsConfig

    config = MotifsConfig(max_logos=12)
    source = _run(tmp_path / "example", {"prepare": {"dataset_sha256": "abc"}, "motifs": config.record()},
                  b"weights")
    (source / schema.MOTIFS_DIR).mkdir()
    (source / schema.MOTIFS_DIR / schema.MOTIF_SUMMARY_FILE).write_text("{}")
    (source / schema.MOTIFS_DIR / schema.MOTIF_MATCHES_FILE).write_text("kernel\n1\n")
    same = _run(tmp_path / "same", {"prepare": {"dataset_sha256": "abc"}}, b"weights")
    (same / schema.MOTIFS_DIR).mkdir()
    (same / schema.MOTIFS_DIR / "old.csv").write_text("stale")
    retrained = _run(tmp_path / "retrained", {"prepare": {"dataset_sha256": "abc"}}, b"other weights")
    other = _run(tmp_path / "other", {"prepare": {"dataset_sha256": "xyz"}}, b"weights")

    assert reuse_example_motifs(retrained, source, config).startswith(
        f"{source / schema.MOTIFS_DIR} was made from another model (model ")
    assert reuse_example_motifs(other, source, config) == \
        f"{source / schema.MOTIFS_DIR} was made from another dataset (dataset 'abc', now 'xyz')"
    assert reuse_example_motifs(same, source, MotifsConfig(max_logos=24, null_draws=2)) == \
        f"{source / schema.MOTIFS_DIR} was made with other parameters (max_logos=12, now 24, null_draws=4, now 2)"
    assert not (other / schema.MOTIFS_DIR).exists() and (same / schema.MOTIFS_DIR / "old.csv").exists()
    assert reuse_example_motifs(same, source, config) == ""
    assert sorted(p.name for p in (same / schema.MOTIFS_DIR).iterdir()) == \
        sorted([schema.MOTIF_SUMMARY_FILE, schema.MOTIF_MATCHES_FILE])
    recorded = json.loads((same / schema.CONFIG_FILE).read_text())["motifs"]
    assert recorded == {**config.record(), "reused_from": str(source), "model_sha256": sha256(same / schema.MODEL_FILE)}


# --- the committed example ----------------------------------------------------------------

needs_example = pytest.mark.skipif(not (EXAMPLE / "example.json").exists(),
                                   reason=f"{EXAMPLE_RUN} not built (scripts/make_example_run.py)")


@needs_example
def test_committed_example_is_small_complete_and_as_recorded():
    record = json.loads((EXAMPLE / "example.json").read_text())
    assert sum((EXAMPLE / f).stat().st_size for f in record["files"]) < 6e6
    for name, digest in record["files"].items():
        assert sha256(EXAMPLE / name)[:16] == digest, name
    for name in (schema.MODEL_FILE, schema.PREDICTIONS_FILE, schema.METRICS_FILE,
                 f"{schema.MOTIFS_DIR}/{schema.MOTIF_MATCHES_FILE}",
                 f"{schema.MOTIFS_DIR}/{schema.MOTIF_ACTIVATIONS_FILE}"):
        assert name in record["files"], name
    assert any(f.startswith(f"{schema.MOTIFS_DIR}/{schema.MOTIF_LOGOS_DIR}/") for f in record["files"])
    config = json.loads((EXAMPLE / schema.CONFIG_FILE).read_text())
    assert config["train"]["status"] == "done"
    assert config["train"]["model_sha256"] == sha256(EXAMPLE / schema.MODEL_FILE)


@needs_example
def test_example_was_made_with_the_inputs_of_notebooks_01_and_02():
    """Else notebook 02 cannot reuse its model and make demo trains again."""
    inputs = json.loads((EXAMPLE / "example.json").read_text())["inputs"]
    nb1, nb2 = notebook_parameters("01_data_prep"), notebook_parameters("02_training")
    assert (int(nb1["seed"]), int(nb1["n_cell_lines"]), int(nb1["n_pairs"]), nb1["cell_line"].strip("\"'")) \
        == (inputs["demo"]["seed"], inputs["demo"]["cell_lines"], inputs["demo"]["pairs_per_cell"],
            inputs["demo"]["cell_line"])
    assert (int(nb1["enhancer_window"]), int(nb1["promoter_window"]), nb1["split"].strip("\"'")) \
        == (inputs["prepare"]["enhancer_window"], inputs["prepare"]["promoter_window"],
            inputs["prepare"]["split"])
    assert (nb2["preset"].strip("\"'"), nb2["random_init"], int(nb2["seed"]), nb2["pretrain_epochs"]) \
        == (inputs["train"]["preset"], str(inputs["train"]["random_init"]), inputs["train"]["seed"], "None")


# --- TargetFinder tables by default when the network answers ---------------------------------

class _Head(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_targetfinder_download_asks_the_network_only_when_not_told(capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Head)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = f"http://127.0.0.1:{server.server_port}/{{cell}}/{{feature_set}}.csv"
        assert targetfinder_download(None, url=up) is True
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().out == ""
    down = "http://127.0.0.1:9/{cell}/{feature_set}.csv"     # the discard port: refused
    assert targetfinder_download(None, url=down, timeout=1) is False
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("offline (127.0.0.1:9 did not answer in 1 s")
    assert targetfinder_download(True, url=down) is True and targetfinder_download(False) is False
    assert capsys.readouterr().out == ""


# --- TensorFlow's start-up lines --------------------------------------------------------

def test_tensorflow_imports_without_start_up_lines():
    code = ("import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
            "from speidlib.runtime import import_tensorflow_quietly, gpu_line\n"
            "import_tensorflow_quietly()\n"
            "import tensorflow as tf\n"
            "print(len(tf.config.list_physical_devices('GPU')), gpu_line())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    n_gpus = int(done.stdout.split()[0])
    assert done.stderr == ""
    if n_gpus == 0:
        assert done.stdout.strip() == "0 None"
    else:
        assert f"TensorFlow sees {n_gpus} GPU(s): " in done.stdout


# --- Binder links and licences -----------------------------------------------------------

def test_readme_binder_links_open_files_of_the_repository():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"https://mybinder\.org/v2/gh/([^/\s]+)/([^/\s]+)/HEAD\?urlpath=([^\s)`]+)", readme)
    assert len(links) >= 3
    for _, _, urlpath in links:
        kind, _, path = urlpath.partition("/")
        assert kind in ("lab", "voila"), urlpath
        prefix = {"lab": "tree/", "voila": "render/"}[kind]
        assert path.startswith(prefix), urlpath
        assert (ROOT / path[len(prefix):]).is_file(), urlpath


def test_licence_file_matches_pyproject_and_readme_names_the_data_licences():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert declared == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    readme = (ROOT / "README.md").read_text()
    assert "TargetFinder" in readme and "GPL-3.0" in readme and "MIT" in readme


# --- no machine's path in the example's records ----------------------------------------------

def _make_example_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example_run", ROOT / "scripts" / "make_example_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _strings(value):
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@needs_example
def test_committed_example_records_no_absolute_path():
    for name in ("example.json", schema.CONFIG_FILE):
        absolute = [s for s in _strings(json.loads((EXAMPLE / name).read_text()))
                    if s.startswith(("/", "~")) or re.match(r"[A-Za-z]:\\", s)]
        assert not absolute, f"{name}: {absolute}"
    config = json.loads((EXAMPLE / schema.CONFIG_FILE).read_text())
    demo = json.loads((EXAMPLE / "example.json").read_text())["inputs"]["demo"]
    assert config["prepare"]["pairs"] == f"demo/pairs_{demo['cell_line']}.csv"
    assert config["prepare"]["genome"] == "demo/genome.fa"


def test_example_commands_are_relative_to_the_build_folder(tmp_path):
    script = _make_example_module()
    (tmp_path / "run").mkdir()
    run, commands, seconds = script.build(tmp_path, only=())  # every step recorded, none run
    assert run == tmp_path / "run" and set(seconds.values()) == {None}
    assert [c[1] for c in commands] == list(script.STEPS)
    args = [a for c in commands for a in c]
    assert not [a for a in args if str(tmp_path) in a or a.startswith("/")], args
    prepare = commands[1]
    assert prepare[prepare.index("--pairs") + 1] == "demo/pairs_DEMO1.csv"
    assert prepare[prepare.index("--run") + 1] == "run"


def test_relative_records_resolve_from_a_checkout_with_the_demo(tmp_path):
    """config.json's scratch paths become relative; config_path finds them from the checkout
    where notebook 01 wrote demo/ (the predictions dashboard's planted motifs), paths outside
    the scratch folder stay as they were."""
    from speidlib.run import Run

    script = _make_example_module()
    work = tmp_path / "scratch"
    example = tmp_path / "checkout" / "examples" / "demo_cpu"
    example.mkdir(parents=True)
    (example / schema.CONFIG_FILE).write_text(json.dumps({
        "prepare": {"pairs": str(work / "demo" / "pairs_DEMO1.csv"), "genome": str(work / "demo" / "genome.fa"),
                    "seed": 0},
        "train": {"reused_from": "/elsewhere/run", "list": [str(work / "run" / "x.csv")]}}))
    config = script.relative_records(example / schema.CONFIG_FILE, work)
    assert config == json.loads((example / schema.CONFIG_FILE).read_text())
    assert config["prepare"] == {"pairs": "demo/pairs_DEMO1.csv", "genome": "demo/genome.fa", "seed": 0}
    assert config["train"] == {"reused_from": "/elsewhere/run", "list": ["run/x.csv"]}
    demo = tmp_path / "checkout" / "demo"
    demo.mkdir()
    (demo / "pairs_DEMO1.csv").write_text("enhancer_name,promoter_name,label\n")
    assert Run(example).recorded_path("prepare", "pairs") == demo.resolve() / "pairs_DEMO1.csv"


@needs_example
def test_example_motif_summary_is_what_the_current_rule_gives_its_matches():
    """The example's ``tf_summary.csv`` (which notebook 05 and the motifs dashboard show) must
    follow from its committed Tomtom matches and null matches by today's ``tf_summary``:
    a change of the learned-TF rule without ``make_example_run.py`` fails here."""
    from speidlib.interpret.matching import tf_summary

    motifs = EXAMPLE / schema.MOTIFS_DIR
    record = json.loads((motifs / schema.MOTIF_SUMMARY_FILE).read_text())
    p = record["parameters"]
    n = record["n_kernels"]
    expected = tf_summary(pd.read_csv(motifs / schema.MOTIF_MATCHES_FILE), p["max_evalue"], p["min_kernels"],
                          pd.read_csv(motifs / schema.MOTIF_NULL_MATCHES_FILE), n,
                          {b: k * p["null_draws"] for b, k in n.items()}, p["null_draws"], p["alpha"])
    committed = pd.read_csv(motifs / schema.MOTIF_TF_SUMMARY_FILE)
    assert list(committed.columns) == schema.TF_SUMMARY_COLUMNS
    expected = pd.read_csv(io.StringIO(expected.to_csv(index=False)))  # as the CSV reads back
    pd.testing.assert_frame_equal(committed, expected, check_exact=False)


def test_cell_line_models_are_made_with_the_inputs_of_notebooks_01_and_04():
    """Else notebook 04 cannot reuse the committed cell-line models and trains them again."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cells", ROOT / "scripts" / "make_cell_line_models.py")
    cells = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cells)
    nb1, nb4 = notebook_parameters("01_data_prep"), notebook_parameters("04_cross_cell")
    assert (int(nb1["seed"]), int(nb1["n_cell_lines"]), int(nb1["n_pairs"])) == \
        (cells.DEMO["seed"], cells.DEMO["cell_lines"], cells.DEMO["pairs_per_cell"])
    assert {k: nb4[k].strip("\"'") for k in ("split", "seed", "enhancer_window", "promoter_window")} == \
        {k: str(v) for k, v in cells.PREPARE.items()}
    assert {k: nb4[k].strip("\"'") for k in ("preset", "pretrain_epochs", "retrain_epochs", "random_init",
                                             "n_bootstrap", "seed")} == {k: str(v) for k, v in cells.TRAIN.items()}
    assert nb4["augment"] == "None" and nb4["reuse_example"] == "True"
    for cell in ("DEMO2", "DEMO3"):
        record = json.loads((cells.OUT / cell / "cell_line.json").read_text())
        assert record["inputs"]["train"] == cells.TRAIN
        for name, digest in record["files"].items():
            assert sha256(cells.OUT / cell / name)[:16] == digest, (cell, name)
