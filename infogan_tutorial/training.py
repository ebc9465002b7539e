"""Training: one InfoGAN step, the fit loop, checkpoints and resume.

Each step does what the objective  min_{G,Q} max_D V(D, G) - lambda L_I(G, Q)  asks:

1. D's step: D learns to tell real from fake, and Q (its head *and* the body it shares
   with D) learns to recover c from G(z, c): loss  -V(D, G) - lambda E[log Q(c | x)].
2. G's step: G learns to fool D and to make c recoverable: loss
   -E[log D(G(z, c))] - lambda E[log Q(c | G(z, c))].

With ``info=False`` the same loop trains a plain GAN: G never sees the information
term, and Q's head alone is fitted on G's samples (on a detached copy of D's features),
which measures how much of c a plain GAN's images happen to carry (the paper's Figure 1).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .cuda_graph import GraphedStep, graph_problem
from .data import ShuffledBatches, random_affine
from .errors import CheckpointError, SpecError
from .latent_codes import LatentSpec
from .networks import Discriminator, Generator, build_networks
from .objectives import (discriminator_loss, generator_loss, info_loss, invariant_information, log_q,
                         real_information)

STAT_NAMES = ("loss_d", "loss_g", "info_cat", "info_cont", "d_real", "d_fake")
CHECKPOINT_FORMAT = 1
INT8_MIN_SIZE = 100_000  # export_model(int8=True or int4=True) quantises weight tensors at least this large
INT4_GROUP = 64  # export_model(int4=True): one scale per this many consecutive weights
AMP_DTYPES = {"auto": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (the paper's MNIST recipe by default).

    Attributes:
        steps: total number of training steps (a resumed run continues up to this).
        batch_size: images per step.
        lr_g: Adam learning rate of G (the paper: 1e-3, faster than D).
        lr_d: Adam learning rate of D and Q (the paper: 2e-4).
        beta1: Adam's beta1 (0.5, as for DCGAN).
        lambda_cat: weight of the categorical codes' information term.
        lambda_cont: weight of the continuous codes' information term.
        lambda_real: weight of I_Q(x; ĉ), the information between *real* images and Q's
            categories (``objectives.real_information``), added to Q's objective in D's step.
            0 (the default) is the paper's InfoGAN; chapter 7 measures what 1 changes.
        lambda_invariant: weight of I(ĉ; ĉ'), the information between Q's categories of a real
            image and of a randomly moved copy (``objectives.invariant_information``), added to
            Q's objective in D's step. 0 (the default) is the paper's InfoGAN; 1 is the recipe
            chapter 7 measures and recommends.
        fixed_std: if set, Q's continuous heads use this fixed standard deviation.
        info: False trains a plain GAN (the control): no information term reaches G or D's body.
        seed: seeds the initial weights, the batches and the sampled codes.
        log_every: read the losses back from the device every this many steps.
        checkpoint_every: write a checkpoint every this many steps (0: only at the end).
        amp: use mixed precision on CUDA (bf16 where supported, else fp16 with a scaler).
        amp_dtype: ``auto`` (as just said), or ``bf16`` / ``fp16`` to force one on CUDA.
        compile: compile G, D's body and Q's head with ``torch.compile`` (PyTorch 2). The first
            steps then take a minute longer; chapter 6's benchmark says whether it pays off.
        cuda_graph: record the whole step as a CUDA graph once and replay it (CUDA only, bf16 or
            fp32, not with ``compile``); see :mod:`infogan_tutorial.cuda_graph`.
    """

    steps: int = 5000
    batch_size: int = 64
    lr_g: float = 1e-3
    lr_d: float = 2e-4
    beta1: float = 0.5
    lambda_cat: float = 1.0
    lambda_cont: float = 0.1
    lambda_real: float = 0.0
    lambda_invariant: float = 0.0
    fixed_std: float | None = None
    info: bool = True
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1000
    amp: bool = True
    amp_dtype: str = "auto"
    compile: bool = False
    cuda_graph: bool = False

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every"):
            if int(getattr(self, name)) < 1:
                raise SpecError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}.")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise SpecError(f"TrainConfig.{name} must be positive, got {getattr(self, name)}.")
        if not 0 <= self.beta1 < 1:
            raise SpecError(f"TrainConfig.beta1 must be in [0, 1), got {self.beta1}.")
        if min(self.lambda_cat, self.lambda_cont, self.lambda_real, self.lambda_invariant) < 0:
            raise SpecError("TrainConfig.lambda_cat, lambda_cont, lambda_real and lambda_invariant must be >= 0.")
        if self.amp_dtype not in AMP_DTYPES:
            raise SpecError(f"TrainConfig.amp_dtype must be one of {sorted(AMP_DTYPES)}, got {self.amp_dtype!r}.")
        if self.checkpoint_every < 0:
            raise SpecError("TrainConfig.checkpoint_every must be >= 0 (0 writes only the final checkpoint).")
        if self.cuda_graph and self.compile:
            raise SpecError("TrainConfig: choose compile or cuda_graph, not both (a captured step is already "
                            "launched at once; compiling it as well is not supported here).")


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; otherwise the named device, checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise SpecError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:0 or mps.") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError(f"device {name!r} was asked for, but CUDA is not available here; use --device cpu or auto.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SpecError(f"device {name!r} was asked for, but MPS is not available here; use --device cpu or auto.")
    return device


