"""The checking engine: run a student's function on a table of cases and say in plain words what is wrong.

A checker (``check_*`` in :mod:`.foundations` and :mod:`.experiments`) describes an :class:`Exercise`: the
right answer, the cases, the typical mistakes and how to compare. :func:`check_against` runs the student's
function on every case, compares it with the reference and with the answers of the typical mistakes
(softmax before the cross-entropy, a missing H(c), a sum where a mean belongs, ...), prints one line
(✓ or ✗ and an explanation) and returns a :class:`CheckResult`. A wrong answer never raises, so a
notebook keeps running; an autograder calls ``result.raise_if_failed()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..latent_codes import Codes

# -- results and the shared comparison ---------------------------------------------------

class ExerciseFailed(AssertionError):
    """Raised by :meth:`CheckResult.raise_if_failed` when an answer is wrong."""


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


def _normalise(x: Any) -> Any:
    """Tensors, arrays and numbers become float64 tensors; Codes and sequences become tuples."""
    if isinstance(x, Codes):
        return ("Codes",) + tuple(_normalise(t) for t in (x.z, x.categorical, x.continuous))
    if isinstance(x, Tensor):
        return x.detach().cpu().to(torch.float64)
    if isinstance(x, (np.ndarray, np.number, bool, int, float)):
        return torch.as_tensor(np.asarray(x, dtype=np.float64))
    if isinstance(x, (tuple, list)):
        return tuple(_normalise(v) for v in x)
    return x


def _same(a: Any, b: Any) -> bool:
    """Equal up to float tolerance (shapes must match); objects other than data compare as equal."""
    a, b = _normalise(a), _normalise(b)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (Tensor, tuple)) or isinstance(b, (Tensor, tuple)) or a is None or b is None:
        return False
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return True  # networks, specs, ...: not compared


def _show(x: Any) -> str:
    x = _normalise(x)
    if isinstance(x, Tensor):
        return f"{x.item():.4f}" if x.dim() == 0 else f"a tensor of shape {tuple(x.shape)}"
    return repr(x)


def _shape_problem(got: Any, want: Any) -> str | None:
    """Explain a wrong type or shape, or return None when the shapes agree."""
    if got is None:
        return "it returned None: did you forget the `return` statement?"
    g, w = _normalise(got), _normalise(want)
    if isinstance(w, Tensor) and not isinstance(g, Tensor):
        return f"it returned a {type(got).__name__}, but the answer is a number or tensor."
    if isinstance(w, Tensor) and g.shape != w.shape:
        if w.dim() == 0:
            return (f"wrong shape: it returned {tuple(g.shape)}, but the answer is a single number; "
                    "average over the batch (and add up the codes) to get one value.")
        return f"wrong shape: it returned shape {tuple(g.shape)}, but the answer has shape {tuple(w.shape)}."
    return None


def _report(passed: bool, message: str) -> CheckResult:
    result = CheckResult(passed, message)
    print(result)
    return result


@dataclass(frozen=True)
class Exercise:
    """What a checker needs: the right answer, the cases, the typical mistakes and how to compare.

    ``probe(fn, args)`` turns a function and a case's arguments into what is compared (by default
    the return value); ``diagnose(answer, args)`` may explain a wrong answer no known mistake matches.
    """

    reference: Callable[..., Any]
    cases: Sequence[Case]
    mistakes: Sequence[Mistake] = ()
    probe: Callable[[Callable[..., Any], tuple], Any] = _call
    diagnose: Callable[[Any, tuple], str | None] | None = None


def check_against(student: Callable[..., Any], exercise: Exercise) -> CheckResult:
    """Run ``student`` on every case and compare it with the reference and with each known mistake.

    On the first case where the student's answer differs from the reference, the explanation of
    the first mistake that gives the same answer is reported; failing that, the exercise's
    diagnosis, a shape problem, or the expected and actual value.
    """
    reference, cases, mistakes, probe, diagnose = (exercise.reference, exercise.cases, exercise.mistakes,
                                                   exercise.probe, exercise.diagnose)
    name = getattr(student, "__name__", "your function")
    for case in cases:
        want = probe(reference, case.make())
        args = case.make()
        try:
            got = probe(student, args)
        except NotImplementedError:
            return _report(False, f"{name} is not implemented yet: replace the `raise NotImplementedError(...)` "
                                  "line with your code, run that cell, then run this check again.")
        except Exception as e:  # noqa: BLE001 - any error in the student's code is feedback, not a crash
            return _report(False, f"{name} raised {type(e).__name__} on {case.name}: {e}")
        if not _same(args, case.make()):
            return _report(False, f"{name} changed its inputs in place on {case.name}; leave them as they are "
                                  "and build new tensors (e.g. with .clone()).")
        if _same(got, want):
            continue
        for mistake in mistakes:
            try:
                wrong = probe(mistake.answer, case.make())
            except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
                continue
            if not _same(wrong, want) and _same(got, wrong):
                return _report(False, f"{name}: {mistake.explanation}")
        problem = (diagnose(got, case.make()) if diagnose else None) or _shape_problem(got, want) \
            or f"wrong value on {case.name}: expected {_show(want)}, got {_show(got)}."
        return _report(False, f"{name}: {problem}")
    return _report(True, f"{name} is correct on all {len(cases)} test cases.")
