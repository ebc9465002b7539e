"""Build the book for instructors (solutions in dropdowns) or for students (no solutions).

    python scripts/build_book.py                       # instructor: _build/instructor/_build/html
    python scripts/build_book.py --student             # student:    _build/student/_build/html
    python scripts/build_book.py --student --toc T.yml # other options go to `jupyter-book build`
    python scripts/build_book.py --student --colab-repo https://github.com/ORG/REPO [--colab-branch main]

Both builds run ``jupyter-book build . -W -n --keep-going`` with the environment as it is
(so ``INFOGAN_PROFILE=smoke`` works) and their own ``--path-output``, so their caches and
pages never mix.

The student build reads ``_config.yml`` and writes a temporary copy with four changes:

- ``sphinx.config.hide_solutions: true``, sphinx-exercise's switch for hiding solutions;
- the local extension ``hide_gated_solutions`` (``book/_ext/hide_gated_solutions.py``), without
  which that switch crashes on the book's gated solutions and would not remove their code
  cells; it also strips the solutions from the notebooks the download button serves;
- no ``sphinx.ext.viewcode``: its ``_modules/`` pages ("[source]" on the API page) would publish the
  source of ``infogan_tutorial.exercises``, the checkers' answer key;
- no Colab launch button, which would open the repository's Colab edition (``colab/``, solutions
  folded in); or, with ``--colab-repo``, Colab buttons that open the ``colab/`` editions of *that*
  repository, which holds the released notebooks (``python scripts/course.py publish COURSE OUT``,
  then push OUT). ``book/_ext/infogan_site.py`` points every Colab button at ``colab/<chapter>``.

Nothing else differs, so there is no second configuration file to keep in step. After a student
build, the executed notebooks (``_build/student/_build/jupyter_execute``, solutions included) are
deleted; publish the ``html`` folder only.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
EXTENSIONS = ROOT / "book" / "_ext"
"""The book's own Sphinx extensions (``infogan_site``; ``hide_gated_solutions`` for the student build)."""
BUILD_FLAGS = ["-W", "-n", "--keep-going"]


def student_config(config: dict, colab_repo: str | None = None, colab_branch: str = "main") -> dict:
    """``config`` (the parsed ``_config.yml``) with the student build's changes merged in.

    ``colab_repo``: the repository of the released notebooks, which the Colab buttons then open;
    without it the student book has no Colab button.
    """
    cfg = copy.deepcopy(config)
    sphinx = cfg.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    local = sphinx.setdefault("local_extensions", {})
    for name, path in local.items():  # the copy lives in a temporary folder: paths relative to the book's root
        local[name] = str(ROOT / path)
    local["hide_gated_solutions"] = str(EXTENSIONS)
    extensions = sphinx.get("extra_extensions") or []
    if "sphinx.ext.viewcode" in extensions:  # its _modules/ pages would publish the checkers' answer key
        sphinx["extra_extensions"] = [e for e in extensions if e != "sphinx.ext.viewcode"]
    if colab_repo:
        cfg["repository"] = {**cfg.get("repository", {}), "url": colab_repo, "branch": colab_branch}
    else:
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
    p.add_argument("--colab-repo", help="student build: Colab buttons open this repository's (released) notebooks")
    p.add_argument("--colab-branch", default="main", help="the branch of --colab-repo (default main)")
    args, extra = p.parse_known_args(argv)
    if args.colab_repo is not None and not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/?", args.colab_repo):
        p.error(f"--colab-repo {args.colab_repo}: Colab opens notebooks from GitHub repositories only; give "
                "https://github.com/ORG/REPO (the students' repository), or drop --colab-repo for a book without "
                "Colab buttons.")
    if args.colab_repo is not None and not args.student:
        p.error("--colab-repo belongs to the student build; add --student.")
    audience = "student" if args.student else "instructor"
    config_path = ROOT / "_config.yml"
    with tempfile.TemporaryDirectory(prefix="book-config-") as tmp:
        if args.student:
            config = yaml.safe_load(config_path.read_text(encoding="utf8"))
            config_path = Path(tmp) / "_config.yml"
            cfg = student_config(config, args.colab_repo, args.colab_branch)
            config_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf8")
        cmd = [jupyter_book(), "build", ".", "--config", str(config_path),
               "--path-output", str(Path("_build") / audience), *BUILD_FLAGS, *extra]
        print("$", " ".join(cmd), flush=True)
        code = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy()).returncode
    if args.student:  # executed copies of every chapter, solutions included: never part of what is published
        shutil.rmtree(ROOT / "_build" / audience / "_build" / "jupyter_execute", ignore_errors=True)
    if code == 0:
        print(f"{audience} book: {ROOT / '_build' / audience / '_build' / 'html' / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
