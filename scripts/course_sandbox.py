"""The half of grading that runs a student's code: inside the sandbox, never trusted by the grader.

``course_grading.py`` copies this file, a copy of the package without the checkers' answer key
(``exercises/foundations.py``, ``experiments.py``, ``inputs.py``) and without the functions the graded
exercises forbid (their bodies replaced by a ``raise``), and ``job.pt`` (the answer cells' source, the
import cells of the released notebook and the arguments of the *visible* cases; no expected value, no
hidden-test source) into a fresh folder and runs

    python course_sandbox.py jail JOB KEEP... --hide PATH...
                                    # in new user, mount, pid and network namespaces: a new root with
                                    # the system, Python (KEEP) and JOB only (an installed package in
                                    # KEEP hidden), then `run` in a nested user namespace
    python course_sandbox.py run JOB            # where namespaces are not available

``run`` executes the import cells, then each answer cell, then calls each answer function on its
visible cases (under the checkers' own watch: time, forbidden calls, edits of the inputs, the global
RNG) and writes what it returned to ``JOB/out/<exercise>.pt`` as plain tensors and containers, which
the grader loads with ``torch.load(weights_only=True)`` and compares with its own references. Then it
marks ``visible done`` and waits for ``JOB/hidden.pt``, which the grader writes only once it has taken
the visible results: the arguments of the hidden cases never exist in the process whose messages the
student reads in full. Their results go to ``JOB/out/<exercise>.hidden.pt``.
Everything written here is the student's claim: a student who forges it only states answers,
which the grader checks. ``JOB/progress`` says which cell or exercise is running, so that the
grader can name the one that killed the process and carry on without it.
"""

from __future__ import annotations

import dataclasses
import linecache
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path


def _mark(job: Path, line: str) -> None:
    with open(job / "progress", "a", encoding="utf8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def _sh(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"sandbox: {' '.join(cmd)} failed: {done.stderr.strip()}")


ETC = tuple(f"etc/{name}" for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
                                        "nsswitch.conf", "hosts", "alternatives", "fonts", "ssl/certs"))
"""What the sandbox sees of /etc: what the dynamic linker, Python and its libraries read; no secrets."""


def jail(job: Path, keep: list[str], hide: list[str]) -> None:
    """Stage 1, as root of new user, mount, pid and network namespaces: a new root that holds only the
    system's folders (read-only), the Python installation (``keep``) and ``job``; the old root is
    detached, so nothing else (the course, the book, other students, hidden tests) exists any more.
    Then stage 2 runs one user namespace down, where these mounts are locked."""
    root = job.parent / "root"
    root.mkdir(exist_ok=True)
    _sh("mount", "--make-rprivate", "/")
    _sh("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(root))
    (root / "tmp").mkdir()  # first: a kept folder may live under /tmp (a clone in /tmp and its .venv)
    _sh("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(root / "tmp"))
    for name in ("usr", "bin", "sbin", "lib", "lib64", "lib32", "dev", *keep, *ETC):
        src = Path("/") / name
        if not os.path.lexists(src):
            continue
        dst = root / str(src).lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink() and src.parent == Path("/"):
            dst.symlink_to(os.readlink(src))
            continue
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            dst.touch()
        _sh("mount", "--rbind", str(src), str(dst))
        if name != "dev":
            _sh("mount", "-o", "remount,bind,ro", str(dst))
    _sh("mount", "-o", "remount,bind,ro", str(root / "dev"))  # device nodes work; no new files in /dev
    for shared in ("dev/shm", "dev/mqueue"):  # the host's shared memory: a private, empty one instead
        if (root / shared).is_dir():
            _sh("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(root / shared))
    for path in hide:  # an installed copy of the package inside a kept folder: its answer key stays out
        if (root / path.lstrip("/")).is_dir():
            _sh("mount", "-t", "tmpfs", "-o", "size=64k,mode=555", "tmpfs", str(root / path.lstrip("/")))
    for name in ("job", "proc", ".old"):
        (root / name).mkdir(exist_ok=True)
    _sh("mount", "--bind", str(job), str(root / "job"))
    os.chdir(root)
    _sh("pivot_root", ".", ".old")
    os.chdir("/")
    _sh("mount", "-t", "proc", "proc", "/proc")
    _sh("umount", "-l", "/.old")
    os.rmdir("/.old")
    _mark(Path("/job"), "jailed")
    os.execvp("unshare", ["unshare", "--user", "--map-root-user", "--mount", sys.executable,
                          "/job/course_sandbox.py", "run", "/job"])


def _encode(x, depth: int = 0):
    """What the student's function returned, as tensors, numbers, strings and containers only."""
    import numpy as np
    import torch
    if depth > 20:
        return {"__unsupported__": "a value nested too deeply"}
    if isinstance(x, torch.Tensor):
        return {"__tensor__": x.detach().cpu().as_subclass(torch.Tensor).clone()}
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return {"__unsupported__": "a NumPy array of Python objects"}
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(x).copy()), "dtype": x.dtype.str}
    if isinstance(x, np.generic):
        return {"__npscalar__": x.item(), "dtype": x.dtype.str}
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) in (list, tuple) or type(x).__qualname__ == "Parts" and type(x).__module__ == COMPARE:
        return {"__seq__": "list" if type(x) is list else "tuple", "items": [_encode(v, depth + 1) for v in x]}
    if type(x) is dict and all(type(k) is str for k in x):
        return {"__dict__": {k: _encode(v, depth + 1) for k, v in x.items()}}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        cls = type(x)
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: _encode(getattr(x, f.name), depth + 1) for f in dataclasses.fields(x)}}
    return {"__unsupported__": f"a value of type {type(x).__module__}.{type(x).__qualname__}"}


