"""Issue 25, the eleventh blind round (two students: 342 and more wrong answers; 10 of the first's passed, no right
answer rejected). The gaps were cases, not ideas: a moderate bound on a range narrower than 1, traversals of a
later categorical code beyond the first code's K and of continuous codes in specs without exactly one categorical
code, two codes of the same K, a matching whose first call uses fewer ids, and float16 internals that got only
"wrong value"."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

import infogan_tutorial.exercises as ex
from infogan_tutorial.latent_codes import Codes


def _bound(q, codes, spec, entropy_of_range):
    """E[log Q(c | x)] + H(c), with the continuous codes' entropy given by ``entropy_of_range(b - a)``."""
    total = torch.zeros((), dtype=q.mean.dtype)
    for j, k in enumerate(spec.categorical):  # q.logits: one (N, K) tensor per categorical code
        total = total - F.cross_entropy(q.logits[j], codes.categorical[:, j]) + math.log(k)
    if spec.n_continuous:
        low, high = spec.continuous_range
        z = (codes.continuous - q.mean) * torch.exp(-q.log_std)
        ll = -0.5 * math.log(2 * math.pi) - q.log_std - 0.5 * z ** 2
        total = total + ll.sum(1).mean() + spec.n_continuous * entropy_of_range(high - low)
    return total


def test_a_bound_that_drops_a_negative_log_of_the_range_is_refused():
    assert ex.check_mutual_info_bound(lambda q, c, s: _bound(q, c, s, math.log)).passed
    for slip in (lambda w: max(0.0, math.log(w)), lambda w: math.log(w) if w > 1 else 0.0):
        assert not ex.check_mutual_info_bound(lambda q, c, s, slip=slip: _bound(q, c, s, slip)).passed


def test_two_codes_of_the_same_k_must_keep_their_own_logits():
    def mirrored(q, codes, spec):  # the columns of the codes read in reverse order
        reversed_codes = Codes(codes.z, codes.categorical.flip(1), codes.continuous)
        return _bound(q, reversed_codes, spec, math.log) if len(set(spec.categorical)) == 1 else \
            _bound(q, codes, spec, math.log)
    assert not ex.check_mutual_info_bound(mirrored).passed


def _traversal(spec, base, code, values, index):
    steps = len(values)
    z, cat, cont = (t.repeat_interleave(steps, dim=0).clone() for t in (base.z, base.categorical, base.continuous))
    i = index(spec, code)
    if i < spec.n_categorical:
        cat[:, i] = values.repeat(len(base)).to(torch.int64)
    else:
        cont[:, i - spec.n_categorical] = values.repeat(len(base)).to(cont.dtype)
    return Codes(z, cat, cont)


def test_traversals_of_later_codes_are_checked_in_every_layout():
    right = (lambda spec, code: spec.code_index(code))
    assert ex.check_traversal_codes(lambda s, b, c, v: _traversal(s, b, c, v, right)).passed

    def modulo_first_k(spec, base, code, values):  # category values taken modulo the first code's K
        i = spec.code_index(code)
        if i < spec.n_categorical:
            values = values.long() % spec.categorical[0]
        return _traversal(spec, base, code, values, right)

    def guessed_column(spec, code):  # the continuous column from the code's number, clipped, not its index
        n = int(code[1:]) - 1
        return n if n < spec.n_categorical else spec.n_categorical + min(n - 1, spec.n_continuous - 1)

    def through_uint8(spec, base, code, values):  # category indices wrap above 255
        i = spec.code_index(code)
        return _traversal(spec, base, code, values.to(torch.uint8) if i < spec.n_categorical else values, right)

    for wrong in (modulo_first_k, lambda s, b, c, v: _traversal(s, b, c, v, guessed_column), through_uint8):
        assert not ex.check_traversal_codes(wrong).passed


def _matched(clusters, labels, k):
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def test_a_matching_that_keeps_its_first_calls_number_of_ids_is_refused():
    assert ex.check_matched_accuracy(lambda c, l: _matched(c, l, 10)).passed
    remembered = {}

    def first_k(clusters, labels):
        k = remembered.setdefault("k", int(max(clusters.max(), labels.max())) + 1)
        return _matched(clusters, labels, k)

    result = ex.check_matched_accuracy(first_k)
    assert not result.passed


