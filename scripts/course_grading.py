"""Grading a student cannot subvert: the student's code runs in a sandbox, the verdict is computed here.

For each submission (``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb``):

1. the notebook is found (a renamed copy such as ``08_exercises_foundations (1).ipynb`` is matched
   and reported) and each answer cell is taken by the function it defines (edited nbgrader metadata
   does not matter); nothing else of the student's notebook runs: the import cells come from the
   course's own source notebook;
2. ``course_sandbox.py`` runs those cells and calls each answer on the arguments of its visible cases,
   then (once the grader has taken those results) of its hidden cases, in a fresh folder that holds
   only them and a copy of the package without the checkers' answer key and without the functions
   the exercises forbid (``_remove``: their bodies raise, so switching the in-process call watch off
   gains nothing; an exercise that called one another exercise forbids is graded again in a sandbox
   that lacks only its own); with Linux namespaces (``unshare``) it sees no other file (no course
   folder, no book, no other student, no hidden-test source), has no network, and cannot see or
   signal the grader; ``--timeout`` seconds per cell or exercise and ``--memory`` MiB of address space;
3. the values it returns (plain tensors and containers, loaded with ``torch.load(weights_only=True)``)
   are compared here, in the grader's own process, with the package's references, with the checkers'
   own comparison and explanations. The student's process never holds an expected value, a checker
   or the comparison, so patching them there changes nothing. Feedback shows the student's own error
   messages for the visible cases only (paths of the grader's Python replaced); for a hidden case it
   says, in the grader's words, what kind of problem it was (an exception's built-in type and the line
   of the answer cell), never text the student's code wrote while it held hidden arguments.

A process that dies (``os._exit``, a segfault, out of memory) or hangs costs only the cell or exercise
it was running: the grader starts a new sandbox for the rest. ``$INFOGAN_GRADE_NO_JAIL`` (tests only)
makes the grader behave as on a machine without namespaces.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import errno
import functools
import html
import importlib
import io
import json
import math
import os
import re
import resource
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_similarity import Key, alike_submissions, parse

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""Terminal colour and cursor codes (IPython colours its tracebacks): removed from the logs an instructor reads."""

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = Path(__file__).with_name("course_sandbox.py")
ANSWER_KEY = ("foundations.py", "experiments.py", "inputs.py")  # left out of the sandbox's package copy
SANDBOX_PROBES = {"infogan_tutorial.exercises.probes.gradient_flow": "gradient_flow",
                  "infogan_tutorial.exercises.probes.traversal_shares_no_memory": "traversal_shares_no_memory"}
"""Probes that need the student's live result (its autograd graph, the memory it shares with its inputs): the
sandbox runs its own copy. Every
other probe calls the function once and reads its result, so the sandbox returns ``fn(*args)`` and the
grader applies the exercise's probe to that value."""
DEF = re.compile(r"^(?:def (\w+)\(|(\w+)\s*(?::[^=\n]*)?=\s*lambda\b)", re.MULTILINE)
"""A top-level function of a cell: ``def name(`` or ``name = lambda`` (an answer may be written either way)."""


def defines(source: str) -> set[str]:
    """The names a cell binds at its top level, any of which may be an answer: ``def`` and ``class`` names, names
    assigned (``name = lambda ...``, a callable instance ``name = Loss()``) and names imported; for a cell that
    does not parse, its ``def`` and lambda lines (``DEF``)."""
    tree = parse(source)
    if tree is None:
        return {a or b for a, b in DEF.findall(source)}
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


@dataclass
class Item:
    """One exercise of an assignment: its label, the function, the checker and the points of its two tests."""

    label: str
    function: str
    checker: str
    points: tuple[float, float]
    hidden: str
    exercise: Any = None
    cases: dict = field(default_factory=dict)  # "visible"/"hidden" -> [Case]


def exercises_of(source: dict) -> list[Item]:
    """The exercises of a course source notebook, in order, from its autograded test cells."""
    meta = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in source["cells"]}
    items = []
    for cell in source["cells"]:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        label = nbg.get("grade_id", "")
        if not nbg.get("grade") or label.endswith("-hidden"):
            continue
        m = re.search(r"(check_\w+)\((\w+)\)", text(cell))
        hidden = meta.get(f"{label}-hidden")
        if m is None or hidden is None:
            continue
        body = text(hidden)
        if "### BEGIN HIDDEN TESTS" in body:
            body = body.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
        items.append(Item(label, m.group(2), m.group(1),
                          (float(nbg.get("points", 0)), float(hidden["metadata"]["nbgrader"].get("points", 0))), body))
    return items


def setup_cells(source: dict) -> list[str]:
    """The course's own import cells (those before the first answer cell that import something)."""
    cells = []
    for cell in source["cells"]:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if nbg.get("solution"):
            break
        if cell["cell_type"] == "code" and nbg.get("grade_id") != "install" and re.search(
                r"^(import|from) ", text(cell), re.MULTILINE):
            cells.append(text(cell))
    return cells


def load_exercises(items: list[Item]) -> None:
    """Each item's Exercise (reference, mistakes, comparison) and its visible and hidden cases, from the package."""
    import infogan_tutorial.exercises as ex
    from infogan_tutorial.exercises import experiments, foundations
    for item in items:
        factory_name = f"_{item.checker.removeprefix('check_')}_exercise"
        factory = getattr(foundations, factory_name, None) or getattr(experiments, factory_name)
        item.exercise = factory()
        captured: dict = {}

        def record(fn: Any, *, graded: bool = False, cases: Any = None, _captured: dict = captured) -> None:
            _captured["cases"] = list(cases)

        original = getattr(ex, item.checker)
        setattr(ex, item.checker, record)
        try:
            exec(compile(item.hidden, f"<hidden tests of {item.label}>", "exec"), {item.function: None})  # noqa: S102
        finally:
            setattr(ex, item.checker, original)
        item.cases = {"visible": list(item.exercise.cases), "hidden": captured.get("cases", [])}
        if not item.cases["hidden"]:
            raise ValueError(f"the hidden tests of {item.label} name no cases")


def _qualified(fn: Any) -> tuple[str, str]:
    fn = getattr(fn, "__func__", fn)
    return fn.__module__, fn.__qualname__


