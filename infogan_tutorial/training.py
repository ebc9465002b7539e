"""Training: one InfoGAN step, the fit loop, and resuming a run from its checkpoint.

Each step does what the objective  min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)  asks:

1. D's step: D learns to tell real from fake, and Q (its head *and* the body it shares
   with D) learns to recover c from G(z, c): loss  -V(D, G) - lambda E[log Q(c | x)].
2. G's step: G learns to fool D and to make c recoverable: loss
   -E[log D(G(z, c))] - lambda E[log Q(c | G(z, c))].

With ``info=False`` the same loop trains a plain GAN: G never sees the information
term, and Q's head alone is fitted on G's samples (on a detached copy of D's features),
which measures how much of c a plain GAN's images happen to carry (the paper's Figure 1).

The checkpoint format itself lives in :mod:`~infogan_tutorial.checkpoints`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .checkpoints import (atomic_save, check_replaceable, load_weights, not_regular_file, read_checkpoint,
                          refuse_foreign_file, spec_of, training_checkpoint)
from .config import TrainConfig  # noqa: F401 (re-exported: the recipe of a run)
from .compute import ComputePlan, autocast_dtype, plan_compute  # noqa: F401 (autocast_dtype: re-exported)
from .cuda_graph import CaptureError, GraphedFunction, HostSyncError
from .data import ShuffledBatches, check_images, random_affine
from .devices import select_device, usable_device  # noqa: F401 (select_device: re-exported)
from .errors import CheckpointError, InfoGANError, SpecError, TrainingDiverged
from .interrupts import deferred_interrupts
from .latent_codes import LatentSpec
from .networks import Discriminator, Generator, build_networks, frozen
from .objectives import (LogQ, discriminator_loss, generator_loss, info_loss, info_term, invariant_information,
                         log_q, real_information)

STAT_NAMES = ("loss_d", "loss_g", "info_cat", "info_cont", "d_real", "d_fake")
@dataclass
class TrainState:
    """Everything a run needs to continue: networks, optimizers, RNGs, step and history.

    ``plan`` is how it computes on its device (arithmetic, scaler, CUDA graph), decided once by
    :func:`create_state` with :func:`~infogan_tutorial.compute.plan_compute`; ``amp_dtype`` is its
    autocast dtype (None: fp32).
    ``data`` says where the training images came from (the command line records its ``--dataset``,
    ``--data-dir`` and the loaded ``Dataset.source``, and checks them on ``--resume``). ``unlogged``
    holds, in a checkpoint saved between two reads of the statistics, their sum and count since the
    last read, so that a resumed run logs the same means as an uninterrupted one.
    """

    spec: LatentSpec
    config: TrainConfig
    device: torch.device
    G: Generator
    D: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    code_rng: torch.Generator
    plan: ComputePlan
    step: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in ("step",) + STAT_NAMES})
    data: dict[str, str | None] | None = None
    unlogged: tuple[list[float], int] | None = None

    @property
    def amp_dtype(self) -> torch.dtype | None:
        """The plan's autocast dtype, or None for plain fp32."""
        return self.plan.dtype


