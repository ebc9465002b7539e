"""Devices: where a run trains, and in which arithmetic.

* :func:`select_device`: cuda, then mps, then cpu, or the device you name, checked to exist.
* :func:`autocast_dtype`: the mixed-precision dtype that ``TrainConfig.precision`` means on a
  device: bf16 on GPUs that have it natively, fp16 (with a gradient scaler) on those that do
  not, such as Colab's T4, and fp32 on the CPU.
"""

from __future__ import annotations

import torch

from .errors import SpecError

PRECISIONS = {"auto": None, "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
"""Values of ``TrainConfig.precision`` and the dtype each forces on CUDA (None: decided, or fp32)."""


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; otherwise the named device, checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise SpecError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:0 or mps.") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError(f"device {name!r} was asked for, but CUDA is not available here; use --device cpu or auto.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SpecError(f"device {name!r} was asked for, but MPS is not available here; use --device cpu or auto.")
    return device


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The mixed-precision dtype for ``device`` and a ``TrainConfig.precision``; None means fp32.

    Off CUDA, and for ``fp32``, None. ``auto``: bf16 where the GPU has it natively, else fp16.
    """
    if precision not in PRECISIONS:
        raise SpecError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}.")
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision != "auto":
        return PRECISIONS[precision]
    try:  # emulated bf16 (e.g. on a T4) is slow: count only native support
        native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.4 has no such argument and reports native support only
        native_bf16 = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if native_bf16 else torch.float16
