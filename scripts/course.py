"""The coursework: course folder, student release (nbgrader), sandboxed grading, feedback, grades.

    python scripts/course.py all COURSE --repo URL --submissions DIR   # every step below, in order
    python scripts/course.py init COURSE --repo URL         # COURSE/source/<assignment>/ from the book
    python scripts/course.py release COURSE                 # COURSE/release/ (+ a check that nothing leaks)
    python scripts/course.py grade COURSE --submissions DIR [--student S] [--assignment A]
    python scripts/course.py publish COURSE OUT --repo URL  # OUT: the students' repository (Colab opens it)
    python scripts/course.py check PATH...                  # exit 1 if a solution or hidden test is in PATH

Assignments: ``foundations`` (chapter 8) and ``experiments`` (chapter 9). A submission folder has
nbgrader's layout, ``DIR/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's ``COURSE/submitted``
works). ``grade`` runs each submission's answer cells in a sandbox and computes the verdict in
this process (``course_grading.py``): COURSE/results/, COURSE/feedback/, COURSE/grades.csv,
COURSE/grades_lms.csv and COURSE/summary.txt. ``URL`` is the students' repository (what
``publish`` writes): the release installs the package from there, never from this repository.
Needs the ``course`` extra (nbgrader 0.9) and the ``book`` extra (to read the gated solutions).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import yaml
from course_notebooks import HIDDEN_TESTS, find_leaks, hidden_bodies, secret_lines, source_notebook
from sync_notebooks import COLAB_DIR, ColabMarkdown, colab_edition
from sync_notebooks import install_cell as clone_cell
from sync_notebooks import package_trees

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = {"foundations": "08_exercises_foundations", "experiments": "09_exercises_experiments"}
CONFIG = """c = get_config()  # noqa: F821 - nbgrader's config loader defines it
c.CourseDirectory.course_id = "infogan-tutorial"
c.Execute.timeout = {timeout}  # seconds per cell when autograding
c.Execute.interrupt_on_timeout = True
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
"""


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def package_spec(repo: str, branch: str) -> str:
    """What the release's install cell installs: the package from the students' repository (``publish``).

    A local folder (a bare repository on a course server) becomes a ``file://`` URL, the form pip's ``git+`` takes.
    """
    scp = re.fullmatch(r"([\w.-]+@[\w.-]+):(?!//)(.+)", repo)  # git@host:org/repo, git's scp-like form
    if scp:  # pip's git+ wants a URL: git+ssh://git@host/org/repo
        repo = f"ssh://{scp.group(1)}/{scp.group(2)}"
    if "://" not in repo:
        path = Path(repo).expanduser()
        if not path.is_dir():
            raise SystemExit(f"error: --repo {repo} is neither a URL (https://..., ssh://..., git@host:path) nor an "
                             "existing folder; give the students' repository, e.g. https://github.com/ORG/REPO.")
        repo = path.resolve().as_uri()
    scheme = repo.split("://", 1)[0].lower()
    if scheme not in ("https", "http", "ssh", "file", "git"):
        raise SystemExit(f"error: --repo {repo}: pip installs from git over https, ssh or file URLs, not {scheme}://; "
                         "give the students' repository, e.g. https://github.com/ORG/REPO.")
    if scheme == "file" and not Path(urllib.parse.unquote(urllib.parse.urlsplit(repo).path)).is_dir():
        raise SystemExit(f"error: --repo {repo} names no folder on this machine; give the students' repository.")
    if scheme != "https":
        print(f"Note: --repo {repo} is not an https URL: students on Colab or their own laptops can install from it "
              "only if they reach it (a file:// folder: only on this machine; ssh: only with a key).")
    return f"infogan_tutorial @ git+{repo}@{branch}"


def book(name: str) -> dict:
    return json.loads((ROOT / "book" / f"{name}.ipynb").read_text(encoding="utf8"))


def nbgrader(course: Path, *args: str) -> None:
    """Run one nbgrader command in the course folder; stop with its output if it fails."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(cmd, cwd=course, capture_output=True, text=True, env=env, check=False)  # nbgrader calls `alembic`
    if run.returncode != 0:
        sys.exit(f"nbgrader {args[0]} failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")


