"""The checking engine: run a student's function on a table of cases and say in plain words what is wrong.

A checker (``check_*`` in :mod:`.foundations` and :mod:`.experiments`) describes an :class:`Exercise`: the
right answer, the cases, the typical mistakes and how to compare. :func:`check_against` runs the student's
function on every case, compares it with the reference and with the answers of the typical mistakes
(softmax before the cross-entropy, a missing H(c), a sum where a mean belongs, ...), prints one line
(✓ or ✗ and an explanation) and returns a :class:`CheckResult`. A wrong answer never raises, so a
notebook keeps running; an autograder calls ``result.raise_if_failed()``.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, Callable, Sequence  # noqa: UP035 - the API page resolves typing's names

import numpy as np
import torch
from torch import Tensor

from ..latent_codes import LatentSpec
from .compare import as_tensor, cut, difference, is_data, same
from .guards import (
    CallWatch,
    CheckTimeout,
    changed,
    defined_in_package,
    live_threads,
    restore_rng,
    restore_torch_state,
    rng_state,
    same_rng,
    settle,
    snapshot,
    stop_threads,
    thread_names,
    time_limit,
    torch_state,
    torch_state_change,
    where_raised,
)

TIME_LIMIT = float(os.environ.get("INFOGAN_CHECK_TIME_LIMIT", "10"))
"""Seconds one call of the student's function may take (``$INFOGAN_CHECK_TIME_LIMIT`` overrides it)."""

# -- results ---------------------------------------------------------------------------------

class ExerciseFailed(AssertionError):
    """Raised by :meth:`CheckResult.raise_if_failed` when an answer is wrong."""


class SideEffect(Exception):
    """Raised by an exercise's ``probe`` when the answer did something besides returning its value
    (a backward() call, zeroed gradients, a result that shares memory with an input); the message says what."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a check: ``passed`` and the explanation shown to the student."""

    passed: bool
    message: str

    def raise_if_failed(self) -> CheckResult:
        """Raise :class:`ExerciseFailed` with the explanation unless the answer passed (for autograders)."""
        if not self.passed:
            raise ExerciseFailed(self.message)
        return self

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.message}"

    def _ipython_display_(self) -> None:
        """Show nothing in a notebook: the checker has already printed the line."""


