import numpy as np
import pytest

from speidlib.data import regions


def test_span_and_centred_window():
    # element 100-200 (centre 150), window 60: span 90-210, centred window 120-180
    assert regions.span_starts([100], [200], 60)[0] == 150 - 60
    off = regions.default_offsets([100], [140], 60, seed=0)
    assert off[0] == 30  # W // 2: window starts at centre - W/2
    span0 = regions.span_starts([100], [140], 60)[0]
    assert span0 + off[0] == 120 - 30


def test_offset_bounds_keep_short_element_inside():
    starts, ends, w = np.array([100, 1000]), np.array([140, 1060]), 100
    lo, hi = regions.offset_bounds(starts, ends, w)
    span0 = regions.span_starts(starts, ends, w)
    # smallest window start puts the element at the right edge, largest at the left edge
    np.testing.assert_array_equal(span0 + lo, ends - w)
    np.testing.assert_array_equal(span0 + hi, starts)


def test_long_element_window_lies_inside_it():
    starts, ends, w = np.array([0]), np.array([500]), 100
    lo, hi = regions.offset_bounds(starts, ends, w)
    span0 = regions.span_starts(starts, ends, w)
    assert lo[0] == 0 and hi[0] == w  # whole span is inside the element
    offs = regions.default_offsets(starts, ends, w, seed=1)
    assert starts[0] <= span0[0] + offs[0] and span0[0] + offs[0] + w <= ends[0]


def test_shifts_are_seeded_and_within_bounds():
    lo, hi = np.array([3, 10]), np.array([7, 10])
    a = regions.sample_shifts(lo, hi, 20, np.random.default_rng(5))
    b = regions.sample_shifts(lo, hi, 20, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 20)
    assert a[0].min() >= 3 and a[0].max() <= 7 and set(a[1]) == {10}


def test_bad_input():
    with pytest.raises(ValueError, match="start < end"):
        regions.offset_bounds([5], [5], 10)
    with pytest.raises(ValueError, match="positive number"):
        regions.span_starts([0], [5], 0)


def test_a_long_element_gets_the_same_window_alone_or_among_others():
    """prepare and every scoring path must give one element one window."""
    starts, ends, chroms, w = np.array([0, 5000, 9000]), np.array([800, 5050, 9700]), ["chr1", "chr1", "chr2"], 100
    together = regions.default_offsets(starts, ends, w, seed=3, chroms=chroms)
    alone = [regions.default_offsets(starts[[i]], ends[[i]], w, seed=3, chroms=[chroms[i]])[0] for i in range(3)]
    np.testing.assert_array_equal(together, alone)
    assert together[1] == w // 2                                    # fits: centred
    lo, hi = regions.offset_bounds(starts, ends, w)
    assert lo[0] <= together[0] <= hi[0] and lo[2] <= together[2] <= hi[2]


def test_long_element_windows_depend_on_seed_and_spread_over_the_element():
    starts = np.arange(0, 200_000, 1000)
    ends = starts + 900
    offs = [regions.default_offsets(starts, ends, 100, seed=s, chroms=["chr1"] * len(starts)) for s in (0, 1)]
    assert (offs[0] != offs[1]).mean() > 0.9
    lo, hi = regions.offset_bounds(starts, ends, 100)
    # uniform over [lo, hi]: the mean relative position is near 0.5
    rel = (offs[0] - lo) / (hi - lo)
    assert 0.4 < rel.mean() < 0.6 and rel.min() >= 0 and rel.max() <= 1
