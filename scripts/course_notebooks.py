"""Turn the book's exercise chapters into nbgrader source notebooks, and check a release for leaks.

The book keeps each exercise as a stub cell, a gated solution (``{solution-start}`` ...
``{solution-end}``) and a check cell (see ``book/_ext/hide_gated_solutions.py``). For nbgrader:

- the stub cell becomes an answer cell whose body is the solution inside ``### BEGIN SOLUTION`` /
  ``### END SOLUTION`` (the release replaces it with ``raise NotImplementedError()``);
- the gated solution and its explanation are dropped;
- the check cell becomes two read-only autograder test cells: the visible check (the package's
  checker, raising on a wrong answer) and one that runs the hidden cases of
  ``course/hidden_tests/<exercise label>.py`` inside ``### BEGIN HIDDEN TESTS`` (removed from the
  release, restored by ``nbgrader autograde``);
- the install cell installs the package only, never a clone of the repository with the book;
- every other markdown cell is read-only; other code cells are copied without the nbval markers.
"""

from __future__ import annotations

import copy
import html
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))  # the student build's Sphinx extension reads the same blocks
from hide_gated_solutions import _END, _START, solution_blocks, strip_solutions  # noqa: E402
HIDDEN_TESTS = ROOT / "course" / "hidden_tests"
INSTALL_MARKER = "# Install cell (written by scripts/sync_notebooks.py)"
CHECK = re.compile(r"^(?:(\w+) = )?(check_\w+)\((\w+)\)\s*$")
DEF = re.compile(r"^def (\w+)\(")

RELEASE_INSTALL_CELL = """# Install cell: on Colab, or wherever the package is missing, install the package
# (not the book: the coursework is this notebook). Elsewhere it does nothing.
import importlib.util, subprocess, sys

if importlib.util.find_spec("infogan_tutorial") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{package}"], check=True)"""


