"""CUDA graphs: record a function of a tensor once, then replay it with a single launch.

At the batch sizes of the book, a training step of these networks is launch-bound on a GPU:
it launches several hundred small kernels, one at a time from Python, and the GPU waits for
them (chapter 6b measured 17 to 20 ms a step at batch 128 on an H100; replayed, 2.2 ms). A CUDA
graph records the kernels of one call and replays them all at once. A replay needs:

* its input at a fixed address: each call copies its tensor into one static input;
* no host synchronisation inside the function (no ``.item()``, no data-dependent Python);
* the random generators it draws from registered with the graph, so that each replay draws
  new numbers: replay k draws exactly what the k-th eager call would;
* (for training) optimizers that count their steps on the GPU, ``Adam(capturable=True)``, and
  no gradient scaler, which reads its scale back to the host.

:class:`GraphedFunction` knows nothing of training: :func:`~infogan_tutorial.training.fit`
wraps its step in one and says, by a key, when the recipe the recording baked in has changed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import torch


def graph_problem(device: torch.device) -> str | None:
    """Why nothing can be recorded on ``device`` (None: a CUDA graph can be recorded there)."""
    if device.type != "cuda":
        return (f"CUDA graphs need a CUDA device, not {device.type!r} (they only remove the cost of launching "
                "GPU kernels).")
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        return (f"CUDA graphs that draw from their own random generator need PyTorch >= 2.5; this is torch "
                f"{torch.__version__}.")
    return None


class GraphedFunction:
    """``fn(x)`` replayed from a CUDA graph.

    The first ``warmup`` calls for a key run ``fn`` eagerly (on a side stream, as PyTorch's graph
    recipe asks): they are real calls, which also let cuDNN pick its kernels and optimizers
    create their state. The next call records ``fn`` on a static copy of ``x`` and replays it;
    later calls copy ``x`` in and replay. A call with another key (the key always includes
    ``x.shape``) warms up and records again: pass, as ``key``, whatever the recording bakes in
    (hyper-parameters, the identity of the modules it uses).

    Each call returns the static output tensor, which the next replay overwrites: use or copy
    it before calling again.

    Args:
        fn: a function of one tensor returning one tensor, with no host synchronisation.
        generators: the random generators ``fn`` draws from (registered with each recording).
        warmup: eager calls before each recording.
        before_record: called just before recording, e.g. to set gradients to None so that the
            recorded backward pass writes them into the graph's own memory.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], generators: Sequence[torch.Generator] = (),
                 warmup: int = 3, before_record: Callable[[], None] | None = None) -> None:
        if warmup < 1:
            raise ValueError(f"GraphedFunction needs warmup >= 1 (cuDNN and the optimizers settle first), "
                             f"got {warmup}.")
        self.fn, self.generators, self.warmup, self.before_record = fn, tuple(generators), warmup, before_record
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_input: torch.Tensor | None = None
        self.static_output: torch.Tensor | None = None
        self.key: tuple | None = None  # (input shape, caller's key) of the current recording
        self.eager_left = warmup

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The input shape of the current recording (None before the first call)."""
        return None if self.key is None else self.key[0]

    def __call__(self, x: torch.Tensor, key: Hashable = None) -> torch.Tensor:
        full_key = (tuple(x.shape), key)
        if full_key != self.key:  # first call, another shape or recipe: warm up, then record again
            self.graph = self.static_input = self.static_output = None
            self.key, self.eager_left = full_key, self.warmup
        if self.eager_left > 0:
            self.eager_left -= 1
            if x.device.type != "cuda":  # nothing to warm up for; the recording will say what is wrong
                return self.fn(x)
            side, main = torch.cuda.Stream(x.device), torch.cuda.current_stream(x.device)
            side.wait_stream(main)
            with torch.cuda.stream(side):
                out = self.fn(x)
            main.wait_stream(side)
            return out
        if self.graph is None:
            self._record(x)
        assert self.graph is not None and self.static_input is not None and self.static_output is not None
        self.static_input.copy_(x)
        self.graph.replay()
        return self.static_output

    def _record(self, x: torch.Tensor) -> None:
        problem = graph_problem(x.device)
        if problem is not None:
            raise RuntimeError(problem)
        self.static_input = x.clone()
        if self.before_record is not None:
            self.before_record()
        torch.cuda.synchronize(x.device)
        graph = torch.cuda.CUDAGraph()
        for generator in self.generators:
            graph.register_generator_state(generator)
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            self.static_output = self.fn(self.static_input)
        self.graph = graph
