"""Issue 25, the fifteenth blind round (468 wrong answers, 16 passed): what passed now fails, on the case that
shows it, its message says what happened, and the right forms beside each still pass."""

from __future__ import annotations

import math
import sys

import numpy as np
import torch

from infogan_tutorial.exercises.experiments import (check_control_info_loss, check_invariant_information,
                                                    check_per_code_info)
from infogan_tutorial.exercises.foundations import (check_code_entropy, check_mutual_info_bound,
                                                    check_traversal_codes)
from infogan_tutorial.latent_codes import Codes
from infogan_tutorial.objectives import info_loss
from test_checkers_round11 import invariant  # the same answer, clamped or dropped at eps


def traversal(spec, base, code, values):
    rows, steps = len(base), len(values)
    z, cat, cont = (t.repeat_interleave(steps, 0).clone() for t in (base.z, base.categorical, base.continuous))
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = values.to(cat.dtype).repeat(rows)
    else:
        cont[:, i - spec.n_categorical] = values.to(cont.dtype).repeat(rows)
    return Codes(z, cat, cont)


def test_a_traversal_that_rounds_z_and_the_fixed_codes_through_float32_fails() -> None:
    def through_float32(spec, base, code, values):
        out = traversal(spec, base, code, values)
        cont = out.continuous.float().to(out.continuous.dtype)
        i = spec.code_index(code) - spec.n_categorical
        if i >= 0:
            cont[:, i] = out.continuous[:, i]  # the traversed code itself kept exact
        return Codes(out.z.float().to(out.z.dtype), out.categorical, cont)

    result = check_traversal_codes(through_float32)
    assert not result.passed and "float32 cannot" in str(result) and "Codes.z" in str(result)
    assert check_traversal_codes(traversal).passed


def test_a_traversal_that_keeps_category_ids_in_int8_or_float16_fails() -> None:
    for dtype in (torch.int8, torch.float16):
        def narrow(spec, base, code, values, dtype=dtype):
            out = traversal(spec, base, code, values)
            return Codes(out.z, out.categorical.to(dtype).long(), out.continuous)
        result = check_traversal_codes(narrow)
        assert not result.passed and "Codes.categorical" in str(result)
    assert "4097" in str(check_traversal_codes(lambda *a: Codes(*(  # float16 rounds 4097 to 4096
        lambda o: (o.z, o.categorical.half().long(), o.continuous))(traversal(*a)))))


def test_a_tuple_for_codes_is_named_as_a_tuple_of_three_parts() -> None:
    result = check_traversal_codes(lambda *a: tuple(vars(traversal(*a)).values()))
    assert not result.passed and "a tuple of length 3" in str(result) and "not a tuple of its parts" in str(result)


def test_sys_exit_in_an_answer_is_feedback_not_the_end_of_the_check() -> None:
    def leaves(spec, base, code, values):
        sys.exit(2)

    result = check_traversal_codes(leaves)  # a SystemExit escaping here would end pytest's test with an error
    assert not result.passed and "called sys.exit()" in str(result) and "SystemExit(2)" in str(result)


def test_the_product_of_ks_in_a_fixed_width_integer_fails() -> None:
    def product_in(dtype):
        def code_entropy(spec):
            low, high = spec.continuous_range
            k = int(np.prod(np.array(spec.categorical or (1,), dtype=dtype), dtype=dtype))
            return (math.log(k) if k > 0 else float("nan")) + spec.n_continuous * math.log(high - low)
        return code_entropy

    for dtype, case in ((np.int32, "32-bit"), (np.int64, "64-bit")):
        result = check_code_entropy(product_in(dtype))
        assert not result.passed and case in str(result), str(result)
    result = check_code_entropy(lambda spec: float(np.log(np.prod(spec.categorical or [1])) + spec.n_continuous
                                                   * np.log(spec.continuous_range[1] - spec.continuous_range[0])))
    assert not result.passed and "add the logs instead" in str(result), str(result)
    assert check_code_entropy(lambda spec: sum(math.log(k) for k in spec.categorical) + spec.n_continuous
                              * math.log(spec.continuous_range[1] - spec.continuous_range[0])).passed


def gaussian_ll(c, mean, log_std):
    return -0.5 * ((c - mean) * torch.exp(-log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def bound(round_codes: bool):
    def info_bound(q, codes, spec):
        c = codes.continuous.float().to(codes.continuous.dtype) if round_codes else codes.continuous
        total = q.mean.new_zeros(len(codes))
        for i, logits in enumerate(q.logits):
            total = total + torch.log_softmax(logits, 1).gather(1, codes.categorical[:, i:i + 1]).squeeze(1)
        if spec.n_continuous:
            total = total + gaussian_ll(c, q.mean, q.log_std).sum(1)
        low, high = spec.continuous_range
        return total.mean() + sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)
    return info_bound


def per_code(round_codes: bool):
    def per_code_info(q, codes, spec):
        c = codes.continuous.float().to(codes.continuous.dtype) if round_codes else codes.continuous
        low, high = spec.continuous_range
        return gaussian_ll(c, q.mean, q.log_std).mean(0) + math.log(high - low)
    return per_code_info


def test_float64_codes_rounded_through_float32_fail_the_bound_and_the_per_code_bound() -> None:
    for check, answer in ((check_mutual_info_bound, bound), (check_per_code_info, per_code)):
        result = check(answer(round_codes=True))
        assert not result.passed and "float64 at log_std = -30" in str(result), str(result)
        assert check(answer(round_codes=False)).passed, str(check(answer(round_codes=False)))


def test_a_backward_that_fails_otherwise_than_in_place_is_not_called_an_in_place_change() -> None:
    class NoBackward(torch.autograd.Function):  # a step whose backward fails (as a complex detour can)
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("this step has no derivative here")

    right = bound(round_codes=False)

    def detour(q, codes, spec):
        return NoBackward.apply(right(q, codes, spec))

    message = str(check_mutual_info_bound(detour))
    assert "could not be computed" in message and "no derivative" in message and "in place" not in message

    def edits_in_place(q, codes, spec):
        mean = q.mean * 1
        loss = right(q, codes, spec) + 0 * mean.sin().sum()  # sin's backward needs mean itself
        mean.mul_(2)  # a tensor the loss's graph needs, changed after use
        return loss

    message = str(check_mutual_info_bound(edits_in_place))
    assert "could not be computed" in message and "in place" in message




def test_dropping_or_clamping_joint_entries_at_float32_eps_or_1e_8_fails() -> None:
    eps = float(torch.finfo(torch.float32).eps)
    for answer, case in ((invariant(eps, clamp=True), "300 categories"),
                         (invariant(eps, clamp=False), "300 categories"),
                         (invariant(1e-8, clamp=True), "in float64"),
                         (invariant(1e-8, clamp=False), "300 categories")):
        result = check_invariant_information(answer)
        assert not result.passed and case in str(result), str(result)
    assert check_invariant_information(invariant(1e-12, clamp=True)).passed  # the hint allows 1e-12
