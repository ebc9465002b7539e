#!/usr/bin/env bash
# The accuracy sweep of chapter 7 and the pretrained model (about 5 minutes on an H200, measured):
# benchmarks/accuracy.py trains three recipes x 5 seeds on the bundled sample, all at once on the
# GPU, stopped after $SWEEP_SECONDS, beside the plain-GAN control; then seed 0 of each recipe is
# exported (int8) and the control's history saved. Until commit d3f105d this was the first part
# of benchmarks/device_check.sh.
#   EVAL_DIR=path/to/mnist-t10k bash benchmarks/accuracy_sweep.sh [OUT_DIR]
# EVAL_DIR: any folder of labelled MNIST IDX files (default: the bundled held-out sample).
# OUT_DIR receives sweep.log, sweep.json, control-history.json and the three int8 exports.
set -uo pipefail
out=${1:-${OUT:-runs/accuracy-sweep}}
mkdir -p "$out" runs
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
device=${DEVICE:-cuda}
steps=${SWEEP_STEPS:-6000}
seconds=${SWEEP_SECONDS:-270}
eval_args=(); [ -n "${EVAL_DIR:-}" ] && eval_args=(--eval-dir "$EVAL_DIR")

$PY benchmarks/accuracy.py --device "$device" --steps "$steps" --eval-every "${EVAL_EVERY:-500}" --parallel 15 \
    --max-minutes "$(awk "BEGIN {print $seconds / 60}")" "${eval_args[@]}" --out runs/sweep \
    --recipe "paper=" --recipe "invariant=--lambda-invariant 1" \
    --recipe "invariant3=--lambda-invariant 3" > "$out/sweep.log" 2>&1 &
sweep=$!
timeout -s INT "$seconds" $PY -m infogan_tutorial train --device "$device" --no-info --seed 0 --steps "$steps" \
    --batch-size 64 --threads 1 --out runs/control --quiet --no-figures > runs/control.log 2>&1 &
control=$!
wait $sweep $control
tail -3 runs/control.log

cp runs/sweep/results.json "$out/sweep.json"
$PY - "$out" <<'PY'
import json, sys
import torch
from infogan_tutorial.export import export_model
out = sys.argv[1]
try:
    history = torch.load("runs/control/checkpoint.pt", weights_only=True)["history"]
    open(f"{out}/control-history.json", "w").write(json.dumps(history))
except FileNotFoundError:
    print("the control wrote no checkpoint (stopped before its first step?); see runs/control.log")
for recipe in ("paper", "invariant", "invariant3"):  # seed 0 of each: the CLI's compact int8 export
    try:
        export_model(f"runs/sweep/{recipe}/seed-0/checkpoint.pt", f"{out}/{recipe}-seed0.pt", int8=True)
    except Exception as e:
        print(recipe, "not exported:", e)
PY
ls -la "$out"
