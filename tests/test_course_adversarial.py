"""Adversarial answers, written from the exercise statements in the notebooks (not from the checkers):
for every checker, plausible wrong answers that must fail and right answers written in other ways that
must pass. A regression set for the graded checkers (issue 15)."""

import itertools
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

import infogan_tutorial.exercises as ex
from infogan_tutorial.evaluation import hungarian_accuracy
from infogan_tutorial.latent_codes import Codes
from infogan_tutorial.mutual_information import mutual_information
from infogan_tutorial.objectives import gaussian_log_likelihood, info_loss, info_lower_bound, log_q

Normal = torch.distributions.Normal


# -- categorical_info_loss(logits, c) ---------------------------------------------------------------
def cat_logsumexp(logits, c):
    return -(logits.gather(1, c[:, None]).squeeze(1) - torch.logsumexp(logits, 1)).mean()


def cat_nll(logits, c):
    return F.nll_loss(F.log_softmax(logits, 1), c)


def cat_by_k(logits, c):
    return -torch.log(F.softmax(logits, 1)[torch.arange(len(c)), c]).sum() / logits.shape[1]


def cat_item(logits, c):
    return torch.tensor(F.cross_entropy(logits, c).item())


def cat_softmax_over_batch(logits, c):
    return -(F.log_softmax(logits, 0) * F.one_hot(c, logits.shape[1])).sum(1).mean()


def cat_smoothing(logits, c):
    return F.cross_entropy(logits, c, label_smoothing=0.1)


def cat_bce(logits, c):
    return F.binary_cross_entropy_with_logits(logits, F.one_hot(c, logits.shape[1]).float())


def cat_in_place(logits, c):
    logits.sub_(logits.max(1, keepdim=True).values.detach())
    return F.cross_entropy(logits, c)


# -- gaussian_log_likelihood(c, mean, log_std) ------------------------------------------------------
def gauss_distribution(c, mean, log_std):
    return Normal(mean, log_std.exp()).log_prob(c)


def gauss_variance(c, mean, log_std):
    var = torch.exp(2 * log_std)
    return -0.5 * torch.log(2 * math.pi * var) - (c - mean) ** 2 / (2 * var)


def gauss_log_std_direct(c, mean, log_std):
    return -(c - mean) ** 2 * torch.exp(-2 * log_std) / 2 - log_std - 0.5 * math.log(2 * math.pi)


def gauss_standardised(c, mean, log_std):
    z = (c - mean) * torch.exp(-log_std)
    return -0.5 * (z * z + math.log(2 * math.pi)) - log_std


def gauss_no_scale(c, mean, log_std):
    return -0.5 * math.log(2 * math.pi) - log_std - 0.5 * (c - mean) ** 2


def gauss_sigma_not_squared(c, mean, log_std):
    return -math.log(math.sqrt(2 * math.pi)) - log_std - (c - mean) ** 2 / (2 * log_std.exp())


def gauss_mean_over_codes(c, mean, log_std):
    return Normal(mean, log_std.exp()).log_prob(c).mean(-1)


def gauss_detached_log_std(c, mean, log_std):
    return -0.5 * math.log(2 * math.pi) - log_std.detach() - 0.5 * ((c - mean) / log_std.exp()) ** 2


def gauss_package(c, mean, log_std):
    return gaussian_log_likelihood(c, mean, log_std)


def gauss_plus_log_std(c, mean, log_std):
    return -0.5 * math.log(2 * math.pi) + log_std - 0.5 * ((c - mean) / log_std.exp()) ** 2


# -- code_entropy(spec) -----------------------------------------------------------------------------
def entropy_product(spec):
    low, high = spec.continuous_range
    return math.log(math.prod(spec.categorical)) + spec.n_continuous * math.log(high - low)


def entropy_numpy(spec):
    low, high = spec.continuous_range
    return float(np.sum(np.log(np.array(spec.categorical, dtype=float))) + spec.n_continuous * np.log(high - low))


def entropy_sum_of_k(spec):
    low, high = spec.continuous_range
    return math.log(max(sum(spec.categorical), 1)) + spec.n_continuous * math.log(high - low)


def entropy_ten_way(spec):
    low, high = spec.continuous_range
    return len(spec.categorical) * math.log(10) + spec.n_continuous * math.log(high - low)


def entropy_package(spec):
    return spec.entropy()