@dataclass(frozen=True)
class Case:
    """One input with a known answer; ``make()`` builds fresh arguments on every call."""

    name: str
    make: Callable[[], tuple]


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer (a function with the student's signature) and what to tell the student."""

    explanation: str
    answer: Callable[..., Any]


def _call(fn: Callable[..., Any], args: tuple) -> Any:
    return fn(*args)


@dataclass(frozen=True)
class Exercise:
    """What a checker needs: the right answer, the cases, the typical mistakes and how to compare.

    ``probe(fn, args)`` turns a function and a case's arguments into what is compared (by default
    the return value); ``diagnose(answer, args)`` may explain a wrong answer no known mistake matches.
    ``arg_names`` name the arguments in messages. ``forbidden`` maps package functions the exercise
    asks the student not to call to how a message names them. ``gradients`` is "none", "present"
    (a returned tensor that carries a gradient must carry the right one) or "required" (a loss: the
    result must carry the right gradient to the float inputs of the arguments named in ``grad_args``).
    """

    reference: Callable[..., Any]
    cases: Sequence[Case]
    mistakes: Sequence[Mistake] = ()
    probe: Callable[[Callable[..., Any], tuple], Any] = _call
    diagnose: Callable[[Any, tuple], str | None] | None = None
    arg_names: Sequence[str] = ()
    forbidden: dict[Callable[..., Any], str] = field(default_factory=dict)
    gradients: str = "none"
    grad_args: Sequence[str] = ()


def module_functions(module: Any) -> dict[Callable[..., Any], str]:
    """Every function defined in ``module``, its private helpers too (``_xlogx``), named as a message names it
    ("the package's mutual_information.entropy"): for an exercise that forbids a whole module."""
    short = module.__name__.rsplit(".", 1)[-1]
    return {fn: f"the package's {short}.{name}" for name, fn in vars(module).items()
            if callable(fn) and not name.startswith("__") and getattr(fn, "__module__", None) == module.__name__
            and not isinstance(fn, type)}


def with_cases(exercise: Exercise, cases: Sequence[Case] | None) -> Exercise:
    """``exercise`` with its cases replaced by ``cases`` (an autograder's hidden cases), unless None."""
    return exercise if cases is None else replace(exercise, cases=list(cases))


def _make(case: Case) -> tuple:
    """The case's arguments, each spec a copy of its own: an answer that edits its spec (object.__setattr__
    on the frozen dataclass) cannot change a spec the checker shares between cases, or the book's own."""
    return tuple(copy.copy(a) if isinstance(a, LatentSpec) else a for a in case.make())


def _report(passed: bool, message: str, graded: bool) -> CheckResult:
    result = CheckResult(passed, message)
    print(result)
    return result.raise_if_failed() if graded else result


def _float_leaves(x: Any, where: str) -> list[tuple[str, Tensor]]:
    """The float tensors among the arguments that can take a gradient, with the names a message uses."""
    if isinstance(x, Tensor):
        return [(where, x)] if x.is_floating_point() and x.is_leaf else []
    if is_dataclass(x) and not isinstance(x, type):
        return [leaf for f in fields(x) for leaf in _float_leaves(getattr(x, f.name), f"{where}.{f.name}")]
    if isinstance(x, (list, tuple)):
        return [leaf for i, v in enumerate(x) for leaf in _float_leaves(v, f"{where}[{i}]")]
    return []


def _names(exercise: Exercise, args: tuple) -> list[str]:
    return [exercise.arg_names[i] if i < len(exercise.arg_names) else f"argument {i + 1}" for i in range(len(args))]


def _prepare(exercise: Exercise, args: tuple) -> list[tuple[str, Tensor]]:
    """Let the float inputs take a gradient when the exercise checks gradients; return them by name."""
    if exercise.gradients == "none":
        return []
    leaves = [leaf for name, a in zip(_names(exercise, args), args) if name in exercise.grad_args
              for leaf in _float_leaves(a, name)]
    for _, t in leaves:
        t.requires_grad_(True)
    return leaves


def _stored_grads(exercise: Exercise, args: tuple) -> list[tuple[str, Tensor, Tensor | None]]:
    """The arguments' float tensors with a copy of their .grad, by name (for a loss: to see a backward() inside)."""
    if exercise.gradients == "none":
        return []
    return [(n, t, None if t.grad is None else t.grad.detach().clone())
            for name, a in zip(_names(exercise, args), args) for n, t in _float_leaves(a, name)]


def _same_grad(a: Tensor | None, b: Tensor | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))


def _gradients(out: Any, leaves: list[tuple[str, Tensor]]) -> list[Tensor] | None:
    """d(sum of out)/d(each leaf), zeros where none flows; None when ``out`` carries no gradient."""
    if not isinstance(out, Tensor) or not out.requires_grad or not leaves:
        return None
    grads = torch.autograd.grad(out.sum(), [t for _, t in leaves], allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for (_, t), g in zip(leaves, grads)]


def _gradient_problem(exercise: Exercise, got: Any, leaves: list, want_grads: list[Tensor] | None) -> str | None:
    try:
        got_grads = _gradients(got, leaves)
    except RuntimeError as e:  # e.g. a tensor its graph needs was changed in place after use
        said = str(e).splitlines()[0].split(" Hint:")[0][:300]
        advice = ("do not change a tensor in place after computing with it" if "inplace" in str(e).replace("-", "")
                  else "compute it with real-valued torch operations on the inputs as they come (no complex numbers, "
                       "no NumPy or Python numbers on the way)")
        return (f"its result's gradient could not be computed ({type(e).__name__}: {said}): "
                f"a loss must let backward() run; {advice}.")
    return gradient_problem(exercise, got_grads, leaves, want_grads)


