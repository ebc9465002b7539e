"""The coursework round trip: course folder, nbgrader release without solutions, then grading in sandboxes of
honest submissions (the reference solutions, the blank stubs, typical mistakes), cheats (patched checkers and
comparisons, the checker's frame, the answer key, reading the course's files) and broken ones (a process that
exits, a renamed notebook, edited metadata, a syntax error): feedback, grades, regrading one student."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbgrader", reason="the coursework needs the course extra: pip install -e '.[course]'")
pytest.importorskip("docutils", reason="the coursework reads the gated solutions: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
from course_notebooks import fill_answers, find_leaks, secret_lines, solution_bodies

from infogan_tutorial.exercises import engine

ex_file = engine.__file__  # the checkers' answer key (foundations.py) sits next to it

ASSIGNMENT, NAME = "foundations", "08_exercises_foundations"
BOOK = json.loads((ROOT / "book" / f"{NAME}.ipynb").read_text())
BOOKS = [json.loads(p.read_text()) for p in sorted((ROOT / "book").glob("0[89]_exercises_*.ipynb"))]
EXERCISES = 6  # chapter 8: each has a visible and a hidden test cell, one point each

MISTAKES = {  # typical mistakes, as students write them, and the line the feedback must show
    "mutual_info_bound": (("def mutual_info_bound(q, codes, spec):\n"
                          "    log_q = -sum(categorical_info_loss(l, codes.categorical[:, i])\n"
                          "                 for i, l in enumerate(q.logits))\n"
                          "    ll = gaussian_log_likelihood(codes.continuous, q.mean, q.log_std)\n"
                          "    return log_q + ll.sum(dim=1).mean()\n"), "H(c) is missing"),
    "traversal_codes": (("def traversal_codes(spec, base, code, values):\n"
                        "    rows, steps = len(base), len(values)\n"
                        "    z, cat = base.z.repeat(steps, 1), base.categorical.repeat(steps, 1)\n"
                        "    cont = base.continuous.repeat(steps, 1)\n"
                        "    i = spec.code_index(code)\n"
                        "    if i < spec.n_categorical:\n"
                        "        cat[:, i] = values.repeat(rows)\n"
                        "    else:\n"
                        "        cont[:, i - spec.n_categorical] = values.repeat(rows)\n"
                        "    return Codes(z, cat, cont)\n"), "change within a row"),
    "matched_accuracy": (("def matched_accuracy(clusters, labels):\n"
                         "    hits = sum(np.bincount(labels[clusters == k]).max() for k in np.unique(clusters))\n"
                         "    return hits / len(labels)\n"), "one-to-one"),
}


def course(*args, cwd=ROOT, ok=True, **extra_env):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "INFOGAN_PROFILE": "smoke", **extra_env}
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "course.py"), *map(str, args)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=900, check=False)
    assert (run.returncode == 0) == ok, run.stdout[-4000:] + run.stderr[-4000:]
    return run.stdout


def submit(folder: Path, student: str, nb: dict, assignment: str = ASSIGNMENT, name: str = NAME) -> None:
    path = folder / student / assignment / f"{name}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb))


def as_released(nb: dict) -> dict:
    """What nbgrader's release makes of a source notebook: stubs for the solutions, no hidden tests."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        src = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", src, flags=re.DOTALL)
        src = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", src, flags=re.DOTALL)
        cell["source"] = src.splitlines(keepends=True)
    return nb


def wrong(names, first: str = "") -> dict:
    """Answers that are all wrong (a zero), the first one preceded by ``first``."""
    return {n: (first if i == 0 else "") + f"def {n}(*args):\n    return torch.zeros(())\n" for i, n in enumerate(names)}