COMPARE = "infogan_tutorial.exercises.compare"
"""The module of ``Parts``, the named tuple a probe returns (the control's loss and where its gradient went)."""


def _call(fn, args):
    return fn(*args)


CHECKER_MODULES = ("compare", "guards", "engine", "probes")
"""The modules of ``infogan_tutorial.exercises`` that watch an answer (in the order they import each other)."""


def _private_checkers() -> dict:
    """Private copies of :data:`CHECKER_MODULES`, loaded before any answer cell runs and held only by ``run``'s frame.

    Each is executed from its file as a new module object that is not in ``sys.modules``, and every name it took
    from an earlier one (``engine``'s ``same_rng``, ``changed``, ``CallWatch``...) is bound to that module's private
    copy: an answer cell that replaces ``infogan_tutorial.exercises.engine.same_rng`` (by assignment or
    ``mock.patch`` with a dotted string) changes the public module only, never the functions that watch it."""
    import importlib.util
    public, private = {}, {}
    for name in CHECKER_MODULES:
        full = f"infogan_tutorial.exercises.{name}"
        public[name] = importlib.import_module(full)
        spec = importlib.util.find_spec(full)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for attr, value in list(vars(module).items()):
            for earlier, copy in private.items():
                if getattr(public[earlier], attr, None) is value and hasattr(copy, attr):
                    setattr(module, attr, getattr(copy, attr))
        private[name] = module
    return private


def _probes(checkers: dict) -> dict:
    """The probes by name, as function objects of the private checkers (:func:`_private_checkers`): nothing the
    answer cells can reach (``__main__``'s globals, ``sys.modules``) changes which function a probe is. The
    control's and the traversal's probes are shared with their checkers (``exercises.probes``, no answer)."""
    probes = checkers["probes"]
    return {"call": _call, "gradient_flow": probes.gradient_flow,
            "traversal_shares_no_memory": probes.traversal_shares_no_memory}


