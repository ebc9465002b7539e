#!/usr/bin/env bash
# What a Colab reader's GPU does with the book (issue 17), in one device session:
#  1. the machine and the precision path the gpu profile takes on it (bf16 or fp32, CUDA graph or eager);
#  2. every chapter under nbval in that profile, as on Colab (INFOGAN_NO_SYSTEM_DATA=1: no Debian
#     data set), each timed: OUT/chapters.tsv holds chapter, seconds and result;
#  3. the cuda-marked tests;
#  4. unless PATHS=0: seconds per training step at batch 128 for the plan this GPU gets (auto), and,
#     on any GPU, a T4's two paths, fp16 eager (without the graph) and fp32 with the graph (its plan),
#     and bf16 with the graph (the plan where bf16 is native), from two CLI runs each (1,200 and 200 steps; the difference cancels start-up).
#   bash benchmarks/colab_gpu_check.sh OUT                  # on a GPU: the gpu profile
#   PROFILE=smoke bash benchmarks/colab_gpu_check.sh OUT    # try the script on a CPU (15 min on 2 busy cores)
# OUT receives check.log (everything below), chapters.tsv, one log per chapter, and paths.tsv.
# PYTHON picks the interpreter (default python3); CHAPTERS="02 06" runs only those chapters.
# Without internet, each load_dataset("auto") first waits for torchvision's download to fail (the
# chapter's "Using data" line says so), which the chapter times include.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash benchmarks/colab_gpu_check.sh OUT_DIR}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export INFOGAN_PROFILE=${PROFILE:-gpu} INFOGAN_NO_SYSTEM_DATA=1
PY=${PYTHON:-python3}
log="$out/check.log"
: > "$log"
say() { echo "$*" | tee -a "$log"; }

say "== machine, profile $INFOGAN_PROFILE"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  $PY - <<'PY'
import torch
from infogan_tutorial.profiles import get_profile
from infogan_tutorial.training import create_state
from infogan_tutorial.latent_codes import LatentSpec
profile = get_profile()
config = profile.train_config()
device = "cuda" if torch.cuda.is_available() else "cpu"
state = create_state(LatentSpec(), config, device)
print(f"torch {torch.__version__}; {device}: {torch.cuda.get_device_name() if device == 'cuda' else 'no GPU'}")
print(f"profile {profile.name}: {config.steps} steps at batch {config.batch_size}, checkpoint every "
      f"{config.checkpoint_every}; precision={config.precision!r}, cuda_graph={config.cuda_graph!r} -> "
      f"{state.plan} ({state.plan.why}); scaler {state.scaler.is_enabled()}")
PY
} 2>&1 | tee -a "$log"

say "== chapters under nbval"
printf "chapter\tseconds\tresult\n" > "$out/chapters.tsv"
for nb in book/[0-9][0-9]_*.ipynb; do
    name=$(basename "$nb" .ipynb)
    if [ -n "${CHAPTERS:-}" ] && ! [[ " $CHAPTERS " == *" ${name%%_*} "* ]]; then continue; fi
    start=$(date +%s.%N)
    timeout 600 $PY -m pytest -q --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider \
        "$nb" > "$out/$name.log" 2>&1
    rc=$?
    seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    result=$([ $rc -eq 0 ] && echo passed || echo "FAILED (rc $rc)")
    printf "%s\t%.0f\t%s\n" "$name" "$seconds" "$result" | tee -a "$out/chapters.tsv" "$log"
    [ $rc -eq 0 ] || tail -30 "$out/$name.log" | tee -a "$log"
done
awk -F'\t' 'NR > 1 { s += $2 } END { printf "all chapters: %.0f s\n", s }' "$out/chapters.tsv" | tee -a "$log"

say "== cuda tests"
timeout 300 $PY -m pytest -q --tb=short -m cuda -p no:cacheprovider tests 2>&1 | tail -40 | tee -a "$log"

if [ "${PATHS:-1}" != 0 ]; then
    say "== seconds per step at batch 128 (CLI, $INFOGAN_PROFILE profile)"
    long=1200; short=200; [ "$INFOGAN_PROFILE" = smoke ] && { long=6; short=2; }
    printf "path\tms_per_step\n" > "$out/paths.tsv"
    for path in "auto:" "fp16:--precision fp16" "fp32+graph:--precision fp32 --cuda-graph" "bf16+graph:--precision bf16 --cuda-graph"; do
        label=${path%%:*}; flags=${path#*:}; times=()
        for steps in $long $short; do
            rm -rf "$out/run"
            start=$(date +%s.%N)
            timeout 300 $PY -m infogan_tutorial train --steps $steps --batch-size 128 --no-figures --quiet \
                --checkpoint-every 0 $flags --out "$out/run" >> "$out/paths.log" 2>&1 || { times=(); break; }
            times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')")
        done
        if [ ${#times[@]} -eq 2 ]; then
            awk -v l="$label" -v a="${times[0]}" -v b="${times[1]}" -v n=$((long - short)) \
                'BEGIN { printf "%s\t%.2f\n", l, (a - b) * 1000 / n }'
        else printf "%s\tnot run here (see paths.log)\n" "$label"; fi | tee -a "$out/paths.tsv" "$log"
    done
    rm -rf "$out/run"
fi
ls -la "$out"
