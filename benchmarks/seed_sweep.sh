#!/usr/bin/env bash
# Issue 18's measurement: does the recommended recipe reach 95 % on every seed, and how fast?
# Ten seeds of each recipe, 6,000 steps at batch 64 and at the gpu profile's batch (128), all
# trained at once on one GPU with benchmarks/accuracy.py, scored every 250 steps on EVAL_DIR;
# the table gives every seed, the median, the worst, and the training time to 95 %.
#   EVAL_DIR=path/to/mnist-t10k bash benchmarks/seed_sweep.sh [OUT_DIR]
# Tested on the CPU in a tiny setting:
#   DEVICE=cpu SEEDS="0 1" STEPS=20 EVAL_EVERY=10 PARALLEL=2 BATCHES=32 bash benchmarks/seed_sweep.sh /tmp/s
# RECIPES: extra NAME=ARGS recipes, ';'-separated, beside the paper's and chapter 7's.
set -uo pipefail
out=${1:-${OUT:-runs/seed-sweep}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
eval_args=(); [ -n "${EVAL_DIR:-}" ] && eval_args=(--eval-dir "$EVAL_DIR")
recipes=(--recipe "paper=" --recipe "invariant=--lambda-invariant 1")
IFS=';' read -ra extra <<< "${RECIPES:-}"
for r in "${extra[@]}"; do [ -n "$r" ] && recipes+=(--recipe "$r"); done
start=$(date +%s)
for batch in ${BATCHES:-64 128}; do
    # shellcheck disable=SC2086
    $PY benchmarks/accuracy.py --device "${DEVICE:-cuda}" --seeds ${SEEDS:-0 1 2 3 4 5 6 7 8 9} \
        --steps "${STEPS:-6000}" --batch-size "$batch" --eval-every "${EVAL_EVERY:-250}" \
        --parallel "${PARALLEL:-20}" "${eval_args[@]}" "${recipes[@]}" --out "runs/seed-sweep-b$batch" \
        > "$out/batch-$batch.log" 2>&1
    cp "runs/seed-sweep-b$batch/table.md" "$out/table-b$batch.md"
    cp "runs/seed-sweep-b$batch/results.json" "$out/results-b$batch.json"
    cat "$out/table-b$batch.md"
done
echo "seed_sweep.sh took $(( $(date +%s) - start )) s"
