"""The numbered notebooks: their shape (fast) and a tiny end-to-end execution (slow).

The fast tests read the committed notebooks: one ``parameters`` cell each,
outputs stripped, no function longer than five lines. The slow test executes
all five in order with papermill on a tiny configuration (2 demo cell lines of
1,500 pairs, 300 bp windows, 1 epoch per stage) into a temporary folder and
checks what they wrote.
"""
from __future__ import annotations

import ast
import json
import math
import subprocess
import sys

import nbformat
import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.app.notebooks import (
    NOTEBOOKS,
    notebook_parameters,
    notebook_path,
    project_root,
)

SHARED_DATA = project_root().parent / "shared" / "data"

MAX_FUNCTION_LINES = 5


def _notebook(name):
    return nbformat.read(notebook_path(name), as_version=4)


def _code(cell) -> str:
    """A code cell's source without IPython magics and shell escapes."""
    return "\n".join(line for line in cell.source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def _long_functions(source: str) -> list[str]:
    tree = ast.parse(source)
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_long_function_detector():
    short = "def f(x):\n    return x\n"
    long = "def g(x):\n" + "    x += 1\n" * 5 + "    return x\n"
    assert _long_functions(short) == []
    assert _long_functions(long) == ["g (7 lines)"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_shape(name):
    nb = _notebook(name)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: {len(tagged)} cells tagged 'parameters'"
    assert tagged[0].cell_type == "code"
    assert nb.cells[0].cell_type == "markdown" and "What it needs" in nb.cells[0].source
    assert nb.cells[-1].cell_type == "markdown"
    assert any(c.cell_type == "markdown" and "What this notebook wrote" in c.source for c in nb.cells)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, f"{name} cell {i}: outputs not stripped"
        assert _long_functions(_code(cell)) == [], f"{name} cell {i} defines a long function"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_takes_the_shared_run_directory(name):
    params = {k: ast.literal_eval(v) for k, v in notebook_parameters(name).items()}
    assert params["run_dir"] == "runs/demo"
    if name in ("01_data_prep", "04_cross_cell", "05_motifs", "06_genome_wide"):
        assert params["demo_dir"] == "demo"


def test_committed_notebooks_pass_nbstripout_verify():
    pytest.importorskip("nbstripout")
    paths = [str(notebook_path(n)) for n in NOTEBOOKS]
    paths += [str(p) for p in sorted((project_root() / "dashboards").glob("*.ipynb"))]
    done = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", *paths], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_project_root_is_the_checkout():
    assert (project_root() / "notebooks" / "01_data_prep.ipynb").exists()
    assert project_root(project_root() / "notebooks") == project_root()


# --- tiny end-to-end run ---------------------------------------------------------------
TINY = {"n_cell_lines": 2, "n_pairs": 1500, "enhancer_window": 300, "promoter_window": 300,
        "augment": 5, "pretrain_epochs": 1, "retrain_epochs": 1, "n_bootstrap": 20,
        "max_logos": 3, "show_logos": 2}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from speidlib.app.notebooks import run_notebooks

    root = tmp_path_factory.mktemp("notebooks")
    run = root / "run"
    params = {**TINY, "demo_dir": str(root / "demo"), "run_prefix": str(root / "run"),
              "shared_data": str(SHARED_DATA)}
    timings = run_notebooks(run, params, progress=False)
    return root, run, timings


def _outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind]


def _figures(nb) -> list:
    """Plotly figures among a notebook's outputs."""
    return [o["data"]["application/vnd.plotly.v1+json"]
            for o in _outputs(nb, "display_data") + _outputs(nb, "execute_result")
            if "application/vnd.plotly.v1+json" in o.get("data", {})]


@pytest.mark.slow
def test_notebooks_ran_in_order_and_kept_copies(executed):
    root, run, timings = executed
    assert list(timings) == list(NOTEBOOKS)
    assert json.loads((run / "notebooks" / schema.NOTEBOOK_TIMINGS_FILE).read_text()) == timings
    for name in NOTEBOOKS:
        nb = nbformat.read(run / "notebooks" / f"{name}.ipynb", as_version=4)
        assert _outputs(nb, "error") == []
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and f'run_dir = "{run}"' in injected[0].source
    assert len(_figures(nbformat.read(run / "notebooks" / "03_evaluation.ipynb", as_version=4))) >= 4


@pytest.mark.slow
def test_data_prep_wrote_a_dataset(executed):
    root, run, _ = executed
    from speidlib.data.dataset import Dataset

    ds = Dataset(run)
    assert (ds.enhancer_window, ds.promoter_window) == (300, 300)
    assert set(ds.pairs[schema.CELL_LINE]) == {"DEMO1"}
    assert sorted(p.name for p in (root / "demo").glob("pairs_*.csv")) == ["pairs_DEMO1.csv", "pairs_DEMO2.csv"]
    leak = json.loads((run / "leakage.json").read_text())
    assert set(leak["overlap"]) == {"valid", "test"}
    assert 0 <= leak["overlap"]["test"]["promoters_in_train_fraction"] <= 1


@pytest.mark.slow
def test_training_wrote_model_and_history(executed):
    _, run, _ = executed
    history = pd.read_csv(run / schema.HISTORY_FILE)
    assert list(history.columns) == schema.HISTORY_COLUMNS
    assert history[["stage", "epoch"]].values.tolist() == [[schema.PRETRAIN, 1], [schema.RETRAIN, 1]]
    assert np.isfinite(history["loss"]).all()
    assert (run / schema.MODEL_FILE).stat().st_size > 0


@pytest.mark.slow
def test_evaluation_wrote_sane_metrics(executed):
    _, run, _ = executed
    from speidlib.data.dataset import Dataset

    m = json.loads((run / schema.METRICS_FILE).read_text())
    ds = Dataset(run)
    test = ds.split_index(schema.TEST)
    assert m["n_test"] == len(test) and m["n_positive_test"] == int(ds.label[test].sum())
    for key in ("auroc", "aupr", "f1", "mcc"):
        assert -1 <= m[key] <= 1 and math.isfinite(m[key])
        lo, hi = m["ci"][key]
        assert lo <= hi
    assert 0 <= m["auroc"] <= 1 and 0 <= m["aupr"] <= 1
    assert len(pd.read_csv(run / schema.PREDICTIONS_FILE)) == len(test)
    if SHARED_DATA.exists():
        table = pd.read_csv(run / "baselines" / "baseline_table.csv")
        assert len(table) == 6 * 2 * 2
        chrom = table[(table.split_method == "chromosome") & (table.model == "propensity")]
        np.testing.assert_allclose(chrom["auroc"], 0.5)  # no held-out element was seen in training
        rand = table[(table.split_method == "random") & (table.model == "propensity")]
        assert (rand["auroc"] > 0.85).all()


@pytest.mark.slow
def test_cross_cell_wrote_square_matrices(executed):
    root, run, _ = executed
    out = run / schema.CROSS_CELL_DIR
    for model in ("speid", "propensity"):
        for metric in ("auroc", "aupr"):
            df = pd.read_csv(out / f"cross_cell_{model}_{metric}.csv", index_col="train")
            assert list(df.index) == ["DEMO1", "DEMO2"] and list(df.columns) == ["DEMO1", "DEMO2"]
            assert ((df.to_numpy() >= 0) & (df.to_numpy() <= 1)).all()
    for cell in ("DEMO1", "DEMO2"):
        own = json.loads((root / f"run_{cell}" / schema.METRICS_FILE).read_text())
        speid = pd.read_csv(out / "cross_cell_speid_auroc.csv", index_col="train")
        assert speid.loc[cell, cell] == pytest.approx(own["auroc"], abs=1e-6)
    if SHARED_DATA.exists():
        real = pd.read_csv(out / "real_propensity_auroc.csv", index_col="train")
        assert real.shape == (6, 6) and (np.diag(real.to_numpy()) > 0.85).all()


@pytest.mark.slow
def test_motifs_wrote_matches_and_compared_with_the_planted_motifs(executed):
    _, run, _ = executed
    motifs = run / schema.MOTIFS_DIR
    matches = pd.read_csv(motifs / schema.MOTIF_MATCHES_FILE)
    assert list(matches.columns) == schema.MOTIF_MATCH_COLUMNS
    assert len(matches) > 0 and (matches["pvalue"].between(0, 1)).all()
    assert len(list((motifs / schema.MOTIF_LOGOS_DIR).glob("*.png"))) <= 3
    nb = nbformat.read(run / "notebooks" / "05_motifs.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in _outputs(nb, "stream"))
    assert "DEMO1: recovered" in text and "of 8 planted motifs" in text
    assert any("gradient_x_input" in json.dumps(fig) for fig in _figures(nb))  # the attribution figure


@pytest.mark.slow
def test_genome_wide_notebook_scored_candidates_and_exported_links(executed):
    from speidlib.score.formats import FORMATS, read_links
    from speidlib.score.run import FORMAT_EXTENSIONS

    _, run, _ = executed
    gw = run / schema.LINKS_DIR
    scored = pd.read_csv(gw / "candidates" / "scored.bedpe", sep="\t")
    links = read_links(gw / "demo_links.csv")
    assert len(links) == len(scored) > 0 and set(links["chrom"]) == {"chr1"}
    assert links["distance"].max() <= 250_000 and links["score"].between(0, 1).all()
    assert (links[["enhancer_start", "promoter_start"]].to_numpy() < 2_000_000).all()
    assert (links.groupby("enhancer_name")["enhancer_rank"].min() == 1).all()
    for fmt in FORMATS:
        back = read_links(gw / f"demo_links{FORMAT_EXTENSIONS[fmt]}")
        np.testing.assert_allclose(back["score"], links["score"], atol=1e-6)
    nb = nbformat.read(run / "notebooks" / "06_genome_wide.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in _outputs(nb, "stream"))
    assert f"scoring {len(links):,} of " in text and "top promoter = nearest candidate" in text
    assert len(_figures(nb)) == 2                      # scores by distance, the locus


@pytest.mark.slow
def test_crispr_notebook_wrote_the_distance_baseline(executed):
    _, run, _ = executed
    if not SHARED_DATA.exists():
        pytest.skip("no CRISPRi benchmark tables beside the checkout")
    m = pd.read_csv(run / "crispr" / "EPCrisprBenchmark_combined_data.training_K562.GRCh38" / "metrics.csv")
    pooled = m[(m.predictor == "distance") & (m.cell_type == "all") & (m.dataset == "all")].iloc[0]
    assert (pooled.n_pairs, pooled.n_regulated) == (10_356, 471)
    # the table's own distanceToTSS (docs/crispr.md), weighted as the benchmark's authors weight it
    assert pooled.auroc == pytest.approx(0.897, abs=5e-4)
    assert pooled.auprc_weighted == pytest.approx(0.453, abs=5e-4) and pooled.threshold == -54350


@pytest.mark.slow
def test_notebooks_show_no_tensorflow_start_up_lines(executed):
    """notebook_setup imports TensorFlow quietly: no absl/CUDA lines in any executed notebook."""
    root, run, _ = executed
    for name in NOTEBOOKS:
        nb = nbformat.read(run / "notebooks" / f"{name}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for o in _outputs(nb, "stream"))
        for noise in ("cuInit", "absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard"):
            assert noise not in text, f"{name}: {noise!r} in its output"
    training = nbformat.read(run / "notebooks" / "02_training.ipynb", as_version=4)
    assert "Training here (" in "".join(o.get("text", "") for o in _outputs(training, "stream"))


@pytest.mark.slow
def test_explain_a_link_attributes_one_positive_pair(executed):
    """Notebook 08: one positive held-out pair attributed, its stretches matched, its npz written;
    then every held-out pair attributed into RUN/attributions/contributions.h5."""
    from speidlib.data.dataset import Dataset
    from speidlib.interpret.contrib_store import ContributionStore

    _, run, _ = executed
    store = ContributionStore(run / "attributions" / "contributions.h5")
    assert len(store) == len(Dataset(run).split_index("test")) and store.attrs["weights"] == "trained"
    with np.load(run / "attributions" / "explained_pair.npz") as z:
        assert z["enhancer_actual"].shape == z["enhancer_codes"].shape == (300,)
        assert z["promoter_hypothetical"].shape == (300, 4)
    nb = nbformat.read(run / "notebooks" / "08_explain_a_link.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in _outputs(nb, "stream"))
    assert "completeness error" in text and "planted in this pair" in text
    assert f"{len(store):,} held-out pairs" in text
    assert len(_figures(nb)) == 1