def init(course: Path, timeout: int, package: str, hidden_dir: Path = HIDDEN_TESTS) -> None:
    """Write COURSE/nbgrader_config.py and the source notebooks (solutions, hidden tests from ``hidden_dir``,
    points)."""
    missing = [label for label in hidden_labels() if not (hidden_dir / f"{label}.py").is_file()]
    if missing:
        raise SystemExit(f"error: --hidden-tests {hidden_dir} lacks {', '.join(f'{m}.py' for m in missing)}: start "
                         f"from a copy of {HIDDEN_TESTS} (one file per exercise) and change its cases there.")
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(timeout=timeout))
    for assignment, name in ASSIGNMENTS.items():
        folder = course / "source" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nb = source_notebook(book(name), package, hidden_dir=hidden_dir)
        (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    print(f"course folder: {course} ({', '.join(ASSIGNMENTS)})")


def hidden_labels() -> list[str]:
    """The labels of the exercises that have hidden tests: this repository's ``course/hidden_tests/*.py``."""
    return sorted(path.stem for path in HIDDEN_TESTS.glob("*.py"))


def course_hidden(course: Path) -> list[str]:
    """The hidden tests of a course folder's source notebooks (a course's own, with ``init --hidden-tests``)."""
    found = []
    for path in sorted((course / "source").glob("*/*.ipynb")) if (course / "source").is_dir() else []:
        try:
            found += hidden_bodies(json.loads(path.read_text(encoding="utf8")))
        except (OSError, ValueError):
            continue  # not a notebook: nothing to add
    return found


def leaks(paths: list[Path], course: Path | None = None) -> list[str]:
    """Lines of a solution or a hidden test (this repository's, and ``course``'s own) found in ``paths``."""
    hidden = course_hidden(course) if course is not None else []
    return find_leaks(paths, secret_lines([book(name) for name in ASSIGNMENTS.values()], hidden))


def release(course: Path) -> None:
    """Generate COURSE/release/<assignment>/ and refuse it if a solution or hidden test got through."""
    for assignment in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment, "--force")
    found = leaks([course / "release"], course)
    if found:
        sys.exit("the release contains solutions or hidden tests:\n" + "\n".join(found))
    print(f"student release: {course / 'release'} (checked: no solution, no hidden test)")


def released_at(course: Path, assignment: str) -> object:
    """When ``assignment`` was released (its released notebook's modification time, an aware datetime), or None."""
    import datetime as dt
    path = course / "release" / assignment / f"{ASSIGNMENTS[assignment]}.ipynb"
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc) if path.is_file() else None


