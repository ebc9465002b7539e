"""Issue 25, the sixteenth blind round (539 wrong answers, 53 passed): each family now fails on the case that
shows it, with a message that names what the answer did; right forms beside each still pass."""

from __future__ import annotations

import math
import signal
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from infogan_tutorial.exercises import engine
from infogan_tutorial.exercises.experiments import (check_generator_objective, check_invariant_information,
                                                    check_per_class_accuracy, check_per_code_info)
from infogan_tutorial.exercises.foundations import (check_categorical_info_loss, check_code_entropy,
                                                    check_matched_accuracy, check_mutual_info_bound,
                                                    check_traversal_codes)
from infogan_tutorial.latent_codes import Codes


def gll(c, mean, log_std, cap=None):
    scale = torch.exp(-(log_std if cap is None else log_std.clamp(max=cap)))
    return -0.5 * ((c - mean) * scale) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def g_objective(skip=""):
    def generator_objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
        loss = F.softplus(-fake_logit).mean()
        if skip == "cat0" and lambda_cat == 0:
            return loss  # drops the continuous term too
        if skip == "cont0" and lambda_cont == 0:
            return loss  # drops the categorical term too
        for i, logits in enumerate(q.logits):
            loss = loss + lambda_cat * F.cross_entropy(logits, codes.categorical[:, i])
        if skip == "mean_times_n":
            return loss - lambda_cont * gll(codes.continuous, q.mean, q.log_std).mean() * spec.n_continuous
        if spec.n_continuous:
            loss = loss - lambda_cont * gll(codes.continuous, q.mean, q.log_std).sum(1).mean()
        return loss
    return generator_objective


def test_generator_objective_special_cases_of_a_zero_weight_or_no_continuous_code_fail():
    for skip, case in (("cat0", "continuous term alone"), ("cont0", "categorical term alone"),
                       ("mean_times_n", "no continuous code")):
        result = check_generator_objective(g_objective(skip))
        assert not result.passed and case in str(result), str(result)
    assert check_generator_objective(g_objective()).passed


def traversal(spec, base, code, values, rescale=False, decimals=None):
    rows, steps = len(base), len(values)
    z, cat, cont = (t.repeat_interleave(steps, 0).clone() for t in (base.z, base.categorical, base.continuous))
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = values.to(cat.dtype).repeat(rows)
        return Codes(z, cat, cont)
    v = values.to(cont.dtype)
    if rescale:  # reads the grid as (-1, 1) and maps it onto the spec's range
        low, high = spec.continuous_range
        v = v * (high - low) / 2 + (low + high) / 2
    if decimals is not None:
        v = torch.round(v, decimals=decimals)
    cont[:, i - spec.n_categorical] = v.repeat(rows)
    return Codes(z, cat, cont)


def test_a_traversal_that_rescales_or_rounds_the_grid_fails():
    result = check_traversal_codes(lambda *a: traversal(*a, rescale=True))
    assert not result.passed and "(0, 2)" in str(result)
    for decimals in (4, 5):
        result = check_traversal_codes(lambda *a, d=decimals: traversal(*a, decimals=d))
        assert not result.passed and "copies" in str(result) and "exactly" in str(result), str(result)
    assert check_traversal_codes(traversal).passed


def test_a_traversal_returning_codes_without_tensors_gets_a_message_not_a_crash():
    result = check_traversal_codes(lambda spec, base, code, values: Codes(None, [0], [0.0]))
    assert not result.passed and "each part must be a tensor" in str(result), str(result)


def greedy_then_swaps(clusters, labels):
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    perm, used = {}, set()
    for idx in np.argsort(-counts, axis=None, kind="stable"):
        i, j = divmod(int(idx), 10)
        if i not in perm and j not in used:
            perm[i] = j
            used.add(j)
    perm = [perm[i] for i in range(10)]
    improved = True
    while improved:
        improved = False
        for a in range(10):
            for b in range(a + 1, 10):
                if counts[a, perm[b]] + counts[b, perm[a]] > counts[a, perm[a]] + counts[b, perm[b]]:
                    perm[a], perm[b] = perm[b], perm[a]
                    improved = True
    return float(sum(counts[i, perm[i]] for i in range(10)) / len(clusters))


def matched(clusters, labels):
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def test_greedy_matching_improved_by_pair_swaps_fails():
    result = check_matched_accuracy(greedy_then_swaps)
    assert not result.passed and "51 items" in str(result)
    assert check_matched_accuracy(matched).passed


def invariant(symmetric_upto=None, zero_below=None):
    def invariant_information(p, p_moved):
        joint = p.T @ p_moved / len(p)
        if symmetric_upto is None or len(p) <= symmetric_upto:
            joint = (joint + joint.T) / 2
        rows, cols = joint.sum(1), joint.sum(0)
        terms = joint * (joint.log() - rows.log()[:, None] - cols.log()[None, :])
        value = torch.where(joint > 0, terms, 0.0).sum()
        return torch.where(value < zero_below, 0.0, value).to(value.dtype) if zero_below else value
    return invariant_information


