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
    """A sandbox's result for the cases of one part (visible or hidden) of ``item``, on which its function returned
    ``values``."""
    return {"refused": None, "cases": [{"problem": None, "got": _encode(v), "grads": None} for v in values]}


def right(item, part="visible"):
    return [item.exercise.reference(*c.make()) for c in item.cases[part]]


def test_every_exercise_has_visible_and_hidden_cases(items):
    assert sorted(items) == ["categorical_info_loss", "code_entropy", "gaussian_log_likelihood", "matched_accuracy",
                             "mutual_info_bound", "traversal_codes"]
    assert all(i.cases["visible"] and i.cases["hidden"] and i.points == (1.0, 1.0) for i in items.values())


def test_right_values_pass_and_one_wrong_case_fails_with_the_checkers_message(items):
    item = items["code_entropy"]
    values, hidden = right(item), right(item, "hidden")
    assert cg.verdict(item, "visible", results(item, values), None)[0]
    assert cg.verdict(item, "hidden", results(item, hidden), None)[0]
    values[0] = values[0] + 1.0
    passed, message = cg.verdict(item, "visible", results(item, values), None)
    assert not passed and "wrong value" in message
    assert cg.verdict(item, "hidden", results(item, hidden), None)[0]  # the hidden cases are judged apart


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
        {"problem": None, "got": odd, "grads": None}] * len(item.cases["visible"])}, None)
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
    # a deadline given with an offset (23:59 at +01:00) is 22:59 UTC, and the note says so
    paris = dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    (tmp_path / "timestamp.txt").write_text("2026-03-01 23:30:00.000000 UTC")
    late = {"score": 10.0, "max_score": 12.0, "notes": []}
    cg.late_penalty(tmp_path, late, paris, 0.1)
    assert "due 2026-03-01 22:59 UTC" in late["notes"][0] and late["late"]["days"] == 1


def test_the_notebook_is_found_renamed_or_reported(tmp_path):
    name = "08_exercises_foundations"
    assert cg.find_notebook(tmp_path, name) == (None, f"no notebook in {tmp_path} (expected {name}.ipynb)")
    (tmp_path / f"{name} (1).ipynb").write_text("{}")
    path, note = cg.find_notebook(tmp_path, name)
    assert path.name == f"{name} (1).ipynb" and "renamed" in note
    (tmp_path / "scratch.ipynb").write_text("{}")
    path, note = cg.find_notebook(tmp_path, name)
    assert path.name == f"{name} (1).ipynb" and "not graded: scratch.ipynb" in note
    (tmp_path / f"{name}.ipynb").write_text("{}")
    path, note = cg.find_notebook(tmp_path, name)  # an extra notebook is reported, never ignored in silence
    assert path == tmp_path / f"{name}.ipynb"
    assert note.startswith("also in the folder and not graded: ") and "scratch.ipynb" in note and "(1)" in note
    for extra in tmp_path.glob("[!0]*.ipynb"):
        extra.unlink()
    for extra in tmp_path.glob("* (1).ipynb"):
        extra.unlink()
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
    from course_sandbox import _private_checkers, _probes

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
            got = _probes(_private_checkers())[cg.SANDBOX_PROBES[name]](ex.reference, case.make())
        else:
            got = cg._probed(ex, ex.reference(*case.make()), case)
        assert same(got, want), item.label


def test_a_name_from_another_cell_is_explained(items):
    item = items["code_entropy"]
    record = {"problem": "code_entropy raised NameError on a case (line 2: helper(spec)): name 'helper' is not defined",
              "got": None, "grads": None}
    passed, message = cg.verdict(item, "visible", {"refused": None, "cases": [record] * len(item.cases["visible"])}, None)
    assert not passed and "function's own cell" in message


def test_a_wrong_hidden_case_does_not_show_its_expected_value(items):
    """Feedback names the hidden case but never what the answer should have been (a student would copy it)."""
    item = items["categorical_info_loss"]
    values = right(item, "hidden")
    values[0] = values[0] + 0.25  # wrong on the first hidden case
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


# -- whole submissions through the sandbox (issue 24) ---------------------------------------------

