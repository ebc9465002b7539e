"""The sixth cheating instructor's findings (issue 24): copies that `grade` did not flag.

- The answer key's functions pasted with one dead line added (``_unused = 0``) and every name changed scored 20 of
  22 with no review flag: the exact comparison (up to names) missed them. Long key functions are now also matched
  by likeness (``course_similarity``), at a threshold above every honest answer measured.
- Nothing compared one student's answers with another's, or with the worked solutions of the public book.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
from pathlib import Path

import pytest

from infogan_tutorial.exercises import experiments, foundations

pytest.importorskip("docutils", reason="the worked solutions are read from the book: pip install -e '.[book]'")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_grading as cg  # noqa: E402
import course_similarity as cs  # noqa: E402
from course_notebooks import solution_bodies  # noqa: E402

BOOK = json.loads((ROOT / "book" / "08_exercises_foundations.ipynb").read_text())


def reworded(fn, dead: str = "_unused = 0") -> str:
    """The function's source with every argument and local renamed, its docstring gone and a dead line added."""
    source = inspect.getsource(fn)
    source = re.sub(r'\n\s*"""(.|\n)*?"""', "", source, count=1)
    names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?::[^,=)]*)?(?:=|,|\))", source.split(")")[0] + ")"))
    names |= set(re.findall(r"^\s+([a-z_][a-z0-9_]*)\s*=", source, flags=re.MULTILINE))
    for name in sorted(names - {"self"}, key=len, reverse=True):
        source = re.sub(rf"(?<![.\w]){name}\b", f"{name}_x", source)
    header, body = source.split(":\n", 1)
    return f"{header}:\n    {dead}\n{body}"


def test_a_reworded_copy_of_a_long_key_function_is_flagged():
    for fn, where in [(foundations._categorical_loss, "foundations.py: _categorical_loss"),
                      (foundations._traversal, "foundations.py: _traversal"),
                      (experiments._control_loss, "experiments.py: _control_loss")]:
        copy = reworded(fn)
        assert "_unused = 0" in copy and cs.parse(copy) is not None, copy
        flags = cg.review_flags({"answer": copy})
        assert any(f"like the answer key's {where}" in f for f in flags), (where, flags)
    copy = reworded(foundations._info_bound, dead="if False:\n        pass")
    assert any("foundations.py: _info_bound" in f for f in cg.review_flags({"answer": copy}))


HONEST = {  # right answers written by students who never saw the key (the blind rounds of December 2026)
    "categorical_info_loss": '''
def categorical_info_loss(logits, c):
    x = logits.double()
    m = x.max(1, keepdim=True).values.detach()
    lse = m.squeeze(1) + torch.log(torch.exp(x - m).sum(1))
    picked = x[torch.arange(len(c)), c]
    return (lse - picked).mean().to(logits.dtype)
''',
    "gaussian_log_likelihood": '''
def gaussian_log_likelihood(c, mean, log_std):
    inv = torch.exp(-log_std)
    z = (c - mean) * inv
    out = -0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)
    return out
''',
    "traversal_codes": '''
def traversal_codes(spec, base, code, values):
    zs, cats, conts = [], [], []
    i = spec.code_index(code)
    for r in range(len(base)):
        for v in values:
            z = base.z[r].clone()
            cat = base.categorical[r].clone()
            cont = base.continuous[r].clone()
            if i < spec.n_categorical:
                cat[i] = int(v)
            else:
                cont[i - spec.n_categorical] = v
            zs.append(z)
            cats.append(cat)
            conts.append(cont)
    return Codes(torch.stack(zs), torch.stack(cats), torch.stack(conts))
''',
    "matched_accuracy": '''
def matched_accuracy(clusters, labels):
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    table = np.zeros((10, 10))
    for a, b in zip(clusters, labels):
        table[a, b] += 1
    r, k = linear_sum_assignment(-table)
    return float(table[r, k].sum() / len(labels))
''',
}


