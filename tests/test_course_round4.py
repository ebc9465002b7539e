"""The fourth cheating instructor's findings (issue 24), graded for real in the sandbox where the machine has one.

- An answer that empties or replaces the grader's progress file and ends the process scored an "error" row (no
  grade) instead of 0; the grader now keeps what it saw of the file, grades the answer as failed and flags it.
- A log replaced by a link to a file of the host pulled that file into the instructor's results.
- An answer written as ``name = lambda ...`` was "not defined".
- Answers carrying code or tables as marshal/base64 literals were not flagged for review.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbgrader", reason="the coursework needs the course extra: pip install -e '.[course]'")
pytest.importorskip("docutils", reason="the coursework reads the gated solutions: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
import course_grading as cg  # noqa: E402
from course_notebooks import solution_bodies, source_notebook  # noqa: E402

BOOK = json.loads((ROOT / "book" / "08_exercises_foundations.ipynb").read_text())


def grade(answers: dict[str, str]) -> tuple[dict, dict]:
    source = source_notebook(BOOK, "infogan_tutorial")
    found = cg.exercises_of(source)
    cg.load_exercises(found)
    found = [i for i in found if i.label in answers]
    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": f"{label}-answer", "solution": True}},
                     "source": code, "outputs": [], "execution_count": None} for label, code in answers.items()]}
    result = cg.grade_notebook(nb, found, cg.setup_cells(source), timeout=60, memory_mb=6144, check_time=20)
    return {row["label"]: row["tests"] for row in result["exercises"]}, result


@pytest.mark.skipif(not cg.jail_available(), reason="needs user namespaces (the grading sandbox)")
@pytest.mark.parametrize("tamper", [
    "open('/job/progress', 'w').close()",                                       # emptied
    "os.remove('/job/progress'); os.symlink('/etc/passwd', '/job/progress')",  # a host file in its place
])
def test_an_answer_that_erases_the_progress_record_scores_zero_and_is_flagged(tamper):
    answer = f"import os\ndef code_entropy(spec):\n    {tamper}\n    os._exit(5)\n"
    rows, result = grade({"ex-code-entropy": answer})
    assert [t["points"] for t in rows["ex-code-entropy"]] == [0, 0]
    assert any("progress file" in flag for flag in result["review"]), result["review"]


@pytest.mark.skipif(not cg.jail_available(), reason="needs user namespaces (the grading sandbox)")
def test_a_log_replaced_by_a_link_does_not_pull_a_host_file_into_the_results(tmp_path):
    secret = tmp_path / "instructor-only.txt"
    secret.write_text("### BEGIN HIDDEN TESTS: not for students\n")
    solution = solution_bodies(BOOK)
    answer = ("import os\n" + solution["code_entropy"] +
              f"\ntry:\n    os.remove('/job/log'); os.symlink({str(secret)!r}, '/job/log')\nexcept OSError:\n    pass\n")
    rows, result = grade({"ex-code-entropy": answer})
    assert "BEGIN HIDDEN TESTS" not in result["log"]


def test_an_answer_written_as_a_lambda_is_graded_as_one_written_with_def():
    source = source_notebook(BOOK, "infogan_tutorial")
    items = [i for i in cg.exercises_of(source) if i.function == "categorical_info_loss"]
    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": f"{items[0].label}-answer"}},
                     "source": "categorical_info_loss = lambda logits, c: F.cross_entropy(logits, c)\n"}]}
    answers, notes = cg.answers_of(nb, items)
    assert list(answers) == [items[0].label] and notes == []
    # any name a cell binds may be the answer (a callable instance too): test_course_similarity.py
    assert cg.defines("f: Callable = lambda x: x\ndef g(y):\n    return y\nh = 3\n") == {"f", "g", "h"}


def test_code_or_tables_smuggled_in_as_literals_are_flagged_for_review():
    blob = "A" * 3000
    flags = cg.review_flags({"ex-code-entropy": "import base64, marshal, types\n"
                                                f"CODE = {blob!r}\n"
                                                "def code_entropy(spec):\n"
                                                "    f = types.FunctionType(marshal.loads(base64.b64decode(CODE)), {})\n"
                                                "    return f(spec)\n"})
    assert any(f.startswith("a literal of 3,000 characters") for f in flags)
    assert {"marshal", "base64", "FunctionType", "b64decode"} <= {f.split(" ")[0] for f in flags}
    assert cg.review_flags(solution_bodies(BOOK)) == []  # the book's own answers raise no flag


def test_a_missing_or_unreadable_timestamp_grades_as_on_time_and_is_flagged(tmp_path):
    """An unreadable timestamp.txt made the whole submission an error row with an empty grade."""
    import datetime as dt

    due = dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.timezone.utc)
    for content in (None, "yesterday-ish, honest", "\x00\x01"):
        stamp = tmp_path / "timestamp.txt"
        stamp.unlink(missing_ok=True)
        if content is not None:
            stamp.write_text(content)
        result = {"score": 10.0, "max_score": 12.0, "notes": [], "review": []}
        cg.late_penalty(tmp_path, result, due, 0.1)
        assert result["score"] == 10.0 and "graded as on time" in result["notes"][0]
        assert len(result["review"]) == 1 and "timestamp.txt" in result["review"][0]


def test_logs_carry_no_terminal_colour_codes() -> None:
    """IPython colours its tracebacks; the grading log showed them as ESC[0;31m... noise."""
    coloured = "\x1b[0;31m---------\x1b[0m\n\x1b[0;31mZeroDivisionError\x1b[0m: division by zero\x1b[?25h\n"
    assert cg.ANSI.sub("", coloured) == "---------\nZeroDivisionError: division by zero\n"
