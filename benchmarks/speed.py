"""Training speed: the package's loop against the usual PyTorch InfoGAN loop, on this machine.

    python benchmarks/speed.py                      # CPU: batch 64 and 128
    python benchmarks/speed.py --time-to-accuracy   # CUDA: also the time to 95 % test accuracy

Prints one table row per (loop, batch size): images/s of whole training steps (a D step and a
G step) after a warm-up, and the ratios to the baseline and to the package's own fp32 loop at the
same batch size. Each batch size runs ``--repeats`` rounds, every loop once per round in turn
(interleaved: a load that comes and goes on a shared machine falls on all of them), and each row
is the median of its rounds.

* ``package``: ``training.fit`` as the book uses it: the data set resident on the device,
  batches gathered there, bf16 autocast on CUDA (fp16 with a scaler where bf16 is not native),
  statistics read back every ``log_every`` steps, cuDNN autotuning.
* ``package+bf16`` (CPU): the same under CPU bf16 autocast (``TrainConfig(precision="bf16")``); marked
  "emulated" where the CPU has no native bf16 (AVX-512 BF16 or AMX), where it is slower than fp32.
* ``package+compile``: the same with ``TrainConfig(compile=True)`` (CUDA only by default: on the
  CPU, compilation takes longer than the run).
* ``package+graph``: the same with ``TrainConfig(cuda_graph=True)``: the whole step recorded once as
  a CUDA graph and replayed (CUDA only).
* ``baseline``: the loop most PyTorch InfoGAN repositories use: ``torchvision.datasets.MNIST``
  with ``ToTensor`` and ``Normalize`` transforms behind a ``DataLoader`` (``--workers`` processes),
  fp32, ``.item()`` on the losses every step. Same networks, same losses, same optimizers.

With ``--time-to-accuracy``, the package's default recipe (or ``--lambda-invariant``, with or
without ``--cuda-graph``) trains until c1's accuracy on ``--eval-dir`` (Hungarian matching)
reaches ``--target``; evaluation time is not counted.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from infogan_tutorial.compute import cpu_native_bf16
from infogan_tutorial.data import load_dataset, load_idx_folder, sample_dir
from infogan_tutorial.evaluation import categorical_accuracy
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks
from infogan_tutorial.profiles import PROFILES
from infogan_tutorial.training import TrainConfig, autocast_dtype, create_state, fit, make_step, select_device


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def package_speed(images: torch.Tensor, batch_size: int, steps: int, warmup: int, device: torch.device,
                  compile: bool = False, cuda_graph: bool = False, precision: str = "auto") -> float:
    """images/s of ``fit`` after ``warmup`` steps (which include any compilation or graph recording)."""
    state = create_state(LatentSpec(), TrainConfig(steps=warmup, batch_size=batch_size, compile=compile,
                                                   cuda_graph=cuda_graph, checkpoint_every=0,
                                                   precision=precision), device)
    images = images.to(device)
    step = make_step(state)  # one recording for both calls
    fit(state, images, progress=False, step=step)
    synchronize(device)
    state.config = dataclasses.replace(state.config, steps=warmup + steps)
    start = time.perf_counter()
    fit(state, images, progress=False, step=step)
    synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def torchvision_root(idx_dir: Path) -> Path:
    """A temporary folder laid out as ``torchvision.datasets.MNIST`` expects, from an IDX folder."""
    root = Path(tempfile.mkdtemp(prefix="infogan-bench-"))
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte"
            src = idx_dir / f"{name}.gz"
            with gzip.open(src) as f, open(raw / name, "wb") as out:
                shutil.copyfileobj(f, out)
    return root


def baseline_speed(root: Path, batch_size: int, steps: int, warmup: int, device: torch.device,
                   workers: int) -> float:
    """images/s of the common loop: DataLoader + torchvision transforms, fp32, .item() every step."""
    from torchvision import datasets, transforms

    spec = LatentSpec()
    dataset = datasets.MNIST(root, train=True, download=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, pin_memory=device.type == "cuda")
    G, D = build_networks(spec, seed=0)
    G, D = G.to(device), D.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()

    def info(q, idx, cont):  # -E[log Q(c1|x)] - 0.1 E[log Q(c2, c3|x)] (Gaussian, constants dropped)
        nll_cont = (q.log_std + 0.5 * ((cont - q.mean) / q.log_std.exp()) ** 2).sum(1).mean()
        return F.cross_entropy(q.logits[0], idx) + 0.1 * nll_cont

    def batches():
        while True:
            yield from loader

    done, start = 0, 0.0
    for real, _ in batches():
        if done == warmup:
            synchronize(device)
            start = time.perf_counter()
        real = real.to(device)
        n = real.size(0)
        z = torch.randn(n, spec.noise_dim, device=device)
        idx = torch.randint(10, (n,), device=device)
        cont = torch.rand(n, 2, device=device) * 2 - 1
        fake = G(torch.cat([z, F.one_hot(idx, 10).float(), cont], 1))
        ones, zeros = torch.ones(n, device=device), torch.zeros(n, device=device)

        opt_d.zero_grad()
        d_real, _ = D(real)
        d_fake, q = D(fake.detach())
        loss_d = bce(d_real, ones) + bce(d_fake, zeros) + info(q, idx, cont)
        loss_d.backward()
        opt_d.step()

        opt_g.zero_grad()
        d_g, q = D(fake)
        loss_g = bce(d_g, ones) + info(q, idx, cont)
        loss_g.backward()
        opt_g.step()
        _ = (loss_d.item(), loss_g.item())  # logged every step, as such loops do
        done += 1
        if done == warmup + steps:
            break
    synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def time_to_accuracy(images: torch.Tensor, test_images: torch.Tensor, test_labels: torch.Tensor,
                     config: TrainConfig, device: torch.device, target: float, every: int,
                     max_seconds: float) -> tuple[float | None, int, float]:
    """Train with ``fit`` in chunks of ``every`` steps; (seconds to reach target or None, steps, accuracy)."""
    state = create_state(LatentSpec(), dataclasses.replace(config, steps=every, checkpoint_every=0), device)
    images = images.to(device)
    trained, accuracy = 0.0, 0.0
    step = make_step(state)  # one recording for every chunk
    while trained < max_seconds:
        synchronize(device)
        start = time.perf_counter()
        fit(state, images, progress=False, step=step)
        synchronize(device)
        trained += time.perf_counter() - start
        accuracy = categorical_accuracy(state.D, test_images.to(device), test_labels.to(device)).accuracy
        print(f"  step {state.step:6d}  {trained:7.1f} s  c1 accuracy {accuracy:.1%}", flush=True)
        if accuracy >= target:
            return trained, state.step, accuracy
        state.config = dataclasses.replace(state.config, steps=state.step + every)
    return None, state.step, accuracy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-sizes", type=int, nargs="+",
                   help="default: 64 128 on the CPU; 128 512 on CUDA (the gpu profile's, and a large one)")
    p.add_argument("--steps", type=int, help="timed steps per row (default: 30 on the CPU, 300 on CUDA)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    p.add_argument("--workers", type=int, default=2, help="the baseline's DataLoader workers")
    p.add_argument("--repeats", type=int, default=3,
                   help="rounds per batch size; each round times every loop once, in turn (interleaved, so a "
                        "load that comes and goes on a shared machine falls on all of them); the table gives "
                        "each loop's median")
    p.add_argument("--compile", choices=("auto", "yes", "no"), default="auto",
                   help="also time TrainConfig(compile=True): auto = on CUDA only")
    p.add_argument("--graph", choices=("auto", "no"), default="auto",
                   help="also time TrainConfig(cuda_graph=True): auto = on CUDA")
    p.add_argument("--data-dir", type=Path, help="IDX folder to train on (default: the bundled sample)")
    p.add_argument("--time-to-accuracy", action="store_true", help="also train until c1 reaches --target")
    p.add_argument("--no-table", action="store_true", help="skip the images/s table (with --time-to-accuracy)")
    p.add_argument("--target", type=float, default=0.95)
    p.add_argument("--eval-dir", type=Path, help="IDX folder to score on (default: the bundled held-out sample)")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--max-seconds", type=float, default=300)
    p.add_argument("--tta-batch-size", type=int, help="batch size of the time-to-accuracy run (default: the gpu "
                                                      "profile's on CUDA, 64 on the CPU)")
    p.add_argument("--lambda-invariant", type=float, default=0.0,
                   help="the time-to-accuracy run's TrainConfig.lambda_invariant (default 0: the paper's recipe)")
    p.add_argument("--cuda-graph", action="store_true", help="the time-to-accuracy run replays a CUDA graph")
    p.add_argument("--seed", type=int, default=0, help="seed of the time-to-accuracy run")
    args = p.parse_args()

    device = select_device(args.device)
    cuda = device.type == "cuda"
    sizes = args.batch_sizes or ([128, 512] if cuda else [64, 128])
    steps = args.steps or (300 if cuda else 30)
    name = torch.cuda.get_device_name(device) if cuda else (platform.processor() or platform.machine())
    print(f"device: {device} ({name}), {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, autocast {autocast_dtype(device, 'auto')}")
    data_dir = args.data_dir or sample_dir()
    data = load_idx_folder(data_dir, split="train") if args.data_dir else load_dataset("sample")
    root = torchvision_root(data_dir)
    compile_too = args.compile == "yes" or (args.compile == "auto" and cuda)
    runs: list[tuple[str, Callable[[int], float]]] = [
        ("baseline", lambda bs: baseline_speed(root, bs, steps, args.warmup, device, args.workers)),
        ("package", lambda bs: package_speed(data.images, bs, steps, args.warmup, device)),
    ]
    if compile_too:
        runs.append(("package+compile",
                     lambda bs: package_speed(data.images, bs, steps, args.warmup, device, compile=True)))
    if device.type == "cpu":  # bf16 autocast: native on CPUs with AVX-512 BF16 or AMX, emulated (slow) elsewhere
        runs.append(("package+bf16" + ("" if cpu_native_bf16() else " (emulated)"),
                     lambda bs: package_speed(data.images, bs, steps, args.warmup, device, precision="bf16")))
    if cuda and args.graph == "auto":
        runs.append(("package+graph",
                     lambda bs: package_speed(data.images, bs, steps, args.warmup, device, cuda_graph=True)))
    if not args.no_table:
        print(f"\n{steps} timed steps after {args.warmup} warm-up steps, {args.repeats} interleaved rounds "
              f"(median); baseline DataLoader workers: {args.workers}\n")
        print("| loop | batch | images/s | × baseline | × package |\n|---|---:|---:|---:|---:|")
    try:
        for bs in [] if args.no_table else sizes:
            speeds: dict[str, list[float]] = {label: [] for label, _ in runs}
            failed: dict[str, str] = {}
            for _ in range(args.repeats):
                for label, run in runs:
                    if label in failed:
                        continue
                    try:
                        speeds[label].append(run(bs))
                    except Exception as e:  # noqa: BLE001 -- one failed row (say, a graph that cannot be recorded) keeps the others
                        failed[label] = f"{type(e).__name__}: {e}"
            median = {label: statistics.median(s) for label, s in speeds.items() if s}
            for label, _ in runs:
                if label in failed:
                    print(f"| {label} | {bs} | failed: {failed[label]} | | |", flush=True)
                    continue
                ratios = [median[label] / median[b] if b in median else float("nan") for b in ("baseline", "package")]
                print(f"| {label} | {bs} | {median[label]:,.0f} | {ratios[0]:.2f} | {ratios[1]:.2f} |", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    if args.time_to_accuracy:
        test = load_idx_folder(args.eval_dir, split="test") if args.eval_dir else load_dataset("sample", split="test")
        batch_size = args.tta_batch_size or (PROFILES["gpu"].batch_size if cuda else 64)
        config = TrainConfig(batch_size=batch_size, lambda_invariant=args.lambda_invariant,
                             cuda_graph=args.cuda_graph, seed=args.seed)
        print(f"\ntime to {args.target:.0%} c1 accuracy on {len(test):,} test images, {config}")
        seconds, at_step, accuracy = time_to_accuracy(data.images, test.images, test.labels, config, device,
                                                      args.target, args.eval_every, args.max_seconds)
        if seconds is None:
            print(f"not reached in {args.max_seconds:.0f} s of training ({at_step} steps, last {accuracy:.1%})")
        else:
            print(f"reached {accuracy:.1%} after {at_step} steps, {seconds:.1f} s of training on {name}")


if __name__ == "__main__":
    main()