def text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _cell(kind: str, source: str, meta: dict | None = None) -> dict:
    cell = {"cell_type": kind, "metadata": meta or {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
              points: int = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def install_cell(package: str) -> dict:
    """The release's install cell: ``pip install <package>`` where the package is missing."""
    return _cell("code", RELEASE_INSTALL_CELL.format(package=package), _nbgrader("install", locked=True))


def solution_code(nb: dict) -> dict[str, tuple[str, str]]:
    """Function name -> (exercise label, the solution's code), from the gated solutions."""
    found = {}
    for label, cells in solution_blocks(nb).items():
        code = "\n".join(text(c).rstrip() for c in cells if c["cell_type"] == "code")
        name = next((m.group(1) for line in code.splitlines() if (m := DEF.match(line))), None)
        if name is None:
            raise ValueError(f"the solution of {label!r} defines no function")
        found[name] = (label, code)
    return found


def _body(code: str, name: str) -> list[str]:
    """The solution's lines inside ``def name``: imports above the def moved in, the docstring left out."""
    lines = code.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    preamble = ["    " + line for line in lines[:start] if line.strip()]
    rest = lines[start + 1:]
    if rest and rest[0].strip().startswith('"""'):
        end = next(i for i, line in enumerate(rest) if line.rstrip().endswith('"""') and (i or line.count('"""') == 2))
        rest = rest[end + 1:]
    return preamble + rest


def answer_cell(stub: str, name: str, label: str, code: str) -> dict:
    """The stub cell with the solution inside nbgrader's solution region."""
    head = [line for line in stub.rstrip().splitlines() if "raise NotImplementedError" not in line]
    lines = head + ["    ### BEGIN SOLUTION", *_body(code, name), "    ### END SOLUTION"]
    return _cell("code", "\n".join(lines), _nbgrader(f"{label}-answer", solution=True))


def test_cells(label: str, var: str | None, checker: str, name: str, points: tuple[int, int],
               hidden_dir: Path = HIDDEN_TESTS) -> list[dict]:
    """The visible check and the hidden cases (``hidden_dir/<label>.py``), as two read-only autograder test cells."""
    var = var or "result"
    visible = (f"from infogan_tutorial.exercises import {checker}\n\n"
               f"{var} = {checker}({name})\n{var}.raise_if_failed()")
    hidden_file = hidden_dir / f"{label}.py"
    if not hidden_file.is_file():
        raise FileNotFoundError(f"no hidden tests for {label!r}: write {hidden_file}")
    hidden = ("# The autograder checks more cases here; they are not part of the release.\n"
              f"### BEGIN HIDDEN TESTS\n{hidden_file.read_text().strip()}\n### END HIDDEN TESTS")
    return [_cell("code", visible, _nbgrader(label, grade=True, locked=True, points=points[0])),
            _cell("code", hidden, _nbgrader(f"{label}-hidden", grade=True, locked=True, points=points[1]))]


def source_notebook(nb: dict, package: str, points: tuple[int, int] = (1, 1), hidden_dir: Path = HIDDEN_TESTS) -> dict:
    """The nbgrader source version of a book chapter (see the module docstring), its hidden cases from ``hidden_dir``."""
    solutions = solution_code(nb)
    cells, inside = [], False
    for i, cell in enumerate(nb["cells"]):
        src = text(cell)
        if cell["cell_type"] == "markdown" and _START.match(src):
            inside = True
        elif cell["cell_type"] == "markdown" and _END.match(src):
            inside = False
        elif inside:
            continue
        elif cell["cell_type"] == "markdown":
            cells.append(_cell("markdown", src, _nbgrader(f"text-{i}", locked=True)))
        elif INSTALL_MARKER in src:
            cells.append(install_cell(package))
        else:
            code = "\n".join(line for line in src.splitlines() if not line.startswith("# NBVAL_"))
            stub_name = next((m.group(1) for line in code.splitlines() if (m := DEF.match(line))), None)
            check = CHECK.match(code.strip())
            if stub_name in solutions and "raise NotImplementedError" in code:
                cells.append(answer_cell(code, stub_name, *solutions[stub_name]))
            elif check and check.group(3) in solutions:
                cells.extend(test_cells(solutions[check.group(3)][0], check.group(1), check.group(2),
                                        check.group(3), points, hidden_dir))
            else:
                cells.append(_cell("code", code, copy.deepcopy(cell.get("metadata", {}))))
    for j, cell in enumerate(cells):
        cell["id"] = cell["metadata"].get("nbgrader", {}).get("grade_id", f"cell-{j}")
    return {**copy.deepcopy({k: v for k, v in nb.items() if k != "cells"}), "cells": cells, "nbformat_minor": 5}


def fill_answers(nb: dict, answers: dict[str, str]) -> dict:
    """A copy of a released notebook with the answer cells of the functions in ``answers`` replaced."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        name = next((m.group(1) for line in text(cell).splitlines() if (m := DEF.match(line))), None)
        if meta.get("solution") and name in answers:
            cell["source"] = answers[name].splitlines(keepends=True)
    return out


def solution_bodies(nb: dict) -> dict[str, str]:
    """Function name -> the book's solution code (what a submission with every answer right contains)."""
    return {name: code for name, (_, code) in solution_code(nb).items()}


def hidden_bodies(nb: dict) -> list[str]:
    """The hidden tests a source notebook holds (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``)."""
    return [text(cell).split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            for cell in nb.get("cells", []) if "### BEGIN HIDDEN TESTS" in text(cell)]


def secret_lines(book_notebooks: list[dict], hidden: list[str] = ()) -> set[str]:
    """Lines only a solution or a hidden test contains (this repository's ``course/hidden_tests`` and the texts
    ``hidden``, a course's own): not in the exercise text nor in the package's source (students install the
    package), and long enough to be distinctive."""
    lines, public = set(), set()
    for nb in book_notebooks:
        for name, (_, code) in solution_code(nb).items():
            lines.update(line.strip() for line in _body(code, name))
        public.update(line.strip() for cell in strip_solutions(nb)["cells"] for line in text(cell).splitlines())
    for body in [path.read_text() for path in HIDDEN_TESTS.glob("*.py")] + list(hidden):
        lines.update(line.strip() for line in body.splitlines())
    for path in (ROOT / "infogan_tutorial").rglob("*.py"):  # shipped to students anyway (see the README's limits)
        public.update(line.strip() for line in path.read_text().splitlines())
    return {line for line in lines - public if len(line) >= 24 and not line.startswith(("#", "from ", "import ", '"""'))}


def _strings(x: object) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, dict):
        return [s for v in x.values() for s in _strings(v)]
    return [s for v in x for s in _strings(v)] if isinstance(x, list) else []


def readable_text(path: Path) -> str:
    """The text a reader sees in a file: a notebook's strings joined, an HTML page without its tags."""
    content = path.read_text(encoding="utf8", errors="replace")
    if path.suffix == ".ipynb":
        return "".join(_strings(json.loads(content)))
    if path.suffix == ".html":  # highlighted code is split into spans: compare the text only
        return html.unescape(re.sub(r"<[^>]+>", "", content))
    return content


ANSWER_KEY_PAGES = "_modules/infogan_tutorial/exercises"
"""Sphinx viewcode's pages of the checkers' modules: their source is the answer key."""


def find_leaks(paths: list[Path], secrets: set[str]) -> list[str]:
    """'file: line' for each secret line (a whole line), nbgrader region or gated solution found under ``paths``,
    in every file (whatever its suffix), and each viewcode page of the checkers' source."""
    markers = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "{solution-start}")
    leaks = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if ANSWER_KEY_PAGES in path.as_posix():
                leaks.append(f"{path}: a viewcode page of the checkers' source (their answer key)")
            try:
                content = readable_text(path)
            except (ValueError, UnicodeDecodeError):  # a .ipynb or .json that is not JSON: read as text
                content = path.read_text(encoding="utf8", errors="replace")
            lines = {line.strip() for line in content.splitlines()}
            leaks += [f"{path}: {s}" for s in sorted(secrets & lines)]
            leaks += [f"{path}: {m}" for m in markers if m in content]
    return leaks
