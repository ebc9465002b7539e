import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import Discriminator, build_networks, eval_mode, frozen
from infogan_tutorial.objectives import info_loss

LAYOUTS = [LatentSpec(), LatentSpec(noise_dim=16, categorical=(4, 3), n_continuous=3, continuous_range=(0.0, 1.0)),
           LatentSpec(noise_dim=8, categorical=(), n_continuous=1)]


@pytest.mark.parametrize("spec", LAYOUTS)
def test_shapes_and_ranges_for_each_layout(spec):
    G, D = build_networks(spec, seed=0)
    codes = spec.sample(6, torch.Generator().manual_seed(0))
    x = G(codes)
    assert x.shape == (6, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1
    d, q = D(x)
    assert d.shape == (6,)
    assert [tuple(l.shape) for l in q.logits] == [(6, k) for k in spec.categorical]
    assert q.mean.shape == q.log_std.shape == (6, spec.n_continuous)
    assert G(spec.to_input(codes)).shape == (6, 1, 28, 28)


def test_q_shares_the_discriminator_body():
    D = Discriminator(LatentSpec())
    x = (torch.rand(4, 1, 28, 28) * 2 - 1).requires_grad_()
    h = D.features(x)
    assert h.shape == (4, 1024)
    D.eval()
    assert torch.equal(D.q(x).logits[0], D.q_from_features(D.features(x)).logits[0])


def test_fixed_std_makes_q_predict_only_a_mean():
    D = Discriminator(LatentSpec(), fixed_std=0.5)
    q = D.q(torch.rand(3, 1, 28, 28) * 2 - 1)
    assert torch.allclose(q.log_std, torch.full((3, 2), 0.5).log())
    with pytest.raises(SpecError, match="fixed_std"):
        Discriminator(LatentSpec(), fixed_std=0.0)


def test_wrong_input_shapes_raise():
    G, D = build_networks(LatentSpec(), seed=0)
    with pytest.raises(SpecError, match=r"\(N, 74\)"):
        G(torch.randn(2, 70))
    with pytest.raises(SpecError, match=r"unsqueeze\(1\)"):
        D(torch.randn(2, 28, 28))


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    G1, _ = build_networks(LatentSpec(), seed=5)
    assert torch.equal(before, torch.get_rng_state())
    G2, _ = build_networks(LatentSpec(), seed=5)
    G3, _ = build_networks(LatentSpec(), seed=6)
    p1, p2, p3 = (next(g.parameters()) for g in (G1, G2, G3))
    assert torch.equal(p1, p2) and not torch.equal(p1, p3)


def test_info_gradient_reaches_g_q_head_and_the_shared_body():
    spec = LatentSpec()
    G, D = build_networks(spec, seed=0)
    codes = spec.sample(8, torch.Generator().manual_seed(0))
    info_loss(D.q(G(codes)), codes, spec).backward()
    for name, module in {"G": G, "Q head": D.q_head, "shared body": D.body}.items():
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads and sum(float(g.abs().sum()) for g in grads) > 0, name
    assert all(p.grad is None for p in D.d_head.parameters())


def test_eval_mode_and_frozen_restore_what_they_change_even_on_error():
    spec = LatentSpec()
    G, D = build_networks(spec)
    D.d_head.requires_grad_(False)  # a part frozen by the caller stays frozen afterwards
    G.eval()
    with pytest.raises(RuntimeError, match="boom"):
        with eval_mode(G, D), frozen(D):
            assert not G.training and not D.training
            assert not any(p.requires_grad for p in D.parameters())
            raise RuntimeError("boom")
    assert not G.training and D.training
    assert all(p.requires_grad for p in D.body.parameters()) and not any(p.requires_grad for p in D.d_head.parameters())
    x = (torch.rand(4, 1, 28, 28) * 2 - 1).requires_grad_()
    with frozen(D):
        D(x)[0].sum().backward()
    assert all(p.grad is None for p in D.parameters())