PATCH = """import math
import numpy as np
import torch
import infogan_tutorial.exercises as _ex
from infogan_tutorial.exercises import CheckResult
for _name in dir(_ex):  # every checker says "correct"
    if _name.startswith("check_"):
        setattr(_ex, _name, lambda *a, **k: CheckResult(True, "correct"))
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
"""
FRAME = """import sys
def _peek():  # the expected value from a checker's frame, or the checkers' own answer key
    f = sys._getframe(1)
    while f is not None:
        if "want" in f.f_locals:
            return f.f_locals["want"]
        f = f.f_back
    from infogan_tutorial.exercises import foundations  # the answer key (not in the sandbox)
    return foundations
"""
READ = """import glob, socket
_seen = sorted(p for pattern in {patterns!r} for p in glob.glob(pattern, recursive=True))
print("SEEN", _seen)
for _p in _seen:
    print(open(_p, errors="replace").read())
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3).close()
    print("NET open")
except OSError as e:
    print("NET closed", e)
try:  # a channel out of the sandbox through the host's shared memory
    open("/dev/shm/infogan-course-test-leak", "w").write("out")
except OSError as e:
    print("SHM closed", e)
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One `course.py all` round on nbgrader's exchange folder (COURSE/submitted): honest work, cheats, crashes."""
    tmp = tmp_path_factory.mktemp("course")
    root = tmp / "course"
    submissions = root / "submitted"
    sys.path.insert(0, str(ROOT / "scripts"))
    from course_notebooks import source_notebook
    release = as_released(source_notebook(BOOK, "infogan_tutorial"))
    reference = solution_bodies(BOOK)
    submit(submissions, "reference", fill_answers(release, reference))
    book9 = json.loads((ROOT / "book" / "09_exercises_experiments.ipynb").read_text())
    submit(submissions, "reference", fill_answers(as_released(source_notebook(book9, "infogan_tutorial")),
                                                  solution_bodies(book9)), "experiments", "09_exercises_experiments")
    submit(submissions, "blank", release)
    submit(submissions, "mistakes", fill_answers(release, {**reference, **{k: v for k, (v, _) in MISTAKES.items()}}))
    submit(submissions, "patcher", fill_answers(release, wrong(reference, PATCH)))
    patterns = [f"{ROOT}/course/hidden_tests/*.py", f"{ROOT}/book/08_*.ipynb", f"{root}/source/*/*.ipynb",
                f"{submissions}/reference/*/*.ipynb", f"{sys.prefix}/lib/*/site-packages/infogan_tutorial/exercises/f*.py",
                f"{Path(ex_file).parent}/f*.py"]
    submit(submissions, "reader", fill_answers(release, wrong(reference, READ.format(patterns=patterns))))
    peek = {n: FRAME + f"def {n}(*args):\n    return _peek()\n" for n in reference}
    submit(submissions, "frame", fill_answers(release, peek))
    crashes = fill_answers(release, {**reference,
                                     "code_entropy": "import os\ndef code_entropy(spec):\n    os._exit(3)\n",
                                     "matched_accuracy": "def matched_accuracy(clusters, labels):\n    return (\n"})
    for cell in crashes["cells"]:  # a student edited an answer cell's metadata
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "ex-traversal-answer":
            cell["metadata"]["nbgrader"].update(grade_id="mine", solution=False)
    path = submissions / "crashes" / ASSIGNMENT / f"{NAME} (1).ipynb"  # renamed by a download
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(crashes))
    # --unsandboxed matters only where namespaces are missing (test_the_sandbox_sees_no_course_file... skips there)
    course("all", root, "--submissions", submissions, "--timeout", 60, "--repo", "https://github.com/org/students",
           "--unsandboxed")
    return root


def rows_of(root: Path) -> dict:
    return {(r["student_id"], r["assignment"]): r for r in csv.DictReader((root / "grades.csv").open())}


