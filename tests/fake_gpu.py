"""A GPU that is not there: torch.cuda answers as a Colab T4 or an H100 would, and nothing else changes.

Only the *answers* are faked (is CUDA available, which GPU, its compute capability, native bf16,
whether a stream is capturing): every tensor still lives on the CPU, so whatever the package
decides for a CUDA machine runs, and any code that would then touch a real GPU fails loudly.
The package's own decisions (profiles, :func:`infogan_tutorial.compute.plan_compute`, the CLI,
the chapters) are what is under test.

Two ways in:

* tests: the ``fake_gpu_kind`` fixture of ``tests/conftest.py`` (``install(kind, monkeypatch.setattr)``);
* notebook kernels under nbval: ``PYTHONPATH=tests/fake_gpu_kernel INFOGAN_FAKE_GPU=t4`` runs
  ``sitecustomize.py`` there, which calls :func:`install` at start-up; ``INFOGAN_DEVICE=cpu``
  then keeps the chapters' ``select_device("auto")`` on the CPU (``scripts/dev.sh test`` does both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import torch

GiB = 1024 ** 3


@dataclass(frozen=True)
class FakeGPU:
    name: str
    capability: tuple[int, int]
    total_memory: int
    multi_processor_count: int

    @property
    def native_bf16(self) -> bool:
        return self.capability[0] >= 8  # Ampere and newer


GPUS = {
    "t4": FakeGPU("Tesla T4", (7, 5), 15 * GiB, 40),  # Colab's free GPU: no native bf16
    "h100": FakeGPU("NVIDIA H100 80GB HBM3", (9, 0), 79 * GiB, 132),
}


class IdleStream:
    """The current stream of a GPU that is not capturing a graph (what optimizers ask before each step)."""

    def is_capturing(self) -> bool:
        return False


def answers(gpu: FakeGPU) -> dict[tuple[object, str], Callable]:
    """The torch functions the fake replaces, by (module, name), with what that GPU would answer."""
    def is_bf16_supported(including_emulation: bool = True) -> bool:
        return gpu.native_bf16 or including_emulation  # torch counts a T4's emulated bf16 unless told not to

    cuda = torch.cuda
    rng_state = [torch.zeros(16, dtype=torch.uint8)]  # the GPU's generator state, as fork_rng saves and restores it

    def set_rng_state(state: torch.Tensor, device: object = "cuda") -> None:
        rng_state[0] = state.clone()

    return {
        (cuda, "is_available"): lambda: True,
        (cuda, "device_count"): lambda: 1,
        (cuda, "current_device"): lambda: 0,
        (cuda, "get_device_name"): lambda device=None: gpu.name,
        (cuda, "get_device_capability"): lambda device=None: gpu.capability,
        (cuda, "get_device_properties"): lambda device=None: SimpleNamespace(
            name=gpu.name, major=gpu.capability[0], minor=gpu.capability[1], total_memory=gpu.total_memory,
            multi_processor_count=gpu.multi_processor_count),
        (cuda, "is_bf16_supported"): is_bf16_supported,
        (cuda, "get_rng_state"): lambda device="cuda": rng_state[0].clone(),
        (cuda, "set_rng_state"): set_rng_state,
        # asked by every optimizer step once CUDA "exists": is a graph being captured?
        (cuda, "is_current_stream_capturing"): lambda: False,
        (torch.accelerator, "current_stream"): lambda device=None: IdleStream(),
    }


def install(kind: str, setattr: Callable[[object, str, object], None] = setattr) -> FakeGPU:
    """Make torch.cuda answer as the GPU ``kind`` (``t4`` or ``h100``); ``setattr`` may be a monkeypatch's."""
    if kind not in GPUS:
        raise ValueError(f"unknown fake GPU {kind!r}; choose one of {sorted(GPUS)}")
    gpu = GPUS[kind]
    for (module, name), answer in answers(gpu).items():
        setattr(module, name, answer)
    return gpu
