"""Issue 25, after the blind student: what the round left (sigma formed in ex4 and ex7, a one-step traversal that
is a view of base, a thread stuck in C that slowed the next check, the notebook's own alarm, four misleading
messages), and a fresh set of wrong answers written from the statements."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import infogan_tutorial.exercises as ex
from infogan_tutorial.latent_codes import Codes
from infogan_tutorial.objectives import info_loss, log_q

BOOK = Path(__file__).resolve().parents[1] / "book"


def _statement(notebook: str, label: str) -> str:
    cells = json.loads((BOOK / notebook).read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells
                if c["cell_type"] == "markdown" and f":label: {label}\n" in "".join(c["source"]))


def _gll(c, m, s):
    return -0.5 * math.log(2 * math.pi) - s - 0.5 * ((c - m) * torch.exp(-s)) ** 2


def _h(spec):
    low, high = spec.continuous_range
    return sum(math.log(k) for k in spec.categorical) + spec.n_continuous * math.log(high - low)


def _cat(q, codes):
    return sum((-F.cross_entropy(lg, codes.categorical[:, i]) for i, lg in enumerate(q.logits)), torch.zeros(()))


# -- 1. never form sigma: ex4 and ex7 say and check what ex2 does ------------------------------------------

def bound_normal(q, codes, spec):
    cont = torch.distributions.Normal(q.mean, q.log_std.exp()).log_prob(codes.continuous).sum(1).mean()
    return _cat(q, codes) + cont + _h(spec)


def bound_divides_by_sigma(q, codes, spec):
    sigma = q.log_std.exp()
    ll = -0.5 * math.log(2 * math.pi) - q.log_std - 0.5 * ((codes.continuous - q.mean) / sigma) ** 2
    return _cat(q, codes) + ll.sum(1).mean() + _h(spec)


def per_code_normal(q, codes, spec):
    low, high = spec.continuous_range
    return torch.distributions.Normal(q.mean, q.log_std.exp()).log_prob(codes.continuous).mean(0) + math.log(high - low)


def per_code_log_sigma(q, codes, spec):
    low, high = spec.continuous_range
    sigma = torch.exp(q.log_std)
    ll = -0.5 * math.log(2 * math.pi) - torch.log(sigma) - 0.5 * ((codes.continuous - q.mean) / sigma) ** 2
    return ll.mean(0) + math.log(high - low)


@pytest.mark.parametrize("checker, answer, said", [
    (ex.check_mutual_info_bound, bound_normal, "Never form sigma"),
    (ex.check_mutual_info_bound, bound_divides_by_sigma, "gradient with respect to q.log_std holds nan"),
    (ex.check_per_code_info, per_code_normal, "Never form sigma"),
    (ex.check_per_code_info, per_code_log_sigma, "Never form sigma"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_an_answer_that_forms_sigma_is_refused_on_the_huge_sigma_case(checker, answer, said, capsys):
    result = checker(answer)
    assert not result.passed and "log_std = 100" in result.message and said in result.message, result.message


@pytest.mark.parametrize("notebook, label", [("08_exercises_foundations.ipynb", "ex-gaussian-log-likelihood"),
                                             ("08_exercises_foundations.ipynb", "ex-info-bound"),
                                             ("09_exercises_experiments.ipynb", "ex-third-code")])
def test_the_statements_with_a_gaussian_all_say_never_form_sigma(notebook, label):
    box = " ".join(_statement(notebook, label).split())
    assert "never form $\\sigma$" in box and "`log_std = 100`" in box, box


# -- 2. ex5: the result shares no memory with base (statement, hint, checker) --------------------------------

def trav_expand_z_reshape(spec, base, code, values):
    """The blind student's: right values, but z is a view of base.z when there is one step."""
    rows, steps = len(base), len(values)
    cat, cont = base.categorical.repeat_interleave(steps, 0), base.continuous.repeat_interleave(steps, 0)
    z = base.z[:, None].expand(rows, steps, base.z.shape[1]).reshape(rows * steps, -1)
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = values.repeat(rows).long()
    else:
        cont[:, i - spec.n_categorical] = values.repeat(rows).to(cont.dtype)
    return Codes(z, cat, cont)


