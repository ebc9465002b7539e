"""Issue 25, the seventh blind round (329 wrong answers, 12 passed): what each pass showed, as a test.

- Answers that remember results (a cache keyed by id(), by the shape, by id(D)) are called a second time on the
  same objects with new values written into them, and refused.
- A constant kept from the first call's dtype shows, since the Gaussian check's first case is float64.
- Float64 inputs need float64 arithmetic: misses of 1e-9 at log_std = -30 vanish in float32.
- Float category values, float16 counts, a D that comes in eval mode, a spec without continuous codes.
- Messages: the bound's categorical sign, -inf named as such, numbers printed until they differ, the control's
  parts by name, features given to D.q, NumPy fields of a Codes batch (a checker crash before).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

import infogan_tutorial.exercises as ex
from infogan_tutorial.exercises.compare import _two_numbers
from infogan_tutorial.exercises.engine import _nonfinite_kind
from infogan_tutorial.latent_codes import Codes
from infogan_tutorial.objectives import info_loss

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _gll(c, m, s):
    return -HALF_LOG_2PI - s - 0.5 * ((c - m) * torch.exp(-s)) ** 2


def _bound(q, codes, spec, cat_sign=1.0):
    cat = sum(-cat_sign * F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits))
    cont = _gll(codes.continuous, q.mean, q.log_std).sum(1).mean() if spec.n_continuous else 0
    low, high = spec.continuous_range
    return cat + cont + sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def _control(D, fake, codes, spec):
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def _hungarian(clusters, labels, dtype=np.int64):
    counts = np.zeros((10, 10), dtype=dtype)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts.astype(np.float64), maximize=True)
    return float(counts[rows, cols].astype(np.float64).sum() / len(labels))


def _traversal(spec, base, code, values):
    """A right traversal grid (row r repeats base's entry r; the code runs through values along the row)."""
    steps = len(values)
    z = base.z.repeat_interleave(steps, 0)
    cat, cont = base.categorical.repeat_interleave(steps, 0), base.continuous.repeat_interleave(steps, 0)
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = values.repeat(len(base)).long()
    else:
        cont[:, i - spec.n_categorical] = values.repeat(len(base)).to(cont.dtype)
    return Codes(z, cat, cont)


def test_a_cache_keyed_by_id_is_refused_and_a_right_answer_still_passes():
    memo = {}

    def categorical_info_loss(logits, c):
        if id(logits) not in memo:
            memo[id(logits)] = F.cross_entropy(logits, c)
        return memo[id(logits)]

    result = ex.check_categorical_info_loss(categorical_info_loss)
    assert not result.passed and "remember" in result.message and "values changed in place" in result.message
    assert ex.check_categorical_info_loss(lambda logits, c: F.cross_entropy(logits, c)).passed


def test_a_cache_keyed_by_id_of_d_is_refused_in_the_control():
    memo = {}

    def control_info_loss(D, fake, codes, spec):
        if id(D) not in memo:
            memo[id(D)] = _control(D, fake, codes, spec)
        return memo[id(D)]

    result = ex.check_control_info_loss(control_info_loss)
    assert not result.passed and "called again on the same objects" in result.message
    assert ex.check_control_info_loss(_control).passed


def test_a_cache_keyed_by_shape_is_refused_in_the_invariant_information():
    memo = {}

    def right(p, p_moved):
        joint = p.T @ p_moved / len(p)
        joint = ((joint + joint.T) / 2).clamp_min(1e-12)
        rows, cols = joint.sum(1), joint.sum(0)
        return (joint * (joint.log() - rows.log()[:, None] - cols.log()[None, :])).sum()

    def invariant_information(p, p_moved):
        if tuple(p.shape) not in memo:
            memo[tuple(p.shape)] = right(p, p_moved)
        return memo[tuple(p.shape)]

    assert ex.check_invariant_information(right).passed
    assert not ex.check_invariant_information(invariant_information).passed


def test_a_constant_of_the_first_calls_dtype_is_refused():
    kept = []

    def gaussian_log_likelihood(c, mean, log_std):
        if not kept:
            kept.append(torch.full((1,), HALF_LOG_2PI, dtype=c.dtype))
        return -kept[0] - log_std - 0.5 * ((c - mean) * torch.exp(-log_std)) ** 2

    result = ex.check_gaussian_log_likelihood(gaussian_log_likelihood)
    assert not result.passed and "wrong dtype" in result.message


def test_float32_arithmetic_on_float64_inputs_is_refused():
    def in_float32(c, mean, log_std):
        return _gll(c.float(), mean.float(), log_std.float()).to(c.dtype)

    result = ex.check_gaussian_log_likelihood(in_float32)
    assert not result.passed and "float64 inputs ask for float64's accuracy" in result.message
    assert ex.check_gaussian_log_likelihood(_gll).passed

    def bound_in_float32(q, codes, spec):
        q32 = type(q)([t.float() for t in q.logits], q.mean.float(), q.log_std.float())
        codes32 = Codes(codes.z.float(), codes.categorical, codes.continuous.float())
        return _bound(q32, codes32, spec).to(q.mean.dtype)

    assert not ex.check_mutual_info_bound(bound_in_float32).passed
    assert ex.check_mutual_info_bound(_bound).passed


def test_per_code_info_without_continuous_codes_is_an_empty_tensor_without_a_gradient_requirement():
    def per_code_info(q, codes, spec):
        low, high = spec.continuous_range
        out = [_gll(codes.continuous[:, j], q.mean[:, j], q.log_std[:, j]).mean() + math.log(high - low)
               for j in range(spec.n_continuous)]
        return torch.stack(out) if out else q.mean.new_zeros((0,))

    assert ex.check_per_code_info(per_code_info).passed

    def no_empty_case(q, codes, spec):
        low, high = spec.continuous_range
        return torch.stack([_gll(codes.continuous[:, j], q.mean[:, j], q.log_std[:, j]).mean() + math.log(high - low)
                            for j in range(spec.n_continuous)])

    result = ex.check_per_code_info(no_empty_case)
    assert not result.passed and "no continuous code" in result.message


def test_float_category_values_must_come_back_as_int64():
    def traversal_codes(spec, base, code, values):
        steps = len(values)
        z = base.z.repeat_interleave(steps, 0)
        cat, cont = base.categorical.repeat_interleave(steps, 0), base.continuous.repeat_interleave(steps, 0)
        i = spec.code_index(code)
        if i < spec.n_categorical:
            cat = cat.to(values.dtype)  # the slip: a float index column
            cat[:, i] = values.repeat(len(base))
        else:
            cont[:, i - spec.n_categorical] = values.repeat(len(base)).to(cont.dtype)
        return Codes(z, cat, cont)

    result = ex.check_traversal_codes(traversal_codes)
    assert not result.passed and "int64" in result.message and "floats" in result.message


def test_numpy_fields_of_a_codes_batch_get_a_message_not_a_crash():
    def traversal_codes(spec, base, code, values):
        grid = _traversal(spec, base, code, values)
        return Codes(grid.z.numpy(), grid.categorical.numpy(), grid.continuous.numpy())  # the slip: NumPy fields

    result = ex.check_traversal_codes(traversal_codes)
    assert not result.passed and "torch" in result.message


def test_float16_counts_are_refused_and_named():
    result = ex.check_matched_accuracy(lambda c, l: _hungarian(c, l, np.float16))
    assert not result.passed and "float16" in result.message and "2048" in result.message
    assert ex.check_matched_accuracy(_hungarian).passed


def test_a_d_that_comes_in_eval_mode_must_be_used_so():
    def forces_train(D, fake, codes, spec):
        D.train()
        return _control(D, fake, codes, spec)

    result = ex.check_control_info_loss(forces_train)
    assert not result.passed and "eval mode" in result.message


def test_the_bounds_categorical_sign_is_named():
    result = ex.check_mutual_info_bound(lambda q, codes, spec: _bound(q, codes, spec, cat_sign=-1.0))
    assert not result.passed and "categorical part has the wrong sign" in result.message


def test_minus_inf_is_named_as_such():
    assert _nonfinite_kind(torch.tensor([1.0, -math.inf])) == "-inf"
    assert _nonfinite_kind(torch.tensor([math.inf, -math.inf])) == "inf and -inf"
    assert _nonfinite_kind(torch.tensor([math.nan, -math.inf])) == "nan"
    result = ex.check_categorical_info_loss(lambda logits, c: -torch.log(torch.softmax(logits, 1))
                                            .gather(1, c[:, None]).mean())
    assert not result.passed and "returned inf" in result.message  # -log(0) is +inf: named so


def test_numbers_are_printed_until_they_differ():
    assert _two_numbers(-0.0980105, -0.0979614) == "expected -0.0980105, got -0.0979614"
    assert _two_numbers(2.5, 1.25) == "expected 2.5000, got 1.2500"


def test_the_controls_parts_are_named_and_features_given_to_d_q_are_explained():
    result = ex.check_control_info_loss(lambda D, fake, codes, spec: _control(D, fake, codes, spec).double())
    assert not result.passed and "in the loss" in result.message and "part 0" not in result.message

    result = ex.check_control_info_loss(lambda D, fake, codes, spec: info_loss(D.q(D.features(fake).detach()),
                                                                               codes, spec))
    assert not result.passed and "D.q_from_features(h)" in result.message and "unsqueeze" not in result.message


# -- the eighth blind round (412 wrong answers, 47 passed) -----------------------------------------------------------

def test_caches_are_refused_in_the_bound_the_per_code_bound_the_generator_and_the_traversal():
    memo = {}

    def mutual_info_bound(q, codes, spec):
        key = (id(q.mean), id(codes.continuous))
        if key not in memo:
            memo[key] = _bound(q, codes, spec)
        return memo[key]

    assert not ex.check_mutual_info_bound(mutual_info_bound).passed
    grids = {}

    def traversal_codes(spec, base, code, values):
        key = (id(base), id(values), code)
        if key not in grids:
            grids[key] = _traversal(spec, base, code, values)
        return grids[key]

    assert not ex.check_traversal_codes(traversal_codes).passed


def test_a_cache_keyed_by_the_codes_but_not_their_range_is_refused():
    memo = {}

    def code_entropy(spec):
        key = (spec.categorical, spec.n_continuous)
        if key not in memo:
            low, high = spec.continuous_range
            memo[key] = sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)
        return memo[key]

    assert not ex.check_code_entropy(code_entropy).passed