def gradient_problem(exercise: Exercise, got_grads: list[Tensor] | None, leaves: list,
                     want_grads: list[Tensor] | None) -> str | None:
    """What is wrong with the gradients ``got_grads`` of an answer (None: it carries none), or None.

    The course's grader calls it with the gradients a sandboxed run of the student's function reported."""
    if got_grads is None:
        if exercise.gradients == "required" and want_grads is not None and any(bool(w.abs().sum() > 0)
                                                                              for w in want_grads):
            return ("the value is right, but the result carries no gradient (it was detached, computed under "
                    "torch.no_grad(), or turned into a number with .item()/float()/NumPy): a loss must stay a "
                    "tensor computed from its inputs, so that backward() reaches them.")
        return None
    for (name, _), g, w in zip(leaves, got_grads, want_grads or [None] * len(leaves)):
        w = torch.zeros_like(g) if w is None else w
        if bool(torch.isfinite(w).all()) and not bool(torch.isfinite(g).all()):
            bad = _nonfinite_kind(g)
            return (f"the value is right, but the gradient with respect to {name} holds {bad} where the right one is "
                    "finite, although the value comes out right: a step in between overflows (e.g. exp of a large "
                    "number, then multiplied by 0), or has no derivative at that input (sqrt of 0, abs or log|x| at "
                    "0, as in sqrt((c - mean)**2) where c = mean). Rewrite it so that every step and its derivative "
                    "stay finite for such inputs.")
        if bool(w.abs().sum() > 0) and not bool(g.abs().sum() > 0):
            return (f"the value is right, but no gradient reaches {name}: a part of the computation was "
                    "detached (.detach(), .data, torch.no_grad()), or a branch (torch.where, an if) computes these "
                    f"entries with a formula that leaves {name} out, so training would not update what feeds it.")
        problem = difference(g, w, f" of the gradient with respect to {name}")
        if problem:
            return f"the value is right, but the gradient is not: {problem}"
    return None


_HINTS = {  # what to do instead, by the last word of what changed
    "parameter": "do not freeze or unfreeze parameters: stop the gradient with .detach() on a tensor instead.",
    "mode": "do not switch the network between train() and eval(): use it in the mode it comes in.",
    "hook": "do not register hooks on the inputs: they stay after the call and change every later backward() "
            "or forward pass; stop a gradient with .detach() on a tensor instead.",
}


def _hint(what: str, arg: Any) -> str:
    """What to do instead of changing ``arg`` as ``what`` says."""
    if what.endswith("an unfrozen parameter"):
        return ("leave requires_grad as it comes: the check's D has its large linear layer frozen to keep the check "
                "fast (gradients still flow through it to the layers before).")
    hint = _HINTS.get("hook" if " hook " in what else what.rsplit(" ", 1)[-1].strip("()"))
    if hint:
        return hint
    if isinstance(arg, LatentSpec):
        return ("a spec is read-only: read its fields, never set them (object.__setattr__ gets round the frozen "
                "dataclass, and the change outlasts the call: every later use of that spec would see it).")
    if isinstance(arg, np.ndarray):
        return ("leave them as they are and build new arrays (e.g. with .copy() or np.array(x, dtype=float), which "
                "copies; np.asarray does not when x is already float64).")
    if isinstance(arg, Tensor):
        return "leave them as they are and build new tensors (e.g. with .clone())."
    return "leave them as they are and build new objects (e.g. new tensors with .clone())."


@contextlib.contextmanager
def _notebook_alarm_kept() -> Iterator[None]:
    """Keep the notebook's own SIGALRM handler and pending alarm (``signal.alarm``, ``setitimer``) across a call.

    The time limit borrows the alarm on the main thread and switches it off at the end; afterwards the notebook's
    handler is put back and its alarm re-armed with the time it had left (at once if that ran out meanwhile)."""
    if not (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()):
        yield
        return
    handler = signal.getsignal(signal.SIGALRM)
    delay, interval = signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()
    try:
        yield
    finally:
        if handler is not None and signal.getsignal(signal.SIGALRM) is not handler:
            signal.signal(signal.SIGALRM, handler)
        if delay > 0:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - start), 1e-6), interval)


class _FlagCleared(BaseException):
    """Raised in the checker's own thread, and caught there, to clear CPython 3.11's pending-exception flag."""


