"""Command line: ``python -m infogan_tutorial train | evaluate | sample``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import re
import shlex
import sys
import time
import warnings
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Callable

import torch

from .data import SOURCES, Dataset, eval_source, load_dataset, load_idx_folder
from .errors import DataError, InfoGANError, SpecError
from .evaluation import categorical_accuracy, estimate_info_bound, invariant_score
from .objectives import InfoBound
from .latent_codes import LatentSpec
from .profiles import PROFILES, get_profile
from .checkpoints import (PNG_MAGIC, ZIP_MAGIC, load_networks, networks_from_checkpoint, not_regular_file,
                          read_checkpoint, starts_with)
from .compute import PRECISIONS, plan_compute
from .config import MAX_SEED, MAX_STEPS
from .devices import select_device
from .interrupts import terminate_as_interrupt
from .run_folder import check_not_busy, path_argument
from .training import TrainConfig, TrainState, create_state, fit, resume_state, saved_recipe


def _number(kind: type, low: float | None = None, strict: bool = False,
            high: float | None = None) -> Callable[[str], float | int]:
    """An argparse type: a finite ``kind`` (int or float), at least ``low`` (above it if ``strict``), at most ``high``."""
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if strict else value < low):
            raise argparse.ArgumentTypeError(f"{text} must be {'>' if strict else '>='} {low:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} must be <= {high if isinstance(high, int) else format(high, 'g')}")
        return value + 0 if kind is float else value  # -0 is recorded as 0.0, never as -0.0
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


POSITIVE_INT, COUNT = _number(int, 1), _number(int, 0)  # >= 1; >= 0
STEPS = _number(int, 1, high=MAX_STEPS)
DEFAULT_CHECKPOINT_SPAN = 1000
"""The default --checkpoint-every: a quarter of the run, but at least every this many steps."""
OTHER_FORMATS = frozenset({".onnx", ".png", ".jpg", ".jpeg", ".json", ".jsonl", ".txt", ".csv", ".npy", ".npz",
                           ".safetensors", ".h5", ".ipynb", ".py", ".md", ".html"})
"""Suffixes of formats that --export does not write (it writes a torch file)."""
BATCH = _number(int, 2)  # batch norm needs two images per batch
SEED = _number(int, 0, high=MAX_SEED)
ROWS = _number(int, 1, high=100)  # a figure, not a data set
THREADS = _number(int, 1, high=1024)
POSITIVE, NON_NEGATIVE = _number(float, 0, strict=True), _number(float, 0)
READS_DATA_DIR = tuple(name for name, source in SOURCES.items() if source.data_dir != "ignored")


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


class Parser(argparse.ArgumentParser):
    """argparse, with a pointer to --help on every usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.endswith("expected one argument"):  # also what argparse says of a value starting with '-'
            option = message.split(":")[0].removeprefix("argument ").split("/")[-1]
            message += (f" (a value that starts with '-', such as a file named -x.png, is written {option}=-x.png "
                        "or as ./-x.png)")
        self.exit(2, f"{self.prog}: error: {message}\nRun `{self.prog} --help` to see the options.\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m infogan_tutorial",
               description="Train, evaluate and sample InfoGAN on MNIST-style data.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train an InfoGAN (or a plain GAN) and write checkpoints and figures",
                       description="Train InfoGAN. Writes OUT/checkpoint.pt (every --checkpoint-every steps, at the "
                                   "end and on Ctrl-C), OUT/history.json, OUT/metrics.json and OUT/figures/*.png.")
    t.add_argument("--dataset", choices=SOURCES,
                   help="training data: " + "; ".join(f"{s.name} = {s.help}" for s in SOURCES.values())
                        + " (default auto; on --resume, the run's own)")
    t.add_argument("--data-dir", type=path_argument,
                   help=f"folder of MNIST-style IDX files (for --dataset {_names(READS_DATA_DIR)})")
    t.add_argument("--profile", choices=sorted(PROFILES),
                   help="work size: smoke, cpu or gpu (default: $INFOGAN_PROFILE, else gpu under CUDA, else cpu)")
    t.add_argument("--steps", type=STEPS,
                   help=f"total training steps, 1 to {MAX_STEPS:,} (default: the profile's; on --resume, the run's)")
    t.add_argument("--epochs", type=POSITIVE,
                   help="train for this many passes over the data instead of --steps (on --resume: in all, counted "
                        "at the run's batch size)")
    t.add_argument("--batch-size", type=BATCH,
                   help="images per step, at least 2 (batch norm needs two; default: the profile's)")
    t.add_argument("--seed", type=SEED, help="seed of weights, batches and codes (default 0)")
    t.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    t.add_argument("--out", type=path_argument, default=Path("runs/infogan"), help="output folder (default runs/infogan)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in OUT/checkpoint.pt up to --steps: its data, seed and recipe are kept "
                        "(options that would change them are refused)")
    defaults = TrainConfig()
    t.add_argument("--lambda-cat", type=NON_NEGATIVE,
                   help=f"weight of the categorical information term (default {defaults.lambda_cat})")
    t.add_argument("--lambda-cont", type=NON_NEGATIVE,
                   help=f"weight of the continuous information term (default {defaults.lambda_cont})")
    t.add_argument("--lambda-real", type=NON_NEGATIVE,
                   help="weight of the information between real images and Q's categories "
                        f"(default {defaults.lambda_real}; 0 = the paper's InfoGAN)")
    t.add_argument("--lambda-invariant", type=NON_NEGATIVE,
                   help="weight of the information between Q's categories of a real image and of a randomly "
                        f"moved copy (default {defaults.lambda_invariant}; 0 = the paper's InfoGAN)")
    t.add_argument("--lr-g", type=POSITIVE, help=f"G's learning rate (default {defaults.lr_g})")
    t.add_argument("--lr-d", type=POSITIVE,
                   help=f"D's and Q's learning rate (default {defaults.lr_d})")
    t.add_argument("--compile", action="store_true", help="torch.compile the networks (PyTorch 2)")
    t.add_argument("--precision", choices=tuple(PRECISIONS),
                   help="on CUDA: auto = bf16 where the GPU has it natively, else fp32 replayed from a CUDA graph "
                        "(fp16 with a gradient scaler where no graph records); fp32 = no mixed precision; "
                        "on the CPU: auto = bf16 where the CPU has it natively (AVX-512 BF16 or AMX), else fp32; "
                        "default auto")
    t.add_argument("--cuda-graph", action=argparse.BooleanOptionalAction,
                   help="record the whole step as a CUDA graph and replay it (CUDA, bf16 or fp32; not with --compile); "
                        "default: on wherever the device can record one (never on the CPU); --no-cuda-graph: off")
    t.add_argument("--threads", type=THREADS, help="CPU threads for PyTorch (default: PyTorch's choice)")
    t.add_argument("--no-info", action="store_true", default=None,
                   help="train a plain GAN (the control): no information term")
    t.add_argument("--checkpoint-every", type=COUNT,
                   help=f"steps between checkpoints (default: a quarter of the run, at most {DEFAULT_CHECKPOINT_SPAN}; "
                        "0: only at the end)")
    t.add_argument("--export", type=path_argument,
                   help="also write a compact fp16 model (G and D/Q) to this path (outside the run's own files; an "
                        "existing file is replaced only if it is an exported model)")
    quant = t.add_mutually_exclusive_group()
    quant.add_argument("--int8", action="store_true",
                       help="with --export: store the large weight matrices as int8 (half the size of fp16)")
    quant.add_argument("--int4", action="store_true",
                       help="with --export: store the large weight matrices in 4 bits (about a quarter of fp16)")
    t.add_argument("--eval-every", type=COUNT, default=0,
                   help="score c1 on --eval-dir every this many steps, into OUT/eval.jsonl (default 0: at the end); a new "
                        "run reads its losses at a divisor of this, so the scores fall on its multiples")
    t.add_argument("--eval-dir", type=path_argument,
                   help="folder of labelled MNIST-style IDX files to score c1 on, its t10k files if present "
                        "(default: the bundled held-out sample; Fashion-MNIST's test split for --dataset fashion-*)")
    t.add_argument("--no-figures", action="store_true", help="do not write figures")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="score c1 as an unsupervised classifier of labelled digits",
                       description="Match Q's categories of c1 to labels (Hungarian algorithm) and print accuracy. "
                                   "The last line of output is one JSON object with accuracy, n, confusion, mapping, "
                                   "info_cat, info_cont, data, checkpoint and step.")
    e.add_argument("--checkpoint", type=path_argument, required=True, help="a checkpoint or exported model")
    e.add_argument("--data-dir", type=path_argument,
                   help="folder of MNIST-style IDX files: t10k-images-idx3-ubyte[.gz] and its labels, or the train "
                        "files (default: the bundled held-out sample)")
    e.add_argument("--split", choices=("auto", "test", "train"), default="auto",
                   help="which files of --data-dir to read: auto prefers t10k, then train")
    e.add_argument("--n", type=POSITIVE_INT, help="score a random subset of N images (drawn with --seed)")
    e.add_argument("--seed", type=SEED, default=0, help="seed of the subset drawn for --n (default 0)")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")

    s = sub.add_parser("sample", help="write a figure of generated digits or of a code traversal",
                       description="Write a PNG of G's samples (--code random) or of a traversal of one code.")
    s.add_argument("--checkpoint", type=path_argument, required=True, help="a checkpoint or exported model")
    s.add_argument("--code", default="random", help="random, or the code to traverse: c1, c2, c3 ...")
    s.add_argument("--rows", type=ROWS, default=10, help="rows of the figure (1 to 100)")
    s.add_argument("--seed", type=SEED, default=0, help="seed of z and the fixed codes")
    s.add_argument("--out", type=path_argument, default=Path("samples.png"),
                   help="PNG to write, a name ending in .png (default samples.png); an existing file is replaced only "
                        "if it is a PNG image")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    return p


