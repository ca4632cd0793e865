"""The memorisation control as a workflow target: one job per cell line and split, one schedule."""
import importlib.util
import re
import shlex

import pandas as pd
import pytest
import yaml

from test_workflow import ROOT, TARGETFINDER_CELLS, planned_jobs, planned_outputs, snakemake

CONFIG = ROOT / "workflow" / "config" / "memorisation.yaml"


def _script():
    spec = importlib.util.spec_from_file_location("memorisation_control",
                                                  ROOT / "scripts" / "memorisation_control.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memorisation_dry_run_plans_one_job_per_cell_line_and_split(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    for cell in config["cell_lines"]:           # placeholder tables: a dry run reads none
        config["cell_lines"][cell] = str(tmp_path / f"{cell}_ep.csv.gz")
        (tmp_path / f"{cell}_ep.csv.gz").write_text("")
    path = tmp_path / "memorisation.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake(tmp_path, "--configfile", str(path), "--dry-run", "--printshellcmds")
    assert planned_jobs(out) == {"memorisation_genome": 1, "memorisation_job": 12, "memorisation": 1, "all": 1}
    outputs = planned_outputs(out)
    for cell in TARGETFINDER_CELLS:
        for split in ("random", "chromosome"):
            assert f"runs/memorisation/results/{cell}_{split}.csv" in outputs
    jobs = re.findall(r"memorisation_control\.py .*--no-gather", out)
    assert len(jobs) == 12
    # the same schedule for every cell line: every epoch runs (no early stop), 32 + 6 epochs
    assert len({re.sub(r"--(cells|splits|pairs) \S+ ", "", j) for j in jobs}) == 1
    args = shlex.split(jobs[0])
    assert args[args.index("--schedule") + 1] == "fixed"
    assert args[args.index("--pretrain-epochs") + 1] == "32"
    assert "speid random-genome --assembly hg19" in out
    # `all` is the memorisation table only: no study rule is planned
    assert not {"prepare", "train", "cross_cell"} & set(planned_jobs(out))


def test_the_fixed_schedule_cannot_stop_early():
    script = _script()
    fixed = script.schedule_config("fixed", None, None)
    assert fixed.keep_epoch == "last" and (fixed.pretrain_epochs, fixed.retrain_epochs) == (32, 6)
    early = script.schedule_config("early-stop", None, None)
    assert early.keep_epoch == "best" and early.patience == 4 and early.pretrain_epochs == 12
    assert script.schedule_config("fixed", 20, 3).pretrain_epochs == 20
    with pytest.raises(ValueError, match="fixed or early-stop"):
        script.schedule_config("patience", None, None)


def test_gather_makes_one_table_from_the_job_files(tmp_path):
    script = _script()
    (tmp_path / "results").mkdir()
    for cell, split in (("K562", "random"), ("GM12878", "chromosome")):
        rows = [{"cell_line": cell, "split_method": split, "model": model, "n_test": 10,
                 "n_positive_test": 2, "constant": model == "propensity" and split == "chromosome",
                 "schedule": "fixed: 32 + 6 epochs, last epoch kept" if model.startswith("SPEID") else None,
                 "minutes": 9.5 if model.startswith("SPEID") else None,
                 **{f"{m}{s}": 0.5 for m in ("auroc", "aupr", "f1") for s in ("", "_lo", "_hi")}}
                for model in ("SPEID (random DNA)", "propensity", "distance")]
        pd.DataFrame(rows).to_csv(tmp_path / "results" / f"{cell}_{split}.csv", index=False)
    # K562 random's run is there: its SPEID row gets the promoter-resampled interval from the
    # run's predictions (8 test promoters of 5 pairs each; scores rise with the promoter)
    run = tmp_path / "K562_random"
    run.mkdir()
    prom = [f"p{i // 5}" for i in range(40)]
    label = [int(i % 5 == 0 and i // 5 >= 3) for i in range(40)]
    pd.DataFrame({"enhancer_name": [f"e{i}" for i in range(40)], "promoter_name": prom, "label": label,
                  "score": [(i // 5) / 8 + (i % 5) / 100 for i in range(40)],
                  "split": ["test"] * 38 + ["train"] * 2}).to_csv(run / "predictions.csv", index=False)
    csv, md = script.gather(tmp_path, n_bootstrap=200)
    table = pd.read_csv(csv)
    assert table["cell_line"].tolist() == ["GM12878"] * 3 + ["K562"] * 3    # CELLS order
    speid = table[table["model"].str.startswith("SPEID")].set_index("cell_line")
    assert speid.loc["K562", "n_test_promoters"] == 8
    assert 0 <= speid.loc["K562", "auroc_promoter_lo"] < speid.loc["K562", "auroc_promoter_hi"] <= 1
    assert pd.isna(speid.loc["GM12878", "auroc_promoter_lo"])      # no run: left empty, not made up
    assert speid.loc["K562", "null_auroc_lo"] < speid.loc["K562", "null_auroc_hi"]
    assert pd.isna(speid.loc["GM12878", "null_auroc_lo"])
    text = md.read_text()
    assert "(8 promoters)" in text and "as far " in text
    assert "| GM12878 | chromosome | propensity | constant |" in text
    assert "SPEID schedule: fixed: 32 + 6 epochs, last epoch kept" in text
    with pytest.raises(SystemExit, match="no job results"):
        script.gather(tmp_path / "empty")


def test_the_element_null_keeps_the_tables_structure_and_knows_no_labels():
    """A score made of element effects alone splits back into them; permuting the effects among
    the elements gives a range around 0.5 that a label-blind score falls in, and a score that
    follows the labels falls outside."""
    import numpy as np

    script = _script()
    rng = np.random.default_rng(0)
    n_e, n_p, n = 300, 40, 1200
    ei, pi = rng.integers(0, n_e, n), rng.integers(0, n_p, n)
    a, b = rng.normal(0, 1, n_p), rng.normal(0, 0.5, n_e)
    mu, a_hat, b_hat, res, pc, ec = script.additive_effects(a[pi] + b[ei] + 0.3, ei, pi)
    fitted = mu + a_hat[pc] + b_hat[ec]
    np.testing.assert_allclose(fitted, a[pi] + b[ei] + 0.3, atol=1e-6)
    assert np.abs(res).max() < 1e-6
    y = (rng.random(n) < 0.1).astype(int)

    def null_of(logit, tmp):
        tmp.mkdir()
        pd.DataFrame({"enhancer_name": ei, "promoter_name": pi, "label": y, "split": "test",
                      "score": 1 / (1 + np.exp(-logit))}).to_csv(tmp / "predictions.csv", index=False)
        return script.element_permutation_null(tmp, 300, 0)

    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        blind = null_of(a[pi] + b[ei], Path(d) / "blind")
        assert blind["null_auroc_lo"] < 0.5 < blind["null_auroc_hi"] and blind["additive_r2"] > 0.99
        told = null_of(a[pi] + b[ei] + 3 * y, Path(d) / "told")
        assert told["null_p_above"] < 0.01 and told["null_p_below"] > 0.99
