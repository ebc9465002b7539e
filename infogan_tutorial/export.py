"""Compact export: a weights-only checkpoint (G and D/Q) for sharing, in fp16, int8 or 4 bits.

In the paper's MNIST networks the two 1024 x 6272 fully connected layers hold 12.8M of the
13.3M weights, so they decide the size. ``int8`` stores each with one scale per row (half the
fp16 size); ``int4`` stores two weights per byte with one fp16 scale per
:data:`~infogan_tutorial.quantize.INT4_GROUP` weights (about a quarter). The file is read
back, to fp32 weights, by :func:`~infogan_tutorial.checkpoints.load_networks`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .checkpoints import (atomic_save, compact_checkpoint, is_training_checkpoint, network_weights, read_checkpoint,
                          refuse_foreign_file)
from .errors import CheckpointError, SpecError
from .quantize import INT4_GROUP, quantizable, quantize_int4, quantize_rows
from .training import TrainState, checkpoint_contents

def export_model(source: TrainState | str | Path, path: str | Path,
                 dtype: torch.dtype = torch.float16, int8: bool = False, int4: bool = False) -> None:
    """Write a compact, weights-only checkpoint of ``source`` (a training state or a checkpoint file).

    Floating-point tensors are stored in ``dtype``. With ``int8=True`` the large weight
    matrices (at least ``quantize.QUANTIZE_MIN_SIZE`` numbers) are stored as int8 with a scale per row; with
    ``int4=True`` in 4 bits with a scale per ``INT4_GROUP`` weights (a matrix whose size is
    not a multiple of ``INT4_GROUP`` falls back to int8).
    """
    if not isinstance(source, (TrainState, str, Path)):
        raise SpecError(f"export_model: source must be a TrainState or a checkpoint path, got "
                        f"{type(source).__name__} (for networks, save a state: create_state/resume_state).")
    if dtype not in (torch.float16, torch.float32):
        raise SpecError(f"export_model: dtype must be a floating-point dtype the package reads back, torch.float16 "
                        f"(half the size) or torch.float32, got {dtype!r}.")
    for name, value in (("int8", int8), ("int4", int4)):
        if not isinstance(value, bool):
            raise SpecError(f"export_model: {name} must be True or False, got {value!r}.")
    if int8 and int4:
        raise SpecError("export_model: choose int8 or int4, not both.")
    if Path(path).is_file() and is_training_checkpoint(path):
        raise CheckpointError(f"export_model: {path} is a resumable training checkpoint; writing the compact model "
                              "there would destroy it. Choose another path.")
    refuse_foreign_file(path, "export_model: ")  # an earlier export may be replaced
    ckpt = checkpoint_contents(source) if isinstance(source, TrainState) else read_checkpoint(source)
    nets: dict[str, dict[str, Tensor]] = {"G": {}, "D": {}}
    scales: dict[str, dict[str, Tensor]] = {}
    packed: dict[str, dict[str, dict]] = {}
    for net in ("G", "D"):
        for k, v in network_weights(ckpt, net).items():
            if int4 and quantizable(v, INT4_GROUP):
                nets[net][k], group_scales = quantize_int4(v)
                packed.setdefault(net, {})[k] = {"scales": group_scales, "shape": list(v.shape)}
            elif (int8 or int4) and quantizable(v):
                nets[net][k], scales.setdefault(net, {})[k] = quantize_rows(v)
            else:
                nets[net][k] = v.to(dtype) if v.is_floating_point() else v
            stored = [nets[net][k], scales.get(net, {}).get(k), packed.get(net, {}).get(k, {}).get("scales")]
            if any(t is not None and t.is_floating_point() and not torch.isfinite(t).all() for t in stored):
                raise SpecError(f"export_model: {net}'s weight {k} (largest magnitude {float(v.abs().max()):.3g}) does "
                                f"not fit the compact format ({dtype} holds numbers up to "
                                f"{torch.finfo(dtype).max:.4g}): the file would hold inf. Use the full checkpoint "
                                "itself (checkpoint.pt), or export with dtype=torch.float32 and no int8/int4.")
    atomic_save(compact_checkpoint(ckpt, nets["G"], nets["D"], scales, packed), path)
