"""Store a finished training run as one of the book's reference runs, in data/reference/NAME/.

    python scripts/record_reference.py --run runs/reference/paper-seed-1 --name paper-seed-1 \
        --command "python -m infogan_tutorial train ..." --machine "2-core x86-64 CPU, torch 2.11" \
        --eval-dir ../shared/data/mnist-t10k

``--run`` is an output folder of ``python -m infogan_tutorial train`` (its ``checkpoint.pt``). c1 is
scored on the bundled held-out sample and, with ``--eval-dir``, on the IDX test files there
(``--eval-name`` names them, default "official MNIST test split"). Writes the files that
``infogan_tutorial.reference_runs`` reads, and a README.md with the command and the scores.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from infogan_tutorial.data import load_dataset, load_idx_folder
from infogan_tutorial.reference_runs import REFERENCE_DIR, TRAVERSAL_SEED, record_reference

SAMPLE = "bundled held-out sample"

README = """# Reference run `{name}`

{about}

Made with the package's own command line on {machine}:

```bash
{command}
python scripts/record_reference.py {args}
```

`summary.json` (command, recipe, scores), `history.json` (the training history) and
`traversals.npz` (the paper's Figure 2 drawn by the final G: rows from seed {seed}, uint8) are read
by `infogan_tutorial.reference_runs.load_reference("{name}")`.

| test set | images | accuracy of $c_1$ (Hungarian matching) |
|---|---:|---:|
{rows}

$L_I(c_1)$ on 2,000 fresh samples: {info_cat:.3f} nats of $H(c_1) = \\ln 10 = 2.303$.
"""


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True, help="the training run's output folder")
    p.add_argument("--name", required=True, help="folder name under data/reference")
    p.add_argument("--command", required=True, help="the training command, recorded as given")
    p.add_argument("--machine", required=True, help="where it ran, e.g. '2-core x86-64 CPU, torch 2.11'")
    p.add_argument("--about", default="", help="a sentence on what the run is for")
    p.add_argument("--eval-dir", type=Path, help="a folder with IDX test files (e.g. the official MNIST t10k)")
    p.add_argument("--eval-name", default="official MNIST test split")
    p.add_argument("--out", type=Path, default=REFERENCE_DIR)
    args = p.parse_args(argv)
    test_sets = {SAMPLE: load_dataset("sample", split="test")}
    if args.eval_dir:
        test_sets[args.eval_name] = load_idx_folder(args.eval_dir, split="test")
    ref = record_reference(args.run, args.out / args.name, test_sets, args.command, args.machine)
    rows = "\n".join(f"| {name} | {ref.accuracy(name).n:,} | {ref.accuracy(name).accuracy:.1%} |"
                     for name in ref.test_sets)
    record_args = shlex.join(argv if argv is not None else sys.argv[1:])
    (args.out / args.name / "README.md").write_text(README.format(
        name=args.name, about=args.about, machine=args.machine, command=args.command, args=record_args,
        seed=TRAVERSAL_SEED, rows=rows, info_cat=ref.summary["info_cat"]))
    print(f"wrote {args.out / args.name}:")
    print(rows)


if __name__ == "__main__":
    main()
