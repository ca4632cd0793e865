"""Tests for speidlib.data.pairs: the three table shapes, gzip, every error, fuzzing, Table 1."""
from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speidlib import schema as S
from speidlib.data.pairs import (
    TARGETFINDER_URL,
    download_targetfinder,
    element_table,
    read_pairs,
    targetfinder_path,
    write_pairs,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TARGETFINDER = SHARED / "targetfinder"

GBM = """enhancer_name,promoter_name,label,prediction
K562|chr1:100-300,K562|chr1:1000-1400,1,1
K562|chr1:100-300,K562|chr1:5000-5200,0,0
K562|chr2:50-60,K562|chr2:70-90,0,1
"""

# the three rows of GBM, as every loader must return them
EXPECTED = pd.DataFrame({
    S.ENHANCER_NAME: ["K562|chr1:100-300", "K562|chr1:100-300", "K562|chr2:50-60"],
    S.PROMOTER_NAME: ["K562|chr1:1000-1400", "K562|chr1:5000-5200", "K562|chr2:70-90"],
    S.CELL_LINE: ["K562"] * 3,
    S.CHROM: ["chr1", "chr1", "chr2"],
    S.ENHANCER_START: [100, 100, 50], S.ENHANCER_END: [300, 300, 60],
    S.PROMOTER_START: [1000, 5000, 70], S.PROMOTER_END: [1400, 5200, 90],
    S.DISTANCE: [1000, 4900, 25],  # |200 - 1200|, |200 - 5100|, |55 - 80|
    S.LABEL: [1, 0, 0],
})

PAIRS_CSV = """bin,enhancer_chrom,enhancer_start,enhancer_end,enhancer_name,promoter_chrom,\
promoter_start,promoter_end,promoter_name,label,cell_line,window_name
1,chr1,100,300,K562|chr1:100-300,chr1,1000,1400,K562|chr1:1000-1400,1,K562,w1
2,chr1,100,300,K562|chr1:100-300,chr1,5000,5200,K562|chr1:5000-5200,0,K562,w2
3,chr2,50,60,K562|chr2:50-60,chr2,70,90,K562|chr2:70-90,0,K562,w3
"""

BEDPE = ("# made by hand\n"
         "chr1\t100\t300\tchr1\t1000\t1400\tpair1\t1\n"
         "chr1\t100\t300\tchr1\t5000\t5200\tpair2\t0\n"
         "\n"
         "chr2\t50\t60\tchr2\t70\t90\tpair3\t0\n")


def write(tmp_path, name, content, compress=False) -> Path:
    data = content.encode() if isinstance(content, str) else content
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_predictions_gbm_shape(tmp_path):
    got = read_pairs(write(tmp_path, "K562_ep.csv", GBM))
    assert list(got.columns) == S.PAIR_COLUMNS + [S.PREDICTION]
    pd.testing.assert_frame_equal(got[S.PAIR_COLUMNS], EXPECTED, check_dtype=False)
    assert got[S.PREDICTION].tolist() == [1.0, 0.0, 1.0]
    assert got[S.LABEL].dtype == np.int64 and got[S.DISTANCE].dtype == np.int64


def test_gzip_detected_by_magic_bytes_not_name(tmp_path):
    got = read_pairs(write(tmp_path, "pairs.txt", GBM, compress=True))
    pd.testing.assert_frame_equal(got[S.PAIR_COLUMNS], EXPECTED, check_dtype=False)
    plain_named_gz = read_pairs(write(tmp_path, "plain.csv.gz", GBM))
    pd.testing.assert_frame_equal(plain_named_gz[S.PAIR_COLUMNS], EXPECTED, check_dtype=False)


def test_pairs_csv_shape_with_extra_columns(tmp_path):
    got = read_pairs(write(tmp_path, "pairs.csv", PAIRS_CSV, compress=True))
    assert list(got.columns) == S.PAIR_COLUMNS
    pd.testing.assert_frame_equal(got, EXPECTED, check_dtype=False)


def test_pairs_csv_without_names_builds_them(tmp_path):
    text = ("enhancer_chrom,enhancer_start,enhancer_end,promoter_chrom,promoter_start,"
            "promoter_end,label\r\nchr1, 100,300,chr1,1000,1400,1\r\n")
    got = read_pairs(write(tmp_path, "p.csv", text))
    assert got[S.ENHANCER_NAME].tolist() == ["chr1:100-300"]
    assert got[S.PROMOTER_NAME].tolist() == ["chr1:1000-1400"]
    assert got[S.CELL_LINE].tolist() == [""]
    assert got[S.DISTANCE].tolist() == [1000]


def test_bedpe_label_from_score_column(tmp_path):
    got = read_pairs(write(tmp_path, "k.bedpe", BEDPE))
    expected = EXPECTED.assign(**{
        S.CELL_LINE: "",
        S.ENHANCER_NAME: ["chr1:100-300", "chr1:100-300", "chr2:50-60"],
        S.PROMOTER_NAME: ["chr1:1000-1400", "chr1:5000-5200", "chr2:70-90"]})
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_bedpe_label_from_header(tmp_path):
    text = ("#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tname\tscore\tlabel\tcell_line\n"
            "chr1\t100\t300\tchr1\t1000\t1400\tp\t0.93\t1\tK562\n")
    got = read_pairs(write(tmp_path, "k.bedpe.gz", text, compress=True))
    assert got[S.LABEL].tolist() == [1]
    assert got[S.CELL_LINE].tolist() == ["K562"]
    assert got[S.ENHANCER_NAME].tolist() == ["K562|chr1:100-300"]
    plain_header = text.lstrip("#")
    assert read_pairs(write(tmp_path, "h.bedpe", plain_header))[S.LABEL].tolist() == [1]


def test_write_pairs_round_trip(tmp_path):
    pairs = read_pairs(write(tmp_path, "K562_ep.csv", GBM))
    for name in ("out.csv", "out.csv.gz"):
        write_pairs(pairs, tmp_path / name)
        pd.testing.assert_frame_equal(read_pairs(tmp_path / name), pairs)
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == \
        "enhancer_name,promoter_name,label,prediction"
    assert (tmp_path / "out.csv.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert not list(tmp_path.glob("*.tmp"))


def test_element_table(tmp_path):
    pairs = read_pairs(write(tmp_path, "K562_ep.csv", GBM))
    enh = element_table(pairs, "enhancer")
    assert enh.to_dict("list") == {"name": ["K562|chr1:100-300", "K562|chr2:50-60"],
                                   "chrom": ["chr1", "chr2"], "start": [100, 50], "end": [300, 60]}
    assert element_table(pairs, "promoter")["name"].tolist() == EXPECTED[S.PROMOTER_NAME].tolist()
    with pytest.raises(ValueError, match="'enhancer' or 'promoter'"):
        element_table(pairs, "window")


HEAD = "enhancer_name,promoter_name,label\n"
PHEAD = ("enhancer_chrom,enhancer_start,enhancer_end,promoter_chrom,promoter_start,promoter_end,"
         "label\n")
OK = "K562|chr1:100-300,K562|chr1:1000-1400,1\n"

ERRORS = [
    # (content, line, problem)
    ("enhancer_name,label\nK562|chr1:1-2,1\n", 1, "missing column(s) promoter_name"),
    (PHEAD.replace(",label", "") + "chr1,1,2,chr1,3,4\n", 1, "missing column(s) label"),
    (HEAD + OK + "K562|chr1:100-3x0,K562|chr1:1000-1400,1\n", 3,
     "enhancer_name 'K562|chr1:100-3x0' is not of the form CELL|chrom:start-end"),
    (PHEAD + "chr1,1,2,chr1,3,4,1\nchr1,abc,2,chr1,3,4,0\n", 3,
     "enhancer_start 'abc' is not a whole number"),
    (HEAD + OK * 15 + "K562|chr1:500-100,K562|chr1:1000-1400,0\n", 17,
     "enhancer_name 'K562|chr1:500-100' has start >= end"),
    (PHEAD + "chr1,1,2,chr1,30,30,1\n", 2, "promoter start 30 >= end 30"),
    (PHEAD + "chr1,-5,2,chr1,3,4,1\n", 2, "enhancer_start is negative (-5)"),
    (HEAD + OK + "K562|chr1:100-300,K562|chr1:1000-1400,2\n", 3, "label '2' is not 0 or 1"),
    (HEAD + OK + "K562|chr1:100-300,K562|chr1:1000-1400,\n", 3, "label '' is not 0 or 1"),
    (HEAD + "K562|chr1:100-300,K562|chr2:1000-1400,1\n", 2,
     "enhancer on chr1 but promoter on chr2"),
    (HEAD + OK + "K562|chr1:100-300,1\n", 3, "expected 3 fields as in the header, found 2"),
    ("enhancer_name,promoter_name,label,prediction\n" + OK.strip() + ",yes\n", 2,
     "prediction 'yes' is not a number"),
    ("", 1, "the file is empty"),
    ("  \n\n", 1, "the file is empty"),
    ("# only a comment\n\n", 3, "only blank or '#' comment lines"),
    (HEAD, 1, "the header has no data rows after it"),
    ("chr1\t1\t2\tchr1\t3\t4\tp\t0.5\n", 1, "column 8 (score) is '0.5'"),
    ("chr1\t1\t2\tchr1\t3\t4\n", 1, "no label"),
    ("chr1\t1\t2\n", 1, "found 3 field(s)"),
    (b"enhancer_name\n\xff\xfe\n", 2, "not UTF-8 text"),
    (b"a,b\n\x00\x01\x02", 2, "not a text file"),
]


@pytest.mark.parametrize("content,line,problem", ERRORS)
@pytest.mark.parametrize("compress", [False, True])
def test_errors_name_file_line_and_problem(tmp_path, content, line, problem, compress):
    path = write(tmp_path, "K562_ep.csv", content, compress)
    with pytest.raises(ValueError) as err:
        read_pairs(path)
    assert str(err.value).startswith(f"K562_ep.csv, line {line}: ")
    assert problem in str(err.value)


def test_broken_gzip(tmp_path):
    path = write(tmp_path, "x.csv.gz", gzip.compress(GBM.encode())[:30])
    with pytest.raises(ValueError, match=r"^x\.csv\.gz: not a valid gzip file"):
        read_pairs(path)


# --- fuzzing: anything but a ValueError is a bug ------------------------------
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADERS = [HEAD, PHEAD, "enhancer_name,promoter_name,label,prediction\n",
           "chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tname\tlabel\n", ""]
PIECES = st.text(alphabet="K562|chr1X:-+09 ,\t#.\"\r\n\x0bé", max_size=40)


def check_parser(path):
    try:
        got = read_pairs(path)
    except ValueError as e:
        assert str(e).startswith(path.name), e
    else:
        assert list(got.columns)[:10] == S.PAIR_COLUMNS
        assert set(got[S.LABEL]) <= {0, 1}
        assert (got[S.ENHANCER_START] < got[S.ENHANCER_END]).all()


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_bytes(tmp_path, data, compress):
    check_parser(write(tmp_path, "f.csv", data, compress))


@FUZZ
@given(st.sampled_from(HEADERS), st.lists(PIECES, max_size=4))
def test_fuzz_text_after_a_header(tmp_path, header, body):
    check_parser(write(tmp_path, "f.csv", header + "\n".join(body)))


@pytest.mark.parametrize("table", [GBM, PAIRS_CSV, BEDPE], ids=["gbm", "pairs_csv", "bedpe"])
@FUZZ
@given(st.floats(0, 1), st.integers(0, 8), PIECES)
def test_fuzz_mutated_table(tmp_path, table, where, cut, insert):
    at = int(where * len(table))
    check_parser(write(tmp_path, "f.csv", table[:at] + insert + table[at + cut:]))


# --- TargetFinder tables --------------------------------------------------------
def test_targetfinder_path_and_download(tmp_path):
    assert targetfinder_path("K562", "ep", data_dir=tmp_path) is None
    source = write(tmp_path, "K562_ep.csv", GBM)
    assert targetfinder_path("K562", "ep", data_dir=tmp_path) == source
    cache = tmp_path / "cache"
    url = source.parent.as_uri() + "/{cell}_{feature_set}.csv"
    got = download_targetfinder("K562", "ep", cache_dir=cache, url=url, progress=False)
    assert got == cache / "K562_ep.csv" and got.read_text() == GBM
    source.unlink()  # cached: a second call does not fetch
    assert download_targetfinder("K562", "ep", cache_dir=cache, url=url, progress=False) == got
    assert not list(cache.glob(".*.tmp"))
    assert TARGETFINDER_URL.format(cell="K562", feature_set="ep") == (
        "https://raw.githubusercontent.com/shwhalen/targetfinder/master/paper/targetfinder/"
        "K562/output-ep/predictions-gbm.csv")
    with pytest.raises(ValueError, match="unknown TargetFinder cell line 'K-562'"):
        targetfinder_path("K-562")
    with pytest.raises(ValueError, match="no EE/P"):
        download_targetfinder("GM12878", "eep", cache_dir=cache)


def test_failed_download_leaves_no_file(tmp_path):
    url = tmp_path.as_uri() + "/missing_{cell}_{feature_set}.csv"
    with pytest.raises(OSError):
        download_targetfinder("K562", "ep", cache_dir=tmp_path / "c", url=url, progress=False)
    assert not (tmp_path / "c" / "K562_ep.csv").exists()


needs_shared = pytest.mark.skipif(not TARGETFINDER.is_dir(), reason="../shared/data absent")


@needs_shared
def test_targetfinder_counts_match_table1():
    table1 = pd.read_csv(SHARED / "speid_paper" / "table1_counts.csv")
    table1 = table1[table1["cell_line"] != "Total"]
    assert len(table1) == 6
    for row in table1.itertuples():
        path = targetfinder_path(row.cell_line, "ep", TARGETFINDER)
        pairs = read_pairs(path)
        assert (pairs[S.LABEL] == 1).sum() == row.positive_pairs, row.cell_line
        assert (pairs[S.LABEL] == 0).sum() == row.negative_pairs, row.cell_line
        assert set(pairs[S.CELL_LINE]) == {row.cell_line}


@needs_shared
def test_real_table_loads_fast():
    path = TARGETFINDER / "K562_ep.csv.gz"
    start = time.perf_counter()
    pairs = read_pairs(path)
    assert time.perf_counter() - start < 2.0  # ~0.15 s here; generous for a busy machine
    assert len(pairs) == 41477
    assert pairs[S.DISTANCE].min() > 0