def test_float16_internals_are_told_apart_from_a_wrong_formula():
    result = ex.check_categorical_info_loss(lambda logits, c: F.cross_entropy(logits.half().float(), c))
    assert not result.passed and "float16 or bfloat16" in result.message
    result = ex.check_categorical_info_loss(lambda logits, c: F.cross_entropy(logits, c) * 2)
    assert not result.passed and "float16 or bfloat16" not in result.message


def test_the_second_students_three_passes_are_refused():
    def float64_constant(c, mean, log_std):  # a float64 constant promotes 0-d float32 inputs
        z = (c - mean) * torch.exp(-log_std)
        return -0.5 * torch.tensor(math.log(2 * math.pi), dtype=torch.float64) - log_std - 0.5 * z * z
    assert not ex.check_gaussian_log_likelihood(float64_constant).passed

    def clamped(c, mean, log_std):  # exp(-log_std) with log_std held in (-88, 88): wrong for a huge sigma
        z = (c - mean) * torch.exp(-log_std.clamp(-88, 88))
        return -0.5 * math.log(2 * math.pi) - log_std - 0.5 * z * z
    assert not ex.check_gaussian_log_likelihood(clamped).passed

    def pair_swaps(clusters, labels):  # a local search over swaps of two pairs: stuck on a three-way rotation
        counts = np.zeros((10, 10), dtype=np.int64)
        np.add.at(counts, (clusters, labels), 1)
        perm, improved = list(range(10)), True
        while improved:
            improved = False
            for i in range(10):
                for j in range(i + 1, 10):
                    if counts[i, perm[j]] + counts[j, perm[i]] > counts[i, perm[i]] + counts[j, perm[j]]:
                        perm[i], perm[j], improved = perm[j], perm[i], True
        return float(sum(counts[i, perm[i]] for i in range(10)) / len(labels))
    assert not ex.check_matched_accuracy(pair_swaps).passed

    def eps_clamp(p, q):  # P clamped at the dtype's eps before the logs
        joint = p.T @ q / p.shape[0]
        joint = ((joint + joint.T) / 2).clamp_min(torch.finfo(p.dtype).eps)
        rows, cols = joint.sum(1), joint.sum(0)
        return (joint * (joint.log() - rows.log()[:, None] - cols.log()[None, :])).sum()
    assert not ex.check_invariant_information(eps_clamp).passed

    def exact(p, q):  # 0 log 0 left out: passes, also on float64 inputs with many empty entries
        joint = p.T @ q / p.shape[0]
        joint = (joint + joint.T) / 2
        rows, cols = joint.sum(1), joint.sum(0)
        return torch.special.xlogy(joint, joint).sum() - torch.special.xlogy(rows, rows).sum() \
            - torch.special.xlogy(cols, cols).sum()
    assert ex.check_invariant_information(exact).passed


def test_q_heads_second_pass_is_named():
    from infogan_tutorial.objectives import info_loss

    def twice(D, fake, codes, spec):
        h = D.features(fake).detach()
        D.q_from_features(h)
        return info_loss(D.q_from_features(h), codes, spec)
    result = ex.check_control_info_loss(twice)
    assert not result.passed and "runs Q's head 2 times" in result.message


def test_a_clamp_that_hides_a_rare_category_is_refused():
    def clamped(at):
        def answer(p, q):
            joint = p.T @ q / p.shape[0]
            joint = (joint + joint.T) / 2
            rows, cols = joint.sum(1, keepdim=True), joint.sum(0, keepdim=True)
            return (joint * (joint.clamp_min(at).log() - (rows * cols).clamp_min(at).log())).sum()
        return answer
    assert not ex.check_invariant_information(clamped(1e-6)).passed  # the thirteenth blind student's w_clamp6
    assert ex.check_invariant_information(clamped(1e-12)).passed  # the hint's tiny clamp