def create_state(spec: LatentSpec, config: TrainConfig, device: torch.device | str = "cpu") -> TrainState:
    """A fresh run: networks initialised from ``config.seed``, Adam optimizers, code RNG, and the plan of how
    it computes on ``device`` (:func:`~infogan_tutorial.compute.plan_compute`: a config asks, the device decides)."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise SpecError(f"unknown device {device!r}; use cpu, cuda, cuda:0 or mps.") from e
    if device.type not in ("cpu", "cuda", "mps"):
        raise SpecError(f"cannot train on device {device.type!r}; use cpu, cuda, cuda:0 or mps.")
    if not isinstance(spec, LatentSpec) or not isinstance(config, TrainConfig):
        raise SpecError(f"create_state(spec, config, device) takes a LatentSpec and a TrainConfig, got "
                        f"{type(spec).__name__} and {type(config).__name__}.")
    device = usable_device(device)  # one that exists here, or a SpecError naming the choices
    plan = plan_compute(device, config.precision, config.cuda_graph, config.compile)  # once, not in every step
    G, D = build_networks(spec, config.fixed_std, seed=config.seed)
    G, D = G.to(device), D.to(device)
    if config.compile:  # in place: parameter names, and so checkpoints, stay those of the plain modules
        for module in (G, D.body, D.d_head, D.q_head):
            module.compile()
    betas = (config.beta1, 0.999)  # capturable: Adam counts its steps on the GPU, as a CUDA graph needs
    adam = {"betas": betas, "capturable": plan.cuda_graph, "fused": plan.fused_adam or None}
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, **adam)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, **adam)
    scaler = torch.amp.GradScaler("cuda", enabled=plan.scaler)
    code_rng = torch.Generator(device).manual_seed(config.seed + 1)
    return TrainState(spec, config, device, G, D, opt_g, opt_d, scaler, code_rng, plan)


def _check_state(state: object, where: str) -> None:
    if not isinstance(state, TrainState):
        raise SpecError(f"{where} needs a TrainState (from create_state or resume_state), got {type(state).__name__}.")


def autocast(state: TrainState) -> contextlib.AbstractContextManager:
    """The state's mixed-precision context (a no-op in fp32). Under a CUDA graph, without autocast's cache
    of cast weights, as PyTorch asks of graphed code."""
    _check_state(state, "autocast")
    if state.plan.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(state.device.type, dtype=state.plan.dtype, cache_enabled=not state.plan.cuda_graph)


def _no_host_reads(real: Tensor) -> bool:
    """Whether the step is traced by torch.compile, captured into a CUDA graph or warmed up for one (PyTorch's
    sync debug mode): no reading values back to the host there."""
    return torch.compiler.is_compiling() or (real.is_cuda and (torch.cuda.is_current_stream_capturing()
                                                               or torch.cuda.get_sync_debug_mode() != 0))


def train_step(state: TrainState, real: Tensor) -> Tensor:
    """One D step and one G step on a batch of real images (N, 1, 28, 28) on the state's device.

    Returns the step's statistics as one tensor on the device (in the order of ``STAT_NAMES``),
    so the caller decides when to synchronise with the host. It does not count the step:
    :func:`fit` (or your own loop) increments ``state.step``. At step 0 it checks the batch's values
    (:func:`~infogan_tutorial.data.check_images`: [-1, 1], not [0, 1]) once, the one host synchronisation.
    Chapter 6 writes the same step as ``my_step``; here ``amp`` is the plan's autocast and :func:`descend`
    the plan's gradient scaler.
    """
    if not isinstance(state, TrainState):
        raise SpecError(f"train_step needs a TrainState first (create_state or resume_state) and the batch second, "
                        f"got {type(state).__name__}.")
    spec, cfg, G, D = state.spec, state.config, state.G, state.D
    if isinstance(real, Tensor) and real.device.type != state.device.type:  # no host read: the tensor's metadata
        raise SpecError(f"train_step: the batch is on {real.device}, the networks on {state.device}; move the images "
                        f"there first (images.to(state.device)), as fit does.")
    if not isinstance(real, Tensor) or not real.is_floating_point():
        what = f"a tensor of {real.dtype}" if isinstance(real, Tensor) else type(real).__name__
        raise SpecError(f"train_step needs the batch as a float tensor (N, 1, 28, 28) in [-1, 1], got {what}; "
                        "convert it first, e.g. torch.as_tensor(x).float() (uint8 pixels: x.float() / 127.5 - 1).")
    if real.dtype != torch.float32:  # float16/float64 as check_images takes them
        real = real.float()
    if real.dim() != 4 or real.shape[0] < 2:  # shapes only: no host synchronisation in the step
        raise SpecError(f"train_step needs a batch of at least 2 images of shape (N, 1, 28, 28) (batch norm in "
                        f"training), got {tuple(real.shape)}.")
    if state.step == 0 and not _no_host_reads(real):  # a run's first batch: on the scale G draws, [-1, 1]?
        check_images(real, "train_step")
    lambdas = (cfg.lambda_cat, cfg.lambda_cont)
    amp = autocast(state)
    G.train()
    D.train()

    # 1. codes and fakes (our own draw: skip the host-synchronising check of the codes' values)
    codes = spec.sample(real.shape[0], state.code_rng)
    with amp:
        fake = G(spec.to_input(codes, check_values=False))

    # 2. D's step (and Q's): real vs fake on detached fakes, plus L_I
    with amp:
        h_real = D.features(real, check_values=False)
        l_real = D.d_from_features(h_real)  # logits
        h_fake = D.features(fake.detach(), check_values=False)  # no gradient into G
        l_fake = D.d_from_features(h_fake)
        q_fake = D.q_from_features(h_fake if cfg.info else h_fake.detach())
    lq = log_q(q_fake, codes, spec, check_values=False)  # kept for the statistics
    loss_d = discriminator_loss(l_real.float(), l_fake.float()) + info_term(lq, *lambdas)
    if cfg.info and (cfg.lambda_real or cfg.lambda_invariant):  # beyond the paper: terms on *real* images
        loss_d = loss_d - beyond_the_paper(state, real, h_real, amp)
    descend(state, state.opt_d, loss_d)

    # 3. G's step: fool D, and make c recoverable by Q (D frozen: gradients for G only)
    with frozen(D):
        with amp:
            h = D.features(fake, check_values=False)
            loss_g = generator_loss(D.d_from_features(h).float())
            if cfg.info:
                loss_g = loss_g + info_loss(D.q_from_features(h), codes, spec, *lambdas, check_values=False)
        descend(state, state.opt_g, loss_g)
    state.scaler.update()
    return step_statistics(state, loss_d, loss_g, lq, l_real, l_fake)


def _check_writable(path: Path) -> None:
    """Refuse, before any step, a checkpoint fit could not write at the end: a read-only file (or a device),
    or a folder it cannot create files in, so that no training is done and then lost."""
    check_replaceable(path)
    folder = path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise CheckpointError(f"fit cannot write in {folder} (no write permission, or a read-only file system), so "
                              "the run could not be saved: choose another out_dir, or make it writable.")


def descend(state: TrainState, optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    """One optimizer step on ``loss``: zero the gradients, backward, step, through the plan's gradient scaler
    (fp16's loss scaling; a no-op scaler otherwise). ``train_step`` updates the scale once per step."""
    _check_state(state, "descend")
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        raise SpecError("descend needs a loss that carries a gradient (a tensor computed from the networks' "
                        "parameters, not detached, not under torch.no_grad()).")
    optimizer.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    state.scaler.step(optimizer)


def step_statistics(state: TrainState, loss_d: Tensor, loss_g: Tensor, lq: LogQ, l_real: Tensor,
                    l_fake: Tensor) -> Tensor:
    """The statistics of ``STAT_NAMES`` as one device tensor: the two losses, L_I of each kind of code
    (E[log Q] + H(c), in nats) and D's mean probability D(x) = sigmoid(l) on real and on fake images."""
    spec = state.spec
    with torch.no_grad():
        stats = {
            "loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "info_cat": lq.categorical.detach() + spec.categorical_entropy(),
            "info_cont": lq.continuous.detach() + spec.continuous_entropy(),
            "d_real": torch.sigmoid(l_real.detach().float()).mean(),
            "d_fake": torch.sigmoid(l_fake.detach().float()).mean(),
        }
        return torch.stack([stats[name] for name in STAT_NAMES])


def beyond_the_paper(state: TrainState, real: Tensor, h_real: Tensor, amp: contextlib.AbstractContextManager) -> Tensor:
    """The weighted terms on real images that this book adds to Q's objective (not in the paper):
    lambda_real I_Q(x; ĉ) + lambda_invariant I(ĉ; ĉ'), to be *maximised* in D's step."""
    cfg, D = state.config, state.D
    with amp:
        q_real = D.q_from_features(h_real)
    total = real.new_zeros(())
    if cfg.lambda_real:  # sure, balanced categories
        total = total + cfg.lambda_real * real_information(q_real)
    if cfg.lambda_invariant:  # categories that survive small moves of the digit
        moved = random_affine(real, state.code_rng, check_range=False)  # checked at step 0
        with amp:
            q_moved = D.q_from_features(D.features(moved, check_values=False))
        total = total + cfg.lambda_invariant * invariant_information(q_real, q_moved)
    return total


UNBAKED = frozenset({"steps", "log_every", "checkpoint_every"})
"""The TrainConfig fields that a recorded step does not bake in (how long to run, how often to read and
save). Every other field, including any added later, is part of :func:`recording_key`."""


def recording_key(state: TrainState) -> tuple:
    """What a recorded step bakes in: every field of ``state.config`` but :data:`UNBAKED`, the plan, the
    networks, optimizers and code RNG it uses, the optimizers' moment tensors (``load_state_dict``
    replaces them) and the learning rates. :func:`make_step` passes it to
    :class:`~infogan_tutorial.cuda_graph.GraphedFunction`, which records again when it changes."""
    c = state.config
    recipe = tuple((f.name, getattr(c, f.name)) for f in dataclasses.fields(c) if f.name not in UNBAKED)
    optimizers = (state.opt_d, state.opt_g)
    used = tuple(id(x) for x in (state.G, state.D, *optimizers, state.code_rng))
    moments = tuple(id(t) for opt in optimizers for slot in opt.state.values() for t in slot.values()
                    if isinstance(t, Tensor))
    rates = tuple(group["lr"] for opt in optimizers for group in opt.param_groups)
    return recipe, state.plan, used, moments, rates


def make_step(state: TrainState) -> Callable[[Tensor], Tensor]:
    """``train_step`` on ``state`` as a function of the batch; replayed from a CUDA graph where the state's
    plan says so (``state.plan.cuda_graph``: recorded after a few eager calls, and again whenever
    :func:`recording_key` changes). :func:`fit` makes one per call; pass the same one to several
    ``fit`` calls to keep one recording."""
    _check_state(state, "make_step")
    if not state.plan.cuda_graph:
        return lambda real: train_step(state, real)
    if any(not group.get("capturable", False) for opt in (state.opt_d, state.opt_g) for group in opt.param_groups):
        raise SpecError("the state's optimizers were built without capturable=True, which a CUDA graph needs; make "
                        "the state with create_state or resume_state, which build them as its plan asks.")

    def set_grads_to_none() -> None:  # the recorded backward pass then writes into the graph's own memory
        state.opt_d.zero_grad(set_to_none=True)
        state.opt_g.zero_grad(set_to_none=True)

    def warm_up_step(real: Tensor) -> Tensor:  # Adam's notice that a capturable optimizer runs uncaptured is
        with warnings.catch_warnings():    # expected in the warm-up calls before the recording
            warnings.filterwarnings("ignore", message=".*capturable=True.*", category=UserWarning)
            return train_step(state, real)

    graphed = GraphedFunction(warm_up_step, generators=[state.code_rng], before_record=set_grads_to_none)

    def step(real: Tensor) -> Tensor:
        try:
            return graphed(real, key=recording_key(state))
        except (HostSyncError, CaptureError) as e:
            raise SpecError(f"could not record the training step as a CUDA graph: {e}") from e

    return step


def fit(state: TrainState, images: Tensor, out_dir: str | Path | None = None, progress: bool = True,
        callback: Callable[[TrainState], None] | None = None,
        step: Callable[[Tensor], Tensor] | None = None, resume_hint: bool = True) -> dict[str, list[float]]:
    """Train until ``state.config.steps``, continuing from ``state.step`` (so a resumed run goes on).

    ``images`` (N, 1, 28, 28) in [-1, 1] (others are refused: :func:`~infogan_tutorial.data.check_images`) are moved
    to the device once and batched there. Statistics are
    read back every ``log_every`` steps (the mean over those steps) into ``state.history``;
    ``callback(state)`` runs after each read. With ``out_dir``, checkpoints are written to
    ``out_dir/checkpoint.pt`` every ``checkpoint_every`` steps and at the end. Ctrl-C or SIGTERM
    ends the run at the next step boundary, saves it there and raises ``KeyboardInterrupt``, so
    no work is lost and a resumed run is the uninterrupted one. A non-finite loss raises
    :class:`~infogan_tutorial.errors.TrainingDiverged` and keeps the last good checkpoint. On
    CUDA, cuDNN autotuning is on while it runs. Where the state's plan says so, the steps are
    replayed from a CUDA graph. ``step`` is the step function to use (default: :func:`make_step` of ``state``).
    ``resume_hint``: on an interrupt, also say how to resume (``resume_state``); the command line, which
    says it in its own terms, passes False.
    """
    from tqdm.auto import tqdm

    if not isinstance(state, TrainState):
        raise SpecError(f"fit needs a TrainState (create_state or resume_state) first and the images second, got "
                        f"{type(state).__name__}.")
    if step is not None and not callable(step):
        raise SpecError(f"fit: step must be a function of the batch, as make_step(state) returns (or None), got "
                        f"{type(step).__name__}.")
    if callback is not None and not callable(callback):
        raise SpecError(f"fit: callback must be a function of the state (or None), got {type(callback).__name__}.")
    cfg = state.config
    if state.step >= cfg.steps:
        warnings.warn(f"fit: the state is already at step {state.step} of its config's {cfg.steps}, so there is "
                      "nothing to train. To go on, raise the step count: state.config = dataclasses.replace("
                      "state.config, steps=...), or resume_state(path, steps=...).", stacklevel=2)
    images = check_images(images, "fit")  # float32 (N, 1, 28, 28) in [-1, 1], or a SpecError naming the fix
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise SpecError(f"out_dir {out_dir} is {not_regular_file(out_dir) or 'a file'}, not a folder; fit writes "
                        "out_dir/checkpoint.pt, so give a folder.")
    autotune = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = autotune or state.device.type == "cuda"
    if len(images) < cfg.batch_size:
        raise SpecError(f"fit: {len(images)} image(s) cannot fill one batch of {cfg.batch_size} (the state's "
                        "config.batch_size); give at least that many images, or a smaller batch_size (at least 2: "
                        "batch norm needs two images per step).")
    images = images.to(state.device)
    batches = ShuffledBatches(images, cfg.batch_size, cfg.seed)
    path = Path(out_dir) / "checkpoint.pt" if out_dir is not None else None
    if path is not None and path.exists():
        _check_continues(state, path)
    if path is not None:
        try:  # now, not at the first save after minutes of training
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpecError(f"fit cannot create out_dir {out_dir} ({e.strerror or e}), so the run could not be saved: "
                            "choose another out_dir.") from e
        _check_writable(path)
    bar = tqdm(total=cfg.steps, initial=state.step, disable=not progress, desc="InfoGAN" if cfg.info else "GAN")
    step = step if step is not None else make_step(state)
    acc, count = torch.zeros(len(STAT_NAMES), device=state.device), 0  # summed on the device
    if state.unlogged is not None:  # resumed between two reads: go on with the same window
        acc, count = torch.tensor(state.unlogged[0], device=state.device), state.unlogged[1]
        state.unlogged = None
    try:
        with deferred_interrupts() as interrupt:
            while state.step < cfg.steps and not interrupt.requested:
                stats = step(batches.batch(state.step))
                if not isinstance(stats, Tensor) or stats.shape != acc.shape:  # shapes only: no host read
                    raise SpecError(f"fit: step must return the step's statistics as one tensor of {len(STAT_NAMES)} "
                                    f"numbers ({', '.join(STAT_NAMES)}), as make_step(state) does; got "
                                    f"{tuple(stats.shape) if isinstance(stats, Tensor) else type(stats).__name__}.")
                acc.add_(stats)
                state.step += 1
                count += 1
                bar.update(1)
                if state.step % cfg.log_every == 0 or state.step == cfg.steps:
                    _record_statistics(state, acc / count, bar, path)
                    acc.zero_()
                    count = 0
                    if callback is not None:
                        try:
                            callback(state)
                        except KeyboardInterrupt:  # at a step boundary too: stop and save here
                            interrupt.signal_name = "KeyboardInterrupt"
                if path is not None and cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0 \
                        and state.step < cfg.steps:  # the final step is saved once, below
                    _save(state, path, acc, count)
            if path is not None:  # the last step, or where an interrupt stopped: saved before any signal acts
                _save(state, path, acc, count)  # checks the unread statistics first
        if interrupt.requested:
            hint = f" Resume with resume_state({str(path)!r}, {str(state.device)!r})." if resume_hint else ""
            bar.write(f"{interrupt.signal_name} at step {state.step}" + (
                f"; saved step {state.step} to {path}.{hint}" if path else "."))
            raise KeyboardInterrupt
    finally:
        bar.close()
        torch.backends.cudnn.benchmark = autotune
    return state.history


def _check_continues(state: TrainState, path: Path) -> None:
    """Refuse to write over ``path`` unless ``state`` continues the run it holds (resumed from it, at its step or
    later): a fresh state would replace another run's checkpoint, and the folder would mix two runs' files."""
    try:
        saved = read_checkpoint(path).get("step")
    except (CheckpointError, OSError):
        saved = None
    if not isinstance(saved, int) or saved > state.step:  # a fresh state is at step 0
        held = f"a run at step {saved}" if isinstance(saved, int) else "a file that is no readable checkpoint"
        raise SpecError(f"fit: {path} holds {held}, and this state (step {state.step}) does not continue it; "
                        f"writing there would replace it. Continue that run with resume_state({str(path)!r}), "
                        "or give another out_dir.")


def _save(state: TrainState, path: Path, acc: Tensor, count: int) -> None:
    """A checkpoint at this step, with the statistics not yet logged."""
    _check_finite(state, acc, path)
    save_checkpoint(state, path, (acc.tolist(), count) if count else None)


def _record_statistics(state: TrainState, mean: Tensor, bar: object, path: Path | None) -> None:
    values = dict(zip(STAT_NAMES, mean.tolist()))  # the only regular host synchronisation
    if not all(math.isfinite(v) for v in values.values()):
        _diverged(state, path, ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
    state.history["step"].append(state.step)
    for name, v in values.items():
        state.history[name].append(v)
    bar.set_postfix(L_I=f"{values['info_cat']:.3f}", loss_d=f"{values['loss_d']:.2f}",  # type: ignore[attr-defined]
                    loss_g=f"{values['loss_g']:.2f}")


def _check_finite(state: TrainState, unread: Tensor, path: Path | None) -> None:
    """Refuse to save a state whose unread statistics are non-finite (one synchronisation per checkpoint)."""
    if not bool(torch.isfinite(unread).all()):
        _diverged(state, path, "a non-finite loss")


def _diverged(state: TrainState, path: Path | None, what: str) -> None:
    saved = path is not None and path.exists()
    kept = (f"{path} keeps the last good checkpoint (step {read_checkpoint(path)['step']})" if saved
            else "no checkpoint was written")
    fp32 = "" if state.plan.dtype is None else ", or train in fp32"
    raise TrainingDiverged(f"training diverged before step {state.step} ({what}); {kept}. Start again with lower "
                           f"learning rates or lambdas{fp32} (a resume repeats the same steps, and a resumed run "
                           "keeps its recipe, so it would diverge at the same point).")


# -- checkpoints of a training state -----------------------------------------------------

def checkpoint_contents(state: TrainState, unlogged: tuple[list[float], int] | None = None) -> dict:
    """The full checkpoint of ``state`` (:func:`~infogan_tutorial.checkpoints.training_checkpoint` writes the
    format); ``unlogged``: the statistics summed since their last read, if the save falls between two reads (one
    number per ``STAT_NAMES`` and their count of steps, as ``fit`` passes them; anything else raises
    :class:`~infogan_tutorial.errors.SpecError`, since ``resume_state`` could not read it back)."""
    if unlogged is not None and not (
            isinstance(unlogged, (list, tuple)) and len(unlogged) == 2 and isinstance(unlogged[0], (list, tuple))
            and len(unlogged[0]) == len(STAT_NAMES) and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                            for v in unlogged[0])
            and isinstance(unlogged[1], int) and not isinstance(unlogged[1], bool) and unlogged[1] > 0):
        raise SpecError(f"unlogged must be None or ({len(STAT_NAMES)} sums, one per {', '.join(STAT_NAMES)}; a count "
                        f"of steps >= 1), as fit passes it; got {unlogged!r:.200}.")
    return training_checkpoint(
        spec=state.spec, config=dataclasses.asdict(state.config), step=state.step, history=state.history,
        data=state.data, G=state.G, D=state.D, opt_g=state.opt_g, opt_d=state.opt_d, scaler=state.scaler,
        code_rng=state.code_rng, code_rng_device=state.device.type, unlogged=unlogged)


def save_checkpoint(state: TrainState, path: str | Path, unlogged: tuple[list[float], int] | None = None) -> None:
    """Write networks, optimizers, scaler, spec, config, step, history and RNG states, atomically, with the
    checksum of the tensors. An existing file at ``path`` is replaced only if it is a torch file (a checkpoint or a
    model): anything else, such as notes saved there by mistake, raises :class:`CheckpointError` and stays."""
    path = Path(path)
    refuse_foreign_file(path)
    atomic_save(checkpoint_contents(state, unlogged), path)


def resume_state(path: str | Path, device: torch.device | str | None = None,
                 spec: LatentSpec | None = None, **overrides: object) -> TrainState:
    """Rebuild a :class:`TrainState` from a checkpoint so that ``fit`` continues the same run.

    ``device``: where to train on (default: the kind of device the run was saved from, cuda or mps
    where this machine has it, else the CPU). ``spec``, when given, must equal the checkpoint's (a
    checkpoint of another code layout raises :class:`CheckpointError`). ``overrides`` change config
    fields, e.g. ``steps=10000`` to train further. A run saved with ``cuda_graph=True`` (or None)
    has the graph decided anew for ``device`` (``cuda_graph=None``: on where it records, so a graph
    run resumes on the CPU); one saved with ``cuda_graph=False`` stays eager, since on a GPU without
    native bf16 that also keeps its fp16 arithmetic. ``cuda_graph`` among the overrides wins.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"resume_state needs the path of a checkpoint (a str or Path), got {type(path).__name__}.")
    path = Path(path)
    ckpt = read_checkpoint(path)
    ckpt_spec = spec_of(ckpt, path)
    if spec is not None and spec != ckpt_spec:
        raise CheckpointError(f"{path} was trained with spec {ckpt_spec}, not {spec}; load it without a spec "
                              "or with the matching one.")
    if "opt_g" not in ckpt:
        raise CheckpointError(f"{path} holds only weights (an exported model), so training cannot resume from it; "
                              "use it with `evaluate`/`sample`, or retrain.")
    unknown = set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise SpecError(f"resume_state: {sorted(unknown)} are not TrainConfig fields; overrides change fields such as "
                        "steps=10000.")
    try:
        return _rebuild(ckpt, path, ckpt_spec, device, overrides)
    except InfoGANError:  # the package's own errors (a bad override, an unusable device) say what they mean
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as e:  # malformed entries
        raise CheckpointError(f"{path} is malformed: it passes its checksums but an entry the run needs is missing or "
                              f"of the wrong kind ({type(e).__name__}: {str(e)[:120]}); it was not written by `train` "
                              "of this package. Resume from a checkpoint `train` wrote, or retrain.") from e


DATA_TEXT = ("dataset", "data_dir", "eval_dir", "fingerprint")
"""The entries of a checkpoint's ``data`` description that are text when present."""


def saved_recipe(ckpt: dict, path: str | Path) -> tuple[TrainConfig, dict | None]:
    """A training checkpoint's recipe (its ``config``) and the description of its data (``data``, or None),
    checked: a :class:`CheckpointError` names an entry that ``train`` would not have written."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} is malformed: it holds a {type(ckpt).__name__}, not the dict of entries train "
                              "writes.")
    config, data = ckpt.get("config"), ckpt.get("data")
    good_data = data is None or isinstance(data, dict) and all(
        data.get(k) is None or isinstance(data[k], str) for k in DATA_TEXT)
    if not isinstance(config, dict) or not config or not good_data:
        what = ("config entry is not a dict of the recipe's fields" if not isinstance(config, dict) or not config
                else "data entry is not a dict of text describing the training data")
        raise CheckpointError(f"{path} is malformed: its {what}, which `train` writes. Resume from a checkpoint "
                              "`train` wrote, or retrain.")
    try:
        return TrainConfig.from_dict(config), data
    except CheckpointError:
        raise
    except (TypeError, SpecError) as e:  # a field of the wrong kind, or a value TrainConfig refuses (lr_g: nan)
        raise CheckpointError(f"{path} is malformed: its stored recipe does not make a TrainConfig ({str(e)[:160]}); "
                              "the value is the checkpoint's, not an option you gave. Resume from a checkpoint `train` "
                              "wrote, or retrain.") from e


def _history(ckpt: dict, path: Path) -> dict[str, list[float]]:
    """The checkpoint's history ({"step": [...], one list per STAT_NAMES}, all of one length), checked."""
    history, names = ckpt.get("history"), ("step", *STAT_NAMES)
    lists = isinstance(history, dict) and all(isinstance(history.get(k), (list, tuple)) for k in history) and all(
        k in history for k in names)
    if not lists or len({len(history[k]) for k in history}) != 1 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            for k in names for v in history[k]):
        raise CheckpointError(f"{path} is malformed: its history must map {', '.join(names)} to lists of finite "
                              "numbers of one length (one entry per logged step); resume from a checkpoint `train` "
                              "wrote, or retrain.")
    steps = history["step"]
    if any(b <= a for a, b in zip(steps, steps[1:])) or (steps and not (0 < steps[0] and steps[-1] <= ckpt["step"])):
        raise CheckpointError(f"{path} is malformed: its history's steps must be positive, rise, and end at most at "
                              f"the checkpoint's step ({ckpt['step']}), got {steps[:3]}...{steps[-2:]}; training never "
                              "writes that. Resume from a checkpoint `train` wrote, or retrain.")
    return {k: list(v) for k, v in history.items()}