def entropy_with_noise(spec):
    low, high = spec.continuous_range
    return (sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)
            + spec.noise_dim * 0.5 * math.log(2 * math.pi * math.e))


def entropy_log_of_n_times_range(spec):
    low, high = spec.continuous_range
    cont = math.log(spec.n_continuous * (high - low)) if spec.n_continuous else 0.0
    return sum(math.log(k) for k in spec.categorical) + cont


# -- mutual_info_bound(q, codes, spec) --------------------------------------------------------------
def _log_q_parts(q, codes):
    cat = sum(F.log_softmax(lg, 1).gather(1, codes.categorical[:, i:i + 1]).squeeze(1)
              for i, lg in enumerate(q.logits)) if q.logits else torch.zeros(len(codes))
    cont = _gauss(codes.continuous, q.mean, q.log_std).sum(1)
    return cat, cont


def _gauss(c, mean, log_std):
    """log N(c; mean, exp(log_std)^2) from log_std itself, never forming sigma (finite for log_std = 100)."""
    return -0.5 * math.log(2 * math.pi) - log_std - 0.5 * ((c - mean) * torch.exp(-log_std)) ** 2


def _h(spec):
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def bound_direct(q, codes, spec):
    cat, cont = _log_q_parts(q, codes)
    return (cat + cont).mean() + _h(spec)


def bound_per_image(q, codes, spec):
    total = 0.0
    for n in range(len(codes)):
        for i, lg in enumerate(q.logits):
            total = total + torch.log_softmax(lg[n], 0)[codes.categorical[n, i]]
        for j in range(spec.n_continuous):
            total = total + _gauss(codes.continuous[n, j], q.mean[n, j], q.log_std[n, j])
    return total / len(codes) + _h(spec)


def bound_per_image_sigma(q, codes, spec):  # wrong since issue 25: forms sigma = exp(100) = inf (statement: never)
    total = 0.0
    for n in range(len(codes)):
        for i, lg in enumerate(q.logits):
            total = total + torch.log_softmax(lg[n], 0)[codes.categorical[n, i]]
        for j in range(spec.n_continuous):
            sigma = torch.exp(q.log_std[n, j])
            total = total - 0.5 * math.log(2 * math.pi) - torch.log(sigma) \
                - 0.5 * ((codes.continuous[n, j] - q.mean[n, j]) / sigma) ** 2
    return total / len(codes) + _h(spec)


def bound_distribution(q, codes, spec):  # wrong since issue 25: Normal(mean, log_std.exp()) forms sigma = inf
    cat = _log_q_parts(q, codes)[0]
    cont = Normal(q.mean, q.log_std.exp()).log_prob(codes.continuous).sum(1)
    return (cat + cont).mean() + _h(spec)


def bound_codes_through_numpy(q, codes, spec):
    cont_codes = torch.as_tensor(codes.continuous.detach().numpy().copy())
    cat = sum(F.log_softmax(lg, 1)[torch.arange(len(codes)), codes.categorical[:, i]] for i, lg in enumerate(q.logits))
    cont = _gauss(cont_codes, q.mean, q.log_std).sum(1)
    return (cat + cont).mean() + _h(spec)


def bound_mean_over_codes(q, codes, spec):
    cat, cont = _log_q_parts(q, codes)
    return (cat + cont).mean() / (spec.n_categorical + spec.n_continuous) + _h(spec)


def bound_first_code_only(q, codes, spec):
    cat = F.log_softmax(q.logits[0], 1).gather(1, codes.categorical[:, :1]).squeeze(1) if q.logits else 0
    return (cat + _log_q_parts(q, codes)[1]).mean() + _h(spec)


def bound_categorical_entropy_only(q, codes, spec):
    cat, cont = _log_q_parts(q, codes)
    return (cat + cont).mean() + sum(math.log(k) for k in spec.categorical)


def bound_sum_continuous(q, codes, spec):
    cat, cont = _log_q_parts(q, codes)
    return cat.mean() + cont.sum() + _h(spec)


def bound_detached_mean(q, codes, spec):
    cat, _ = _log_q_parts(q, codes)
    cont = _gauss(codes.continuous, q.mean.detach(), q.log_std).sum(1)
    return (cat + cont).mean() + _h(spec)


def bound_package(q, codes, spec):
    return info_lower_bound(q, codes, spec).total


