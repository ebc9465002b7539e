"""Comparing a student's answer with the right one, field by field, and saying what differs.

Tensors, arrays and numbers compare up to float tolerance after a check of their type (a tensor
where the answer is a tensor, a NumPy array where it is one, a plain number where it is a float), their shape and
the kind of their dtype (integer, float, bool); the fields of :class:`Codes` must have exactly the
dtype of the right answer, because G rejects category indices that are not int64. A value mismatch
names the worst element, its index and both values; every repr in a message is cut to a few lines.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..latent_codes import Codes

SHOW_LIMIT = 160
"""The most characters of one value a message shows (a 25 kB tensor repr helps nobody)."""


def cut(text: str, limit: int = SHOW_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 5] + " ... "


def is_data(x: Any) -> bool:
    """Tensors, arrays and numbers: what is compared by value."""
    return isinstance(x, (Tensor, np.ndarray, np.number, bool, int, float))


def as_tensor(x: Any) -> Tensor:
    """A float64 CPU copy of a tensor, array or number (detached; of complex values, the real part: :func:`difference`
    refuses those first)."""
    if isinstance(x, Tensor):
        return (x.real if x.is_complex() else x).detach().cpu().to(torch.float64)
    return torch.as_tensor(np.array(np.real(x), dtype=np.float64))  # a writable copy


def kind(x: Any) -> str:
    """'bool', 'integer' or 'float': the kind of a value's dtype."""
    dtype = x.dtype if isinstance(x, (Tensor, np.ndarray, np.number)) else np.asarray(x).dtype
    if dtype in (torch.bool, np.bool_):
        return "bool"
    if isinstance(dtype, torch.dtype):
        return "float" if dtype.is_floating_point or dtype.is_complex else "integer"
    return "integer" if np.issubdtype(dtype, np.integer) else "float"


def show(x: Any) -> str:
    """A short description of a value: a number to 4 decimals, else its type, shape and dtype."""
    if isinstance(x, Codes):
        return f"Codes of {len(x)} inputs"
    if is_data(x):
        t = as_tensor(x)
        if t.dim() == 0:
            return f"{t.item():.4f}"
        dtype = str(x.dtype) if hasattr(x, "dtype") else "float"
        return f"a {type(x).__name__} of shape {tuple(t.shape)} ({dtype})"
    return cut(repr(x))


class Parts(tuple):
    """A probe's result in named parts (e.g. the loss, and where its gradient went): messages name the part."""

    names: tuple[str, ...]

    def __new__(cls, values: Sequence[Any], names: Sequence[str]) -> Parts:
        parts = super().__new__(cls, values)
        parts.names = tuple(names)
        return parts


def _two_numbers(want: float, got: float) -> str:
    """"expected W, got G" with as many digits as it takes for the two to read differently."""
    for fmt in (".4f", ".6g", ".9g", ".17g"):
        w, g = format(want, fmt), format(got, fmt)
        if w != g:
            break
    return f"expected {w}, got {g}"


def _float64(x: Any) -> bool:
    """Whether ``x`` is a float64 tensor or array, or a Python or NumPy float64 number."""
    return (isinstance(x, Tensor) and x.dtype == torch.float64) or (isinstance(x, np.ndarray) and x.dtype == np.float64) \
        or type(x) is float or isinstance(x, np.float64)


def _float64_array(x: Any) -> bool:
    """Whether ``x`` is a float64 tensor or array: the answer to a question asked in float64."""
    return (isinstance(x, Tensor) and x.dtype == torch.float64) or (isinstance(x, np.ndarray) and x.dtype == np.float64)


