"""Issue 25, the fourteenth blind round (411 wrong answers, 12 passed): what passed now fails, on the case that
shows it, and the right forms beside each still pass."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from infogan_tutorial.exercises.experiments import (check_control_info_loss, check_invariant_information,
                                                    check_per_class_accuracy, check_per_code_info)
from infogan_tutorial.exercises.foundations import check_code_entropy, check_matched_accuracy
from infogan_tutorial.networks import QOutput
from infogan_tutorial.objectives import gaussian_log_likelihood, info_loss


def entropy_in_float32(spec):
    low, high = spec.continuous_range
    return float(sum(math.log(k) for k in spec.categorical)
                 + spec.n_continuous * np.log(np.float32(high) - np.float32(low)))


def entropy(spec):
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def test_code_entropy_in_float32_fails_on_a_width_float32_cannot_hold() -> None:
    result = check_code_entropy(entropy_in_float32)
    assert not result.passed and "float64's accuracy" in str(result)  # the first case already (blind 17)
    assert check_code_entropy(entropy).passed


def matched(dtype):
    def matched_accuracy(clusters, labels):
        counts = np.zeros((10, 10), dtype=dtype)
        np.add.at(counts, (clusters, labels), 1)
        rows, cols = linear_sum_assignment(counts, maximize=True)
        return float(counts[rows, cols].sum()) / len(labels)
    return matched_accuracy


def test_counts_that_wrap_past_int16_and_uint16_fail() -> None:
    for dtype in (np.int16, np.uint16):
        result = check_matched_accuracy(matched(dtype))
        assert not result.passed and "70,000 items" in str(result)
    assert check_matched_accuracy(matched(np.int64)).passed
    for dtype in (np.int16, np.uint16):
        result = check_per_class_accuracy(lambda c, d=dtype: np.diag(c.astype(d)) / c.astype(d).sum(axis=1, dtype=d))
        assert not result.passed and "70,002 images" in str(result)
    assert check_per_class_accuracy(lambda c: np.diag(np.asarray(c, float)) / np.asarray(c, float).sum(1)).passed


def test_an_empty_answer_keeps_q_dtype() -> None:
    def per_code_info(q, codes, spec):
        if spec.n_continuous == 0:
            return torch.zeros(0)  # float32 whatever Q's dtype
        low, high = spec.continuous_range
        return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).mean(0) + math.log(high - low)

    result = check_per_code_info(per_code_info)
    assert not result.passed and "wrong dtype" in str(result) and "float64 (the answer has shape (0,)" in str(result)
    # (the bound of a spec without codes is not asked: its gradient could reach nothing)


def test_q_head_applied_by_hand_misses_a_fixed_standard_deviation() -> None:
    def by_hand(D, fake, codes, spec):
        out = D.q_head(D.features(fake).detach())
        k, n = sum(spec.categorical), spec.n_continuous
        logits = list(torch.split(out[:, :k], list(spec.categorical), 1))
        return info_loss(QOutput(logits, out[:, k:k + n], out[:, k + n:k + 2 * n]), codes, spec)

    result = check_control_info_loss(by_hand)
    assert not result.passed and "fixed_std=0.5" in str(result) and "D.q_from_features(h)" in str(result)
    assert check_control_info_loss(lambda D, fake, codes, spec: info_loss(
        D.q_from_features(D.features(fake).detach()), codes, spec)).passed


def invariant(eps: float, clamp: bool):
    def invariant_information(p, p_moved):
        joint = p.T @ p_moved / len(p)
        joint = (joint + joint.T) / 2
        rows, cols = joint.sum(1), joint.sum(0)
        if clamp:
            return (joint * (joint.clamp(min=eps).log() - rows.clamp(min=eps).log()[:, None]
                             - cols.clamp(min=eps).log()[None, :])).sum()
        terms = joint * (joint.log() - rows.log()[:, None] - cols.log()[None, :])
        return torch.where(joint > eps, terms, 0.0).sum()
    return invariant_information


def test_dropping_or_clamping_joint_entries_below_1e_6_fails_and_1e_12_passes() -> None:
    for answer in (invariant(1e-6, clamp=False), invariant(1e-6, clamp=True)):
        result = check_invariant_information(answer)
        assert not result.passed and "1,000 categories" in str(result)
    assert check_invariant_information(invariant(1e-12, clamp=True)).passed  # the hint allows 1e-12
    assert check_invariant_information(invariant(0.0, clamp=False)).passed
