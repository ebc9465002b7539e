"""Objectives: the adversarial losses and the mutual-information lower bound.

InfoGAN solves  min_{G,Q} max_D  V(D, G) - lambda * L_I(G, Q)  with

    L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)} [log Q(c | x)] + H(c)  <=  I(c; G(z, c)).

For a categorical code, log Q(c | x) is minus the cross-entropy of Q's logits with the
sampled category; for a continuous code it is a Gaussian log-likelihood with Q's mean
and standard deviation. H(c) is a constant, so it changes the bound's value but not its
gradient: the loss we minimise is just  -lambda * E[log Q(c | x)].
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import SpecError
from .latent_codes import Codes, LatentSpec
from .networks import QOutput


def _check_logits(logits: object, what: str) -> None:
    """A tensor with at least one logit (a mean over none is NaN), or a :class:`SpecError`; no host read."""
    if not isinstance(logits, Tensor):
        raise SpecError(f"{what} must be a tensor of D's logits, got {type(logits).__name__}.")
    if logits.numel() == 0:
        raise SpecError(f"{what} is empty (shape {tuple(logits.shape)}); the loss is a mean over a batch, so pass at "
                        "least one logit.")
    if not logits.is_floating_point():
        raise SpecError(f"{what} holds {logits.dtype} values; logits are real numbers: pass D's output, or convert "
                        "with .float().")


def discriminator_loss(real_logit: Tensor, fake_logit: Tensor) -> Tensor:
    """-V(D, G) for D: -E[log D(x)] - E[log(1 - D(G(z, c)))], from logits."""
    _check_logits(real_logit, "discriminator_loss: real_logit")
    _check_logits(fake_logit, "discriminator_loss: fake_logit")
    return F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean()


def generator_loss(fake_logit: Tensor) -> Tensor:
    """G's non-saturating adversarial loss -E[log D(G(z, c))] (Goodfellow et al., 2014)."""
    _check_logits(fake_logit, "generator_loss: fake_logit")
    return F.softplus(-fake_logit).mean()


