"""Keep the chapter notebooks uniform: the Colab install cell, GPU metadata, no outputs.

    python scripts/sync_notebooks.py          # rewrite book/*.ipynb in place
    python scripts/sync_notebooks.py --check  # exit 1 if any notebook is out of date (CI)

The install cell is generated from the repository URL in ``_config.yml`` (its one home), so
that no notebook carries a stale copy. It is the first code cell of every chapter, is
skipped by nbval (``# NBVAL_SKIP``) and does nothing where the package is already installed.
It clones into a temporary folder that it renames when the clone is complete, clones again
over a folder that is not a complete clone (an interrupted run), and prints what it did;
``tests/test_install_cell.py`` runs it against a local repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Install cell (written by scripts/sync_notebooks.py)"

INSTALL_CELL = """# NBVAL_SKIP
{marker}: on Colab, or wherever the package is missing,
# clone the repository (the package and its bundled data) and install it. Elsewhere it does nothing.
# The clone is made in a temporary folder and renamed when complete; a folder left incomplete by an
# interrupted run is cloned again. It pins nothing that Colab already ships (torch, numpy, ipywidgets).
import importlib.util, os, shutil, subprocess, sys


def _complete_clone(path):
    # a git clone with a commit checked out and no tracked file missing
    if not os.path.isdir(os.path.join(path, ".git")):
        return False
    git = ["git", "-C", path]
    head = subprocess.run(git + ["rev-parse", "--verify", "-q", "HEAD"], capture_output=True)
    gone = subprocess.run(git + ["ls-files", "--deleted"], capture_output=True, text=True)
    return head.returncode == 0 and gone.returncode == 0 and not gone.stdout


if importlib.util.find_spec("infogan_tutorial") is None:
    repo, target = "{url}", os.path.expanduser("~/infogan-tutorial")
    if os.path.isdir(target) and _complete_clone(target):
        print(f"Using the clone in {{target}}.")
    else:
        if os.path.lexists(target):
            print(f"{{target}} is not a complete clone (an interrupted run?): removing it.")
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.remove(target)
        partial = target + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "{branch}", repo, partial],
                       check=True)
        os.rename(partial, target)
        print(f"Cloned {{repo}} into {{target}}.")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", target], check=True)
    sys.path.insert(0, target)
    print(f"Installed infogan_tutorial from {{target}}.")"""

METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": []},
}


def install_cell(config: dict) -> dict:
    repo = config["repository"]
    source = INSTALL_CELL.format(marker=MARKER, url=repo["url"], branch=repo.get("branch", "main"))
    return {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["hide-input"]},
            "outputs": [], "source": source.splitlines(keepends=True)}


def synced(nb: dict, cell: dict) -> dict:
    cells = [c for c in nb["cells"] if not (c["cell_type"] == "code" and MARKER in "".join(c["source"]))]
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells.insert(first_code, cell)
    for c in cells:
        c.pop("id", None)
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
        if isinstance(c["source"], str):
            c["source"] = c["source"].splitlines(keepends=True)
    return {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 4}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="report notebooks that need syncing; change nothing")
    args = p.parse_args()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    cell = install_cell(config)
    stale = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        text = path.read_text()
        new = json.dumps(synced(json.loads(text), cell), indent=1, ensure_ascii=False) + "\n"
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    if stale:
        verb = "need syncing (run python scripts/sync_notebooks.py)" if args.check else "synced"
        print(f"{len(stale)} notebook(s) {verb}: " + ", ".join(map(str, stale)))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
