"""Does c1 learn digit identity? Train n seeds with the project's CLI and score each one.

    python benchmarks/accuracy.py --seeds 0 1 2 3 4 --steps 3000 \
        --eval-dir ../shared/data/mnist-t10k --out runs/bench-accuracy

Each seed runs ``python -m infogan_tutorial train`` on the bundled sample with the default recipe
(plus any ``--train-args``), then c1 is scored as an unsupervised classifier (Hungarian matching)
on ``--eval-dir``, any folder of MNIST-style IDX files; the bundled held-out sample if omitted.
``--parallel`` seeds run at once, sharing the CPU threads between them.

Prints, per seed: accuracy, L_I(c1) on fresh samples, training wall time and device; then the
median and the worst seed, and writes ``OUT/results.json`` and ``OUT/table.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from infogan_tutorial.data import load_idx_folder, sample_dir
from infogan_tutorial.evaluation import categorical_accuracy, estimate_info_bound
from infogan_tutorial.training import load_networks, select_device


def train_command(seed: int, args: argparse.Namespace, threads: int) -> list[str]:
    out = args.out / f"seed-{seed}"
    return [sys.executable, "-m", "infogan_tutorial", "train", "--dataset", "sample", "--steps", str(args.steps),
            "--batch-size", str(args.batch_size), "--seed", str(seed), "--device", args.device,
            "--out", str(out), "--export", str(out / "model.pt"), "--int8", "--threads", str(threads), "--quiet",
            *args.train_args.split()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=3000, help="training steps per seed (the budget)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--parallel", type=int, default=1, help="seeds trained at the same time")
    p.add_argument("--train-args", default="", help="extra arguments for `train`, e.g. '--lambda-real 0'")
    p.add_argument("--eval-dir", type=Path, help="IDX folder to score on (default: the bundled held-out sample)")
    p.add_argument("--out", type=Path, default=Path("runs/bench-accuracy"))
    args = p.parse_args()

    device = select_device(args.device)
    threads = max(1, (os.cpu_count() or 1) // args.parallel)
    args.out.mkdir(parents=True, exist_ok=True)
    pending = list(args.seeds)
    running: dict[int, tuple[subprocess.Popen, float]] = {}
    wall: dict[int, float] = {}
    while pending or running:
        while pending and len(running) < args.parallel:
            seed = pending.pop(0)
            cmd = train_command(seed, args, threads)
            print("$", " ".join(cmd), flush=True)
            log = open(args.out / f"seed-{seed}.log", "w")
            running[seed] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.perf_counter())
        time.sleep(1)
        for seed, (proc, start) in list(running.items()):
            if proc.poll() is not None:
                if proc.returncode != 0:
                    sys.exit(f"seed {seed} failed (exit {proc.returncode}); see {args.out / f'seed-{seed}.log'}")
                wall[seed] = time.perf_counter() - start
                del running[seed]

    test = load_idx_folder(args.eval_dir or sample_dir(), split="test")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)"
    rows = []
    for seed in args.seeds:
        _, G, D = load_networks(args.out / f"seed-{seed}" / "model.pt")
        result = categorical_accuracy(D, test.images, test.labels)
        bound = estimate_info_bound(G, D, G.spec, n=2000, generator=torch.Generator().manual_seed(0))
        rows.append({"seed": seed, "steps": args.steps, "accuracy": result.accuracy,
                     "info_cat": float(bound.categorical), "wall_s": wall[seed], "device": name,
                     "parallel": args.parallel})
    accuracies = [r["accuracy"] for r in rows]
    summary = {"median": statistics.median(accuracies), "worst": min(accuracies), "eval_data": test.source,
               "n_eval": len(test), "command": " ".join(sys.argv)}
    table = ["| seed | steps | c1 accuracy | L_I(c1) (nats) | wall time | device |", "|---:|---:|---:|---:|---:|---|"]
    table += [f"| {r['seed']} | {r['steps']:,} | {r['accuracy']:.1%} | {r['info_cat']:.3f} | "
              f"{r['wall_s'] / 60:.1f} min | {r['device']} |" for r in rows]
    table.append(f"\nmedian {summary['median']:.1%}, worst {summary['worst']:.1%} on {test.source} "
                 f"({len(test):,} images); {args.parallel} seed(s) at a time.")
    print("\n".join(table))
    (args.out / "table.md").write_text("\n".join(table) + "\n")
    (args.out / "results.json").write_text(json.dumps({"rows": rows, **summary}, indent=1))


if __name__ == "__main__":
    main()
