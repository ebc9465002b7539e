"""The hidden tests of course/hidden_tests/: the book's solutions pass them, the blank stubs and a typical
mistake fail them with ExerciseFailed, and every exercise of chapters 8 and 9 has one."""

import json
import sys
from pathlib import Path

import pytest

import infogan_tutorial.exercises as ex

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ROOT / "course" / "hidden_tests"
pytest.importorskip("docutils", reason="reading the gated solutions needs the book extras: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
from course_notebooks import solution_code, text  # noqa: E402

BOOKS = {p: json.loads(p.read_text()) for p in sorted((ROOT / "book").glob("0[89]_exercises_*.ipynb"))}
LABELS = {label: (path, name) for path, nb in BOOKS.items() for name, (label, _) in solution_code(nb).items()}


def namespace(path: Path, solved: bool) -> dict:
    """The notebook's import cell, then (if ``solved``) every solution, else every stub."""
    nb = BOOKS[path]
    ns: dict = {}
    setup = next(text(c) for c in nb["cells"] if c["cell_type"] == "code" and "from infogan_tutorial" in text(c))
    exec(compile(setup, f"{path.name}:setup", "exec"), ns)
    for name, (label, code) in solution_code(nb).items():
        stub = next(text(c) for c in nb["cells"] if c["cell_type"] == "code" and f"def {name}(" in text(c)
                    and "NotImplementedError" in text(c))
        exec(compile(code if solved else stub, f"{path.name}:{label}", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def spaces():
    return {(p, solved): namespace(p, solved) for p in BOOKS for solved in (True, False)}


def test_every_exercise_has_hidden_tests_and_nothing_else_is_there():
    assert sorted(p.stem for p in HIDDEN.glob("*.py")) == sorted(LABELS)
    assert len(LABELS) == 11


@pytest.mark.parametrize("label", sorted(LABELS))
def test_solution_passes_the_hidden_cases_and_the_stub_fails_them(label, spaces, capsys):
    path, name = LABELS[label]
    code = compile((HIDDEN / f"{label}.py").read_text(), f"hidden/{label}", "exec")
    exec(code, dict(spaces[(path, True)]))
    assert capsys.readouterr().out.startswith("✓ ") and "hidden" not in name
    with pytest.raises(ex.ExerciseFailed, match="not implemented yet"):
        exec(code, dict(spaces[(path, False)]))


def test_a_mistake_the_visible_cases_miss_is_caught_by_the_hidden_ones(spaces, capsys):
    """Entropy that only knows ranges starting at -1 or 0 passes the book's cases, not the hidden ones."""
    path = next(p for p in BOOKS if "08_" in p.name)
    ns = dict(spaces[(path, True)])
    exec("def code_entropy(spec):\n"
         "    low, high = spec.continuous_range\n"
         "    width = high - low if low in (-1.0, 0.0, -3.0, 0.5, -4.0, 2.0) else 2.0\n"
         "    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(width)\n", ns)
    assert ex.check_code_entropy(ns["code_entropy"]).passed
    with pytest.raises(ex.ExerciseFailed):
        exec((HIDDEN / "ex-code-entropy.py").read_text(), ns)
