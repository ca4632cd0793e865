"""The dashboards' models and views without a browser (speidlib.app.dashboards).

Hand-built run directories with known answers: six scored pairs for the
predictions dashboard, four kernels for the motifs dashboard. Two slow tests
open a pair and the motifs of the session's trained ``tiny_run``.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.app.dashboards import (
    MotifsModel,
    PredictionsModel,
    list_runs,
    resolve_run,
    runs_root,
)
from speidlib.app.dashboards.motifs import consensus_html, select_kernels
from speidlib.app.dashboards.predictions import read_predictions
from speidlib.app.dashboards.runs import download_link

# six test pairs: chrom, distance, label, score (pairs 3 and 5 tie on score)
PAIRS = [("chr1", 10000, 1, 0.9), ("chr1", 50000, 0, 0.8), ("chr2", 20000, 1, 0.4),
         ("chr2", 80000, 0, 0.6), ("chr1", 30000, 0, 0.1), ("chr10", 40000, 1, 0.6)]


def _predictions(pairs=PAIRS) -> pd.DataFrame:
    rows = []
    for i, (chrom, dist, label, score) in enumerate(pairs):
        es, ps = 100_000 * (i + 1), 100_000 * (i + 1) + dist
        rows.append({"enhancer_name": f"C|{chrom}:{es}-{es + 200}",
                     "promoter_name": f"C|{chrom}:{ps}-{ps + 400}", "cell_line": "C",
                     "chrom": chrom, "enhancer_start": es, "enhancer_end": es + 200,
                     "promoter_start": ps, "promoter_end": ps + 400, "distance": dist,
                     "label": label, "score": score, "split": "test", "split_method": "random"})
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def no_example_runs(monkeypatch):
    """These tests see only the runs of their own roots, not the checkout's example runs."""
    monkeypatch.setenv(schema.EXAMPLE_RUNS_ENV, "")


@pytest.fixture
def root(tmp_path) -> Path:
    """A runs root: ``good`` (predictions only), ``nested/other`` and a folder that is no run."""
    (tmp_path / "good").mkdir()
    _predictions().to_csv(tmp_path / "good" / schema.PREDICTIONS_FILE, index=False)
    (tmp_path / "nested" / "other").mkdir(parents=True)
    (tmp_path / "nested" / "other" / schema.CONFIG_FILE).write_text("{}")
    (tmp_path / "not_a_run").mkdir()
    return tmp_path


def _files(folder: Path) -> dict:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


# --- runs root -----------------------------------------------------------------

def test_runs_root_from_argument_variable_or_default(monkeypatch, tmp_path):
    monkeypatch.setenv(schema.RUNS_ROOT_ENV, str(tmp_path / "env"))
    assert runs_root() == tmp_path / "env"
    assert runs_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(schema.RUNS_ROOT_ENV)
    monkeypatch.chdir(tmp_path)
    assert runs_root() == tmp_path / "runs"
    checkout = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(checkout / "dashboards")        # where voila starts a dashboard's kernel
    assert runs_root() == checkout / "runs"


def test_list_runs_finds_run_directories_only(root):
    assert list_runs(root) == ["good", "nested/other"]


def test_resolve_run_refuses_paths_outside_the_root(root, tmp_path_factory):
    assert resolve_run(root, "nested/other") == root / "nested" / "other"
    outside = tmp_path_factory.mktemp("outside")
    for name in ("../outside", str(outside), "good/../../x"):
        with pytest.raises(ValueError, match="is outside the runs root"):
            resolve_run(root, name)
    with pytest.raises(ValueError, match="not a folder"):
        resolve_run(root, "missing")
    with pytest.raises(ValueError, match="No run directory chosen"):
        resolve_run(root, "")


