"""How much of c can be read back from G(z, c)? Fit a fresh Q on a frozen generator.

A generator that ignores its codes c produces images from which no Q can recover c: the
best guess is the prior, so Q(c_1 | x) is right 1 time in K and the bound

    L_I = E_{c ~ P(c), x = G(z, c)} [log Q(c | x)] + H(c)

stays near 0 for a categorical code (a blind Q's guess of a continuous code scores below 0: about
-0.35 for c2 and c3 together, chapter 4). A generator that encodes c (InfoGAN's) lets a Q learn to
read it back: the accuracy rises towards 1 and L_I of c1 towards H(c1) = ln 10.

:func:`recover_codes` makes that measurement after training. G is frozen; a fresh Q, with
the architecture of the package's Q (a :class:`~infogan_tutorial.networks.Discriminator`'s
body and ``q_head``, its ``d_head`` unused), is trained to maximise E[log Q(c | x)] on
fresh samples x = G(z, c), then scored on other fresh samples (after its batch-norm
statistics are re-estimated on G's samples, so that the eval-mode Q matches the trained one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .devices import usable_device
from .errors import DataError, SpecError
from .evaluation import score_fresh_samples
from .latent_codes import Codes, LatentSpec, count
from .networks import IMAGE_SHAPE, Discriminator, check_network, eval_mode, init_weights
from .objectives import info_lower_bound, log_q


@dataclass
class RecoveryResult:
    """What a fresh Q recovered from a frozen G, measured on ``n_eval`` fresh samples.

    Attributes:
        c1_accuracy: fraction of samples whose argmax_k Q(c_1 = k | x) is the c_1 that made x
            (``nan`` for a spec without categorical codes).
        chance: the accuracy of guessing from the prior, 1 / K_1.
        info_cat: L_I of the categorical codes (nats): at most H(c_cat), about 0 when nothing is recovered.
        info_cont: L_I of the continuous codes (nats; differential entropy, any sign).
        entropy_cat: H(c_cat), the ceiling of ``info_cat``.
        n_eval: number of fresh samples scored.
        history: per logged training step: ``step``, ``info_cat``, ``info_cont`` and ``c1_accuracy``
            on that step's training batch.
    """

    c1_accuracy: float
    chance: float
    info_cat: float
    info_cont: float
    entropy_cat: float
    n_eval: int
    history: dict[str, list[float]] = field(default_factory=dict)


def _c1_hits(q_logits: list[torch.Tensor], codes: Codes) -> torch.Tensor:
    if not q_logits:
        return torch.zeros((), device=codes.z.device)
    return (q_logits[0].argmax(dim=1) == codes.categorical[:, 0]).float().sum()


@torch.no_grad()
def _recalibrate_batch_norm(Q: Discriminator, G: nn.Module, spec: LatentSpec, rng: torch.Generator,
                            device: torch.device, batches: int, batch_size: int) -> None:
    """Replace Q's batch-norm running statistics by plain averages over fresh batches of G's samples.

    During a short fit the weights move fast, so the exponential running averages lag behind
    them; scoring an eval-mode Q with such stale statistics would understate what it recovers.
    """
    norms = [m for m in Q.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    Q.train()
    for _ in range(batches):
        Q.q(G(spec.sample(batch_size, rng, device=device)))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


def _first_images(G: nn.Module, codes: Codes) -> Tensor:
    """G's images of the first batch of codes, or a SpecError that says G does not map codes to images."""
    need = ("recover_codes needs a G that maps a Codes batch (spec.sample(n)) to images (N, 1, 28, 28) in [-1, 1], "
            "such as a trained Generator")
    try:
        x = G(codes)
    except (TypeError, AttributeError, RuntimeError, ValueError) as e:
        raise SpecError(f"{need}; calling {type(G).__name__} on codes failed: {type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}"[:400]) from e
    if not isinstance(x, Tensor) or tuple(x.shape) != (len(codes), *IMAGE_SHAPE):
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise SpecError(f"{need}; {type(G).__name__} returned {got} for {len(codes)} codes.")
    return x


def _fit_q(Q: Discriminator, G: nn.Module, spec: LatentSpec, rng: torch.Generator, device: torch.device,
           steps: int, batch_size: int, lr: float, log_every: int) -> dict[str, list[float]]:
    """Adam on -E[log Q(c | x)] (all codes) for ``steps`` steps on fresh x = G(z, c); Q's training history."""
    params = [*Q.body.parameters(), *Q.q_head.parameters()]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
    history: dict[str, list[float]] = {"step": [], "info_cat": [], "info_cont": [], "c1_accuracy": []}
    Q.train()
    for step in range(1, steps + 1):
        codes = spec.sample(batch_size, rng, device=device)
        with torch.no_grad():
            x = G(codes) if step > 1 else _first_images(G, codes)
        if step == 1 and not torch.isfinite(x).all():  # one host read: a G that draws NaN has nothing to recover
            raise DataError("recover_codes: G's images hold NaN or infinite values (its weights are not finite: a "
                            "corrupt checkpoint or a run that diverged), so no Q can be trained or scored on them; "
                            "load a good checkpoint.")
        q = Q.q(x)
        lq = log_q(q, codes, spec)
        loss = -(lq.categorical + lq.continuous)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                bound = info_lower_bound(q, codes, spec)
                history["step"].append(step)
                history["info_cat"].append(float(bound.categorical))
                history["info_cont"].append(float(bound.continuous))
                history["c1_accuracy"].append(float(_c1_hits(q.logits, codes)) / batch_size
                                              if spec.n_categorical else math.nan)
    return history


