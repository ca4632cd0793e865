"""The three voila dashboards in headless Chromium, used the way a person uses them.

voila is started by ``scripts/serve_dashboards.sh`` on a free port of
127.0.0.1 over a temporary runs root holding the session's ``tiny_run`` (as
``demo``), a broken run (``bad_run``) and ``scored`` (tiny_run's scored test
pairs as ``genome_wide/scores.interact``, for the links dashboard). Each test opens a dashboard, waits
for the widgets, changes filters and checks the table against numbers
computed here from the run's files, opens a pair or a kernel, downloads,
switches to the broken run and checks the message. No test may leave an
error in the browser console, a page error, a request that left the machine
(other than the voila template's font CDN, answered locally with an empty
style sheet) or a Traceback in voila's log (which holds the kernels' stderr).
Screenshots and voila's log are kept under ``test-artifacts/dashboards/``.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from speidlib import schema
from speidlib.score.formats import PROMOTER_STRAND, add_ranks, write_links

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "dashboards"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOAD_MS = 240_000     # first render: kernel start, imports, reading the run
DETAIL_MS = 240_000   # first pair: TensorFlow import and model load in the kernel
STEP_MS = 60_000

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh --system)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def runs_root(tiny_run, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs_root")
    (root / "demo").symlink_to(tiny_run, target_is_directory=True)
    bad = root / "bad_run"
    (bad / "motifs").mkdir(parents=True)
    (bad / "predictions.csv").write_text("this is,not a prediction table\n1,2\n")
    scored = root / "scored"                  # the links dashboard's run: tiny_run's test pairs as links
    write_links(_links_of(tiny_run), scored / schema.LINKS_DIR / "scores.interact")
    shutil.copy(tiny_run / schema.CONFIG_FILE, scored / schema.CONFIG_FILE)
    return root


def _links_of(run) -> pd.DataFrame:
    """The scored test pairs of ``run`` as a links table, ranked per chromosome."""
    pred = pd.read_csv(run / "predictions.csv").assign(**{PROMOTER_STRAND: "."})
    return pd.concat([add_ranks(t.copy()) for _, t in pred.groupby("chrom", sort=False)],
                     ignore_index=True)


@contextlib.contextmanager
def _serve(runs_root: Path, log_name: str, **env_extra):
    """voila serving ``dashboards/`` over ``runs_root``: ``{"base": URL, "log": path}``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = ARTIFACTS / log_name
    env = dict(os.environ, SPEID_RUNS_ROOT=str(runs_root), TF_CPP_MIN_LOG_LEVEL="2",
               OMP_NUM_THREADS="2", TF_NUM_INTRAOP_THREADS="2", TF_NUM_INTEROP_THREADS="1", **env_extra)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve_dashboards.sh"), str(runs_root),
                                 str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "predictions: http" not in log_path.read_text():
            assert proc.poll() is None, f"voila exited early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"voila did not answer:\n{log_path.read_text()}"
            time.sleep(0.5)
        yield {"base": f"http://127.0.0.1:{port}", "log": log_path}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def voila(runs_root, tiny_run):
    """voila over ``runs_root`` alone (no example runs); checks the run stays untouched."""
    before = _snapshot(tiny_run)
    with _serve(runs_root, "voila.log", SPEID_EXAMPLE_RUNS="") as served:
        yield served
    assert _snapshot(tiny_run) == before, "a dashboard wrote into the run directory"


EXAMPLE = ROOT / "examples" / "demo_cpu"


@pytest.fixture(scope="module")
def voila_fresh(tmp_path_factory):
    """voila as on a fresh clone: an empty runs root, so the dashboards open the example run."""
    if not (EXAMPLE / "example.json").exists():
        pytest.skip("examples/demo_cpu is not built (scripts/make_example_run.py)")
    before = _snapshot(EXAMPLE)
    env = {k: v for k, v in os.environ.items() if k == "SPEID_EXAMPLE_RUNS"}
    os.environ.pop("SPEID_EXAMPLE_RUNS", None)
    try:
        with _serve(tmp_path_factory.mktemp("empty_runs_root"), "voila_fresh.log") as served:
            yield served
    finally:
        os.environ.update(env)
    assert _snapshot(EXAMPLE) == before, "a dashboard wrote into the example run"