def test_a_traversal_that_is_a_view_of_base_is_refused_as_the_statement_says(capsys):
    box = _statement("08_exercises_foundations.ipynb", "ex-traversal")
    assert "share memory with `base`" in box and "`reshape`" in box
    result = ex.check_traversal_codes(trav_expand_z_reshape)
    assert not result.passed and "one-step" in result.message, result.message
    assert "shares its memory with base.z" in result.message and "statement asks for new tensors" in result.message


# -- 3. a thread stuck in C, and the notebook's own alarm ----------------------------------------------------

def _per_class(confusion):
    c = np.asarray(confusion, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(c) / c.sum(axis=1)


def _leaves_a_sleeping_thread(confusion):
    threading.Thread(target=time.sleep, args=(20,), daemon=True).start()
    return _per_class(confusion)


def test_a_thread_left_sleeping_in_c_does_not_slow_the_next_check(capsys):
    """Found by the blind round: the next check waited 585 s for a time.sleep(600) (CPython 3.11 flags the stop
    request for the whole interpreter, and every profiled call spun on it until the thread woke)."""
    result = ex.check_per_class_accuracy(_leaves_a_sleeping_thread)
    assert not result.passed and "left a thread running" in result.message
    start = time.monotonic()
    assert ex.check_per_class_accuracy(_per_class).passed
    assert time.monotonic() - start < 8


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM on this system")
def test_the_notebooks_own_alarm_and_handler_survive_a_check(capsys):
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        signal.setitimer(signal.ITIMER_REAL, 60)
        assert ex.check_per_class_accuracy(_per_class).passed
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert signal.getsignal(signal.SIGALRM) is not previous and 0 < left <= 60  # still armed, own handler
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # runs out during the student's call: fires right after it

        def slow(confusion):
            time.sleep(0.2)
            return _per_class(confusion)

        assert ex.check_per_class_accuracy(slow).passed and fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- 4. messages that misled ---------------------------------------------------------------------------------

def _g(adversarial):
    def answer(fake_logit, q, codes, spec, lambda_cat, lambda_cont):
        lq = log_q(q, codes, spec)
        return adversarial(fake_logit) - lambda_cat * lq.categorical - lambda_cont * lq.continuous
    return answer


def control_head_left_in_eval(D, fake, codes, spec):
    D.q_head.eval()
    return info_loss(D.q_from_features(D.features(fake).detach()), codes, spec)


def control_head_in_eval_restored(D, fake, codes, spec):
    D.q_head.eval()
    q = D.q_from_features(D.features(fake).detach())
    D.q_head.train()
    return info_loss(q, codes, spec)


def control_float(D, fake, codes, spec):
    return float(info_loss(D.q_from_features(D.features(fake).detach()), codes, spec))


def test_log1p_of_exp_is_named_as_what_it_computes(capsys):
    result = ex.check_generator_objective(_g(lambda fl: torch.log1p(torch.exp(-fl)).mean()))
    assert not result.passed and "log(1 + exp(-fake_logit))" in result.message, result.message


@pytest.mark.parametrize("answer, said", [
    (control_head_left_in_eval, "it leaves D.q_head in eval mode"),
    (control_head_in_eval_restored, "Q's head ran in eval mode"),
    (control_float, "it returned a float, but the answer is a torch tensor"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_the_control_says_what_the_answer_did(answer, said, capsys):
    result = ex.check_control_info_loss(answer)
    assert not result.passed and said in result.message and "value differs" not in result.message, result.message


def test_the_checker_prints_no_warning_of_its_own_before_its_verdict(capsys):
    def gauss_edits_c(c, mean, log_std):
        c.sub_(mean)  # c becomes a non-leaf: reading its .grad warned
        return _gll(c + mean, mean, log_std)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ex.check_gaussian_log_likelihood(gauss_edits_c)
    assert not result.passed and "changed its inputs in place" in result.message, result.message
    assert not [w for w in caught if "exercises" in w.filename], [str(w.message) for w in caught]
    assert sys.getprofile() is None