def test_the_release_holds_stubs_and_checks_but_no_solution_and_no_hidden_test(graded):
    release = graded / "release"
    assert sorted(p.name for p in release.iterdir()) == ["experiments", "foundations"]
    assert find_leaks([release], secret_lines(BOOKS)) == []
    assert len(find_leaks([graded / "source"], secret_lines(BOOKS))) > 20  # the check finds them where they are
    nb = json.loads((release / ASSIGNMENT / f"{NAME}.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("raise NotImplementedError()" in c for c in code) == EXERCISES
    assert sum(".raise_if_failed()" in c for c in code) == EXERCISES
    assert "git clone" not in code[0] and "pip" in code[0]  # installs the package, not the repository
    tests = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert len(tests) == 2 * EXERCISES and all(c["metadata"]["nbgrader"]["locked"] for c in tests)


def test_grades_reference_full_blank_zero_mistakes_partial(graded):
    rows = {s: r for (s, a), r in rows_of(graded).items() if a == ASSIGNMENT}
    assert set(rows) == {"reference", "blank", "mistakes", "patcher", "reader", "frame", "crashes"}
    assert float(rows["reference"]["max_score"]) == 2 * EXERCISES
    assert float(rows["reference"]["raw_score"]) == 2 * EXERCISES
    assert float(rows["blank"]["raw_score"]) == 0
    assert float(rows["mistakes"]["raw_score"]) == 2 * (EXERCISES - len(MISTAKES))
    experiments = {s: r for (s, a), r in rows_of(graded).items() if a == "experiments"}
    assert experiments["reference"]["raw_score"] == experiments["reference"]["max_score"] == "10"
    assert experiments["blank"]["status"] == "missing" and experiments["blank"]["raw_score"] == ""  # not a 0
    lms = {r["student_id"]: r for r in csv.DictReader((graded / "grades_lms.csv").open())}
    assert lms["reference"]["total"] == "22" and lms["blank"]["experiments"] == "" and len(lms) == 7
    assert {r["max_total"] for r in lms.values()} == {"22"}  # every student out of both assignments


def test_cheats_score_zero(graded):
    """Patched checkers and comparisons, the checker's frame, the answer key, reading the course's files."""
    rows = {s: r for (s, a), r in rows_of(graded).items() if a == ASSIGNMENT}
    for cheat in ("patcher", "reader", "frame"):
        assert float(rows[cheat]["raw_score"]) == 0, cheat
    assert "setattr" in rows["patcher"]["review"] and "_getframe" in rows["frame"]["review"]  # for the instructor
    for student in ("reference", "mistakes"):  # no tampering flag ("name (cell, line N)"): only the likeness of copies
        assert not re.search(r"\w+ \(ex-[\w-]+, line \d+\)", rows[student]["review"]), rows[student]["review"]
    assert "answers like the course's worked solutions (the book's full edition) (100% alike" in rows["reference"]["review"]
    assert "crashes (" in rows["reference"]["review"]  # its answers are the reference's, two of them broken


def test_the_sandbox_sees_no_course_file_and_no_network(graded):
    result = json.loads((graded / "results" / "reader" / f"{ASSIGNMENT}.json").read_text())
    log = (graded / "results" / "reader" / f"{ASSIGNMENT}.log").read_text()
    assert "SEEN" in log
    if not result["sandbox"].startswith("namespaces"):
        pytest.skip("no user namespaces on this machine: the sandbox is a separate process and folder only")
    assert "SEEN []" in log and "NET closed" in log
    assert "BEGIN HIDDEN TESTS" not in log and "_Case(" not in log
    assert not os.path.exists("/dev/shm/infogan-course-test-leak")  # its /dev/shm is its own


def test_a_crash_a_renamed_notebook_and_edited_metadata_cost_only_their_exercises(graded):
    row = rows_of(graded)[("crashes", ASSIGNMENT)]
    # categorical, gaussian and the traversal (its cell's metadata edited) pass; code_entropy exits the
    # process, mutual_info_bound calls it, matched_accuracy is a syntax error
    assert row["status"] == "graded" and float(row["raw_score"]) == 6
    assert "renamed" in row["reason"] and "metadata" in row["reason"] and "exit code 3" in row["reason"]
    html = (graded / "feedback" / "crashes" / ASSIGNMENT / f"{NAME}.html").read_text()
    assert "SyntaxError" in html
    summary = (graded / "summary.txt").read_text().splitlines()
    assert len(summary) == 7 * 2  # every student, every assignment


def test_feedback_holds_no_hidden_test(graded):
    course("check", graded / "feedback")
    blank = (graded / "feedback" / "blank" / ASSIGNMENT / f"{NAME}.html").read_text()
    assert "_check(" not in blank and "_Case(" not in blank


def test_regrade_one_student_keeps_a_moved_folders_rows_and_says_so(graded):
    shutil.move(graded / "submitted" / "frame", graded / "frame-moved")  # moved away, by mistake or withdrawn
    out = course("grade", graded, "--submissions", graded / "submitted", "--student", "blank",
                 "--assignment", "experiments", "--unsandboxed")
    assert "blank" in out and "reference  " not in out
    assert "KEPT the earlier results of frame" in out and "delete" in out  # and how to drop them
    rows = rows_of(graded)
    assert rows[("frame", ASSIGNMENT)]["raw_score"] == "0"  # kept, not dropped in silence
    summary = (graded / "summary.txt").read_text().splitlines()  # the whole course, as grades.csv: not one line
    assert len(summary) == 7 * 2 and sum("from an earlier round" not in line for line in summary) == 1
    assert any(line.startswith("frame ") and "no folder in" in line for line in summary)
    assert any(line.startswith("reference ") and " 12/12 " in line and "earlier round" in line for line in summary)
    assert rows[("reference", ASSIGNMENT)]["raw_score"] == "12" and rows[("blank", "experiments")]["status"] == "missing"
    course("grade", graded, "--submissions", graded / "submitted", "--student", "nobody", ok=False)
    shutil.move(graded / "frame-moved", graded / "submitted" / "frame")


def test_without_namespaces_grade_needs_unsandboxed_then_partial_credit_and_a_late_penalty(graded):
    """The CLI's wiring (the rules themselves: tests/test_course_grading.py), on the quickest submission."""
    args = ("grade", graded, "--submissions", graded / "submitted", "--student", "blank", "--assignment", ASSIGNMENT)
    course(*args, ok=False, INFOGAN_GRADE_NO_JAIL="1")
    (graded / "submitted" / "blank" / ASSIGNMENT / "timestamp.txt").write_text("2026-03-02 09:00:00.000000 UTC")
    course(*args, "--unsandboxed", "--partial", "--due", f"{ASSIGNMENT}=2026-03-01T23:59", "--late-penalty", "0.05",
           INFOGAN_GRADE_NO_JAIL="1")
    result = json.loads((graded / "results" / "blank" / f"{ASSIGNMENT}.json").read_text())
    assert result["sandbox"].startswith("none") and result["late"]["days"] == 1 and result["score"] == 0
    assert "right on 0% of these cases" in json.dumps(result["exercises"])
    assert rows_of(graded)[("blank", ASSIGNMENT)]["late_days"] == "1"


def test_feedback_names_each_mistake(graded):
    html = (graded / "feedback" / "mistakes" / ASSIGNMENT / f"{NAME}.html").read_text()
    for _, explanation in MISTAKES.values():
        assert explanation in html, explanation
    blank = (graded / "feedback" / "blank" / ASSIGNMENT / f"{NAME}.html").read_text()
    assert "not implemented yet" in blank


def test_publish_writes_the_students_repository_without_solutions(graded, tmp_path):
    out = tmp_path / "students"
    course("publish", graded, out, "--repo", "https://github.com/org/students", "--branch", "spring")
    assert (out / "infogan_tutorial" / "exercises" / "engine.py").is_file() and (out / "data").is_dir()
    assert not (out / "tests").exists() and not (out / "course").exists() and not (out / "scripts").exists()
    assert find_leaks([out / "book"], secret_lines(BOOKS)) == []
    for path in sorted((out / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        install = next("".join(c["source"]) for c in cells if "# Install cell" in "".join(c["source"]))
        assert "https://github.com/org/students" in install and '"spring"' in install, path.name
    subprocess.run(["git", "init", "-q"], cwd=out, check=True)  # what students get once OUT is pushed:
    subprocess.run(["git", "add", "."], cwd=out, check=True)    # the cell accepts a clone of exactly it
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "publish"], cwd=out,
                   check=True)
    for folder in ("infogan_tutorial", "data"):
        tree = subprocess.run(["git", "rev-parse", f"HEAD:{folder}"], cwd=out, capture_output=True, text=True,
                              check=True).stdout.strip()
        assert f"'{folder}': '{tree}'" in install, folder
    assert find_leaks([out / "colab"], secret_lines(BOOKS)) == []  # what the student book's Colab buttons open
    assert sorted(p.name for p in (out / "colab").glob("*.ipynb")) == sorted(
        p.name for p in (out / "book").glob("*.ipynb"))
    assert (out / "book" / "06b_gpu.ipynb").is_file() and (out / "book" / "07b_beyond_the_paper.ipynb").is_file()
    assert (out / "book" / "_static" / "infogan.css").is_file() and (out / "book" / "_ext").is_dir()
    readme = (out / "README.md").read_text()
    assert "students' copy" in readme and "https://github.com/org/students" in readme
    assert "fool" not in readme and "course.py" not in readme  # not the instructor's README
    released = json.loads((out / "book" / f"{NAME}.ipynb").read_text())
    assert sum("raise NotImplementedError()" in "".join(c["source"]) for c in released["cells"]) == EXERCISES


def test_the_leak_check_reads_every_file_and_refuses_the_checkers_viewcode_pages(tmp_path):
    secret = next(iter(secret_lines(BOOKS)))
    (tmp_path / "_modules" / "infogan_tutorial" / "exercises").mkdir(parents=True)
    (tmp_path / "_modules" / "infogan_tutorial" / "exercises" / "foundations.html").write_text("<p>def _entropy</p>")
    (tmp_path / "notes.rst").write_text(f"{secret}\n")  # a suffix the old check skipped
    found = find_leaks([tmp_path], secret_lines(BOOKS))
    assert any("viewcode" in f for f in found) and any("notes.rst" in f for f in found)


def test_init_refuses_to_install_from_this_repository(tmp_path):
    course("init", tmp_path / "c", ok=False)
    course("init", tmp_path / "c", "--repo", "https://github.com/org/students", "--branch", "spring")
    nb = json.loads((tmp_path / "c" / "source" / ASSIGNMENT / f"{NAME}.ipynb").read_text())
    install = "".join(nb["cells"][next(i for i, c in enumerate(nb["cells"]) if c["id"] == "install")]["source"])
    assert "git+https://github.com/org/students@spring" in install


def test_a_regrade_without_due_keeps_the_recorded_late_penalty(graded):
    """--due is recorded in COURSE/deadlines.json: a later regrade without it keeps the penalty, and says so."""
    args = ("grade", graded, "--submissions", graded / "submitted", "--student", "reference", "--assignment",
            ASSIGNMENT, "--unsandboxed")
    stamp = graded / "submitted" / "reference" / ASSIGNMENT / "timestamp.txt"
    stamp.write_text("2026-03-03 09:00:00.000000 UTC")  # two started days late
    course(*args, "--due", f"{ASSIGNMENT}=2026-03-01T23:59", "--late-penalty", "0.25")
    row = rows_of(graded)[("reference", ASSIGNMENT)]  # raw_score before the penalty, score after it
    assert (row["raw_score"], row["late_deduction"], row["score"]) == ("12", "6", "6")
    out = course(*args)  # no --due: the recorded one applies, loudly
    assert rows_of(graded)[("reference", ASSIGNMENT)]["score"] == "6"
    assert "recorded in" in out and "deadlines.json" in out and f"--due {ASSIGNMENT}=none" in out
    course(*args, "--due", f"{ASSIGNMENT}=none")
    assert rows_of(graded)[("reference", ASSIGNMENT)]["raw_score"] == "12"
    stamp.unlink()
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "course.py"), *map(str, args), "--late-penalty",
                          "0.1"], capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert bad.returncode != 0 and "needs a deadline" in bad.stderr and "--due" in bad.stderr