def find_notebook(folder: Path, name: str) -> tuple[Path | None, str | None]:
    """The submitted notebook and a note when it is not the released name, or (None, why)."""
    exact = folder / f"{name}.ipynb"
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))

    def others(graded: Path) -> str:
        rest = [p.name for p in found if p != graded]
        return (f"; also in the folder and not graded: {', '.join(rest)} (only {graded.name} counts: hand in "
                "your work in that notebook)") if rest else ""

    link = next((p for p in (folder.parent, folder) if p.is_symlink()), None)
    if link is not None:  # a link may point anywhere the grader can read: the course's own solutions, another student
        return None, f"{link} is a symbolic link, not a handed-in folder; hand in the files themselves"
    if exact.is_file():
        return _not_a_link(exact, (others(exact).removeprefix("; ") or None))
    close = [p for p in found if p.stem.startswith(name)] or (found if len(found) == 1 else [])
    if len(close) == 1:
        return _not_a_link(close[0], (f"graded {close[0].name} (the notebook was renamed; expected {name}.ipynb)"
                                      + others(close[0])))
    if not found:
        return None, f"no notebook in {folder} (expected {name}.ipynb)"
    return None, f"several notebooks and none named {name}.ipynb: {', '.join(p.name for p in found)}"


def _not_a_link(path: Path, note: str | None) -> tuple[Path | None, str | None]:
    if path.is_symlink():
        return None, (f"{path.name} is a symbolic link (to {os.readlink(path)}), not a handed-in notebook; hand in the "
                      "notebook itself")
    return path, note


