"""Profiles: how much work a chapter, a test or the CLI does on this machine.

- ``smoke``: seconds per chapter, for the tests and CI (bundled data, tiny runs).
- ``cpu``: the default without CUDA; each chapter trains for about 3 minutes at most on 2 cores.
- ``gpu``: the default under CUDA, sized for Colab's free T4: each chapter's training within about
  3 minutes there.

A profile sizes the work and nothing else: how a run computes on its device (bf16 or fp32, a CUDA
graph or not) is decided by :mod:`~infogan_tutorial.compute` when the state is made, the same in
every profile, so a profile's config serves a CPU state on a GPU machine as well as a GPU state.

The choice is automatic (``gpu`` where the run trains on CUDA, else ``cpu``; ``$INFOGAN_DEVICE=cpu``
keeps a GPU machine's runs on the CPU, and so in the ``cpu`` profile) and is overridden by the
environment variable ``INFOGAN_PROFILE``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

from .devices import select_device
from .errors import SpecError
from .training import TrainConfig


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
    """

    name: str
    steps: int
    batch_size: int
    log_every: int
    eval_images: int
    data_source: str
    checkpoints: int = 4

    def train_config(self, **overrides: object) -> TrainConfig:
        """A :class:`TrainConfig` with this profile's steps, batch size, logging and checkpoints, plus overrides.

        The checkpoint interval follows the run's steps (``steps`` overridden or not). Nothing in it
        depends on the machine: the state's device decides the arithmetic and the graph.
        """
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)})
        if unknown:
            raise SpecError(f"train_config: {unknown} are not TrainConfig fields; overrides change fields such as "
                            "seed=1 or lambda_invariant=1.0.")
        steps = int(overrides.get("steps", self.steps))  # type: ignore[call-overload]
        base: dict[str, object] = {"steps": steps, "batch_size": self.batch_size, "log_every": self.log_every,
                                   "checkpoint_every": max(steps // self.checkpoints, 1)}
        return TrainConfig(**{**base, **overrides})


PROFILES = {
    "smoke": Profile("smoke", steps=12, batch_size=32, log_every=3, eval_images=200, data_source="sample"),
    "cpu": Profile("cpu", steps=270, batch_size=64, log_every=20, eval_images=1000, data_source="auto"),
    "gpu": Profile("gpu", steps=5000, batch_size=128, log_every=100, eval_images=10000, data_source="auto",
                   checkpoints=2),
}


def get_profile(name: str | None = None, device: torch.device | str | None = None) -> Profile:
    """The named profile; without a name, ``$INFOGAN_PROFILE``, else ``gpu`` where the run will train on a
    CUDA device (``device``; by default ``select_device("auto")``, which ``$INFOGAN_DEVICE`` can keep on the
    CPU of a GPU machine), else ``cpu``."""
    if name is not None and not isinstance(name, str):
        raise SpecError(f"get_profile takes a profile's name ({sorted(PROFILES)}) or None, got {type(name).__name__}.")
    if not name and not os.environ.get("INFOGAN_PROFILE"):
        device = select_device("auto" if device is None else device)  # an unknown device: a SpecError naming them
        name = "gpu" if device.type == "cuda" else "cpu"
    name = name or os.environ["INFOGAN_PROFILE"]
    if name not in PROFILES:
        raise SpecError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} "
                        "(e.g. export INFOGAN_PROFILE=cpu).")
    return PROFILES[name]


def with_steps(profile: Profile, steps: int) -> Profile:
    """A copy of ``profile`` with another number of steps (a whole number >= 1)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise SpecError(f"with_steps needs a whole number of steps >= 1, got {steps!r}.")
    return dataclasses.replace(profile, steps=steps)
