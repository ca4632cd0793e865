import numpy as np
import pytest

from speidlib.data import encode


def test_encode_exact_codes_and_case_folding():
    np.testing.assert_array_equal(encode.encode("ACGTNacgtRn"),
                                  np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4], dtype=np.int8))
    assert encode.encode("ACGT").dtype == np.int8


def test_one_hot_base_order_and_n_is_zero():
    X = encode.one_hot(encode.encode("ACGTN"))
    expected = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
                        dtype=np.float32)
    np.testing.assert_array_equal(X, expected)
    assert X.dtype == np.float32


def test_round_trip_batched():
    codes = np.array([[0, 1, 2, 3, 4], [4, 3, 3, 1, 0]], dtype=np.int8)
    X = encode.one_hot(codes)
    assert X.shape == (2, 5, 4)
    np.testing.assert_array_equal(encode.from_one_hot(X), codes)
    assert encode.decode(codes[1]) == "NTTCA"


def test_reverse_complement_codes_and_one_hot_agree():
    codes = encode.encode("AACGTN")
    rc = encode.reverse_complement(codes)
    assert encode.decode(rc) == "NACGTT"
    np.testing.assert_array_equal(encode.reverse_complement(rc), codes)


def test_int8_storage_is_at_least_4x_smaller_than_float_one_hot():
    codes = encode.encode("ACGT" * 250)
    assert encode.one_hot(codes).nbytes / codes.nbytes == 16


def test_bad_codes_raise_clear_errors():
    with pytest.raises(ValueError, match="0-4"):
        encode.one_hot(np.array([0, 5]))
    with pytest.raises(ValueError, match="integers"):
        encode.one_hot(np.array([0.5]))
    with pytest.raises(ValueError, match="last axis of 4"):
        encode.from_one_hot(np.zeros((3, 5)))
