"""Inputs the exercises share: the paper's spec, seeded generators and a made-up but fixed output of Q."""

from __future__ import annotations

import torch

from ..latent_codes import LatentSpec
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