def _value_difference(got: Any, want: Any, where: str) -> str | None:
    # float64 tensors for float64 inputs: to float64's accuracy (a constant to 7 digits, an epsilon of 1e-8 or a float32
    # detour miss by 1e-8 and fail); float64 numbers, the answers computed from a spec, to float32's; the rest looser
    exact = _float64_array(got) and _float64_array(want)
    number = not exact and _float64(got) and _float64(want)
    rtol, atol = (1e-9, 1e-12) if exact else (1e-5, 1e-7) if number else (1e-4, 1e-5)
    g, w = as_tensor(got), as_tensor(want)
    close = torch.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if bool(close.all()):
        return None
    relative = float(((g - w).abs() / w.abs().clamp(min=atol / rtol)).nan_to_num(nan=math.inf).max())
    near = (f" It is close (relative error {relative:.1g}), but float64 inputs ask for float64's accuracy (1e-9): a "
            "value rounded to a few decimals, or a step that lost digits, either in float32 (a float32 tensor or constant on the way, a constant rounded to a "
            "few digits, a small number such as 1e-8 added) or by cancellation (a difference of two large, nearly equal numbers, such as "
            "log(exp(a)) - log(exp(b)) or (x - m)**2 expanded as x**2 - 2xm + m**2: compute the small difference "
            "directly)." if exact and bool(torch.isclose(g, w, rtol=1e-5, atol=1e-7, equal_nan=True).all()) else "")
    if not near and bool(torch.isclose(g, w, rtol=1e-2, atol=1e-4, equal_nan=True).all()):
        near = (" It is close (within 1 %): check the formula on this case first (a sign, a term, a constant "
                "factor); if it is right, misses of this size come from computing a step in float16 or bfloat16, a "
                "constant rounded to a few digits, or a small number added for safety (compute in the inputs' dtype "
                "with exact constants).")
    if w.dim() == 0:
        return f"wrong value{where}: {_two_numbers(w.item(), g.item())}.{near}"
    gap = (g - w).abs().nan_to_num(nan=float("inf"))
    gap[close] = 0.0
    index = tuple(int(i) for i in np.unravel_index(int(gap.argmax()), tuple(w.shape)))
    return (f"wrong value{where}: {int((~close).sum())} of {w.numel()} entries differ; the worst is at index "
            f"{index}: {_two_numbers(w[index].item(), g[index].item())}.{near}")


def _type_name(x: Any) -> str:
    if isinstance(x, Tensor):
        return "a torch tensor"
    if isinstance(x, np.ndarray):
        return "a NumPy array"
    if isinstance(x, (float, np.floating)):
        return "a float"
    return f"a {cut(type(x).__name__, 40)}"


def _is_complex(x: Any) -> bool:
    return (isinstance(x, Tensor) and x.is_complex()) or (isinstance(x, np.ndarray) and x.dtype.kind == "c") \
        or isinstance(x, (complex, np.complexfloating))


def _valueless(got: Any, want: Any, where: str) -> str | None:
    """A result without real values where the answer has them: a tensor on the meta device, complex numbers."""
    if isinstance(got, Tensor) and got.is_meta:
        return (f"it returned a tensor on the meta device{where} (a shape without values): compute the values from "
                "the inputs, on their device.")
    if _is_complex(got) and not _is_complex(want):
        return (f"it returned complex numbers{where}, but the answer is real: compute with real dtypes (no complex "
                "cast on the way; take .real only where the statement asks for it).")
    return None


def _type_difference(got: Any, want: Any, where: str) -> str | None:
    """What is wrong with the type of ``got``: the answer's type is a tensor, a NumPy array or a float."""
    if isinstance(want, Tensor):
        if isinstance(got, Tensor):
            return None
        if isinstance(got, np.ndarray) and want.dim() == 0:
            return (f"it returned a NumPy array of shape {got.shape}{where}, but the answer is a single number, a 0-d "
                    "torch tensor: keep the computation in torch and reduce it to one value.")
        if isinstance(got, np.ndarray) and want.dim() > 0:
            return (f"it returned a NumPy array{where}, but the answer is a torch tensor: keep the computation in "
                    "torch (a NumPy array carries no gradient and cannot feed a loss).")
        return (f"it returned {_type_name(got)}{where}, but the answer is a torch tensor: keep the computation "
                "in torch, without .item(), float() or NumPy, so the result stays a tensor.")
    if isinstance(want, np.ndarray):
        if isinstance(got, np.ma.MaskedArray):
            return (f"it returned a masked array{where}, but the answer is a plain NumPy array: return "
                    "np.asarray(...) with nan where a value is undefined, not a mask.")
        if isinstance(got, np.ndarray) and got.dtype.kind not in "biufc":
            return (f"it returned a NumPy array of {got.dtype} values{where}, but the answer holds numbers: build "
                    "it from numbers (np.asarray(..., dtype=float)), not from Python objects.")
        if isinstance(got, np.ndarray):
            return None
        if isinstance(got, Tensor):
            return (f"it returned a torch tensor{where}, but the answer is a NumPy array: "
                    "return one (e.g. with np.asarray).")
        return (f"it returned {_type_name(got)}{where}, but the answer is a NumPy array: "
                "return one (e.g. with np.asarray).")
    # the answer is a number (a Python or NumPy float)
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
        return (f"it returned {_type_name(got)}{where}, but the answer is a float (a Python or NumPy "
                "number): convert it with float(...).")
    return None