def _clear_async_flag(stuck: set[int]) -> None:
    """Let the kernel run at full speed while a thread the answer left sits in one long call into C.

    ``stop_threads`` asks such a thread to exit with an asynchronous exception, which it takes only once its call
    (``time.sleep(600)``) returns. CPython 3.11 flags a pending one for the whole interpreter, and until it is
    taken every Python call made under a profile or trace function (the checker's call watch, a debugger,
    coverage) spins on that flag: the next check waited for the sleep to end. The stuck thread keeps its
    exception and still exits when its call returns; the flag is cleared by one such exception raised and
    caught here, in the checker's own thread."""
    set_async = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if not stuck or sys.version_info[:2] != (3, 11) or set_async is None:
        return
    me = ctypes.c_ulong(threading.get_ident())
    try:
        set_async(me, ctypes.py_object(_FlagCleared))
        for _ in range(1000):  # the exception is raised at the next check of the flag (a loop's jump back)
            time.sleep(0)
    except _FlagCleared:
        return
    set_async(me, None)  # not raised (not expected): take it back rather than raise it later


def _run(student: Callable[..., Any], exercise: Exercise, case: Case, args: tuple, name: str,
         answer_key_ok: bool) -> tuple[Any, str | None]:
    """Call the student's function on one case under the time limit and the call watch: (result, problem)."""
    snap, rng, state, threads = [snapshot(a) for a in args], rng_state(), torch_state(), live_threads()
    grads = _stored_grads(exercise, args)
    got, problem = None, None
    with CallWatch(exercise.forbidden, answer_key=not answer_key_ok) as watch:
        try:
            with _notebook_alarm_kept(), time_limit(TIME_LIMIT):
                got = exercise.probe(student, args)
        except SideEffect as e:
            problem = f"{name}: on {case.name}: {e}"
        except NotImplementedError:
            problem = (f"{name} is not implemented yet: replace the `raise NotImplementedError(...)` line with your "
                       "code, run that cell, then run this check again.")
        except CheckTimeout:
            problem = (f"{name} did not finish within {TIME_LIMIT:g} s on {case.name}: a loop that never ends, or a "
                       "Python loop over every entry, which is too slow for the checks' sizes (up to 1,000 categories "
                       "or 70,000 items): use tensor or array operations. (The right answer takes milliseconds.)")
        except Exception as e:  # noqa: BLE001 - any error in the student's code is feedback, not a crash
            problem = f"{name} raised {type(e).__name__} on {case.name}{where_raised(e, student)}: {cut(str(e), 300)}"
        except SystemExit as e:  # sys.exit() or exit() in an answer ends the answer, not the check
            problem = (f"{name} called sys.exit() (or exit(), raising SystemExit({e.code!r})) on {case.name}"
                       f"{where_raised(e, student)}: a function returns its value; it never ends the program. "
                       "To report a bad input, raise an exception such as ValueError.")
    left_running = live_threads() - threads  # threads the answer started and did not wait for
    if not left_running:
        time.sleep(0.01)  # a thread started with _thread is listed only once it runs: give it the moment
        left_running = live_threads() - threads
    if left_running:
        described = thread_names(left_running)
        stop_threads(left_running)
        _clear_async_flag(settle(threads))  # let them stop before the inputs are compared again
    global_change = torch_state_change(state)
    restore_torch_state(state)
    if watch.violation:
        problem = f"{name}: {watch.violation}"
    elif left_running:
        problem = (f"{name} left a thread running after it returned on {case.name} ({described}): a function "
                   "must finish its work before it returns. A thread that keeps running slows the whole "
                   "notebook, and one that edits the inputs or the result later changes them behind the "
                   "caller's back; compute the value in the function itself, without threads.")
    elif global_change:
        problem = f"{name}: on {case.name}: {global_change}."
    elif problem is None and (grew := next((n for n, t, g in grads if t.is_leaf and not _same_grad(g, t.grad)),
                                           None)):  # an input no longer a leaf was changed in place: said below
        problem = (f"{name}: on {case.name}: {grew}.grad changed during the call (backward() called inside, or .grad "
                   "written): a loss function only computes and returns the loss. The training step calls backward(); "
                   "a second call would add the gradient twice.")
    elif problem is None and not same_rng(rng, rng_state()):
        problem = (f"{name} changed the global random number generator on {case.name} (torch.manual_seed, "
                   "np.random.seed, or drawing random numbers without a generator): leave it as it is.")
    elif problem is None and (found := next(((c, a) for a, s, n in zip(args, snap, _names(exercise, args))
                                             if (c := changed(a, s, n))), None)):
        what, arg = found
        problem = f"{name} changed its inputs in place on {case.name} ({what}); " + _hint(what, arg)
    restore_rng(rng)
    return got, problem


