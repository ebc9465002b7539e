"""The coursework round trip with nbgrader: course folder, release without solutions, autograding of three
submissions in clean kernels (the reference solutions, the blank stubs, typical mistakes), feedback, grades."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbgrader", reason="the coursework needs the course extra: pip install -e '.[course]'")
pytest.importorskip("docutils", reason="the coursework reads the gated solutions: pip install -e '.[book]'")
sys.path.insert(0, str(ROOT / "scripts"))
from course_notebooks import fill_answers, find_leaks, secret_lines, solution_bodies

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


def course(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "INFOGAN_PROFILE": "smoke"}
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "course.py"), *map(str, args)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run.stdout


def submit(folder: Path, student: str, nb: dict) -> None:
    path = folder / student / ASSIGNMENT / f"{NAME}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    root, submissions = tmp / "course", tmp / "submissions"
    course("init", root, "--timeout", 120)
    course("release", root)
    release = json.loads((root / "release" / ASSIGNMENT / f"{NAME}.ipynb").read_text())
    reference = solution_bodies(BOOK)
    submit(submissions, "reference", fill_answers(release, reference))
    submit(submissions, "blank", release)
    submit(submissions, "mistakes", fill_answers(release, {**reference, **{k: v for k, (v, _) in MISTAKES.items()}}))
    course("grade", root, "--submissions", submissions)
    return root


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
    rows = {r["student_id"]: r for r in csv.DictReader((graded / "grades.csv").open())
            if r["assignment"] == ASSIGNMENT}
    assert set(rows) == {"reference", "blank", "mistakes"}
    assert float(rows["reference"]["max_score"]) == 2 * EXERCISES
    assert float(rows["reference"]["raw_score"]) == 2 * EXERCISES
    assert float(rows["blank"]["raw_score"]) == 0
    assert float(rows["mistakes"]["raw_score"]) == 2 * (EXERCISES - len(MISTAKES))


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
    released = json.loads((out / "book" / f"{NAME}.ipynb").read_text())
    assert sum("raise NotImplementedError()" in "".join(c["source"]) for c in released["cells"]) == EXERCISES
