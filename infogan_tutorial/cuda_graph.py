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

The last warm-up call runs under PyTorch's sync debug mode, so a read back to the host (a
``print(loss.item())`` added to the step) is refused there, eagerly, before any recording has
begun and with the process unharmed (:class:`HostSyncError`). A recording that fails anyway is
ended cleanly where PyTorch allows, and its error (:class:`CaptureError`) says to restart the
process before using the GPU again.

:class:`GraphedFunction` knows nothing of training: :func:`~infogan_tutorial.training.fit`
wraps its step in one and says, by a key, when the recipe the recording baked in has changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator, Sequence

import torch


class HostSyncError(RuntimeError):
    """The function reads a tensor back to the host, which a recording cannot hold; nothing was recorded
    and the process is unharmed."""


class CaptureError(RuntimeError):
    """Recording failed part-way; PyTorch's CUDA state (random generators, memory pool) may be left in
    capture mode, so the process should be restarted before it uses the GPU again."""


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

    The first ``warmup`` calls for a key run ``fn`` eagerly (on one side stream, as PyTorch's graph
    recipe asks): they are real calls, which also let cuDNN pick its kernels and optimizers
    create their state; the last of them runs under PyTorch's sync debug mode and raises
    :class:`HostSyncError` if ``fn`` reads a tensor back to the host. The next call records ``fn``
    on a static copy of ``x`` and replays it; later calls copy ``x`` in and replay. A call with
    another key (the key always includes ``x.shape``) warms up and records again: pass, as ``key``,
    whatever the recording bakes in (hyper-parameters, the identity of the modules and tensors it uses).

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
        self.stream: torch.cuda.Stream | None = None  # one side stream for every warm-up and recording

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
            with self._on_side_stream(x.device), _no_host_sync(last=self.eager_left == 0):
                return self.fn(x)
        if self.graph is None:
            self._record(x)
        assert self.graph is not None and self.static_input is not None and self.static_output is not None
        self.static_input.copy_(x)
        self.graph.replay()
        return self.static_output

    @contextlib.contextmanager
    def _on_side_stream(self, device: torch.device) -> Iterator[torch.cuda.Stream]:
        """Run on this function's side stream, on ``device`` (a device guard: cuda:1 records on cuda:1's streams)."""
        with torch.cuda.device(device):
            if self.stream is None or self.stream.device.index != torch.cuda.current_device():
                self.stream = torch.cuda.Stream()
            main = torch.cuda.current_stream(device)
            self.stream.wait_stream(main)
            try:
                with torch.cuda.stream(self.stream):
                    yield self.stream
            finally:
                main.wait_stream(self.stream)

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
        with self._on_side_stream(x.device):
            graph.capture_begin(capture_error_mode="thread_local")
            try:
                output = self.fn(self.static_input)
            except BaseException as e:
                with contextlib.suppress(RuntimeError):  # end the capture, so the stream leaves capture mode
                    graph.capture_end()
                self.static_input = None
                raise CaptureError(
                    f"recording the CUDA graph failed ({type(e).__name__}: {e}). The function ran something a "
                    "recording cannot hold (a read back to the host, a new allocation outside the graph's pool, "
                    "a CPU tensor). PyTorch's random generators may be left in capture mode: restart the "
                    "process (in a notebook, restart the kernel) before using the GPU again, then train "
                    "without the graph (cuda_graph=False) or remove that operation.") from e
            graph.capture_end()
        self.static_output, self.graph = output, graph


@contextlib.contextmanager
def _no_host_sync(last: bool) -> Iterator[None]:
    """In the last warm-up call, turn a host synchronisation into :class:`HostSyncError` (before any recording)."""
    if not last:
        yield
        return
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    except RuntimeError as e:
        if "synchroniz" not in str(e):
            raise
        raise HostSyncError(
            f"the function reads a tensor back to the host ({e}), so it cannot be recorded as a CUDA graph. "
            "Nothing was recorded and this process is fine: remove the read (e.g. a print(loss.item()) or "
            "if tensor: ...) or run without the graph (cuda_graph=False).") from e
    finally:
        torch.cuda.set_sync_debug_mode(previous)