def answers_of(nb: dict, items: list[Item]) -> tuple[dict[str, str], list[str]]:
    """Exercise label -> the source of the student's answer cell, and notes on cells found by their def."""
    answers, notes = {}, []
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for item in items:
        tagged = [c for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{item.label}-answer"]
        defining = [i for i, c in enumerate(cells) if item.function in defines(text(c))]
        pick = next((i for i in defining if any(cells[i] is c for c in tagged)), None)
        if pick is None and defining:
            pick = defining[-1]
            notes.append(f"{item.function}: the answer cell's nbgrader metadata was changed; graded the cell that "
                         "defines it")
        if pick is not None:
            check = next((i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get(
                "grade_id") == item.label), len(cells))
            later = [i for i in defining if pick < i < check]  # what "Run all" has run when the check runs
            if later:
                notes.append(f"{item.function} is defined again in a cell between its answer cell and its check: "
                             "graded with that cell run after the answer cell, as the notebook runs them")
            answers[item.label] = "\n\n".join(text(cells[i]) for i in [pick, *later])
    return answers, notes


# -- the sandbox ------------------------------------------------------------------------------------

_JAIL: bool | None = None


def jail_available() -> bool:
    """Whether this machine lets an unprivileged process make user, mount, pid and network namespaces."""
    global _JAIL
    if _JAIL is None:
        tools = all(shutil.which(t, path="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
                    for t in ("unshare", "mount", "umount", "pivot_root"))
        try:  # what the jail does: namespaces, a mount, a nested user namespace (AppArmor may allow one, not all)
            with tempfile.TemporaryDirectory(prefix="infogan-probe-") as tmp:
                _JAIL = tools and subprocess.run(
                    ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--net", "sh", "-c",
                     f"mount -t tmpfs tmpfs '{tmp}' && unshare --user --map-root-user --mount true"],
                    capture_output=True, timeout=30, check=False,
                    env={**os.environ, "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _JAIL = False
        if os.environ.get("INFOGAN_GRADE_NO_JAIL"):
            _JAIL = False
    return _JAIL


REMOVED_MODULE = '''"""Which of the functions this copy of the package lacks were called (see course_grading._remove)."""

HITS = []


def hit(key, why):
    HITS.append(key)
    return RuntimeError(why)
'''


def _package_copy(dest: Path, removed: Any = (), graded: dict | None = None) -> None:
    """The package as the sandbox sees it: no checkers' answer key, and each of ``removed``
    ((module, qualname, how messages name it)) replaced by a function that raises (``_remove``)."""
    import infogan_tutorial
    src = Path(infogan_tutorial.__file__).parent
    shutil.copytree(src, dest / "infogan_tutorial",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *ANSWER_KEY))
    (dest / "infogan_tutorial" / "_removed.py").write_text(REMOVED_MODULE)
    (dest / "infogan_tutorial" / "exercises" / "__init__.py").write_text(
        '"""The checkers are not here: the course\'s grader runs them on what your functions return."""\n\n'
        "from .engine import Case, CheckResult, Exercise, ExerciseFailed, Mistake  # noqa: F401\n\n\n"
        "def __getattr__(name):\n"
        "    if name.startswith('check_'):\n"
        "        return lambda *args, **kwargs: None\n"
        "    raise AttributeError(name)\n")
    _remove(dest, removed, graded)


def _find_def(body: list, path: list[str]) -> Any:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == path[0]:
            if len(path) == 1:
                return node if not isinstance(node, ast.ClassDef) else None
            return _find_def(node.body, path[1:])
    return None


def _remove(dest: Path, removed: Any, graded: dict | None) -> None:
    """Replace the body of each removed function, in the package copy's source, by a ``raise`` that says why.

    The original is then nowhere in the sandbox (not on disk, not in memory), so no trick inside the
    student's process (switching the call watch off, ``vars()``, ``gc``, importing the file afresh)
    can call it. A package function that calls a removed one fails the same way."""
    graded = graded or {}
    by_file: dict[Path, list] = {}
    for module, qualname, label in removed:
        parts = module.split(".")
        path = dest.joinpath(*parts).with_suffix(".py")
        if not path.is_file():
            path = dest.joinpath(*parts, "__init__.py")
        by_file.setdefault(path, []).append((module, qualname, label))
    for path, names in by_file.items():
        source = path.read_text(encoding="utf8")
        tree = ast.parse(source)
        lines = source.splitlines(keepends=True)
        edits = []
        for module, qualname, label in names:
            node = _find_def(tree.body, qualname.split(".")) if path.is_file() else None
            if node is None:
                raise RuntimeError(f"cannot remove {module}.{qualname} from the sandbox's copy of the package: no "
                                   f"`def` of it in {path.name}. An exercise's forbidden functions must be plain "
                                   "functions or methods defined in the package (infogan_tutorial/exercises).")
            edits.append((node, label, f"{module}:{qualname}"))
        for node, label, key in sorted(edits, key=lambda e: -e[0].body[0].lineno):
            first = node.body[0]
            start = first.lineno - 1
            prefix = lines[start].encode("utf8")[:first.col_offset].decode("utf8")
            why = (f"{label} is not available while {graded.get(label, 'this exercise')} is graded: the exercise "
                   "asks you to write it yourself, so the grader's copy of the package does not have it (nor a "
                   "package function that calls it).")
            lines[start:node.end_lineno] = [
                f"{prefix}raise __import__('infogan_tutorial._removed', fromlist=['hit']).hit({key!r}, {why!r})\n"]
        path.write_text("".join(lines), encoding="utf8")


def _limits(memory_mb: int) -> Any:
    def apply() -> None:
        os.setsid()
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024 * 1024,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


@dataclass
class Run:
    visible: dict  # label -> what the sandbox returned for the visible cases (taken before it had any hidden one)
    hidden: dict  # label -> what it returned for the hidden cases (values and the kind of each problem are used)
    died: dict  # (label, "visible" or "hidden") -> why the process ended there
    log: str
    jailed: bool
    sandboxes: int = 0
    flags: list = field(default_factory=list)  # what the grader saw the answers tamper with
    end: float = math.inf  # time.monotonic() at which the submission's whole budget is spent
    budget: float = math.inf  # that budget, in seconds (for messages)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.end

    def spent(self) -> str:
        return (f"the submission used up its {self.budget:g} s of grading time (--submission-time) before this "
                "was graded")


def groups_of(specs: list[dict]) -> list[list[dict]]:
    """The exercises that forbid the same functions (a rerun's sandbox lacks exactly these)."""
    found: dict[tuple, list[dict]] = {}
    for spec in specs:
        found.setdefault(_removed_set(spec), []).append(spec)
    return list(found.values())


def _removed_set(spec: dict) -> tuple:
    return tuple(sorted(tuple(f) for f in spec["forbidden"]))


def run_sandbox(setup: list[str], answers: dict[str, str], specs: list[dict], timeout: float,
                memory_mb: int, check_time: float, hidden: dict | None = None, budget: float = math.inf) -> Run:
    """Run the answers in sandboxes until every exercise has a result or has been blamed for a crash.

    First one sandbox whose package copy lacks every function that any of these exercises forbids (so no
    trick in the student's process can call one). An exercise whose run called a function it may use but
    another exercise forbids (its stub records the call) is then run again in a sandbox that lacks only
    its own forbidden functions. (Whatever an answer can do in the first sandbox it can do in its own, so
    the first sandbox's result never gives more than the answer's own sandbox would.) A sandbox that dies
    is started again without the cell or exercise that killed it. ``hidden``: label -> the hidden cases'
    (name, arguments), given to a sandbox only once the grader holds its visible results. ``budget``: seconds for
    the whole submission, all sandboxes together; what is not graded by then is reported as such."""
    hidden = hidden or {}
    run = Run({}, {}, {}, "", jail_available(), end=time.monotonic() + budget, budget=budget)
    logs: list[str] = []
    bad_cells: set[str] = set()  # an answer cell that killed one sandbox is left out of every later one
    forbidding: dict[str, list[str]] = {}
    for spec in specs:
        for *_, label in spec["forbidden"]:
            forbidding.setdefault(label, []).append(spec["function"])
    graded = {label: " and ".join(names) for label, names in forbidding.items()}
    with tempfile.TemporaryDirectory(prefix="infogan-grading-") as tmp:
        def sandboxes(name: str, group: list[dict]) -> None:
            removed = list(dict.fromkeys(tuple(f) for s in group for f in s["forbidden"]))
            for attempt in range(len(group) * 2 + len(answers) + 1):
                todo = [s for s in group if (s["label"], "hidden") not in run.died and s["label"] not in run.hidden]
                if not todo:
                    break
                if run.out_of_time():
                    for s in todo:
                        for part in ("visible", "hidden"):
                            if s["label"] not in getattr(run, part):
                                run.died.setdefault((s["label"], part), run.spent())
                    break
                run.sandboxes += 1
                _one_sandbox(Path(tmp) / f"{name}-job{attempt}", run, logs, bad_cells, setup, answers, todo,
                             hidden, removed, graded, timeout, memory_mb, check_time)

        sandboxes("all", specs)
        again = []
        for spec in specs:
            allowed = {f"{module}:{qualname}" for module, qualname, _ in spec["forbidden"]}
            hits = {str(h) for part in (run.visible, run.hidden) for h in _hits(part.get(spec["label"]))}
            if hits - allowed:
                again.append(spec)
                for part in (run.visible, run.hidden):
                    part.pop(spec["label"], None)
                for part in ("visible", "hidden"):
                    run.died.pop((spec["label"], part), None)
        for g, group in enumerate(groups_of(again)):
            sandboxes(f"again{g}", group)
    run.log = "\n".join(logs)
    return run


def _hits(result: Any) -> list:
    """The removed functions a sandbox's result says the answer called (see ``REMOVED_MODULE``)."""
    hits = result.get("hits") if isinstance(result, dict) else None
    return list(hits)[:1000] if isinstance(hits, (list, tuple)) else []


def _one_sandbox(job: Path, run: Run, logs: list[str], bad_cells: set[str], setup: list[str], answers: dict,
                 todo: list[dict], hidden: dict, removed: list, graded: dict, timeout: float, memory_mb: int,
                 check_time: float) -> None:
    import torch
    (job / "work").mkdir(parents=True)
    _package_copy(job / "pkg", removed, graded)
    shutil.copy2(SANDBOX, job / "course_sandbox.py")
    exercises = [{**s, "visible": None if (s["label"] in run.visible or (s["label"], "visible") in run.died)
                  else s["cases"]} for s in todo]
    torch.save({"setup": setup, "answers": [(k, v) for k, v in answers.items() if k not in bad_cells],
                "exercises": exercises}, job / "job.pt")
    jailed = run.jailed
    inside = Path("/job") if jailed else job
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(inside / "work"), "LANG": "C.UTF-8",
           "PYTHONPATH": str(inside / "pkg"), "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "INFOGAN_CHECK_TIME_LIMIT": str(check_time), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
           "INFOGAN_PROFILE": os.environ.get("INFOGAN_PROFILE", "smoke"), "MPLCONFIGDIR": str(inside / "work")}
    if jailed:
        keep = sorted({str(Path(sys.prefix)), str(Path(sys.base_prefix)),
                       str(Path(sys.executable).resolve().parent.parent)})
        import infogan_tutorial
        installed = str(Path(infogan_tutorial.__file__).resolve().parent)
        cmd = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--net",
               "--kill-child", sys.executable, str(job / "course_sandbox.py"), "jail", str(job), *keep,
               "--hide", installed]
    else:
        cmd = [sys.executable, str(job / "course_sandbox.py"), "run", str(job)]
    labels = [s["label"] for s in todo]

    def take_visible() -> None:  # once: after it, the sandbox may hold hidden arguments
        for s in exercises:
            path = job / "out" / f"{s['label']}.pt"
            if s["visible"] is not None and os.path.lexists(path):  # a link is refused by _load, with why
                run.visible[s["label"]] = _load(path)

    given, record, rewritten = False, [], False
    with open(job / "log", "w+b") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=job / "work", preexec_fn=_limits(memory_mb))  # noqa: PLW1509
        seen, last = 0, time.monotonic()
        # each step (a cell, a case) gets `timeout` s; the whole run at most one per step (the
        # progress file is the student's to write, so it cannot keep the sandbox alive for ever)
        steps = len(answers) + sum(len(s["cases"]) + len(hidden.get(s["label"], ())) for s in todo)
        deadline = min(last + timeout * (steps + 2), run.end)
        while proc.poll() is None:
            time.sleep(0.05)
            lines = _progress(job)
            # the record: every line seen so far. The file is the sandbox's to write (its steps), and so the
            # answers' too: a file that no longer extends the record was emptied or replaced by them
            if lines[:len(record)] == record:
                record = lines
            else:
                rewritten = True
            if len(lines) != seen:
                seen, last = len(lines), time.monotonic()
            if not given and "visible done" in lines:
                take_visible()
                given = True
                cases = {label: hidden[label] for label in labels if label in hidden}
                _write_new(job, "hidden.pt", cases)
            if time.monotonic() - last > timeout or time.monotonic() > deadline:
                _kill(proc)
                break
        code = proc.wait()
        log.seek(max(0, os.fstat(log.fileno()).st_size - 4000))  # the file it wrote, never what the path is now
        logs.append(ANSI.sub("", log.read().decode(errors="replace")))  # colour codes are noise in a log file
    if not given:
        take_visible()
    for label in labels:
        path = job / "out" / f"{label}.hidden.pt"
        if given and os.path.lexists(path):
            run.hidden[label] = _load(path)
    lines = _progress(job)
    if lines[:len(record)] == record:
        record = lines
    else:
        rewritten = True
    lines = record
    if rewritten:
        run.flags.append("the answers emptied or replaced the grader's progress file")
    if lines and lines[-1] == "finished":
        for label in labels:
            for part in ("visible", "hidden"):
                if label not in getattr(run, part):
                    run.died.setdefault((label, part), "the grading process gave no result for it")
        return
    running = _running(lines)
    if running is None and any(line.startswith(("cell ", "exercise ", "hidden ")) for line in lines):
        for label in labels:  # ended between two steps (a thread of the student's?): blame what is left
            for part in ("visible", "hidden"):
                if label not in getattr(run, part):
                    run.died.setdefault((label, part), _why(code, timeout, lines, "between two steps"))
        return
    if running is None and ("jailed" in lines or rewritten):  # the student's code may have run:
        for label in labels:  # it ended the process before its first step was recorded, or erased the record
            for part in ("visible", "hidden"):
                if label not in getattr(run, part):
                    run.died.setdefault((label, part), _why(code, timeout, lines, "before its first recorded step"))
        return
    if running is None:  # the sandbox could not start, before any of the student's code ran
        raise RuntimeError(f"the sandbox did not start ({_why(code, timeout, lines, 'starting')}): "
                           + logs[-1][-1500:])
    kind, label = running
    if kind == "cell":
        bad_cells.add(label)
    what = {"cell": "running your answer cell", "exercise": "checking", "hidden": "checking the hidden cases of"}[kind]
    why = run.spent() if run.out_of_time() else _why(code, timeout, lines, f"{what} {label}")
    for part in ("visible", "hidden") if kind != "hidden" else ("hidden",):
        run.died[(label, part)] = why


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass


