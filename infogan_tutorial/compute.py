"""How a run computes: the one place that decides its arithmetic and whether its step is replayed.

A run's recipe (:class:`~infogan_tutorial.config.TrainConfig`) says what it *wants*:
``precision`` (``auto``, ``bf16``, ``fp16`` or ``fp32``) and ``cuda_graph`` (``None``: wherever the
device can record one; ``True``; ``False``). The device a state lives on says what it *can*
(:class:`DeviceFacts`). :func:`plan_compute` turns the two into a :class:`ComputePlan`, once, when
the state is made; the step, the loop, the profiles, the command line and the chapters all read
that plan and decide nothing themselves.

The rules, with the reasons:

* Off CUDA: fp32, eagerly (a graph needs CUDA). Asking for a graph there explicitly
  (``cuda_graph=True``) is refused; ``None`` simply means none. On the CPU, ``bf16`` asked for by
  name trains under bf16 autocast (native on CPUs with AVX-512 BF16 or AMX, and faster there;
  emulated, and slower, elsewhere); ``auto`` is bf16 on a CPU with native bf16 (1.6 to 1.9 times the
  fp32 step on this project's Zen 4 machine; over five seeds its accuracy could not be told from
  fp32's, README), fp32 on one without. Adam's update is fused there (:attr:`ComputePlan.fused_adam`).
* On a GPU with native bf16 (A100, L4, H100): ``auto`` is bf16, and the step is recorded as a
  CUDA graph where this PyTorch can record one.
* On a GPU without it (Colab's T4): ``auto`` is fp32 *with* the graph where one records (fp16's
  gradient scaler reads its scale back to the host every step, which a graph cannot hold; fp32
  replayed is estimated about 2.5 times faster than fp16 eager on a T4), else fp16 with the scaler.
* ``fp16`` asked for by name keeps fp16 and its scaler, eagerly; with ``cuda_graph=True`` as well,
  the two cannot go together and the error says which to drop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .cuda_graph import graph_problem
from .errors import SpecError

PRECISIONS = {"auto": None, "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
"""Values of ``TrainConfig.precision`` and the dtype each forces on CUDA (None: decided, or fp32)."""


@dataclass(frozen=True)
class DeviceFacts:
    """What the plan asks of a device, and nothing else: its type, whether it has native bf16,
    and why no CUDA graph records there (None: one does). Tests fake exactly these answers."""

    type: str
    native_bf16: bool = False
    graph_problem: str | None = None


def device_facts(device: torch.device, ask_bf16: bool = True) -> DeviceFacts:
    """The answers of ``device`` (a torch.device or its name); a GPU or the CPU is asked about bf16 only with
    ``ask_bf16``."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise SpecError(f"unknown device {device!r}; use cpu, cuda, cuda:0 or mps.") from e
    if ask_bf16 and (device.type == "cuda" and not torch.cuda.is_available() or device.type == "mps" and not (
            torch.backends.mps.is_available())):  # a question for a GPU that is not here (fp32 and fp16 ask none)
        raise SpecError(f"there is no {device.type} device here (torch sees none) to ask whether it has bf16; use "
                        "device 'cpu' or 'auto', precision 'fp32' or 'fp16', or pass facts= to plan for another "
                        "machine.")
    bf16 = ask_bf16 and (native_bf16(device) if device.type == "cuda" else
                         device.type == "cpu" and cpu_native_bf16())
    return DeviceFacts(device.type, native_bf16=bf16, graph_problem=graph_problem(device))