def test_float64_answers_are_compared_at_float64_accuracy():
    def rounded(c, mean, log_std):
        return -0.919 - log_std - 0.5 * ((c - mean) * torch.exp(-log_std)) ** 2

    assert not ex.check_gaussian_log_likelihood(rounded).passed
    assert not ex.check_code_entropy(lambda spec: round(ex_entropy(spec), 4)).passed
    assert ex.check_code_entropy(ex_entropy).passed


def ex_entropy(spec):
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def test_an_answer_must_give_the_same_value_without_gradients_and_leave_grad_mode_alone():
    def categorical_info_loss(logits, c):
        if not logits.requires_grad:  # the slip: another formula when no gradient is asked for
            return F.cross_entropy(torch.softmax(logits, 1), c)
        return F.cross_entropy(logits, c)

    result = ex.check_categorical_info_loss(categorical_info_loss)
    assert not result.passed and "torch.no_grad()" in result.message

    def switches_grad_on(logits, c):
        torch.set_grad_enabled(True)
        return F.cross_entropy(logits, c)

    assert not ex.check_categorical_info_loss(switches_grad_on).passed


def test_the_controls_gradient_into_q_head_must_have_info_losss_size():
    def half_gradient(D, fake, codes, spec):
        loss = _control(D, fake, codes, spec)
        return 0.5 * loss + 0.5 * loss.detach()

    result = ex.check_control_info_loss(half_gradient)
    assert not result.passed and "Q's head" in result.message

    def continuous_part_detached(D, fake, codes, spec):
        q = D.q_from_features(D.features(fake).detach())
        return info_loss(type(q)(q.logits, q.mean.detach(), q.log_std.detach()), codes, spec)

    assert not ex.check_control_info_loss(continuous_part_detached).passed


