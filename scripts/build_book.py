"""Build the book for instructors (solutions in dropdowns) or for students (no solutions).

    python scripts/build_book.py                       # instructor: _build/instructor/_build/html
    python scripts/build_book.py --student             # student:    _build/student/_build/html
    python scripts/build_book.py --student --toc T.yml # other options go to `jupyter-book build`

Both builds run ``jupyter-book build . -W -n --keep-going`` with the environment as it is
(so ``INFOGAN_PROFILE=smoke`` works) and their own ``--path-output``, so their caches and
pages never mix.

The student build reads ``_config.yml`` and writes a temporary copy with three changes:

- ``sphinx.config.hide_solutions: true``, sphinx-exercise's switch for hiding solutions;
- the local extension ``hide_gated_solutions`` (``scripts/hide_gated_solutions.py``), without
  which that switch crashes on the book's gated solutions and would not remove their code
  cells; it also strips the solutions from the notebooks the download button serves;
- no Colab launch button, which would open the repository's notebook, solutions included.

Nothing else differs, so there is no second configuration file to keep in step.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
BUILD_FLAGS = ["-W", "-n", "--keep-going"]


def student_config(config: dict) -> dict:
    """``config`` (the parsed ``_config.yml``) with the student build's changes merged in."""
    cfg = copy.deepcopy(config)
    sphinx = cfg.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    sphinx.setdefault("local_extensions", {})["hide_gated_solutions"] = str(SCRIPTS)
    cfg["launch_buttons"] = {**cfg.get("launch_buttons", {}), "colab_url": ""}
    return cfg


def jupyter_book() -> str:
    """The ``jupyter-book`` next to this Python (the project's venv), else the one on PATH."""
    here = Path(sys.executable).parent / "jupyter-book"
    return str(here) if here.exists() else (shutil.which("jupyter-book") or "jupyter-book")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--student", action="store_true", help="hide the solutions")
    which.add_argument("--instructor", action="store_true", help="show the solutions in dropdowns (default)")
    args, extra = p.parse_known_args(argv)
    audience = "student" if args.student else "instructor"
    config_path = ROOT / "_config.yml"
    with tempfile.TemporaryDirectory(prefix="book-config-") as tmp:
        if args.student:
            config = yaml.safe_load(config_path.read_text(encoding="utf8"))
            config_path = Path(tmp) / "_config.yml"
            config_path.write_text(yaml.safe_dump(student_config(config), sort_keys=False), encoding="utf8")
        cmd = [jupyter_book(), "build", ".", "--config", str(config_path),
               "--path-output", str(Path("_build") / audience), *BUILD_FLAGS, *extra]
        print("$", " ".join(cmd), flush=True)
        code = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy()).returncode
    if code == 0:
        print(f"{audience} book: {ROOT / '_build' / audience / '_build' / 'html' / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