@pytest.fixture(scope="module")
def chromium():
    """One Playwright and one browser for the module: a second sync_playwright() while the
    first is open fails ("Sync API inside the asyncio loop")."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def browser(voila, chromium):
    return chromium


@pytest.fixture(scope="module")
def browser_fresh(voila_fresh, chromium):
    return chromium


class Page:
    """A dashboard page that records console errors, page errors and outside requests."""

    def __init__(self, browser, voila, notebook: str):
        self.voila, self.problems, self.t0 = voila, [], time.monotonic()
        self.page = browser.new_page(viewport={"width": 1400, "height": 3200})
        self.console = ARTIFACTS / f"console_{notebook.split('.')[0]}.log"
        self.console.write_text("")
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self.problems.append(
            f"page error: {e} (at {time.monotonic() - self.t0:.1f} s; {e.stack})"))
        self.page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), self._outside)
        self.page.goto(f"{voila['base']}/voila/render/{notebook}", timeout=LOAD_MS)

    def _on_console(self, message) -> None:
        with open(self.console, "a") as fh:
            fh.write(f"{time.monotonic() - self.t0:7.1f} s {message.type}: {message.text}\n")
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _outside(self, route) -> None:
        if "fontawesome" in route.request.url:      # voila's lab template links a CDN font
            route.fulfill(status=200, content_type="text/css", body="")
        else:
            self.problems.append(f"request left the machine: {route.request.url}")
            route.abort()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def check_clean(self) -> None:
        body = self.page.inner_text("body")
        assert "Traceback" not in body and "There was an error when executing" not in body
        assert self.problems == []
        log = self.voila["log"].read_text()
        assert "Traceback" not in log, f"voila/kernel log holds a traceback:\n{log[-4000:]}"


def test_predictions_dashboard(voila, browser, tiny_run):
    pred = pd.read_csv(tiny_run / "predictions.csv")
    auroc = json.loads((tiny_run / "metrics.json").read_text())["auroc"]
    d = Page(browser, voila, "predictions.ipynb")
    page = d.page
    count, rows = page.locator(".speid-count"), page.locator(".speid-pairs-table tbody tr")
    expect(count).to_have_text(str(len(pred)), timeout=LOAD_MS)
    assert rows.count() == min(100, len(pred))
    roc, pr = page.locator(".speid-roc .jp-RenderedPlotly"), page.locator(".speid-pr .jp-RenderedPlotly")
    expect(roc).to_contain_text(f"AUROC {auroc:.3f}", timeout=STEP_MS)   # = metrics.json
    expect(pr).to_contain_text("AUPR", timeout=STEP_MS)
    d.shot("predictions_1_all_pairs.png")

    # filters: interacting pairs only, then chromosome chr1 sorted by distance
    page.locator(".speid-label button", has_text=re.compile(r"^\s*interacting\s*$")).click()
    n_pos = int(pred["label"].sum())
    expect(count).to_have_text(str(n_pos), timeout=STEP_MS)
    expect(rows).to_have_count(n_pos)
    expect(roc).to_contain_text("needs interacting and non-interacting pairs")
    page.locator(".speid-label button", has_text=re.compile(r"^\s*all\s*$")).click()
    page.locator(".speid-chromosome select").select_option(["chr1"])
    chr1 = pred[pred["chrom"] == "chr1"]
    expect(count).to_have_text(str(len(chr1)), timeout=STEP_MS)
    page.locator(".speid-sort-by select").select_option("distance")
    page.locator(".speid-order button", has_text="ascending").click()
    first = chr1.sort_values("distance", kind="stable").iloc[0]
    expect(rows.first.locator("td").nth(4)).to_have_text(f"{first['distance']:,}", timeout=STEP_MS)
    d.shot("predictions_2_filtered.png")

    # one pair: the first row of the table
    pair_id = rows.first.locator("td").first.inner_text().strip()
    page.locator(".speid-pair select").select_option(index=1)
    detail = page.locator(".speid-detail")
    expect(detail).to_contain_text(f"pair #{pair_id}", timeout=DETAIL_MS)
    expect(detail).to_contain_text("enhancer window chr1:")
    figure = page.locator(".speid-detail-figure .jp-RenderedPlotly")
    expect(figure).to_contain_text("promoter window", timeout=STEP_MS)
    expect(figure).to_contain_text("gradient_x_input")
    logos = page.locator(".speid-contribution-logos img")      # letter height = contribution
    expect(logos.first).to_be_visible(timeout=STEP_MS)
    assert logos.first.evaluate("img => img.naturalWidth") > 300
    page.get_by_role("button", name=re.compile("integrated gradients")).click()
    expect(figure).to_contain_text("integrated_gradients", timeout=DETAIL_MS)
    expect(logos.last).to_be_visible(timeout=STEP_MS)
    d.shot("predictions_3_pair.png")

    # downloads of the selection: CSV, then BEDPE
    page.get_by_role("button", name="selection as CSV").click()
    link = page.locator("a.speid-download")
    expect(link).to_have_attribute("href", re.compile("^data:text/csv;base64,"), timeout=STEP_MS)
    csv = pd.read_csv(io.BytesIO(base64.b64decode(link.get_attribute("href").split(",", 1)[1])))
    assert list(csv.columns) == list(pred.columns)
    assert len(csv) == len(chr1) and csv["distance"].is_monotonic_increasing
    page.get_by_role("button", name="selection as BEDPE").click()
    expect(link).to_have_attribute("href", re.compile("^data:text/tab-separated-values;base64,"))
    bedpe = base64.b64decode(link.get_attribute("href").split(",", 1)[1]).decode().splitlines()
    assert len(bedpe) == len(chr1) and all(len(line.split("\t")) == 12 for line in bedpe)
    assert bedpe[0].split("\t")[:3] == ["chr1", str(first["enhancer_start"]), str(first["enhancer_end"])]

    # the same pair by in-silico mutagenesis: the map as a position x base heat map, its TSV
    page.get_by_role("button", name=re.compile("in-silico mutagenesis")).click()
    ism_map = page.locator(".speid-ism-map")
    expect(ism_map.locator(".jp-RenderedPlotly")).to_contain_text("every base changed to every other",
                                                                  timeout=DETAIL_MS)
    expect(ism_map.locator("a.speid-download")).to_have_attribute(
        "href", re.compile("^data:text/tab-separated-values;base64,"), timeout=STEP_MS)
    tsv = pd.read_csv(io.BytesIO(base64.b64decode(
        ism_map.locator("a.speid-download").get_attribute("href").split(",", 1)[1])), sep="\t")
    assert len(tsv) == 800 and list(tsv.columns[-5:]) == ["A", "C", "G", "T", "summary"]   # 400 + 400 bp
    d.shot("predictions_5_ism_map.png")

    # a broken run: a readable message instead of the dashboard
    page.locator(".speid-run-picker select").select_option("bad_run")
    expect(page.locator(".speid-error")).to_contain_text("lacks the column(s) enhancer_name",
                                                         timeout=STEP_MS)
    expect(page.locator(".speid-pairs-table")).to_be_hidden()
    d.shot("predictions_4_bad_run.png")
    d.check_clean()


def test_motifs_dashboard(voila, browser, tiny_run):
    from speidlib.data.jaspar import read_meme

    mdir = tiny_run / "motifs"
    names = [n for n, _ in read_meme(mdir / "kernels.meme")]
    m = pd.read_csv(mdir / "matches.csv")
    best = m[m["rank"] == 1].set_index("kernel_name").reindex(names)
    d = Page(browser, voila, "motifs.ipynb")
    page = d.page
    count = page.locator(".speid-count")
    expect(count).to_have_text(str(len(names)), timeout=LOAD_MS)
    expect(page.locator(".speid-kernels-table tbody tr")).to_have_count(min(60, len(names)))
    d.shot("motifs_1_all_kernels.png")

    # filters: TF name, then E-value
    tf = best["target_name"].value_counts().index[0]
    page.locator(".speid-tf input").fill(tf.lower())
    page.locator(".speid-tf input").press("Enter")
    has_tf = best["target_name"].str.contains(tf, case=False, regex=False)
    expect(count).to_have_text(str(int(has_tf.sum())), timeout=STEP_MS)
    page.locator(".speid-tf input").fill("")
    page.locator(".speid-tf input").press("Enter")
    page.locator(".speid-evalue select").select_option(label="E < 0.01")
    expect(count).to_have_text(str(int((best["evalue"] < 0.01).sum())), timeout=STEP_MS)
    d.shot("motifs_2_filtered.png")

    # one kernel: the first of the table (smallest E-value)
    first = best[best["evalue"] < 0.01].sort_values(["evalue"], kind="stable").index[0]
    page.locator(".speid-kernel select").select_option(index=1)
    detail = page.locator(".speid-detail")
    expect(detail).to_contain_text(first, timeout=STEP_MS)
    expect(detail).to_contain_text(f"best match {best.loc[first, 'target_name']}")
    logo = page.locator("img.speid-logo")
    expect(logo).to_be_visible(timeout=STEP_MS)
    assert logo.evaluate("img => img.naturalWidth") > 100
    expect(page.locator(".speid-activations .jp-RenderedPlotly")).to_contain_text(
        "largest activation per window", timeout=STEP_MS)
    top = pd.read_csv(mdir / "top_windows.csv")
    top1 = top[(top["kernel_name"] == first) & (top["rank"] == 1)].iloc[0]
    expect(page.locator(".speid-top-windows")).to_contain_text(top1["sequence"])
    d.shot("motifs_3_kernel.png")
    expect(page.locator(".speid-contribution-motifs")).to_contain_text("speid modisco RUN")   # none yet

    page.locator(".speid-run-picker select").select_option("bad_run")
    expect(page.locator(".speid-error")).to_contain_text("is incomplete for the motifs dashboard",
                                                         timeout=STEP_MS)
    d.shot("motifs_4_bad_run.png")
    d.check_clean()


# --- a fresh clone: no run yet, the dashboards open the committed example run ----------------

def test_fresh_clone_predictions_dashboard_shows_the_example_run(voila_fresh, browser_fresh):
    pred = pd.read_csv(EXAMPLE / "predictions.csv")
    auroc = json.loads((EXAMPLE / "metrics.json").read_text())["auroc"]
    d = Page(browser_fresh, voila_fresh, "predictions.ipynb")
    page = d.page
    count, rows = page.locator(".speid-count"), page.locator(".speid-pairs-table tbody tr")
    expect(count).to_have_text(str(len(pred)), timeout=LOAD_MS)
    assert page.locator(".speid-run-picker select").input_value() == "example:demo_cpu"
    assert rows.count() == min(100, len(pred))
    top = pred.sort_values("score", ascending=False, kind="stable").iloc[0]
    expect(page.locator(".speid-pairs-table")).to_contain_text(top["enhancer_name"])
    expect(page.locator(".speid-roc .jp-RenderedPlotly")).to_contain_text(f"AUROC {auroc:.3f}",
                                                                           timeout=STEP_MS)
    expect(page.locator(".speid-pr .jp-RenderedPlotly")).to_contain_text("AUPR", timeout=STEP_MS)
    d.shot("fresh_predictions_1.png")
    page.locator(".speid-pair select").select_option(index=1)
    if (EXAMPLE / "dataset.h5").exists():     # written by postBuild / make_example_run.py --dataset-only
        figure = page.locator(".speid-detail-figure .jp-RenderedPlotly")
        expect(figure).to_contain_text("gradient_x_input", timeout=DETAIL_MS)
        expect(figure).to_contain_text("promoter window")
    else:
        expect(page.locator("body")).to_contain_text("dataset.h5", timeout=DETAIL_MS)
    d.shot("fresh_predictions_2_pair.png")
    d.check_clean()


def test_fresh_clone_motifs_dashboard_shows_the_example_run(voila_fresh, browser_fresh):
    from speidlib.data.jaspar import read_meme

    mdir = EXAMPLE / "motifs"
    names = [n for n, _ in read_meme(mdir / "kernels.meme")]
    d = Page(browser_fresh, voila_fresh, "motifs.ipynb")
    page = d.page
    expect(page.locator(".speid-count")).to_have_text(str(len(names)), timeout=LOAD_MS)
    expect(page.locator(".speid-kernels-table tbody tr")).to_have_count(min(60, len(names)))
    best = pd.read_csv(mdir / "matches.csv").query("rank == 1").sort_values("evalue", kind="stable")
    expect(page.locator(".speid-kernels-table")).to_contain_text(best.iloc[0]["target_name"])
    page.locator(".speid-kernel select").select_option(index=1)
    logo = page.locator("img.speid-logo")
    expect(logo).to_be_visible(timeout=STEP_MS)
    assert logo.evaluate("img => img.naturalWidth") > 100
    expect(page.locator(".speid-activations .jp-RenderedPlotly")).to_contain_text(
        "largest activation per window", timeout=STEP_MS)
    d.shot("fresh_motifs_1_kernel.png")
    d.check_clean()


def test_links_dashboard(voila, browser, tiny_run):
    links = _links_of(tiny_run)
    cell = json.loads((tiny_run / schema.CONFIG_FILE).read_text())["prepare"].get("cell_line") or "."
    best = links.loc[links["score"].idxmax()]
    own = links[links["enhancer_name"] == best["enhancer_name"]]
    d = Page(browser, voila, "links.ipynb")
    page = d.page
    count, rows = page.locator(".speid-count"), page.locator(".speid-links-table tbody tr")
    figure = page.locator(".speid-links-figure .jp-RenderedPlotly")
    # opens on the best link's enhancer: its links, arcs and its top promoter
    expect(count).to_have_text(str(len(own)), timeout=LOAD_MS)
    expect(rows).to_have_count(len(own))
    expect(rows.first.locator("td").first).to_have_text(best["enhancer_name"])
    expect(rows.first.locator("td").nth(1)).to_have_text(best["promoter_name"])
    expect(figure).to_contain_text(f"links of {best['enhancer_name']}", timeout=STEP_MS)
    expect(page.locator(".speid-top-table tbody tr")).to_have_count(1)
    assert figure.locator("path.js-line").count() >= 1            # arcs drawn
    d.shot("links_1_best_enhancer.png")

    # a gene by name, then a whole chromosome
    gene = links["promoter_name"].value_counts().index[0]
    page.locator(".speid-name input").fill(gene.lower())
    page.locator(".speid-name input").press("Enter")
    n_gene = int((links["promoter_name"] == gene).sum())
    expect(count).to_have_text(str(n_gene), timeout=STEP_MS)
    expect(figure).to_contain_text(f"links of {gene}", timeout=STEP_MS)
    d.shot("links_2_gene.png")
    page.locator(".speid-chrom select").select_option("chr1")
    chr1 = links[links["chrom"] == "chr1"]
    expect(count).to_have_text(str(len(chr1)), timeout=STEP_MS)
    expect(rows).to_have_count(min(200, len(chr1)))
    n_top = chr1["enhancer_name"].nunique()
    expect(page.locator(".speid-top-table tbody tr")).to_have_count(n_top)
    d.shot("links_3_chromosome.png")

    # download of the view: the ABC-style table, then UCSC interact
    page.locator(".speid-format button", has_text=re.compile(r"^\s*abc\s*$")).click()
    page.get_by_role("button", name="download the view").click()
    link = page.locator("a.speid-download")
    expect(link).to_have_attribute("href", re.compile("^data:text/tab-separated-values;base64,"),
                                   timeout=STEP_MS)
    abc = pd.read_csv(io.BytesIO(base64.b64decode(link.get_attribute("href").split(",", 1)[1])), sep="\t")
    assert len(abc) == len(chr1) and set(abc["TargetGene"]) == set(chr1["promoter_name"])
    assert (abc["CellType"] == cell).all() and abc["SPEID.Score"].is_monotonic_decreasing
    page.locator(".speid-format button", has_text="interact").click()
    page.get_by_role("button", name="download the view").click()
    expect(link).to_contain_text(".interact", timeout=STEP_MS)
    lines = base64.b64decode(link.get_attribute("href").split(",", 1)[1]).decode().splitlines()
    assert lines[0].startswith("track type=interact") and len(lines) == 1 + len(chr1)
    assert all(len(line.split("\t")) == 18 for line in lines[1:])

    # a run without scored links: a readable message
    page.locator(".speid-run-picker select").select_option("demo")
    expect(page.locator(".speid-error")).to_contain_text("holds no scored links in genome_wide/",
                                                         timeout=STEP_MS)
    d.shot("links_4_no_links.png")
    d.check_clean()