RECIPE = {"batch_size": "--batch-size", "seed": "--seed", "lambda_cat": "--lambda-cat",
          "lambda_cont": "--lambda-cont", "lambda_real": "--lambda-real", "lambda_invariant": "--lambda-invariant",
          "lr_g": "--lr-g", "lr_d": "--lr-d", "precision": "--precision", "info": "--no-info"}
"""TrainConfig fields the command line sets, and their options: fixed for the life of a run."""


def _recipe(args: argparse.Namespace) -> dict[str, object]:
    """The recipe options given on the command line (None: not given)."""
    given = {field: getattr(args, option[2:].replace("-", "_")) for field, option in RECIPE.items()}
    given["info"] = None if args.no_info is None else not args.no_info
    return {k: v for k, v in given.items() if v is not None}


def _data_options(args: argparse.Namespace, saved: dict | None, profile_name: str) -> tuple[str, Path | None]:
    """--dataset and --data-dir: as given; on --resume, the run's own, which may not change. A --data-dir at another
    path is taken for a run that recorded its data's checksum (the data moved): the checksum then says if it is the
    same data."""
    if saved is None and args.resume and args.dataset is None:
        raise SpecError("this run's checkpoint does not say which data it trained on (fit, called from Python, records "
                        "none); --resume needs it: pass --dataset (and --data-dir) with the data the run trained on.")
    if saved is not None:
        if saved.get("dataset") not in SOURCES or not isinstance(saved.get("data_dir", ""), (str, type(None))):
            raise SpecError(f"this run's checkpoint is malformed: its data entry ({saved.get('dataset')!r}, "
                            f"{saved.get('data_dir')!r}) does not name a data set this package reads and the folder it "
                            "trained on, which `train` always writes; use a checkpoint `train` wrote, or start a new "
                            "run.")
        dataset, data_dir = saved["dataset"], Path(saved["data_dir"]) if saved.get("data_dir") else None
        moved = args.data_dir is not None and data_dir is not None and saved.get("fingerprint") is not None
        if moved:
            return dataset, args.data_dir
        if data_dir is not None and not data_dir.exists():
            raise SpecError(f"this run's data folder {data_dir} is not found from here ({Path.cwd()})"
                            + (", and it was given relative to the folder the run started in" if not
                               data_dir.is_absolute() else "") + "; pass --data-dir with its path now (the run's "
                            "checksum of its images checks that it is the same data).")
        if args.dataset is not None and args.dataset != dataset or \
                args.data_dir is not None and (data_dir is None or args.data_dir.resolve() != data_dir.resolve()):
            raise SpecError(f"this run trained on --dataset {dataset}" + (f" --data-dir {data_dir}" if data_dir else "")
                            + "; --resume continues it on the same data. Drop --dataset/--data-dir, or start a new "
                            "run with another --out.")
        return dataset, data_dir
    dataset = args.dataset or "auto"
    if dataset == "auto" and profile_name == "smoke":
        dataset = "sample"  # tests and CI: never a download
    if SOURCES[dataset].data_dir == "required" and args.data_dir is None:
        raise SpecError(f"--dataset {dataset} reads the IDX files of --data-dir FOLDER; add it.")
    if args.data_dir is not None and dataset not in READS_DATA_DIR:
        raise SpecError(f"--data-dir is read only with --dataset {_names(READS_DATA_DIR)}, not {dataset}; add "
                        "--dataset idx to train on that folder.")
    return dataset, args.data_dir


