"""Issue 25, before the sixth blind round: the statements now name the answer's dtype and the range of log_std.

- An answer that returns float64 for float32 inputs (seven of the fifth blind round's passes) is refused with
  what promoted it; a float where the statement allows one is still an answer.
- log_std is stated to lie in [-30, 100]; the Gaussian check now covers the low end, where the exp(-2 log_std)
  form (right within the range) is finite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import infogan_tutorial.exercises as ex
from infogan_tutorial.objectives import info_loss, log_q


def _gll(c, m, s):
    return -0.5 * math.log(2 * math.pi) - s - 0.5 * ((c - m) * torch.exp(-s)) ** 2


def _bound(q, codes, spec):
    cat = sum(-F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits))
    cont = _gll(codes.continuous, q.mean, q.log_std).sum(1).mean() if spec.n_continuous else 0
    low, high = spec.continuous_range
    return cat + cont + sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def _per_code(q, codes, spec):
    low, high = spec.continuous_range
    return _gll(codes.continuous, q.mean, q.log_std).mean(0) + math.log(high - low)


def _generator(fl, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return -F.logsigmoid(fl).mean() - lambda_cat * lq.categorical - lambda_cont * lq.continuous


def _control(D, fake, codes, spec):
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def _invariant(p, q):
    joint = p.T @ q / len(p)
    joint = (joint + joint.T) / 2
    rows, cols = joint.sum(1), joint.sum(0)
    return (torch.special.xlogy(joint, joint) - torch.special.xlogy(joint, rows[:, None] * cols[None, :])).sum()


RIGHT = [
    (ex.check_categorical_info_loss, lambda lg, c: F.cross_entropy(lg, c)),
    (ex.check_gaussian_log_likelihood, _gll),
    (ex.check_mutual_info_bound, _bound),
    (ex.check_per_code_info, _per_code),
    (ex.check_generator_objective, _generator),
    (ex.check_control_info_loss, _control),
    (ex.check_invariant_information, _invariant),
]


def _in_float64(fn):
    def answer(*args):
        return fn(*args).double()
    return answer


@pytest.mark.parametrize("checker, right", RIGHT, ids=[c.__name__ for c, _ in RIGHT])
def test_the_right_answer_passes_and_its_float64_twin_is_refused_with_the_cause(checker, right):
    assert checker(right).passed
    result = checker(_in_float64(right))
    assert not result.passed
    assert "wrong dtype" in result.message and "torch.float64" in result.message
    assert "promotes the result" in result.message and ".to(torch.float32)" in result.message


def test_a_float32_answer_to_float64_inputs_is_told_what_made_it_float32():
    def narrowed(c, mean, log_std):
        return _gll(c, mean, log_std).float()
    result = ex.check_gaussian_log_likelihood(narrowed)
    assert not result.passed and "float64 value" in result.message
    assert "made without dtype=" in result.message and ".to(torch.float64)" in result.message


@pytest.mark.parametrize("as_number", [float, np.float64], ids=["float", "np.float64"])
def test_a_plain_number_is_still_an_answer_where_the_statement_allows_one(as_number):
    assert ex.check_invariant_information(lambda p, q: as_number(_invariant(p, q))).passed


def test_a_float32_number_for_float64_probabilities_is_not_computed_in_their_dtype():
    result = ex.check_invariant_information(lambda p, q: np.float32(_invariant(p, q)))
    assert not result.passed and "float64 probabilities" in result.message
    assert "float64 inputs ask for float64's accuracy" in result.message


def test_the_exp_minus_two_log_std_form_is_right_over_the_stated_range():
    def squared_precision(c, mean, log_std):
        return -0.5 * math.log(2 * math.pi) - log_std - 0.5 * (c - mean) ** 2 * torch.exp(-2 * log_std)
    assert ex.check_gaussian_log_likelihood(squared_precision).passed
    low = torch.tensor([-30.0, -30.0], requires_grad=True)
    value = squared_precision(torch.tensor([0.2, 0.201]), torch.tensor([0.2, 0.2]), low)
    value.sum().backward()
    assert torch.isfinite(value).all() and torch.isfinite(low.grad).all()


def test_the_gaussian_check_reaches_the_low_end_of_the_stated_range():
    def wrong_below_minus_20(c, mean, log_std):  # right on the old cases, nan once log_std < -20
        return torch.where(log_std < -20, torch.full_like(c, float("nan")), _gll(c, mean, log_std))
    result = ex.check_gaussian_log_likelihood(wrong_below_minus_20)
    assert not result.passed and "log_std = -30" in result.message


# The sixth blind round (statements only): answers that passed before these cases existed.
def _f32(fn):
    return lambda *args: fn(*args).float()


def _clamped_low(q, codes, spec):  # log_std clamped at -20: wrong within the stated range [-30, 100]
    from infogan_tutorial.networks import QOutput
    return _per_code(QOutput(q.logits, q.mean, q.log_std.clamp(min=-20)), codes, spec)


def _through_log_of_square(q, codes, spec):  # exp(log(d^2) - 2 log_std): its gradient is nan where d = 0
    low, high = spec.continuous_range
    d = codes.continuous - q.mean
    ll = -0.5 * math.log(2 * math.pi) - q.log_std - 0.5 * torch.exp(torch.log(d ** 2) - 2 * q.log_std)
    return ll.mean(0) + math.log(high - low)


def _clamped_precision(q, codes, spec):  # exp(-log_std) held at 1e12: wrong below log_std = -27.6
    low, high = spec.continuous_range
    inv = torch.exp(-q.log_std).clamp(max=1e12)
    ll = -0.5 * math.log(2 * math.pi) - q.log_std - 0.5 * (codes.continuous - q.mean) ** 2 * inv ** 2
    return ll.mean(0) + math.log(high - low)


@pytest.mark.parametrize("checker, wrong, where", [
    (ex.check_mutual_info_bound, _f32(_bound), "in float64"),
    (ex.check_per_code_info, _f32(_per_code), "in float64"),
    (ex.check_generator_objective, _f32(_generator), "in float64"),
    (ex.check_per_code_info, _clamped_low, "log_std = -30"),
    (ex.check_per_code_info, _through_log_of_square, "log_std = -30"),
    (ex.check_per_code_info, _clamped_precision, "log_std = -30"),
], ids=["bound-float32", "per-code-float32", "generator-float32", "clamp-low", "log-of-square", "clamp-precision"])
def test_the_sixth_blind_round_s_passes_are_refused_on_the_case_that_shows_them(checker, wrong, where):
    result = checker(wrong)
    assert not result.passed and where in result.message, result.message


def test_the_width_of_a_range_without_zero_is_checked_where_the_tolerance_cannot_hide_it():
    def width_abs(q, codes, spec):  # b + |a| for b - a: right only when a <= 0
        low, high = spec.continuous_range
        cat = sum(-F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits))
        cont = _gll(codes.continuous, q.mean, q.log_std).sum(1).mean() if spec.n_continuous else 0
        return cat + cont + sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high + abs(low))
    result = ex.check_mutual_info_bound(width_abs)
    assert not result.passed and "(0.5, 2)" in result.message