def difference(got: Any, want: Any, where: str = "", exact_dtype: bool = False, dtypes: bool = True) -> str | None:
    """What differs between ``got`` and ``want`` (the right answer), or None when they agree.

    ``where`` names the field being compared (" in Codes.z"); ``exact_dtype`` asks for the very
    dtype of ``want`` rather than its kind; ``dtypes=False`` compares shapes and values only.
    """
    if got is None and want is not None:
        return "it returned None: did you forget the `return` statement?"
    if isinstance(want, Codes):
        if not isinstance(got, Codes):
            return f"it returned {cut(type(got).__name__)}, but the answer is a Codes batch (Codes(z, categorical, continuous))."
        for field in ("z", "categorical", "continuous"):
            problem = difference(getattr(got, field), getattr(want, field), f" in Codes.{field}", dtypes, dtypes)
            if problem:
                return problem
        for field in ("z", "categorical", "continuous"):  # codes are copied, never computed: to the last bit
            g, w = getattr(got, field), getattr(want, field)
            g = g.to(w.dtype) if isinstance(g, Tensor) and isinstance(w, Tensor) else g  # a dtype is said elsewhere
            g, w = as_tensor(g), as_tensor(w)
            if not torch.equal(g, w):
                gap = float((g - w).abs().max())
                return (f"the values in Codes.{field} differ from the inputs' by up to {gap:.2g}: a traversal copies "
                        "z, the codes and the grid's values exactly, with no arithmetic on them (no rounding, "
                        "rescaling or detour through another dtype).")
        return None
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"it returned {show(got)}, but the answer has {len(want)} parts."
        names = want.names if isinstance(want, Parts) else [f"part {i}" for i in range(len(want))]
        for name, g, w in zip(names, got, want):
            problem = difference(g, w, f"{where} in {name}", exact_dtype, dtypes)
            if problem:
                return problem
        return None
    if not is_data(want):
        return None  # networks, specs, ...: not compared
    problem = _type_difference(got, want, where) or _valueless(got, want, where)
    if problem:
        return problem
    g, w = as_tensor(got), as_tensor(want)
    if g.shape != w.shape:
        if w.dim() == 0:
            fix = ("drop the extra dimension of size 1 (.squeeze(), or reduce without keepdim=True)"
                   if g.numel() == 1 else "reduce it to one value as the statement says")
            return (f"wrong shape{where}: it returned shape {tuple(g.shape)}, but the answer is a single number "
                    f"(a 0-d tensor): {fix}.")
        return f"wrong shape{where}: it returned shape {tuple(g.shape)}, but the answer has shape {tuple(w.shape)}."
    if not dtypes:
        return _value_difference(got, want, where)
    if exact_dtype and isinstance(want, Tensor) and (not isinstance(got, Tensor) or got.dtype != want.dtype):
        return (f"wrong dtype{where}: it is {getattr(got, 'dtype', type(got).__name__)}, but must be {want.dtype}"
                + (" (category indices are int64: use .long())." if kind(want) == "integer" else "."))
    if (isinstance(want, Tensor) and isinstance(got, Tensor) and want.dtype.is_floating_point
            and got.dtype.is_floating_point and got.dtype != want.dtype):
        cause = ("a float64 value mixed in (a NumPy array, dtype=torch.float64) promotes the result"
                 if got.dtype.itemsize > want.dtype.itemsize else
                 "a new tensor made without dtype= (torch.tensor(...), torch.zeros(...)) is float32")
        return (f"wrong dtype{where}: it is {got.dtype}, but the inputs are {want.dtype} and the answer must be "
                f"too: {cause}; compute in the inputs' dtype, or convert with .to({want.dtype}).")
    if kind(want) != kind(got) and not (kind(want) == "float" and w.dim() == 0):
        return f"wrong dtype{where}: it holds {kind(got)} values, but the answer holds {kind(want)} values."
    return _value_difference(got, want, where)


def same(got: Any, want: Any, dtypes: bool = True) -> bool:
    """``got`` agrees with ``want`` in type, shape, value (up to float tolerance) and, with ``dtypes``, dtype."""
    return difference(got, want, dtypes=dtypes) is None
