#!/usr/bin/env bash
# The GPU checks of one short device session (sized for about 8 minutes on an H100):
# the cuda-marked tests, the speed table (package vs the DataLoader baseline, with and
# without torch.compile) and one time-to-95 % run scored on the bundled held-out digits.
#   bash benchmarks/device_check.sh [OUT_DIR]
# Not yet run on a GPU: the first session with a device should run it and report its output.
set -uo pipefail
out=${1:-${OUT:-runs/device-check}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
python -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
timeout 120 python -m pytest -q -m cuda tests 2>&1 | tee "$out/cuda-tests.log"
timeout 200 python benchmarks/speed.py --steps 300 --warmup 20 2>&1 | tee "$out/speed.log"
timeout 150 python benchmarks/speed.py --batch-sizes 512 --steps 50 --compile no --time-to-accuracy \
    --max-seconds 90 --eval-every 100 2>&1 | tee "$out/time-to-accuracy.log"