def test_a_course_keeps_its_own_hidden_tests_and_the_leak_check_knows_them(tmp_path):
    """Issue 24: course/hidden_tests is public with this repository; init --hidden-tests takes a private copy, whose
    cases the release never holds and the leak check finds; a copy that lacks an exercise is refused by name."""
    private = tmp_path / "private"
    shutil.copytree(ROOT / "course" / "hidden_tests", private)
    case = '"hidden: a private 7-way code"'
    text = (private / "ex-code-entropy.py").read_text()
    (private / "ex-code-entropy.py").write_text(text.replace(
        "_check(code_entropy, graded=True, cases=[",
        f"_check(code_entropy, graded=True, cases=[\n    _Case({case}, lambda: (_Spec(noise_dim=2, categorical=(7,), "
        "n_continuous=3, continuous_range=(0.25, 4.0)),)),"))
    repo = ("--repo", "https://github.com/org/students")
    course("init", tmp_path / "c", *repo, "--hidden-tests", private)
    source = (tmp_path / "c" / "source" / ASSIGNMENT / f"{NAME}.ipynb").read_text()
    assert "a private 7-way code" in source
    (tmp_path / "leak").mkdir()
    (tmp_path / "leak" / "notes.md").write_text("_Case(" + case + ", lambda: (_Spec(noise_dim=2, categorical=(7,), "
                                                "n_continuous=3, continuous_range=(0.25, 4.0)),)),\n")
    assert "notes.md" in course("check", tmp_path / "c", tmp_path / "leak", ok=False)
    (private / "ex-hungarian.py").unlink()
    refused = subprocess.run([sys.executable, str(ROOT / "scripts" / "course.py"), "init", str(tmp_path / "c2"), *repo,
                              "--hidden-tests", str(private)], capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 1 and "lacks ex-hungarian.py" in refused.stderr, refused.stderr


def test_repo_urls_become_requirements_pip_takes(tmp_path, capsys):
    import course as course_py
    assert course_py.package_spec("git@github.com:org/students.git", "main") == \
        "infogan_tutorial @ git+ssh://git@github.com/org/students.git@main"
    assert course_py.package_spec("https://github.com/org/students", "spring") == \
        "infogan_tutorial @ git+https://github.com/org/students@spring"
    assert course_py.package_spec(str(tmp_path), "main") == f"infogan_tutorial @ git+{tmp_path.as_uri()}@main"
    assert "not an https URL" in capsys.readouterr().out
    for bad, says in (("ftp://host/repo", "not ftp://"), ("file:///no/such/folder", "names no folder"),
                      ("no-such-folder", "neither a URL")):
        with pytest.raises(SystemExit, match=says):
            course_py.package_spec(bad, "main")
