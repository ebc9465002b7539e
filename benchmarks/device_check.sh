#!/usr/bin/env bash
# The GPU checks of one short device session (7 minutes on an H200, measured):
#  1. a recipe sweep (benchmarks/accuracy.py: three recipes x 5 seeds on the bundled sample, all
#     at once on the GPU, stopped after $SWEEP_SECONDS) and the plain-GAN control, while the
#     cuda-marked tests run beside them;
#  2. the speed table (package vs the DataLoader baseline, with and without torch.compile);
#  3. one time-to-95 % run.
#   EVAL_DIR=path/to/mnist-t10k bash benchmarks/device_check.sh [OUT_DIR]
# EVAL_DIR: any folder of labelled MNIST IDX files (default: the bundled held-out sample).
# OUT_DIR receives at most 8 files: device.log, sweep.log, sweep.json, control-history.json and
# the int8 export of seed 0 of each recipe.
set -uo pipefail
out=${1:-${OUT:-runs/device-check}}
mkdir -p "$out" runs
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
device=${DEVICE:-cuda}
steps=${SWEEP_STEPS:-6000}
seconds=${SWEEP_SECONDS:-270}
eval_args=(); [ -n "${EVAL_DIR:-}" ] && eval_args=(--eval-dir "$EVAL_DIR")
log="$out/device.log"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; $PY -c "import torch; print(torch.__version__)"; } 2>&1 | tee "$log"

$PY benchmarks/accuracy.py --device "$device" --steps "$steps" --eval-every "${EVAL_EVERY:-500}" --parallel 15 \
    --max-minutes "$(awk "BEGIN {print $seconds / 60}")" "${eval_args[@]}" --out runs/sweep \
    --recipe "paper=" --recipe "invariant=--lambda-invariant 1" \
    --recipe "invariant3=--lambda-invariant 3" > "$out/sweep.log" 2>&1 &
sweep=$!
timeout -s INT "$seconds" $PY -m infogan_tutorial train --device "$device" --no-info --seed 0 --steps "$steps" \
    --batch-size 64 --threads 1 --out runs/control --quiet --no-figures > runs/control.log 2>&1 &
control=$!
[ "$device" = cuda ] && timeout 240 $PY -m pytest -q -m cuda tests -p no:cacheprovider 2>&1 | tail -15 | tee -a "$log"
wait $sweep $control
tail -3 runs/control.log >> "$log"

echo "== speed" | tee -a "$log"
timeout 150 $PY benchmarks/speed.py --device "$device" --steps "${SPEED_STEPS:-200}" --warmup 15 2>&1 | tee -a "$log"
echo "== time to accuracy" | tee -a "$log"
timeout 100 $PY benchmarks/speed.py --device "$device" --batch-sizes 128 --steps 20 --compile no \
    --time-to-accuracy --max-seconds "${TTA_SECONDS:-60}" --eval-every 250 "${eval_args[@]}" ${TTA_ARGS:-} 2>&1 \
    | tail -30 | tee -a "$log"

cp runs/sweep/results.json "$out/sweep.json"
$PY - "$out" <<'PY'
import json, sys
import torch
from infogan_tutorial.training import export_model
out = sys.argv[1]
history = torch.load("runs/control/checkpoint.pt", weights_only=True)["history"]
open(f"{out}/control-history.json", "w").write(json.dumps(history))
for recipe in ("paper", "invariant", "invariant3"):  # seed 0 of each: the CLI's compact int8 export
    try:
        export_model(f"runs/sweep/{recipe}/seed-0/checkpoint.pt", f"{out}/{recipe}-seed0.pt", int8=True)
    except Exception as e:
        print(recipe, "not exported:", e)
PY
ls -la "$out"