def _resolve(module: str, qualname: str):
    import importlib
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _exercise(job: Path, spec: dict, cases: list, ns: dict, cell_error: str | None, phase: str,
              probes: dict, checkers: dict) -> dict:
    """Call the student's function on the cases of one exercise: {"refused": str|None, "cases": [...]}, watched by
    the private checkers (:func:`_private_checkers`)."""
    import torch

    engine = checkers["engine"]
    Case, Exercise, _gradients, _prepare, _run = engine.Case, engine.Exercise, engine._gradients, engine._prepare, \
        engine._run
    defined_in_package = checkers["guards"].defined_in_package

    name = spec["function"]
    fn = ns.get(name)
    if not callable(fn):
        why = (f"the answer cell raised {cell_error}" if cell_error else
               "no answer cell defines it" if not spec["has_answer"] else "the answer cell does not define it")
        return {"refused": f"{name} is not defined ({why}).", "cases": []}
    key = defined_in_package(fn)
    if key:
        return {"refused": f"{name} is the package's own {key}, part of the checker's answer key: "
                           "write the function yourself.", "cases": []}
    forbidden = {}
    for module, qualname, label in spec["forbidden"]:
        try:
            forbidden[_resolve(module, qualname)] = label
        except Exception:  # noqa: BLE001, S112 - a function the sandbox's copy does not have
            continue
    exercise = Exercise(reference=_call, cases=[], probe=probes[spec["probe"]], arg_names=spec["arg_names"],
                        forbidden=forbidden, gradients=spec["gradients"], grad_args=spec["grad_args"])
    records = []
    for i, (case_name, args) in enumerate(cases):
        _mark(job, f"case {phase} {spec['label']} {i}")
        case = Case(case_name, lambda args=args: args)
        leaves = _prepare(exercise, args)
        got, problem = _run(fn, exercise, case, args, name, answer_key_ok=False)
        grads = None
        if problem is None:
            try:
                grads = _gradients(got, leaves)
            except Exception as e:  # noqa: BLE001
                problem = f"{name}: on {case_name}: its result's gradient could not be computed: {type(e).__name__}: {e}"
        records.append({"problem": problem, "got": None if problem else _encode(got),
                        "grads": None if grads is None else [g.detach().cpu().as_subclass(torch.Tensor).clone()
                                                             for g in grads]})
    return {"refused": None, "cases": records}


def run(job: Path) -> None:
    """Stage 2: the import cells, the answer cells, then each exercise's cases; results to ``job/out``."""
    import torch
    spec = torch.load(job / "job.pt", weights_only=False)
    checkers = _private_checkers()  # before any answer cell runs
    probes = _probes(checkers)
    (job / "out").mkdir(exist_ok=True)
    ns: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    errors: dict[str, str] = {}

    def execute(label: str, source: str) -> str | None:
        # IPython's magics and shell escapes (%timeit, !pip) mean nothing here: left out, as comments
        source = "\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        filename = f"<answer cell {label}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        try:
            exec(compile(source, filename, "exec"), ns)  # noqa: S102 - the sandbox's purpose
        except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
            traceback.print_exc()
            return f"{type(e).__name__}: {str(e)[:300]}"
        return None

    for i, source in enumerate(spec["setup"]):
        execute(f"setup-{i}", source)
    from infogan_tutorial import _removed  # which removed functions (course_grading._remove) were called
    for label, source in spec["answers"]:
        _mark(job, f"cell {label}")
        error = execute(label, source)
        if error:
            errors[label] = error
        _mark(job, f"done cell {label}")
    cell_hits = list(_removed.HITS)  # a cell that calls one: every exercise may depend on that cell

    def check(ex: dict, cases: list, phase: str, out: Path) -> None:
        _mark(job, f"{phase} {ex['label']}")
        _removed.HITS[:] = []
        try:
            result = _exercise(job, ex, cases, ns, errors.get(ex["label"]), phase, probes, checkers)
        except BaseException as e:  # noqa: BLE001
            result = {"refused": f"{ex['function']} could not be checked: {type(e).__name__}: {str(e)[:300]}",
                      "cases": []}
        result["hits"] = list(dict.fromkeys(str(h) for h in cell_hits + list(_removed.HITS)))
        torch.save(result, out)
        _mark(job, f"done {phase} {ex['label']}")

    for ex in spec["exercises"]:
        if ex["visible"] is not None:
            check(ex, ex["visible"], "exercise", job / "out" / f"{ex['label']}.pt")
    _mark(job, "visible done")
    hidden = job / "hidden.pt"
    while not hidden.exists():  # the grader writes it once it has the visible results (its deadline bounds this)
        time.sleep(0.02)
    cases = torch.load(hidden, weights_only=False)
    for ex in spec["exercises"]:
        if ex["label"] in cases:
            check(ex, cases[ex["label"]], "hidden", job / "out" / f"{ex['label']}.hidden.pt")
    _mark(job, "finished")

if __name__ == "__main__":
    job_dir = Path(sys.argv[2])
    if sys.argv[1] == "jail":
        rest = sys.argv[3:]
        cut = rest.index("--hide") if "--hide" in rest else len(rest)
        jail(job_dir, rest[:cut], rest[cut + 1:])
    else:
        os.chdir(job_dir / "work")
        run(job_dir)
