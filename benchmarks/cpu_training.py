"""CPU training benchmark: throughput of the training step, and c1's accuracy after fixed wall-clock budgets.

    python benchmarks/cpu_training.py --throughput-steps 20 --minutes 5 15 \
        --eval-dir ../shared/data/mnist-t10k --out runs/bench-cpu

Prints images/s of ``train_step`` at batch 64 and 128, then trains the default recipe on the
bundled sample and, when each budget of training time is reached, exports the model and
scores c1 on ``--eval-dir`` (any folder of MNIST-style IDX files; the held-out sample if omitted).
Evaluation time is not counted in the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from infogan_tutorial.data import ShuffledBatches, load_dataset, load_idx_folder, sample_dir
from infogan_tutorial.evaluation import categorical_accuracy, estimate_info_bound
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.training import TrainConfig, create_state, export_model, train_step


def throughput(images: torch.Tensor, batch_size: int, steps: int) -> float:
    state = create_state(LatentSpec(), TrainConfig(batch_size=batch_size), "cpu")
    batches = ShuffledBatches(images, batch_size, seed=0)
    for s in range(3):  # warm-up
        train_step(state, batches.batch(s))
    start = time.perf_counter()
    for s in range(steps):
        train_step(state, batches.batch(s))
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--throughput-steps", type=int, default=20, help="timed steps per batch size (0 to skip)")
    p.add_argument("--minutes", type=float, nargs="*", default=[5, 15], help="training-time budgets to score at")
    p.add_argument("--at-steps", type=int, nargs="*",
                   help="score at these step counts instead of time budgets (e.g. the steps 5 and 15 minutes give "
                        "at the measured throughput: reproducible on a busy machine)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-dir", type=Path, help="IDX folder to score on (default: the bundled held-out sample)")
    p.add_argument("--out", type=Path, default=Path("runs/bench-cpu"))
    args = p.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    data = load_dataset("sample", split="train")
    if args.throughput_steps:
        for bs in (64, 128):
            print(f"throughput batch {bs}: {throughput(data.images, bs, args.throughput_steps):.0f} images/s")
    if not args.minutes and not args.at_steps:
        return
    test = load_idx_folder(args.eval_dir or sample_dir(), split="auto")
    state = create_state(LatentSpec(), TrainConfig(batch_size=args.batch_size, seed=args.seed, steps=10**9), "cpu")
    batches = ShuffledBatches(data.images, args.batch_size, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    by_steps = bool(args.at_steps)
    budgets = sorted(args.at_steps) if by_steps else sorted(m * 60 for m in args.minutes)
    trained = 0.0
    rows = []
    while budgets:
        start = time.perf_counter()
        train_step(state, batches.batch(state.step))
        trained += time.perf_counter() - start
        if (state.step if by_steps else trained) >= budgets[0]:
            budget = budgets.pop(0)
            export_model(state, args.out / (f"model_step{budget}.pt" if by_steps else f"model_{int(budget)}s.pt"))
            acc = categorical_accuracy(state.D, test.images, test.labels)
            bound = estimate_info_bound(state.G, state.D, state.spec, 2000, torch.Generator().manual_seed(0))
            row = {"train_minutes": round(trained / 60, 2), "step": state.step, "accuracy": acc.accuracy, "n": acc.n,
                   "info_cat": float(bound.categorical), "eval_data": test.source}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