def _resume(args: argparse.Namespace, checkpoint: Path, device: torch.device, steps: int | None,
            saved: TrainConfig) -> TrainState:
    """The run in ``checkpoint`` (whose config is ``saved``), refusing options that would change its recipe.

    Without --steps or --epochs a run already at its last step is taken as it is (``fit`` then only
    writes its report: metrics, export, figures, which an interruption at its very end may have lost).
    """
    def shown(field: str, value: object) -> object:  # --no-info is given when info is False
        return ("given" if not value else "not given") if field == "info" else value

    changed = [f"{RECIPE[k]} ({shown(k, getattr(saved, k))} in the run, {shown(k, v)} now)"
               for k, v in _recipe(args).items() if getattr(saved, k) != v]
    if changed:
        raise SpecError(f"--resume continues a run with its own recipe; these options would change it: "
                        f"{', '.join(changed)}. Drop them, or start a new run with another --out.")
    overrides: dict[str, object] = {"compile": args.compile}
    if args.cuda_graph is not None:  # else decided anew for this device
        overrides["cuda_graph"] = args.cuda_graph
    if args.checkpoint_every is not None:
        overrides["checkpoint_every"] = args.checkpoint_every
    state = resume_state(checkpoint, device, **overrides)
    if steps is not None:  # set here, not by resume_state (which refuses fewer steps than done): said below
        state.config = dataclasses.replace(state.config, steps=steps)
    if state.step >= state.config.steps:
        if steps is None or steps == state.step:  # the same command again, after an interrupt at the end
            print(f"{checkpoint} is complete (step {state.step} of {state.config.steps}); writing its report "
                  "(pass --steps larger than that to train further).")
            return state
        asked = (f"--epochs {args.epochs:g} is {steps} steps at the run's batch size {state.config.batch_size}"
                 if args.epochs is not None else f"--steps {steps}")
        raise SpecError(f"{checkpoint} is at step {state.step} already, and {asked}; ask for more than "
                        f"{state.step} steps in all to train further.")
    c = state.config
    print(f"Resuming {checkpoint} at step {state.step} of {c.steps}, with the run's recipe: batch {c.batch_size}, "
          f"seed {c.seed}, lambda_cat {c.lambda_cat}, lambda_cont {c.lambda_cont}, lambda_real {c.lambda_real}, "
          f"lambda_invariant {c.lambda_invariant}, lr_g {c.lr_g}, lr_d {c.lr_d}, precision {c.precision}"
          + ("" if c.info else ", no information term") + ".")
    return state


