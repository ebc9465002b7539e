"""Training speed: the package's loop against the usual PyTorch InfoGAN loop, on this machine.

    python benchmarks/speed.py                      # CPU: batch 64 and 128
    python benchmarks/speed.py --time-to-accuracy   # CUDA: also the time to 95 % test accuracy
    python benchmarks/speed.py --peer natsu=InfoGAN-PyTorch --peer pytorch-gan=PyTorch-GAN  # and the peers

Prints one table row per (loop, batch size): images/s of whole training steps (a D step and a
G step) after a warm-up, and the ratios to the baseline and to the package's own fp32 loop at the
same batch size. Each batch size runs ``--repeats`` rounds, every loop once per round in turn
(interleaved: a load that comes and goes on a shared machine falls on all of them), and each row
is the median of its rounds.

* ``package``: ``training.fit`` as the book uses it: the data set resident on the device,
  batches gathered there, bf16 autocast on CUDA (fp16 with a scaler where bf16 is not native),
  statistics read back every ``log_every`` steps, cuDNN autotuning. On the CPU this row is fp32
  (``package (fp32)``), the reference of the last column, whatever ``auto`` would pick.
* ``package+bf16`` (CPU): the same under CPU bf16 autocast (``TrainConfig(precision="bf16")``); marked
  "emulated" where the CPU has no native bf16 (AVX-512 BF16 or AMX), where it is slower than fp32.
* ``package+compile``: the same with ``TrainConfig(compile=True)`` (CUDA only by default: on the
  CPU, compilation takes longer than the run).
* ``package+graph``: the same with ``TrainConfig(cuda_graph=True)``: the whole step recorded once as
  a CUDA graph and replayed (CUDA only).
* ``baseline``: the loop most PyTorch InfoGAN repositories use: ``torchvision.datasets.MNIST``
  with ``ToTensor`` and ``Normalize`` transforms behind a ``DataLoader`` (``--workers`` processes),
  fp32, ``.item()`` on the losses every step. Same networks, same losses, same optimizers.
* ``peer NAME`` (``--peer NAME=CLONE``, repeatable): a peer repository's own training script as it
  ships, from a git clone of it: ``natsu`` (https://github.com/Natsu6767/InfoGAN-PyTorch) and
  ``pytorch-gan`` (https://github.com/eriklindernoren/PyTorch-GAN), their own networks, data
  pipeline and logging (:func:`peer_speed`).

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


PEERS = {
    "natsu": ("train.py", "Natsu6767/InfoGAN-PyTorch, train.py as shipped (its config.py's batch size set)"),
    "pytorch-gan": ("implementations/infogan/infogan.py",
                    "eriklindernoren/PyTorch-GAN, implementations/infogan/infogan.py as shipped (--batch_size)"),
}
"""The peers' training scripts (``--peer NAME=CLONE``): the path of the script in a clone, and what is run."""

_PEER_RUNNER = r"""
import json, os, runpy, sys, time
import matplotlib
matplotlib.use("Agg")
import torch, torch.utils.data as tud

name, script, batch_size, steps, warmup = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
_full = torch.full
def full(size, fill_value, *args, **kwargs):  # written for torch < 1.7, where an integer fill gave floats
    if "dtype" not in kwargs and type(fill_value) is int:
        kwargs["dtype"] = torch.get_default_dtype()
    return _full(size, fill_value, *args, **kwargs)
torch.full = full
import torchvision.transforms as T
_normalize = T.Normalize.forward
def normalize(self, tensor):  # written for torchvision < 0.8, whose Normalize took a 3-value mean for 1 channel
    channels = tensor.shape[-3]
    if len(self.mean) > channels:
        return T.functional.normalize(tensor, self.mean[:channels], self.std[:channels], self.inplace)
    return _normalize(self, tensor)
T.Normalize.forward = normalize
_iter, fetched = tud.DataLoader.__iter__, {"n": 0, "start": 0.0}
def timed(self):  # every batch handed out is followed by one training step before the next is asked for
    for batch in _iter(self):
        if fetched["n"] == warmup:
            fetched["start"] = time.perf_counter()
        if fetched["n"] == warmup + steps:
            print("PEER_IMAGES_PER_S", json.dumps(steps * batch_size / (time.perf_counter() - fetched["start"])),
                  flush=True)
            os._exit(0)
        fetched["n"] += 1
        yield batch
tud.DataLoader.__iter__ = timed
sys.path.insert(0, os.path.dirname(script))
if name == "natsu":
    import config
    config.params.update(batch_size=batch_size, num_epochs=10**6)
    sys.argv = [script]
else:
    sys.argv = [script, "--batch_size", str(batch_size), "--n_epochs", str(10**6)]
runpy.run_path(script, run_name="__main__")
"""


