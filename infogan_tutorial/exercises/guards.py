"""What a checker watches while a student's function runs: time, the calls it makes, and its inputs.

- :func:`time_limit` stops a function that runs too long (an infinite loop) with :class:`CheckTimeout`,
  in any thread and on every operating system;
- :class:`CallWatch` records calls the exercise does not allow: the package function that does the
  same job, and anything from the checkers' own answer key;
- :func:`snapshot` and :func:`changed` tell whether the function edited its inputs in place
  (tensors, the fields of Codes and QOutput, a network's parameters and ``requires_grad`` flags);
- :func:`rng_state` and :func:`restore_rng` catch a function that reseeds or draws from the global
  random number generators; :func:`torch_state` and :func:`restore_torch_state` one that leaves
  gradient computation off or changes torch's default dtype;
- :func:`live_threads`, :func:`settle` and :func:`stop_threads` catch a function that leaves a thread
  running after it returned (one that spins, or edits the inputs or the result later).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import math
import os
import random
import signal
import sys
import sysconfig
import threading
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

PACKAGE = "infogan_tutorial"
ANSWER_KEY_FILES = frozenset(str(Path(__file__).resolve().with_name(f)) for f in
                             ("foundations.py", "experiments.py", "inputs.py"))
"""The modules that hold the exercises' references and typical mistakes."""
LIBRARY_DIRS = tuple(sorted({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _students(frame: types.FrameType | None) -> bool:
    """The frame runs the student's own code: neither the package nor an installed library."""
    if frame is None or str(frame.f_globals.get("__name__", "")).startswith(PACKAGE):
        return False
    filename = frame.f_code.co_filename
    return not (filename.startswith(LIBRARY_DIRS) or filename.startswith("<frozen"))


class CheckTimeout(BaseException):
    """The student's function ran past the time limit (a BaseException, so `except Exception` cannot hide it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CheckTimeout` in the body after ``seconds``, in any thread and on every system.

    On the main thread of a system with ``SIGALRM`` (Linux, macOS) an alarm does it, which also
    interrupts a long wait (``time.sleep``). Elsewhere (a worker thread, Windows) a trace function
    (``sys.settrace``, this thread only) looks at the clock on every call and on every opcode of the
    student's own code, so an endless Python loop stops there too; it slows Python code a little,
    which is why the alarm is preferred where it exists. Neither can stop one call into C that never
    returns.
    """
    if seconds <= 0:
        yield
        return
    message = f"ran for more than {seconds:g} s"
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        def alarm(signum: int, frame: Any) -> None:
            raise CheckTimeout(message)

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    deadline = time.monotonic() + seconds

    def trace(frame: types.FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise CheckTimeout(message)
        if event != "call":
            return trace
        if not _students(frame):
            return None  # a library's own lines are not traced (its calls still are)
        frame.f_trace_opcodes = True  # `while True: pass` is one line: only its opcodes show the loop
        return trace

    previous_trace = sys.gettrace()
    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(previous_trace)


def _function(fn: Any) -> Any:
    """The plain function behind a bound method, functools.partial or staticmethod."""
    while True:
        inner = getattr(fn, "func", None) or getattr(fn, "__func__", None) or getattr(fn, "__wrapped__", None)
        if inner is None or inner is fn:
            return fn
        fn = inner


def defined_in_package(fn: Any) -> str | None:
    """The qualified name of ``fn`` when the package defines it (the answer key), else None."""
    fn = _function(fn)
    code = getattr(fn, "__code__", None)
    module = getattr(fn, "__module__", None) or ""
    if module.startswith(PACKAGE) or (code is not None and code.co_filename in ANSWER_KEY_FILES):
        return f"{module}.{getattr(fn, '__qualname__', repr(fn))}"
    return None


class CallWatch:
    """Record the first call, made by the student's own code, to a forbidden function or to the answer key.

    ``forbidden`` maps each forbidden function to the way the message names it (``"spec.entropy()"``).
    A call made from inside the package (say ``info_loss`` calling ``log_q``) is allowed: only what the
    student's code calls directly counts; ``answer_key=False`` allows the answer key (for the package's
    own tests). Uses ``sys.setprofile`` for the current thread.
    """

    def __init__(self, forbidden: dict[Callable[..., Any], str], answer_key: bool = True):
        self.answer_key = answer_key
        self.codes = {_function(f).__code__: name for f, name in forbidden.items()
                      if hasattr(_function(f), "__code__")}
        self.violation: str | None = None

    def _profile(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event != "call" or self.violation is not None:
            return
        if not _students(frame.f_back):
            return
        code = frame.f_code
        if code in self.codes:
            self.violation = (f"it calls {self.codes[code]}, which this exercise asks you not to use: "
                              "the point is to write it yourself.")
        elif self.answer_key and code.co_filename in ANSWER_KEY_FILES:
            self.violation = (f"it calls the checker's own answer key ({code.co_name} in "
                              f"infogan_tutorial.exercises): write the function yourself.")

    def __enter__(self) -> CallWatch:  # noqa: PYI034
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)


def snapshot(x: Any) -> Any:
    """A deep copy of what matters in ``x``: tensor values and flags, parameters, fields of dataclasses."""
    if isinstance(x, Tensor):
        return ("tensor", x.detach().clone(), x.requires_grad, _tensor_hooks(x))
    if isinstance(x, nn.Module):
        params = {n: (p.detach().clone(), p.requires_grad, _tensor_hooks(p)) for n, p in x.named_parameters()}
        return ("module", params, x.training, _module_hooks(x))
    if isinstance(x, np.ndarray):
        return ("array", x.copy(), x.flags.writeable)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return ("fields", {f.name: snapshot(getattr(x, f.name)) for f in dataclasses.fields(x)})
    if isinstance(x, (list, tuple)):
        return ("seq", type(x), [snapshot(v) for v in x])
    return ("other", x)


def _tensor_hooks(t: Tensor) -> int:
    """How many gradient hooks ``t`` carries (register_hook, register_post_accumulate_grad_hook)."""
    return sum(len(getattr(t, a, None) or {}) for a in ("_backward_hooks", "_post_accumulate_grad_hooks"))


_MODULE_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _module_hooks(m: nn.Module) -> dict[str, int]:
    """How many forward and backward hooks each submodule of ``m`` carries, by its name."""
    return {name: sum(len(getattr(sub, a, None) or {}) for a in _MODULE_HOOKS) for name, sub in m.named_modules()}


_PLAIN = (bool, int, float, str, bytes, tuple, frozenset, type(None))


def changed(x: Any, snap: Any, where: str) -> str | None:
    """Where ``x`` no longer matches its :func:`snapshot` (a phrase such as "q.logits[0]"), or None."""
    tag = snap[0]
    if tag == "tensor":
        if not isinstance(x, Tensor) or x.shape != snap[1].shape or not torch.equal(x.detach(), snap[1]):
            return f"the values of {where}"
        if x.requires_grad != snap[2]:
            return f"{where}.requires_grad"
        return f"a gradient hook registered on {where}" if _tensor_hooks(x) != snap[3] else None
    if tag == "module":
        for name, p in x.named_parameters():
            value, flag, hooks = snap[1][name]
            if not torch.equal(p.detach(), value):
                return f"the values of the parameter {where}.{name}"
            if p.requires_grad != flag:
                return (f"{where}.{name}.requires_grad, True before the call and False after it: a frozen parameter"
                        if flag else f"{where}.{name}.requires_grad, False before the call and True after it: "
                        "an unfrozen parameter")
            if _tensor_hooks(p) != hooks:
                return f"a gradient hook registered on {where}.{name}"
        hooks = _module_hooks(x)
        for name, count in hooks.items():
            if count != snap[3].get(name, 0):
                return f"a forward or backward hook registered on {'.'.join(filter(None, (where, name)))}"
        return f"{where}.training (train/eval mode)" if x.training != snap[2] else None
    if tag == "array":
        if not np.array_equal(x, snap[1], equal_nan=True):
            return f"the values of {where}"
        return None if x.flags.writeable == snap[2] else f"{where}.flags.writeable (the caller's array made read-only)"
    if tag == "fields":
        for name, sub in snap[1].items():
            problem = changed(getattr(x, name), sub, f"{where}.{name}")
            if problem:
                return problem
        return None
    if tag == "seq":
        if len(x) != len(snap[2]):
            return f"the length of {where}"
        return next((p for i, (v, s) in enumerate(zip(x, snap[2])) if (p := changed(v, s, f"{where}[{i}]"))), None)
    if isinstance(snap[1], _PLAIN) and not _same_plain(x, snap[1]):
        return f"the value of {where}"  # e.g. a frozen spec's field, edited with object.__setattr__
    return None


def _same_plain(a: Any, b: Any) -> bool:
    """``a == b`` for numbers, strings and tuples of them, with nan equal to nan."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_plain(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def rng_state() -> tuple:
    """The state of torch's, NumPy's and Python's global random number generators."""
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def restore_rng(state: tuple) -> None:
    torch.set_rng_state(state[0])
    np.random.set_state(state[1])
    random.setstate(state[2])


def _patchable(name: str, value: object) -> bool:
    """Whether an attribute counts: not a submodule (an import adds those) nor a dunder (``__warningregistry__``)."""
    return not name.startswith("__") and not isinstance(value, types.ModuleType)


def _attributes(module: object) -> dict:
    """The attributes of ``module`` (a module or class) by identity: a patch (``F.softmax = ...``) shows."""
    return {k: v for k, v in vars(module).items() if _patchable(k, v)}


def _set_attributes(module: object, saved: dict) -> None:
    for name in [n for n, v in vars(module).items() if n not in saved and _patchable(n, v)]:
        try:
            delattr(module, name)
        except (AttributeError, TypeError):
            pass
    for name, value in saved.items():
        if vars(module).get(name, _MISSING) is not value:
            try:
                setattr(module, name, value)
            except (AttributeError, TypeError):
                pass


_MISSING = object()


def _package_parts() -> tuple:
    """The package's modules and classes a later cell of the notebook calls (``objectives.log_q = ...`` or
    ``LatentSpec.entropy = ...`` would change what it computes)."""
    from .. import evaluation, latent_codes, mutual_information, networks, objectives, training
    return (evaluation, latent_codes, mutual_information, networks, objectives, training,
            latent_codes.LatentSpec, latent_codes.Codes, networks.Generator, networks.Discriminator, networks.QOutput)

_PATCHABLE = (torch, torch.nn.functional, torch.Tensor, torch.nn.Module, np, math, *_package_parts())


def _print_options() -> dict:
    from torch._tensor_str import PRINT_OPTS
    return dict(vars(PRINT_OPTS))


def _set_print_options(saved: dict) -> None:
    from torch._tensor_str import PRINT_OPTS
    for name, value in saved.items():
        setattr(PRINT_OPTS, name, value)


_KEEP = "leave it as it is"


def _flushes_denormals() -> bool:
    """Whether torch flushes denormal floats to zero now (torch.set_flush_denormal has no getter)."""
    return torch.tensor(1e-310, dtype=torch.float64).mul(1.0).item() == 0.0

def _libraries_filter(entry: tuple) -> bool:
    """Whether a warning filter is for a library's own warning class (added when the library is first imported,
    as sympy does when torch loads it on first use), not one an answer could have meant."""
    return getattr(entry[2], "__module__", "builtins") not in ("builtins", "__main__")


class _Filters(list):
    """Python's warning filters as read, compared without those libraries add for their own warnings on import."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and ([f for f in self if not _libraries_filter(f)] ==
                                            [f for f in other if not _libraries_filter(f)])

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2")
                 if hasattr(signal, n))


def _signal_handlers() -> tuple:
    """The handler of each signal an answer could change (SIGALRM is the time limit's own)."""
    return tuple(signal.getsignal(n) for n in _SIGNALS)


def _set_signal_handlers(handlers: tuple) -> None:
    if threading.current_thread() is threading.main_thread():  # signal.signal works in the main thread only
        for n, handler in zip(_SIGNALS, handlers):
            if handler is not None:
                signal.signal(n, handler)


def _warning_filters() -> _Filters:
    return _Filters(warnings.filters)


def _set_warning_filters(saved: list) -> None:
    warnings.filters[:] = list(saved)
    getattr(warnings, "_filters_mutated", lambda: None)()


GLOBAL_STATE: tuple[tuple[Callable[[], Any], Callable[[Any], None], str], ...] = (
    (torch.is_grad_enabled, torch.set_grad_enabled,
     "it changes grad mode for the rest of the notebook: it leaves gradient computation switched off where its "
     "caller had it on (torch.set_grad_enabled(False), or torch.no_grad() entered without a `with` block), or "
     "switched on where its caller had it off (torch.set_grad_enabled(True), torch.enable_grad() without `with`). "
     "Use `with torch.no_grad():` (or `with torch.enable_grad():`), which restores the caller's setting at the end "
     "of the block"),
    (torch.get_default_dtype, torch.set_default_dtype,
     "it changes torch's default dtype (torch.set_default_dtype), for every tensor the notebook creates later: "
     "leave it as it is, and convert one tensor with .double() if you need to"),
    (torch.is_anomaly_enabled, torch.autograd.set_detect_anomaly,
     "it switches autograd's anomaly detection (torch.autograd.set_detect_anomaly) for the rest of the notebook, "
     "which slows every later backward() many times over: " + _KEEP),
    (torch.are_deterministic_algorithms_enabled,
     lambda v: torch.use_deterministic_algorithms(v) if torch.are_deterministic_algorithms_enabled() != v else None,
     "it switches torch.use_deterministic_algorithms for the rest of the notebook: " + _KEEP),
    (_warning_filters, _set_warning_filters,
     "it changes Python's warning filters (warnings.simplefilter or filterwarnings without a `with "
     "warnings.catch_warnings():` block) for the rest of the notebook: use that block, or leave them as they are"),
    (np.get_printoptions, lambda v: np.set_printoptions(**v),
     "it changes NumPy's print options (np.set_printoptions) for the rest of the notebook: use `with "
     "np.printoptions(...):` if you need them, or leave them as they are"),
    (np.geterr, lambda v: np.seterr(**v),
     "it changes NumPy's floating-point error handling (np.seterr) for the rest of the notebook: use `with "
     "np.errstate(...):` if you need it, or leave it as it is"),
    (_print_options, _set_print_options,
     "it changes torch's print options (torch.set_printoptions) for the rest of the notebook: " + _KEEP),
    (torch.get_num_threads, torch.set_num_threads,
     "it changes torch's number of threads (torch.set_num_threads) for the rest of the notebook: " + _KEEP),
    (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision,
     "it changes torch's float32 matrix-multiply precision (torch.set_float32_matmul_precision) for the rest of "
     "the notebook: " + _KEEP),
    (lambda: torch.backends.cudnn.benchmark, lambda v: setattr(torch.backends.cudnn, "benchmark", v),
     "it changes torch.backends.cudnn.benchmark for the rest of the notebook: " + _KEEP),
    (_flushes_denormals, torch.set_flush_denormal,
     "it switches torch's flushing of denormal numbers to zero (torch.set_flush_denormal) for the rest of the "
     "notebook, which changes tiny values in every later computation: " + _KEEP),
    (sys.getrecursionlimit, sys.setrecursionlimit,
     "it changes Python's recursion limit (sys.setrecursionlimit) for the rest of the notebook: " + _KEEP),
    (os.getcwd, os.chdir,
     "it changes the working folder (os.chdir) for the rest of the notebook, so later cells read and write "
     "elsewhere: " + _KEEP),
    (lambda: dict(os.environ), lambda v: (os.environ.clear(), os.environ.update(v)),
     "it changes environment variables (os.environ) for the rest of the notebook: " + _KEEP),
    (lambda: _signal_handlers(), _set_signal_handlers,
     "it changes how the kernel answers a signal (signal.signal, e.g. SIGINT ignored: Ctrl-C or the notebook's "
     "stop button would no longer interrupt a cell) for the rest of the notebook: " + _KEEP),
    *((lambda m=m: _attributes(m), lambda v, m=m: _set_attributes(m, v),
       f"it replaces or adds attributes of {getattr(m, '__name__', m)} (a monkey-patch) for the rest of the "
       "notebook: compute with your own names instead") for m in _PATCHABLE),
)
"""What an answer could switch for the rest of the kernel: (read it, set it back, what the message says)."""


def torch_state() -> tuple:
    """The global state of :data:`GLOBAL_STATE`, read now."""
    return tuple(get() for get, _, _ in GLOBAL_STATE)


def _same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(a[k] is b[k] or _equal(a[k], b[k]) for k in a)
    return _equal(a, b)


def _equal(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. arrays: compare by identity only
        return a is b


def torch_state_change(before: tuple) -> str | None:
    """How the global state differs from ``before`` (a phrase), or None."""
    for (get, _, message), was in zip(GLOBAL_STATE, before):
        if not _same(get(), was):
            return message
    return None


def restore_torch_state(state: tuple) -> None:
    """Set the global state of :data:`GLOBAL_STATE` back to ``state``."""
    for (get, put, _), was in zip(GLOBAL_STATE, state):
        if not _same(get(), was):
            put(was)


def live_threads() -> set[int]:
    """The ids of the Python threads running now (also those started with _thread, which threading does not list)."""
    return set(sys._current_frames()) | {t.ident for t in threading.enumerate() if t.ident is not None}


def settle(before: set[int], seconds: float = 0.25) -> set[int]:
    """The threads started since ``before`` that are still alive after waiting up to ``seconds`` for them to end."""
    deadline = time.monotonic() + seconds
    while True:
        new = live_threads() - before
        if not new or time.monotonic() >= deadline:
            return new
        time.sleep(0.01)


def stop_threads(idents: set[int]) -> None:
    """Ask each thread to exit (a SystemExit raised in it at its next Python instruction; CPython only).

    A thread that spins in Python code or sleeps and then edits the inputs stops there; one stuck in a
    single call into C stops only when that call returns.
    """
    set_async = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if set_async is None:
        return
    for ident in idents:
        set_async(ctypes.c_ulong(ident), ctypes.py_object(SystemExit))


def thread_names(idents: set[int]) -> str:
    """'Thread-3 (spin)' and the like, for a message."""
    known = {t.ident: t.name for t in threading.enumerate()}
    return ", ".join(sorted(known.get(i, "a thread started with _thread") for i in idents))


def same_rng(a: tuple, b: tuple) -> bool:
    return (torch.equal(a[0], b[0]) and a[1][0] == b[1][0] and np.array_equal(a[1][1], b[1][1])
            and a[1][2:] == b[1][2:] and a[2] == b[2])


def where_raised(error: BaseException, fn: Callable[..., Any]) -> str:
    """' (line N: <source>)' for the last line of ``fn``'s own file in the traceback, else ''."""
    code = getattr(_function(fn), "__code__", None)
    if code is None:
        return ""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == code.co_filename]
    if not frames:
        return ""
    last = frames[-1]
    return f" (line {last.lineno}: {last.line.strip()})" if last.line else f" (line {last.lineno})"