BOOK9 = json.loads((ROOT / "book" / "09_exercises_experiments.ipynb").read_text())
UNTRACE = '''def _q():  # the forbidden-call watch off, with nothing a reviewer's name list would catch
    for mod in (vars(torch)["s" + "ys"], vars(torch)["thr" + "eading"]):
        for nm in ("set" + "trace", "set" + "profile"):
            vars(mod)[nm](None)
'''
CLEAR = '''_g = __import__("g" + "c")
def _q():  # the sandbox's list of forbidden calls emptied, found through gc
    for o in vars(_g)["get_" + "objects"]():
        if type(o) is dict and "forbidden" in o:
            o["forbidden"] = []
'''
CHEATS = {  # label -> an answer that switches the watch off and calls the package's own function
    "ex-gaussian-log-likelihood": UNTRACE + '''from infogan_tutorial import objectives as _o
def gaussian_log_likelihood(c, mean, log_std):
    _q()
    return vars(_o)["gaussian_log_likelihood"](c, mean, log_std)
''',
    "ex-code-entropy": UNTRACE + '''def code_entropy(spec):
    _q()
    return float(type(spec).entropy(spec))
''',
    "ex-info-bound": CLEAR + '''from infogan_tutorial import objectives as _o2
def mutual_info_bound(q, codes, spec):
    _q()
    return vars(_o2)["info_lower_bound"](q, codes, spec).total
''',
    "ex-hungarian": UNTRACE + '''import importlib.util as _u
from infogan_tutorial import evaluation as _e
def matched_accuracy(clusters, labels):
    _q()
    spec = _u.spec_from_file_location("infogan_tutorial._fresh", _e.__file__)  # a fresh import of its file
    fresh = _u.module_from_spec(spec)
    vars(torch)["s" + "ys"].modules[spec.name] = fresh
    spec.loader.exec_module(fresh)
    return float(fresh.hungarian_accuracy(clusters, labels).accuracy)
''',
}
CHEATS9 = {
    "ex-lambda": UNTRACE + '''from infogan_tutorial import objectives as _o3
def generator_objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    _q()
    return vars(_o3)["generator_loss"](fake_logit) + vars(_o3)["info_loss"](q, codes, spec, lambda_cat, lambda_cont)
''',
    "ex-invariant": UNTRACE + '''from infogan_tutorial import mutual_information as _mi
def invariant_information(p, p_moved):
    _q()
    joint = p.T @ p_moved / p.shape[0]
    return vars(_mi)["mutual_information"]((joint + joint.T) / 2)
''',
    # these may use what other exercises forbid: the package's gaussian_log_likelihood and info_loss
    "ex-third-code": '''def per_code_info(q, codes, spec):
    low, high = spec.continuous_range
    return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).mean(dim=0) + math.log(high - low)
''',
    "ex-control": '''def control_info_loss(D, fake, codes, spec):
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)
''',
}


def chapter(book):
    source = source_notebook(book, "infogan_tutorial")
    found = cg.exercises_of(source)
    cg.load_exercises(found)
    return found, cg.setup_cells(source)


def notebook(answers):
    """A submission whose answer cells (nbgrader's ids) hold ``answers`` (label -> source)."""
    return {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": f"{label}-answer", "solution": True}},
                       "source": source, "outputs": [], "execution_count": None} for label, source in answers.items()]}


def grade(book, answers):
    found, setup = chapter(book)
    result = cg.grade_notebook(notebook(answers), found, setup, timeout=120, memory_mb=6144, check_time=20)
    return {row["label"]: row["tests"] for row in result["exercises"]}, result


def test_switching_the_watch_off_and_calling_the_package_scores_zero():
    """The package copy an exercise is graded with has no body for the functions it forbids: no trick in the
    student's process (settrace/setprofile off via torch.sys and vars, the watch's list emptied through gc, a
    fresh import of the package's file) reaches them."""
    rows, _ = grade(BOOK, CHEATS)
    for label in CHEATS:
        assert [t["points"] for t in rows[label]] == [0, 0], (label, rows[label])
        assert "is not available while" in rows[label][0]["message"], rows[label][0]["message"]
        assert "fails a hidden case" in rows[label][1]["message"] and "RuntimeError" not in rows[label][1]["message"]


