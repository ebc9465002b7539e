"""Does c1 learn digit identity? Train recipes x seeds with the project's CLI and score every run.

    python benchmarks/accuracy.py --seeds 0 1 2 3 4 --steps 3000 \\
        --eval-dir mnist-t10k --out runs/bench-accuracy
    python benchmarks/accuracy.py --recipe paper= --recipe "invariant=--lambda-invariant 1" \\
        --steps 6000 --eval-every 500 --parallel 10 --device cuda --max-minutes 5 ...

Each run is ``python -m infogan_tutorial train`` on the bundled sample with a recipe's extra
arguments (``--recipe NAME=ARGS``, repeatable; default one recipe made of ``--train-args``),
then c1 is scored as an unsupervised classifier (Hungarian matching) on ``--eval-dir``, any
folder of MNIST-style IDX files (the bundled held-out sample if omitted). With ``--eval-every``
each run also scores itself during training, so the table shows accuracy against steps.
``--parallel`` runs train at once, sharing the CPU threads (and the GPU) between them. With
``--max-minutes``, runs still going at the deadline are interrupted (they save a checkpoint)
and are scored at their last ``--eval-every`` score.

With ``--keep-best K``, each K consecutive seeds of a recipe (``--seeds 0 1 2 3``: 0 and 1, 2 and 3) form one
*restart group*, as a reader would train K runs side by side (``--parallel K``) and keep one: the kept run is the one
whose last score has the highest ``invariant_info``, Q's I(ĉ; ĉ') on the images' pixels under random moves, which
reads no label (``evaluation.invariant_score``); the table then lists the kept runs, and their median, as the
recipe's results. Labels only score.

    python benchmarks/accuracy.py --recipe "inv=--lambda-invariant 1" --seeds 0 1 --parallel 2 --keep-best 2 \
        --steps 20000 --device cpu --eval-dir mnist-t10k --eval-every 250 --max-minutes 10

Prints, per run: accuracy, the step it was scored at, L_I(c1) on fresh samples, the training
time to reach ``--target`` (from the ``--eval-every`` scores: the first score at or above it),
training wall time and device; per recipe every seed, the median, the worst seed, how many
seeds reached the target and their median time to it, and the median at each scored step.
Writes ``OUT/results.json`` and ``OUT/table.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from infogan_tutorial.training import select_device


def parse_recipe(text: str) -> tuple[str, str]:
    name, sep, extra = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--recipe must look like NAME=ARGS (ARGS may be empty), got {text!r}")
    return name.strip(), extra.strip()


def train_command(run_dir: Path, seed: int, extra: str, args: argparse.Namespace, threads: int) -> list[str]:
    cmd = [sys.executable, "-m", "infogan_tutorial", "train", "--dataset", "sample", "--steps", str(args.steps),
           "--batch-size", str(args.batch_size), "--seed", str(seed), "--device", args.device,
           "--out", str(run_dir), "--export", str(run_dir / "model.pt"), "--int8", "--threads", str(threads),
           "--quiet", "--no-figures"]
    if args.eval_every:
        cmd += ["--eval-every", str(args.eval_every)]
    if args.eval_dir:
        cmd += ["--eval-dir", str(args.eval_dir)]
    return cmd + extra.split()


def time_to(row: dict) -> str:
    """'12.3 s (2,750)': training seconds and step of the first score at or above the target; '-' if none."""
    if row["target_step"] is None:
        return "-"
    seconds = row["target_seconds"]
    return (f"{seconds:.1f} s " if seconds is not None else "") + f"({row['target_step']:,})"


def kept_runs(rows: list[dict], seeds: list[int], k: int) -> list[dict]:
    """Of each group of ``k`` consecutive ``seeds`` of a recipe, the row whose last score in its curve has the highest
    ``invariant_info`` (no label read), with ``group`` (the group's seeds) and ``others`` (their accuracy and score)."""
    kept = []
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        for i in range(0, len(seeds), k):
            group = [r for r in rows if r["recipe"] == recipe and r["seed"] in seeds[i:i + k] and r["curve"]
                     and "invariant_info" in r["curve"][-1]]
            if not group:
                continue
            best = max(group, key=lambda r: r["curve"][-1]["invariant_info"])
            kept.append({**best, "group": seeds[i:i + k],
                         "others": [(r["seed"], r["accuracy"], r["curve"][-1]["invariant_info"]) for r in group]})
            print(f"{recipe}: seeds {seeds[i:i + k]}: kept seed {best['seed']} by invariant_info; "
                  + ", ".join(f"seed {s}: {a:.1%} (invariant_info {v:.3f})" for s, a, v in kept[-1]["others"]))
    return kept


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=3000, help="training steps per run (the budget)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--parallel", type=int, default=1, help="runs trained at the same time")
    p.add_argument("--recipe", type=parse_recipe, action="append",
                   help="NAME=ARGS: a recipe, as extra `train` arguments (repeatable)")
    p.add_argument("--train-args", default="", help="extra `train` arguments of the one recipe without --recipe")
    p.add_argument("--eval-dir", type=Path, help="IDX folder to score on (default: the bundled held-out sample)")
    p.add_argument("--eval-every", type=int, default=0, help="also score every this many steps (0: at the end)")
    p.add_argument("--max-minutes", type=float, help="interrupt runs still going after this many minutes")
    p.add_argument("--target", type=float, default=0.95, help="accuracy whose time to reach is reported (0.95)")
    p.add_argument("--keep-best", type=int, default=1, metavar="K",
                   help="keep, of each K consecutive seeds of a recipe, the run with the highest label-free "
                        "invariant_info at its last score (needs --eval-every; default 1: every run)")
    p.add_argument("--out", type=Path, default=Path("runs/bench-accuracy"))
    args = p.parse_args()
    if args.keep_best < 1 or len(args.seeds) % args.keep_best:
        p.error(f"--keep-best {args.keep_best} must be at least 1 and divide the {len(args.seeds)} seeds into groups.")
    if args.keep_best > 1 and not args.eval_every:
        p.error("--keep-best compares the runs' scores during training: give --eval-every too.")
    if args.eval_dir is not None and not args.eval_dir.is_dir():
        p.error(f"--eval-dir {args.eval_dir} is not a folder; give the folder of the IDX files to score on "
                "(t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]), or leave it out.")

    device = select_device(args.device)
    args.device = str(device)
    recipes = dict(args.recipe or [("default", args.train_args)])
    threads = max(1, (os.cpu_count() or 1) // args.parallel)
    args.out.mkdir(parents=True, exist_ok=True)
    pending = [(name, seed) for name in recipes for seed in args.seeds]
    running: dict[tuple[str, int], tuple[subprocess.Popen, float]] = {}
    wall: dict[tuple[str, int], float] = {}
    commands: dict[tuple[str, int], str] = {}
    stopped: set[tuple[str, int]] = set()
    failed: list[tuple[str, int]] = []
    deadline = time.perf_counter() + 60 * args.max_minutes if args.max_minutes else float("inf")
    while pending or running:
        while pending and len(running) < args.parallel and time.perf_counter() < deadline:
            name, seed = pending.pop(0)
            cmd = train_command(args.out / name / f"seed-{seed}", seed, recipes[name], args, threads)
            commands[name, seed] = " ".join(cmd[1:])
            print("$", commands[name, seed], flush=True)
            log = open(args.out / f"{name}-seed-{seed}.log", "w")
            running[name, seed] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.perf_counter())
        if time.perf_counter() >= deadline:
            pending.clear()
            for key, (proc, _) in running.items():
                if key not in stopped and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)  # once: the CLI saves a checkpoint and exits
                    stopped.add(key)
        time.sleep(1)
        for key, (proc, start) in list(running.items()):
            if proc.poll() is not None:
                wall[key] = time.perf_counter() - start
                del running[key]
                if proc.returncode not in (0, 130, -signal.SIGINT):
                    failed.append(key)
                    print(f"{key[0]} seed {key[1]} failed (exit {proc.returncode}); "
                          f"see {args.out / f'{key[0]}-seed-{key[1]}.log'}", flush=True)

    name_of_device = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)"
    rows = []
    for (name, seed), seconds in wall.items():
        run_dir = args.out / name / f"seed-{seed}"
        curve = read_jsonl(run_dir / "eval.jsonl")
        metrics_path = run_dir / "metrics.json"
        if metrics_path.is_file():  # the run finished: the CLI scored it on --eval-dir at the end
            m = json.loads(metrics_path.read_text())
            final = {"step": m["step"], "accuracy": m["accuracy"], "info_cat": m["info_cat"], "finished": True}
        elif curve:  # interrupted: its last score during training
            final = {**{k: curve[-1][k] for k in ("step", "accuracy", "info_cat")}, "finished": False}
        else:
            continue
        reached = next((point for point in curve if point["accuracy"] >= args.target), None)
        rows.append({"recipe": name, "seed": seed, **final, "wall_s": seconds, "device": name_of_device,
                     "parallel": args.parallel, "command": commands[name, seed], "curve": curve,
                     "target_step": reached["step"] if reached else None,
                     "target_seconds": reached.get("train_seconds") if reached else None})
    if args.keep_best > 1:
        rows = kept_runs(rows, args.seeds, args.keep_best)
    target = f"{args.target:.0%}"
    table = [f"| recipe | seed | step | c1 accuracy | L_I(c1) (nats) | time to {target} | wall time | device |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    table += [f"| {r['recipe']} | {r['seed']} | {r['step']:,}{'' if r['finished'] else ' (stopped)'} | "
              f"{r['accuracy']:.1%} | {r['info_cat']:.3f} | {time_to(r)} | {r['wall_s'] / 60:.1f} min | {r['device']} |"
              for r in sorted(rows, key=lambda r: (list(recipes).index(r["recipe"]), r["seed"]))]
    summary: dict[str, dict] = {}
    for name in recipes:
        mine = [r for r in rows if r["recipe"] == name]
        if not mine:
            continue
        accuracies = [r["accuracy"] for r in mine]
        by_step: dict[int, list[float]] = {}
        for r in mine:
            for point in r["curve"]:
                by_step.setdefault(point["step"], []).append(point["accuracy"])
        times = [r["target_seconds"] for r in mine if r["target_seconds"] is not None]
        summary[name] = {"args": recipes[name], "median": statistics.median(accuracies), "worst": min(accuracies),
                         "runs": len(mine), "reached_target": len(times),
                         "median_seconds_to_target": statistics.median(times) if len(times) == len(mine) else None,
                         "median_by_step": {s: statistics.median(v) for s, v in
                                            sorted(by_step.items()) if len(v) == len(mine)}}
        curve = ", ".join(f"{s:,}: {v:.1%}" for s, v in summary[name]["median_by_step"].items())
        every_seed = ", ".join(f"{r['accuracy']:.1%}" for r in sorted(mine, key=lambda r: r["seed"]))
        median_time = summary[name]["median_seconds_to_target"]
        table.append(f"\n{name} (`{recipes[name] or 'the defaults'}`): seeds {every_seed}; median "
                     f"{summary[name]['median']:.1%}, worst {summary[name]['worst']:.1%} over {len(mine)} seeds; "
                     f"{len(times)} of {len(mine)} reached {target}"
                     + (f", median time to it {median_time:.1f} s" if median_time is not None else
                        (" (median time: not every seed reached it)" if args.eval_every else
                         " (pass --eval-every to time it)"))
                     + (f"; median by step: {curve}" if curve else ""))
    eval_data = str(args.eval_dir) if args.eval_dir else "the bundled held-out sample"
    if args.keep_best > 1:
        table.append(f"\nEach row is the run kept of {args.keep_best} trained side by side (seeds in order), by the "
                     "label-free invariant_info of its last score; every run: " + "; ".join(
                         f"seed {s} {a:.1%} ({v:.3f})" for r in rows for s, a, v in r["others"]))
    table.append(f"\nScored on {eval_data}; {args.parallel} run(s) at a time; command: "
                 f"python {' '.join(sys.argv)}")
    print("\n".join(table))
    (args.out / "table.md").write_text("\n".join(table) + "\n")
    (args.out / "results.json").write_text(json.dumps({"rows": rows, "recipes": summary, "eval_data": eval_data,
                                                       "command": " ".join(sys.argv)}, indent=1))
    if failed:
        sys.exit(f"{len(failed)} of {len(wall)} run(s) failed: see their logs in {args.out}.")


if __name__ == "__main__":
    main()
