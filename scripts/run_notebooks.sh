#!/usr/bin/env bash
# Execute notebooks/01_data_prep ... 09_variants (speidlib.app.notebooks.NOTEBOOKS) in order with papermill, keeping
# the executed copies in RUN/notebooks/ (and their run times in
# RUN/notebooks/timings.json). A failing cell stops the chain; its partly
# executed copy is kept as RUN/notebooks/<name>.failed.ipynb.
#
# Usage: scripts/run_notebooks.sh [RUN] [DEMO]
#   RUN   run directory the notebooks share (default: $RUN, else runs/demo)
#   DEMO  demo folder written by 01 (default: $DEMO, else demo)
#   NB_PARAMS  optional JSON of parameters for every notebook that declares them,
#              e.g. NB_PARAMS='{"n_pairs": 5000, "pretrain_epochs": 4}'
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-${RUN:-runs/demo}}
DEMO=${2:-${DEMO:-demo}}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
.venv/bin/python - "$RUN" "$DEMO" "${NB_PARAMS:-"{}"}" <<'PY'
import json
import sys

from speidlib.app.notebooks import run_notebooks

run, demo, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
timings = run_notebooks(run, {"demo_dir": demo, "run_prefix": run, **extra})
for name, seconds in timings.items():
    print(f"   {name:<16} {seconds:7.1f} s   -> {run}/notebooks/{name}.ipynb")
PY