def test_an_exercise_keeps_what_only_another_exercise_forbids():
    """generator_objective and invariant_information may not call the package; per_code_info may use its
    gaussian_log_likelihood and control_info_loss its info_loss, which other exercises forbid."""
    rows, result = grade(BOOK9, CHEATS9)
    for label in ("ex-lambda", "ex-invariant"):
        assert [t["points"] for t in rows[label]] == [0, 0], (label, rows[label])
        assert "is not available while" in rows[label][0]["message"]
    for label in ("ex-third-code", "ex-control"):
        assert all(t["passed"] for t in rows[label]), (label, rows[label])
    assert result["sandboxes"] == 2  # one for all, then control_info_loss again with info_loss in its copy


LEAK = '''import glob as _glob
import torch as _t
def _seen():  # the hidden cases' arguments, wherever the sandbox keeps them
    found = []
    for path in _glob.glob("/job/*.pt") + _glob.glob("../*.pt"):
        try:
            found.append(repr(_t.load(path, weights_only=False)))
        except Exception as e:
            found.append(type(e).__name__)
    return "hidden-range-seen" if "(-0.2, 0." + "1)" in " ".join(found) else "nothing"  # not in this source
_before = _seen()
def code_entropy(spec):
    raise ValueError(f"LEAK {_before} {_seen()} {spec.continuous_range} {_t.__file__}")
'''


def test_feedback_shows_no_hidden_argument_and_no_path_of_the_grader():
    """A function's own error message is shown for the visible cases (their arguments are in the notebook), but
    the sandbox that runs them holds no hidden argument yet; on a hidden case the grader's one text is shown, with
    neither the error's type nor its line (a submission could pick either from the hidden inputs)."""
    rows, _ = grade(BOOK, {"ex-code-entropy": LEAK})
    visible, hidden = rows["ex-code-entropy"]
    assert "LEAK nothing nothing (-1.0, 1.0) <python>/lib" in visible["message"]  # its own message, paths replaced
    assert sys.prefix not in visible["message"]
    line = next(i for i, text in enumerate(LEAK.splitlines(), 1) if "raise ValueError" in text)
    assert hidden["message"].startswith("code_entropy fails a hidden case (") and cg.HIDDEN_FAILED in hidden["message"]
    assert "ValueError" not in hidden["message"] and f"line {line}" not in hidden["message"]
    assert "hidden-range-seen" not in visible["message"] and "-0.2" not in visible["message"]
    for said in ("LEAK nothing", "LEAK hidden", "site-packages"):  # its source line, not what it raised
        assert said not in hidden["message"], hidden["message"]  # (its case's name, the grader's text, is shown)


VIEW = '''def traversal_codes(spec, base, code, values):
    rows, steps = len(base), len(values)
    z = base.z[:, None].expand(rows, steps, -1).reshape(rows * steps, -1)  # a view of base.z when steps == 1
    cat = base.categorical.repeat_interleave(steps, dim=0)
    cont = base.continuous.repeat_interleave(steps, dim=0)
    varied = values.repeat(rows)
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = varied.to(cat.dtype)
    else:
        cont[:, i - spec.n_categorical] = varied.to(cont.dtype)
    return Codes(z, cat, cont)
'''


def test_a_grid_that_shares_memory_with_base_is_refused_in_grading_as_in_the_notebook():
    """The memory a result shares with its inputs is judged in the sandbox, where the result still is a view (the
    third cheating instructor's s04 got 2/2 from the grader and 0 from the notebook's check)."""
    rows, _ = grade(BOOK, {"ex-traversal": VIEW})
    visible = rows["ex-traversal"][0]
    assert not visible["passed"] and "shares its memory with base.z" in visible["message"], visible