def autocast_dtype(device: torch.device, amp: bool, prefer: str = "auto") -> torch.dtype | None:
    """The mixed-precision dtype for ``device``: bf16 on CUDA when supported, else fp16; None off CUDA.

    ``prefer="bf16"`` or ``"fp16"`` forces that dtype on CUDA.
    """
    if not amp or device.type != "cuda":
        return None
    if prefer != "auto":
        return AMP_DTYPES[prefer]
    try:  # emulated bf16 (e.g. on a T4) is slow: count only native support
        native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.4 has no such argument and reports native support only
        native_bf16 = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if native_bf16 else torch.float16


@dataclass
class TrainState:
    """Everything a run needs to continue: networks, optimizers, RNGs, step and history.

    ``amp_dtype`` is the autocast dtype chosen once by :func:`create_state` (None: fp32).
    ``graphed`` is the recorded step of a ``cuda_graph`` run, made by the first :func:`fit`
    and replayed by later ones.
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
    amp_dtype: torch.dtype | None = None
    step: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in ("step",) + STAT_NAMES})
    graphed: GraphedStep | None = None


def create_state(spec: LatentSpec, config: TrainConfig, device: torch.device | str = "cpu") -> TrainState:
    """A fresh run: networks initialised from ``config.seed``, Adam optimizers, code RNG."""
    device = torch.device(device)
    dtype = autocast_dtype(device, config.amp, config.amp_dtype)  # once, not in every step
    if config.cuda_graph and (problem := graph_problem(device, dtype)) is not None:
        raise SpecError(problem)
    G, D = build_networks(spec, config.fixed_std, seed=config.seed)
    G, D = G.to(device), D.to(device)
    if config.compile:  # in place: parameter names, and so checkpoints, stay those of the plain modules
        for module in (G, D.body, D.d_head, D.q_head):
            module.compile()
    betas = (config.beta1, 0.999)  # capturable: Adam counts its steps on the GPU, as a CUDA graph needs
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=betas, capturable=config.cuda_graph)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=betas, capturable=config.cuda_graph)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    code_rng = torch.Generator(device).manual_seed(config.seed + 1)
    return TrainState(spec, config, device, G, D, opt_g, opt_d, scaler, code_rng, dtype)


def train_step(state: TrainState, real: Tensor) -> Tensor:
    """One D step and one G step on a batch of real images (N, 1, 28, 28) on the state's device.

    Returns the step's statistics as one tensor on the device (see ``STAT_NAMES``), so the
    caller decides when to synchronise with the host.
    """
    spec, cfg, G, D = state.spec, state.config, state.G, state.D
    G.train()
    D.train()
    codes = spec.sample(real.shape[0], state.code_rng)
    x_in = spec.to_input(codes, check_values=False)  # our own draw: skip the host-synchronising check
    dtype = state.amp_dtype
    # under a CUDA graph, no autocast cache of cast weights (as PyTorch asks of graphed callables)
    autocast = torch.autocast("cuda", dtype=dtype, cache_enabled=not cfg.cuda_graph) if dtype is not None \
        else contextlib.nullcontext()

    # D's step (and Q's): real vs fake, plus the information term on the fakes.
    with autocast:
        fake = G(x_in)
        h_real = D.features(real)
        d_real = D.d_head(h_real).squeeze(1)
        h_fake = D.features(fake.detach())
        d_fake = D.d_head(h_fake).squeeze(1)
        q_fake = D.q_from_features(h_fake if cfg.info else h_fake.detach())
    lq = log_q(q_fake, codes, spec, check_values=False)
    loss_d = discriminator_loss(d_real.float(), d_fake.float()) \
        - (cfg.lambda_cat * lq.categorical + cfg.lambda_cont * lq.continuous)
    if cfg.info and (cfg.lambda_real or cfg.lambda_invariant):  # optional terms on real images
        with autocast:
            q_real = D.q_from_features(h_real)
        if cfg.lambda_real:
            loss_d = loss_d - cfg.lambda_real * real_information(q_real)
        if cfg.lambda_invariant:
            moved = random_affine(real, state.code_rng)
            with autocast:
                q_moved = D.q(moved)
            loss_d = loss_d - cfg.lambda_invariant * invariant_information(q_real, q_moved)
    state.opt_d.zero_grad(set_to_none=True)
    state.scaler.scale(loss_d).backward()
    state.scaler.step(state.opt_d)

    # G's step: fool D, and make c recoverable by Q. D's weights are frozen meanwhile, so the
    # backward pass computes gradients for G only (D's would be discarded at its next step).
    D.requires_grad_(False)
    with autocast:
        h_g = D.features(fake)
        d_g = D.d_head(h_g).squeeze(1)
        loss_g = generator_loss(d_g.float())
        if cfg.info:
            loss_g = loss_g + info_loss(D.q_from_features(h_g), codes, spec, cfg.lambda_cat, cfg.lambda_cont,
                                       check_values=False)
    state.opt_g.zero_grad(set_to_none=True)
    state.scaler.scale(loss_g).backward()
    D.requires_grad_(True)
    state.scaler.step(state.opt_g)
    state.scaler.update()
    state.step += 1

    with torch.no_grad():
        return torch.stack([
            loss_d.detach(), loss_g.detach(),
            lq.categorical.detach() + spec.categorical_entropy(),
            lq.continuous.detach() + spec.continuous_entropy(),
            torch.sigmoid(d_real.detach().float()).mean(), torch.sigmoid(d_fake.detach().float()).mean(),
        ])


def fit(state: TrainState, images: Tensor, out_dir: str | Path | None = None, progress: bool = True,
        callback: Callable[[TrainState], None] | None = None) -> dict[str, list[float]]:
    """Train until ``state.config.steps``, continuing from ``state.step`` (so a resumed run goes on).

    ``images`` (N, 1, 28, 28) are moved to the device once and batched there. Statistics are
    read back every ``log_every`` steps (the mean over those steps) into ``state.history``;
    ``callback(state)`` runs after each read. With ``out_dir``, checkpoints are written to
    ``out_dir/checkpoint.pt`` every ``checkpoint_every`` steps, at the end, and when the run is
    interrupted (Ctrl-C), so no work is lost. On CUDA, cuDNN autotuning is on while it runs
    (every batch has the same shape, so the fastest kernels are picked once). With
    ``cuda_graph``, the steps are replayed from a CUDA graph (:class:`~infogan_tutorial.cuda_graph.GraphedStep`).
    """
    from tqdm.auto import tqdm

    cfg = state.config
    autotune = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = autotune or state.device.type == "cuda"
    images = images.to(state.device)
    batches = ShuffledBatches(images, cfg.batch_size, cfg.seed)
    path = Path(out_dir) / "checkpoint.pt" if out_dir is not None else None
    bar = tqdm(total=cfg.steps, initial=state.step, disable=not progress, desc="InfoGAN" if cfg.info else "GAN")
    if cfg.cuda_graph and state.graphed is None:
        state.graphed = GraphedStep(train_step, state)
    step = state.graphed if cfg.cuda_graph else lambda real: train_step(state, real)
    acc, count = torch.zeros(len(STAT_NAMES), device=state.device), 0  # summed on the device
    try:
        while state.step < cfg.steps:
            stats = step(batches.batch(state.step))
            acc.add_(stats)
            count += 1
            bar.update(1)
            if state.step % cfg.log_every == 0 or state.step == cfg.steps:
                values = (acc / count).tolist()  # the only host synchronisation
                state.history["step"].append(state.step)
                for name, v in zip(STAT_NAMES, values):
                    state.history[name].append(v)
                acc.zero_()
                count = 0
                bar.set_postfix(L_I=f"{values[2]:.3f}", loss_d=f"{values[0]:.2f}", loss_g=f"{values[1]:.2f}")
                if callback is not None:
                    callback(state)
            if path is not None and cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0 \
                    and state.step < cfg.steps:  # the final step is saved once, below
                save_checkpoint(state, path)
    except KeyboardInterrupt:
        if path is not None:
            save_checkpoint(state, path)
            bar.write(f"Interrupted at step {state.step}; saved {path}. Resume with resume_state('{path}') "
                      "or the CLI's --resume.")
        raise
    finally:
        bar.close()
        torch.backends.cudnn.benchmark = autotune
    if path is not None:
        save_checkpoint(state, path)
    return state.history


# -- checkpoints -------------------------------------------------------------------------

def atomic_save(obj: object, path: str | Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_checkpoint(state: TrainState, path: str | Path) -> None:
    """Write networks, optimizers, scaler, spec, config, step, history and RNG states."""
    atomic_save({
        "format": CHECKPOINT_FORMAT,
        "spec": state.spec.to_dict(),
        "config": dataclasses.asdict(state.config),
        "step": state.step,
        "G": state.G.state_dict(),
        "D": state.D.state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "scaler": state.scaler.state_dict(),
        "code_rng": state.code_rng.get_state(),
        "code_rng_device": state.device.type,
        "history": state.history,
    }, path)


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint dict safely (``weights_only=True``: no arbitrary objects are unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `python -m infogan_tutorial train`, "
                              "or check the path.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt, truncated, or not a torch file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e}). It may be "
                              "truncated or from another program; use an earlier checkpoint or retrain.") from e
    if not isinstance(ckpt, dict) or "spec" not in ckpt or "G" not in ckpt:
        raise CheckpointError(f"{path} is a torch file but not an infogan_tutorial checkpoint (no spec or G).")
    return ckpt


def _weights(ckpt: dict, net: str) -> dict:
    """fp32 tensors of network ``net`` ("G" or "D") from any checkpoint: a full one (fp32), or an
    export whose entries may be fp16, int8 with per-row scales (``ckpt["int8_scales"]``) or packed
    4-bit weights (``ckpt["int4"]``, see :func:`_quantize_int4`)."""
    scales, int4 = ckpt.get("int8_scales", {}).get(net, {}), ckpt.get("int4", {}).get(net, {})
    out = {}
    for k, v in ckpt[net].items():
        if k in int4:
            v = _dequantize_int4(v, int4[k]["scales"], int4[k]["shape"])
        elif k in scales:
            v = v.float() * scales[k].float().view(-1, *([1] * (v.dim() - 1)))
        out[k] = v.float() if v.is_floating_point() else v
    return out


def _load_module(module: torch.nn.Module, ckpt: dict, net: str, path: Path) -> None:
    try:
        module.load_state_dict(_weights(ckpt, net))
    except RuntimeError as e:
        raise CheckpointError(f"{net} in {path} does not fit the network built from its spec: {e}") from e


def resume_state(path: str | Path, device: torch.device | str | None = None,
                 spec: LatentSpec | None = None, **overrides: object) -> TrainState:
    """Rebuild a :class:`TrainState` from a checkpoint so that ``fit`` continues the same run.

    ``spec``, when given, must equal the checkpoint's (a checkpoint of another code layout
    raises :class:`CheckpointError`). ``overrides`` change config fields, e.g. ``steps=10000``
    to train further.
    """
    path = Path(path)
    ckpt = read_checkpoint(path)
    ckpt_spec = LatentSpec.from_dict(ckpt["spec"])
    if spec is not None and spec != ckpt_spec:
        raise CheckpointError(f"{path} was trained with spec {ckpt_spec}, not {spec}; load it without a spec "
                              "or with the matching one.")
    if "opt_g" not in ckpt:
        raise CheckpointError(f"{path} holds only weights (an exported model), so training cannot resume from it; "
                              "use it with `evaluate`/`sample`, or retrain.")
    config = TrainConfig(**{**ckpt["config"], **overrides})
    state = create_state(ckpt_spec, config, device if device is not None else "cpu")
    _load_module(state.G, ckpt, "G", path)
    _load_module(state.D, ckpt, "D", path)
    for opt, name in ((state.opt_g, "opt_g"), (state.opt_d, "opt_d")):
        saved = ckpt[name]  # capturable is this run's choice (cuda_graph), not the saving run's
        groups = [{**group, "capturable": config.cuda_graph} for group in saved["param_groups"]]
        opt.load_state_dict({**saved, "param_groups": groups})
    state.scaler.load_state_dict(ckpt["scaler"]) if ckpt["scaler"] else None
    if ckpt.get("code_rng_device") == state.device.type:
        state.code_rng.set_state(ckpt["code_rng"])
    else:  # RNG states do not carry across device types; the run goes on with fresh codes
        state.code_rng.manual_seed(config.seed + 1 + int(ckpt["step"]))
    state.step = int(ckpt["step"])
    state.history = {k: list(v) for k, v in ckpt["history"].items()}
    return state


def load_networks(path: str | Path, device: torch.device | str = "cpu",
                  spec: LatentSpec | None = None) -> tuple[LatentSpec, Generator, Discriminator]:
    """G and D/Q from a checkpoint (a full one or an exported, weights-only one), in eval mode."""
    return networks_from_checkpoint(read_checkpoint(path), device, spec, path)


def networks_from_checkpoint(ckpt: dict, device: torch.device | str = "cpu", spec: LatentSpec | None = None,
                             path: str | Path = "checkpoint") -> tuple[LatentSpec, Generator, Discriminator]:
    """Like :func:`load_networks`, from a dict already read by :func:`read_checkpoint`."""
    path = Path(path)
    ckpt_spec = LatentSpec.from_dict(ckpt["spec"])
    if spec is not None and spec != ckpt_spec:
        raise CheckpointError(f"{path} was trained with spec {ckpt_spec}, not {spec}.")
    fixed_std = ckpt.get("config", {}).get("fixed_std")
    G, D = Generator(ckpt_spec), Discriminator(ckpt_spec, fixed_std)
    _load_module(G, ckpt, "G", path)
    _load_module(D, ckpt, "D", path)
    return ckpt_spec, G.to(device).eval(), D.to(device).eval()


def _quantize_rows(weight: Tensor) -> tuple[Tensor, Tensor]:
    """int8 weights and one fp32 scale per row (output unit): w ≈ q * scale, |error| <= scale / 2."""
    rows = weight.float().reshape(weight.shape[0], -1)
    scale = rows.abs().amax(dim=1).clamp_min(1e-12) / 127
    q = torch.round(rows / scale[:, None]).to(torch.int8).reshape(weight.shape)
    return q, scale


def _quantize_int4(weight: Tensor) -> tuple[Tensor, Tensor]:
    """Two 4-bit weights per byte, and one fp16 scale per ``INT4_GROUP`` consecutive weights.

    Each weight w of a group becomes q = round(w / scale) in -8..7 with scale = max|w| / 7, so
    |w - q * scale| <= scale / 2; q + 8 is stored in 4 bits.
    """
    groups = weight.float().reshape(-1, INT4_GROUP)
    scale = (groups.abs().amax(dim=1).clamp_min(1e-12) / 7).half()
    q = (torch.round(groups / scale.float()[:, None]).clamp(-8, 7) + 8).to(torch.uint8).reshape(-1)
    return q[0::2] | (q[1::2] << 4), scale


def _dequantize_int4(packed: Tensor, scales: Tensor, shape: list[int]) -> Tensor:
    q = torch.stack([packed & 0x0F, packed >> 4], dim=1).reshape(-1, INT4_GROUP).float() - 8
    return (q * scales.float()[:, None]).reshape(shape)


def export_model(state_or_path: TrainState | str | Path, path: str | Path,
                 dtype: torch.dtype = torch.float16, int8: bool = False, int4: bool = False) -> None:
    """Write a compact, weights-only checkpoint (G and D/Q) for sharing.

    Floating-point tensors are stored in ``dtype``. With ``int8=True`` the large weight
    matrices (at least ``INT8_MIN_SIZE`` numbers; in the paper's network the two
    1024 x 6272 layers hold 12.8M of its 13.3M weights) are stored as int8 with a scale per
    row, which halves the fp16 size. With ``int4=True`` they are stored in 4 bits with a
    scale per ``INT4_GROUP`` weights, about a quarter of the fp16 size (a matrix whose size is
    not a multiple of ``INT4_GROUP`` falls back to int8). :func:`load_networks`
    restores fp32 weights from any of them.
    """
    if int8 and int4:
        raise SpecError("export_model: choose int8 or int4, not both.")
    if isinstance(state_or_path, TrainState):
        s = state_or_path
        ckpt = {"spec": s.spec.to_dict(), "config": dataclasses.asdict(s.config), "step": s.step,
                "G": s.G.state_dict(), "D": s.D.state_dict(), "history": s.history}
    else:
        ckpt = read_checkpoint(state_or_path)
    compact = {k: ckpt[k] for k in ("spec", "config", "step", "history") if k in ckpt}
    compact["format"] = CHECKPOINT_FORMAT
    scales: dict[str, dict[str, Tensor]] = {}
    packed: dict[str, dict[str, dict]] = {}
    for net in ("G", "D"):
        compact[net] = {}
        for k, v in _weights(ckpt, net).items():
            large = v.is_floating_point() and v.dim() >= 2 and v.numel() >= INT8_MIN_SIZE
            if int4 and large and v.numel() % INT4_GROUP == 0:
                compact[net][k], group_scales = _quantize_int4(v)
                packed.setdefault(net, {})[k] = {"scales": group_scales, "shape": list(v.shape)}
            elif (int8 or int4) and large:
                compact[net][k], scales.setdefault(net, {})[k] = _quantize_rows(v)
            else:
                compact[net][k] = v.to(dtype) if v.is_floating_point() else v
    if scales:
        compact["int8_scales"] = scales
    if packed:
        compact["int4"] = packed
    atomic_save(compact, path)
