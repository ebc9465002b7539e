"""Devices: where a run trains.

* :func:`select_device`: ``$INFOGAN_DEVICE`` if set, else cuda, then mps, then cpu; or the device
  you name, checked to exist.
* :func:`usable_device`: a device an API caller named, checked to exist here (a :class:`SpecError` otherwise).

Which arithmetic a run uses there, and whether it replays a CUDA graph, is decided by
:mod:`~infogan_tutorial.compute`.
"""

from __future__ import annotations

import os

import torch

from .errors import SpecError


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks ``$INFOGAN_DEVICE`` if it is set (e.g. ``cpu`` on a GPU machine), else cuda, then mps,
    then cpu; otherwise the named device, checked to exist."""
    if name == "auto" and os.environ.get("INFOGAN_DEVICE", "auto") != "auto":
        try:
            return select_device(os.environ["INFOGAN_DEVICE"])
        except SpecError as e:
            raise SpecError(f"$INFOGAN_DEVICE: {e} (or unset INFOGAN_DEVICE)") from None
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return usable_device(name, fix="'cpu' or 'auto' (on the command line: --device cpu or auto)")


def usable_device(device: torch.device | str, fix: str = "device='cpu'") -> torch.device:
    """``device`` as a :class:`torch.device` that exists here, else a :class:`SpecError` naming the choices;
    ``fix`` is the advice for a device this machine lacks (the command line says ``--device cpu or auto``)."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise SpecError(f"unknown device {device!r}; use cpu, cuda, cuda:0 or mps (the command line also takes auto).") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError(f"device {str(device)!r} was asked for, but CUDA is not available here; use {fix}.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise SpecError(f"device {str(device)!r} does not exist: this machine has {torch.cuda.device_count()} CUDA "
                        f"device(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}; use cuda or cuda:0.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SpecError(f"device {str(device)!r} was asked for, but MPS is not available here; use {fix}.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise SpecError(f"cannot use device {device.type!r} here; use cpu, cuda or mps.")
    return device