def _progress(job: Path) -> list[str]:
    """The sandbox's progress lines; a file the answers replaced by a link (or anything but a file) reads as none."""
    try:
        fd = os.open(job / "progress", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # missing, or a symbolic link (ELOOP)
        return []
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return []
        return f.read(1 << 20).decode(errors="replace").splitlines()


def _running(lines: list[str]) -> tuple[str, str] | None:
    """('cell', 'exercise' or 'hidden', label) that started and did not finish, from the progress lines."""
    for line in reversed(lines):
        if line.startswith("done "):
            return None
        if line.startswith(("cell ", "exercise ", "hidden ")):
            kind, label = line.split(" ", 1)
            return kind, label
    return None


def _why(code: int, timeout: float, lines: list[str], what: str) -> str:
    if code == -9 or code == 137:
        return (f"the grading process was stopped while {what}: it did not finish within {timeout:g} s "
                "or ran out of memory")
    if code < 0:
        import signal
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"the grading process crashed ({name}) while {what}"
    return f"the grading process ended (exit code {code}) while {what}"


def _write_new(folder: Path, name: str, value: Any) -> None:
    """``torch.save`` ``value`` to ``folder/name``, a folder the sandbox can write in too: through a file this
    process creates there (``O_EXCL``: never a link or file the sandbox made, which would send the bytes to a file
    of the grader's machine), renamed over ``name`` (a rename replaces a link, never follows it)."""
    import torch
    buffer = io.BytesIO()
    torch.save(value, buffer)
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        while True:
            temp = f".{name}.{os.getpid()}.{secrets.token_hex(8)}"
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder_fd)
                break
            except FileExistsError:  # the sandbox guessed the name first: take another
                continue
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getbuffer())
        os.replace(temp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    finally:
        os.close(folder_fd)


RESULT_BYTES = 256 * 1024 * 1024
"""The largest results file the grader reads from a sandbox."""


def _read_own_file(path: Path) -> bytes | str:
    """The bytes of ``path``, a regular file the sandbox wrote in its own folder, or why they are not read: neither
    ``path`` nor its folder may be a symbolic link (the sandbox's code may replace either with one, pointing at a file
    of the grader's machine), nor a FIFO or device, nor larger than :data:`RESULT_BYTES`."""
    flags = os.O_RDONLY | os.O_NOFOLLOW
    try:
        folder = os.open(path.parent, flags | os.O_DIRECTORY)
        try:
            fd = os.open(path.name, flags | os.O_NONBLOCK, dir_fd=folder)
        finally:
            os.close(folder)
    except OSError as e:
        return f"its results could not be opened ({'a symbolic link' if e.errno == errno.ELOOP else e.strerror})"
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "its results were not a regular file"
        if info.st_size > RESULT_BYTES:
            return "its results were larger than 256 MB"
        return f.read(RESULT_BYTES + 1)


def _load(path: Path) -> Any:
    import torch
    data = _read_own_file(path)
    if isinstance(data, str):
        return {"refused": data, "cases": []}
    if len(data) > RESULT_BYTES:  # grew while it was read
        return {"refused": "its results were larger than 256 MB", "cases": []}
    try:
        result = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as e:  # noqa: BLE001 - what a student's process wrote is not trusted
        return {"refused": f"its results could not be read ({type(e).__name__})", "cases": []}
    return result if isinstance(result, dict) else {"refused": "its results could not be read", "cases": []}


# -- the comparison, in the grader's process --------------------------------------------------------

class _Unsupported(str):
    pass


def decode(x: Any) -> Any:
    """Rebuild a value written by the sandbox; dataclasses only from the package, anything odd as a marker."""
    import numpy as np
    import torch
    if isinstance(x, dict):
        if "__tensor__" in x and isinstance(x["__tensor__"], torch.Tensor):
            return x["__tensor__"]
        if "__ndarray__" in x:
            return x["__ndarray__"].numpy().astype(np.dtype(str(x["dtype"])), copy=False)
        if "__npscalar__" in x:
            return np.dtype(str(x["dtype"])).type(x["__npscalar__"])
        if "__seq__" in x:
            items = [decode(v) for v in x["items"]]
            return tuple(items) if x["__seq__"] == "tuple" else items
        if "__dict__" in x:
            return {k: decode(v) for k, v in x["__dict__"].items()}
        if "__dataclass__" in x:
            module, _, qualname = str(x["__dataclass__"]).partition(":")
            if module.startswith("infogan_tutorial.") and "exercises" not in module:
                cls = getattr(importlib.import_module(module), qualname, None)
                if dataclasses.is_dataclass(cls):
                    fields = {k: decode(v) for k, v in x["fields"].items()}
                    try:
                        return cls(**fields)
                    except Exception:  # noqa: BLE001
                        return _Unsupported(f"a {qualname} that could not be rebuilt")
            return _Unsupported(f"a value of type {module}.{qualname}")
        if "__unsupported__" in x:
            return _Unsupported(str(x["__unsupported__"]))
    return x


def _gradient_problem(exercise: Any, got_grads: list | None, leaves: list, want_grads: list | None) -> str | None:
    from infogan_tutorial.exercises.engine import gradient_problem
    return gradient_problem(exercise, got_grads, leaves, want_grads)


def _probed(exercise: Any, got: Any, case: Any) -> Any:
    """The exercise's probe applied to a value the sandbox returned (a probe it ran there: the value as is)."""
    if ".".join(_qualified(exercise.probe)) in SANDBOX_PROBES:
        return got
    return exercise.probe(lambda *args: got, case.make())


HIDDEN_FAILED = ("what went wrong stays hidden: an error, a wrong value, type, shape or gradient, a loop that does "
                 "not end and a broken rule all read alike here, so that feedback cannot carry a hidden case's inputs "
                 "out. Make it pass the visible cases first, then try it on inputs like this case's")
"""What feedback says of any problem on a hidden case. One text for every kind: the student's code chooses which
problem it has (it can raise, hang or return a wrong value depending on the inputs it holds), so a message per kind,
an exception's type or the line it was raised on would let a submission spell out the hidden arguments."""


_NUMBER = re.compile(r"(?<![\w.])[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(?![\w.])|\b(one|two|three|four|five|six|"
                     r"seven|eight|nine|ten|eleven|twelve)\b", re.IGNORECASE)


_CODE_NAME = re.compile(r"\b[cz]\d+\b")  # a code's name (c2, z17) carries its index
_PLURAL = re.compile(r"\b(image|row|code|categor(?:y|ies)|item|value|label|column|digit|step)s?\b")


def _hidden_name(case: Any) -> str:
    """A hidden case's name as feedback shows it: its kind, every number and code name masked and every count
    word in one form ("codes (…, …) and … code(s) on (…, …)", not "one code"), so that feedback over several
    submissions cannot rebuild the case's arguments."""
    name = _CODE_NAME.sub("c…", _NUMBER.sub("…", case.name))
    return _PLURAL.sub(lambda m: ("categor" if m.group(1).startswith("categor") else m.group(1)) +
                       ("(ies)" if m.group(1).startswith("categor") else "(s)"), name)


def _hidden_failed(name: str, case: Any) -> str:
    """The grader's one message for a problem on a hidden case (see :data:`HIDDEN_FAILED`)."""
    return f"{name} fails a hidden case ({_hidden_name(case)}); {HIDDEN_FAILED}."


def _scrub(message: str, extra: tuple[str, ...] = ()) -> str:
    """A message from the sandbox, with the grader's paths (its Python, this repository, the sandbox's folder)
    replaced: with namespaces the sandbox sees nothing else of the grader's machine."""
    places = {str(Path(sys.prefix)): "<python>", str(Path(sys.base_prefix)): "<python>",
              str(Path(sys.executable).resolve().parent.parent): "<python>", str(ROOT): "<grader>",
              tempfile.gettempdir() + "/infogan-grading-": "<sandbox>/", "/job/": "<sandbox>/",
              **{p: "<grader>" for p in extra}}
    for path in sorted(places, key=len, reverse=True):
        if len(path) > 1:
            message = message.replace(path, places[path])
    return message


def verdict(item: Item, part: str, result: dict | None, died: str | None, only: int | None = None,
            visible: dict | None = None) -> tuple[bool, str]:
    """(passed, message) for the visible or hidden cases of one exercise (``only``: that case alone), from the
    sandbox's result for those cases. A message about a hidden case is the grader's one text,
    :data:`HIDDEN_FAILED` (``visible``: the visible cases' result, whose refusal it repeats)."""
    from infogan_tutorial.exercises.compare import difference, same
    from infogan_tutorial.exercises.engine import _explain, _gradients, _prepare
    name, exercise = item.function, item.exercise
    if result is None:
        if part == "hidden":  # how it died (a hang, an exit) is the student's choice too
            return False, f"{name} fails the hidden cases; {HIDDEN_FAILED}."
        return False, f"{name} could not be checked: {died or 'the grading process gave no result'}."
    if result.get("refused"):
        if part == "hidden":
            said = (visible or {}).get("refused")
            return False, _scrub(str(said))[:2000] if said else f"{name} could not be checked on the hidden cases."
        return False, _scrub(str(result["refused"]))[:2000]
    cases = item.cases[part]
    records = list(result.get("cases", []))
    if len(records) != len(cases):
        return False, f"{name} could not be checked: the grading process gave no result for some cases."

    def got_of(record: Any) -> Any:
        return decode(record.get("got")) if isinstance(record, dict) else None

    def probed(record: Any, case: Any) -> Any:
        got = got_of(record)
        return got if isinstance(got, _Unsupported) else _probed(exercise, got, case)

    for i, (case, record) in enumerate(zip(cases, records)):
        if only is not None and i != only:
            continue
        if not isinstance(record, dict):
            return False, f"{name} could not be checked on {case.name}."
        if record.get("problem"):
            problem = str(record["problem"])[:2000]
            if part == "hidden":
                return False, _hidden_failed(name, case)
            if " raised NameError " in problem:
                problem += (" (Only the answer cells are graded: an import or a helper it needs must be in the "
                            "function's own cell.)")
            return False, _scrub(problem)
        got = got_of(record)
        if isinstance(got, _Unsupported):
            if part == "hidden":
                return False, _hidden_failed(name, case)
            return False, _scrub(f"{name}: on {case.name}: it returned {got}, which is not an answer to this "
                                 "exercise.")
        got = _probed(exercise, got, case)
        args = case.make()
        leaves = _prepare(exercise, args)
        want = exercise.probe(exercise.reference, args)
        want_grads = _gradients(want, leaves)
        if not same(got, want, dtypes=False):
            def elsewhere(current: int = i) -> list:
                return [(c, probed(r, c)) for j, (c, r) in enumerate(zip(cases, records))
                        if j != current and isinstance(r, dict) and not r.get("problem")]
            if part == "hidden":  # what the answer should have been stays with the grader
                return False, _hidden_failed(name, case)
            return False, f"{name}: {_explain(got, case.make(), exercise, case, want, elsewhere)}"
        grads = record.get("grads")
        problem = difference(got, want) or _gradient_problem(exercise, grads, leaves, want_grads)
        if problem and part == "hidden":
            return False, _hidden_failed(name, case)
        if problem:
            return False, f"{name}: on {case.name}: {problem}"
    return True, f"{name} is correct on all {len(cases)} {'hidden ' if part == 'hidden' else ''}test cases."


def specs_of(items: list[Item], answers: dict[str, str]) -> list[dict]:
    """What the sandbox needs per exercise: the function, the visible cases' arguments, the watch; no expected
    value. The hidden cases' arguments: ``hidden_of``, given to the sandbox only after its visible results."""
    specs = []
    for item in items:
        ex = item.exercise
        probe = SANDBOX_PROBES.get(".".join(_qualified(ex.probe)), "call")
        specs.append({"label": item.label, "function": item.function, "has_answer": item.label in answers,
                      "probe": probe, "arg_names": tuple(ex.arg_names), "gradients": ex.gradients,
                      "grad_args": tuple(ex.grad_args),
                      "forbidden": [(*_qualified(f), label) for f, label in ex.forbidden.items()],
                      "cases": [(c.name, c.make()) for c in item.cases["visible"]]})
    return specs


def hidden_of(items: list[Item]) -> dict[str, list]:
    return {item.label: [(c.name, c.make()) for c in item.cases["hidden"]] for item in items}


SUSPICIOUS = frozenset({
    "setprofile", "settrace", "getprofile", "gettrace", "_getframe", "f_back", "f_locals", "f_globals", "__code__",
    "co_filename", "__globals__", "__builtins__", "builtins", "gc", "ctypes", "_exit", "reload", "importlib",
    "inspect", "signal", "setitimer", "threading", "_thread", "multiprocessing", "subprocess", "system", "socket",
    "exec", "eval", "compile", "__import__", "globals", "modules", "open", "Path", "listdir", "glob", "walk",
    "environ", "pickle", "setattr", "delattr", "__dict__", "__class__", "__subclasses__",
    "marshal", "base64", "b64decode", "b85decode", "zlib", "lzma", "bz2", "codecs", "FunctionType", "CodeType",
    "__self__", "vars", "symlink", "mkfifo", "rename", "co_code", "__defaults__", "__kwdefaults__",
    "exercises", "guards", "engine", "probes",  # the checkers' own modules, which run beside the answer
    "attrgetter", "methodcaller", "resolve_name", "pkgutil", "__getattribute__",  # attribute access by a string
    "unittest", "mock", "timeit", "runpy", "fromhex",  # patching by a dotted string; code run from a string; tables
})
"""Names that answer code rarely needs and tampering does: a submission using one is flagged for review."""
OWN_ATTRIBUTES = frozenset({"grad", "requires_grad", "data"})
"""Attributes an honest answer may set on its own tensors (``x.requires_grad = True``); any other attribute it
sets (``torch.Tensor.backward = f``, ``guards.changed = f``, ``D.body = copy``) is flagged for review."""
LOOKUPS = frozenset({"getattr", "vars", "globals", "locals", "__import__", "import_module", "resolve_name",
                     "attrgetter"})
"""Calls that return an existing module or object rather than make one: a name bound to what they return is not the
answer's own object (``g = getattr(ex, 'guards'); g.changed = f`` is flagged)."""


def _called(call: ast.Call) -> str:
    """The name a call calls: ``getattr`` for ``getattr(x, 'y')``, ``import_module`` for ``importlib.import_module(...)``
    and for ``attrgetter('a')(x)`` (the call of a call counts as its inner function's)."""
    func = call.func
    while isinstance(func, ast.Call):
        func = func.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


BARE_ONLY = frozenset({"eval", "exec", "compile", "open", "Path"})
"""Of :data:`SUSPICIOUS`, the names flagged only when used bare: as an attribute they are ordinary (``D.eval()``,
``torch.compile``, ``Image.open``); ``modules`` is flagged as ``sys.modules`` only, not ``D.modules()``."""
NUMBER_IN_TEXT = re.compile(r"\d+\.\d+")
"""A decimal number written inside a string (``'3.6888794541139367;...'``): counted towards :data:`TABLE_NUMBERS`."""
LONG_LITERAL = 2000
"""A string or bytes literal longer than this in an answer (stored tables, code) is flagged for review too."""
TABLE_NUMBERS = 30
"""An answer cell writing more numbers than this (a table of the visible cases' answers) is flagged for review: the
honest answers of three blind students wrote at most 14 per function, the book's at most 5 (December 2026); the
seventh cheating instructor's tables held 44 to 14,603."""


PACKAGE_ANSWERS = ("objectives.py", "evaluation.py", "latent_codes.py", "mutual_information.py")
"""The package's own modules that implement what the exercises ask for: compared like the answer key."""


@functools.lru_cache(maxsize=1)
def answer_key() -> Key:
    """The checkers' answer key (:data:`ANSWER_KEY`) and the package's modules that implement what the exercises ask
    for (:data:`PACKAGE_ANSWERS`), to flag a copy of one of their functions in an answer."""
    import infogan_tutorial
    import infogan_tutorial.exercises as exercises
    return Key([*(("the answer key's", Path(exercises.__file__).parent / name) for name in ANSWER_KEY),
                *(("the package's", Path(infogan_tutorial.__file__).parent / name) for name in PACKAGE_ANSWERS)])


def review_flags(answers: dict[str, str], key: Key | None = None) -> list[str]:
    """'name (cell, line N)' for each suspicious name an answer cell uses, and each function that is a copy of one
    of the answer key's, exact up to names and docstrings or reworded (``course_similarity``); not a verdict: for
    the instructor."""
    flags, key = [], key or answer_key()
    for label, source in answers.items():
        tree = parse(source)
        if tree is None:
            continue
        numbers_written = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Constant)
                              and isinstance(n.value, (int, float, complex)) and not isinstance(n.value, bool))
        numbers_written += sum(len(NUMBER_IN_TEXT.findall(n.value)) for n in ast.walk(tree)  # a table kept as text
                               if isinstance(n, ast.Constant) and isinstance(n.value, str))
        if numbers_written > TABLE_NUMBERS:
            flags.append(f"a table of {numbers_written:,} numbers ({label})")
        local_objects = {t.id for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign))  # made here
                         for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)
                         and isinstance(n.value, ast.Call) and _called(n.value) not in LOOKUPS}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                copy = key.copy_of(node)
                if copy:
                    flags.append(f"{node.name} is {copy} ({label}, line {node.lineno})")
            names = []
            if isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [] if node.attr in BARE_ONLY or node.attr == "modules" and not (
                    isinstance(node.value, ast.Name) and node.value.id == "sys") else [node.attr]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):  # every part: infogan_tutorial.exercises.guards
                names = [part for a in node.names for part in a.name.split(".")] + (
                    node.module.split(".") if getattr(node, "module", None) else [])
            flags += [f"{n} ({label}, line {node.lineno})" for n in names if n in SUSPICIOUS]
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in (t for t in targets for t in ast.walk(t) if isinstance(t, (ast.Attribute, ast.Subscript))
                               and isinstance(t.ctx, (ast.Store, ast.Del))):
                    root = target.value
                    while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                        root = root.value if not isinstance(root, ast.Call) else root.func
                    if isinstance(target, ast.Subscript):  # f(...)[key] = value: an entry of what a call returned
                        if isinstance(target.value, ast.Call):
                            flags.append(f"sets an entry of {ast.unparse(target.value)[:60]} ({label}, line "
                                         f"{node.lineno}): an answer changes no namespace it looked up")
                        continue
                    own = isinstance(root, ast.Name) and (root.id == "self" or root.id in local_objects)
                    if not own and target.attr not in OWN_ATTRIBUTES:
                        flags.append(f"sets {ast.unparse(target)} ({label}, line {node.lineno}): an answer "
                                     "changes no attribute of a module, class or argument")
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and len(node.value) > LONG_LITERAL:
                flags.append(f"a literal of {len(node.value):,} characters ({label}, line {node.lineno})")
    return list(dict.fromkeys(flags))