def _nonfinite_kind(t: Tensor) -> str:
    """"nan", "-inf", "inf" or "inf and -inf": what the non-finite entries of ``t`` are."""
    if bool(torch.isnan(t).any()):
        return "nan"
    low, high = bool((t == -math.inf).any()), bool((t == math.inf).any())
    return "inf and -inf" if low and high else "-inf" if low else "inf"


def _nonfinite(got: Any, want: Any) -> str | None:
    """'inf' or 'nan' when ``got`` holds such an entry where the right answer is finite, else None."""
    if not (is_data(got) and is_data(want)):
        return None
    try:
        g, w = as_tensor(got), as_tensor(want)
    except (TypeError, ValueError, RuntimeError):
        return None
    if g.shape != w.shape or not bool(torch.isfinite(w).all()) or bool(torch.isfinite(g).all()):
        return None
    return _nonfinite_kind(g)


def _explain(got: Any, args: Any, exercise: Exercise, case: Case, want: Any,
             elsewhere: Callable[[], list[tuple[Case, Any]]]) -> str:
    """The explanation of a wrong value: a known mistake, the exercise's diagnosis, or what differs where.

    A known mistake is named only when the answer gives that mistake's value on this case *and* on every
    other case where the answer ran (``elsewhere()``), so that a coincidence on one case names no slip.
    """
    others = None
    for mistake in exercise.mistakes:
        try:
            wrong = exercise.probe(mistake.answer, case.make())
        except Exception:  # noqa: BLE001, S112 - a mistake that does not apply to this case
            continue
        if same(wrong, want, dtypes=False) or not same(got, wrong, dtypes=False):
            continue
        others = elsewhere() if others is None else others
        if all(_agrees(mistake, exercise, other, theirs) for other, theirs in others):
            return f"on {case.name}: {mistake.explanation}"
    found = exercise.diagnose(got, args) if exercise.diagnose else None
    if found:
        return f"on {case.name}: {found}"
    bad = _nonfinite(got, want)
    if bad:
        return (f"it returned {bad} on {case.name}, where the answer is finite. Either a rule of the answer's own "
                f"puts {bad} there (a np.where or a fill, for more entries than the statement names), or a step is "
                "not finite for such inputs: a form that overflows (exp of a large number), takes the log of 0 (a "
                "probability or density that underflowed) or of a negative number (a difference taken the wrong way "
                "round, e.g. log(a - b) for log(b - a)), or divides by 0 there. Make every entry the statement "
                "gives a value finite.")
    return f"on {case.name}: {difference(got, want, dtypes=False)}"


def _agrees(mistake: Mistake, exercise: Exercise, case: Case, got: Any) -> bool:
    """The mistake gives the answer's value ``got`` on ``case``; a mistake that fails there, or an answer
    that is not finite there (another slip), is no evidence either way."""
    try:
        wrong = exercise.probe(mistake.answer, case.make())
    except Exception:  # noqa: BLE001
        return True
    return same(got, wrong, dtypes=False) or _nonfinite(got, wrong) is not None


