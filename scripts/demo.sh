#!/usr/bin/env bash
# The README's main command: set up, then run the whole pipeline on the
# built-in synthetic demo data. Everything lands in runs/demo (override with
# RUN=...); the demo genome in demo/ (DEMO=...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
DEMO=${DEMO:-demo}
RUN=${RUN:-runs/demo}
SPEID=.venv/bin/speid

echo "== 1. synthetic demo genome and pairs -> $DEMO/"
$SPEID demo-data "$DEMO" --seed 0 --cell-lines 3
echo "== 2. dataset -> $RUN/dataset.h5"
$SPEID prepare --pairs "$DEMO/pairs_DEMO1.csv" --genome "$DEMO/genome.fa" --run "$RUN" \
  --enhancer-window 1000 --promoter-window 1000 --split random --seed 0
echo "== done: $RUN"