def alike_flags(submissions: Path, students: list[str], assignment: str, name: str, items: list[Item],
                source: dict) -> dict[str, list[str]]:
    """Student -> review flags for answers that are alike (``course_similarity``): each pair of the students'
    submissions of ``assignment`` in ``submissions``, and each submission against the course's worked solutions
    (the answers in the public book's full edition)."""
    answers = {}
    for student in students:
        path, _ = find_notebook(submissions / student / assignment, name) if (
            submissions / student / assignment).is_dir() else (None, None)
        try:
            answers[student] = answers_of(json.loads(path.read_text(encoding="utf8")), items)[0] if path else {}
        except Exception:  # noqa: BLE001 - unreadable (even a JSON nested past Python's recursion limit): its grading
            answers[student] = {}  # reports it; the comparison goes on without it
    return alike_submissions(answers, answers_of(source, items)[0],
                             "the course's worked solutions (the book's full edition)")


def _calls(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(tree))


def _fraction(item: Item, part: str, result: dict | None, died: str | None, **kw: Any) -> float:
    """The share of the part's cases the answer gets right, each case judged alone (partial credit)."""
    n = len(item.cases[part])
    return sum(verdict(item, part, result, died, only=i, **kw)[0] for i in range(n)) / n if n else 0.0


def grade_notebook(nb: dict, items: list[Item], setup: list[str], *, timeout: float, memory_mb: int,
                   check_time: float, partial: bool = False, budget: float = math.inf) -> dict:
    """Grade one submitted notebook: {"score", "max_score", "exercises": [...], "notes": [...], "sandbox"};
    ``budget``: seconds of grading for the whole notebook (see :func:`run_sandbox`)."""
    answers, notes = answers_of(nb, items)
    run = run_sandbox(setup, answers, specs_of(items, answers), timeout, memory_mb, check_time, hidden_of(items),
                      budget)
    rows, failed = [], set()
    for item in items:
        tests = []
        for part, points in zip(("visible", "hidden"), item.points):
            result = getattr(run, part).get(item.label)
            died = None if result is not None else run.died.get((item.label, part))
            if died and part == "visible" and f"{item.function}: {died}" not in notes:
                notes.append(f"{item.function}: {died}")
            kw = {"visible": run.visible.get(item.label)}
            share = 0.0
            try:
                passed, message = verdict(item, part, result, died, **kw)
                share = 1.0 if passed else _fraction(item, part, result, died, **kw) if partial else 0.0
            except Exception as e:  # noqa: BLE001 - a result the grader cannot compare is a wrong answer
                passed, message = False, (f"{item.function}: its result could not be compared ({type(e).__name__}"
                                          + ("" if part == "hidden" else f": {_scrub(str(e))[:300]}") + ")")
            if partial and not passed:
                message += f" (right on {share:.0%} of these cases)"
            tests.append({"part": part, "passed": passed, "points": round(points * share, 3), "max": points,
                          "message": message})
        if not all(t["passed"] for t in tests):
            blame = [other for other in failed if _calls(answers.get(item.label, ""), other)]
            if blame:
                tests[-1]["message"] += (f" (It calls your {', '.join(sorted(blame))}, which failed its own check: "
                                         "fix that first.)")
            failed.add(item.function)
        rows.append({"label": item.label, "function": item.function, "tests": tests})
    score = sum(t["points"] for r in rows for t in r["tests"])
    return {"score": score, "max_score": sum(sum(i.points) for i in items), "exercises": rows, "notes": notes,
            "review": review_flags(answers) + list(dict.fromkeys(run.flags)),
            "sandbox": "namespaces" if run.jailed else "none (no user namespaces here)", "sandboxes": run.sandboxes,
            "log": run.log}