def _rebuild(ckpt: dict, path: Path, ckpt_spec: LatentSpec, device: torch.device | str | None,
             overrides: dict) -> TrainState:
    """resume_state's work once the checkpoint is read: the config, the networks, optimizers, RNG and history."""
    recipe, data = saved_recipe(ckpt, path)
    if int(ckpt["step"]) > recipe.steps:
        raise CheckpointError(f"{path} is malformed: its step ({int(ckpt['step'])}) is beyond its own config's steps "
                              f"({recipe.steps}); training never writes that. Resume from a checkpoint `train` wrote, "
                              "or retrain.")
    graph = False if recipe.cuda_graph is False else None  # True: re-decided for this device, as None is
    config = dataclasses.replace(recipe, **{"cuda_graph": graph, **overrides})
    if "steps" in overrides and config.steps < int(ckpt["step"]):
        raise SpecError(f"resume_state: steps={config.steps} is fewer than the {int(ckpt['step'])} steps {path} has "
                        f"trained; pass steps above {int(ckpt['step'])} to train further, or leave steps out.")
    if device is None:
        saved_on = ckpt.get("code_rng_device")
        device = select_device("auto") if saved_on in ("cuda", "mps") else "cpu"
        device = device if torch.device(device).type == saved_on else "cpu"
    state = create_state(ckpt_spec, config, device)
    load_weights(state.G, ckpt, "G", path)
    load_weights(state.D, ckpt, "D", path)
    betas = (config.beta1, 0.999)
    for opt, name, lr in ((state.opt_g, "opt_g", config.lr_g), (state.opt_d, "opt_d", config.lr_d)):
        saved = ckpt[name]  # capturable and fused are this run's plan, not the saving run's; the rates are the
        groups = [{**group, "capturable": state.plan.cuda_graph, "fused": state.plan.fused_adam or None,  # config's,
                   "foreach": None, "lr": lr, "betas": betas}  # which an override may have changed
                  for group in saved["param_groups"]]
        opt.load_state_dict({**saved, "param_groups": groups})
        if int(ckpt["step"]) > 0 and not opt.state:
            raise CheckpointError(f"{path} is malformed: {name} has no Adam moments after {int(ckpt['step'])} steps "
                                  "(training always writes them), so a resume would not continue the run. Resume "
                                  "from a checkpoint `train` wrote, or retrain.")
        _check_moments(opt, name, path)
    if ckpt["scaler"] and state.plan.scaler:  # fp16's loss scale, where this run also trains in fp16
        state.scaler.load_state_dict(ckpt["scaler"])
    if ckpt.get("code_rng_device") == state.device.type:
        state.code_rng.set_state(ckpt["code_rng"])
    else:  # RNG states do not carry across device types; the run goes on with fresh codes
        state.code_rng.manual_seed(config.seed + 1 + int(ckpt["step"]))
    state.step = int(ckpt["step"])
    state.history = _history(ckpt, path)
    state.data = data
    unlogged = ckpt.get("unlogged")
    state.unlogged = _unlogged(unlogged, path) if unlogged else None
    return state


