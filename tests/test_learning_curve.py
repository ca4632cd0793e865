"""The learning-curve machinery (issue 26): jobs, call scoring, the oracle on test pairs, the
report, the workflow's plan, and the small-table warning of `speid train`."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.app import learning_curve as lc
from speidlib.train.small_tables import LEARNS_FROM, describe, small_table_warning, split_sizes

ROOT = Path(__file__).resolve().parents[1]


def test_job_names_parse_and_check():
    job = lc.Job.parse("demo:cpu:500:1")
    assert job == lc.Job("demo", "cpu", 500, 1) and job.name == "demo_cpu_500_1"
    for bad, match in (("demo:cpu:500", "grammar:recipe"), ("nope:cpu:500:0", "unknown grammar"),
                       ("demo:nope:500:0", "unknown recipe"), ("demo:cpu:5:0", "at least 20")):
        with pytest.raises(ValueError, match=match):
            lc.Job.parse(bad)


def test_points_draw_their_own_tables_at_one_to_twenty():
    a, b = lc.demo_options("g2", 500, 0), lc.demo_options("g2", 500, 1)
    assert a["n_pairs"] == b["n_pairs"] == 500 * 21
    assert a["seed"] != b["seed"] and a["n_classes"] == 3
    assert lc.GRAMMARS["hard"]["site_noise"] > 0 and lc.GRAMMARS["hard"]["positive_noise"] > 0


def test_recipes_start_from_the_cpu_preset():
    from speidlib.model.presets import get_config

    v1 = lc.recipe_config("cpu_v1")
    assert v1.name == "cpu" and not v1.rc_augment and v1.epoch_examples is None
    assert v1.n_kernels == get_config("cpu").n_kernels
    # the preset is the small-table recipe; the options give back the preset before it
    from speidlib.app.cli import build_parser
    from speidlib.options import from_args
    from speidlib.train.options import TrainOptions

    assert get_config("cpu") == lc.recipe_config(lc.SMALL_TABLE_RECIPE) == lc.recipe_config("cpu")
    argv = ["train", "R", "--no-global-pool", "--no-rc-augment", "--no-redraw-shifts", "--epoch-examples", "0"]
    assert from_args(TrainOptions, build_parser().parse_args(argv)).model_config() == lc.recipe_config("cpu_v2")
    assert not lc.recipe_config("cpu_v2").global_pool and lc.recipe_config("cpu_v2").epoch_examples is None


def test_call_scores_count_hits_false_calls_and_misses():
    planted = {("enhancer", "ZNF274"), ("promoter", "ZNF410"), ("enhancer", "MYBL1")}
    s = lc.call_scores({("enhancer", "ZNF274"), ("promoter", "CTCF")}, planted)
    assert (s["n_hits"], s["n_calls"], s["precision"], s["recall"]) == (1, 2, 0.5, 1 / 3)
    assert s["false_calls"] == ["promoter:CTCF"] and "enhancer:MYBL1" in s["missed"]
    assert np.isnan(lc.call_scores(set(), planted)["precision"])   # nothing called: no precision


def test_learned_calls_read_both_branches_of_tf_summary():
    summary = pd.DataFrame({"tf": ["Zfp42", "RFX4", "CTCF"], "learned_enhancer": [True, False, False],
                            "learned_promoter": [False, True, False]})
    assert lc.learned_calls(summary) == {("enhancer", "ZFP42"), ("promoter", "RFX4")}


def _record(grammar, npos, rep, auroc, recall):
    return {"grammar": grammar, "recipe": "cpu", "npos": npos, "replicate": rep, "auroc": auroc, "aupr": 0.2,
            "kmer_auroc": 0.7, "oracle_auroc": 0.99, "recall": recall, "precision": 1.0, "false_calls": [],
            "n_calls": 1, "n_hits": 1}


def test_report_takes_medians_over_replicates_and_draws_the_figure(tmp_path):
    (tmp_path / "jobs").mkdir()
    for i, r in enumerate([_record("demo", 500, 0, 0.6, 0.0), _record("demo", 500, 1, 0.7, 0.25),
                           _record("demo", 2000, 0, 0.9, 0.75), _record("g2", 500, 0, 0.55, 0.0)]):
        (tmp_path / "jobs" / f"{i}.json").write_text(json.dumps(r))
    summary = lc.report(tmp_path)
    row = summary[(summary.grammar == "demo") & (summary.npos == 500)].iloc[0]
    assert row.auroc == pytest.approx(0.65) and row.replicates == 2 and row.recall == pytest.approx(0.125)
    assert "0.600, 0.700" in row.auroc_each
    md = (tmp_path / "learning_curve.md").read_text()
    assert "| demo | cpu | 2,000 | 1 | 0.900 (0.900)" in md
    assert (tmp_path / "learning_curve.png").stat().st_size > 5000
    back = lc.read_curve(tmp_path / "learning_curve.csv")
    assert len(back) == 4 and (lc.summarise(back)["false_calls"] == 0).all()
    assert lc.positives_needed(back, recipe="cpu") == 2000
    assert lc.positives_needed(back, recipe="cpu", auroc=0.95) is None


def test_positives_needed_wants_every_larger_size_to_hold():
    rows = pd.DataFrame([_record("demo", n, 0, a, 0) for n, a in ((500, 0.9), (1000, 0.8), (2000, 0.9))])
    assert lc.positives_needed(rows, recipe="cpu") == 2000


def test_report_without_records_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no job records"):
        lc.report(tmp_path)


def test_pair_oracle_on_the_test_pairs_of_a_small_demo(tmp_path):
    from speidlib.app.notebooks import prepare_demo
    from speidlib.data.dataset import Dataset

    info = prepare_demo(tmp_path / "demo", tmp_path / "run", **lc.demo_options("demo", 40, 0))
    ds = Dataset(tmp_path / "run")
    assert lc.test_oracle(info, ds) > 0.95          # both classes known: the grammar's ceiling
    sizes = split_sizes(ds)
    assert sizes["positives"].sum() == int(ds.label.sum())
    assert (sizes["distinct_positive_pairs"] <= sizes["positives"]).all()
    assert "train:" in describe(sizes)
    warning = small_table_warning(sizes, "cpu_rcx_gpool")       # the cpu preset's defaults
    assert f"{LEARNS_FROM['cpu_rcx_gpool']:,} positives" in warning and "docs/learning_curve.md" in warning
    assert small_table_warning(sizes, "paper") is None          # not measured: no claim


def test_the_workflow_plans_one_job_per_point(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "-s",
                          str(ROOT / "workflow" / "learning_curve.smk"), "--configfile",
                          str(ROOT / "workflow" / "config" / "learning_curve.yaml"), "-n",
                          "--directory", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    table = (out.stdout + out.stderr).split("Job stats:")[1]
    assert "learning_curve_job          60" in table and "learning_curve_report        1" in table


@pytest.mark.slow
def test_speid_train_takes_the_data_efficiency_options_and_records_them(tmp_path, capsys, caplog):
    from speidlib.app.cli import main
    from speidlib.app.notebooks import prepare_demo

    prepare_demo(tmp_path / "demo", tmp_path / "run", **lc.demo_options("demo", 30, 0))
    run = str(tmp_path / "run")
    assert main(["train", run, "--preset", "paper", "--epoch-examples", "100"]) == 2
    assert "needs matched stage-1 negatives" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", run, "--swap-negatives", "1.5"])
    assert "must be a number from 0 to 1" in capsys.readouterr().err
    assert 0 == main(["train", run, "--preset", "cpu", "--random-init", "--pretrain-epochs", "1", "--retrain-epochs", "1",
          "--rc-augment", "--redraw-shifts", "--epoch-examples", "256", "--global-pool", "--quiet"])
    assert "distinct positive pairs" in caplog.text   # the small-table warning, even with --quiet
    preset = json.loads((tmp_path / "run" / schema.CONFIG_FILE).read_text())["train"]["preset"]
    assert preset["rc_augment"] and preset["redraw_shifts"] and preset["epoch_examples"] == 256
    assert preset["name"] == "cpu" and preset["swap_negatives"] == 0.0 and preset["global_pool"]
    from speidlib.model.load import load_model
    model = load_model(tmp_path / "run" / "model.keras")
    assert tuple(model.get_layer(schema.MERGE_LAYER).output.shape)[1] == 2     # one pooled step per branch


def test_the_figures_speid_train_quotes_are_the_committed_curve():
    from speidlib.train.small_tables import CURVE_AUROC

    curve = lc.read_curve(ROOT / "examples" / "learning_curve" / "learning_curve.csv")
    assert {"demo", "g2", "hard", "null"} <= set(curve["grammar"])      # 'null' read as a name
    summary = lc.summarise(curve).set_index(["grammar", "recipe", "npos"])
    for recipe, points in CURVE_AUROC.items():
        for n, (model, kmer) in points.items():
            assert summary.loc[("demo", recipe, n), "auroc"] == pytest.approx(model, abs=5e-4)
            assert summary.loc[("demo", recipe, n), "kmer_auroc"] == pytest.approx(kmer, abs=5e-4)
    # the size speid train warns below is the one the curve shows learning from (or above all measured)
    assert lc.positives_needed(curve, recipe="cpu_v2") == LEARNS_FROM["cpu_v2"]
    assert lc.positives_needed(curve) == LEARNS_FROM[lc.SMALL_TABLE_RECIPE]     # the default: the cpu preset
    text = small_table_warning(pd.DataFrame({"distinct_positive_pairs": [600]}), "cpu_v2")
    assert "at 500 positives it measured a test AUROC of 0.64" in text
    assert ("--global-pool --rc-augment --redraw-shifts --epoch-examples 16000 (the cpu preset's defaults) it "
            "measured 0.93 at 500 (against 0.64 without them) and learns from 500: train with them") in text
    # a run with the small-table recipe is warned only below the size that recipe learns from
    from speidlib.model.presets import get_config
    from speidlib.train.small_tables import SMALL_TABLE_FIELDS, recipe_of

    small = get_config("cpu")
    assert all(getattr(small, k) == v for k, v in SMALL_TABLE_FIELDS.items())    # the preset's defaults
    assert recipe_of(small) == lc.SMALL_TABLE_RECIPE == recipe_of(lc.recipe_config(lc.SMALL_TABLE_RECIPE))
    assert recipe_of(small.replace(epoch_examples=32_000)) == lc.SMALL_TABLE_RECIPE
    assert recipe_of(lc.recipe_config("cpu_v2")) == "cpu_v2"
    assert recipe_of(small.replace(global_pool=False)) == "cpu"      # some options are not the recipe
    assert small_table_warning(pd.DataFrame({"distinct_positive_pairs": [600]}), "cpu") is not None
    assert recipe_of(get_config("paper").replace(**SMALL_TABLE_FIELDS, pretrain_negatives="match")) == "paper"
    assert small_table_warning(pd.DataFrame({"distinct_positive_pairs": [600]}), recipe_of(small)) is None
    low = small_table_warning(pd.DataFrame({"distinct_positive_pairs": [300]}), recipe_of(small))
    assert "the small-table recipe (the cpu preset) was measured to learn the demo grammar from 500 positives" in low
    assert "at 250 positives it measured a test AUROC of 0.64" in low


def test_the_null_grammar_keeps_the_demo_and_its_labels_say_nothing(tmp_path):
    from speidlib.demo.synthetic import make_demo

    assert lc.GRAMMARS["null"]["seed"] == lc.GRAMMARS["demo"]["seed"]       # the demo's genome and elements
    null = make_demo(tmp_path / "null", **lc.demo_options("null", 150, 0))
    demo = make_demo(tmp_path / "demo", **lc.demo_options("demo", 150, 0))
    cell = null.cell_lines[0]
    assert demo.oracle_auroc[cell]["pair_classes"] > 0.95                   # the grammar is there ...
    assert 0.35 < null.oracle_auroc[cell]["pair_classes"] < 0.65            # ... and the null's labels ignore it