def bound_in_place(q, codes, spec):
    for i in range(len(q.logits)):
        q.logits[i] = q.logits[i].log_softmax(1)
    return bound_direct(q, codes, spec)


# -- traversal_codes(spec, base, code, values) -----------------------------------------------------
def _set(spec, code, cat, cont, column):
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = column.to(cat.dtype)
    else:
        cont[:, i - spec.n_categorical] = column.to(cont.dtype)


def trav_loop(spec, base, code, values):
    zs, cats, conts = [], [], []
    for r in range(len(base)):
        for v in values:
            zs.append(base.z[r].clone())
            cats.append(base.categorical[r].clone())
            conts.append(base.continuous[r].clone())
            _set(spec, code, cats[-1][None], conts[-1][None], v.reshape(1))
    return Codes(torch.stack(zs), torch.stack(cats), torch.stack(conts))


def trav_index(spec, base, code, values):
    idx = torch.arange(len(base)).repeat_interleave(len(values))
    out = Codes(base.z[idx], base.categorical[idx].clone(), base.continuous[idx].clone())
    _set(spec, code, out.categorical, out.continuous, values.repeat(len(base)))
    return out


def trav_float_categories(spec, base, code, values):
    out = trav_index(spec, base, code, values)
    return Codes(out.z, out.categorical.float(), out.continuous)


def trav_int32_categories(spec, base, code, values):
    out = trav_index(spec, base, code, values)
    return Codes(out.z, out.categorical.int(), out.continuous)


def trav_edits_base(spec, base, code, values):
    i = spec.code_index(code)
    rows = []
    for v in values:
        if i < spec.n_categorical:
            base.categorical[:, i] = v.long()
        else:
            base.continuous[:, i - spec.n_categorical] = v
        rows.append((base.z.clone(), base.categorical.clone(), base.continuous.clone()))
    order = [torch.stack([r[k] for r in rows], 1).flatten(0, 1) for k in range(3)]
    return Codes(*order)


def trav_package(spec, base, code, values):
    return spec.traversal(code, rows=len(base), steps=len(values), values=(float(values[0]), float(values[-1])),
                          fixed=base)


def trav_off_by_one(spec, base, code, values):
    idx = torch.arange(len(base)).repeat_interleave(len(values))
    out = Codes(base.z[idx], base.categorical[idx].clone(), base.continuous[idx].clone())
    j = spec.code_index(code) - spec.n_categorical
    if j >= 0:
        out.continuous[:, j - 1 if j > 0 else j] = values.repeat(len(base)).to(out.continuous.dtype)
    else:
        out.categorical[:, spec.code_index(code)] = values.repeat(len(base)).long()
    return out


def trav_reversed(spec, base, code, values):
    return trav_index(spec, base, code, values.flip(0))


def trav_fresh_noise(spec, base, code, values):
    out = trav_index(spec, base, code, values)
    return Codes(torch.randn(out.z.shape).mul(0).add(out.z), out.categorical, out.continuous)


# -- matched_accuracy(clusters, labels) ------------------------------------------------------------
def _counts(clusters, labels):
    counts = np.zeros((10, 10), dtype=np.int64)
    for k, lab in zip(clusters, labels):
        counts[k, lab] += 1
    return counts


def match_minimise_negative(clusters, labels):
    counts = _counts(clusters, labels)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(labels))


def match_histogram(clusters, labels):
    counts, *_ = np.histogram2d(clusters, labels, bins=[np.arange(11), np.arange(11)])
    rows, cols = linear_sum_assignment(counts.max() - counts)
    return counts[rows, cols].sum() / counts.sum()


def match_brute_force_small(clusters, labels):
    used = sorted(set(clusters.tolist()) | set(labels.tolist()))
    counts = _counts(clusters, labels)
    if len(used) > 7:
        return match_minimise_negative(clusters, labels)
    best = max(sum(counts[a, b] for a, b in zip(used, perm)) for perm in itertools.permutations(used))
    return best / len(labels)


def match_greedy(clusters, labels):
    counts = _counts(clusters, labels).astype(float)
    hits = 0.0
    for _ in range(10):
        k, lab = np.unravel_index(np.argmax(counts), counts.shape)
        hits += max(counts[k, lab], 0)
        counts[k, :] = -1
        counts[:, lab] = -1
    return hits / len(labels)