def grade(course: Path, submissions: Path, *, timeout: float, memory_mb: int, check_time: float,
          only_students: list[str] | None = None, only_assignments: list[str] | None = None,
          unsandboxed: bool = False, partial: bool = False, due: dict | None = None,
          late_per_day: float | None = None, budget: float = 1800.0) -> Path:
    """Grade every submission in a sandbox (``course_grading.py``): COURSE/results/, feedback/, grades.csv.

    One submission's failure (a crash, a hang, a renamed notebook, edited metadata, a broken file)
    never stops the round: it is graded as far as it goes or reported with its reason in the summary.
    """
    import course_grading as cg
    if not submissions.is_dir():
        sys.exit(f"no submissions folder {submissions}")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    everyone = list(students)  # also those not regraded now: a copy is compared with every submission
    results, feedback = course / "results", course / "feedback"
    gone = sorted(p.name for p in results.glob("*") if p.is_dir() and p.name not in students)
    if gone:  # kept, never dropped in silence: a folder moved away by mistake costs no grade
        print(f"KEPT the earlier results of {', '.join(gone)}: no folder in {submissions} any more. Their rows stay "
              f"in grades.csv; to drop them, delete {results}/<student> and {feedback}/<student>.", flush=True)
    if only_students:
        unknown = sorted(set(only_students) - set(students))
        if unknown:
            sys.exit(f"no submissions from {', '.join(unknown)} in {submissions}")
        students = [s for s in students if s in only_students]
    if not students:
        sys.exit(f"no submissions in {submissions}: expected {submissions}/<student>/<assignment>/<notebook>.ipynb")
    assignments = only_assignments or list(ASSIGNMENTS)
    if not only_students and not only_assignments:  # a whole round: nothing stale of a graded student survives
        for folder in (results, feedback):
            for student in students:
                shutil.rmtree(folder / student, ignore_errors=True)
    deadlines = _deadlines(course, [a for a in ASSIGNMENTS if a in (only_assignments or ASSIGNMENTS)], due or {},
                           late_per_day)
    if not cg.jail_available() and not unsandboxed:
        sys.exit("this machine does not let a user make namespaces (`unshare --user --mount --pid --net` fails), so "
                 "a submission's code could read and write whatever this user can (the course folder, other "
                 "students' work). Grade on a Linux machine that allows them, or pass --unsandboxed for "
                 "submissions you trust.")
    graded_now: set[tuple[str, str]] = set()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        print("WARNING: grading as root: inside the sandbox a submission is root on its own job folder, which lies on "
              "this machine's disk; grade as an ordinary user.", flush=True)
    print(f"sandbox: {'user, mount, pid and network namespaces' if cg.jail_available() else 'NONE (--unsandboxed)'}",
          flush=True)
    for assignment in assignments:
        name = ASSIGNMENTS[assignment]
        source_path = course / "source" / assignment / f"{name}.ipynb"
        if not source_path.is_file():
            sys.exit(f"no {source_path}: run `course.py init` first")
        source = json.loads(source_path.read_text(encoding="utf8"))
        items = cg.exercises_of(source)
        cg.load_exercises(items)
        setup = cg.setup_cells(source)
        top = sum(sum(i.points) for i in items)
        for student in students:
            start = time.monotonic()
            result = {"status": "missing", "reason": "no submission", "max_score": top}
            folder = submissions / student / assignment
            if folder.is_dir():
                path, note = cg.find_notebook(folder, name)
                if path is None:
                    result = {"status": "error", "reason": note, "max_score": top}
                else:
                    try:
                        nb = json.loads(path.read_text(encoding="utf8"))
                        result = {"status": "graded", **cg.grade_notebook(
                            nb, items, setup, timeout=timeout, memory_mb=memory_mb, check_time=check_time,
                            partial=partial, budget=budget)}
                        if note:
                            result["notes"].insert(0, note)
                        if assignment in deadlines:
                            when, per_day = deadlines[assignment]
                            cg.late_penalty(folder, result, when, per_day, released_at(course, assignment))
                        result["reason"] = "; ".join(result["notes"])
                    except Exception as e:  # noqa: BLE001 - one broken submission never stops the round
                        result = {"status": "error", "max_score": top,
                                  "reason": f"{path.name} could not be graded: {type(e).__name__}: {str(e)[:300]}"}
            log = result.pop("log", "")
            out = results / student / f"{assignment}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
            (results / student / f"{assignment}.log").write_text(log)
            page = feedback / student / assignment / f"{name}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(cg.feedback_html(student, assignment, result), encoding="utf8")
            graded_now.add((student, assignment))
            print(f"{summary_line(student, assignment, result)}  ({time.monotonic() - start:.0f} s)", flush=True)
        try:
            alike = cg.alike_flags(submissions, everyone, assignment, name, items, source)
        except Exception as e:  # noqa: BLE001 - a comparison that fails never costs a round its grades
            print(f"NOTE: the comparison of {assignment}'s submissions with each other failed ({type(e).__name__}: "
                  f"{str(e)[:200]}); grades are unaffected, but no submission was flagged as alike.", flush=True)
            alike = {}
        for student, flags in alike.items():
            out = results / student / f"{assignment}.json"
            if flags and (student, assignment) in graded_now and out.is_file():
                result = json.loads(out.read_text())
                result["review"] = result.get("review", []) + flags
                out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
                print(f"REVIEW {student} {assignment}: {'; '.join(flags)}", flush=True)
    grades, lms = cg.write_grades(course, list(ASSIGNMENTS))
    # the summary covers the whole course, as grades.csv does: this round's lines and, marked, every earlier one
    summary = []
    for out in sorted(results.glob("*/*.json")):
        student, assignment = out.parent.name, out.stem
        earlier = "" if (student, assignment) in graded_now else (
            "  (from an earlier round" + (f"; no folder in {submissions} any more)" if student in gone else ")"))
        summary.append(summary_line(student, assignment, json.loads(out.read_text())) + earlier)
    (course / "summary.txt").write_text("\n".join(summary) + "\n")
    print(f"feedback: {feedback}\ngrades:   {grades} (one row per student: {lms})\nsummary:  {course / 'summary.txt'}")
    return grades