def test_traversals_keep_bases_dtype_and_matching_allows_fewer_categories_than_labels():
    def float32_always(spec, base, code, values):
        grid = _traversal(spec, base, code, values)
        return Codes(grid.z.float(), grid.categorical, grid.continuous.float())

    assert not ex.check_traversal_codes(float32_always).passed

    def compressed(clusters, labels):
        uc, ci = np.unique(clusters, return_inverse=True)
        ul, li = np.unique(labels, return_inverse=True)
        k = len(uc)
        m, ok = np.zeros((k, k)), li < k
        np.add.at(m, (ci[ok], li[ok]), 1)
        r, c = linear_sum_assignment(m, maximize=True)
        return float(m[r, c].sum() / len(clusters))

    assert not ex.check_matched_accuracy(compressed).passed


def test_answers_built_for_small_inputs_meet_a_large_case():
    assert not ex.check_categorical_info_loss(lambda logits, c: F.cross_entropy(logits[:64], c[:64])).passed

    def per_code_first_three(q, codes, spec):
        low, high = spec.continuous_range
        return (_gll(codes.continuous, q.mean, q.log_std).mean(0) + math.log(high - low))[:3]

    assert not ex.check_per_code_info(per_code_first_three).passed

    def detach_only_if_asked(D, fake, codes, spec):
        h = D.features(fake)
        h = h.detach() if fake.requires_grad else h  # the slip: G's images without a gradient reach D's body
        return info_loss(D.q_from_features(h), codes, spec)

    assert not ex.check_control_info_loss(detach_only_if_asked).passed
