import pandas as pd
import pytest

from speidlib import checks


def test_numeric_columns_converts_in_place_and_names_the_first_bad_row():
    df = pd.DataFrame({"a": ["1", "2"], "b": ["3", "x"], "c": ["n", "o"]})
    with pytest.raises(ValueError, match=r"f.csv, line 3: column 'b' must be a number, got 'x'\. Fix it\."):
        checks.numeric_columns(df, ["a", "b"], lambda row: f"f.csv, line {row + 2}", "Fix it.")
    assert df["a"].tolist() == [1, 2]          # columns before the bad one are converted
    ok = pd.DataFrame({"a": ["1.5", "2"]})
    checks.numeric_columns(ok, ["a"], lambda row: "f")
    assert ok["a"].tolist() == [1.5, 2.0]