def summary_line(student: str, assignment: str, result: dict) -> str:
    """One line of the summary: the score (or the status), the reason and what to review."""
    score = f"{result['score']:g}/{result['max_score']:g}" if result["status"] == "graded" else result["status"]
    review = f"  REVIEW: {', '.join(result['review'])}" if result.get("review") else ""
    return f"{student:20} {assignment:12} {score:>8}  {result.get('reason', '')}{review}"


def _deadlines(course: Path, assignments: list[str], due: dict, late_per_day: float | None) -> dict:
    """assignment -> (due, share per day late) for this round, from --due/--late-penalty and COURSE/deadlines.json.

    A deadline given once is recorded there and applies to every later grade of that assignment, so a regrade
    (of one student, say) never drops a late penalty in silence; each one used is printed, with how to change it.
    """
    import datetime as dt
    path = course / "deadlines.json"
    recorded = json.loads(path.read_text()) if path.is_file() else {}
    for assignment, when in due.items():
        if when is None:
            recorded.pop(assignment, None)
            print(f"due date of {assignment}: none (removed from {path})", flush=True)
            continue
        penalty = late_per_day if late_per_day is not None else recorded.get(assignment, {}).get("late_penalty", 0.0)
        recorded[assignment] = {"due": when.isoformat(), "late_penalty": penalty}
    if late_per_day is not None and not due:
        if not any(a in recorded for a in assignments):
            sys.exit(f"--late-penalty needs a deadline: add --due {assignments[0]}=WHEN (no due date is recorded in "
                     f"{path} for {', '.join(assignments)})")
        for assignment in assignments:
            if assignment in recorded:
                recorded[assignment]["late_penalty"] = late_per_day
    if recorded or path.is_file():
        path.write_text(json.dumps(recorded, indent=1) + "\n")
    found = {}
    for assignment in assignments:
        if assignment not in recorded:
            continue
        entry = recorded[assignment]
        found[assignment] = (dt.datetime.fromisoformat(entry["due"]), float(entry["late_penalty"]))
        given = "given now" if assignment in due else f"recorded in {path} by an earlier grade"
        print(f"due date of {assignment}: {entry['due']}, {float(entry['late_penalty']):g} of the maximum score off "
              f"per started day late ({given}; change it with --due {assignment}=WHEN --late-penalty FRACTION, or "
              f"grade without it with --due {assignment}=none)", flush=True)
    return found