def train(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .run_folder import check_output_file, owned

    if args.threads is not None:
        cpus = os.cpu_count() or 1
        if args.threads > 4 * cpus:  # more threads than cores only makes them wait for each other
            raise SpecError(f"--threads {args.threads} is far more than this machine's {cpus} CPU(s), which would "
                            f"slow training many times over; give at most {4 * cpus}, best {cpus} (or drop --threads).")
        torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    if str(args.out) in ("", "."):
        raise SpecError("--out needs a folder of its own for the run's files, e.g. --out runs/infogan.")
    if args.steps is not None and args.epochs is not None:
        raise SpecError("--steps and --epochs both set the length of the run; give one of them.")
    if (args.int8 or args.int4) and args.export is None:
        raise SpecError(f"--{'int8' if args.int8 else 'int4'} applies to the compact model of --export; add "
                        "--export PATH.pt, or drop it.")
    if args.out.is_file():
        raise SpecError(f"--out {args.out} is a file, not a folder" + (
            ": it holds no run to --resume; give the run's folder (the one that holds checkpoint.pt)."
            if args.resume else "; choose a folder for the run's files."))
    checkpoint = args.out / "checkpoint.pt"
    kind = not_regular_file(checkpoint)
    if kind:
        raise SpecError(f"{checkpoint} is {kind}, not a regular file: it holds no run to --resume, and a new run "
                        "cannot write its checkpoint there. Remove it, or choose another --out.")
    if args.export is not None and args.export.suffix.lower() in OTHER_FORMATS:
        raise SpecError(f"--export {args.export}: --export writes a torch file (read back by evaluate and sample "
                        f"--checkpoint), not {args.export.suffix}; give a name ending in .pt, e.g. "
                        f"{args.export.with_suffix('.pt').name}" + (" (for ONNX: python -m infogan_tutorial.web_export "
                                                                   "--onnx G.onnx)." if args.export.suffix.lower()
                                                                   == ".onnx" else "."))
    if checkpoint.is_dir():
        raise SpecError(f"{checkpoint} is a folder, where the run's checkpoint file goes: it holds no run to "
                        "--resume, and a new run cannot write its checkpoint there. Move it away, or choose another "
                        "--out.")
    here = Path(os.path.realpath(args.out))
    if here == here.parent or here == Path(os.path.realpath(Path.cwd())):
        raise SpecError(f"--out {args.out} is {'the root folder' if here == here.parent else 'the folder you are in'}; "
                        "a run needs a folder of its own for its files, e.g. --out runs/infogan.")
    check_not_busy(args.out)
    if not args.no_figures:
        foreign = _foreign_figures(args.out / "figures")
        if foreign:
            raise SpecError(f"{args.out / 'figures'} holds {', '.join(foreign[:3])}: not PNG images, under the "
                            "names the run writes its figures to, so writing them would destroy them. Move them away, "
                            "or pass --no-figures.")
    if not args.resume and checkpoint.exists():
        if checkpoint.is_file() and not starts_with(checkpoint, ZIP_MAGIC):
            raise SpecError(f"{checkpoint} exists and is no checkpoint (its first bytes are no torch.save archive), so "
                            "there is no run to --resume there and a new run would destroy it; move or delete that "
                            "file, or choose another --out.")
        raise SpecError(f"{checkpoint} exists already; pass --resume to continue that run, or choose another --out.")
    if not args.resume and args.out.is_dir():
        foreign = sorted(p.name for p in args.out.iterdir() if p.name not in RUN_FILES
                         and not p.name.startswith(".checkpoint.pt.tmp"))
        if foreign:
            raise SpecError(f"--out {args.out} already holds other files ({', '.join(foreign[:3])}"
                            f"{', ...' if len(foreign) > 3 else ''}); a new run needs an empty or new folder of its "
                            "own. Choose another --out, e.g. a new folder inside it.")
    others = [name for name in RUN_FILES if name not in ("checkpoint.pt", ".lock") and (args.out / name).exists()]
    if not args.resume and others:
        raise SpecError(f"{args.out} holds {', '.join(others)} of another run (or your own files) but no checkpoint; a "
                        "new run would overwrite them. Choose another --out, or move those files away first.")
    wrong_kind = [name for name in RUN_FILES if name != "checkpoint.pt" and (args.out / name).exists()
                  and (args.out / name).is_dir() != (name == "figures")]
    if wrong_kind:  # found now, not after training when the run writes them
        raise SpecError(f"{args.out} holds " + ", ".join(f"{name} as a {'file' if name == 'figures' else 'folder'}"
                                                        for name in wrong_kind)
                        + f" where the run writes its {'folder' if wrong_kind == ['figures'] else 'files'}; move "
                          "them away first, or choose another --out.")
    log = args.out / "eval.jsonl"
    if log.exists() and not log.is_dir() and not_regular_file(log):  # appended to: a FIFO would block for ever
        raise SpecError(f"{log} is {not_regular_file(log)}, not a regular file, where the run appends its scores; "
                        "move it away first, or choose another --out.")
    if args.export is not None:  # after the checks above, which create nothing: this one may create its folder
        check_output_file(args.export, "--export",
                          protect=[args.out, *(args.out / name for name in RUN_FILES)])
    if args.no_info:
        dropped = [o for o, v in (("--lambda-real", args.lambda_real), ("--lambda-invariant", args.lambda_invariant))
                   if v] + [o for o, v in (("--lambda-cat", args.lambda_cat), ("--lambda-cont", args.lambda_cont))
                            if v is not None]
        if dropped:
            raise SpecError(f"--no-info trains a plain GAN, which has no information term and no terms on real images: "
                            f"{', '.join(dropped)} would be recorded but not used. Drop them, or drop --no-info.")
    if args.resume and not checkpoint.exists():
        left = [name for name in RUN_FILES if name not in ("checkpoint.pt", ".lock") and (args.out / name).exists()]
        raise SpecError(f"--resume: {args.out} holds no checkpoint.pt, so there is no run to continue" + (
            f" (a run stopped before its first save left {', '.join(left)}); move those files away and start it again "
            "without --resume, or choose another --out." if left else "; start a new run without --resume, or give "
            "the --out of the run to continue."))
    saved_ckpt = read_checkpoint(checkpoint) if args.resume else None
    if saved_ckpt is not None and "opt_g" not in saved_ckpt:  # said before any option is compared with its recipe
        raise SpecError(f"{checkpoint} holds only weights (an exported model), so training cannot resume from it; "
                        "use it with evaluate or sample --checkpoint, or start a new run in another --out.")
    saved_config, saved_data = saved_recipe(saved_ckpt, checkpoint) if saved_ckpt is not None else (None, None)
    del saved_ckpt
    if saved_config is not None and args.profile is not None and profile.batch_size != saved_config.batch_size:
        print(f"Note: --profile {args.profile} trains at batch {profile.batch_size} for {profile.steps:,} steps; this "
              f"run goes on with its own recipe (batch {saved_config.batch_size}, {saved_config.steps:,} steps): "
              "--resume takes neither from a profile. Lengthen the run with --steps.")
    device = select_device(args.device)  # the recipe, the device and its plan are checked before any data loads
    _check_recipe(args, profile, device, saved_config)
    dataset, data_dir = _data_options(args, saved_data, profile.name)
    data_dir = Path(os.path.abspath(data_dir)) if data_dir else None  # recorded so: a resume may run from anywhere
    eval_dir = Path(os.path.abspath(args.eval_dir)) if args.eval_dir else None
    if eval_dir is None and saved_data and saved_data.get("eval_dir"):  # a resumed run scores on the same data
        eval_dir = Path(saved_data["eval_dir"])
        if not eval_dir.exists():
            raise SpecError(f"this run's --eval-dir {eval_dir} is not found from here ({Path.cwd()}); pass --eval-dir "
                            "with its path now.")
    with owned(args.out), _data_errors_in_flags():
        data = load_dataset(dataset, split="train", data_dir=data_dir)
        test = (load_idx_folder(eval_dir, split="auto") if eval_dir
                else load_dataset(eval_source(dataset), split="test", verbose=False,
                                  data_dir=data_dir if SOURCES[eval_source(dataset)].data_dir != "ignored" else None))
        if device.type != "cuda" and args.precision not in (None, "auto", "fp32") and not (
                device.type == "cpu" and args.precision == "bf16"):
            print(f"Note: --precision {args.precision} applies on a CUDA GPU; on {device.type} training is fp32.")
        batch_size = (saved_config.batch_size if saved_config is not None  # a resumed run keeps its batch size
                      else args.batch_size if args.batch_size is not None else profile.batch_size)
        if batch_size > len(data):
            given = ("the run's batch size" if saved_config is not None
                     else "--batch-size" if args.batch_size is not None else f"the {profile.name} profile's batch size")
            raise SpecError(f"{given} {batch_size} is larger than the {len(data):,} training images of {data.source}; "
                            "pass a smaller --batch-size, or more data.")
        steps = args.steps
        if args.epochs is not None:
            exact = args.epochs * (len(data) // batch_size)  # a float: 1e308 epochs is inf steps
            steps = max(1, round(exact)) if exact <= MAX_STEPS else MAX_STEPS + 1
            if steps > MAX_STEPS:
                many = f"about {exact:.3g}" if exact >= 10 ** 15 else f"{round(exact):,}"
                raise SpecError(f"--epochs {args.epochs:g} is {many} steps at batch {batch_size}, more than the "
                                f"{MAX_STEPS:,} a run may take; ask for fewer --epochs.")
        fingerprint = _fingerprint(data)
        if saved_data and saved_data.get("fingerprint") not in (None, fingerprint):
            raise SpecError(f"the training images of {data.source} have changed since this run started (their "
                            "checksum differs); --resume must continue on the same data. Restore the files, or "
                            "start a new run with another --out.")
        if args.resume:
            state = _resume(args, checkpoint, device, steps, saved_config)
            state.config = _scored_exactly(state.config, args.eval_every)
            _trim_eval_log(args.out / "eval.jsonl", state.step)
            scored = _last_score(args.out / "eval.jsonl")[0]
            if scored and not args.eval_every:  # a session option: the checkpoint does not record it
                print(f"Note: this run scored c1 while it trained (eval.jsonl, last at step {scored}); this session "
                      "does not, since --eval-every was not given. Stop it and add --eval-every N to go on scoring.",
                      file=sys.stderr)
        else:
            steps = steps if steps is not None else profile.steps
            recipe = {**_recipe(args), "batch_size": batch_size, "compile": args.compile}
            if args.cuda_graph is not None:  # else wherever the device records one (compute.plan_compute)
                recipe["cuda_graph"] = args.cuda_graph
            config = profile.train_config(steps=steps, **recipe)
            if args.checkpoint_every is not None:
                config = dataclasses.replace(config, checkpoint_every=args.checkpoint_every)
            elif config.checkpoint_every > DEFAULT_CHECKPOINT_SPAN:  # a long run still saves now and then
                config = dataclasses.replace(config, checkpoint_every=DEFAULT_CHECKPOINT_SPAN)
            state = create_state(LatentSpec(), _scored_exactly(config, args.eval_every), device)
        if state.data is not None and state.data["source"] != data.source and state.data.get("fingerprint") is None:
            raise SpecError(f"this run trained on {state.data['source']}, but {data.source} was loaded now; "
                            "--resume must continue on the same data (pass the run's --dataset and --data-dir).")
        state.data = {"dataset": dataset, "data_dir": str(data_dir) if data_dir else None,
                      "source": data.source, "eval_dir": str(eval_dir) if eval_dir else None,
                      "fingerprint": fingerprint}
        _train_and_report(args, state, data, test, device)


FLAGS = {**RECIPE, "steps": "--steps", "checkpoint_every": "--checkpoint-every", "compile": "--compile",
         "cuda_graph": "--cuda-graph"}
"""TrainConfig fields and the options that set them, to name the options in the command line's messages."""


def _in_flags(message: str) -> str:
    """A TrainConfig or plan_compute message in the command line's terms: its options rather than its fields."""
    if "compile or cuda_graph" in message:
        return "--compile and --cuda-graph: choose one (a recorded CUDA graph is already launched at once); drop one."
    if message.startswith("cuda_graph=True: "):
        problem = message[len("cuda_graph=True: "):].split(" Leave cuda_graph unset")[0]
        return (f"--cuda-graph: {problem} Drop --cuda-graph (the default records a graph wherever the device can), "
                "or pass --no-cuda-graph.")
    for field, flag in FLAGS.items():
        message = message.replace(f"TrainConfig.{field}", flag)
    return message.replace("TrainConfig: ", "")


@contextlib.contextmanager
def _data_errors_in_flags() -> Iterator[None]:
    """DataErrors of ``load_dataset`` in the command line's terms: ``source='sample'`` is ``--dataset sample``,
    ``data_dir=`` is ``--data-dir``."""
    try:
        yield
    except DataError as e:
        text = re.sub(r"source='([^']+)'(?: or '([^']+)')?",
                      lambda m: f"--dataset {m[1]}" + (f" or --dataset {m[2]}" if m[2] else ""), str(e))
        raise DataError(text.replace("data_dir=", "--data-dir ")) from e.__cause__


def _check_recipe(args: argparse.Namespace, profile: object, device: torch.device,
                  saved: TrainConfig | None) -> None:
    """Refuse, before any data is loaded, options that make no valid TrainConfig or that ``device`` cannot run
    (``compute.plan_compute``), naming the options."""
    try:
        if saved is None:
            recipe = {**_recipe(args), "compile": args.compile}
            if args.steps is not None:
                recipe["steps"] = args.steps
            if args.cuda_graph is not None:
                recipe["cuda_graph"] = args.cuda_graph
            if args.batch_size is not None:
                recipe["batch_size"] = args.batch_size
            config = profile.train_config(**recipe)  # type: ignore[attr-defined]
        else:
            graph = args.cuda_graph if args.cuda_graph is not None else (False if saved.cuda_graph is False else None)
            config = dataclasses.replace(saved, compile=args.compile, cuda_graph=graph)  # as _resume will
        plan_compute(device, config.precision, config.cuda_graph, config.compile)
    except SpecError as e:
        raise SpecError(_in_flags(str(e))) from None


RUN_FILES = ("checkpoint.pt", "history.json", "metrics.json", "eval.jsonl", "figures", ".lock")
"""What ``train`` writes in its --out folder."""


def _categorical_bound(bound: InfoBound, spec: LatentSpec) -> str:
    """The categorical part of L_I beside its ceiling H, named for c1 alone or for all categorical codes."""
    if not spec.categorical:
        return f"L_I of the continuous codes = {round(float(bound.continuous), 3) + 0.0:.3f} nats"
    names = "c1" if len(spec.categorical) == 1 else f"the categorical codes c1..c{len(spec.categorical)}"
    return (f"L_I({names}) = {round(float(bound.categorical), 3) + 0.0:.3f} nats of H({names}) = "
            f"{spec.categorical_entropy():.3f}")


def _fingerprint(data: Dataset) -> str:
    """SHA-256 of the training images: a --resume on changed files is refused."""
    import hashlib

    return hashlib.sha256(data.images.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def _trim_eval_log(path: Path, step: int) -> None:
    """Drop the lines of ``eval.jsonl`` after ``step`` (scores of steps a killed run lost, which the resumed
    run takes again), rewriting the file atomically; lines that are no score (cut short by a kill, or written by
    hand) are moved to ``eval.jsonl.unread``, never lost."""
    if not path.is_file():
        return
    text = path.read_text(errors="replace")
    kept, dropped, broken = [], 0, []
    for line in text.splitlines():
        try:
            at = json.loads(line).get("step")
        except (ValueError, AttributeError):
            at = None
        if isinstance(at, int) and at > step:
            dropped += 1
        elif isinstance(at, int):
            kept.append(line)
        elif line.strip():  # a line cut by a kill mid-write (or not a score at all): the next one would be glued to it
            broken.append(line)
    if dropped or broken or (text and not text.endswith("\n")):
        from .checkpoints import replace_atomically

        if broken:
            unread = path.with_name(path.name + ".unread")
            with unread.open("a") as f:
                f.write("".join(f"{line}\n" for line in broken))
        replace_atomically(path, lambda tmp: tmp.write_text("".join(f"{line}\n" for line in kept)))
        if dropped:
            print(f"Dropped {dropped} line(s) of {path} after step {step}, the checkpoint's (they are scored again).")
        if broken:
            print(f"Moved {len(broken)} line(s) of {path} that are no score line (cut short by an interrupted write, "
                  f"or edited by hand) to {unread}.")


def _train_and_report(args: argparse.Namespace, state: TrainState, data: Dataset, test: Dataset,
                      device: torch.device) -> None:
    left = state.config.steps - state.step
    span = (f"for {_count(state.config.steps, 'step')}" if state.step == 0 else
            f"from step {state.step} to {state.config.steps} ({_count(left, 'step')} left)")
    print(f"Training on {device} {span} at batch {state.config.batch_size} "
          f"({state.plan.why}); writing to {args.out}.")
    with warnings.catch_warnings():  # a finished run resumed for its report: the line above says so
        warnings.filterwarnings("ignore", "fit: the state is already at step", UserWarning)
        fit(state, data.images, args.out, progress=not args.quiet, resume_hint=False,
            callback=scorer(test, args.out / "eval.jsonl", args.eval_every, *_last_score(args.out / "eval.jsonl"))
            if args.eval_every else None)
    _write_json(args.out / "history.json", state.history)
    result = categorical_accuracy(state.D, test.images, test.labels) if state.spec.n_categorical else None
    bound = estimate_info_bound(state.G, state.D, state.spec, n=1000, generator=torch.Generator().manual_seed(0))
    metrics = {"step": state.step, "accuracy": result.accuracy if result else None, "n": result.n if result else 0,
               "eval_data": test.source, "info_cat": float(bound.categorical), "info_cont": float(bound.continuous),
               "device": str(device)}
    _write_json(args.out / "metrics.json", metrics, indent=1)
    print((f"c1 accuracy on {test.source}: {result.accuracy:.1%}" if result else
           f"Trained to step {state.step}; this model has no categorical code, so no c1 to score as a classifier")
          + f"; {_categorical_bound(bound, state.spec)}.")
    if args.export:
        from .export import export_model

        export_model(state, args.export, int8=args.int8, int4=args.int4)
        print(f"Exported compact model to {args.export}.")
    if not args.no_figures:
        _write_figures(args, state)


def _clean(x: object) -> object:
    """``x`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _json_line(obj: object) -> str:
    """One line of valid JSON: a non-finite number is written as null."""
    return json.dumps(_clean(obj), allow_nan=False)


def _write_json(path: Path, obj: object, indent: int | None = None) -> None:
    """Valid JSON only: a non-finite number is written as null (JSON has no NaN)."""
    from .checkpoints import replace_atomically

    replace_atomically(path, lambda tmp: tmp.write_text(json.dumps(_clean(obj), indent=indent, allow_nan=False)))


def _scored_exactly(config: TrainConfig, eval_every: int) -> TrainConfig:
    """``config`` with the losses read (``log_every``) at the largest divisor of ``eval_every`` up to its interval:
    scores come at reads of the losses, so each is then taken exactly at a multiple of ``--eval-every`` (also
    after a ``--resume`` that changes it; the interval only sets how often the losses are logged)."""
    if not eval_every or eval_every % config.log_every == 0:
        return config
    reads = max(d for d in range(1, min(config.log_every, eval_every) + 1) if eval_every % d == 0)
    return dataclasses.replace(config, log_every=reads)


def _foreign_figures(figs: Path) -> list[str]:
    """The names of the files in ``figs`` named like a figure (``*.png``) that are not PNG images (a user's own)."""
    if not figs.is_dir():
        return []
    return sorted(p.name for p in figs.glob("*.png") if not_regular_file(p) or p.is_dir() or (
        p.is_file() and p.stat().st_size and not starts_with(p, PNG_MAGIC)))


def _write_figures(args: argparse.Namespace, state: TrainState) -> None:
    import matplotlib.pyplot as plt

    from .figures import plot_info_curves, plot_traversal

    figs = args.out / "figures"
    figs.mkdir(exist_ok=True)
    kept = _foreign_figures(figs)  # put there during the run: kept, not overwritten

    def save(ax: Any, name: str) -> None:
        from .checkpoints import replace_atomically

        if name not in kept:  # a Ctrl-C never leaves half a PNG
            replace_atomically(figs / name, lambda tmp: ax.figure.savefig(tmp, dpi=100, bbox_inches="tight",
                                                                          format="png"))
        plt.close(ax.figure)

    for code in state.spec.code_names():
        save(plot_traversal(state.G, state.spec, code, generator=torch.Generator().manual_seed(state.config.seed)),
             f"traversal_{code}.png")
    save(plot_info_curves({"InfoGAN" if state.config.info else "GAN": state.history}, state.spec), "info_bound.png")
    print(f"Figures in {figs}." + (f" Kept {', '.join(kept)} (not PNG images: not written over)." if kept else ""))


def _count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 step", "2 steps"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _last_score(path: Path) -> tuple[int, float]:
    """The step and ``train_seconds`` of the last score in ``eval.jsonl`` ((0, 0.0) if none): a resumed run scores
    from there on, as the uninterrupted run would have (a run interrupted between two scores has not scored the
    next one yet), and counts its training time on from there."""
    last = (0, 0.0)
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
                step, seconds = int(entry["step"]), float(entry.get("train_seconds", 0.0))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if step >= last[0]:
                last = (step, seconds if math.isfinite(seconds) and seconds >= 0 else 0.0)  # no negative clock
    return last


INVARIANT_IMAGES = 2000
"""How many of the scored images ``eval.jsonl``'s label-free score (``invariant_info``) reads, their pixels only."""


def scorer(test: Dataset, path: Path, every: int, start: int = 0, seconds: float = 0.0) -> Callable[[TrainState], None]:
    """A ``fit`` callback that scores c1 on ``test`` about every ``every`` steps and appends a JSON line to ``path``.

    Each line also holds ``invariant_info``, :func:`~infogan_tutorial.evaluation.invariant_score` on the first
    :data:`INVARIANT_IMAGES` images, which reads no label (``benchmarks/accuracy.py --keep-best`` keeps runs by it).
    ``fit`` calls back only when it reads the losses (every ``log_every`` steps), so a score is
    taken at the first such step at or after each multiple of ``every`` past ``start`` (for a resumed
    run, the step of the last score in ``path``). Each line holds ``train_seconds``: ``seconds`` plus the
    wall time since this callback was made, less the time spent scoring (so, for a fresh run, the time
    spent training, start-up and warm-up included; a resumed run passes its last score's, and goes on
    from there, without the minutes between that score and the interrupt).
    """
    done = set(range(start // every + 1))
    clock = {"made": time.perf_counter(), "scoring": 0.0}

    def score(state: TrainState) -> None:
        due = state.step // every
        if due in done:
            return
        done.add(due)
        if state.device.type == "cuda":
            torch.cuda.synchronize(state.device)  # the steps queued so far count as training
        begin = time.perf_counter()
        if not state.spec.n_categorical:  # nothing to score as a classifier (a model made with the API)
            return
        result = categorical_accuracy(state.D, test.images, test.labels)
        line = {"step": state.step, "accuracy": result.accuracy, "n": result.n, "eval_data": test.source,
                "info_cat": state.history["info_cat"][-1],
                "invariant_info": round(invariant_score(state.D, test.images[:INVARIANT_IMAGES]), 4),
                "train_seconds": round(seconds + begin - clock["made"] - clock["scoring"], 3)}
        with open(path, "a") as f:
            f.write(_json_line(line) + "\n")
        print(f"step {state.step}: c1 accuracy {result.accuracy:.1%} on {test.source}", flush=True)
        clock["scoring"] += time.perf_counter() - begin

    return score


def evaluate(args: argparse.Namespace) -> None:
    device = select_device(args.device)
    ckpt = read_checkpoint(args.checkpoint)  # read once: it holds the networks and the step
    spec, G, D = networks_from_checkpoint(ckpt, device, path=args.checkpoint)
    trained_on = (ckpt.get("data") or {}).get("dataset") or ""
    with _data_errors_in_flags():
        if args.data_dir is None and trained_on in SOURCES and eval_source(trained_on) != "sample":  # its own kind
            saved_dir = (ckpt.get("data") or {}).get("data_dir")
            saved_dir = saved_dir if SOURCES[eval_source(trained_on)].data_dir != "ignored" else None
            data = load_dataset(eval_source(trained_on), split="test",
                                data_dir=Path(saved_dir) if saved_dir else None, verbose=False)
        elif args.data_dir is None:  # the bundled sample, checked against its SHA256SUMS
            data = load_dataset("sample", split="train" if args.split == "train" else "test", verbose=False)
        else:
            data = load_idx_folder(args.data_dir, split=args.split)
    images, labels = data.images, data.labels
    if args.n is not None:  # a random subset: the files may be sorted by class (the bundled sample is)
        if args.n > len(data):
            raise SpecError(f"--n {args.n} is more than the {len(data):,} images in {data.source}; drop --n to score "
                            "them all.")
        pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:args.n]
        images, labels = images[pick], labels[pick]
    result = categorical_accuracy(D, images, labels)
    bound = estimate_info_bound(G, D, spec, n=2000, generator=torch.Generator().manual_seed(0))
    print(f"c1 accuracy on {data.source}: {result.accuracy:.2%} of {result.n} images")
    print(_categorical_bound(bound, spec))
    out = {**result.to_dict(), "info_cat": float(bound.categorical), "info_cont": float(bound.continuous),
           "data": data.source, "checkpoint": str(args.checkpoint), "step": ckpt.get("step")}
    print(_json_line(out))


def sample(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import generate, plot_images, plot_traversal

    from .run_folder import check_output_file

    check_output_file(args.out, "--out", example="samples.png", suffix=".png")
    spec, G, _ = load_networks(args.checkpoint, select_device(args.device))
    if args.code != "random" and args.code not in spec.code_names():
        raise SpecError(f"--code {args.code}: this model's codes are {spec.code_names()}; use one of them, "
                        "or random.")
    rng = torch.Generator().manual_seed(args.seed)
    if args.code == "random":
        ax = plot_images(generate(G, spec.sample(args.rows * 10, rng)), nrow=10, title="samples of G(z, c)")
    else:
        ax = plot_traversal(G, spec, args.code, rows=args.rows, generator=rng)
    from .checkpoints import check_replaceable, remove_stale_temporaries, replace_atomically

    def write(tmp: Path) -> None:  # tmp is unique: two runs to one --out do not share it
        ax.figure.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
        check_replaceable(out, "--out")  # it may have become a FIFO or a device meanwhile

    out = Path(os.path.realpath(args.out)) if args.out.is_symlink() else args.out  # write through a link
    remove_stale_temporaries(out)
    try:
        replace_atomically(out, write)
    except OSError as e:
        raise SpecError(f"could not write {args.out} ({e.strerror or e}); choose another --out.") from e
    finally:
        plt.close(ax.figure)
    print(f"Wrote {args.out}.")


def _negative_values_joined(argv: list[str]) -> list[str]:
    """``--lr-d -1e-3`` as ``--lr-d=-1e-3``: argparse reads a value that starts with "-" as an option unless it
    looks like a plain decimal (-0.001), so a negative number in exponent form would be "expected one argument"
    instead of the option's own message."""
    out: list[str] = []
    for arg in argv:
        prev = out[-1] if out else ""
        if prev.startswith("--") and "=" not in prev and arg.startswith("-") and _is_number(arg):
            out[-1] = f"{prev}={arg}"
        else:
            out.append(arg)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_negative_values_joined(sys.argv[1:] if argv is None else list(argv)))
    new_folders = _missing_folders(args)
    try:
        with terminate_as_interrupt():
            {"train": train, "evaluate": evaluate, "sample": sample}[args.command](args)
    except InfoGANError as e:
        print(f"error: {e}", file=sys.stderr)
        return _remove_empty(new_folders, 2)
    except OSError as e:  # a path the system cannot use (too long, a device, ...): name it, no traceback
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot use{where}: {e.strerror or e}; choose another path.", file=sys.stderr)
        return _remove_empty(new_folders, 2)
    except KeyboardInterrupt:
        if args.command == "train":
            print(_interrupted_train(args), file=sys.stderr)
        else:
            print(f"Interrupted; {args.command} wrote nothing.", file=sys.stderr)
        return _remove_empty(new_folders, 130)
    return 0


def _missing_folders(args: argparse.Namespace) -> list[Path]:
    """The folders a command may create for its outputs (``--out``, ``--export``) that do not exist yet, deepest
    first: a command that fails removes those it left empty (``sample --out a/b/x.png`` leaves no ``a/b``)."""
    found = []
    for name, is_folder in (("out", args.command == "train"), ("export", False)):
        path = getattr(args, name, None)
        if not isinstance(path, Path):
            continue
        folder = Path(os.path.abspath(path if is_folder else path.parent))
        while not os.path.lexists(folder) and folder != folder.parent:
            found.append(folder)
            folder = folder.parent
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def _remove_empty(folders: list[Path], code: int) -> int:
    """Remove each of ``folders`` (deepest first) that is now an empty folder; return ``code``."""
    for folder in folders:
        with contextlib.suppress(OSError):  # not empty, gone, or not ours to remove: left as it is
            if folder.is_dir() and not folder.is_symlink():
                folder.rmdir()
    return code


def _interrupted_train(args: argparse.Namespace) -> str:
    """What an interrupted ``train`` left: the step its checkpoint holds (read from disk, since a second Ctrl-C may
    have stopped the save), or that there is nothing to resume."""
    checkpoint = args.out / "checkpoint.pt"
    try:
        step = read_checkpoint(checkpoint).get("step") if checkpoint.is_file() else None
    except (InfoGANError, OSError, KeyboardInterrupt):
        step = None
    if step is None and checkpoint.is_file():  # a second interrupt stopped the read, or the file is damaged
        return (f"Interrupted; {checkpoint} is there, but its step could not be read now. Continue it with: python -m "
                f"infogan_tutorial train --out {shlex.quote(str(args.out))} --resume{_session_options(args)} (it says "
                "so if the file is damaged).")
    if step is None:
        return (f"Interrupted; stopped before a checkpoint was saved in {args.out}; nothing to resume. Start the run "
                "again to train.")
    return (f"Interrupted; {checkpoint} holds step {step}. Continue it with: python -m infogan_tutorial "
            f"train --out {shlex.quote(str(args.out))} --resume{_session_options(args)}")


def _session_options(args: argparse.Namespace) -> str:
    """The options of this command that the checkpoint does not record (where to run, what to write and score,
    how often to save, the threads), so that the resume command carries them as the interrupted command did."""
    options = [] if args.device == "auto" else ["--device", args.device]
    for flag, value in (("--steps", args.steps), ("--epochs", args.epochs), ("--eval-every", args.eval_every or None),
                        ("--checkpoint-every", args.checkpoint_every), ("--threads", args.threads),
                        ("--export", args.export)):
        if value is not None:
            options += [flag, str(value)]
    options += [flag for flag, on in (("--int8", args.int8), ("--int4", args.int4), ("--no-figures", args.no_figures),
                                      ("--quiet", args.quiet)) if on]
    return "".join(" " + shlex.quote(o) for o in options)
