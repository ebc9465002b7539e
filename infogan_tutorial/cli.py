"""Command line: ``python -m infogan_tutorial train | evaluate | sample``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import torch

from .data import SOURCES, Dataset, eval_source, load_dataset, load_idx_folder, sample_dir
from .errors import InfoGANError, SpecError
from .evaluation import categorical_accuracy, estimate_info_bound
from .latent_codes import LatentSpec
from .profiles import PROFILES, get_profile
from .training import (create_state, export_model, fit, load_networks, networks_from_checkpoint, read_checkpoint,
                       TrainConfig, TrainState, resume_state, select_device)


class Parser(argparse.ArgumentParser):
    """argparse, with a pointer to --help on every usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\nRun `{self.prog} --help` to see the options.\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m infogan_tutorial",
               description="Train, evaluate and sample InfoGAN on MNIST-style data.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train an InfoGAN (or a plain GAN) and write checkpoints and figures",
                       description="Train InfoGAN. Writes OUT/checkpoint.pt (every --checkpoint-every steps, at the "
                                   "end and on Ctrl-C), OUT/history.json, OUT/metrics.json and OUT/figures/*.png.")
    t.add_argument("--dataset", choices=SOURCES, default="auto",
                   help="training data: auto = full MNIST via torchvision if available, else the bundled sample; "
                        "idx = the IDX files in --data-dir; fashion-mnist = Debian's dataset-fashion-mnist")
    t.add_argument("--data-dir", type=Path, help="folder of MNIST-style IDX files (for --dataset idx or fashion-mnist)")
    t.add_argument("--profile", choices=sorted(PROFILES),
                   help="work size: smoke, cpu or gpu (default: $INFOGAN_PROFILE, else gpu under CUDA, else cpu)")
    t.add_argument("--steps", type=int, help="total training steps (default: the profile's)")
    t.add_argument("--epochs", type=float, help="train for this many passes over the data instead of --steps")
    t.add_argument("--batch-size", type=int, help="images per step (default: the profile's)")
    t.add_argument("--seed", type=int, default=0, help="seed of weights, batches and codes (default 0)")
    t.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    t.add_argument("--out", type=Path, default=Path("runs/infogan"), help="output folder (default runs/infogan)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in OUT/checkpoint.pt up to --steps (same data, seed and recipe)")
    defaults = TrainConfig()
    t.add_argument("--lambda-cat", type=float, default=defaults.lambda_cat,
                   help=f"weight of the categorical information term (default {defaults.lambda_cat})")
    t.add_argument("--lambda-cont", type=float, default=defaults.lambda_cont,
                   help=f"weight of the continuous information term (default {defaults.lambda_cont})")
    t.add_argument("--lambda-real", type=float, default=defaults.lambda_real,
                   help="weight of the information between real images and Q's categories "
                        f"(default {defaults.lambda_real}; 0 = the paper's InfoGAN)")
    t.add_argument("--lambda-invariant", type=float, default=defaults.lambda_invariant,
                   help="weight of the information between Q's categories of a real image and of a randomly "
                        f"moved copy (default {defaults.lambda_invariant}; 0 = the paper's InfoGAN)")
    t.add_argument("--lr-g", type=float, default=defaults.lr_g, help=f"G's learning rate (default {defaults.lr_g})")
    t.add_argument("--lr-d", type=float, default=defaults.lr_d,
                   help=f"D's and Q's learning rate (default {defaults.lr_d})")
    t.add_argument("--compile", action="store_true", help="torch.compile the networks (PyTorch 2)")
    t.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"), default="auto",
                   help="on CUDA: auto = bf16 where the GPU has it, else fp16 with a gradient scaler; "
                        "fp32 = no mixed precision (the CPU always trains in fp32)")
    t.add_argument("--cuda-graph", action="store_true",
                   help="record the whole step as a CUDA graph and replay it (CUDA, bf16 or fp32; not with --compile)")
    t.add_argument("--threads", type=int, help="CPU threads for PyTorch (default: PyTorch's choice)")
    t.add_argument("--no-info", action="store_true", help="train a plain GAN (the control): no information term")
    t.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default: a quarter of the run)")
    t.add_argument("--export", type=Path, help="also write a compact fp16 model (G and D/Q) to this path")
    quant = t.add_mutually_exclusive_group()
    quant.add_argument("--int8", action="store_true",
                       help="with --export: store the large weight matrices as int8 (half the size of fp16)")
    quant.add_argument("--int4", action="store_true",
                       help="with --export: store the large weight matrices in 4 bits (about a quarter of fp16)")
    t.add_argument("--eval-every", type=int, default=0,
                   help="score c1 on --eval-dir every this many steps, into OUT/eval.jsonl (default 0: at the end)")
    t.add_argument("--eval-dir", type=Path,
                   help="folder of labelled MNIST-style IDX files to score c1 on, its t10k files if present "
                        "(default: the bundled held-out sample; Fashion-MNIST's test split for --dataset fashion-*)")
    t.add_argument("--no-figures", action="store_true", help="do not write figures")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="score c1 as an unsupervised classifier of labelled digits",
                       description="Match Q's categories of c1 to labels (Hungarian algorithm) and print accuracy. "
                                   "The last line of output is one JSON object with accuracy, n, confusion, mapping, "
                                   "info_bound and more.")
    e.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint or exported model")
    e.add_argument("--data-dir", type=Path,
                   help="folder of MNIST-style IDX files: t10k-images-idx3-ubyte[.gz] and its labels, or the train "
                        "files (default: the bundled held-out sample)")
    e.add_argument("--split", choices=("auto", "test", "train"), default="auto",
                   help="which files of --data-dir to read: auto prefers t10k, then train")
    e.add_argument("--n", type=int, help="score only the first N images")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")

    s = sub.add_parser("sample", help="write a figure of generated digits or of a code traversal",
                       description="Write a PNG of G's samples (--code random) or of a traversal of one code.")
    s.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint or exported model")
    s.add_argument("--code", default="random", help="random, or the code to traverse: c1, c2, c3 ...")
    s.add_argument("--rows", type=int, default=10, help="rows of the figure")
    s.add_argument("--seed", type=int, default=0, help="seed of z and the fixed codes")
    s.add_argument("--out", type=Path, default=Path("samples.png"), help="PNG to write (default samples.png)")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    return p


