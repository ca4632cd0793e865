"""The links dashboard's model and view without a browser, on a hand-built scored file.

Seven pairs on two chromosomes (chr1: enhancers E1, E2, E3 and genes GENEA,
GENEB, GENEC; chr2: E4 and GENED) with scores chosen so that the views, the
top promoters and the ranks can be written down by hand.
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest

from speidlib import schema
from speidlib.app.dashboards import LinksModel, links_dashboard
from speidlib.app.dashboards.links import find_element, list_link_files
from speidlib.data.regions import element_centres
from speidlib.score.formats import (
    ENHANCER_RANK,
    FORMATS,
    LINK_COLUMNS,
    PROMOTER_RANK,
    PROMOTER_STRAND,
    LinkWriter,
    add_ranks,
    read_links,
    write_links,
)
from speidlib.viz.links import arc_paths, links_figure, score_by_distance_figure

ELEMENTS = {"E1": (1000, 1200), "E2": (5000, 5200), "E3": (50_000, 50_200), "E4": (100, 300),
            "GENEA": (3000, 3001), "GENEB": (9000, 9001), "GENEC": (60_000, 60_001),
            "GENED": (1000, 1001)}
PAIRS = [("chr1", "E1", "GENEA", 0.9), ("chr1", "E1", "GENEB", 0.3), ("chr1", "E2", "GENEA", 0.2),
         ("chr1", "E2", "GENEB", 0.8), ("chr1", "E3", "GENEC", 0.6), ("chr1", "E3", "GENEB", 0.1),
         ("chr2", "E4", "GENED", 0.5)]


def _links() -> pd.DataFrame:
    rows = []
    for chrom, e, p, s in PAIRS:
        (es, ee), (ps, pe) = ELEMENTS[e], ELEMENTS[p]
        d = abs(int(element_centres(np.array([es]), np.array([ee]))[0])
                - int(element_centres(np.array([ps]), np.array([pe]))[0]))
        rows.append({schema.CHROM: chrom, schema.ENHANCER_NAME: e, schema.ENHANCER_START: es,
                     schema.ENHANCER_END: ee, schema.PROMOTER_NAME: p, schema.PROMOTER_START: ps,
                     schema.PROMOTER_END: pe, PROMOTER_STRAND: "+", schema.DISTANCE: d,
                     schema.SCORE: s})
    return pd.concat([add_ranks(t.copy()) for _, t in pd.DataFrame(rows).groupby(schema.CHROM)],
                     ignore_index=True)[LINK_COLUMNS]


@pytest.fixture()
def root(tmp_path):
    run = tmp_path / "scored"
    write_links(_links(), run / schema.LINKS_DIR / "scores.csv")
    write_links(_links(), run / schema.LINKS_DIR / "scores.interact")
    (run / schema.LINKS_DIR / "notes.txt.bak").write_text("not a scored file")
    (run / schema.CONFIG_FILE).write_text(json.dumps({"prepare": {"cell_line": "K562"}}))
    (tmp_path / "a_empty" / schema.LINKS_DIR).mkdir(parents=True)
    bad = tmp_path / "z_broken" / schema.LINKS_DIR
    bad.mkdir(parents=True)
    (bad / "x.csv").write_text("a,b\n1,2\n")
    return tmp_path


def _pairs(view) -> list:
    return list(zip(view[schema.ENHANCER_NAME], view[schema.PROMOTER_NAME]))


def test_ranks_of_the_fixture():
    t = _links().set_index([schema.ENHANCER_NAME, schema.PROMOTER_NAME])
    assert t.loc[("E1", "GENEA"), [ENHANCER_RANK, PROMOTER_RANK]].tolist() == [1, 1]
    assert t.loc[("E2", "GENEA"), [ENHANCER_RANK, PROMOTER_RANK]].tolist() == [2, 2]
    assert t.loc[("E3", "GENEB"), [ENHANCER_RANK, PROMOTER_RANK]].tolist() == [2, 3]


def test_opens_the_scored_run_on_the_best_links_enhancer(root, monkeypatch):
    monkeypatch.setenv(schema.EXAMPLE_RUNS_ENV, "")   # the checkout's example runs are listed too otherwise
    m = LinksModel(root)
    assert m.runs == ("a_empty", "scored", "z_broken")   # folders with genome_wide/ count as runs
    assert m.run == "scored" and m.error == ""      # a_empty has no scored file
    assert m.files == ("scores.csv", "scores.interact") == tuple(list_link_files(root / "scored"))
    assert (m.chrom, m.element) == ("chr1", "E1")
    # E1's links span 1,000-9,001; 5% of it is under the 1 kb margin
    assert (m.start, m.end) == (0, 10_001)
    assert _pairs(m.view) == [("E1", "GENEA"), ("E1", "GENEB")]
    assert _pairs(m.top) == [("E1", "GENEA")]


def test_region_view_top_promoters_and_min_score(root):
    m = LinksModel(root, "scored")
    m.set_region("chr1", 0, 10_000)
    assert _pairs(m.view) == [("E1", "GENEA"), ("E2", "GENEB"), ("E1", "GENEB"), ("E2", "GENEA")]
    assert _pairs(m.top) == [("E1", "GENEA"), ("E2", "GENEB")]
    m.set_region("chr1", 1200, 10_000)             # half-open: E1 ends at 1,200, so it is out
    assert _pairs(m.view) == [("E2", "GENEB"), ("E2", "GENEA")]
    m.set_region("chr1", 0, 10_000)
    m.min_score = 0.5
    assert m.view[schema.SCORE].tolist() == [0.9, 0.8]
    m.min_score = 0.0
    m.chrom = "chr2"                               # a new chromosome shows all of it
    assert (m.start, m.end) == (100, 1001) and _pairs(m.view) == [("E4", "GENED")]
    m.set_region("chr1")
    assert (m.start, m.end) == (1000, 60_001) and len(m.view) == 6
    with pytest.raises(ValueError, match="not before its end"):
        m.set_region("chr1", 500, 500)
    with pytest.raises(ValueError, match="chr9 has no links in scores.csv; it has chr1, chr2"):
        m.set_region("chr9")


def test_locate_a_gene_or_an_enhancer(root):
    m = LinksModel(root, "scored")
    m.locate("geneb")                               # case ignored
    assert m.element == "GENEB" and m.locate_error == ""
    assert _pairs(m.view) == [("E2", "GENEB"), ("E1", "GENEB"), ("E3", "GENEB")]
    assert _pairs(m.top) == [("E1", "GENEA"), ("E2", "GENEB"), ("E3", "GENEC")]
    m.locate("GENE")
    assert m.locate_error == ("No enhancer or promoter is called 'GENE' in this file; names "
                              "containing it: GENEA, GENEB, GENEC, GENED.")
    assert m.element == "GENEB"                     # the view stays
    m.locate("E4")
    assert (m.chrom, _pairs(m.view)) == ("chr2", [("E4", "GENED")])
    with pytest.raises(ValueError, match="Type a gene"):
        find_element(m.links, " ")


def test_downloads_of_the_view_in_every_format(root, tmp_path):
    m = LinksModel(root, "scored")
    m.set_region("chr1", 0, 10_000)
    for fmt in FORMATS:
        text = m.view_text(fmt)
        ext = {"abc": "tsv"}.get(fmt, fmt)
        assert m.export_name(fmt) == f"scored_scores_chr1_0_10000.{ext}"
        path = tmp_path / f"view.{ext}"
        path.write_text(text)
        back = read_links(path)
        assert _pairs(back) == _pairs(m.view)
        np.testing.assert_allclose(back[schema.SCORE], m.view[schema.SCORE])
        # ranks are those of the whole file, not of the four links in view
        assert back[ENHANCER_RANK].tolist() == [1, 1, 2, 2]
        assert back[PROMOTER_RANK].tolist() == [1, 1, 2, 2]
        with LinkWriter(tmp_path / f"whole.{ext}", cell_type="K562", track_name="scores") as w:
            w.write(m.view)
        assert text == (tmp_path / f"whole.{ext}").read_text()
    assert m.view_text("interact").splitlines()[0].startswith("track type=interact")
    assert all(len(line.split("\t")) == 18 for line in m.view_text("interact").splitlines()[1:])
    assert pd.read_csv(io.StringIO(m.view_text("abc")), sep="\t")["CellType"].eq("K562").all()


def test_another_file_of_the_run_and_broken_runs(root):
    m = LinksModel(root, "scored")
    m.set_region("chr1", 0, 10_000)
    m.file = "scores.interact"
    assert m.error == "" and m.element == "E1" and len(m.links) == len(PAIRS)
    m.run = "a_empty"
    assert "holds no scored links in genome_wide/" in m.error and m.view.empty
    m.run = "z_broken"
    assert "x.csv, line 1: missing column(s) chrom" in m.error
    m.run = "../outside"
    assert "is outside the runs root" in m.error


def test_arcs_and_figures():
    x, y = arc_paths(np.array([0.0, 100.0]), np.array([10.0, 60.0]), n_points=3)
    np.testing.assert_allclose(x, [0, 5, 10, np.nan, 100, 80, 60, np.nan])
    np.testing.assert_allclose(y, [0, 5, 0, np.nan, 0, 20, 0, np.nan])
    links = _links()
    chr1 = links[links[schema.CHROM] == "chr1"]
    fig = links_figure(chr1, "chr1", 0, 70_000)
    tops = next(t for t in fig.data if t.name == "links")
    assert len(tops.x) == 6 and list(fig.layout.xaxis.range) == [0, 70_000]
    assert sorted(tops.marker.color) == sorted(chr1[schema.SCORE])
    # deciles 0.1, 0.2, 0.3, 0.6, 0.8, 0.9: six arc traces, then links, enhancers and promoters
    assert len(fig.data) == 6 + 3
    assert [t.name for t in fig.data[-2:]] == ["enhancers (3)", "promoters (3)"]
    few = links_figure(chr1, max_arcs=2)
    assert len(next(t for t in few.data if t.name == "links").x) == 2
    assert "2 best-scored of 6" in few.layout.title.text
    box = score_by_distance_figure(links, n_bins=2)
    assert len(box.data) == 2 and sum(len(b.y) for b in box.data) == len(links)


def test_view_widgets_show_the_model(root):
    view = links_dashboard(root, "scored")
    m = view.model
    m.set_region("chr1", 0, 10_000)
    assert '<b class="speid-count">4</b> of 7 links in view' in view.summary.value
    assert view.table.value.count("<tr>") == 1 + 4 and view.top.value.count("<tr>") == 1 + 2
    assert (view.start.value, view.end.value, view.chrom.value) == (0, 10_000, "chr1")
    assert len(view.figure.outputs) == 1
    view.end.value = 5_500                           # the region follows the widget
    assert _pairs(m.view) == [("E1", "GENEA"), ("E2", "GENEA")]
    view.name.value = "GENEC"
    assert m.element == "GENEC" and view.start.value == m.start
    view.format.value = "bedpe"
    view._offer("bedpe")
    href = view.download.value.split('href="', 1)[1].split('"', 1)[0]
    assert href.startswith("data:text/tab-separated-values;base64,")
    assert base64.b64decode(href.split(",", 1)[1]).decode() == m.view_text("bedpe")


def test_speid_score_writes_into_the_runs_genome_wide_folder_by_default():
    from pathlib import Path

    from speidlib.score.run import default_links_path

    assert default_links_path("runs/x", "a/cands.bedpe.gz") == Path("runs/x/genome_wide/cands.interact")
    assert default_links_path("runs/x", "pairs.csv", "abc") == Path("runs/x/genome_wide/pairs.tsv")
    assert list_link_files(Path("runs/x")) == []            # a run without the folder lists nothing
    with pytest.raises(ValueError, match="unknown format 'vcf'"):
        default_links_path("runs/x", "pairs.csv", "vcf")