def match_balanced(clusters, labels):
    counts = _counts(clusters, labels)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    sizes = counts.sum(0)
    recalls = [counts[r, c] / sizes[c] for r, c in zip(rows, cols) if sizes[c] > 0]
    return float(np.mean(recalls))


def match_minimised(clusters, labels):
    counts = _counts(clusters, labels)
    rows, cols = linear_sum_assignment(counts)
    return counts[rows, cols].sum() / len(labels)


def match_package(clusters, labels):
    return hungarian_accuracy(clusters, labels).accuracy


def match_label_majority(clusters, labels):
    counts = _counts(clusters, labels)
    return counts.max(0).sum() / len(labels)


def match_percent(clusters, labels):
    return round(100 * match_minimise_negative(clusters, labels))


# -- per_code_info(q, codes, spec) -----------------------------------------------------------------
def per_code_distribution(q, codes, spec):  # wrong since issue 25: Normal(mean, log_std.exp()) forms sigma = inf
    low, high = spec.continuous_range
    return Normal(q.mean, q.log_std.exp()).log_prob(codes.continuous).mean(0) + math.log(high - low)


def per_code_log_std_direct(q, codes, spec):
    low, high = spec.continuous_range
    return _gauss(codes.continuous, q.mean, q.log_std).mean(0) + math.log(high - low)


def per_code_loop(q, codes, spec):
    low, high = spec.continuous_range
    out = []
    for j in range(spec.n_continuous):
        ll = gaussian_log_likelihood(codes.continuous[:, j], q.mean[:, j], q.log_std[:, j])
        out.append(ll.mean() + math.log(high - low))
    return torch.stack(out) if out else q.mean.new_zeros(0)  # shape (0,) without continuous codes, as stated


def per_code_over_codes(q, codes, spec):
    low, high = spec.continuous_range
    return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).mean(1) + math.log(high - low)


def per_code_total_entropy(q, codes, spec):
    return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).mean(0) + spec.entropy()


def per_code_unit_range(q, codes, spec):
    return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).mean(0) + math.log(2)


def per_code_sum_batch(q, codes, spec):
    low, high = spec.continuous_range
    return gaussian_log_likelihood(codes.continuous, q.mean, q.log_std).sum(0) + math.log(high - low)


def per_code_std_not_log(q, codes, spec):
    low, high = spec.continuous_range
    return Normal(q.mean, q.log_std.abs() + 1e-3).log_prob(codes.continuous).mean(0) + math.log(high - low)


def per_code_clamps_input(q, codes, spec):
    q.log_std.data.clamp_(-0.2, 0.2)
    return per_code_log_std_direct(q, codes, spec)


# -- generator_objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont) ----------------------
def g_manual(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    cat = sum(F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits))
    cont = -Normal(q.mean, q.log_std.exp()).log_prob(codes.continuous).sum(1).mean()
    return F.softplus(-fake_logit).mean() + lambda_cat * cat + lambda_cont * cont


