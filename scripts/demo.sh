#!/usr/bin/env bash
# The README's main command: set up, run the seven notebooks in order on the
# built-in synthetic demo (papermill; executed copies in RUN/notebooks/), then
# serve the dashboards over the runs. Everything lands in runs/demo (override
# with RUN=...) and runs/demo_<CELL> (the cross-cell runs of notebook 04); the
# demo genome in demo/ (DEMO=...). NO_SERVE=1 stops after the notebooks;
# PORT=... picks the dashboards' port (default 8866).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
DEMO=${DEMO:-demo}
RUN=${RUN:-runs/demo}

echo "== notebooks 01-09 on the demo -> $RUN (executed copies in $RUN/notebooks/)"
bash scripts/run_notebooks.sh "$RUN" "$DEMO"
echo "== done: $RUN"

if [ -z "${NO_SERVE:-}" ] && [ -f scripts/serve_dashboards.sh ]; then
  echo "== dashboards over $(dirname "$RUN")/"
  bash scripts/serve_dashboards.sh "$(dirname "$RUN")" "${PORT:-8866}"
fi
