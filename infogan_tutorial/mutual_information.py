"""A toy problem where I(c; x) is exact: the variational bound L_I, its gap, and fitting Q.

In InfoGAN, x = G(z, c) is an image and the posterior P(c | x) is out of reach, so the
paper maximises a lower bound instead (Chen et al., 2016, Lemma 5.1; Barber & Agakov, 2003):

    L_I(G, Q) = E_{c ~ P(c), x ~ P(x | c)} [log Q(c | x)] + H(c)  <=  I(c; x),

    I(c; x) - L_I = E_x [ KL( P(. | x) || Q(. | x) ) ]  >=  0.

Here c takes K values and x takes M values (a discrete channel, or a 1-D continuous x
discretised into M bins), so the joint P(c, x) is a finite table and every expectation is
a sum: I(c; x) is exact, and we can watch the bound reach it.

Conventions:

- a *joint* is a (K, M) tensor, rows indexed by the code c, columns by the observation x;
- a *channel* is a (K, M) tensor whose row c is P(x | c);
- a *Q table* is an (M, K) tensor whose row m is the distribution Q(. | x = m);
- every result is a 0-dim float64 tensor in nats (so ``info_bound`` stays differentiable in Q).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from .errors import SpecError

DTYPE = torch.float64
MAX_SYMBOLS = 100_000_000
"""The most symbols :func:`uniform` makes a distribution over (800 MB in float64), and entries of a channel table."""
MAX_FIT_SAMPLES = 1_000_000
"""The most (c, x) pairs :func:`fit_q` draws in one step (the book's fits draw 64)."""
MAX_FIT_STEPS = 1_000_000
"""The most gradient steps :func:`fit_q` takes (the book's fits take 200 to 2,000)."""


MAX_ENTRIES = 50_000_000
"""The most numbers a distribution (or a grid) given to this module may hold (400 MB in float64)."""


def _as_tensor(p: Tensor | Sequence) -> Tensor:
    """A float64 tensor of finite numbers (lists are read as float64 directly, so no float32 rounding creeps in),
    or a :class:`SpecError`."""
    if isinstance(p, (str, bytes)):
        raise SpecError(f"a distribution must be numbers (a tensor, an array or a list), got the text {p!r}.")
    if isinstance(p, Tensor) and p.is_meta:
        raise SpecError("a distribution must hold numbers, but this tensor is on the meta device (a shape without "
                        "values); pass real probabilities.")
    if isinstance(p, Tensor) and p.numel() > MAX_ENTRIES:
        raise SpecError(f"a distribution here holds at most {MAX_ENTRIES:,} numbers (computed in float64), got "
                        f"{p.numel():,}; use a coarser grid or fewer outcomes.")
    try:
        p = p.to(DTYPE) if isinstance(p, Tensor) else torch.as_tensor(p, dtype=DTYPE)
    except (TypeError, ValueError, RuntimeError) as e:
        raise SpecError(f"a distribution must be numbers (a tensor, an array or a list), got {type(p).__name__} "
                        f"({e}).") from None
    if not bool(torch.isfinite(p).all()):
        raise SpecError("a distribution must hold finite numbers; this one holds NaN or infinity.")
    return p


def _check_distribution(p: Tensor, what: str) -> None:
    """Refuse negative entries (named) and a total other than 1."""
    if bool((p < 0).any()):
        raise SpecError(f"{what} must be non-negative, got {float(p.min()):.6g} among its entries.")
    if abs(float(p.sum()) - 1.0) > 1e-6:
        raise SpecError(f"{what} must sum to 1, got sum {float(p.sum()):.6g}.")


def _check_joint(joint: Tensor | Sequence) -> Tensor:
    p = _as_tensor(joint)
    if p.dim() != 2:
        raise SpecError(f"a joint P(c, x) must be a (K, M) table, got shape {tuple(p.shape)}.")
    _check_distribution(p, "a joint")
    return p


def _xlogx(p: Tensor) -> Tensor:
    """p log p with 0 log 0 = 0, elementwise."""
    return torch.where(p > 0, p * torch.log(torch.where(p > 0, p, torch.ones_like(p))), torch.zeros_like(p))


# -- entropies and mutual information -------------------------------------------------------

def entropy(p: Tensor | Sequence) -> Tensor:
    """H(p) = -sum p log p of a distribution of any shape (a joint gives the joint entropy)."""
    p = _as_tensor(p)
    _check_distribution(p, "a distribution")
    return 0.0 - _xlogx(p).sum()  # 0.0 - (...) turns a certain code's -0.0 into 0.0


def marginals(joint: Tensor | Sequence) -> tuple[Tensor, Tensor]:
    """(P(c), P(x)) of a (K, M) joint."""
    p = _check_joint(joint)
    return p.sum(dim=1), p.sum(dim=0)


def joint_distribution(prior: Tensor | Sequence, channel: Tensor | Sequence) -> Tensor:
    """P(c, x) = P(c) P(x | c) from a prior (K,) and a channel (K, M) whose rows sum to 1."""
    prior, channel = _as_tensor(prior), _as_tensor(channel)
    if prior.dim() != 1 or channel.dim() != 2 or channel.shape[0] != prior.shape[0]:
        raise SpecError(f"prior must be (K,) and channel (K, M); got {tuple(prior.shape)} and {tuple(channel.shape)}.")
    if bool((channel < 0).any()) or bool(((channel.sum(dim=1) - 1).abs() > 1e-6).any()):
        raise SpecError("every row P(x | c) of the channel must be non-negative and sum to 1.")
    return _check_joint(prior[:, None] * channel)


def conditional_entropy(joint: Tensor | Sequence) -> Tensor:
    """H(c | x) = H(c, x) - H(x): the uncertainty about c left after seeing x."""
    p = _check_joint(joint)
    return entropy(p) - entropy(p.sum(dim=0))


def mutual_information(joint: Tensor | Sequence) -> Tensor:
    """I(c; x) = H(c) - H(c | x): how much seeing x reduces the uncertainty about c."""
    p = _check_joint(joint)
    return entropy(p.sum(dim=1)) - conditional_entropy(p)


def posterior(joint: Tensor | Sequence) -> Tensor:
    """The true posterior P(c | x) as an (M, K) Q table.

    For an x with P(x) = 0 the row is the prior P(c); such rows never enter an expectation.
    """
    p = _check_joint(joint)
    p_c, p_x = p.sum(dim=1), p.sum(dim=0)
    safe = torch.where(p_x > 0, p_x, torch.ones_like(p_x))
    post = (p / safe).T
    return torch.where((p_x > 0)[:, None], post, p_c.expand_as(post))


# -- the variational bound ------------------------------------------------------------------

def _check_q(q: Tensor, joint: Tensor) -> Tensor:
    q = _as_tensor(q)
    k, m = joint.shape
    if tuple(q.shape) != (m, k):
        raise SpecError(f"a Q table must have shape (M, K) = ({m}, {k}) (row m is Q(. | x = m)), "
                        f"got {tuple(q.shape)}.")
    if bool((q < 0).any()) or bool(((q.sum(dim=1) - 1).abs() > 1e-6).any()):
        raise SpecError("every row Q(. | x) of a Q table must be non-negative and sum to 1.")
    return q


def expected_log_q(joint: Tensor | Sequence, q: Tensor) -> Tensor:
    """E_{c ~ P(c), x ~ P(x | c)} [log Q(c | x)] = sum_{c, x} P(c, x) log Q(c | x) (differentiable in q).

    Pairs with P(c, x) = 0 contribute nothing; a pair with P(c, x) > 0 and Q(c | x) = 0 gives -inf.
    """
    p = _check_joint(joint)
    q = _check_q(q, p)
    return torch.where(p > 0, p * torch.log(q.T), torch.zeros_like(p)).sum()


def info_bound(joint: Tensor | Sequence, q: Tensor) -> Tensor:
    """L_I = E_{c ~ P(c), x ~ P(x | c)} [log Q(c | x)] + H(c), a lower bound on I(c; x).

    Equal to I(c; x) when Q is the true posterior (see :func:`posterior`).
    """
    p = _check_joint(joint)
    return expected_log_q(p, q) + entropy(p.sum(dim=1))


def bound_gap(joint: Tensor | Sequence, q: Tensor) -> Tensor:
    """E_x [ KL( P(. | x) || Q(. | x) ) ], which equals I(c; x) - L_I and is never negative."""
    p = _check_joint(joint)
    q = _check_q(q, p)
    post = posterior(p)  # (M, K)
    p_x = p.sum(dim=0)
    ratio = torch.where(post > 0, post / torch.where(q > 0, q, torch.ones_like(q)), torch.ones_like(q))
    kl_terms = torch.where(post > 0, post * torch.log(ratio), torch.zeros_like(post))
    kl_terms = torch.where((post > 0) & (q <= 0), torch.full_like(post, math.inf), kl_terms)
    kl = kl_terms.sum(dim=1)
    return torch.where(p_x > 0, p_x * kl, torch.zeros_like(p_x)).sum()


# -- channels with known answers ------------------------------------------------------------

def uniform(k: int) -> Tensor:
    """The uniform distribution over K symbols (the prior of a categorical code like c_1)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise SpecError(f"uniform needs a whole number of symbols K >= 1, got K = {k!r}.")
    if k > MAX_SYMBOLS:
        raise SpecError(f"uniform: K = {k:,} symbols would take {8 * k:,} bytes; at most {MAX_SYMBOLS:,} are made.")
    return torch.full((k,), 1.0 / k, dtype=DTYPE)


def symmetric_channel(k: int, error: float) -> Tensor:
    """A K-ary symmetric channel: x = c with probability 1 - error, else one of the other K - 1 symbols."""
    if isinstance(error, Tensor) and error.numel() == 1 and error.is_floating_point():
        error = float(error)  # a 0-d tensor (e.g. from torch.linspace) is one number
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or isinstance(error, bool) \
            or not isinstance(error, numbers.Real):
        raise SpecError(f"symmetric_channel needs a whole number K and an error probability as a number, got "
                        f"K = {k!r}, error = {error!r}.")
    if k < 2 or not 0.0 <= error <= 1.0:
        raise SpecError(f"need K >= 2 and 0 <= error <= 1, got K = {k}, error = {error}.")
    if k * k > MAX_SYMBOLS:
        raise SpecError(f"symmetric_channel: a K x K table for K = {k:,} holds {k * k:,} entries; at most "
                        f"{MAX_SYMBOLS:,} are made (K up to {math.isqrt(MAX_SYMBOLS):,}).")
    ch = torch.full((k, k), error / (k - 1), dtype=DTYPE)
    ch.fill_diagonal_(1.0 - error)
    return ch


def symmetric_channel_information(k: int, error: float) -> float:
    """Closed form of I(c; x) for a uniform c through :func:`symmetric_channel`:

    I = ln K - H_b(error) - error ln(K - 1), with H_b the binary entropy.
    For K = 2 this is the binary symmetric channel's ln 2 - H_b(error).
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 2 or isinstance(error, bool) or \
            not isinstance(error, numbers.Real) or not 0.0 <= error <= 1.0:
        raise SpecError(f"need a whole number K >= 2 and 0 <= error <= 1, got K = {k!r}, error = {error!r}.")
    e = float(error)
    h_b = -sum(v * math.log(v) for v in (e, 1.0 - e) if v > 0)
    return math.log(k) - h_b - e * math.log(k - 1)


def gaussian_mixture_channel(means: Sequence[float], std: float, grid: Tensor | Sequence) -> Tensor:
    """P(x | c) for x ~ N(mu_c, std^2), discretised into bins centred on an evenly spaced ``grid``.

    Each bin gets the Gaussian's probability mass between its edges (exact, through the normal
    CDF); every row is renormalised over the grid, which must reach several std beyond the means (a grid that
    misses more than 0.1 % of a Gaussian's probability is refused).
    As the bins get finer, I(c; x) of this channel converges to that of the continuous x.
    """
    mu = _as_tensor(means)
    if mu.dim() != 1 or not mu.numel():
        raise SpecError(f"gaussian_mixture_channel: means must be a 1-D list of the K means, got shape {tuple(mu.shape)}.")
    mu = mu[:, None]
    x = _as_tensor(grid)
    if isinstance(std, bool) or not isinstance(std, numbers.Real) or not math.isfinite(std) or std <= 0:
        raise SpecError(f"gaussian_mixture_channel: std must be a finite number > 0, got {std!r}.")
    if x.dim() != 1 or x.numel() < 2:
        raise SpecError(f"gaussian_mixture_channel: the grid must be 1-D with at least two points, got shape "
                        f"{tuple(x.shape)}.")
    if not (torch.isfinite(mu).all() and torch.isfinite(x).all()):
        raise SpecError("gaussian_mixture_channel: the means and the grid must be finite numbers.")
    step = x[1:] - x[:-1]
    given = grid.dtype if isinstance(grid, Tensor) and grid.is_floating_point() else torch.float32  # lists: float32's
    spacing = 8 * torch.finfo(given).eps * float(x.abs().max())  # the rounding of the grid as it was given
    if (step <= 0).any() or not torch.allclose(step, step[0].expand_as(step), rtol=1e-3, atol=spacing):
        raise SpecError("gaussian_mixture_channel: the grid must be evenly spaced and increasing "
                        "(e.g. torch.linspace(-6, 6, 241)).")
    half = step[0] / 2
    mass = torch.special.ndtr((x + half - mu) / std) - torch.special.ndtr((x - half - mu) / std)
    held = mass.sum(dim=1)
    if (held < 0.999).any():  # renormalising a row that misses more would change the channel, not discretise it
        far = [float(m) for m, h in zip(mu[:, 0], held) if h < 0.999]
        raise SpecError(f"gaussian_mixture_channel: the grid [{float(x[0]):g}, {float(x[-1]):g}] holds only "
                        f"{float(held.min()):.3g} of the probability of the Gaussians with means {far} (std {std:g}), "
                        "which must be at least 0.999; make it reach several std beyond every mean, e.g. "
                        f"torch.linspace({float(mu.min()) - 6 * std:g}, {float(mu.max()) + 6 * std:g}, 241).")
    return mass / held[:, None]


# -- fitting Q by gradient ascent on the bound ----------------------------------------------

@dataclass
class QFit:
    """A Q(c | x) fitted by gradient ascent on L_I.

    Attributes:
        q: the fitted (M, K) Q table.
        weight, bias: Q's parameters; its logits are ``features @ weight + bias``.
        history: the exact L_I (nats) before the first step and after every step.
    """

    q: Tensor
    weight: Tensor
    bias: Tensor
    history: list[float] = field(default_factory=list)


def q_table(features: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """Q(c | x) = softmax_c(features[x] @ weight + bias): an (M, K) Q table, from ``features`` (M, F), ``weight``
    (F, K) and ``bias`` (K,)."""
    features, weight, bias = _as_tensor(features), _as_tensor(weight), _as_tensor(bias)
    if features.dim() != 2 or weight.dim() != 2 or bias.dim() != 1 or features.shape[1] != weight.shape[0] \
            or weight.shape[1] != bias.shape[0]:
        raise SpecError(f"q_table needs features (M, F), weight (F, K) and bias (K,), got shapes "
                        f"{tuple(features.shape)}, {tuple(weight.shape)} and {tuple(bias.shape)}.")
    return torch.softmax(features @ weight + bias, dim=1)


def fit_q(joint: Tensor | Sequence, features: Tensor | None = None, steps: int = 200, lr: float = 0.1,
          samples_per_step: int | None = None, seed: int = 0) -> QFit:
    """Maximise L_I over a softmax Q(c | x) = softmax(features[x] @ W + b) with Adam.

    ``features`` (M, F) describe each value of x; the default, the identity, gives a free
    table of logits, which can represent any Q, the true posterior included. W starts at zero
    and b at log P(c), so the first Q is the prior whatever x is, and L_I starts at exactly 0.

    With ``samples_per_step=None`` each step ascends the exact bound. With a number n, each step
    ascends a Monte-Carlo estimate from n pairs drawn as InfoGAN draws them: c from the prior
    P(c), then x from P(x | c) -- never from the posterior, which is the point of Lemma 5.1.
    """
    p = _check_joint(joint)
    k, m = p.shape
    feats = torch.eye(m, dtype=DTYPE) if features is None else _as_tensor(features)
    if feats.dim() != 2 or feats.shape[0] != m:
        raise SpecError(f"features must be (M, F) with M = {m} rows, got {tuple(feats.shape)}.")
    whole = [steps, seed] + ([] if samples_per_step is None else [samples_per_step])
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in whole) or isinstance(lr, bool) \
            or not isinstance(lr, numbers.Real):
        raise SpecError(f"fit_q needs whole numbers for steps, seed and samples_per_step (or None) and a number for "
                        f"lr, got steps={steps!r}, seed={seed!r}, samples_per_step={samples_per_step!r}, lr={lr!r}.")
    if samples_per_step is not None and samples_per_step > MAX_FIT_SAMPLES:
        raise SpecError(f"fit_q: samples_per_step is at most {MAX_FIT_SAMPLES:,} (each sample takes memory in every "
                        f"step), got {samples_per_step:,}.")
    if steps > MAX_FIT_STEPS or not 0 <= seed < 2**63:
        raise SpecError(f"fit_q needs steps up to {MAX_FIT_STEPS:,} and a seed in 0..2**63-1, got steps={steps!r}, "
                        f"seed={seed!r}.")
    if steps < 0 or not lr > 0 or not math.isfinite(lr) or (samples_per_step is not None and samples_per_step < 1):
        raise SpecError(f"fit_q needs steps >= 0, a finite lr > 0 and samples_per_step >= 1 (or None), got steps={steps!r}, "
                        f"lr={lr!r}, samples_per_step={samples_per_step!r}.")
    p_c = p.sum(dim=1)
    weight = torch.zeros(feats.shape[1], k, dtype=DTYPE, requires_grad=True)
    bias = torch.log(p_c.clamp_min(1e-30)).clone().requires_grad_(True)  # Q(c | x) = P(c) to start
    opt = torch.optim.Adam([weight, bias], lr=lr)
    channel = p / torch.where(p_c > 0, p_c, torch.ones_like(p_c))[:, None]
    rng = torch.Generator().manual_seed(seed)
    h_c = entropy(p_c)

    def exact_bound(log_q: Tensor) -> Tensor:  # L_I from the (M, K) table of log Q(c | x)
        return torch.where(p > 0, p * log_q.T, torch.zeros_like(p)).sum() + h_c

    history = []
    for step in range(steps + 1):
        log_q = torch.log_softmax(feats @ weight + bias, dim=1)
        history.append(float(exact_bound(log_q.detach())))
        if step == steps:
            break
        if samples_per_step is None:
            objective = exact_bound(log_q)
        else:
            c = torch.multinomial(p_c, samples_per_step, replacement=True, generator=rng)
            x = torch.multinomial(channel[c], 1, generator=rng).squeeze(1)
            objective = log_q[x, c].mean() + h_c
        opt.zero_grad()
        (-objective).backward()
        opt.step()
    with torch.no_grad():
        q = q_table(feats, weight, bias)
    return QFit(q, weight.detach(), bias.detach(), history)
