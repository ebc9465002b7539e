"""The grader's half of `course.py grade`, without a sandbox: what it accepts from a sandbox's results (never
code), partial credit per case, late penalties, finding the notebook and the answer cells."""

import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbgrader", reason="the coursework needs the course extra: pip install -e '.[course]'")
pytest.importorskip("docutils", reason="the coursework reads the gated solutions: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
import course_grading as cg
from course_notebooks import source_notebook
from course_sandbox import _encode

BOOK = json.loads((ROOT / "book" / "08_exercises_foundations.ipynb").read_text())


@pytest.fixture(scope="module")
def items():
    found = cg.exercises_of(source_notebook(BOOK, "infogan_tutorial"))
    cg.load_exercises(found)
    return {i.function: i for i in found}


def results(item, values):
    """A sandbox's result for ``item`` whose function returned ``values`` (visible cases, then hidden)."""
    return {"refused": None, "cases": [{"problem": None, "got": _encode(v), "grads": None} for v in values]}


def right(item):
    return [item.exercise.reference(*c.make()) for part in ("visible", "hidden") for c in item.cases[part]]


def test_every_exercise_has_visible_and_hidden_cases(items):
    assert sorted(items) == ["categorical_info_loss", "code_entropy", "gaussian_log_likelihood", "matched_accuracy",
                             "mutual_info_bound", "traversal_codes"]
    assert all(i.cases["visible"] and i.cases["hidden"] and i.points == (1.0, 1.0) for i in items.values())


def test_right_values_pass_and_one_wrong_case_fails_with_the_checkers_message(items):
    item = items["code_entropy"]
    values = right(item)
    assert cg.verdict(item, "visible", results(item, values), None)[0]
    assert cg.verdict(item, "hidden", results(item, values), None)[0]
    values[0] = values[0] + 1.0
    passed, message = cg.verdict(item, "visible", results(item, values), None)
    assert not passed and "wrong value" in message
    assert cg.verdict(item, "hidden", results(item, values), None)[0]  # the hidden cases are judged apart


def test_partial_credit_is_the_share_of_cases_answered_right(items):
    item = items["code_entropy"]
    values = right(item)
    n = len(item.cases["visible"])
    values[0] = values[0] + 1.0
    assert cg._fraction(item, "visible", results(item, values), None) == pytest.approx((n - 1) / n)
    assert cg._fraction(item, "visible", {"refused": "the package's own", "cases": []}, None) == 0


def test_the_grader_rebuilds_values_but_never_runs_code_from_a_sandbox(items, tmp_path):
    item = items["traversal_codes"]
    odd = {"__dataclass__": "os:system", "fields": {}}
    assert isinstance(cg.decode(odd), cg._Unsupported)
    passed, message = cg.verdict(item, "visible", {"refused": None, "cases": [
        {"problem": None, "got": odd, "grads": None}] * 10}, None)
    assert not passed and "os.system" in message

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    torch.save({"refused": None, "cases": [Boom()]}, tmp_path / "out.pt")
    loaded = cg._load(tmp_path / "out.pt")
    assert loaded["refused"] and not (tmp_path / "pwned").exists()


def test_late_penalty_per_started_day_from_nbgraders_timestamp(tmp_path):
    due = dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.timezone.utc)
    (tmp_path / "timestamp.txt").write_text("2026-03-03 10:00:00.000000 UTC")
    result = {"score": 10.0, "max_score": 12.0, "notes": []}
    cg.late_penalty(tmp_path, result, due, 0.1)
    assert result["late"]["days"] == 2 and result["score"] == pytest.approx(10 - 2.4) and "late" in result["notes"][0]
    on_time = {"score": 10.0, "max_score": 12.0, "notes": []}
    (tmp_path / "timestamp.txt").write_text("2026-03-01 22:00:00.000000 UTC")
    cg.late_penalty(tmp_path, on_time, due, 0.1)
    assert on_time["score"] == 10 and "late" not in on_time


def test_the_notebook_is_found_renamed_or_reported(tmp_path):
    name = "08_exercises_foundations"
    assert cg.find_notebook(tmp_path, name) == (None, f"no notebook in {tmp_path} (expected {name}.ipynb)")
    (tmp_path / f"{name} (1).ipynb").write_text("{}")
    path, note = cg.find_notebook(tmp_path, name)
    assert path.name == f"{name} (1).ipynb" and "renamed" in note
    (tmp_path / "scratch.ipynb").write_text("{}")
    assert cg.find_notebook(tmp_path, name)[0].name == f"{name} (1).ipynb"
    (tmp_path / f"{name}.ipynb").write_text("{}")
    assert cg.find_notebook(tmp_path, name) == (tmp_path / f"{name}.ipynb", None)


