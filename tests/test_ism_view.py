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


def test_a_vcf_scored_against_the_run_pairs_in_the_dashboard(tmp_path, monkeypatch):
    """The predictions dashboard scores a VCF against the run's pairs (speid variants) and offers
    the effects as a table and a TSV download; a bad VCF is a sentence, not a traceback."""
    import shutil

    from speidlib.app.dashboards.predictions import PredictionsModel
    from speidlib.app.dashboards.predictions_view import PredictionsView
    from speidlib.model.build import build_model
    from speidlib.run import Run

    monkeypatch.setenv(schema.EXAMPLE_RUNS_ENV, "")
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), 4000))
    (tmp_path / "g.fa").write_text(f">chrA\n{seq}\n")
    run = tmp_path / "runs" / "toy"
    run.mkdir(parents=True)
    build_model("cpu", 120, 120, jaspar_init=False, seed=1).save(run / schema.MODEL_FILE)
    Run(run).write_record("prepare", {"seed": 0, "genome": str(tmp_path / "g.fa")})
    pairs = pd.DataFrame({"enhancer_start": [500, 500, 2000], "enhancer_end": [700, 700, 2100],
                          "promoter_start": [1200, 3000, 3000], "promoter_end": [1201, 3001, 3001]})
    pairs.insert(0, schema.CHROM, "chrA")
    pairs[schema.ENHANCER_NAME] = "TOY|chrA:" + pairs.enhancer_start.astype(str) + "-" + pairs.enhancer_end.astype(str)
    pairs[schema.PROMOTER_NAME] = "TOY|chrA:" + pairs.promoter_start.astype(str) + "-" + pairs.promoter_end.astype(str)
    pairs[schema.CELL_LINE], pairs[schema.LABEL], pairs[schema.SCORE] = "TOY", [1, 0, 0], [0.9, 0.2, 0.1]
    pairs[schema.DISTANCE] = (pairs.promoter_start - pairs.enhancer_start).abs()
    pairs.to_csv(run / schema.PREDICTIONS_FILE, index=False)
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   f"chrA\t600\tin_enh\t{seq[599]}\t{'ACGT'.replace(seq[599], '')[0]}\t.\t.\t.\n"
                   f"chrA\t3900\tnowhere\t{seq[3899]}\t{'ACGT'.replace(seq[3899], '')[0]}\t.\t.\t.\n")
    m = PredictionsModel(tmp_path / "runs", "toy")
    assert m.error == ""
    v = PredictionsView(m)
    m.score_vcf(str(vcf))                             # the run's recorded genome
    assert m.variant_error == "" and len(m.variant_effects) == 2          # e0 with two promoters
    assert "1 in no window" in m.variant_summary and v.vcf_table.value.count("in_enh") == 2
    back = pd.read_csv(pd.io.common.StringIO(m.variant_tsv()), sep="\t")
    assert back["delta"].tolist() == sorted(back["delta"]) and "variant_effects.tsv" in v.vcf_download.value
    m.score_vcf(str(tmp_path / "missing.vcf"))
    assert "does not exist" in m.variant_error and m.variant_effects is None and v.vcf_table.value == ""
