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
SPLITS_HELD_OUT_FIRST = (TEST, VALID, TRAIN)   # the choices of a step that reads one split

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
LEAKAGE_FILE = "leakage.json"
LOCK_FILE = ".speid.lock"          # held by the step writing the run (speidlib.run.run_lock)
RECORD_LOCK_FILE = ".speid.record.lock"  # held a moment by each update of config.json or the manifest
MANIFEST_FILE = "manifest.json"    # what the workbench wrote into the run, by which step, from which
                                   # model (speidlib.run.Run.manifest); `prepare --overwrite` removes these
LINKS_DIR = "genome_wide"          # RUN/genome_wide/<name>.<csv|bedpe|interact|tsv>: scored links of
                                   # `speid score` and the workflow (speidlib.score.formats); the links
                                   # dashboard lists its files (not those of its parts/ folder)

# --- model inputs / layer names (motifs and attribution rely on these) -------
ENHANCER_INPUT = "enhancer"
PROMOTER_INPUT = "promoter"
ENHANCER_CONV = "enhancer_conv"
PROMOTER_CONV = "promoter_conv"
BRANCHES = ("enhancer", "promoter")

# --- model internals and training artifacts (speidlib.model / speidlib.train) --
MERGE_LAYER = "merge"            # joins the two branches along the sequence axis (scoring cuts here)
MERGE_BATCHNORM = "merge_bn"    # BatchNorm after the merge; kernel activations are measured from its zero
FEATURES_LAYER = "bilstm"          # last layer of the part frozen in stage 2
OUTPUT_LAYER = "probability"       # the sigmoid output (float32 even under mixed precision)
JASPAR_INIT_FILE = "jaspar_init.csv"
INITIAL_KERNELS_FILE = "initial_kernels.npz"   # <branch>_kernel (w, 4, K), <branch>_bias (K,) before training
CHECKPOINT_STATE = "state.json"    # inside CHECKPOINT_DIR; the commit point of a checkpoint
PRETRAIN, RETRAIN = "pretrain", "retrain"   # the two training stages (history.csv "stage")
HISTORY_COLUMNS = ["stage", "epoch", "loss", "val_loss", "val_auroc", "val_aupr", "seconds"]

# --- RUN/motifs/ (speidlib.interpret, speidlib.interpret.logos) --------------------------
MOTIF_KERNELS_MEME = "kernels.meme"        # trimmed kernel PFMs, named like enhancer_k0012
MOTIF_MATCHES_FILE = "matches.csv"
MOTIF_TF_SUMMARY_FILE = "tf_summary.csv"
MOTIF_ACTIVATIONS_FILE = "activations.npz"  # <branch>_max (n_windows, K), <branch>_ids, ...
MOTIF_TOP_WINDOWS_FILE = "top_windows.csv"
MOTIF_ABLATION_FILE = "ablation.csv"
MOTIF_LOGOS_DIR = "logos"                   # <kernel_name>.png
MOTIF_SUMMARY_FILE = "motifs.json"          # parameters, JASPAR release, counts
MOTIF_NULL_MATCHES_FILE = "null_matches.csv"  # matches.csv of the null kernels (initial, untrained)
MOTIF_KERNEL_TABLE_FILE = "kernel_table.csv"  # one row per kernel: informative, best match, importance
KERNEL_TABLE_COLUMNS = ["branch", "kernel", "kernel_name", "n_sites", "width", "information",
                        "informative", "best_target_id", "best_target_name", "best_evalue",
                        "tf_learned", "delta_aupr"]
MOTIF_MATCH_COLUMNS = ["branch", "kernel", "kernel_name", "target_id", "target_name", "pvalue",
                       "evalue", "qvalue", "offset", "strand", "overlap", "n_sites", "width", "rank"]
TF_SUMMARY_COLUMNS = ["tf", "target_id", "n_enhancer_kernels", "n_promoter_kernels",
                      "redundant_enhancer", "redundant_promoter", "redundant", "best_evalue",
                      # kernels whose best match is the TF, the same for kernels that
                      # learned nothing (per null draw), one-sided Fisher test per TF and
                      # branch on these best-match counts, BH over all of them
                      "n_enhancer_best", "n_promoter_best", "n_enhancer_null", "n_promoter_null", "enrichment_enhancer",
                      "enrichment_promoter", "pvalue_enhancer", "pvalue_promoter",
                      "qvalue_enhancer", "qvalue_promoter", "learned_enhancer",
                      "learned_promoter", "learned"]
TOP_WINDOW_COLUMNS = ["branch", "kernel", "kernel_name", "rank", "window_index", "window_id",
                      "position", "sequence", "activation"]
ABLATION_COLUMNS = ["motif_id", "motif_name", "branch", "n_hits", "n_windows_hit", "n_bases",
                    "aupr", "aupr_ablated", "delta_aupr", "mean_score", "delta_mean_score",
                    "delta_mean_score_hit", "control_delta_aupr", "control_delta_mean_score",
                    "control_delta_mean_score_hit"]

# --- dashboards (speidlib.app.dashboards) ------------------------------------------
RUNS_ROOT_ENV = "SPEID_RUNS_ROOT"  # the folder whose run directories the dashboards may open
DEFAULT_RUNS_ROOT = "runs"         # used when the variable is unset: under the checkout, else the working dir
EXAMPLE_RUNS_DIR = "examples"      # committed example runs of the checkout, listed beside the root's
EXAMPLE_RUNS_ENV = "SPEID_EXAMPLE_RUNS"  # another folder of example runs; "" lists none