def _pairs(target: Any, source: Any) -> list[tuple[Any, Any]] | None:
    """The tensors, arrays and modules of ``target`` beside ``source``'s, when the two have one layout
    (tensors and arrays of one shape and dtype, modules of one class, shapes and mode, dataclasses, tuples
    and lists of such, everything else equal); None otherwise."""
    if isinstance(target, Tensor) and isinstance(source, Tensor):
        same_kind = (target.shape, target.dtype, target.device) == (source.shape, source.dtype, source.device)
        return [(target, source)] if same_kind else None
    if isinstance(target, np.ndarray) and isinstance(source, np.ndarray):
        same_kind = target.shape == source.shape and target.dtype == source.dtype and target.flags.writeable
        return [(target, source)] if same_kind else None
    if isinstance(target, torch.nn.Module) and isinstance(source, torch.nn.Module):
        a, b = target.state_dict(), source.state_dict()
        same_kind = (type(target) is type(source) and target.training == source.training and a.keys() == b.keys()
                     and all(a[k].shape == b[k].shape and a[k].dtype == b[k].dtype for k in a))
        return [(target, source)] if same_kind else None
    if type(target) is not type(source):
        return None
    if is_dataclass(target) and not isinstance(target, type):
        found = [_pairs(getattr(target, f.name), getattr(source, f.name)) for f in fields(target)]
        return None if any(p is None for p in found) else [pair for p in found for pair in p]
    if isinstance(target, (tuple, list)):
        if len(target) != len(source):
            return None
        found = [_pairs(t, s) for t, s in zip(target, source)]
        return None if any(p is None for p in found) else [pair for p in found for pair in p]
    try:
        return [] if bool(target == source) else None
    except Exception:  # noqa: BLE001 - values that cannot be compared: another layout
        return None


def _differs(t: Any, s: Any) -> bool:
    if isinstance(t, torch.nn.Module):
        return any(not torch.equal(a, b) for a, b in zip(t.state_dict().values(), s.state_dict().values()))
    return not torch.equal(t.detach(), s) if isinstance(t, Tensor) else not np.array_equal(t, s)


def _refill(target: tuple, source: tuple) -> bool:
    """Write ``source``'s values into ``target``'s tensors, arrays and modules in place, when the two cases
    have one layout and other values (see :func:`_pairs`); False otherwise."""
    pairs = _pairs(tuple(target), tuple(source))
    if not pairs or not any(_differs(t, s) for t, s in pairs):
        return False
    with torch.no_grad():
        for t, s in pairs:
            if isinstance(t, torch.nn.Module):
                t.load_state_dict(s.state_dict())
            elif isinstance(t, Tensor):
                t.copy_(s)
                t.grad = None
            else:
                np.copyto(t, s)
    return True


def _without_grad(student: Callable[..., Any], exercise: Exercise, name: str, answer_key_ok: bool) -> str | None:
    """Call the student's function on the first case under ``torch.no_grad()``, on inputs that do not ask for a
    gradient (as a notebook cell that only prints a value does): the value must be the one it gives with gradients,
    and gradient mode must be left off. The message, or None (also for an exercise whose probe is no plain call)."""
    if exercise.probe is not _call or exercise.gradients == "none" or not exercise.cases:
        return None
    case = exercise.cases[0]
    want = exercise.reference(*_make(case))
    with torch.no_grad():
        got, problem = _run(student, exercise, case, _make(case), name, answer_key_ok)
    if problem:
        return f"{problem} (called under torch.no_grad(), on inputs that ask for no gradient)"
    if not same(got, want, dtypes=False):
        return (f"{name}: on {case.name}, called under torch.no_grad() on inputs that ask for no gradient (as a cell "
                f"that only prints the value does), it returned {difference(got, want, dtypes=False).rstrip('.')}: "
                "the value must not depend on whether gradients are recorded (requires_grad, "
                "torch.is_grad_enabled()).")
    return None


