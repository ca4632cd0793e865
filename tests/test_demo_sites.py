"""The demo's planted sites as a table, as sites.bed, and their site-breaking variants."""
import numpy as np
import pandas as pd

from speidlib.data.jaspar import write_meme
from speidlib.demo.sites import breaking_variants, demo_motifs, information, planted_sites, write_sites_bed

# a 4-bp motif: position 2 is the most informative (G almost surely), T least likely there
PFM = np.array([[0.4, 0.2, 0.2, 0.2], [0.1, 0.5, 0.2, 0.2], [0.02, 0.015, 0.96, 0.005], [0.3, 0.3, 0.2, 0.2]])


def _demo(tmp_path):
    write_meme([("MA0001.1 TOY enhancer class0", PFM, 100)], tmp_path / "planted_motifs.meme")
    pd.DataFrame({"element": ["chr1:100-200", "chr1:300-400", "chr1:500-600"],
                  "kind": ["enhancer", "enhancer", "promoter"], "chrom": "chr1", "start": [100, 300, 500],
                  "end": [200, 400, 600], "motif_class": [0, 0, -1], "motif_id": ["MA0001.1", "MA0001.1", ""],
                  "sites": ["110:+;150:-", "320:-", ""]}).to_csv(tmp_path / "elements.csv", index=False)
    return tmp_path


def test_sites_table_bed_and_breaking_variants(tmp_path):
    demo = _demo(tmp_path)
    sites = planted_sites(demo)
    assert sites[["start", "end", "strand"]].values.tolist() == [[110, 114, "+"], [150, 154, "-"], [320, 324, "-"]]
    bed = pd.read_csv(write_sites_bed(demo), sep="\t", header=None)
    assert bed[3].tolist() == ["MA0001.1|enhancer"] * 3 and bed[5].tolist() == ["+", "-", "-"]
    assert int(np.argmax(information(PFM))) == 2
    v = breaking_variants(sites, demo_motifs(demo))
    # + strand: motif position 2 is 110 + 2, least likely base T; - strand: position 2 reads
    # genome base end - 1 - 2 on the reverse strand, so the forward base is T's complement, A
    assert v[["pos0", "alt"]].values.tolist() == [[112, "T"], [151, "A"], [321, "A"]]


def test_demo_vcf_breaks_each_copy_once_and_adds_a_random_snv(tmp_path):
    from speidlib.data.vcf import read_vcf
    from speidlib.interpret.variant_run import write_demo_vcf

    demo = _demo(tmp_path)
    (demo / "genome.fa").write_text(">chr1\n" + "C" * 1000 + "\n")
    info = write_demo_vcf(demo, demo / "truth.vcf", 150, 150, max_elements=5)
    v = read_vcf(demo / "truth.vcf").table
    assert info["n_break"] == 3 and info["n_random"] == 3 and info["n_elements"] == 2
    breaks = v[v["id"].str.startswith("break|")]
    assert breaks[["pos", "alt"]].values.tolist() == [[113, "T"], [152, "A"], [322, "A"]]   # 1-based
    assert (v["ref"] == "C").all() and (v["alt"] != "C").all()
