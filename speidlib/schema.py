"""One source of truth for column names, split codes and file names.

Every module that reads or writes a pair table, a dataset or a run directory
takes its names from here.
"""
from __future__ import annotations

# --- pair tables (the in-memory shape every loader returns) -----------------
ENHANCER_NAME = "enhancer_name"
PROMOTER_NAME = "promoter_name"
ENHANCER_CHROM = "enhancer_chrom"
ENHANCER_START = "enhancer_start"
ENHANCER_END = "enhancer_end"
PROMOTER_CHROM = "promoter_chrom"
PROMOTER_START = "promoter_start"
PROMOTER_END = "promoter_end"
LABEL = "label"
PREDICTION = "prediction"  # TargetFinder's own cross-validated call, optional
CELL_LINE = "cell_line"
CHROM = "chrom"            # the pair's chromosome (enhancer and promoter agree)
DISTANCE = "distance"      # bp between element centres
SPLIT = "split"
SCORE = "score"

PAIR_COLUMNS = [
    ENHANCER_NAME, PROMOTER_NAME, CELL_LINE, CHROM,
    ENHANCER_START, ENHANCER_END, PROMOTER_START, PROMOTER_END,
    DISTANCE, LABEL,
]

# --- splits -----------------------------------------------------------------
TRAIN, VALID, TEST = "train", "valid", "test"
SPLIT_CODES = {TRAIN: 0, VALID: 1, TEST: 2}
SPLIT_NAMES = {v: k for k, v in SPLIT_CODES.items()}
SPLIT_METHODS = ("random", "chromosome", "group")

# --- run directory ----------------------------------------------------------
DATASET_FILE = "dataset.h5"
CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
PREDICTIONS_BEDPE = "predictions.bedpe"
MOTIFS_DIR = "motifs"

# --- model inputs / layer names (motifs and attribution rely on these) -------
ENHANCER_INPUT = "enhancer"
PROMOTER_INPUT = "promoter"
ENHANCER_CONV = "enhancer_conv"
PROMOTER_CONV = "promoter_conv"
BRANCHES = ("enhancer", "promoter")