def test_a_symlink_placed_inside_the_root_is_followed(root, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    _predictions().to_csv(elsewhere / schema.PREDICTIONS_FILE, index=False)
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert "linked" in list_runs(root)
    model = PredictionsModel(root, "linked")
    assert model.error == "" and len(model.selection) == 6


# --- predictions: reading and filtering ------------------------------------------

def test_read_predictions_names_the_bad_column_and_row(tmp_path):
    bad = _predictions()
    bad["score"] = bad["score"].astype(object)
    bad.loc[3, "score"] = "high"
    bad.to_csv(tmp_path / schema.PREDICTIONS_FILE, index=False)
    with pytest.raises(ValueError, match=r"predictions.csv, row 5: column 'score' must be a number, "
                                         r"got 'high'"):
        read_predictions(tmp_path)
    _predictions().drop(columns=["distance"]).to_csv(tmp_path / schema.PREDICTIONS_FILE, index=False)
    with pytest.raises(ValueError, match="lacks the column.s. distance"):
        read_predictions(tmp_path)
    (tmp_path / schema.PREDICTIONS_FILE).write_text("")
    with pytest.raises(ValueError, match="not a readable CSV table"):
        read_predictions(tmp_path)


def test_filters_change_the_selection(root):
    m = PredictionsModel(root, "good")
    assert m.error == ""
    assert m.chromosome_choices == ("chr1", "chr2", "chr10")
    assert m.distance_bounds == (10000.0, 80000.0)
    assert list(m.selection.index) == [0, 1, 3, 5, 2, 4]        # best score first, ties in file order
    m.chromosomes = ("chr1",)
    assert list(m.selection.index) == [0, 1, 4]
    m.chromosomes = ()
    m.label = "interacting"
    assert list(m.selection.index) == [0, 5, 2]
    m.label = "not interacting"
    assert list(m.selection.index) == [1, 3, 4]
    m.label = "all"
    m.score_range = (0.5, 0.85)
    assert list(m.selection.index) == [1, 3, 5]
    m.score_range = (0.0, 1.0)
    m.distance_range = (20000, 50000)
    assert list(m.selection.index) == [1, 5, 2, 4]
    m.distance_range = m.distance_bounds
    m.sort_by, m.ascending = "distance", True
    assert list(m.selection.index) == [0, 2, 4, 5, 1, 3]
    m.reset_filters()
    assert list(m.selection.index) == [0, 1, 3, 5, 2, 4]


def test_a_reversed_range_is_refused(root):
    m = PredictionsModel(root, "good")
    with pytest.raises(Exception, match="the low end 0.9 is above the high end 0.2"):
        m.score_range = (0.9, 0.2)


def test_curves_of_the_selection(root):
    m = PredictionsModel(root, "good")
    # AUROC: of the 9 (positive, negative) pairs 5 are ordered right and one ties: 5.5 / 9
    roc = m.roc_figure()
    assert roc.data[0].name == "SPEID (AUROC 0.611)"
    assert roc.layout.title.text == "ROC curve, 6 pairs"
    # average precision: 1/3 * 1 + 1/3 * 2/4 + 1/3 * 3/5 = 0.7; chance = 3 / 6
    pr = m.pr_figure()
    assert pr.data[0].name == "SPEID (AUPR 0.700)"
    assert pr.data[1].name == "chance (0.500)"
    m.chromosomes = ("chr1",)          # 0.9 (+) above 0.8 and 0.1 (-): a perfect ranking
    assert m.roc_figure().data[0].name == "SPEID (AUROC 1.000)"
    m.label = "interacting"            # one class left: no curve, a reason instead
    assert len(m.roc_figure().data) == 0
    assert m.roc_figure().layout.title.text == ("ROC curve: needs interacting and non-interacting "
                                                "pairs; the selection has 1 pair(s), 1 interacting")


def test_csv_and_bedpe_export_of_the_selection(root):
    m = PredictionsModel(root, "good")
    m.chromosomes = ("chr2",)
    assert m.selection_csv() == (
        "enhancer_name,promoter_name,cell_line,chrom,enhancer_start,enhancer_end,promoter_start,"
        "promoter_end,distance,label,score,split,split_method\n"
        "C|chr2:400000-400200,C|chr2:480000-480400,C,chr2,400000,400200,480000,480400,80000,0,0.6,"
        "test,random\n"
        "C|chr2:300000-300200,C|chr2:320000-320400,C,chr2,300000,300200,320000,320400,20000,1,0.4,"
        "test,random\n")
    assert m.selection_bedpe() == (
        "chr2\t400000\t400200\tchr2\t480000\t480400\tC|chr2:400000-400200~C|chr2:480000-480400\t0.6"
        "\t.\t.\t0\t80000\n"
        "chr2\t300000\t300200\tchr2\t320000\t320400\tC|chr2:300000-300200~C|chr2:320000-320400\t0.4"
        "\t.\t.\t1\t20000\n")
    assert m.export_name("bedpe") == "good_selection.bedpe"
    link = download_link("a,b\n1,2\n", "x.csv")
    assert link == ('<a class="speid-download" download="x.csv" '
                    'href="data:text/csv;base64,YSxiCjEsMgo=">download x.csv</a>')


def test_bad_runs_give_a_sentence_not_an_exception(root, tmp_path_factory):
    m = PredictionsModel(root, "nested/other")      # a run without predictions.csv
    assert m.error == (f"{root / 'nested' / 'other'} is incomplete for the predictions dashboard: "
                       f"predictions.csv is missing (written by `speid evaluate "
                       f"{root / 'nested' / 'other'}`).")
    assert m.pairs is None and len(m.selection) == 0
    m.run = "good"
    assert m.error == "" and len(m.selection) == 6
    m.run = "../elsewhere"
    assert "is outside the runs root" in m.error and m.run_dir == ""
    empty = tmp_path_factory.mktemp("empty_root")
    assert PredictionsModel(empty).error.startswith(f"No run directories under {empty}")


def test_the_first_complete_run_opens_by_default(root):
    full = root / "b_full"
    full.mkdir()
    _predictions().to_csv(full / schema.PREDICTIONS_FILE, index=False)
    for name in (schema.DATASET_FILE, schema.MODEL_FILE):
        (full / name).write_bytes(b"")
    assert PredictionsModel(root).run == "b_full"
    assert PredictionsModel(root / "nested").run == "other"   # nothing complete: the first run


def test_a_pair_without_dataset_shows_why(root):
    m = PredictionsModel(root, "good")
    m.pair = 2
    assert m.detail is None
    assert m.detail_error.startswith("Pair #2 cannot be shown: ")
    assert "dataset.h5 is missing (written by `speid prepare" in m.detail_error


def test_predictions_view_is_bound_to_the_model(root):
    from speidlib.app.dashboards.predictions_view import PredictionsView

    before = _files(root)
    m = PredictionsModel(root, "good")
    v = PredictionsView(m)
    assert v.run.options == ("good", "nested/other") and v.run.value == "good"
    assert re.findall(r'class="speid-count">(\d+)<', v.summary.value) == ["6"]
    v.label.value = "interacting"                                     # widget -> model
    assert list(m.selection.index) == [0, 5, 2]
    assert v.table.value.count("<tr>") == 1 + 3                       # header + rows
    m.chromosomes = ("chr2",)                                         # model -> widget
    assert v.chromosomes.value == ("chr2",)
    v.distance.value = (15000, 25000)
    assert m.distance_range == (15000.0, 25000.0) and list(m.selection.index) == [2]
    assert [o[1] for o in v.pair.options] == [-1, 2]
    v.csv_button.click()
    href = re.search(r'href="data:text/csv;base64,([^"]+)"', v.download.value).group(1)
    assert base64.b64decode(href).decode() == m.selection_csv()
    roc = v.roc.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert roc["layout"]["title"]["text"].startswith("ROC curve: needs")
    v.run.value = "nested/other"                                      # a broken run
    assert "is incomplete" in v.message.value and v.body.layout.display == "none"
    v.run.value = "good"
    assert v.message.value == "" and v.body.layout.display is None
    assert _files(root) == before                                     # nothing written


# --- motifs -------------------------------------------------------------------------

PFM = {"enhancer_k0000": [[0.97, 0.01, 0.01, 0.01], [0.25, 0.25, 0.25, 0.25]],
       "enhancer_k0001": [[0.1, 0.7, 0.1, 0.1], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
       "promoter_k0000": [[0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]],
       "promoter_k0001": [[0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0]]}
MATCHES = [  # kernel_name, target_id, target_name, evalue, rank
    ("enhancer_k0000", "MA0139.2", "CTCF", 0.001, 1), ("enhancer_k0000", "MA0088.2", "ZNF143", 0.3, 2),
    ("enhancer_k0001", "MA0139.2", "CTCF", 0.2, 1), ("promoter_k0000", "MA0088.2", "ZNF143", 2.0, 1)]
SAVED_LOGO = b"\x89PNG saved by speid motifs"


@pytest.fixture
def motif_root(tmp_path) -> Path:
    """A run whose motifs/ holds four kernels (one without any match) and one saved logo."""
    from speidlib.data.jaspar import write_meme
    from speidlib.io import atomic_write_json

    d = tmp_path / "run" / schema.MOTIFS_DIR
    write_meme([(n, np.array(p), 10) for n, p in PFM.items()], d / schema.MOTIF_KERNELS_MEME)
    rows = [{"branch": k.split("_")[0], "kernel": int(k[-4:]), "kernel_name": k, "target_id": t,
             "target_name": tf, "pvalue": e / 879, "evalue": e, "qvalue": e, "offset": 0,
             "strand": "+", "overlap": 2, "n_sites": 10, "width": len(PFM[k]), "rank": r}
            for k, t, tf, e, r in MATCHES]
    pd.DataFrame(rows, columns=schema.MOTIF_MATCH_COLUMNS).to_csv(d / schema.MOTIF_MATCHES_FILE,
                                                                  index=False)
    np.savez(d / schema.MOTIF_ACTIVATIONS_FILE,
             enhancer_max=np.array([[1.0, 0.5], [3.0, 0.25], [2.0, 2.0], [0.5, 1.0]], np.float32),
             enhancer_n_sites=np.array([12, 5]), enhancer_max_activation=np.array([3.0, 2.0]),
             promoter_max=np.array([[0.5, 1.0], [1.5, 0.0], [0.1, 0.2]], np.float32),
             promoter_n_sites=np.array([7, 3]), promoter_max_activation=np.array([1.5, 1.0]))
    top = [{"branch": "enhancer", "kernel": 0, "kernel_name": "enhancer_k0000", "rank": r,
            "window_index": w, "window_id": f"E{w}", "position": 4, "sequence": s, "activation": a}
           for r, w, s, a in ((1, 1, "AC", 3.0), (2, 2, "AG", 2.0))]
    pd.DataFrame(top, columns=schema.TOP_WINDOW_COLUMNS).to_csv(d / schema.MOTIF_TOP_WINDOWS_FILE,
                                                                index=False)
    atomic_write_json(d / schema.MOTIF_SUMMARY_FILE, {
        "parameters": {"max_evalue": 0.5, "min_kernels": 2, "fraction": 0.5},
        "jaspar": {"release": "JASPAR2024"}})
    (d / schema.MOTIF_LOGOS_DIR).mkdir()
    (d / schema.MOTIF_LOGOS_DIR / "enhancer_k0001.png").write_bytes(SAVED_LOGO)
    return tmp_path


def test_kernel_table_best_match_and_redundancy(motif_root):
    m = MotifsModel(motif_root, "run")
    assert m.error == ""
    t = m.kernels.set_index("kernel_name")
    assert list(t.index) == list(PFM)
    assert list(t["n_sites"]) == [12, 5, 7, 3]
    assert list(t["width"]) == [2, 3, 2, 2]
    assert list(t["target_name"]) == ["CTCF", "CTCF", "ZNF143", ""]
    assert list(t["evalue"]) == [0.001, 0.2, 2.0, np.inf]
    # enhancer kernels matching CTCF with E < 0.5: both; ZNF143 in the promoter branch: none
    assert list(t["redundancy"]) == [2, 2, 0, 0]
    assert list(t["redundant"]) == [True, True, False, False]


def test_kernel_filters(motif_root):
    m = MotifsModel(motif_root, "run")
    assert list(m.selection.kernel_name) == ["enhancer_k0000", "enhancer_k0001", "promoter_k0000",
                                             "promoter_k0001"]
    m.tf = "ctcf"
    assert list(m.selection.kernel_name) == ["enhancer_k0000", "enhancer_k0001"]
    m.max_evalue = 0.01
    assert list(m.selection.kernel_name) == ["enhancer_k0000"]
    m.tf, m.max_evalue = "", 10.0                   # a kernel without a match has E = inf
    assert list(m.selection.kernel_name) == ["enhancer_k0000", "enhancer_k0001", "promoter_k0000"]
    m.branch = "promoter"
    assert list(m.selection.kernel_name) == ["promoter_k0000"]
    m.branch, m.max_evalue, m.sort_by = "all", float("inf"), "n_sites"
    assert list(m.selection.kernel_name) == ["enhancer_k0000", "promoter_k0000", "enhancer_k0001",
                                             "promoter_k0001"]
    with pytest.raises(ValueError, match="branch must be one of"):
        select_kernels(m.kernels, branch="both")


def test_kernel_detail(motif_root):
    m = MotifsModel(motif_root, "run")
    m.kernel = "enhancer_k0000"
    d = m.detail
    assert m.detail_error == ""
    assert d.activations.tolist() == [1.0, 3.0, 2.0, 0.5]
    assert d.threshold == 1.5                                   # fraction 0.5 x max 3.0
    assert list(d.top_windows["window_id"]) == ["E1", "E2"]
    assert list(d.matches["target_name"]) == ["CTCF", "ZNF143"]
    assert d.logo_png[:8] == b"\x89PNG\r\n\x1a\n"                # drawn in memory
    assert d.activation_figure().data[0].x.tolist() == [1.0, 3.0, 2.0, 0.5]
    m.kernel = "enhancer_k0001"
    assert m.detail.logo_png == SAVED_LOGO                      # the saved logo is preferred
    m.kernel = "promoter_k0001"                                 # no match: the kernel alone
    assert m.detail.logo_png[:4] == b"\x89PNG" and len(m.detail.matches) == 0
    m.kernel = "enhancer_k0099"
    assert m.detail is None and "no kernel 'enhancer_k0099'" in m.detail_error


def test_motifs_missing_files_are_named(motif_root):
    (motif_root / "run" / schema.MOTIFS_DIR / schema.MOTIF_TOP_WINDOWS_FILE).unlink()
    m = MotifsModel(motif_root, "run")
    assert "is incomplete for the motifs dashboard: motifs/top_windows.csv is missing" in m.error
    assert "`speid motifs" in m.error


def test_consensus_html():
    assert consensus_html([[0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]]) == (
        '<span style="font-family:monospace;font-weight:bold">'
        '<span style="color:#f7b32b;opacity:1.00">G</span>'
        '<span style="color:#109648;opacity:0.15">A</span></span>')


def test_motifs_view_is_bound_to_the_model(motif_root):
    from speidlib.app.dashboards.motifs_view import MotifsView

    before = _files(motif_root)
    m = MotifsModel(motif_root, "run")
    v = MotifsView(m)
    assert v.table.value.count("<tr>") == 1 + 4
    assert v.table.value.count("data:image/png;base64,") == 1      # the one saved logo
    v.tf.value = "znf"
    assert list(m.selection.kernel_name) == ["promoter_k0000"]
    v.evalue.value = 0.5
    assert len(m.selection) == 0 and v.kernel.options == (("(pick a kernel to open it)", ""),)
    v.tf.value, v.evalue.value = "", float("inf")
    v.kernel.value = "enhancer_k0001"
    assert m.kernel == "enhancer_k0001" and v.logo.value == SAVED_LOGO
    assert "enhancer_k0001" in v.detail_info.value and "AC" not in v.top_windows.value
    assert _files(motif_root) == before


def test_motifs_from_contributions_beside_the_kernels(motif_root):
    """RUN/modisco/motifs.csv (speid modisco) is listed with its logos and null verdicts."""
    from speidlib.app.dashboards.motifs_view import MotifsView

    m = MotifsModel(motif_root, "run")
    v = MotifsView(m)
    assert m.contribution_motifs is None and "speid modisco RUN" in v.contributions.value
    d = motif_root / "run" / "modisco"
    (d / "logos").mkdir(parents=True)
    (d / "logos" / "enhancer.pos_patterns.pattern_0.png").write_bytes(SAVED_LOGO)
    pd.DataFrame({"branch": ["enhancer", "promoter"], "pattern": ["pos_patterns.pattern_0"] * 2,
                  "n_seqlets": [217, 60], "target_id": ["MA0863.1", "MA0506.3"],
                  "target_name": ["MTF1", "Nrf1"], "evalue": [1e-10, 6e-6],
                  "learned": [True, False]}).to_csv(d / "motifs.csv", index=False)
    m = MotifsModel(motif_root, "run")
    v = MotifsView(m)
    assert list(m.contribution_motifs["target_name"]) == ["MTF1", "Nrf1"]
    html = v.contributions.value
    assert html.count("<tr>") == 1 + 2 and html.count("data:image/png;base64,") == 1
    assert "MTF1" in html and ">yes<" in html and ">no<" in html
    assert "permutation_qvalue" not in html                  # a file from before the pattern tests
    df = pd.read_csv(d / "motifs.csv").assign(pattern_qvalue=[3e-10, 6e-6], permutation_qvalue=[0.005, 0.2])
    df.to_csv(d / "motifs.csv", index=False)
    html = MotifsView(MotifsModel(motif_root, "run")).contributions.value
    assert "pattern_qvalue" in html and "permutation_qvalue" in html and "0.005" in html
    (d / "motifs.csv").write_text("branch,pattern\nenhancer,p0\n")
    assert "lacks the column(s)" in MotifsModel(motif_root, "run").error
    assert "speid modisco" in MotifsModel(motif_root, "run").error


def test_pair_detail_logos_letter_height_is_contribution():
    """The pair view's logo track: the stretch around each window's largest contribution."""
    from speidlib.app.dashboards.predictions import PairDetail
    from speidlib.interpret.attribution import Attribution
    from speidlib.viz.attribution import contribution_logo, contribution_region

    summary = {b: np.zeros(200) for b in schema.BRANCHES}
    summary["enhancer"][120:130] = 2.0
    summary["promoter"][10:14] = -1.0
    assert contribution_region(summary["enhancer"], 40) == (90, 130)
    assert contribution_region(summary["promoter"], 40) == (0, 40)
    codes = {b: np.tile(np.arange(4, dtype=np.int8), 50) for b in schema.BRANCHES}
    a = Attribution("integrated_gradients", np.zeros((200, 4)), np.zeros((200, 4)), summary["enhancer"],
                    summary["promoter"], 1.0, "logit")
    hits = pd.DataFrame({"start": [121], "end": [129], "motif_name": ["MTF1"], "strand": ["+"]})
    d = PairDetail(0, {}, codes, {b: 0 for b in codes}, {b: (50, 150) for b in codes},
                   {"enhancer": hits, "promoter": hits.iloc[:0]}, "test", a)
    logos = d.logos(width=40)
    assert set(logos) == set(schema.BRANCHES) and all(p[:4] == b"\x89PNG" for p in logos.values())
    fig = contribution_logo(summary["enhancer"], codes["enhancer"], 90, 130, hits)
    ax = fig.axes[0]
    assert ax.get_ylim()[1] >= 2.0 and any(t.get_text() == "MTF1" for t in ax.texts)


# --- the session's trained run --------------------------------------------------------

@pytest.mark.slow
def test_open_a_pair_of_a_trained_run(tiny_run):
    from speidlib.data.dataset import Dataset

    m = PredictionsModel(tiny_run.parent, tiny_run.name)
    assert m.error == ""
    pair = int(m.selection.index[0])
    m.pair = pair
    assert m.detail_error == ""
    d = m.detail
    ds = Dataset(tiny_run)
    row = m.pairs.loc[pair]
    for branch in schema.BRANCHES:
        e = int(np.flatnonzero(ds.elements[branch]["name"] == row[f"{branch}_name"])[0])
        np.testing.assert_array_equal(d.windows[branch], ds.windows(branch, [e])[0])
        start = int(ds.elements[branch]["span_start"][e] + ds.default_offset[branch][e])
        assert d.window_starts[branch] == start
        assert d.elements[branch] == (row[f"{branch}_start"] - start, row[f"{branch}_end"] - start)
        assert getattr(d.attribution, branch).shape == (ds.window(branch), 4)
        assert list(d.hits[branch].columns[:6]) == ["window", "motif_id", "motif_name", "start",
                                                    "end", "strand"]
    assert "planted in the demo" in d.motif_source and "kernels match best" in d.motif_source
    assert len(d.figure().data) == 2
    gradient = d.attribution.enhancer_summary
    m.method = "ism"                                  # the same pair, by in-silico mutagenesis
    assert m.detail_error == "" and m.detail.attribution.method == "ism"
    assert m.detail.attribution.enhancer.shape == (ds.window("enhancer"), 4)
    assert m.detail.attribution.reference == pytest.approx(d.attribution.reference, abs=1e-4)
    assert not np.allclose(m.detail.attribution.enhancer_summary, gradient)


@pytest.mark.slow
def test_motifs_of_a_trained_run(tiny_run):
    m = MotifsModel(tiny_run.parent, tiny_run.name)
    assert m.error == ""
    n_with_sites = sum(int(np.load(tiny_run / "motifs" / "activations.npz")[f"{b}_n_sites"].astype(bool)
                           .sum()) for b in schema.BRANCHES)
    assert len(m.kernels) == n_with_sites
    m.kernel = m.selection.kernel_name.iloc[0]
    assert m.detail_error == "" and m.detail.logo_png[:4] == b"\x89PNG"
    assert len(m.detail.top_windows) > 0