def test_invariant_information_that_skips_symmetry_on_large_batches_or_zeroes_small_values_fails():
    result = check_invariant_information(invariant(symmetric_upto=1000))
    assert not result.passed and "2,000 images" in str(result)
    for threshold in (1e-4, 1e-6):
        result = check_invariant_information(invariant(zero_below=threshold))
        assert not result.passed and "nearly independent" in str(result), str(result)
    assert check_invariant_information(invariant()).passed


def test_complex_results_and_a_plain_int_are_named_as_what_they_are():
    result = check_invariant_information(lambda p, q: invariant()(p, q).to(torch.complex128))
    assert not result.passed and "complex" in str(result)
    result = check_per_class_accuracy(lambda c: (np.diag(c) / c.sum(1)).astype(np.complex128))
    assert not result.passed and "complex" in str(result)
    result = check_invariant_information(lambda p, q: 0)  # a number, as the statement allows, but the wrong one
    assert not result.passed and "the answer is a torch tensor" not in str(result) and "wrong value" in str(result)


def bound(cap=None):
    def info_bound(q, codes, spec):
        total = q.mean.new_zeros(len(codes))
        for i, logits in enumerate(q.logits):
            total = total + torch.log_softmax(logits, 1).gather(1, codes.categorical[:, i:i + 1]).squeeze(1)
        if spec.n_continuous:
            total = total + gll(codes.continuous, q.mean, q.log_std, cap).sum(1)
        low, high = spec.continuous_range
        return total.mean() + sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)
    return info_bound


def per_code(cap=None):
    def per_code_info(q, codes, spec):
        low, high = spec.continuous_range
        return gll(codes.continuous, q.mean, q.log_std, cap).mean(0) + math.log(high - low)
    return per_code_info


def test_a_cap_on_log_std_inside_the_scale_fails_where_q_is_unsure_and_far_off():
    for check, answer in ((check_mutual_info_bound, bound), (check_per_code_info, per_code)):
        result = check(answer(cap=10.0))
        assert not result.passed and "far off" in str(result), str(result)
        assert check(answer()).passed


def test_log_probabilities_clamped_far_out_fail():
    def clamped(logits, c):
        return -torch.log_softmax(logits, 1).clamp(min=-5000).gather(1, c[:, None]).mean()

    result = check_categorical_info_loss(clamped)
    assert not result.passed and "60,000" in str(result)
    assert check_categorical_info_loss(lambda logits, c: F.cross_entropy(logits, c)).passed


def test_side_effects_on_signals_read_only_inputs_and_reused_result_buffers_fail():
    def ignores_ctrl_c(logits, c):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return F.cross_entropy(logits, c)

    before = signal.getsignal(signal.SIGINT)
    result = check_categorical_info_loss(ignores_ctrl_c)
    assert not result.passed and "SIGINT" in str(result) and signal.getsignal(signal.SIGINT) is before

    def read_only(clusters, labels):
        clusters.setflags(write=False)
        return matched(clusters, labels)

    result = check_matched_accuracy(read_only)
    assert not result.passed and "read-only" in str(result)

    buffer = np.zeros(64)

    def reuses(counts):
        out = buffer[:len(counts)]
        out[:] = np.diag(counts) / counts.sum(1)
        return out

    result = check_per_class_accuracy(reuses)
    assert not result.passed and "buffer" in str(result), str(result)


def test_grad_mode_switched_on_inside_no_grad_is_named_as_a_change_of_grad_mode():
    def enables(logits, c):
        torch.set_grad_enabled(True)
        return F.cross_entropy(logits, c)

    result = check_categorical_info_loss(enables)
    assert not result.passed and "switched on where its caller had it off" in str(result)
    assert torch.is_grad_enabled()


def test_code_entropy_as_a_float32_number_fails_and_a_meta_tensor_is_named():
    def entropy(spec):
        low, high = spec.continuous_range
        return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)

    result = check_code_entropy(lambda spec: np.float32(entropy(spec)))
    assert not result.passed and "float32" in str(result)
    assert check_code_entropy(lambda spec: np.float64(entropy(spec))).passed
    result = check_categorical_info_loss(lambda logits, c: torch.empty((), device="meta"))
    assert not result.passed and "meta device" in str(result)


def test_the_time_limit_names_slow_python_loops(monkeypatch):
    monkeypatch.setattr(engine, "TIME_LIMIT", 0.3)

    def slow(logits, c):
        time.sleep(1.0)
        return F.cross_entropy(logits, c)

    result = check_categorical_info_loss(slow)
    assert not result.passed and "Python loop over every entry" in str(result)


def test_a_float_subclass_with_its_own_arithmetic_is_judged_by_its_value():
    class Nats(float):
        def __sub__(self, other):
            raise TypeError("compare Nats with Nats only")

        __rsub__ = __eq__ = __lt__ = __gt__ = __sub__

    def entropy(spec):
        low, high = spec.continuous_range
        return Nats(sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low))

    assert check_code_entropy(entropy).passed  # the checker judges the value; it does not raise
    assert not check_code_entropy(lambda spec: Nats(entropy(spec) + 1)).passed
