"""Weight quantisation: the one 8-bit and 4-bit format shared by exports, the pretrained model and the page.

``int8`` keeps one fp32 scale per row (output unit): q = round(w / s) in -127..127 with s = max(abs(row)) / 127.
``int4`` keeps one fp16 scale per :data:`INT4_GROUP` consecutive weights: q = round(w / s) in -7..7 with
s = max(abs(group)) / 7 (an all-zero group gets s = 1), stored as q + 8, two per byte, low nibble first. Each
weight is then at most s / 2 away. The explorer's ``explorer.js`` reads the same bytes, so that the page
computes with exactly the weights :func:`dequantize_int4` restores in Python.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .errors import SpecError

INT4_GROUP = 64
"""4-bit weights share one scale per this many consecutive weights."""

QUANTIZE_MIN_SIZE = 100_000
"""Only weight tensors with at least this many numbers are quantised (in the paper's networks the two 1024 x 6272
layers, and three of 131,072 numbers, G's 128 -> 64 up-convolution, D's 64 -> 128 convolution and Q's FC 1024 -> 128)."""


def quantizable(weight: Tensor, group: int = 1) -> bool:
    """Whether ``weight`` is a floating-point matrix (or conv kernel) large enough to quantise, whose size is a
    multiple of ``group``."""
    return (weight.is_floating_point() and weight.dim() >= 2 and weight.numel() >= QUANTIZE_MIN_SIZE
            and weight.numel() % group == 0)


def _checked(weight: object, who: str) -> Tensor:
    """``weight`` if it is a finite floating-point tensor of at least one dimension, else a SpecError."""
    if not isinstance(weight, Tensor) or not weight.is_floating_point() or weight.dim() < 1:
        raise SpecError(f"{who} needs a floating-point weight tensor, got "
                        f"{getattr(weight, 'dtype', type(weight).__name__)}; convert with torch.as_tensor(w).float().")
    if not bool(torch.isfinite(weight).all()):
        raise SpecError(f"{who}: the weights hold NaN or infinite values, which no scale can represent; quantise "
                        "finite weights (a diverged network cannot be exported).")
    return weight


def quantize_rows(weight: Tensor) -> tuple[Tensor, Tensor]:
    """int8 weights and one fp32 scale per row: ``w ≈ q * scale``, ``abs(error) <= scale / 2``."""
    rows = _checked(weight, "quantize_rows").detach().float().reshape(weight.shape[0], -1)
    scale = rows.abs().amax(dim=1) / 127
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)  # an all-zero row
    q = torch.round(rows / scale[:, None]).to(torch.int8).reshape(weight.shape)
    return q, scale


def dequantize_rows(q: Tensor, scale: Tensor) -> Tensor:
    """fp32 weights from int8 ``q`` and one scale per row: w = q * scale."""
    if not isinstance(q, Tensor) or not isinstance(scale, Tensor) or q.dim() == 0 or scale.numel() != q.shape[0]:
        raise SpecError(f"dequantize_rows needs an int8 tensor q and one scale per row of it, got "
                        f"{tuple(q.shape) if isinstance(q, Tensor) else type(q).__name__} and "
                        f"{tuple(scale.shape) if isinstance(scale, Tensor) else type(scale).__name__} scales.")
    return q.float() * scale.float().view(-1, *([1] * (q.dim() - 1)))


def quantize_int4(weight: Tensor) -> tuple[Tensor, Tensor]:
    """Two 4-bit weights per byte (a uint8 tensor of ``numel / 2``) and fp16 scales, one per ``INT4_GROUP``.

    Weights that came out of :func:`dequantize_int4` are reproduced exactly (each group's largest ``abs(q)`` is 7).
    """
    _checked(weight, "quantize_int4")
    if weight.numel() % INT4_GROUP or not weight.numel():
        raise SpecError(f"quantize_int4: {weight.numel()} weights are not a positive multiple of {INT4_GROUP}.")
    groups = weight.detach().float().reshape(-1, INT4_GROUP)
    if float(groups.abs().max()) / 7 > torch.finfo(torch.float16).max:
        raise SpecError("quantize_int4: a weight is larger than 7 times fp16's largest number (65504), so its group's "
                        "scale would overflow; such weights cannot be stored in 4 bits with fp16 scales.")
    scale = (groups.abs().amax(dim=1) / 7).half()
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)  # an all-zero group (or one below fp16)
    codes = (torch.round(groups / scale.float()[:, None]).clamp(-8, 7) + 8).to(torch.uint8).reshape(-1)
    return codes[0::2] | (codes[1::2] << 4), scale


def dequantize_int4(packed: Tensor, scales: Tensor, shape: list[int] | tuple[int, ...]) -> Tensor:
    """fp32 weights from :func:`quantize_int4`'s bytes and scales: w = (q - 8) * scale."""
    from .errors import SpecError

    if not isinstance(packed, Tensor) or not isinstance(scales, Tensor) or packed.dtype != torch.uint8:
        raise SpecError("dequantize_int4 needs quantize_int4's two tensors: the packed uint8 bytes and the scales.")
    if not isinstance(shape, (list, tuple, torch.Size)) or not all(isinstance(d, int) and d >= 0 for d in shape) \
            or math.prod(shape) != 2 * packed.numel() or packed.numel() * 2 != INT4_GROUP * scales.numel():
        raise SpecError(f"dequantize_int4: shape {shape!r} does not match the packed weights ({2 * packed.numel():,} "
                        f"values, {scales.numel():,} groups of {INT4_GROUP}); pass the shape stored beside them.")
    q = torch.stack([packed & 0x0F, packed >> 4], dim=1).reshape(-1, INT4_GROUP).float() - 8
    return (q * scales.float()[:, None]).reshape(shape)