def test_honest_answers_and_the_book_s_solutions_raise_no_copy_flag():
    assert cg.review_flags(HONEST) == []
    assert cg.review_flags(solution_bodies(BOOK)) == []


def test_submissions_alike_each_other_or_the_worked_solutions_are_flagged_and_others_are_not():
    solutions = solution_bodies(BOOK)
    copied = {k: v.replace("rows", "n_rows").replace("counts", "table") + "\n# my own work\n" for k, v in solutions.items()}
    stubs = {k: f"def {k}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n" for k in solutions}
    flags = cs.alike_submissions({"ana": copied, "ben": copied, "eve": {**solutions, **{k: HONEST[k] for k in ("traversal_codes", "matched_accuracy")}}, "kim": stubs,
                                  "lee": stubs, "max": HONEST},
                                 solutions, "the worked solutions")
    assert any("like the worked solutions" in f for f in flags["ana"]), flags["ana"]
    assert any("ben (100%" in f for f in flags["ana"]) and any("ana (100%" in f for f in flags["ben"])
    assert flags["kim"] == flags["lee"] == []  # two blank submissions share only the stubs
    assert flags["max"] == []  # honest answers: alike no one
    assert flags["eve"] == []  # two of her answers are max's, the others the solutions: under the threshold


def released():
    """The foundations notebook as nbgrader releases it (stubs in the answer cells), and its exercises."""
    from course_notebooks import source_notebook
    source = source_notebook(BOOK, "infogan_tutorial")
    nb = json.loads(json.dumps(source))
    for cell in nb["cells"]:
        src = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", "".join(cell["source"]),
                     flags=re.DOTALL)
        cell["source"] = src.splitlines(keepends=True)
    return nb, cg.exercises_of(source)


def test_an_answer_written_as_a_callable_instance_or_again_below_its_stub_is_graded():
    """Both cost an honest student 4 points (the sixth cheating instructor's misgrades)."""
    nb, items = released()
    cells = nb["cells"]
    answer = next(i for i, c in enumerate(cells) if c["metadata"].get("nbgrader", {}).get("grade_id")
                  == "ex-categorical-info-loss-answer")
    instance = ("import torch.nn.functional as F\nclass Loss:\n    def __call__(self, logits, c):\n"
                "        return F.cross_entropy(logits, c)\ncategorical_info_loss = Loss()\n")
    cells[answer]["source"] = instance
    below = "def gaussian_log_likelihood(c, mean, log_std):\n    return -((c - mean) / log_std.exp()) ** 2 / 2\n"
    stub = next(i for i, c in enumerate(cells) if c["metadata"].get("nbgrader", {}).get("grade_id")
                == "ex-gaussian-log-likelihood-answer")
    cells.insert(stub + 1, {"cell_type": "code", "metadata": {}, "source": below, "outputs": [],
                            "execution_count": None})
    after = "def code_entropy(spec):\n    return 0.0\n"  # below the entropy's own check: the check never ran it
    check = next(i for i, c in enumerate(cells) if c["metadata"].get("nbgrader", {}).get("grade_id")
                 == "ex-code-entropy")
    cells.insert(check + 1, {"cell_type": "code", "metadata": {}, "source": after, "outputs": [],
                             "execution_count": None})
    answers, notes = cg.answers_of(nb, items)
    assert answers["ex-categorical-info-loss"] == instance
    assert "raise NotImplementedError()" in answers["ex-gaussian-log-likelihood"]  # the stub, then the cell below
    assert answers["ex-gaussian-log-likelihood"].endswith(below)
    assert "return 0.0" not in answers["ex-code-entropy"]
    assert notes == ["gaussian_log_likelihood is defined again in a cell between its answer cell and its check: "
                     "graded with that cell run after the answer cell, as the notebook runs them"]
    assert cg.defines("from m import f as g\nh: int = 3\nk = lambda x: x\ndef broken(:\n") == {"k", "broken"}
    assert cg.defines("from m import f as g\nh: int = 3\nk = lambda x: x\nclass C: pass\n") == {"g", "h", "k", "C"}


