"""Publish a CLI training run as the book's pretrained model in data/pretrained/.

    python scripts/publish_pretrained.py --run runs/paper/seed-0 --gan-run runs/gan-control \
        --eval-dir ../shared/data/mnist-t10k

``--run`` is an output folder of ``python -m infogan_tutorial train ... --export RUN/model.pt --int8``
and ``--gan-run`` one of the same command with ``--no-info`` (the plain-GAN control of Figure 1).
The script copies the exported model (``--int4``: re-exports it with 4-bit weight matrices), writes the control's history, scores the model on the
bundled held-out sample and on ``--eval-dir`` (the official MNIST test split, if you have it),
and writes ``metrics.json``, ``SHA256SUMS`` and ``README.md`` with the commands it was given.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
from pathlib import Path

import torch

from infogan_tutorial.data import load_dataset, load_idx_folder
from infogan_tutorial.evaluation import categorical_accuracy, estimate_info_bound
from infogan_tutorial.pretrained import GAN_HISTORY_NAME, MODEL_NAME, PRETRAINED_DIR, load_pretrained, sha256
from infogan_tutorial.quantize import INT4_GROUP
from infogan_tutorial.export import export_model

README = """# The pretrained model

`{model}` is the InfoGAN that chapter 7 and its explorer load by default, so that a reader
without a GPU sees a trained model at once. `{gan}` is the training history of the
plain-GAN control (same data, seed and steps, no information term) for the paper's Figure 1.

## How they were made

With the package's own command line, on the bundled 9,000-digit MNIST sample only
(`data/mnist-sample`, training part), on {device}:

```bash
{command}
{gan_command}
python scripts/publish_pretrained.py {publish_args}
```
{note}
The model is the exported form of the run (`--export ... --int8`{reexport}): G and D/Q, with the two
large weight matrices stored {storage} ({size:.1f} MB instead of about 27 MB in fp16). `infogan_tutorial.pretrained.load_pretrained()` and
`python -m infogan_tutorial evaluate --checkpoint data/pretrained/{model}` restore fp32 weights.

## Measured

| data | images | accuracy of $c_1$ (Hungarian matching) |
|---|---:|---:|
| bundled held-out sample (`data/mnist-sample/t10k-*`) | {n_sample:,} | {acc_sample:.1%} |
{official_row}
$L_I(c_1)$ on 2,000 fresh samples: {info_cat:.3f} nats of $H(c_1) = \\ln 10 = 2.303$.
Training: {steps:,} steps at batch {batch_size}; recipe {recipe}.

{about}
Chapter 7 shows the spread over seeds and what we tried. `tests/test_pretrained.py` checks the
checksums in `SHA256SUMS` and the held-out accuracy above.
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="training output folder holding model.pt")
    p.add_argument("--gan-run", type=Path, required=True, help="the --no-info control's output folder")
    p.add_argument("--command", required=True, help="the train command of --run, as run")
    p.add_argument("--gan-command", required=True, help="the train command of --gan-run, as run")
    p.add_argument("--device", default="a 2-core x86-64 CPU", help="where they were trained, in words")
    p.add_argument("--eval-dir", type=Path, help="IDX folder of the official MNIST test split, if available")
    p.add_argument("--int4", action="store_true",
                   help="re-export the run's model with 4-bit weight matrices (export_model(int4=True))")
    p.add_argument("--note", default="", help="a paragraph for the README about how the runs were made")
    p.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    args = p.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    if args.int4:  # the run's int8 export, re-exported with 4-bit weight matrices
        export_model(args.run / "model.pt", args.out / MODEL_NAME, int4=True)
    else:
        shutil.copyfile(args.run / "model.pt", args.out / MODEL_NAME)
    gan_history = json.loads((args.gan_run / "history.json").read_text())
    (args.out / GAN_HISTORY_NAME).write_text(json.dumps(gan_history))

    model = load_pretrained(folder=args.out)
    if gan_history["step"] != model.history["step"]:
        raise SystemExit("the GAN control was logged at other steps than the model; train it with the same "
                         "--steps and profile")
    sample = load_dataset("sample", split="test", verbose=False)
    acc_sample = categorical_accuracy(model.D, sample.images, sample.labels).accuracy
    bound = estimate_info_bound(model.G, model.D, model.spec, n=2000, generator=torch.Generator().manual_seed(0))
    metrics = {"step": model.step, "held_out_sample_accuracy": acc_sample, "n_held_out_sample": len(sample),
               "info_cat": float(bound.categorical), "command": args.command, "gan_command": args.gan_command}
    official_row = ""
    if args.eval_dir:
        official = load_idx_folder(args.eval_dir, split="test")
        metrics["official_test_accuracy"] = categorical_accuracy(model.D, official.images, official.labels).accuracy
        metrics["n_official_test"] = len(official)
        official_row = (f"| official MNIST test split (`t10k-*`, MD5-checked) | {len(official):,} | "
                        f"{metrics['official_test_accuracy']:.1%} |\n")
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    recipe = ", ".join(f"{k} {model.config.get(k, 0.0)}" for k in ("lr_g", "lr_d", "beta1", "lambda_cat",
                                                                   "lambda_cont", "lambda_real", "lambda_invariant"))
    about = ("The recipe is the paper's plus the information terms on real images that chapter 7 measures "
             "(`lambda_invariant`, `lambda_real`)." if model.config.get("lambda_invariant") or
             model.config.get("lambda_real") else "The recipe is the paper's.")
    publish_args = " ".join(f"--{k.replace('_', '-')}" + ("" if v is True else f" {shlex.quote(str(v))}")
                            for k, v in vars(args).items() if v not in (None, False) and k != "out")
    (args.out / "README.md").write_text(README.format(
        model=MODEL_NAME, gan=GAN_HISTORY_NAME, device=args.device, command=args.command,
        gan_command=args.gan_command, publish_args=publish_args, size=(args.out / MODEL_NAME).stat().st_size / 1e6,
        n_sample=len(sample), acc_sample=acc_sample, official_row=official_row, info_cat=float(bound.categorical),
        steps=model.step, batch_size=model.config["batch_size"], recipe=recipe, about=about,
        note=f"\n{args.note}\n" if args.note else "",
        reexport=", then re-exported by this script with `--int4`" if args.int4 else "",
        storage=(f"in 4 bits with one scale per {INT4_GROUP} weights" if args.int4
                 else "as int8 with one scale per row")))
    sums = "".join(f"{sha256(args.out / name)}  {name}\n" for name in (MODEL_NAME, GAN_HISTORY_NAME))
    (args.out / "SHA256SUMS").write_text(sums)
    print((args.out / "README.md").read_text())


if __name__ == "__main__":
    main()
