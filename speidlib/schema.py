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

# --- model internals and training artifacts (speidlib.model / speidlib.train) --
FEATURES_LAYER = "bilstm"          # last layer of the part frozen in stage 2
OUTPUT_LAYER = "probability"       # the sigmoid output (float32 even under mixed precision)
JASPAR_INIT_FILE = "jaspar_init.csv"
CHECKPOINT_STATE = "state.json"    # inside CHECKPOINT_DIR; the commit point of a checkpoint
PRETRAIN, RETRAIN = "pretrain", "retrain"   # the two training stages (history.csv "stage")
HISTORY_COLUMNS = ["stage", "epoch", "loss", "val_loss", "val_auroc", "val_aupr", "seconds"]

# --- RUN/motifs/ (speidlib.motifs, speidlib.logos) --------------------------
MOTIF_KERNELS_MEME = "kernels.meme"        # trimmed kernel PFMs, named like enhancer_k0012
MOTIF_MATCHES_FILE = "matches.csv"
MOTIF_TF_SUMMARY_FILE = "tf_summary.csv"
MOTIF_ACTIVATIONS_FILE = "activations.npz"  # <branch>_max (n_windows, K), <branch>_ids, ...
MOTIF_TOP_WINDOWS_FILE = "top_windows.csv"
MOTIF_ABLATION_FILE = "ablation.csv"
MOTIF_LOGOS_DIR = "logos"                   # <kernel_name>.png
MOTIF_SUMMARY_FILE = "motifs.json"          # parameters, JASPAR release, counts
MOTIF_MATCH_COLUMNS = ["branch", "kernel", "kernel_name", "target_id", "target_name", "pvalue",
                       "evalue", "qvalue", "offset", "strand", "overlap", "n_sites", "width", "rank"]
TF_SUMMARY_COLUMNS = ["tf", "target_id", "n_enhancer_kernels", "n_promoter_kernels",
                      "redundant_enhancer", "redundant_promoter", "redundant", "best_evalue"]
TOP_WINDOW_COLUMNS = ["branch", "kernel", "kernel_name", "rank", "window_index", "window_id",
                      "position", "sequence", "activation"]
ABLATION_COLUMNS = ["motif_id", "motif_name", "branch", "n_hits", "n_windows_hit", "n_bases",
                    "aupr", "aupr_ablated", "delta_aupr", "mean_score", "delta_mean_score",
                    "delta_mean_score_hit", "control_delta_aupr", "control_delta_mean_score",
                    "control_delta_mean_score_hit"]

# --- dashboards (speidlib.dashboards) ------------------------------------------
RUNS_ROOT_ENV = "SPEID_RUNS_ROOT"  # the folder whose run directories the dashboards may open
DEFAULT_RUNS_ROOT = "runs"         # used when the variable is unset: under the checkout, else the working dir

# --- cross-cell matrices (speidlib.crosscell) ------------------------------------
CROSS_CELL_DIR = "cross_cell"                                # default folder, inside a run directory
CROSS_CELL_MATRIX_FILE = "cross_cell_{model}_{metric}.csv"   # train rows x test columns
CROSS_CELL_LONG_FILE = "cross_cell_long.csv"                 # model, train, test, n_test, ..., auroc, aupr
CROSS_CELL_SUMMARY_FILE = "cross_cell.json"                  # the runs, their windows and test sizes

# --- executed notebooks (speidlib.pipeline) ------------------------------------
RUN_NOTEBOOKS_DIR = "notebooks"        # RUN/notebooks/01_data_prep.ipynb ... (papermill copies)
NOTEBOOK_TIMINGS_FILE = "timings.json"  # inside RUN_NOTEBOOKS_DIR: notebook -> seconds