def publish(course: Path, out: Path, repo: str, branch: str) -> None:
    """OUT: the repository students get: the package, its data, the book with the exercise chapters as released.

    Every chapter's install cell clones ``repo`` (this copy, so Colab never fetches a solution); the
    tests, scripts and course folder stay behind. Push OUT to ``repo`` and build the student book with
    ``build_book.py --student --colab-repo REPO``, whose Colab buttons open OUT's ``colab/`` editions
    (written here from the released chapters, as ``sync_notebooks.py`` writes the book's).
    """
    if out.exists():
        shutil.rmtree(out)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for folder in ("infogan_tutorial", "data"):
        shutil.copytree(ROOT / folder, out / folder, ignore=ignore)
    for name in ("pyproject.toml", "_toc.yml"):
        shutil.copy2(ROOT / name, out / name)
    (out / "README.md").write_text(STUDENTS_README.format(repo=repo, branch=branch), encoding="utf8")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["repository"] = {**config.get("repository", {}), "url": repo, "branch": branch}
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (out / "book").mkdir()
    (out / COLAB_DIR).mkdir()
    markdown = ColabMarkdown(ROOT, config)
    for path in sorted((ROOT / "book").iterdir()):
        if path.suffix in (".md", ".bib"):
            shutil.copy2(path, out / "book" / path.name)
        elif path.is_dir() and path.name in ("_static", "_ext"):  # the explorer, the theme's CSS, the extension
            student_build = shutil.ignore_patterns("__pycache__", "*.pyc", "hide_gated_solutions.py")  # ours only
            shutil.copytree(path, out / "book" / path.name, ignore=student_build if path.name == "_ext" else ignore)
    released = {name: course / "release" / a / f"{name}.ipynb" for a, name in ASSIGNMENTS.items()}
    install = clone_cell(config, trees=package_trees(out))  # the trees of OUT's package and data: what students get
    for path in sorted((ROOT / "book").glob("[0-9][0-9]*.ipynb")):  # 06b, 07b too
        nb = json.loads((released.get(path.stem) or path).read_text(encoding="utf8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and "# Install cell" in "".join(cell["source"]):
                cell["source"] = install["source"]
        (out / "book" / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
        colab = json.dumps(colab_edition(nb, markdown), indent=1, ensure_ascii=False) + "\n"
        (out / COLAB_DIR / path.name).write_text(colab, encoding="utf8")
    missing = [f"{e['file']}" for e in _toc_files(yaml.safe_load((out / "_toc.yml").read_text()))
               if not any((out / f"{e['file']}{ext}").is_file() for ext in (".ipynb", ".md"))]
    if missing:
        sys.exit(f"the students' repository lacks pages its table of contents lists: {', '.join(missing)}")
    # everything published is scanned; the package itself holds the functions the exercises rebuild (README)
    found = leaks([out], course)
    if found:
        sys.exit("the published notebooks contain solutions:\n" + "\n".join(found))
    print(f"students' repository: {out} (push it to {repo})")


def due_date(text: str) -> tuple[str, object]:
    """``foundations=2026-03-01T23:59[+01:00]`` -> ("foundations", an aware datetime; UTC without an offset)."""
    import datetime as dt
    assignment, _, when = text.partition("=")
    if assignment not in ASSIGNMENTS:
        raise argparse.ArgumentTypeError(f"unknown assignment {assignment!r} (one of {', '.join(ASSIGNMENTS)})")
    if when.lower() == "none":  # drop a recorded deadline
        return assignment, None
    try:
        moment = dt.datetime.fromisoformat(when)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{when!r} is not a date and time such as 2026-03-01T23:59") from e
    return assignment, moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _toc_files(node: object) -> list[dict]:
    """Every entry of a jupyter-book table of contents that names a file (root included)."""
    if isinstance(node, dict):
        found = [{"file": node["root"]}] if "root" in node else []
        found += [node] if "file" in node else []
        return found + [e for v in node.values() for e in _toc_files(v)]
    return [e for v in node for e in _toc_files(v)] if isinstance(node, list) else []


STUDENTS_README = """# InfoGAN tutorial: the coursework edition

This repository is the students' copy of the InfoGAN tutorial: the `infogan_tutorial` package, its
data and the book's chapters, with the exercise chapters (`book/08_exercises_foundations.ipynb`,
`book/09_exercises_experiments.ipynb`) as released for the course: each exercise is a stub for you
to write and a check that tells you, in plain words, what is wrong.

## Getting started

- On Colab: open a chapter from `colab/` (or from the course book's Colab button); its first cell
  installs the package from this repository.
- On your machine (Python 3.10 or later):

  ```bash
  git clone {repo} -b {branch} infogan && cd infogan
  python -m venv .venv && .venv/bin/python -m pip install -e .
  .venv/bin/python -m pip install jupyterlab && .venv/bin/jupyter lab book/
  ```

## Handing in

Work in the notebook you were given (through your course's nbgrader exchange or LMS) and hand in
that notebook. Write each answer inside its function's cell, helpers included: only the answer
cells are graded. The checks in the notebook are there to help you; your grade comes from the
course's grader, which runs your functions on these cases and on others you have not seen.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["all", "init", "release", "grade", "publish", "check"])
    p.add_argument("paths", nargs="+", type=Path, help="the course folder (publish: then OUT; check: paths)")
    p.add_argument("--submissions", type=Path, help="DIR/<student>/<assignment>/<notebook>.ipynb")
    p.add_argument("--timeout", type=int, default=300,
                   help="grade: seconds per answer cell and per case in the sandbox (default 300); init: the cell "
                        "timeout written to nbgrader_config.py")
    p.add_argument("--package", help="init: what the release's install cell pip-installs (default: the package "
                                     "from --repo, the students' repository)")
    p.add_argument("--student", action="append", help="grade: only this student (repeat for more)")
    p.add_argument("--assignment", action="append", choices=list(ASSIGNMENTS),
                   help="grade: only this assignment (repeat for more)")
    p.add_argument("--memory", type=int, default=6144, help="grade: MiB of address space per sandbox (default 6144)")
    p.add_argument("--submission-time", type=positive_seconds, default=1800.0,
                   help="grade: seconds of grading for one submitted notebook, all its cells and cases together "
                        "(default 1800); what is not graded by then scores 0 and is reported")
    p.add_argument("--partial", action="store_true",
                   help="grade: partial credit, each test's points times the share of its cases answered right")
    p.add_argument("--due", action="append", type=due_date, metavar="ASSIGNMENT=WHEN",
                   help="grade: the deadline of an assignment, e.g. foundations=2026-03-01T23:59+01:00 (UTC "
                        "without an offset), read against nbgrader's timestamp.txt of each submission; recorded "
                        "in COURSE/deadlines.json for later grades (ASSIGNMENT=none removes it)")
    p.add_argument("--late-penalty", type=float, default=None, metavar="FRACTION",
                   help="grade: the share of the maximum score taken off per started day late (default: the one "
                        "recorded in COURSE/deadlines.json, else 0)")
    p.add_argument("--unsandboxed", action="store_true",
                   help="grade even where namespaces are not available (the code of a submission can then read "
                        "and write what this user can)")
    p.add_argument("--check-time", type=float, default=10.0,
                   help="grade: seconds one call of a student's function may take (default 10)")
    p.add_argument("--repo", help="the students' repository (URL): publish writes what is pushed there; init's "
                                  "install cell installs the package from it")
    p.add_argument("--branch", default="main", help="publish: its branch (default main)")
    p.add_argument("--hidden-tests", type=Path, metavar="DIR",
                   help="init: the hidden cases, one DIR/<exercise label>.py each (default: this repository's "
                        "course/hidden_tests, which is public: a course that counts keeps its own, private copy)")
    args = p.parse_args(argv)
    course = args.paths[0].resolve()
    if args.step == "check":
        found = leaks(args.paths, course if (course / "source").is_dir() else None)
        print("\n".join(found) or "no solution or hidden test found")
        return 1 if found else 0
    if args.step in ("grade", "all") and args.submissions is None:
        p.error(f"{args.step} needs --submissions DIR")
    if args.step in ("init", "all"):
        if not (args.package or args.repo):
            p.error(f"{args.step} needs --repo URL (the students' repository that `publish` writes) or --package SPEC: "
                    "the release's install cell must not install from this repository, which holds the solutions")
        init(course, args.timeout, args.package or package_spec(args.repo, args.branch),
             args.hidden_tests.resolve() if args.hidden_tests else HIDDEN_TESTS)
    if args.step in ("release", "all"):
        release(course)
    if args.step in ("grade", "all"):
        grade(course, args.submissions.resolve(), timeout=args.timeout, memory_mb=args.memory,
              check_time=args.check_time, only_students=args.student, only_assignments=args.assignment,
              unsandboxed=args.unsandboxed, partial=args.partial, due=dict(args.due or []),
              late_per_day=args.late_penalty, budget=args.submission_time)
    if args.step == "publish":
        if len(args.paths) != 2 or not args.repo:
            p.error("publish needs COURSE OUT --repo URL")
        publish(course, args.paths[1].resolve(), args.repo, args.branch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
