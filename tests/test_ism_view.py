"""The predictions dashboard's in-silico mutagenesis map: heat map and download of one pair."""
import numpy as np
import pandas as pd

from speidlib import schema
from speidlib.app.dashboards.predictions import PairDetail
from speidlib.interpret.attribution import Attribution


def _detail(method: str) -> PairDetail:
    rng = np.random.default_rng(0)
    codes = {b: np.tile(np.arange(4, dtype=np.int8), 25) for b in schema.BRANCHES}
    scores = {b: rng.normal(size=(100, 4)) * (np.arange(4) != codes[b][:, None]) for b in schema.BRANCHES}
    a = Attribution(method, scores["enhancer"], scores["promoter"], -scores["enhancer"].sum(1) / 3,
                    -scores["promoter"].sum(1) / 3, 0.5, "logit")
    hits = pd.DataFrame({"start": [10, 40], "end": [18, 48], "motif_name": ["A", "B"], "strand": ["+", "-"]})
    return PairDetail(3, {schema.CHROM: "chr2"}, codes, {"enhancer": 1000, "promoter": 5000},
                      {b: (20, 80) for b in codes}, {"enhancer": hits, "promoter": hits.iloc[:1]}, "test", a)


def test_ism_heat_map_and_its_table():
    d = _detail("ism")
    fig = d.ism_figure()
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert len(maps) == 2 and np.asarray(maps[0].z).shape == (4, 100) and list(maps[0].y) == list("ACGT")
    assert maps[0].x[0] == 1001 and maps[1].x[0] == 5001          # 1-based genome positions
    assert len(fig.layout.shapes) == 3                               # the motif hits, both windows
    np.testing.assert_allclose(np.asarray(maps[1].z).T, d.attribution.promoter)
    t = pd.read_csv(pd.io.common.StringIO(d.ism_tsv()), sep="\t")
    assert len(t) == 200 and t["pos"].iat[0] == 1001 and t["chrom"].eq("chr2").all()
    np.testing.assert_allclose(t[list("ACGT")].to_numpy()[:100], d.attribution.enhancer, atol=1e-5)
    assert (t["ref"].iloc[:4] == list("ACGT")).all()


def test_no_heat_map_for_other_methods():
    assert _detail("gradient_x_input").ism_figure() is None
