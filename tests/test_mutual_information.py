import math

import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.mutual_information import (bound_gap, conditional_entropy, entropy, fit_q,
                                                 gaussian_mixture_channel, info_bound, joint_distribution,
                                                 marginals, mutual_information, posterior, q_table,
                                                 symmetric_channel, symmetric_channel_information, uniform)


def binary_entropy(p):
    return -sum(v * math.log(v) for v in (p, 1 - p) if v > 0)


def test_entropy_of_a_uniform_code_is_ln_k_and_matches_the_spec():
    assert float(entropy(uniform(10))) == pytest.approx(math.log(10), abs=1e-12)
    assert float(entropy(uniform(10))) == pytest.approx(LatentSpec().categorical_entropy(), abs=1e-12)
    assert float(entropy([1.0, 0.0, 0.0])) == 0.0  # 0 log 0 = 0
    assert float(entropy([0.25, 0.75])) == pytest.approx(binary_entropy(0.25), abs=1e-12)


def test_independent_c_and_x_share_no_information():
    joint = torch.outer(torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64),
                        torch.tensor([0.1, 0.6, 0.3], dtype=torch.float64))
    assert float(mutual_information(joint)) == pytest.approx(0.0, abs=1e-12)
    assert float(conditional_entropy(joint)) == pytest.approx(float(entropy([0.2, 0.3, 0.5])), abs=1e-12)
    # the posterior of an independent pair is the prior, for every x
    assert torch.allclose(posterior(joint), torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64).expand(3, 3))


def test_a_deterministic_channel_gives_i_equal_h_c():
    prior = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    channel = torch.tensor([[0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]]).double()
    joint = joint_distribution(prior, channel)
    assert float(mutual_information(joint)) == pytest.approx(float(entropy(prior)), abs=1e-12)
    assert float(conditional_entropy(joint)) == pytest.approx(0.0, abs=1e-12)
    # x = 2 never happens: its posterior row is the prior, and it changes nothing
    assert torch.allclose(posterior(joint)[2], prior)


@pytest.mark.parametrize("p", [0.0, 0.05, 0.11, 0.3, 0.5])
def test_binary_symmetric_channel_closed_form(p):
    joint = joint_distribution(uniform(2), symmetric_channel(2, p))
    assert float(mutual_information(joint)) == pytest.approx(math.log(2) - binary_entropy(p), abs=1e-12)
    assert symmetric_channel_information(2, p) == pytest.approx(math.log(2) - binary_entropy(p), abs=1e-12)


def test_k_ary_symmetric_channel_matches_its_closed_form():
    for e in (0.0, 0.2, 0.9):
        joint = joint_distribution(uniform(10), symmetric_channel(10, e))
        assert float(mutual_information(joint)) == pytest.approx(symmetric_channel_information(10, e), abs=1e-12)
    # error 0.9 with K = 10 makes x uniform whatever c is
    assert symmetric_channel_information(10, 0.9) == pytest.approx(0.0, abs=1e-12)


def test_marginals_and_bad_inputs():
    joint = joint_distribution(uniform(2), symmetric_channel(2, 0.25))
    p_c, p_x = marginals(joint)
    assert torch.allclose(p_c, uniform(2)) and torch.allclose(p_x, uniform(2))
    with pytest.raises(SpecError, match="sum to 1"):
        mutual_information(torch.ones(2, 2))
    with pytest.raises(SpecError, match="shape"):
        info_bound(joint, torch.full((3, 2), 0.5))
    with pytest.raises(SpecError, match="row"):
        joint_distribution(uniform(2), torch.ones(2, 2))


@pytest.fixture
def noisy_joint():
    prior = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    channel = torch.tensor([[0.7, 0.2, 0.1, 0.0], [0.1, 0.6, 0.1, 0.2], [0.2, 0.2, 0.3, 0.3]], dtype=torch.float64)
    return joint_distribution(prior, channel)


def test_the_bound_is_tight_at_the_true_posterior(noisy_joint):
    i = float(mutual_information(noisy_joint))
    assert i > 0.1
    assert float(info_bound(noisy_joint, posterior(noisy_joint))) == pytest.approx(i, abs=1e-12)
    assert float(bound_gap(noisy_joint, posterior(noisy_joint))) == pytest.approx(0.0, abs=1e-12)


