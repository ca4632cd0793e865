"""Writers of scored pairs (CSV and BEDPE), used by :class:`speidlib.run.Run`."""
from __future__ import annotations

import pandas as pd

from speidlib import schema
from speidlib.io import atomic_path

BEDPE_COLUMNS = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score",
                 "strand1", "strand2", "label", "distance"]


def to_bedpe(pred: pd.DataFrame) -> pd.DataFrame:
    """Scored pairs as BEDPE (enhancer as the first end), for Juicebox, HiGlass or IGV."""
    return pd.DataFrame({
        "chrom1": pred[schema.CHROM], "start1": pred[schema.ENHANCER_START],
        "end1": pred[schema.ENHANCER_END], "chrom2": pred[schema.CHROM],
        "start2": pred[schema.PROMOTER_START], "end2": pred[schema.PROMOTER_END],
        "name": pred[schema.ENHANCER_NAME] + "~" + pred[schema.PROMOTER_NAME],
        "score": pred[schema.SCORE].round(6), "strand1": ".", "strand2": ".",
        "label": pred[schema.LABEL], "distance": pred[schema.DISTANCE]})[BEDPE_COLUMNS]


def write_bedpe(pred: pd.DataFrame, path) -> None:
    """Write scored pairs as headerless, tab-separated BEDPE (atomically)."""
    with atomic_path(path) as tmp:
        to_bedpe(pred).to_csv(tmp, sep="\t", header=False, index=False)


def write_predictions_csv(pred: pd.DataFrame, path) -> None:
    """Write scored pairs as CSV with a header (atomically)."""
    with atomic_path(path) as tmp:
        pred.to_csv(tmp, index=False)
