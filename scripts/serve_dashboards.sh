#!/usr/bin/env bash
# Serve the three voila dashboards (dashboards/predictions.ipynb, motifs.ipynb, links.ipynb)
# on 127.0.0.1 with the notebook sources stripped, over the run directories of one root.
#
# Usage: scripts/serve_dashboards.sh [RUNS_ROOT] [PORT]
#   RUNS_ROOT  folder of run directories (default: $SPEID_RUNS_ROOT, else runs/)
#   PORT       port on 127.0.0.1 (default: $PORT, else 8866)
# Prints their addresses once voila answers, then serves until interrupted (Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-${SPEID_RUNS_ROOT:-runs}}
PORT=${2:-${PORT:-8866}}
# a fresh clone has no runs/ yet: the dashboards then show the example runs of examples/
[ -n "${1:-${SPEID_RUNS_ROOT:-}}" ] || mkdir -p runs
[ -d "$ROOT" ] || { echo "serve_dashboards: the runs root $ROOT is not a folder" >&2; exit 2; }
# Absolute, because voila runs each notebook's kernel inside dashboards/.
SPEID_RUNS_ROOT=$(cd "$ROOT" && pwd)
export SPEID_RUNS_ROOT TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
PY=.venv/bin/python
# voila starts kernels from the 'python3' kernel spec: it must be this environment's.
[ -f .venv/share/jupyter/kernels/python3/kernel.json ] || \
  $PY -m ipykernel install --sys-prefix --name python3 >/dev/null

# (scripts/setup.sh's scripts/voila_config.sh tells this voila to skip jupytext's lab extension)
.venv/bin/voila dashboards/ --no-browser --Voila.ip=127.0.0.1 --port="$PORT" \
  --Voila.port_retries=0 --strip_sources=True &
VOILA=$!
trap 'kill "$VOILA" 2>/dev/null || true' EXIT INT TERM
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 120); do
  if $PY -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$BASE/" \
      2>/dev/null; then
    echo "== dashboards over $SPEID_RUNS_ROOT (Ctrl-C to stop):"
    echo "   predictions: $BASE/voila/render/predictions.ipynb"
    echo "   motifs:      $BASE/voila/render/motifs.ipynb"
    echo "   links:       $BASE/voila/render/links.ipynb"
    break
  fi
  kill -0 "$VOILA" 2>/dev/null || { echo "serve_dashboards: voila exited" >&2; wait "$VOILA"; exit 1; }
  sleep 0.5
done
wait "$VOILA"