MAX_STEPS = 100_000
"""The most training steps (and held-out images) :func:`recover_codes` takes."""
MAX_BATCH = 4096
"""The largest batch of fresh images :func:`recover_codes` trains Q on at once."""


def recover_codes(G: nn.Module, spec: LatentSpec | None = None, steps: int = 200, batch_size: int = 64,
                  seed: int = 0, device: torch.device | str | None = None, lr: float = 1e-3,
                  n_eval: int = 1000, log_every: int = 10) -> RecoveryResult:
    """Freeze G, train a fresh Q(c | x) on x = G(z, c) for ``steps`` steps, and score it.

    Args:
        G: any module mapping a :class:`Codes` batch to images (N, 1, 28, 28) in [-1, 1]; it is
            run in eval mode without gradients, and its parameters and mode are left as they were.
        spec: the code layout; defaults to ``G.spec``.
        steps: Q's training steps: Adam (learning rate ``lr``, beta1 0.5) on -E[log Q(c | x)] summed over
            all codes.
        batch_size: fresh images x = G(z, c) per training step of Q.
        seed: seeds Q's initial weights and the codes drawn for training and scoring.
        device: where to run; defaults to the device of G's parameters (cpu if it has none).
        n_eval: fresh samples on which the result is measured (Q in eval mode).
        log_every: steps between entries of ``history``.
    """
    check_network(G, "G", "recover_codes", spec)
    steps, batch_size = count(steps, "recover_codes: steps"), count(batch_size, "recover_codes: batch_size")
    n_eval, log_every = count(n_eval, "recover_codes: n_eval"), count(log_every, "recover_codes: log_every")
    spec = spec if spec is not None else getattr(G, "spec", None)
    if not isinstance(spec, LatentSpec):
        raise SpecError("recover_codes needs the generator's LatentSpec: pass spec=..., or give G a .spec.")
    if spec.code_dim == 0:
        raise SpecError(f"spec {spec} has no codes c to recover (only noise z).")
    if steps < 1 or batch_size < 2 or n_eval < 1 or log_every < 1:
        raise SpecError("need steps >= 1, batch_size >= 2 (Q uses batch norm), n_eval >= 1 and log_every >= 1.")
    if steps > MAX_STEPS or batch_size * (steps + 1) > MAX_STEPS * 256 or n_eval > MAX_STEPS \
            or batch_size > MAX_BATCH:
        raise SpecError(f"recover_codes: steps and n_eval are at most {MAX_STEPS:,}, batch_size at most {MAX_BATCH:,} "
                        f"(one batch's activations take about 1 GB per 1,000 images), and steps x batch_size at most "
                        f"{MAX_STEPS * 256:,} images (the book's runs take 200 x 64); got steps={steps:,}, "
                        f"batch_size={batch_size:,}, n_eval={n_eval:,}.")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise SpecError(f"recover_codes: lr must be a finite number > 0 (Adam's learning rate), got {lr!r}.")
    if device is None:
        first = next(G.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = usable_device(device)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        Q = Discriminator(spec)
        init_weights(Q)
    Q = Q.to(device)
    train_rng = torch.Generator(device).manual_seed(seed)
    eval_rng = torch.Generator(device).manual_seed(seed + 1)
    with eval_mode(G):
        history = _fit_q(Q, G, spec, train_rng, device, steps, batch_size, lr, log_every)
        _recalibrate_batch_norm(Q, G, spec, train_rng, device, batches=2, batch_size=max(batch_size, 250))
        with eval_mode(Q):
            score = score_fresh_samples(G, Q, spec, n_eval, eval_rng, device=device)

    if not all(math.isfinite(v) for v in (*history["info_cat"], *history["info_cont"],
                                           float(score.bound.categorical), float(score.bound.continuous))):
        raise DataError(f"recover_codes: Q's training diverged (its bound became NaN or infinite) at lr={lr:g}; use "
                        "a smaller lr (the default is 1e-3).")
    has_cat = spec.n_categorical > 0
    return RecoveryResult(
        c1_accuracy=score.c1_accuracy,
        chance=1.0 / spec.categorical[0] if has_cat else math.nan,
        info_cat=float(score.bound.categorical), info_cont=float(score.bound.continuous),
        entropy_cat=spec.categorical_entropy(), n_eval=n_eval, history=history)
