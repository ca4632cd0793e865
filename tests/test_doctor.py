"""`speid --version` in every run's records and `speid doctor` (the GPU rows on a faked device list)."""
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.app import doctor
from speidlib.app.cli import main
from speidlib.model.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
H100 = {"name": "/physical_device:GPU:0", "device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}
P100 = {"name": "/physical_device:GPU:1", "device_name": "Tesla P100", "compute_capability": (6, 0)}


# --- the version -------------------------------------------------------------------------------

def test_speid_version_prints_the_package_metadata_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"speid {version('speidlib')}"


def test_every_step_record_carries_the_workbench_version(tmp_path):
    from speidlib.rundir import read_config, write_config

    write_config(tmp_path, "prepare", {"seed": 0})
    write_config(tmp_path, "train", {"preset": "cpu"})
    assert read_config(tmp_path)["versions"]["speidlib"] == version("speidlib")


def test_help_and_the_doctor_parser_do_not_load_tensorflow():
    code = ("import sys\nfrom speidlib.app.cli import build_parser\n"
            "p = build_parser(); p.format_help(); p.parse_args(['doctor', '--preset', 'paper'])\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split() == ["False", "False"], done.stderr


# --- devices (faked) ---------------------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_cudnn_verdict_agrees_with_keras_on_the_built_layers(preset):
    from keras.src.backend.tensorflow.rnn import _do_lstm_arguments_support_cudnn as supports

    from speidlib.model.build import build_model

    bilstm = build_model(preset, 200, 200, jaspar_init=False).get_layer(schema.FEATURES_LAYER)
    cell = bilstm.forward_layer.cell
    keras_says = supports(cell.activation, cell.recurrent_activation, False, True)
    assert doctor.cudnn_eligible(PRESETS[preset])[0] == keras_says
    row = {r.name: r for r in doctor.device_checks(PRESETS[preset], [H100])}["cuDNN LSTM"]
    assert row.status == (doctor.OK if keras_says else doctor.WARN)
    assert row.detail.startswith("yes" if keras_says else "no")


def test_gpu_rows_name_each_device_and_flag_mixed_precision_without_tensor_cores():
    rows = {r.name: r for r in doctor.device_checks(PRESETS["paper"], [H100])}
    assert rows["devices"].status == doctor.OK and "1 GPU(s)" in rows["devices"].detail
    assert "H100" in rows["devices"].detail and "compute capability 9.0" in rows["devices"].detail
    assert rows["mixed precision"].status == doctor.OK
    rows = {r.name: r for r in doctor.device_checks(PRESETS["paper"], [H100, P100])}
    assert "2 GPU(s)" in rows["devices"].detail
    assert rows["mixed precision"].status == doctor.WARN and "GPU:1" in rows["mixed precision"].detail
    cpu_only = {r.name: r for r in doctor.device_checks(PRESETS["paper"], [])}
    assert cpu_only["devices"].status == doctor.WARN and cpu_only["cuDNN LSTM"].status == doctor.INFO


def test_doctor_table_on_a_faked_gpu(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(doctor, "gpu_devices", lambda: [H100])
    assert main(["doctor", "--preset", "original", "--no-timing", "--run", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("cuDNN LSTM"))
    assert "warn" in line and "keras1_hard_sigmoid" in line
    assert "NVIDIA H100" in out and out.rstrip().endswith("no blocking problem")


# --- the genome, the table, the size and the time -------------------------------------------------

def _fasta(path: Path, names=("chr1", "chr2"), length=20_000) -> Path:
    rng = np.random.default_rng(0)
    with open(path, "w") as fh:
        for name in names:
            seq = "".join(rng.choice(list("ACGT"), length))
            fh.write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, length, 60)) + "\n")
    return path


def _pairs(n_enhancers=60, n_promoters=30, chroms=("chr1", "chr2"), seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_enhancers):
        chrom = chroms[i % len(chroms)]
        e0 = 1_000 + 250 * (i // len(chroms))
        for j in rng.choice(n_promoters, 5, replace=False):
            p0 = 12_000 + 250 * int(j)
            rows.append({"enhancer_name": f"T|{chrom}:{e0}-{e0 + 200}",
                         "promoter_name": f"T|{chrom}:{p0}-{p0 + 100}", "label": int(rng.random() < 0.2)})
    return pd.DataFrame(rows)


def test_genome_rows_name_the_chromosome_style_and_coordinates_past_the_end(tmp_path):
    from speidlib.data.pairs import read_pairs

    fasta = _fasta(tmp_path / "g.fa")
    _pairs().to_csv(tmp_path / "ok.csv", index=False)
    rows = {r.name: r for r in doctor.genome_checks(fasta, read_pairs(tmp_path / "ok.csv"))}
    assert rows["genome index"].status == doctor.OK and "2 sequences" in rows["genome index"].detail
    assert rows["chromosome names"].status == doctor.OK and rows["coordinates"].status == doctor.OK

    _pairs(chroms=("1", "2")).to_csv(tmp_path / "ensembl.csv", index=False)
    rows = {r.name: r for r in doctor.genome_checks(fasta, read_pairs(tmp_path / "ensembl.csv"))}
    assert rows["chromosome names"].status == doctor.FAIL
    assert "1-style" in rows["chromosome names"].detail and "chr1-style" in rows["chromosome names"].detail

    short = _fasta(tmp_path / "short.fa", length=12_000)
    rows = {r.name: r for r in doctor.genome_checks(short, read_pairs(tmp_path / "ok.csv"))}
    assert rows["coordinates"].status == doctor.FAIL and "past its chromosome's end" in rows["coordinates"].detail


def test_doctor_exits_1_on_a_blocking_problem(tmp_path, capsys):
    fasta = _fasta(tmp_path / "g.fa")
    _pairs(chroms=("1", "2")).to_csv(tmp_path / "ensembl.csv", index=False)
    with pytest.raises(SystemExit) as done:
        main(["doctor", "--no-timing", "--genome", str(fasta), "--pairs", str(tmp_path / "ensembl.csv"),
              "--run", str(tmp_path)])
    assert done.value.code == 1
    assert "1 blocking problem(s)" in capsys.readouterr().out


def test_dataset_size_estimate_is_close_to_a_prepared_dataset(tmp_path):
    from speidlib.data.dataset import PrepareConfig, prepare
    from speidlib.data.pairs import read_pairs

    fasta = _fasta(tmp_path / "g.fa")
    _pairs().to_csv(tmp_path / "pairs.csv", index=False)
    run = tmp_path / "run"
    prepare(PrepareConfig(pairs=str(tmp_path / "pairs.csv"), genome=str(fasta), enhancer_window=400,
                          promoter_window=400, augment=3), run, progress=False)
    stats = doctor.table_stats(read_pairs(tmp_path / "pairs.csv"), "pairs.csv")
    table = pd.read_csv(tmp_path / "pairs.csv")
    assert (stats.n_enhancers, stats.n_promoters) == (table.enhancer_name.nunique(), table.promoter_name.nunique())
    assert (stats.n_pairs, stats.n_positive) == (len(table), table.label.sum())
    estimate = doctor.estimate_run(PRESETS["cpu"], stats, 400, 400, 3, n_params=0)
    assert estimate["memory"] - estimate["features"] == (stats.n_enhancers + stats.n_promoters) * 800
    estimated = estimate["dataset"]
    actual = (run / schema.DATASET_FILE).stat().st_size
    assert estimated <= actual <= 3 * estimated, (estimated, actual)  # h5 metadata and names come on top


def test_features_follow_the_lstm_output():
    assert doctor.features_per_example(PRESETS["paper"], 3000, 2000) == 200
    # original keeps the whole sequence: (3000 - 39) // 20 + (2000 - 39) // 20 = 246 steps x 2 x 100 units,
    # as the built model has them
    from speidlib.model.build import build_model, split_model

    assert doctor.features_per_example(PRESETS["original"], 3000, 2000) == 246 * 200
    features, _ = split_model(build_model(PRESETS["original"].replace(n_kernels=8, n_jaspar_kernels=0), 3000, 2000, jaspar_init=False))
    assert int(np.prod(features.output.shape[1:])) == 246 * 200
    # global pooling: two steps whatever the windows
    assert doctor.features_per_example(PRESETS["original"].replace(global_pool=True), 3000, 2000) == 2 * 200


def test_schedule_reproduces_bench_costs_k562_epoch():
    # benchmarks/RESULTS.md: 29.71 s per paper training step and 12.31 s per forward pass
    # give 5.53 CPU h per stage-1 epoch on K562 (Table 1 counts, 20 shifts)
    step = {"train_step_s": 29.71, "forward_s": 12.31, "head_step_s": 0.0}
    plan = doctor.schedule(PRESETS["paper"], doctor.reference_stats("K562"), 20, step)
    assert plan["epoch_s"] / 3600 == pytest.approx(5.53, abs=0.01)
    assert plan["stage1_s"] == pytest.approx(32 * plan["epoch_s"])


def test_doctor_measures_steps_on_this_cpu(tmp_path, capsys):
    fasta = _fasta(tmp_path / "g.fa")
    _pairs().to_csv(tmp_path / "pairs.csv", index=False)
    assert main(["doctor", "--genome", str(fasta), "--pairs", str(tmp_path / "pairs.csv"), "--run",
                 str(tmp_path / "run"), "--enhancer-window", "400", "--promoter-window", "400",
                 "--augment", "3", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    names = [line.split("  ")[0].strip() for line in out.splitlines()[2:-1]]
    for expected in ("Python", "tensorflow", "keras", "devices", "cuDNN LSTM", "mixed precision", "chromium",
                     "pair table", "genome index", "chromosome names", "coordinates", "disk", "memory",
                     "seconds per step", "one epoch", "whole schedule"):
        assert expected in names, (expected, out)
    assert "measured for TensorFlow and one batch" in out
