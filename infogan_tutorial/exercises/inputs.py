"""Inputs the exercises share: the paper's spec, seeded generators and a made-up but fixed output of Q."""

from __future__ import annotations

import dataclasses

import torch

from ..latent_codes import Codes, LatentSpec
from ..networks import QOutput
from .engine import Case

PAPER_SPEC = LatentSpec()
"""The paper's MNIST layout: 62 noise dims, one 10-way code c1, two continuous codes c2, c3 ~ U(-1, 1)."""


def seeded_rng(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (each case draws its inputs from its own)."""
    return torch.Generator().manual_seed(seed)


def q_output(spec: LatentSpec, n: int, seed: int) -> QOutput:
    """A made-up but fixed output of Q for a batch of n images."""
    g = seeded_rng(seed)
    logits = [2 * torch.randn(n, k, generator=g) for k in spec.categorical]
    mean = torch.randn(n, spec.n_continuous, generator=g)
    log_std = 0.5 * torch.randn(n, spec.n_continuous, generator=g)
    return QOutput(logits, mean, log_std)


def q_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    """A case of arguments (q, codes, spec): a fixed Q output and codes drawn for it."""
    return Case(name, lambda: (q_output(spec, n, seed), spec.sample(n, seeded_rng(seed + 1)), spec))


def in_float64(q: QOutput, codes: Codes) -> tuple[QOutput, Codes]:
    """``q`` and ``codes`` with every floating-point tensor in float64 (category indices stay int64)."""
    return (QOutput([t.double() for t in q.logits], q.mean.double(), q.log_std.double()),
            dataclasses.replace(codes, z=codes.z.double(), continuous=codes.continuous.double()))


def float64_q_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    """A case of arguments (q, codes, spec) as :func:`q_case`, in float64: the answer must be float64 too."""
    return Case(name, lambda: (*in_float64(q_output(spec, n, seed), spec.sample(n, seeded_rng(seed + 1))), spec))


def low_sigma_q(q: QOutput, codes: Codes) -> QOutput:
    """Q's output at the low end of the statements' range, log_std = -30 (sigma = 9.4e-14), with its means on the
    codes or 1e-3 off (0, +1e-3, -1e-3 in turn): finite forms stay finite there, in the value and the gradient."""
    off = torch.tensor([0.0, 1e-3, -1e-3]).repeat(codes.continuous.numel())[:codes.continuous.numel()]
    return QOutput(q.logits, codes.continuous + off.reshape(codes.continuous.shape),
                   torch.full_like(q.log_std, -30.0))


def low_sigma_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    """A case of arguments (q, codes, spec) where Q's log_std is -30 (see :func:`low_sigma_q`)."""
    def make() -> tuple:
        codes = spec.sample(n, seeded_rng(seed + 1))
        return low_sigma_q(q_output(spec, n, seed), codes), codes, spec
    return Case(name, make)


def off_float32_grid(codes: Codes) -> Codes:
    """``codes`` in float64 with z and the continuous codes scaled by 1 - 1e-8, to values float32 cannot hold (its
    spacing is 6e-8 relative): an answer that rounds them through float32 gets back the unscaled values, which
    differ by 1e-8 relative, ten times float64 checks' tolerance."""
    return dataclasses.replace(codes, z=codes.z.double() * (1 - 1e-8),
                               continuous=codes.continuous.double() * (1 - 1e-8))


def float64_near_miss_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    """A case of arguments (q, codes, spec) in float64 at log_std = -30, Q's means on the codes or 1e-9 and -3e-9 off:
    misses that float64 holds and float32 loses (c and the mean round to one float32), so an answer that computes
    in float32 and casts back gives log_std + 0.919 where the answer is about -5.7e7 per code. The codes themselves
    lie off float32's grid (:func:`off_float32_grid`): rounding only them through float32 moves c - mean by up to
    1e-8, 1e5 sigmas."""
    def make() -> tuple:
        q, codes = in_float64(q_output(spec, n, seed), off_float32_grid(spec.sample(n, seeded_rng(seed + 1))))
        k = codes.continuous.numel()
        off = torch.tensor([0.0, 1e-9, -3e-9], dtype=torch.float64).repeat(k)[:k].reshape(codes.continuous.shape)
        return QOutput(q.logits, codes.continuous + off, torch.full_like(q.log_std, -30.0)), codes, spec
    return Case(name, make)


def far_miss_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    """A case of arguments (q, codes, spec) where Q is unsure and far off: log_std = 20 (sigma = 4.9e8) with its means
    1e6 from the codes, so (c - mean) / sigma = 2e-3; a clamp of log_std (at 10, say) inflates that to 45."""
    def make() -> tuple:
        codes = spec.sample(n, seeded_rng(seed + 1))
        q = q_output(spec, n, seed)
        sign = torch.where(torch.arange(codes.continuous.numel()).reshape(codes.continuous.shape) % 2 == 0, 1.0, -1.0)
        return QOutput(q.logits, codes.continuous + 1e6 * sign, torch.full_like(q.log_std, 20.0)), codes, spec
    return Case(name, make)
