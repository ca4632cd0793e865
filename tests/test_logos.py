import os

os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from speidlib.data import jaspar  # noqa: E402
from speidlib.interpret import kernels, matching  # noqa: E402
from speidlib.interpret import logos as L  # noqa: E402

TARGET = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0.5, 0.5]])   # A, C, G/T


def test_aligned_match_places_the_target_in_query_coordinates():
    plus = L.aligned_match(TARGET, offset=2, strand="+")
    assert plus.index.tolist() == [-2, -1, 0]                      # query i faces target i + 2
    np.testing.assert_array_equal(plus.to_numpy(), TARGET)
    minus = L.aligned_match(TARGET, offset=-1, strand="-")
    assert minus.index.tolist() == [1, 2, 3]
    # reverse complement: (G/T -> A/C), (C -> G), (A -> T)
    np.testing.assert_array_equal(minus.to_numpy(), [[.5, .5, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    assert list(minus.columns) == ["A", "C", "G", "T"]
    with pytest.raises(ValueError, match="strand"):
        L.aligned_match(TARGET, 0, "+-")


def test_bits():
    bits = L.pfm_bits(TARGET)
    np.testing.assert_allclose(bits.to_numpy(), [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, .5, .5]])
    np.testing.assert_allclose(L.pfm_frame([[2, 2, 0, 0], [0, 0, 0, 0]]).to_numpy(),
                               [[.5, .5, 0, 0], [.25] * 4])
    with pytest.raises(ValueError, match="shape"):
        L.pfm_frame(np.ones((3, 5)))


def test_tomtom_alignment_of_a_shifted_reverse_complement_kernel():
    """A kernel PFM that is CTCF's reverse complement behind 3 uniform columns lines up exactly."""
    ctcf = jaspar.get_motif("MA0139.2")
    kernel = np.vstack([np.full((3, 4), 0.25), ctcf.pfm()[::-1, ::-1]])
    matches = matching.tomtom_matches({"k": kernel}, jaspar.load_motifs("JASPAR2024"), n_best=1, n_jobs=1)
    best = matches.iloc[0]
    assert (best.target_id, best.strand, best.offset) == ("MA0139.2", "-", -3)
    aligned = L.aligned_match(ctcf.pfm(), best.offset, best.strand)
    assert aligned.index.tolist() == list(range(3, 18))
    np.testing.assert_allclose(aligned.to_numpy(), kernel[3:])
    fig = L.kernel_logo(kernel, ctcf.pfm(), best.offset, best.strand, "k", "CTCF")
    top, bottom = fig.axes
    assert top.get_xlim() == bottom.get_xlim() == (-0.5, 17.5)
    assert [t.get_text() for t in (top.title, bottom.title)] == ["", ""]
    assert top.get_title(loc="left") == "k" and bottom.get_title(loc="left") == "CTCF"
    # the match's letters (glyphs 0.95 wide) span query positions 3..17, under the kernel's
    extents = [p.get_path().get_extents() for p in bottom.patches]
    assert (min(e.x0 for e in extents), max(e.x1 for e in extents)) == pytest.approx((2.525, 17.475))


def test_save_logo_and_kernel_logos(tmp_path):
    fig = L.kernel_logo(TARGET)
    assert len(fig.axes) == 1
    path = L.save_logo(fig, tmp_path / "one.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    ctcf = jaspar.get_motif("MA0139.2")
    counts = np.zeros((2, 15, 4))
    counts[0] = ctcf.counts
    kp = kernels.KernelPFMs("enhancer", counts, np.array([100, 0]), np.ones(2), np.zeros((1, 2)),
                      np.zeros((1, 2), int), np.array([[0, 15], [0, 15]]), 0.5, 0.5, "all")
    matches = pd.DataFrame({"kernel_name": ["enhancer_k0000", "enhancer_k0000"], "rank": [1, 2],
                            "target_id": ["MA0139.2", "MA1929.2"], "evalue": [1e-20, 1e-5],
                            "offset": [0, 3], "strand": ["+", "-"]})
    paths = L.save_kernel_logos([kp], matches, tmp_path / "logos", targets=[ctcf])
    assert [p.name for p in paths] == ["enhancer_k0000.png"]
    paths = L.save_kernel_logos([kp], matches, tmp_path / "all", targets=[ctcf], which="all")
    assert [p.name for p in paths] == ["enhancer_k0000.png", "enhancer_k0001.png"]
    assert not list((tmp_path / "all").glob(".*"))
    with pytest.raises(ValueError, match="which"):
        L.save_kernel_logos([kp], matches, tmp_path, targets=[ctcf], which="best")
