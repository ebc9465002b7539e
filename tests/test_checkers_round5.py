"""Wrong answers a third blind student wrote that the checkers passed (issue 25), each refused now.

Global state an answer changes for the rest of the notebook (threads, NumPy's error handling, the working
folder, environment variables, torch's print options, monkey-patches of torch, F, NumPy), and a control
loss whose graph still reaches G's images or D's body with a gradient of 0.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
import pytest

import infogan_tutorial.exercises as ex
from infogan_tutorial.objectives import info_loss


def _threads(logits, c):
    torch.set_num_threads(torch.get_num_threads() + 1)  # a change wherever it runs (CI sets OMP_NUM_THREADS=1)
    return F.cross_entropy(logits, c)


def _seterr(logits, c):
    np.seterr(all="ignore")
    return F.cross_entropy(logits, c)


def _chdir(logits, c):
    os.chdir("/")
    return F.cross_entropy(logits, c)


def _environ(logits, c):
    os.environ["OMP_NUM_THREADS"] = str(torch.get_num_threads() + 7)  # a change, whatever CI's environment holds
    return F.cross_entropy(logits, c)


def _printoptions(logits, c):
    torch.set_printoptions(precision=2)
    return F.cross_entropy(logits, c)


def _flush_denormal(logits, c):
    torch.set_flush_denormal(True)
    return F.cross_entropy(logits, c)


def _patch_softmax(logits, c):
    F.softmax = lambda x, dim=None, **k: torch.zeros_like(x)
    return F.cross_entropy(logits, c)


def _right_with_a_submodule_import(logits, c):
    import torch.distributions as dist  # importing a submodule adds an attribute to torch: not a patch
    return -dist.Categorical(logits=logits).log_prob(c).mean()


@pytest.mark.parametrize("answer, said", [
    (_threads, "number of threads"), (_seterr, "np.seterr"), (_chdir, "working folder"),
    (_environ, "environment variables"), (_printoptions, "torch's print options"),
    (_patch_softmax, "monkey-patch"), (_flush_denormal, "torch.set_flush_denormal"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_global_state_left_changed_is_refused_and_put_back(answer, said):
    if answer is _flush_denormal and not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals (torch.set_flush_denormal returns False)")
    threads, err, cwd, env = torch.get_num_threads(), np.geterr(), os.getcwd(), dict(os.environ)
    softmax = F.softmax
    result = ex.check_categorical_info_loss(answer)
    assert not result.passed and said in result.message, result.message
    assert (torch.get_num_threads(), np.geterr(), os.getcwd(), dict(os.environ)) == (threads, err, cwd, env)
    assert F.softmax is softmax and torch._tensor_str.PRINT_OPTS.precision == 4
    assert torch.tensor(1e-310, dtype=torch.float64).mul(1.0).item() != 0.0  # denormals kept again


def test_a_right_answer_that_imports_a_submodule_passes():
    assert ex.check_categorical_info_loss(_right_with_a_submodule_import).passed


def _zero_times_h(D, fake, codes, spec):
    h = D.features(fake)
    return info_loss(D.q_from_features(h.detach() + 0 * h), codes, spec)


def _zeroing_hook(D, fake, codes, spec):
    h = D.features(fake)
    h.register_hook(lambda g: torch.zeros_like(g))
    return info_loss(D.q_from_features(h), codes, spec)


@pytest.mark.parametrize("answer", [_zero_times_h, _zeroing_hook], ids=lambda f: f.__name__)
def test_a_control_whose_graph_reaches_g_with_zeros_is_refused(answer):
    result = ex.check_control_info_loss(answer)
    assert not result.passed, result.message


def test_the_float64_log_sigmoid_that_overflows_past_the_old_extreme_case_is_refused():
    from infogan_tutorial.objectives import log_q

    def objective(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
        lq = log_q(q, codes, spec)
        adv = -torch.log(torch.sigmoid(fake_logit.double())).mean().to(fake_logit.dtype)
        return adv - lambda_cat * lq.categorical - lambda_cont * lq.continuous

    result = ex.check_generator_objective(objective)
    assert not result.passed and "-1000" in result.message, result.message


def test_a_float64_log_sum_exp_without_the_max_shift_is_refused():
    from infogan_tutorial.objectives import log_q

    def bound(q, codes, spec):
        cat = torch.zeros((), dtype=torch.float64)
        for k, logits in enumerate(q.logits):
            d = logits.double()
            picked = d.gather(1, codes.categorical[:, k:k + 1]).squeeze(1)
            cat = cat + (picked - torch.log(torch.exp(d).sum(1))).mean()
        cont = log_q(q, codes, spec).continuous
        return (cat.float() + spec.categorical_entropy()) + (cont + spec.entropy() - spec.categorical_entropy())

    assert not ex.check_mutual_info_bound(bound).passed


@pytest.mark.parametrize("wrap, said", [(lambda r: np.array(list(r), dtype=object), "of object values"),
                                        (np.ma.masked_invalid, "masked array")])
def test_per_class_accuracy_must_be_a_plain_array_of_numbers(wrap, said):
    def answer(confusion):
        confusion = np.asarray(confusion, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return wrap(np.diag(confusion) / confusion.sum(1))

    result = ex.check_per_class_accuracy(answer)
    assert not result.passed and said in result.message, result.message


def _reset_stats(D, fake, codes, spec):
    for m in D.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def _momentum_one(D, fake, codes, spec):
    for m in D.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = 1.0
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def _two_passes(D, fake, codes, spec):
    D.features(fake)
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def _right_with_no_grad(D, fake, codes, spec):
    with torch.no_grad():
        h = D.features(fake)
    return info_loss(D.q_from_features(h), codes, spec)


@pytest.mark.parametrize("answer, said", [(_reset_stats, "running statistics"), (_momentum_one, "momentum"),
                                          (_two_passes, "runs D's body 2 times")], ids=lambda v: getattr(v, "__name__", ""))
def test_a_control_that_changes_d_s_batch_norms_is_refused(answer, said):
    result = ex.check_control_info_loss(answer)
    assert not result.passed and said in result.message, result.message


def test_a_right_control_passes():
    assert ex.check_control_info_loss(_right_with_no_grad).passed


# -- the fourth blind student's passes (issue 25) ----------------------------------------------------------------


def _entropy_of_distinct_k(spec):
    import math
    low, high = spec.continuous_range
    return sum(math.log(k) for k in set(spec.categorical)) + spec.n_continuous * math.log(high - low)


def _entropy_patching_the_spec(spec):
    import math

    from infogan_tutorial.latent_codes import LatentSpec
    LatentSpec.entropy = lambda self: 0.0
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def _matched_dropping_large_labels(clusters, labels):
    from scipy.optimize import linear_sum_assignment
    k = int(clusters.max()) + 1
    counts = np.zeros((k, k))
    for a, b in zip(clusters, labels):
        if b < k:
            counts[a, b] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def _rewired_features(D, fake, codes, spec):
    original = D.features
    D.features = lambda x: original(x).detach()
    return info_loss(D.q_from_features(D.features(fake)), codes, spec)


def _seterr_then_divide(confusion):
    np.seterr(all="ignore")
    m = np.asarray(confusion, dtype=np.float64)
    from scipy.optimize import linear_sum_assignment
    rows, cols = linear_sum_assignment(m, maximize=True)
    return m[rows, cols] / m.sum(axis=1)


def _recursion_limit(logits, c):
    import sys
    sys.setrecursionlimit(sys.getrecursionlimit() + 123)  # (the student's 50 would stop pytest's own deep stack)
    return F.cross_entropy(logits, c)


def _in_place_after_use(logits, c):
    out = F.cross_entropy(logits, c)
    c.add_(0)  # autograd saved c: backward() now fails
    return out


@pytest.mark.parametrize("check, answer, said", [
    ("check_code_entropy", _entropy_of_distinct_k, "two 10-way codes"),
    ("check_code_entropy", _entropy_patching_the_spec, "attributes of LatentSpec"),
    ("check_matched_accuracy", _matched_dropping_large_labels, "labels 8 and 9"),
    ("check_control_info_loss", _rewired_features, "it sets D.features"),
    ("check_per_class_accuracy", _seterr_then_divide, "np.seterr"),
    ("check_categorical_info_loss", _recursion_limit, "recursion limit"),
    ("check_categorical_info_loss", _in_place_after_use, "gradient could not be computed"),
], ids=lambda v: getattr(v, "__name__", str(v)[:20]))
def test_the_fourth_blind_students_passes_are_refused(check, answer, said):
    import sys

    from infogan_tutorial.latent_codes import LatentSpec
    entropy, limit, err = LatentSpec.entropy, sys.getrecursionlimit(), np.geterr()
    result = getattr(ex, check)(answer)
    assert not result.passed and said in result.message, result.message
    assert LatentSpec.entropy is entropy and sys.getrecursionlimit() == limit and np.geterr() == err
