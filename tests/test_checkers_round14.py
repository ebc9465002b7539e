"""Issue 25, the seventeenth blind round (329 wrong answers, 11 passed): answers that switch to another form above
sizes the checks never reached, and H(c) rounded or summed in float32. Each now fails, with the case that shows it;
the right forms beside them still pass."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from infogan_tutorial.exercises.experiments import check_generator_objective
from infogan_tutorial.exercises.foundations import (
    check_categorical_info_loss,
    check_code_entropy,
    check_gaussian_log_likelihood,
)
from infogan_tutorial.objectives import log_q


def cross_entropy(logits, c):
    return F.cross_entropy(logits, c)


def first_100_logits(logits, c):
    if logits.shape[1] > 100:
        return (torch.logsumexp(logits[:, :100], 1) - logits[torch.arange(len(c)), c]).mean()
    return F.cross_entropy(logits, c)


def log_softmax_above_1000_images(logits, c):
    if logits.shape[0] > 1000:
        return -torch.log(torch.softmax(logits, 1)[torch.arange(len(c)), c]).mean()
    return F.cross_entropy(logits, c)


def test_categorical_loss_sized_shortcuts_fail():
    assert check_categorical_info_loss(cross_entropy).passed
    first = check_categorical_info_loss(first_100_logits)
    assert not first.passed and "1,000 categories" in first.message
    big = check_categorical_info_loss(log_softmax_above_1000_images)
    assert not big.passed and "5,000 images" in big.message and "inf" in big.message


def gll(c, mean, log_std):
    return -0.5 * ((c - mean) * torch.exp(-log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def normal_above_1000_values(c, mean, log_std):
    if c.numel() > 1000:
        return torch.distributions.Normal(mean, log_std.exp()).log_prob(c)
    return gll(c, mean, log_std)


def test_gaussian_sized_shortcut_fails():
    assert check_gaussian_log_likelihood(gll).passed
    result = check_gaussian_log_likelihood(normal_above_1000_values)
    assert not result.passed and "5,000 images" in result.message


def objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return F.softplus(-fake_logit).mean() - (lambda_cat * lq.categorical + lambda_cont * lq.continuous)


def log_sigmoid_above_64_images(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    if fake_logit.shape[0] > 64:
        lq = log_q(q, codes, spec)
        return -torch.log(torch.sigmoid(fake_logit)).mean() - (lambda_cat * lq.categorical + lambda_cont * lq.continuous)
    return objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont)


def float32_without_weights(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    if lambda_cat == 0 and lambda_cont == 0:
        return F.softplus(-fake_logit).mean().float()
    return objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont)


def test_generator_objective_sized_and_weightless_shortcuts_fail():
    assert check_generator_objective(objective).passed
    big = check_generator_objective(log_sigmoid_above_64_images)
    assert not big.passed and "500 images" in big.message
    plain = check_generator_objective(float32_without_weights)
    assert not plain.passed and "wrong dtype" in plain.message and "float64" in plain.message


def entropy(spec):
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def test_h_c_to_float64_accuracy_as_the_bound_needs_it():
    """Rounded to 6 decimals or summed in float32, H(c) passed code_entropy and then failed mutual_info_bound, whose
    statement takes H(c) from it."""
    assert check_code_entropy(entropy).passed
    assert check_code_entropy(lambda spec: np.float64(entropy(spec))).passed
    for wrong in (lambda spec: round(entropy(spec), 6), lambda spec: round(entropy(spec), 5),
                  lambda spec: torch.tensor(entropy(spec), dtype=torch.float32).item()):
        result = check_code_entropy(wrong)
        assert not result.passed and "float64's accuracy" in result.message, result.message
    tensor = check_code_entropy(lambda spec: torch.tensor(entropy(spec), dtype=torch.float64))
    assert not tensor.passed and "not a tensor" in tensor.message
    listed = check_code_entropy(lambda spec: [entropy(spec)])
    assert not listed.passed and "returned a list" in listed.message