def test_answer_cells_are_found_by_the_function_they_define(items):
    item = items["code_entropy"]
    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "mine"}},
                     "source": "def code_entropy(spec):\n    return 1.0\n"}]}
    answers, notes = cg.answers_of(nb, [item])
    assert answers == {item.label: "def code_entropy(spec):\n    return 1.0\n"} and "metadata" in notes[0]


def test_tampering_is_flagged_for_review_and_plain_answers_are_not():
    import course_notebooks
    plain = course_notebooks.solution_bodies(BOOK)
    assert cg.review_flags(plain) == []
    flags = cg.review_flags({"ex-code-entropy": "import sys\ndef code_entropy(spec):\n    sys.setprofile(None)\n"
                                                "    return spec.entropy()\n"})
    assert flags == ["setprofile (ex-code-entropy, line 3)"]


def test_each_probe_is_run_by_the_sandbox_or_reads_only_the_returned_value():
    """The grader applies a probe to the value the sandbox returned, unless course_sandbox runs its own copy."""
    from course_sandbox import PROBES

    from infogan_tutorial.exercises.compare import same
    found = []
    for path in sorted((ROOT / "book").glob("0[89]_exercises_*.ipynb")):
        found += cg.exercises_of(source_notebook(json.loads(path.read_text()), "infogan_tutorial"))
    cg.load_exercises(found)
    assert len(found) == 11
    for item in found:
        ex, case = item.exercise, item.cases["visible"][0]
        name = ".".join(cg._qualified(ex.probe))
        want = ex.probe(ex.reference, case.make())
        if name in cg.SANDBOX_PROBES:  # the sandbox's copy gives what the checker's probe gives
            got = PROBES[cg.SANDBOX_PROBES[name]](ex.reference, case.make())
        else:
            got = cg._probed(ex, ex.reference(*case.make()), case)
        assert same(got, want), item.label


def test_a_name_from_another_cell_is_explained(items):
    item = items["code_entropy"]
    record = {"problem": "code_entropy raised NameError on a case (line 2: helper(spec)): name 'helper' is not defined",
              "got": None, "grads": None}
    passed, message = cg.verdict(item, "visible", {"refused": None, "cases": [record] * 20}, None)
    assert not passed and "function's own cell" in message


def test_a_wrong_hidden_case_does_not_show_its_expected_value(items):
    """Feedback names the hidden case but never what the answer should have been (a student would copy it)."""
    item = items["categorical_info_loss"]
    values = right(item)
    n_visible = len(item.cases["visible"])
    values[n_visible] = values[n_visible] + 0.25  # right on every visible case, wrong on the first hidden one
    want = item.exercise.reference(*item.cases["hidden"][0].make())
    passed, message = cg.verdict(item, "hidden", results(item, values), None)
    assert not passed and "hidden case" in message and "expected" not in message and "got" not in message
    assert f"{float(want):.4f}" not in message and f"{float(want):.3g}" not in message


def test_the_jail_starts_when_python_lives_under_tmp(tmp_path):
    """A clone (and its .venv) under /tmp: the jail's own /tmp must not hide or collide with the kept folder."""
    import shutil
    import subprocess

    if not cg.jail_available():
        pytest.skip("no user namespaces here: grading runs unsandboxed")
    job = tmp_path / "job0"
    (job / "work").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "course_sandbox.py", job)
    kept = Path("/tmp") / f"infogan-kept-{os.getpid()}"
    kept.mkdir(exist_ok=True)
    try:
        keep = sorted({str(Path(sys.prefix)), str(Path(sys.base_prefix)), str(kept)})
        subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--net", "--kill-child",
                        sys.executable, str(job / "course_sandbox.py"), "jail", str(job), *keep, "--hide",
                        str(tmp_path / "nothing")], cwd=job / "work", capture_output=True, timeout=120,
                       env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"})
        assert "jailed" in (job / "progress").read_text()  # the run stage may stop later: no job was given
    finally:
        kept.rmdir()