# --- cross-cell matrices (speidlib.evaluate.crosscell) ------------------------------------
CROSS_CELL_DIR = "cross_cell"                                # default folder, inside a run directory
CROSS_CELL_MATRIX_FILE = "cross_cell_{model}_{metric}.csv"   # train rows x test columns
CROSS_CELL_LONG_FILE = "cross_cell_long.csv"                 # model, train, test, n_test, ..., auroc, aupr
CROSS_CELL_SUMMARY_FILE = "cross_cell.json"                  # the runs, their windows and test sizes

# --- executed notebooks (speidlib.app.notebooks) ------------------------------------
RUN_NOTEBOOKS_DIR = "notebooks"        # RUN/notebooks/01_data_prep.ipynb ... (papermill copies)
NOTEBOOK_TIMINGS_FILE = "timings.json"  # inside RUN_NOTEBOOKS_DIR: notebook -> seconds

# --- the CRISPRi enhancer-gene benchmark (speidlib.data.crispr, speidlib.evaluate.crispr) ---
CRISPR_ELEMENT_CHROM = "chrom"              # the perturbed element, as in the benchmark tables
CRISPR_ELEMENT_START = "element_start"
CRISPR_ELEMENT_END = "element_end"
CRISPR_GENE = "gene"
CRISPR_TSS_CHROM = "tss_chrom"
CRISPR_TSS_START = "tss_start"
CRISPR_TSS_END = "tss_end"
CRISPR_REGULATED = "regulated"              # bool: significant knock-down of the gene
CRISPR_VALID = "valid_connection"           # "TRUE", or the benchmark's reason to leave the pair out
CRISPR_CELL_TYPE = "cell_type"
CRISPR_DATASET = "dataset"                  # Dataset column, else Reference (Fulco 2019 table)
CRISPR_DISTANCE = "distance_to_tss"         # bp to the TSS: the table's distanceToTSS, else from startTSS
CRISPR_WEIGHT = "weight"                    # direct_vs_indirect_negative: the weighted metrics' case weight
CRISPR_LINE = "table_line"                  # the pair's line in the benchmark table (the header is line 1)
CRISPR_PAIR_COLUMNS = [CRISPR_ELEMENT_CHROM, CRISPR_ELEMENT_START, CRISPR_ELEMENT_END, CRISPR_GENE,
                       CRISPR_TSS_CHROM, CRISPR_TSS_START, CRISPR_TSS_END, CRISPR_REGULATED,
                       CRISPR_VALID, CRISPR_CELL_TYPE, CRISPR_DATASET]
CRISPR_METRICS_FILE = "metrics.csv"         # DIR/: predictor x cell type x data set
CRISPR_PREDICTIONS_FILE = "predictions.tsv" # DIR/: every evaluated pair, a score column per predictor
CRISPR_SUMMARY_FILE = "summary.json"        # DIR/: counts, pairs left out and why, predictors skipped
CRISPR_METRIC_COLUMNS = ["predictor", "source", "cell_type", "dataset", "n_pairs", "n_regulated",
                         "auprc", "auprc_low", "auprc_high", "auroc", "auroc_low", "auroc_high",
                         "precision_at_recall", "precision_at_recall_low",
                         "precision_at_recall_high", "recall_level", "n_bootstrap",
                         # EngreitzLab/CRISPR_comparison's metrics (speidlib.evaluate.crispr_metrics)
                         "auprc_trapezoid", "auprc_trapezoid_low", "auprc_trapezoid_high",
                         "auprc_weighted", "auprc_weighted_low", "auprc_weighted_high",
                         "threshold", "threshold_from",
                         "precision_at_threshold", "precision_at_threshold_low",
                         "precision_at_threshold_high", "recall_at_threshold",
                         "recall_at_threshold_low", "recall_at_threshold_high",
                         "precision_at_threshold_weighted", "precision_at_threshold_weighted_low",
                         "precision_at_threshold_weighted_high", "recall_at_threshold_weighted",
                         "recall_at_threshold_weighted_low", "recall_at_threshold_weighted_high",
                         "reference"]
CRISPR_MEASURED, CRISPR_REPORTED = "measured", "reported"   # the metrics' `source`
ALL = "all"                                 # the cell type / data set of pooled rows

# --- what a run directory holds (speidlib.run) ------------------------------------
# The files and folders of a run; one of them present means "holds a run", and `speid score
# --out` may not write over them. `speid prepare --overwrite` removes what the run's manifest
# (MANIFEST_FILE) says the workbench wrote, never other files (speidlib.run.Run.clear).
RUN_FILES = (DATASET_FILE, CONFIG_FILE, LEAKAGE_FILE, MODEL_FILE, HISTORY_FILE, CHECKPOINT_DIR,
             METRICS_FILE, PREDICTIONS_FILE, PREDICTIONS_BEDPE, MOTIFS_DIR, JASPAR_INIT_FILE,
             INITIAL_KERNELS_FILE, CROSS_CELL_DIR, RUN_NOTEBOOKS_DIR, MANIFEST_FILE)
# written into a run by `speid score` (anywhere the user likes, so not refused as an --out),
# and made from the run's model
RUN_OUTPUT_DIRS = (LINKS_DIR,)
