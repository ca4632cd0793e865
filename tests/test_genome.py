import numpy as np
import pytest

from speidlib.data.encode import encode
from speidlib.data.genome import Genome


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chr1 test\nACGTNacgt\nAC\n>chr2\nGGGGCC\n")
    return path


def test_fetch_folds_case_and_encodes_n(fasta):
    g = Genome(fasta)
    assert g.chrom_sizes == {"chr1": 11, "chr2": 6}
    np.testing.assert_array_equal(g.fetch("chr1", 3, 10), encode("TNACGTA"))


def test_windows_past_chromosome_ends_are_padded_not_shortened(fasta):
    g = Genome(fasta)
    left = g.fetch("chr2", -3, 2)
    right = g.fetch("chr2", 4, 9)
    np.testing.assert_array_equal(left, encode("NNNGG"))
    np.testing.assert_array_equal(right, encode("CCNNN"))
    out = g.fetch_many(["chr1", "chr2"], [-1, 5], 3)
    np.testing.assert_array_equal(out, np.stack([encode("NAC"), encode("CNN")]))


def test_missing_chromosome_is_named(fasta):
    g = Genome(fasta)
    with pytest.raises(ValueError, match=r"chr7.*g\.fa"):
        g.fetch("chr7", 0, 5)
    with pytest.raises(ValueError, match="chrX, chrY"):
        g.check_chromosomes(["chr1", "chrY", "chrX"])


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Genome(tmp_path / "nope.fa")