def test_a_link_or_code_nested_past_python_s_limits_never_stops_the_comparison(tmp_path):
    """The seventh cheating instructor: a 200,000-deep JSON notebook stopped the whole round in the comparison
    (RecursionError), and a notebook linked to the course's source was graded 12/12."""
    nb, items = released()
    solutions = tmp_path / "source.ipynb"
    solutions.write_text(json.dumps(nb))
    for student in ("ana", "ben", "eve"):
        (tmp_path / "subs" / student / "foundations").mkdir(parents=True)
    target = tmp_path / "subs" / "ana" / "foundations" / "08_exercises_foundations.ipynb"
    target.write_text("[" * 200_000 + "]" * 200_000)
    (tmp_path / "subs" / "ben" / "foundations" / "08_exercises_foundations.ipynb").symlink_to(solutions)
    deep = "def code_entropy(spec):\n    return " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    cells = nb["cells"] + [{"cell_type": "code", "metadata": {}, "source": deep, "outputs": [], "execution_count": None}]
    (tmp_path / "subs" / "eve" / "foundations" / "08_exercises_foundations.ipynb").write_text(
        json.dumps({**nb, "cells": cells}))
    flags = cg.alike_flags(tmp_path / "subs", ["ana", "ben", "eve"], "foundations", "08_exercises_foundations",
                           items, nb)
    assert set(flags) == {"ana", "ben", "eve"}
    path, why = cg.find_notebook(tmp_path / "subs" / "ben" / "foundations", "08_exercises_foundations")
    assert path is None and "symbolic link" in why
    assert cg.review_flags({"ex-code-entropy": deep}) == []


def test_padded_copies_of_the_package_or_of_another_submission_are_flagged():
    """The seventh cheating instructor: copies of the package's own functions, of another student and of the book,
    renamed and padded with dead lines and extra steps, scored 12, 12 and 22 points unflagged."""
    from infogan_tutorial import objectives

    padded = reworded(objectives.gaussian_log_likelihood).replace("\n    return", "\n    _spare = [0]\n    return")
    assert any("the package's objectives.py: gaussian_log_likelihood" in f
               for f in cg.review_flags({"ex-gaussian-log-likelihood": padded}))
    solutions = solution_bodies(BOOK)

    def pad(source: str) -> str:  # a dead line between every two statements of each function's body
        tree = ast.parse(source)
        for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            fn.body = [s for stmt in fn.body for s in (stmt, ast.parse("_dead = [0]").body[0])]
        return ast.unparse(ast.fix_missing_locations(tree)) + "\n"

    padded_solutions = {k: pad(v) for k, v in solutions.items()}
    assert all(cs.parse(v) is not None for v in padded_solutions.values())
    flags = cs.alike_submissions({"kim": padded_solutions, "max": HONEST}, solutions, "the worked solutions")
    assert any("like the worked solutions" in f and "in order" in f for f in flags["kim"]), flags["kim"]
    assert flags["max"] == []


def test_a_table_of_numbers_is_flagged_and_an_attribute_named_like_a_builtin_is_not():
    table = "T = {" + ", ".join(f"{i}: {i * 0.5}" for i in range(40)) + "}\ndef code_entropy(spec):\n    return T[0]\n"
    assert cg.review_flags({"ex-code-entropy": table}) == ["a table of 81 numbers (ex-code-entropy)"]  # and T[0]
    honest = ("def control_info_loss(D, fake, codes, spec):\n    layers = list(D.modules())\n"
              "    return D.eval() if not layers else 0\n")
    assert cg.review_flags({"ex-control": honest}) == []
    assert cg.review_flags({"ex-control": "import sys\nx = sys.modules\ny = eval('1')\n"}) == [
        "modules (ex-control, line 2)", "eval (ex-control, line 3)"]