def cpu_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (oneDNN's answer: AVX-512 BF16 or AMX on x86); False where
    torch cannot say."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def native_bf16(device: torch.device) -> bool:
    """Whether the GPU computes bf16 natively (Ampere or newer); emulated bf16 (e.g. a T4's) is slow and
    does not count. torch < 2.4 has no ``including_emulation`` argument, so the capability decides there."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch < 2.4: its answer may count emulation; bf16 is native from compute capability 8
        return torch.cuda.get_device_capability(device)[0] >= 8


@dataclass(frozen=True)
class ComputePlan:
    """How a state computes.

    Attributes:
        device: where the state lives.
        dtype: autocast's dtype (``torch.bfloat16`` or ``torch.float16``); None: plain fp32.
        scaler: a gradient scaler runs beside fp16 (and syncs with the host each step).
        cuda_graph: each step is replayed from a recorded CUDA graph.
        why: one sentence on why, for the reader.
    """

    device: torch.device
    dtype: torch.dtype | None
    scaler: bool
    cuda_graph: bool
    why: str

    @property
    def arithmetic(self) -> str:
        """``fp32``, ``bf16`` or ``fp16``: what the step computes in."""
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    @property
    def fused_adam(self) -> bool:
        """Adam updates each parameter in one fused pass (torch's CPU kernel, from torch 2.4) instead of a dozen
        elementwise ones: on the CPU, where the update of G's and D's 6.4-million-weight layers was a quarter of
        the bf16 step (1.2 to 1.3 times the step on this project's machine, README). CUDA keeps foreach Adam,
        which the CUDA graph rows were measured with."""
        return self.device.type == "cpu" and torch.__version__ >= "2.4"

    def __str__(self) -> str:
        return f"{self.arithmetic}{' + CUDA graph' if self.cuda_graph else ''} on {self.device}"


def plan_compute(device: torch.device | str, precision: str = "auto", cuda_graph: bool | None = None,
                 compile: bool = False, facts: DeviceFacts | None = None) -> ComputePlan:
    """The plan for a state on ``device`` (see the module's rules).

    Args:
        device: where the state will live.
        precision: ``TrainConfig.precision``.
        cuda_graph: ``TrainConfig.cuda_graph``: None (wherever one records), True or False.
        compile: ``TrainConfig.compile`` (no graph with it).
        facts: the device's answers; by default asked of ``device`` (tests pass a T4's or an H100's).

    Raises:
        SpecError: an unknown precision or device, precision ``auto`` or ``bf16`` for a GPU (cuda, mps) torch
            does not see here while ``facts`` is not given, or ``cuda_graph=True`` where no graph can be recorded
            (off CUDA, with fp16, with compile, or on a torch too old); the message names the fix.
    """
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise SpecError(f"unknown device {device!r}; use cpu, cuda, cuda:0 or mps.") from e
    if not (cuda_graph is None or isinstance(cuda_graph, bool)):
        raise SpecError(f"cuda_graph must be None (wherever the device records one), True or False, got {cuda_graph!r}.")
    if not isinstance(compile, bool):
        raise SpecError(f"compile must be True or False, got {compile!r}.")
    if precision not in PRECISIONS:
        raise SpecError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}.")
    facts = facts if facts is not None else device_facts(device, ask_bf16=precision in ("auto", "bf16"))
    if not isinstance(facts, DeviceFacts) or facts.type != device.type:
        raise SpecError(f"plan_compute: the facts describe a {getattr(facts, 'type', type(facts).__name__)!s} device, "
                        f"but the plan is for {device}; pass the facts of that device (or none, to ask it).")
    if cuda_graph and compile:
        raise SpecError("choose compile or cuda_graph, not both (a captured step is already launched at once).")
    if cuda_graph and facts.graph_problem is not None:
        raise SpecError(f"cuda_graph=True: {facts.graph_problem} Leave cuda_graph unset (the default records one "
                        "wherever the device can) or set it to False; on the CLI drop --cuda-graph.")
    if facts.type == "cpu" and precision == "bf16":
        return ComputePlan(device, torch.bfloat16, False, False, "bf16 on the CPU, as asked" + (
            "" if facts.native_bf16 else " (emulated: this CPU has no native bf16 (AVX-512 BF16 or AMX), so it is "
                                         "slower than fp32; use precision='fp32' here)"))
    if facts.type == "cpu" and precision == "auto" and facts.native_bf16:
        return ComputePlan(device, torch.bfloat16, False, False, "bf16 on cpu: this CPU has native bf16 (AVX-512 BF16 "
                                                                 "or AMX); precision='fp32' (--precision fp32) turns it off")
    if facts.type != "cuda":
        return ComputePlan(device, None, False, False, f"fp32 on {device.type}: " + (
            "this CPU has no native bf16 (AVX-512 BF16 or AMX)" if facts.type == "cpu" and precision == "auto"
            else "as asked" if precision == "fp32" else "mixed precision is a GPU's"))
    records = cuda_graph is not False and not compile and facts.graph_problem is None
    if precision == "fp16" and cuda_graph:
        raise SpecError("cuda_graph=True cannot record fp16 training: its gradient scaler reads the scale back "
                        "to the host every step. Use precision='auto' (bf16 where the GPU has it, else fp32 with "
                        "the graph) or 'fp32', or set cuda_graph=False to keep fp16 (CLI: --precision auto, or "
                        "--no-cuda-graph).")
    if precision == "auto":
        if facts.native_bf16:
            dtype, why = torch.bfloat16, "bf16: this GPU has it natively"
        elif records:
            dtype, why = None, "fp32 with the graph: no native bf16, and fp16's scaler cannot be recorded"
        else:
            dtype, why = torch.float16, "fp16 with a gradient scaler: no native bf16 here"
    else:
        dtype, why = PRECISIONS[precision], f"{precision}, as asked"
        if precision == "bf16" and not facts.native_bf16:
            why += " (emulated on this GPU, which has no native bf16: slower than fp32; 'auto' picks for you)"
    graph = records and dtype != torch.float16
    if graph:
        why += "; each step replayed from a CUDA graph"
    elif cuda_graph is None and facts.graph_problem is not None:
        why += f"; no CUDA graph ({facts.graph_problem})"
    return ComputePlan(device, dtype, dtype == torch.float16, graph, why)


def autocast_dtype(device: torch.device, precision: str = "auto", cuda_graph: bool | None = False) -> torch.dtype | None:
    """The autocast dtype of :func:`plan_compute` (None: fp32); by default for an eager step."""
    return plan_compute(device, precision, cuda_graph).dtype