def test_a_wrong_q_gives_less_and_the_gap_is_the_expected_kl(noisy_joint):
    i = float(mutual_information(noisy_joint))
    post = posterior(noisy_joint)
    prior = noisy_joint.sum(1)
    flat = torch.full_like(post, 1 / 3)
    # a Q that ignores x: the prior gives L_I = 0, a uniform guess H(c) - ln K < 0
    assert float(info_bound(noisy_joint, prior.expand(4, 3))) == pytest.approx(0.0, abs=1e-12)
    assert float(info_bound(noisy_joint, flat)) == pytest.approx(float(entropy(prior)) - math.log(3), abs=1e-12)
    for t in (0.1, 0.5, 0.9):
        q = (1 - t) * post + t * flat
        bound = float(info_bound(noisy_joint, q))
        assert bound < i - 1e-4
        # E_x KL(P(.|x) || Q(.|x)) computed by hand
        p_x = noisy_joint.sum(0)
        kl = sum(float(p_x[m]) * sum(float(post[m, c]) * math.log(float(post[m, c] / q[m, c]))
                                     for c in range(3) if post[m, c] > 0) for m in range(4))
        assert float(bound_gap(noisy_joint, q)) == pytest.approx(kl, abs=1e-12)
        assert i - bound == pytest.approx(kl, abs=1e-12)


def test_a_q_that_is_zero_where_c_happens_has_bound_minus_infinity(noisy_joint):
    q = posterior(noisy_joint).clone()
    q[0] = torch.tensor([0.0, 0.5, 0.5]).double()  # x = 0 does come from c = 0
    assert float(info_bound(noisy_joint, q)) == -math.inf
    assert float(bound_gap(noisy_joint, q)) == math.inf


def test_fitting_q_raises_the_bound_to_the_information(noisy_joint):
    i = float(mutual_information(noisy_joint))
    fit = fit_q(noisy_joint, steps=300, lr=0.1)
    assert fit.history[0] == pytest.approx(0.0, abs=1e-12)  # the first Q is the prior
    assert len(fit.history) == 301
    assert fit.history[-1] > fit.history[50] > fit.history[0]
    assert fit.history[-1] == pytest.approx(i, abs=1e-3)
    assert max(fit.history) <= i + 1e-12
    assert torch.allclose(fit.q, posterior(noisy_joint), atol=0.02)
    assert float(info_bound(noisy_joint, fit.q)) == pytest.approx(fit.history[-1], abs=1e-12)


def test_monte_carlo_fit_with_codes_from_the_prior_also_approaches_i(noisy_joint):
    i = float(mutual_information(noisy_joint))
    fit = fit_q(noisy_joint, steps=300, lr=0.05, samples_per_step=64, seed=0)
    assert fit.history[-1] > i - 0.02
    assert fit.history == fit_q(noisy_joint, steps=300, lr=0.05, samples_per_step=64, seed=0).history


def test_gaussian_mixture_channel_converges_and_a_linear_q_contains_the_posterior():
    means, std = [-2.0, 0.0, 2.0], 0.7
    coarse = torch.linspace(-7, 7, 561, dtype=torch.float64)
    fine = torch.linspace(-7, 7, 2241, dtype=torch.float64)
    i_coarse = float(mutual_information(joint_distribution(uniform(3), gaussian_mixture_channel(means, std, coarse))))
    i_fine = float(mutual_information(joint_distribution(uniform(3), gaussian_mixture_channel(means, std, fine))))
    assert 0.5 < i_fine < math.log(3)
    assert abs(i_fine - i_coarse) < 1e-4
    # equal-variance Gaussians: the posterior is a softmax of a linear function of x
    joint = joint_distribution(uniform(3), gaussian_mixture_channel(means, std, coarse))
    w = torch.tensor([means]).double() / std**2
    b = -torch.tensor(means).double() ** 2 / (2 * std**2)
    exact_q = q_table(coarse[:, None], w, b)
    assert float(info_bound(joint, exact_q)) == pytest.approx(i_coarse, abs=1e-4)
    fit = fit_q(joint, features=coarse[:, None], steps=400, lr=0.1)
    assert fit.history[-1] == pytest.approx(i_coarse, abs=5e-3)