def _check_moments(opt: torch.optim.Optimizer, name: str, path: Path) -> None:
    """Refuse Adam moments that do not fit their parameters, are not finite, or a second moment below 0 (made so:
    training never writes them), which would stop a later step or train on garbage."""
    for param, moments in opt.state.items():
        for key in ("exp_avg", "exp_avg_sq"):
            t = moments.get(key)
            if not isinstance(t, Tensor) or t.shape != param.shape or not bool(torch.isfinite(t).all()) or (
                    key == "exp_avg_sq" and bool((t < 0).any())):
                raise CheckpointError(f"{path} is malformed: {name}'s Adam moment {key} does not fit its parameter "
                                      "(another shape, NaN, or a negative second moment); training never writes one. "
                                      "Resume from a checkpoint `train` wrote, or retrain.")
        step = moments.get("step")
        if step is not None and not (isinstance(step, Tensor) and bool(torch.isfinite(step).all()) and
                                     float(step.max()) >= 0):
            raise CheckpointError(f"{path} is malformed: {name}'s Adam step count is not a finite number >= 0. Resume "
                                  "from a checkpoint `train` wrote, or retrain.")


def _unlogged(unlogged: object, path: Path) -> tuple[list[float], int]:
    """A checkpoint's statistics summed since the last read (one sum per STAT_NAMES, and their count), checked."""
    ok = (isinstance(unlogged, (list, tuple)) and len(unlogged) == 2 and isinstance(unlogged[0], (list, tuple))
          and len(unlogged[0]) == len(STAT_NAMES) and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                          and math.isfinite(v) for v in unlogged[0])
          and isinstance(unlogged[1], int) and not isinstance(unlogged[1], bool) and unlogged[1] > 0)
    if not ok:
        raise CheckpointError(f"{path} is malformed: its unlogged statistics are not {len(STAT_NAMES)} finite sums and "
                              "a count of steps >= 1. Resume from a checkpoint `train` wrote, or retrain.")
    return list(unlogged[0]), unlogged[1]