def peer_speed(name: str, clone: Path, root: Path, batch_size: int, steps: int, warmup: int) -> float:
    """images/s of a peer's own training script, run unchanged in a fresh Python (its DataLoader, transforms,
    logging and periodic sample images included) from a scratch folder where its relative data path finds the
    IDX files of ``root``. The time runs from the ``warmup``-th batch its DataLoader hands out to the one
    ``steps`` later. Two shims restore what the scripts were written for: ``torch.full`` with an integer fill
    gives floats (torch < 1.7; Natsu6767's BCE labels), and ``Normalize`` with a 3-value mean normalises one
    channel (torchvision < 0.8; PyTorch-GAN's transform). Without them both stop with an error today."""
    import subprocess
    import sys

    script = (clone / PEERS[name][0]).resolve()
    if not script.is_file():
        raise FileNotFoundError(f"--peer {name}={clone}: no {PEERS[name][0]} there; pass a clone of {PEERS[name][1]}")
    work = Path(tempfile.mkdtemp(prefix=f"infogan-peer-{name}-"))
    try:
        cwd = work if name == "natsu" else work / "a" / "b"  # data/mnist/ or ../../data/mnist/
        (work / "data" / "mnist").mkdir(parents=True)
        (work / "data" / "mnist" / "MNIST").symlink_to(root / "MNIST")
        cwd.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-c", _PEER_RUNNER, name, str(script), str(batch_size), str(steps),
                               str(warmup)], cwd=cwd, capture_output=True, text=True, timeout=1800)
        for line in done.stdout.splitlines():
            if line.startswith("PEER_IMAGES_PER_S "):
                return float(line.split()[1])
        raise RuntimeError(f"{name} stopped before {warmup + steps} batches: "
                           f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


def _peer(text: str) -> tuple[str, Path]:
    name, sep, clone = text.partition("=")
    if not sep or name not in PEERS or not clone:
        raise argparse.ArgumentTypeError(f"--peer takes NAME=CLONE with NAME one of {', '.join(PEERS)}, e.g. "
                                         "natsu=InfoGAN-PyTorch (git clone https://github.com/Natsu6767/"
                                         "InfoGAN-PyTorch)")
    return name, Path(clone)


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
    p.add_argument("--peer", type=_peer, action="append", default=[], metavar="NAME=CLONE",
                   help=f"also time a peer's own training script, from a git clone of it ({', '.join(PEERS)}); "
                        "repeatable")
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
        ("package" + (" (fp32)" if device.type == "cpu" else ""),
         lambda bs: package_speed(data.images, bs, steps, args.warmup, device,
                                  precision="fp32" if device.type == "cpu" else "auto")),
    ]
    for peer in args.peer:
        runs.append((f"peer {peer[0]}", lambda bs, peer=peer: peer_speed(*peer, root, bs, steps, args.warmup)))
    if compile_too:
        runs.append(("package+compile",
                     lambda bs: package_speed(data.images, bs, steps, args.warmup, device, compile=True)))
    if device.type == "cpu":  # bf16 autocast: native on CPUs with AVX-512 BF16 or AMX, emulated (slow) elsewhere
        runs.append(("package+bf16" + ("" if cpu_native_bf16() else " (emulated)"),
                     lambda bs: package_speed(data.images, bs, steps, args.warmup, device, precision="bf16")))
    if cuda and args.graph == "auto":
        runs.append(("package+graph",
                     lambda bs: package_speed(data.images, bs, steps, args.warmup, device, cuda_graph=True)))
    own = runs[1][0]  # the package's own loop in fp32 (CPU) or as auto picks (CUDA)
    if not args.no_table:
        print(f"\n{steps} timed steps after {args.warmup} warm-up steps, {args.repeats} interleaved rounds "
              f"(median); baseline DataLoader workers: {args.workers}\n")
        for name, clone in args.peer:
            print(f"peer {name}: {PEERS[name][1]}, from {clone}")
        print(f"| loop | batch | images/s | × baseline | × {own} |\n|---|---:|---:|---:|---:|")
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
                ratios = [median[label] / median[b] if b in median else float("nan") for b in ("baseline", own)]
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