def _remembers(student: Callable[..., Any], exercise: Exercise, name: str, answer_key_ok: bool) -> str | None:
    """Call the student's function twice on the *same* objects, new values written into them in between (as
    an optimizer step updates parameters in place): an answer that caches results by ``id``, ``data_ptr`` or
    shape returns the first call's value the second time. The message, or None (also where no two cases
    share a layout)."""
    made = [(case, _make(case)) for case in exercise.cases]
    for i, (first, a) in enumerate(made):
        for second, fresh in made[i + 1:]:
            if not _refill(a, fresh):  # a trial on the first case's copy: same layout, other values?
                continue
            args = _make(first)
            _prepare(exercise, args)
            _, problem = _run(student, exercise, first, args, name, answer_key_ok)
            if problem or not _refill(args, fresh):
                return None
            want = exercise.probe(exercise.reference, _make(second))
            got, problem = _run(student, exercise, second, args, name, answer_key_ok)
            if problem:
                return (f"{name}: called again on the same objects after their values changed in place (from "
                        f"{first.name} to {second.name}), it failed: {problem} Does it remember something from an "
                        "earlier call (a cache keyed by id() or the shape)? Compute the result from the inputs on "
                        "every call.")
            if not same(got, want, dtypes=False):
                return (f"{name}: called again on the same tensors after their values changed in place (from "
                        f"{first.name} to {second.name}), it returned "
                        f"{difference(got, want, dtypes=False).rstrip('.')}: "
                        "it seems to remember an earlier result (a cache keyed by id(), data_ptr() or the shape). "
                        "The same tensor holds new values after every optimizer step; compute the result from "
                        "the inputs on every call.")
            return None
    return None


def _verdict(student: Callable[..., Any], exercise: Exercise, case: Case, name: str,
             answer_key_ok: bool) -> tuple[str | None, Any]:
    """What is wrong with the student's function on ``case`` (the message, or None), and what it returned."""
    args = _make(case)
    leaves = _prepare(exercise, args)
    want = exercise.probe(exercise.reference, args)
    want_grads = _gradients(want, leaves)
    args = _make(case)
    leaves = _prepare(exercise, args)
    got, problem = _run(student, exercise, case, args, name, answer_key_ok)
    if problem:
        return problem, got
    if not same(got, want, dtypes=False):
        def elsewhere(current: Case = case) -> list[tuple[Case, Any]]:
            return [(other, out) for other in exercise.cases if other is not current
                    for out, bad in [_run(student, exercise, other, _make(other), name, answer_key_ok)]
                    if bad is None]
        return f"{name}: {_explain(got, args, exercise, case, want, elsewhere)}", got
    problem = difference(got, want) or _gradient_problem(exercise, got, leaves, want_grads)
    return (f"{name}: on {case.name}: {problem}" if problem else None), got


def check_against(student: Callable[..., Any], exercise: Exercise, *, graded: bool = False,
                  answer_key_ok: bool = False) -> CheckResult:
    """Run ``student`` on every case and compare it with the reference and with each known mistake.

    Refused before any case: the package's own functions (the answer key). On each case: an error,
    a time-out, a forbidden call, a change to the inputs or to the global RNG; then, where the value
    differs from the reference, the explanation of the first known mistake that gives the same value there
    and on every other case, else the exercise's diagnosis, else inf/nan where the answer is finite, else
    the worst differing element (every message names the case); then dtypes and gradients. Last, the function
    is called under ``torch.no_grad()`` (``_without_grad``), and twice on the same objects with new values
    written into them in between (``_remembers``: an answer that caches its results fails).
    Formative (default): print one line and return the result. ``graded=True``: also raise
    :class:`ExerciseFailed` on a wrong answer, so an autograder's test cell fails. ``answer_key_ok``
    lets the package's own tests run the answer key's functions.
    """
    name = getattr(student, "__name__", "your function")
    key = None if answer_key_ok else defined_in_package(student)
    if key:
        return _report(False, f"{name} is the package's own {key}, part of the checker's answer key: "
                              "write the function yourself.", graded)
    results = []
    for case in exercise.cases:
        problem, got = _verdict(student, exercise, case, name, answer_key_ok)
        if problem:
            return _report(False, problem, graded)
        results.append((case, got, snapshot(got)))
    for case, got, snap in results:  # a result the answer keeps and writes again on a later call
        what = changed(got, snap, "its result")
        if what:
            return _report(False, f"{name}: {what} on {case.name} changed when it was called again on later inputs: "
                                  "it hands out a buffer it reuses (a tensor or array kept between calls and written "
                                  "in place). Return a new tensor or array from each call.", graded)
    stale = _without_grad(student, exercise, name, answer_key_ok) or _remembers(student, exercise, name, answer_key_ok)
    if stale:
        return _report(False, stale, graded)
    return _report(True, f"{name} is correct on all {len(exercise.cases)} test cases.", graded)