# -- feedback and grades ----------------------------------------------------------------------------

def feedback_html(student: str, assignment: str, result: dict) -> str:
    """The feedback page: each exercise's two tests, passed or what is wrong; never a test's source."""
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(assignment)}: {esc(student)}</title>",
             ("<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}.ok{color:#176b1d}"
              ".no{color:#a3111a}li{margin:.4em 0}</style></head><body>"),
             f"<h1>{esc(assignment)}: {esc(student)}</h1>"]
    if result.get("status") != "graded":
        parts.append(f"<p>Not graded: {esc(result.get('reason', ''))}</p>")
    else:
        parts.append(f"<p>Score: {result['score']:g} / {result['max_score']:g}</p>")
        for note in result.get("notes", []):
            parts.append(f"<p><em>{esc(note)}</em></p>")
        for row in result["exercises"]:
            parts.append(f"<h2>{esc(row['function'])}</h2><ul>")
            for t in row["tests"]:
                cls, mark = ("ok", "✓") if t["passed"] else ("no", "✗")
                what = "the notebook's check" if t["part"] == "visible" else "more cases (hidden)"
                parts.append(f"<li class='{cls}'>{mark} {esc(what)} ({t['points']:g}/{t['max']:g}): "
                             f"{esc(t['message'])}</li>")
            parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def late_penalty(folder: Path, result: dict, due: Any, per_day: float, released: Any = None) -> None:
    """Apply the late penalty to a graded result: ``per_day`` of the maximum score for each started day after
    ``due`` (an aware datetime), from the submission's nbgrader ``timestamp.txt``; noted in the result. The
    stamp is written by the student's nbgrader client: a missing or unreadable one grades as on time and is
    flagged for review, never an error that leaves the grade empty; so is one dated before ``released`` (when the
    assignment was released, an aware datetime) or after the grading, which no client writes."""
    import datetime as dt
    import math
    stamp = folder / "timestamp.txt"
    review = result.setdefault("review", [])
    if not stamp.is_file():
        result["notes"].append("no timestamp.txt: graded as on time")
        review.append("no timestamp.txt (graded as on time)")
        return
    from nbgrader.utils import parse_utc
    text = stamp.read_text(errors="replace").strip()
    try:
        when = parse_utc(text).replace(tzinfo=dt.timezone.utc)
    except Exception:  # noqa: BLE001 - dateutil's errors vary; any unreadable stamp is one case
        result["notes"].append("timestamp.txt is unreadable: graded as on time")
        review.append(f"unreadable timestamp.txt {text[:40]!r} (graded as on time)")
        return
    now = dt.datetime.now(dt.timezone.utc)
    if when > now + dt.timedelta(hours=1):
        review.append(f"timestamp.txt lies in the future ({when:%Y-%m-%d %H:%M} UTC): check it against the exchange")
    elif released is not None and when < released - dt.timedelta(hours=1):
        review.append(f"timestamp.txt ({when:%Y-%m-%d %H:%M} UTC) is before the assignment was released "
                      f"({released.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC): check it against the exchange")
    late = when - due
    if late.total_seconds() <= 0:
        return
    days = math.ceil(late.total_seconds() / 86400)
    deduction = min(result["score"], per_day * days * result["max_score"])
    result["score"] = round(result["score"] - deduction, 3)
    result["late"] = {"submitted": when.isoformat(), "due": due.isoformat(), "days": days, "deduction": deduction}
    due_utc = due.astimezone(dt.timezone.utc)  # a deadline given with an offset is shown in UTC, as the stamp is
    result["notes"].append(f"handed in {days} day(s) late ({when:%Y-%m-%d %H:%M} UTC, due {due_utc:%Y-%m-%d %H:%M} UTC): "
                           f"-{deduction:g} points")


