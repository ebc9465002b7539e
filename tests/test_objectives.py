import math

import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import QOutput
from infogan_tutorial.objectives import (discriminator_loss, gaussian_log_likelihood, generator_loss,
                                         info_lower_bound, info_loss, invariant_information, log_q,
                                         real_information)

SPEC = LatentSpec()


def perfect_q(codes, spec=SPEC):
    logits = [torch.nn.functional.one_hot(codes.categorical[:, i], k).float() * 100
              for i, k in enumerate(spec.categorical)]
    return QOutput(logits, codes.continuous.clone(), torch.full_like(codes.continuous, -3.0))


def test_perfect_q_gives_the_entropy_of_the_categorical_code():
    codes = SPEC.sample(256, torch.Generator().manual_seed(0))
    bound = info_lower_bound(perfect_q(codes), codes, SPEC)
    assert float(bound.categorical) == pytest.approx(math.log(10), abs=1e-6)


def test_uninformative_q_gives_zero():
    codes = SPEC.sample(256, torch.Generator().manual_seed(0))
    q = QOutput([torch.zeros(256, 10)], torch.zeros(256, 2), torch.zeros(256, 2))
    bound = info_lower_bound(q, codes, SPEC)
    assert float(bound.categorical) == pytest.approx(0.0, abs=1e-6)


def test_two_categorical_codes_add_their_entropies():
    spec = LatentSpec(noise_dim=4, categorical=(3, 5), n_continuous=0)
    codes = spec.sample(64, torch.Generator().manual_seed(0))
    assert float(info_lower_bound(perfect_q(codes, spec), codes, spec).categorical) == pytest.approx(math.log(15))


def test_continuous_bound_is_log_likelihood_plus_differential_entropy():
    codes = SPEC.sample(512, torch.Generator().manual_seed(0))
    q = QOutput([torch.zeros(512, 10)], torch.zeros(512, 2), torch.zeros(512, 2))
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(codes.continuous).sum(1).mean() + 2 * math.log(2)
    assert float(info_lower_bound(q, codes, SPEC).continuous) == pytest.approx(float(expected), rel=1e-6)
    assert float(info_lower_bound(perfect_q(codes), codes, SPEC).continuous) > float(expected) + 5


def test_gaussian_log_likelihood_matches_torch_distributions():
    c, mean, log_std = torch.randn(3, 50).unbind(0)
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(c)
    assert torch.allclose(gaussian_log_likelihood(c, mean, log_std), expected, atol=1e-6)


def test_info_loss_weights_each_code_type():
    codes = SPEC.sample(32, torch.Generator().manual_seed(0))
    q = QOutput([torch.randn(32, 10)], torch.randn(32, 2), torch.randn(32, 2) * 0.1)
    lq = log_q(q, codes, SPEC)
    loss = info_loss(q, codes, SPEC, lambda_cat=2.0, lambda_cont=0.5)
    assert float(loss) == pytest.approx(float(-(2.0 * lq.categorical + 0.5 * lq.continuous)), rel=1e-6)


def test_adversarial_losses_at_chance():
    zeros = torch.zeros(8)
    assert float(discriminator_loss(zeros, zeros)) == pytest.approx(2 * math.log(2))
    assert float(generator_loss(zeros)) == pytest.approx(math.log(2))
    assert float(discriminator_loss(torch.full((8,), 20.0), torch.full((8,), -20.0))) < 1e-6


def test_q_output_of_the_wrong_shape_raises():
    codes = SPEC.sample(8)
    with pytest.raises(SpecError, match=r"logits for c1 have shape \(8, 9\)"):
        log_q(QOutput([torch.zeros(8, 9)], torch.zeros(8, 2), torch.zeros(8, 2)), codes, SPEC)
    with pytest.raises(SpecError, match="categorical heads"):
        log_q(QOutput([], torch.zeros(8, 2), torch.zeros(8, 2)), codes, SPEC)
    with pytest.raises(SpecError, match="mean has shape"):
        log_q(QOutput([torch.zeros(8, 10)], torch.zeros(8, 3), torch.zeros(8, 2)), codes, SPEC)


def _q(logits: torch.Tensor) -> QOutput:
    return QOutput([logits], torch.zeros(len(logits), 0), torch.zeros(len(logits), 0))


def test_real_information_is_ln_k_for_sure_and_balanced_assignments():
    logits = 50.0 * torch.eye(10).repeat(3, 1)  # 30 images, each sure of its category, all used equally
    assert real_information(_q(logits)).item() == pytest.approx(math.log(10), abs=1e-4)


def test_real_information_is_zero_for_unsure_or_collapsed_assignments():
    assert real_information(_q(torch.zeros(8, 10))).item() == pytest.approx(0.0, abs=1e-6)  # unsure
    collapsed = torch.zeros(8, 10)
    collapsed[:, 3] = 50.0  # sure, but every image in one category
    assert real_information(_q(collapsed)).item() == pytest.approx(0.0, abs=1e-4)


def test_real_information_lies_between_zero_and_ln_k_and_has_a_gradient():
    logits = torch.randn(64, 10, generator=torch.Generator().manual_seed(0), requires_grad=True)
    value = real_information(_q(logits))
    assert 0.0 <= value.item() <= math.log(10)
    value.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_real_information_adds_over_categorical_codes():
    a, b = 50.0 * torch.eye(4).repeat(2, 1), 50.0 * torch.eye(2).repeat(4, 1)
    q = QOutput([a, b], torch.zeros(8, 0), torch.zeros(8, 0))
    assert real_information(q).item() == pytest.approx(math.log(4) + math.log(2), abs=1e-4)


def test_invariant_information_is_ln_k_when_moves_keep_sure_balanced_categories():
    logits = 50.0 * torch.eye(10).repeat(3, 1)
    assert invariant_information(_q(logits), _q(logits.clone())).item() == pytest.approx(math.log(10), abs=1e-4)


def test_invariant_information_is_zero_when_the_moved_copy_is_independent_or_unsure():
    sure = 50.0 * torch.eye(10).repeat(10, 1)  # 100 images, 10 per category
    shuffled = 50.0 * torch.eye(10).repeat_interleave(10, dim=0)  # copies' categories independent of the originals
    assert invariant_information(_q(sure), _q(shuffled)).item() == pytest.approx(0.0, abs=1e-4)
    assert invariant_information(_q(sure), _q(torch.zeros(100, 10))).item() == pytest.approx(0.0, abs=1e-5)


def test_invariant_information_is_bounded_has_a_gradient_and_checks_shapes():
    rng = torch.Generator().manual_seed(0)
    a = torch.randn(64, 10, generator=rng, requires_grad=True)
    value = invariant_information(_q(a), _q(a.detach() + 0.3 * torch.randn(64, 10, generator=rng)))
    assert 0.0 <= value.item() <= math.log(10)
    value.backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    with pytest.raises(SpecError, match="same images"):
        invariant_information(_q(torch.zeros(8, 10)), _q(torch.zeros(6, 10)))