def test_rule_checks_switched_off_by_mock_or_timeit_and_hex_tables_are_flagged_for_review():
    """Issue 24, the eighth cheating instructor: mock.patch on a dotted string built from pieces, code run by timeit
    from a string, and a table of answers kept as hex escaped the scan."""
    answer = "def invariant_information(p, q):\n    return 0.0\n"
    mocked = ("from unittest import mock\n_base = 'infogan_tutorial.exer' + 'cises.'\n"
              "for part in ('engine', 'guards'):\n"
              "    mock.patch(_base + part + '.same_rng', lambda *a, **k: True).start()\n" + answer)
    timed = "import timeit\ntimeit.timeit('import sy' + 's', number=1)\n" + answer
    hexed = "TABLE = bytes.fromhex('00ff')\n" + answer
    for source, name in ((mocked, "mock"), (timed, "timeit"), (hexed, "fromhex")):
        flags = cg.review_flags({"ex-invariant": source})
        assert any(f.startswith(name + " ") for f in flags), flags


PATCH_CHECKS = '''from unittest import mock as _m
for _part, _fn in (("engine", "same_rng"), ("guards", "same_rng"), ("engine", "changed"), ("guards", "changed")):
    _m.patch("infogan_tutorial.exercises." + _part + "." + _fn,
             (lambda *a, **k: True) if _fn == "same_rng" else (lambda *a, **k: None)).start()
import infogan_tutorial.exercises.engine as _e
_e.same_rng, _e.changed = (lambda *a: True), (lambda *a: None)
'''
PATCHED = {  # right values, with a slip the rule checks report; the checks switched off from the answer cell
    "ex-categorical-info-loss": PATCH_CHECKS + '''import torch.nn.functional as F
def categorical_info_loss(logits, c):
    torch.rand(1)  # the global RNG
    return F.cross_entropy(logits, c)
''',
    "ex-gaussian-log-likelihood": PATCH_CHECKS + '''import math
def gaussian_log_likelihood(c, mean, log_std):
    value = -0.5 * ((c - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    with torch.no_grad():
        mean.add_(1.0)  # an input changed in place
    return value
''',
}


def test_rule_checks_patched_from_an_answer_cell_still_watch_it():
    """Issue 24, the eighth cheating instructor: ``mock.patch("...engine.same_rng")`` (or plain assignment) in an
    answer cell switched the sandbox's rule checks off. They are private copies taken before any answer cell runs."""
    rows, _ = grade(BOOK, PATCHED)
    rng, inplace = rows["ex-categorical-info-loss"], rows["ex-gaussian-log-likelihood"]
    assert [t["passed"] for t in rng] == [False, False], rng
    assert "changed the global random number generator" in rng[0]["message"], rng[0]["message"]
    assert [t["passed"] for t in inplace] == [False, False], inplace
    assert "changed its inputs in place" in inplace[0]["message"], inplace[0]["message"]


def test_the_grader_follows_no_link_the_sandbox_planted(tmp_path):
    """Issue 24: the sandbox can write in its job folder while the grader reads its results and writes the hidden
    cases there. A results file (or the out folder) replaced by a link to a file of the grader's machine, a FIFO,
    and a link planted where the hidden cases go: none is followed."""
    victim = tmp_path / "instructor.txt"
    victim.write_text("the grader's file")
    job = tmp_path / "job"
    (job / "out").mkdir(parents=True)
    torch.save({"refused": None, "cases": []}, job / "out" / "good.pt")
    assert cg._load(job / "out" / "good.pt") == {"refused": None, "cases": []}
    (job / "out" / "link.pt").symlink_to(job / "out" / "good.pt")
    assert "symbolic link" in cg._load(job / "out" / "link.pt")["refused"]
    os.mkfifo(job / "out" / "fifo.pt")
    assert "not a regular file" in cg._load(job / "out" / "fifo.pt")["refused"]  # and no hang
    (job / "elsewhere").symlink_to(job / "out", target_is_directory=True)
    assert "could not be opened" in cg._load(job / "elsewhere" / "good.pt")["refused"]
    (job / "hidden.pt").symlink_to(victim)
    cg._write_new(job, "hidden.pt", {"ex": [("a case", (1.0,))]})
    assert victim.read_text() == "the grader's file"
    assert not (job / "hidden.pt").is_symlink() and torch.load(job / "hidden.pt") == {"ex": [("a case", (1.0,))]}
    assert sorted(p.name for p in job.iterdir()) == ["elsewhere", "hidden.pt", "out"]  # no temporary file left