def g_logsigmoid(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return -F.logsigmoid(fake_logit).mean() - lambda_cat * lq.categorical - lambda_cont * lq.continuous


def g_codes_detached(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    c = codes.continuous.detach()
    cat = sum(F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits))
    cont = (0.5 * math.log(2 * math.pi) + q.log_std + 0.5 * ((c - q.mean) / q.log_std.exp()) ** 2).sum(1).mean()
    return F.softplus(-fake_logit).mean() + lambda_cat * cat + lambda_cont * cont


def g_detached_logit(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return F.softplus(-fake_logit.detach()).mean() - lambda_cat * lq.categorical - lambda_cont * lq.continuous


def g_bce_zero_target(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    adv = F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))
    return adv - lambda_cat * lq.categorical - lambda_cont * lq.continuous


def g_mean_over_codes(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return (F.softplus(-fake_logit).mean() - lambda_cat * lq.categorical / max(spec.n_categorical, 1)
            - lambda_cont * lq.continuous)


def g_item_info(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return F.softplus(-fake_logit).mean() - lambda_cat * lq.categorical.item() - lambda_cont * lq.continuous.item()


def g_one_lambda(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return F.softplus(-fake_logit).mean() - lambda_cont * (lq.categorical + lq.continuous)


def g_sum_adversarial(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
    lq = log_q(q, codes, spec)
    return F.softplus(-fake_logit).sum() - lambda_cat * lq.categorical - lambda_cont * lq.continuous


# -- control_info_loss(D, fake, codes, spec) -------------------------------------------------------
def control_no_grad_body(D, fake, codes, spec):
    with torch.no_grad():
        h = D.features(fake)
    return info_loss(D.q_from_features(h), codes, spec)


def control_both_detached(D, fake, codes, spec):
    return info_loss(D.q_from_features(D.features(fake.detach()).detach()), codes, spec)


def control_frozen_body(D, fake, codes, spec):
    for p in D.body.parameters():
        p.requires_grad_(False)
    return info_loss(D.q(fake.detach()), codes, spec)


def control_eval_mode(D, fake, codes, spec):
    D.eval()
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def control_images_detached_only(D, fake, codes, spec):
    return info_loss(D.q_from_features(D.features(fake.detach())), codes, spec)


def control_detached_q(D, fake, codes, spec):
    q = D.q(fake)
    q.logits = [lg.detach() for lg in q.logits]
    q.mean, q.log_std = q.mean.detach(), q.log_std.detach()
    return info_loss(q, codes, spec)


def control_reseeds(D, fake, codes, spec):
    torch.manual_seed(0)
    return control_no_grad_body(D, fake, codes, spec)


def control_detached_leaf(D, fake, codes, spec):
    return control_no_grad_body(D, fake, codes, spec).detach().requires_grad_()


# -- per_class_accuracy(confusion) -----------------------------------------------------------------
def per_class_loop(confusion):
    return np.array([row[i] / row.sum() for i, row in enumerate(np.asarray(confusion, dtype=float))])


def per_class_diagonal(confusion):
    m = np.asarray(confusion, dtype=float)
    return m.diagonal() / m.sum(axis=1)


def per_class_integer_division(confusion):
    return np.diag(confusion) // confusion.sum(1)


def per_class_over_total(confusion):
    return np.diag(confusion) / confusion.sum()


def per_class_row_max(confusion):
    return confusion.max(1) / confusion.sum(1)


def per_class_edits_input(confusion):
    confusion[confusion == 0] = 1
    return np.diag(confusion) / confusion.sum(1)


def per_class_transposed(confusion):
    return np.diag(confusion.T) / confusion.T.sum(1)


def per_class_percent(confusion):
    return 100 * np.diag(confusion) / confusion.sum(1)


# -- invariant_information(p, p_moved) -------------------------------------------------------------
def _joint(p, p_moved):
    joint = p.T @ p_moved / len(p)
    return (joint + joint.T) / 2


def iic_xlogy(p, p_moved):
    joint = _joint(p, p_moved)
    outer = joint.sum(1)[:, None] * joint.sum(0)[None, :]
    return torch.xlogy(joint, joint).sum() - torch.xlogy(joint, outer).sum()


def iic_numpy(p, p_moved):
    joint = _joint(p, p_moved).double().numpy()
    rows, cols = joint.sum(1), joint.sum(0)
    mask = joint > 0
    return float((joint[mask] * np.log(joint[mask] / np.outer(rows, cols)[mask])).sum())


def iic_not_symmetric(p, p_moved):
    joint = (p.T @ p_moved / len(p)).clamp_min(1e-12)
    return (joint * (joint / (joint.sum(1)[:, None] * joint.sum(0)[None, :])).log()).sum()


def iic_marginals_from_p(p, p_moved):
    joint = _joint(p, p_moved).clamp_min(1e-12)
    return (joint * (joint / (p.mean(0)[:, None] * p_moved.mean(0)[None, :])).log()).sum()


def iic_by_k(p, p_moved):
    joint = (p.T @ p_moved / p.shape[1])
    joint = ((joint + joint.T) / 2).clamp_min(1e-12)
    return (joint * (joint / (joint.sum(1)[:, None] * joint.sum(0)[None, :])).log()).sum()


def iic_joint_entropy(p, p_moved):
    joint = _joint(p, p_moved).clamp_min(1e-12)
    return -(joint * joint.log()).sum()


def iic_bits(p, p_moved):
    return iic_xlogy(p, p_moved) / math.log(2)


def iic_package(p, p_moved):
    return mutual_information(_joint(p, p_moved))


def iic_image_by_image(p, p_moved):
    joint = p @ p_moved.T / len(p)
    joint = ((joint + joint.T) / 2).clamp_min(1e-12)
    return (joint * (joint / (joint.sum(1)[:, None] * joint.sum(0)[None, :])).log()).sum()


RIGHT = {
    ex.check_categorical_info_loss: [cat_logsumexp, cat_nll],
    ex.check_gaussian_log_likelihood: [gauss_log_std_direct, gauss_standardised],
    ex.check_code_entropy: [entropy_product, entropy_numpy],
    ex.check_mutual_info_bound: [bound_direct, bound_per_image, bound_codes_through_numpy],
    ex.check_traversal_codes: [trav_loop, trav_index],
    ex.check_matched_accuracy: [match_minimise_negative, match_histogram, match_brute_force_small],
    ex.check_per_code_info: [per_code_log_std_direct, per_code_loop],
    ex.check_generator_objective: [g_manual, g_logsigmoid, g_codes_detached],
    ex.check_control_info_loss: [control_no_grad_body, control_both_detached],
    ex.check_per_class_accuracy: [per_class_loop, per_class_diagonal],
    ex.check_invariant_information: [iic_xlogy, iic_numpy],
}
WRONG = {
    ex.check_categorical_info_loss: [cat_by_k, cat_item, cat_softmax_over_batch, cat_smoothing, cat_bce,
                                     cat_in_place],
    ex.check_gaussian_log_likelihood: [gauss_no_scale, gauss_sigma_not_squared, gauss_mean_over_codes,
                                       gauss_detached_log_std, gauss_package, gauss_plus_log_std,
                                       gauss_distribution, gauss_variance],  # sigma = exp(100) overflows
    ex.check_code_entropy: [entropy_sum_of_k, entropy_ten_way, entropy_package, entropy_with_noise,
                            entropy_log_of_n_times_range],
    ex.check_mutual_info_bound: [bound_mean_over_codes, bound_first_code_only, bound_categorical_entropy_only,
                                 bound_sum_continuous, bound_detached_mean, bound_package, bound_in_place,
                                 bound_per_image_sigma, bound_distribution],  # these two form sigma = exp(100) = inf
    ex.check_traversal_codes: [trav_float_categories, trav_int32_categories, trav_edits_base, trav_package,
                               trav_off_by_one, trav_reversed, trav_fresh_noise],
    ex.check_matched_accuracy: [match_greedy, match_balanced, match_minimised, match_package, match_label_majority,
                                match_percent],
    ex.check_per_code_info: [per_code_over_codes, per_code_total_entropy, per_code_unit_range, per_code_sum_batch,
                             per_code_std_not_log, per_code_clamps_input,
                             per_code_distribution],  # forms sigma = exp(100) = inf: the statement says never
    ex.check_generator_objective: [g_detached_logit, g_bce_zero_target, g_mean_over_codes, g_item_info,
                                   g_one_lambda, g_sum_adversarial],
    ex.check_control_info_loss: [control_frozen_body, control_eval_mode, control_images_detached_only,
                                 control_detached_q, control_reseeds, control_detached_leaf],
    ex.check_per_class_accuracy: [per_class_integer_division, per_class_over_total, per_class_row_max,
                                  per_class_edits_input, per_class_transposed, per_class_percent],
    ex.check_invariant_information: [iic_not_symmetric, iic_marginals_from_p, iic_by_k, iic_joint_entropy,
                                     iic_bits, iic_package, iic_image_by_image],
}


def _pairs(table):
    return [(c, f) for c, fs in table.items() for f in fs]


@pytest.mark.parametrize("checker, answer", _pairs(RIGHT), ids=lambda v: getattr(v, "__name__", ""))
def test_right_answer_written_another_way_passes(checker, answer, capsys):
    result = checker(answer)
    assert result.passed, result.message


@pytest.mark.parametrize("checker, answer", _pairs(WRONG), ids=lambda v: getattr(v, "__name__", ""))
def test_wrong_answer_fails_and_raises_when_graded(checker, answer, capsys):
    state = random.getstate(), torch.get_rng_state()
    assert not checker(answer).passed
    with pytest.raises(ex.ExerciseFailed):
        checker(answer, graded=True)
    assert random.getstate() == state[0] and torch.equal(torch.get_rng_state(), state[1])  # restored


def test_at_least_five_wrong_and_two_right_answers_per_checker():
    assert set(RIGHT) == set(WRONG) and len(RIGHT) == 11
    assert min(map(len, WRONG.values())) >= 5 and min(map(len, RIGHT.values())) >= 2