def gaussian_log_likelihood(c: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """log N(c; mean, exp(log_std)^2), elementwise (the three broadcast together).

    1 / sigma = exp(-log_std) is held just below the dtype's largest number, so a sigma too small for it (log_std
    below about -88 in float32) still gives -log_std - log sqrt(2 pi) where c equals the mean, not 0 * inf = NaN;
    log_std is held there before the exponential, so the gradient stays finite too.
    """
    if not all(isinstance(t, Tensor) for t in (c, mean, log_std)):
        raise SpecError("gaussian_log_likelihood needs tensors c, mean and log_std, got "
                        f"{', '.join(type(t).__name__ for t in (c, mean, log_std))}; convert with torch.as_tensor.")
    try:
        torch.broadcast_shapes(c.shape, mean.shape, log_std.shape)
    except RuntimeError:
        raise SpecError(f"gaussian_log_likelihood: c {tuple(c.shape)}, mean {tuple(mean.shape)} and log_std "
                        f"{tuple(log_std.shape)} do not broadcast together; give them one shape, e.g. (N, L).") from None
    floor = 0.01 - math.log(torch.finfo(log_std.dtype).max) if log_std.is_floating_point() else -math.inf
    scale = torch.exp(-log_std.clamp(min=floor))  # the identity on every finite 1 / sigma; exp never reaches inf
    return -0.5 * math.log(2 * math.pi) - log_std - 0.5 * ((c - mean) * scale) ** 2


@dataclass
class LogQ:
    """E[log Q(c | x)] over a batch, summed over the codes of each type (scalars)."""

    categorical: Tensor
    continuous: Tensor


@dataclass
class InfoBound:
    """The lower bound L_I = E[log Q(c | x)] + H(c), split by code type (scalars, nats).

    ``categorical`` is bounded above by H(c_cat) (ln 10 for one 10-way code); ``continuous``
    uses the codes' differential entropy and can be any real number.
    """

    categorical: Tensor
    continuous: Tensor

    @property
    def total(self) -> Tensor:
        return self.categorical + self.continuous


def _check(q: QOutput, codes: Codes, spec: LatentSpec, values: bool = True) -> None:
    if not isinstance(q, QOutput):
        raise SpecError(f"Q's output must be a QOutput (what D.q(x) returns: logits, mean, log_std), got "
                        f"{type(q).__name__}.")
    if not isinstance(codes, Codes):
        raise SpecError(f"the codes must be a Codes batch (what spec.sample(n) returns: z, categorical, continuous), "
                        f"got {type(codes).__name__}.")
    if not isinstance(spec, LatentSpec):
        raise SpecError(f"the code layout must be a LatentSpec (e.g. G.spec), got {type(spec).__name__}.")
    spec.check(codes, values=values)
    n = len(codes)
    parts = [*q.logits, q.mean, q.log_std] if isinstance(q.logits, (list, tuple)) else [q.logits]
    for part in parts:
        if not isinstance(part, Tensor) or not part.is_floating_point():
            raise SpecError(f"Q's outputs must be floating-point torch tensors (what D.q(x) returns), got "
                            f"{type(part).__name__ if not isinstance(part, Tensor) else part.dtype}; convert them "
                            "with torch.as_tensor(x, dtype=torch.float32).")
        if part.is_meta or part.device != codes.z.device:
            raise SpecError(f"Q's outputs are on {part.device} but the codes on {codes.z.device}" + (
                " (the meta device holds shapes without values)" if part.is_meta else "")
                + "; compute both on one device.")
    if len(q.logits) != spec.n_categorical:
        raise SpecError(f"Q gave {len(q.logits)} categorical heads but the spec has {spec.n_categorical}; "
                        "build Q from the same spec as the codes.")
    for i, (logits, k) in enumerate(zip(q.logits, spec.categorical)):
        if tuple(logits.shape) != (n, k):
            raise SpecError(f"Q's logits for c{i + 1} have shape {tuple(logits.shape)}, expected ({n}, {k}).")
    for name in ("mean", "log_std"):
        got = tuple(getattr(q, name).shape)
        if got != (n, spec.n_continuous):
            raise SpecError(f"Q's {name} has shape {got}, expected ({n}, {spec.n_continuous}).")


def log_q(q: QOutput, codes: Codes, spec: LatentSpec, check_values: bool = True) -> LogQ:
    """Monte-Carlo estimate of E[log Q(c | x)] for the codes that generated x (computed in fp32, a mixed-precision
    Q's bf16 or fp16 outputs included, or in float64 where Q's outputs are float64).

    ``check_values=False`` skips the bounds check of the category indices, which reads a
    number back from the device (the training step uses it for codes it drew itself).
    """
    _check(q, codes, spec, check_values)
    dtype = torch.float64 if q.mean.dtype == torch.float64 else torch.float32
    zero = codes.z.new_zeros((), dtype=dtype)
    cat = sum((-F.cross_entropy(logits.to(dtype), codes.categorical[:, i].long())
               for i, logits in enumerate(q.logits)), zero)
    cont = zero
    if spec.n_continuous:
        ll = gaussian_log_likelihood(codes.continuous.to(dtype), q.mean.to(dtype), q.log_std.to(dtype))
        cont = ll.sum(dim=1).mean()
    return LogQ(cat, cont)


def info_lower_bound(q: QOutput, codes: Codes, spec: LatentSpec) -> InfoBound:
    """L_I(G, Q) = E[log Q(c | x)] + H(c), per code type."""
    lq = log_q(q, codes, spec)
    return InfoBound(lq.categorical + spec.categorical_entropy(), lq.continuous + spec.continuous_entropy())


def info_loss(q: QOutput, codes: Codes, spec: LatentSpec,
              lambda_cat: float = 1.0, lambda_cont: float = 0.1, check_values: bool = True) -> Tensor:
    """The information term G and Q minimise: -(lambda_cat E[log Q(c_cat|x)] + lambda_cont E[log Q(c_cont|x)]).

    Its gradient must reach G, Q's head and the body D shares with Q. With ``check_values`` (the default; the
    training step skips it), a weight that is not a finite number >= 0 raises
    :class:`~infogan_tutorial.errors.SpecError`, as :class:`~infogan_tutorial.config.TrainConfig` does.
    """
    if check_values:
        _check_weights("info_loss", lambda_cat, lambda_cont)
        if isinstance(codes, Codes) and len(codes) == 0:
            raise SpecError("info_loss: the batch is empty (0 images): a mean over no images has no value; pass "
                            "at least one image's codes and Q's outputs.")
    return info_term(log_q(q, codes, spec, check_values), lambda_cat, lambda_cont)


def _check_weights(where: str, lambda_cat: float, lambda_cont: float) -> None:
    """Refuse a weight of the information term that is not a finite number >= 0, as TrainConfig does."""
    for name, value in (("lambda_cat", lambda_cat), ("lambda_cont", lambda_cont)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise SpecError(f"{where}: {name} must be a finite number >= 0 (a weight of the information term), got "
                            f"{value!r}.")


def info_term(lq: LogQ, lambda_cat: float = 1.0, lambda_cont: float = 0.1) -> Tensor:
    """:func:`info_loss` from log-likelihoods already computed: -(lambda_cat lq.categorical + lambda_cont
    lq.continuous), i.e. -lambda L_I up to the constant H(c)."""
    if not isinstance(lq, LogQ):
        raise SpecError(f"info_term needs a LogQ (what log_q(q, codes, spec) returns), got {type(lq).__name__}.")
    _check_weights("info_term", lambda_cat, lambda_cont)
    return -(lambda_cat * lq.categorical + lambda_cont * lq.continuous)


def _check_q_batch(q: object, where: str) -> None:
    """``q`` is a :class:`QOutput` whose categorical logits are a list of (N, K) tensors with N >= 1 (shapes only: no
    host read, so the training step's graph is untouched)."""
    if not isinstance(q, QOutput):
        raise SpecError(f"{where} needs Q's output (a QOutput, what D.q(x) returns), got {type(q).__name__}.")
    if not isinstance(q.logits, (list, tuple)) or not all(isinstance(t, Tensor) and t.dim() == 2 for t in q.logits):
        raise SpecError(f"{where}: Q's logits must be a list of (N, K) tensors, one per categorical code, got "
                        f"{type(q.logits).__name__}.")
    if any(t.shape[0] == 0 for t in q.logits):
        raise SpecError(f"{where}: the batch is empty (0 images): a mean over no images has no value; pass at least "
                        "one image's Q output.")


def real_information(q: QOutput) -> Tensor:
    """I_Q(x; ĉ) = H(E_x Q(ĉ | x)) - E_x H(Q(ĉ | x)) on a batch of *real* images, summed over categorical codes.

    The mutual information between a real image x and the category ĉ that Q assigns to it
    (Gomes et al.'s regularised information maximisation, as in CatGAN). It is large when Q
    is sure of each image's category (low conditional entropy) and uses all categories
    equally often (high marginal entropy); it is at most H(c) = sum of ln K. Computed in fp32.
    """
    _check_q_batch(q, "real_information")
    total = q.mean.new_zeros((), dtype=torch.float32)
    for logits in q.logits:
        log_p = F.log_softmax(logits.float(), dim=1)
        p = log_p.exp()
        conditional = -(p * log_p).sum(dim=1).mean()
        marginal = p.mean(dim=0)
        total = total + (-(marginal * torch.log(marginal.clamp_min(1e-12))).sum()) - conditional
    return total


def invariant_information(q: QOutput, q_moved: QOutput) -> Tensor:
    """I(ĉ; ĉ') between Q's category of a real image and of a randomly moved copy, summed over categorical codes.

    Invariant information clustering (Ji et al., 2019): with p = Q(ĉ | x) and p' = Q(ĉ' | T(x))
    for a small random transformation T (``data.random_affine``), the batch's joint
    distribution is P = mean_x p p'^T (made symmetric), and

        I(ĉ; ĉ') = sum_jk P_jk log(P_jk / (P_j P_k))  <=  H(ĉ) <= ln K.

    It is largest when each image's category is sure, survives the move, and all K
    categories are used equally: the categories then describe what moves do not change,
    such as a digit's identity. Computed in fp32.
    """
    _check_q_batch(q, "invariant_information")
    _check_q_batch(q_moved, "invariant_information (q_moved)")
    if len(q.logits) != len(q_moved.logits):
        raise SpecError(f"the two Q outputs have {len(q.logits)} and {len(q_moved.logits)} categorical codes; pass "
                        "Q(x) and Q(T(x)) of one network.")
    total = q.mean.new_zeros((), dtype=torch.float32)
    for logits, moved in zip(q.logits, q_moved.logits):
        if logits.shape != moved.shape:
            raise SpecError(f"the two Q outputs have logits of shapes {tuple(logits.shape)} and "
                            f"{tuple(moved.shape)}; pass Q(x) and Q(T(x)) of the same images.")
        joint = F.softmax(logits.float(), dim=1).T @ F.softmax(moved.float(), dim=1) / logits.shape[0]
        joint = ((joint + joint.T) / 2).clamp_min(1e-12)
        marginal = joint.sum(dim=1)
        total = total + (joint * (joint.log() - marginal.log()[:, None] - marginal.log()[None, :])).sum()
    return total