def write_grades(course: Path, assignments: list[str]) -> tuple[Path, Path]:
    """COURSE/grades.csv (one row per student and assignment: ``raw_score`` before a late penalty, ``score`` after it)
    and COURSE/grades_lms.csv (one row per student, the scores after the penalty)."""
    results = {}
    for path in sorted((course / "results").glob("*/*.json")):
        results[(path.parent.name, path.stem)] = json.loads(path.read_text())
    students = sorted({s for s, _ in results})
    maxima = {a: max((r.get("max_score", 0) for (_, b), r in results.items() if b == a), default=0) for a in assignments}
    long_path, lms_path = course / "grades.csv", course / "grades_lms.csv"
    with long_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["assignment", "student_id", "raw_score", "max_score", "status", "late_days", "late_deduction",
                    "score", "review", "reason"])
        for student in students:
            for a in assignments:
                r = results.get((student, a))
                if r is None:
                    continue
                graded, late = r["status"] == "graded", r.get("late", {})
                w.writerow([a, student, f"{r['score'] + late.get('deduction', 0):g}" if graded else "",
                            f"{r.get('max_score', 0):g}", r["status"], late.get("days", ""),
                            f"{late['deduction']:g}" if late else "", f"{r['score']:g}" if graded else "",
                            "; ".join(r.get("review", [])), r.get("reason", "")])
    with lms_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", *assignments, "total", "max_total"])
        for student in students:
            scores = [results.get((student, a)) for a in assignments]
            cells = ["" if r is None or r["status"] != "graded" else f"{r['score']:g}" for r in scores]
            total = sum(r["score"] for r in scores if r and r["status"] == "graded")
            top = sum(maxima.values())  # every assignment counts, also one this student has no row for yet
            w.writerow([student, *cells, f"{total:g}", f"{top:g}"])
    return long_path, lms_path