def train(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .figures import plot_info_curves, plot_traversal

    if args.threads is not None:
        if args.threads < 1:
            raise SpecError(f"--threads must be >= 1, got {args.threads}.")
        torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    source = args.dataset if args.dataset != "auto" or profile.name != "smoke" else "sample"
    data = load_dataset(source, split="train", data_dir=args.data_dir)
    batch_size = args.batch_size or profile.batch_size
    steps = args.steps or profile.steps
    if args.epochs is not None:
        steps = max(1, round(args.epochs * (len(data) // batch_size)))
    if args.eval_every < 0:
        raise SpecError(f"--eval-every must be >= 0, got {args.eval_every}.")
    test = (load_idx_folder(args.eval_dir, split="auto") if args.eval_dir
            else load_dataset(eval_source(source), split="test", data_dir=args.data_dir, verbose=False))
    device = select_device(args.device)
    checkpoint = args.out / "checkpoint.pt"
    if args.resume:
        state = resume_state(checkpoint, device, steps=steps, cuda_graph=args.cuda_graph)
        print(f"Resuming {checkpoint} at step {state.step} of {steps}.")
    else:
        if checkpoint.exists():
            raise SpecError(f"{checkpoint} exists already; pass --resume to continue that run, "
                            "or choose another --out.")
        config = profile.train_config(steps=steps, batch_size=batch_size, seed=args.seed, info=not args.no_info,
                                      lambda_cat=args.lambda_cat, lambda_cont=args.lambda_cont,
                                      lambda_real=args.lambda_real, lambda_invariant=args.lambda_invariant,
                                      lr_g=args.lr_g, lr_d=args.lr_d,
                                      compile=args.compile, cuda_graph=args.cuda_graph,
                                      amp=args.precision != "fp32",
                                      amp_dtype=args.precision if args.precision in ("bf16", "fp16") else "auto")
        if args.checkpoint_every is not None:
            config.checkpoint_every = args.checkpoint_every
        state = create_state(LatentSpec(), config, device)
    print(f"Training on {device} for {steps} steps at batch {state.config.batch_size}; writing to {args.out}.")
    args.out.mkdir(parents=True, exist_ok=True)
    fit(state, data.images, args.out, progress=not args.quiet,
        callback=scorer(test, args.out / "eval.jsonl", args.eval_every, state.step) if args.eval_every else None)
    (args.out / "history.json").write_text(json.dumps(state.history))
    result = categorical_accuracy(state.D, test.images, test.labels)
    bound = estimate_info_bound(state.G, state.D, state.spec, n=1000, generator=torch.Generator().manual_seed(0))
    metrics = {"step": state.step, "accuracy": result.accuracy, "n": result.n, "eval_data": test.source,
               "info_cat": float(bound.categorical), "info_cont": float(bound.continuous), "device": str(device)}
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(f"c1 accuracy on {test.source}: {result.accuracy:.1%}; L_I(c1) = {float(bound.categorical):.3f} nats "
          f"(H(c1) = {state.spec.categorical_entropy():.3f}).")
    if args.export:
        export_model(state, args.export, int8=args.int8, int4=args.int4)
        print(f"Exported compact model to {args.export}.")
    if not args.no_figures:
        import matplotlib.pyplot as plt

        figs = args.out / "figures"
        figs.mkdir(exist_ok=True)
        for code in state.spec.code_names():
            ax = plot_traversal(state.G, state.spec, code, generator=torch.Generator().manual_seed(args.seed))
            ax.figure.savefig(figs / f"traversal_{code}.png", dpi=100, bbox_inches="tight")
            plt.close(ax.figure)
        ax = plot_info_curves({"InfoGAN" if state.config.info else "GAN": state.history}, state.spec)
        ax.figure.savefig(figs / "info_bound.png", dpi=100, bbox_inches="tight")
        plt.close(ax.figure)
        print(f"Figures in {figs}.")


def scorer(test: Dataset, path: Path, every: int, start: int = 0) -> Callable[[TrainState], None]:
    """A ``fit`` callback that scores c1 on ``test`` about every ``every`` steps and appends a JSON line to ``path``.

    ``fit`` calls back only when it reads the losses (every ``log_every`` steps), so a score is
    taken at the first such step at or after each multiple of ``every`` past ``start`` (a resumed
    run's step, whose scores are in ``path`` already).
    """
    done = set(range(start // every + 1))

    def score(state: TrainState) -> None:
        due = state.step // every
        if due in done:
            return
        done.add(due)
        result = categorical_accuracy(state.D, test.images, test.labels)
        line = {"step": state.step, "accuracy": result.accuracy, "n": result.n, "eval_data": test.source,
                "info_cat": state.history["info_cat"][-1]}
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
        print(f"step {state.step}: c1 accuracy {result.accuracy:.1%} on {test.source}", flush=True)

    return score


def evaluate(args: argparse.Namespace) -> None:
    device = select_device(args.device)
    ckpt = read_checkpoint(args.checkpoint)  # read once: it holds the networks and the step
    spec, G, D = networks_from_checkpoint(ckpt, device, path=args.checkpoint)
    data = load_idx_folder(args.data_dir or sample_dir(), split=args.split)
    images, labels = data.images, data.labels
    if args.n is not None:
        if args.n < 1:
            raise SpecError(f"--n must be >= 1, got {args.n}.")
        images, labels = images[:args.n], labels[:args.n]
    result = categorical_accuracy(D, images, labels)
    bound = estimate_info_bound(G, D, spec, n=2000, generator=torch.Generator().manual_seed(0))
    print(f"c1 accuracy on {data.source}: {result.accuracy:.2%} of {result.n} images")
    print(f"L_I(c1) = {float(bound.categorical):.3f} nats of H(c1) = {spec.categorical_entropy():.3f}")
    out = {**result.to_dict(), "info_cat": float(bound.categorical), "info_cont": float(bound.continuous),
           "data": data.source, "checkpoint": str(args.checkpoint), "step": ckpt.get("step")}
    print(json.dumps(out))


def sample(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import generate, plot_images, plot_traversal

    spec, G, _ = load_networks(args.checkpoint, select_device(args.device))
    rng = torch.Generator().manual_seed(args.seed)
    if args.code == "random":
        ax = plot_images(generate(G, spec.sample(args.rows * 10, rng)), nrow=10, title="samples of G(z, c)")
    else:
        ax = plot_traversal(G, spec, args.code, rows=args.rows, generator=rng)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp.png")
    ax.figure.savefig(tmp, dpi=100, bbox_inches="tight")
    tmp.replace(args.out)
    plt.close(ax.figure)
    print(f"Wrote {args.out}.")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        {"train": train, "evaluate": evaluate, "sample": sample}[args.command](args)
    except InfoGANError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 0
