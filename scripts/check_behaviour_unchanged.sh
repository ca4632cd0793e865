#!/usr/bin/env bash
# Behaviour unchanged across a refactor (issue 25, point 7): the same small demo run, trained by the
# BASE commit's code, is evaluated, run through `speid motifs` and scored genome-wide (.interact) by
# BASE's code and by HEAD's; predictions.csv/.bedpe, motifs/matches.csv, motifs/tf_summary.csv and the
# .interact file must be byte-identical. About 6 minutes on 2 cores.
#
#   bash scripts/check_behaviour_unchanged.sh BASE [WORKDIR]      e.g. BASE = 41c4e6e
set -euo pipefail
BASE=${1:?usage: check_behaviour_unchanged.sh BASE_COMMIT [WORKDIR]}
W=${2:-$(mktemp -d)}
REPO=$(cd "$(dirname "$0")/.." && pwd)
S=$REPO/.venv/bin/speid
rm -rf "$W/base_code" "$W/head_code" "$W/demo" "$W/run" "$W/A" "$W/B"
mkdir -p "$W/base_code" "$W/head_code"
git -C "$REPO" archive "$BASE" | tar -x -C "$W/base_code"
git -C "$REPO" archive HEAD | tar -x -C "$W/head_code"
old() { (cd "$W/base_code" && PYTHONPATH="$W/base_code" TF_CPP_MIN_LOG_LEVEL=3 "$S" "$@"); }
new() { (cd "$W/head_code" && PYTHONPATH="$W/head_code" TF_CPP_MIN_LOG_LEVEL=3 "$S" "$@"); }
old demo-data "$W/demo" --seed 0 --pairs-per-cell 10500 > /dev/null
old prepare --pairs "$W/demo/pairs.csv" --genome "$W/demo/genome.fa" --run "$W/run" --enhancer-window 1000 \
    --promoter-window 1000 --augment 4 --quiet > /dev/null
old train "$W/run" --preset cpu --random-init --pretrain-epochs 2 --retrain-epochs 1 --quiet > /dev/null
old candidates --enhancers "$W/demo/enhancers.bed" --promoters "$W/demo/promoters.bed" \
    --genome "$W/demo/genome.fa" --max-distance 200000 --out "$W/cand.bedpe" > /dev/null
cp -r "$W/run" "$W/A"; cp -r "$W/run" "$W/B"
for side in old new; do
  R=$W/A; [ "$side" = new ] && R=$W/B
  $side evaluate "$R" --bootstrap 50 > /dev/null
  $side motifs "$R" --logos none --no-ablation --null-draws 2 --quiet > /dev/null 2>&1
  $side score "$R" --pairs "$W/cand.bedpe" --genome "$W/demo/genome.fa" --format interact \
      --out "$W/$side.interact" --quiet > /dev/null 2>&1
done
status=0
for f in predictions.csv predictions.bedpe motifs/matches.csv motifs/tf_summary.csv; do
  if cmp -s "$W/A/$f" "$W/B/$f"; then echo "identical: $f"; else echo "DIFFERENT: $f"; status=1; fi
done
if cmp -s "$W/old.interact" "$W/new.interact"; then
  echo "identical: genome-wide .interact ($(wc -l < "$W/new.interact") lines)"
else echo "DIFFERENT: genome-wide .interact"; status=1; fi
exit $status
