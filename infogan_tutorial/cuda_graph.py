"""CUDA graphs: record one whole training step once, then replay it with a single launch.

At the batch sizes of the book, a training step of these networks is launch-bound on a GPU:
it launches several hundred small kernels, one at a time from Python, and the GPU waits for
them (chapter 6 measured 17 to 20 ms a step at batch 128 on an H100; replayed, 2.2 ms). A CUDA
graph records the kernels of one step - G's forward pass, D and Q on real and fake images,
both backward passes, both Adam updates and the draws of z and c - and replays them all
at once. A replay needs:

* inputs at fixed addresses: each real batch is copied into one static tensor;
* no host synchronisation inside the step: :func:`~infogan_tutorial.training.train_step`
  reads nothing back (the values checks on codes it drew itself are skipped);
* optimizers that count their steps on the GPU: ``Adam(capturable=True)``, which
  :func:`~infogan_tutorial.training.create_state` builds when ``TrainConfig.cuda_graph`` is set;
* the code RNG registered with the graph, so each replay draws new z and c: replay k draws
  exactly what the k-th eager step would;
* no gradient scaler (it reads the scale back to the host), so bf16 or fp32, not fp16.

:func:`~infogan_tutorial.training.fit` uses a :class:`GraphedStep` when ``TrainConfig.cuda_graph``
is True.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from .errors import SpecError

if TYPE_CHECKING:
    from .training import TrainState


def graph_problem(device: torch.device, amp_dtype: torch.dtype | None) -> str | None:
    """Why a step on ``device`` with autocast dtype ``amp_dtype`` cannot be captured (None: it can)."""
    if device.type != "cuda":
        return (f"TrainConfig.cuda_graph=True needs a CUDA device, not {device.type!r}; set cuda_graph=False "
                "(CUDA graphs only remove the cost of launching GPU kernels).")
    if amp_dtype == torch.float16:
        return ("TrainConfig.cuda_graph=True cannot capture fp16 training: its gradient scaler reads the scale "
                "back to the host every step. This GPU has no native bf16; set amp=False (fp32) or "
                "cuda_graph=False.")
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        return (f"TrainConfig.cuda_graph=True needs PyTorch >= 2.5 (graphs that draw from their own RNG); this is "
                f"torch {torch.__version__}. Upgrade torch or set cuda_graph=False.")
    return None


_NOT_RECORDED = {"steps", "log_every", "checkpoint_every"}  # TrainConfig fields a replay does not use


def recording_key(state: TrainState, real: torch.Tensor) -> tuple:
    """What a recorded step depends on: the batch shape, the recipe in ``state.config`` (not its
    step counts), the networks, optimizers and code RNG it uses, and the learning rates.

    A recording bakes these in (a replay cannot see a new ``lambda_cat`` or ``lr``), so
    :class:`GraphedStep` records again whenever this key changes.
    """
    recipe = tuple(getattr(state.config, f.name) for f in dataclasses.fields(state.config)
                   if f.name not in _NOT_RECORDED)
    used = tuple(id(x) for x in (state.G, state.D, state.opt_d, state.opt_g, state.code_rng))
    rates = tuple(group["lr"] for opt in (state.opt_d, state.opt_g) for group in opt.param_groups)
    return tuple(real.shape), recipe, used, rates


class GraphedStep:
    """``step(state, real)`` (the package's :func:`~infogan_tutorial.training.train_step`) replayed
    from a CUDA graph.

    The first ``warmup`` calls for a batch shape run the ordinary eager step (on a side
    stream, as PyTorch's graph recipe asks): they are real training steps, which also let
    cuDNN pick its kernels and Adam create its moments. The next call records the step and
    replays it; later calls only copy the batch in and replay. A new batch shape, or any other
    change of :func:`recording_key` (a new ``lambda_cat`` in ``state.config``, a new learning
    rate, new networks), records again. Each call returns the step's statistics
    (``training.STAT_NAMES``) as a tensor on the device, which a replay overwrites at the next
    call (``fit`` adds it up before then), and counts one step in ``state.step``.

    It holds ``state`` by a weak reference: ``state.graphed`` holds the step, and a cycle between
    them would keep the graph alive until a garbage collection, which may run in a forked
    DataLoader worker, where freeing a CUDA graph fails.
    """

    def __init__(self, step: Callable[[TrainState, torch.Tensor], torch.Tensor], state: TrainState,
                 warmup: int = 3) -> None:
        problem = graph_problem(state.device, state.amp_dtype)
        if problem is not None:
            raise SpecError(problem)
        if any(not group.get("capturable", False) for opt in (state.opt_d, state.opt_g) for group in opt.param_groups):
            raise SpecError("the state's optimizers were built without capturable=True; create the state with "
                            "TrainConfig(cuda_graph=True) (create_state and resume_state then build them so).")
        self.step, self._state = step, weakref.ref(state)
        self.warmup = warmup
        self.graph: torch.cuda.CUDAGraph | None = None
        self.real: torch.Tensor | None = None  # the static input
        self.stats: torch.Tensor | None = None  # the static output
        self.key: tuple | None = None  # recording_key of the current recording
        self.eager_left = warmup

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The batch shape of the current recording (None before the first call)."""
        return None if self.key is None else self.key[0]

    @property
    def state(self) -> TrainState:
        """The state this step trains."""
        state = self._state()
        if state is None:
            raise SpecError("this GraphedStep's TrainState no longer exists; make a GraphedStep for the state you "
                            "train (fit does so itself).")
        return state

    def __call__(self, real: torch.Tensor) -> torch.Tensor:
        state = self.state
        key = recording_key(state, real)
        if key != self.key:  # first call, another batch shape or recipe: warm up, then record again
            self.graph, self.real, self.stats = None, None, None
            self.key, self.eager_left = key, self.warmup
        if self.eager_left > 0:
            self.eager_left -= 1
            side, main = torch.cuda.Stream(state.device), torch.cuda.current_stream(state.device)
            side.wait_stream(main)
            with torch.cuda.stream(side):
                stats = self.step(state, real)
            main.wait_stream(side)
            return stats
        if self.graph is None:
            self._record(real)
        assert self.graph is not None and self.real is not None and self.stats is not None
        self.real.copy_(real)
        self.graph.replay()
        state.step += 1
        return self.stats

    def _record(self, real: torch.Tensor) -> None:
        state = self.state
        self.real = real.clone()
        for opt in (state.opt_d, state.opt_g):  # backward then writes fresh gradients into the graph's memory
            opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize(state.device)
        graph = torch.cuda.CUDAGraph()
        graph.register_generator_state(state.code_rng)
        count = state.step
        try:
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self.stats = self.step(state, self.real)
        except RuntimeError as e:
            raise SpecError(f"could not record the training step as a CUDA graph ({e}); train with "
                            "cuda_graph=False (the CLI without --cuda-graph).") from e
        finally:
            state.step = count  # recording runs nothing: the replay that follows is the step
        self.graph = graph
