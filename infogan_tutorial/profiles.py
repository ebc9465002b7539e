"""Profiles: how much work a chapter, a test or the CLI does on this machine.

- ``smoke``: seconds per chapter, for the tests and CI (bundled data, tiny runs).
- ``cpu``: the default without CUDA; each chapter trains for about 3 minutes at most on 2 cores.
- ``gpu``: the default under CUDA, sized for Colab's free T4: each chapter's training within about
  3 minutes there, each step replayed from a CUDA graph (see :func:`cuda_graph_settings`).

The choice is automatic (``gpu`` when CUDA is available, else ``cpu``) and is overridden by
the environment variable ``INFOGAN_PROFILE``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

from .cuda_graph import graph_problem
from .errors import SpecError
from .devices import autocast_dtype
from .training import TrainConfig

FP32: dict[str, object] = {"precision": "fp32"}
"""The TrainConfig settings of plain fp32 training (no autocast, no gradient scaler)."""


def cuda_graph_settings() -> dict[str, object]:
    """TrainConfig settings that replay each step from a CUDA graph on this machine's GPU; {} where none records.

    With native bf16 (A100, L4, H100): bf16 and the graph. Without it (Colab's T4): fp32 and the graph,
    since fp16's gradient scaler cannot be recorded and fp32 with the graph is estimated about 2.5 times
    faster than fp16 without it on a T4 (README, "Colab GPU timing"). Off CUDA, or where the graph cannot
    be recorded at all (torch < 2.5): {} (the eager step with TrainConfig's own precision).
    """
    if not torch.cuda.is_available():
        return {}
    device = torch.device("cuda")
    bf16 = autocast_dtype(device, "auto") == torch.bfloat16
    if graph_problem(device) is not None:
        return {}
    return {"cuda_graph": True} if bf16 else {"cuda_graph": True, **FP32}


@dataclass(frozen=True)
class Profile:
    """Sizes of the work.

    Attributes:
        name: smoke, cpu or gpu.
        steps: training steps of a chapter's main run.
        batch_size: images per training step.
        log_every: steps between reads of the losses.
        eval_images: real labelled images used to score c1 (at most what the split holds).
        data_source: where training images come from (see ``data.load_dataset``).
        checkpoints: checkpoints a run writes with an output folder, the last one at its end
            (``checkpoint_every = steps // checkpoints``).
        cuda_graph: replay each step from a CUDA graph where this machine's GPU records one
            (:func:`cuda_graph_settings`), unless the caller sets ``cuda_graph`` or ``compile``.
    """

    name: str
    steps: int
    batch_size: int
    log_every: int
    eval_images: int
    data_source: str
    checkpoints: int = 4
    cuda_graph: bool = False

    def train_config(self, **overrides: object) -> TrainConfig:
        """A :class:`TrainConfig` with this profile's steps, batch size, logging, checkpoints and graph, plus overrides.

        The checkpoint interval follows the run's steps (``steps`` overridden or not).
        """
        steps = int(overrides.get("steps", self.steps))  # type: ignore[call-overload]
        base: dict[str, object] = {"steps": steps, "batch_size": self.batch_size, "log_every": self.log_every,
                                   "checkpoint_every": max(steps // self.checkpoints, 1)}
        if self.cuda_graph and "cuda_graph" not in overrides and not overrides.get("compile") \
                and overrides.get("precision") != "fp16":  # fp16's scaler cannot be recorded
            base.update(cuda_graph_settings())
        return TrainConfig(**{**base, **overrides})


PROFILES = {
    "smoke": Profile("smoke", steps=12, batch_size=32, log_every=3, eval_images=200, data_source="sample"),
    "cpu": Profile("cpu", steps=270, batch_size=64, log_every=20, eval_images=1000, data_source="auto"),
    "gpu": Profile("gpu", steps=5000, batch_size=128, log_every=100, eval_images=10000, data_source="auto",
                   checkpoints=2, cuda_graph=True),
}


def get_profile(name: str | None = None) -> Profile:
    """The named profile; without a name, ``$INFOGAN_PROFILE``, else ``gpu`` under CUDA, else ``cpu``."""
    name = name or os.environ.get("INFOGAN_PROFILE") or ("gpu" if torch.cuda.is_available() else "cpu")
    if name not in PROFILES:
        raise SpecError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} "
                        "(e.g. export INFOGAN_PROFILE=cpu).")
    return PROFILES[name]


def with_steps(profile: Profile, steps: int) -> Profile:
    """A copy of ``profile`` with another number of steps."""
    return dataclasses.replace(profile, steps=steps)
