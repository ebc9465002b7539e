import math

import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import Codes, LatentSpec


def test_default_layout_is_the_papers_mnist_layout():
    spec = LatentSpec()
    assert (spec.noise_dim, spec.categorical, spec.n_continuous) == (62, (10,), 2)
    assert spec.code_dim == 12 and spec.input_dim == 74
    assert spec.categorical_entropy() == pytest.approx(math.log(10))
    assert spec.continuous_entropy() == pytest.approx(2 * math.log(2))
    assert spec.entropy() == pytest.approx(math.log(10) + 2 * math.log(2))
    assert spec.code_names() == ["c1", "c2", "c3"]


def test_entropy_of_a_non_default_layout():
    spec = LatentSpec(noise_dim=5, categorical=(3, 4), n_continuous=1, continuous_range=(0.0, 4.0))
    assert spec.categorical_entropy() == pytest.approx(math.log(12))
    assert spec.continuous_entropy() == pytest.approx(math.log(4))
    assert spec.input_dim == 5 + 3 + 4 + 1


def test_sample_shapes_ranges_and_reproducibility():
    spec = LatentSpec(noise_dim=7, categorical=(3, 5), n_continuous=2, continuous_range=(-0.5, 2.0))
    a = spec.sample(4000, torch.Generator().manual_seed(1))
    b = spec.sample(4000, torch.Generator().manual_seed(1))
    c = spec.sample(4000, torch.Generator().manual_seed(2))
    assert a.z.shape == (4000, 7) and a.categorical.shape == (4000, 2) and a.continuous.shape == (4000, 2)
    assert a.categorical.dtype == torch.int64
    assert torch.equal(a.z, b.z) and torch.equal(a.categorical, b.categorical)
    assert not torch.equal(a.z, c.z)
    assert a.categorical[:, 0].unique().tolist() == [0, 1, 2]
    assert a.categorical[:, 1].unique().tolist() == [0, 1, 2, 3, 4]
    assert a.continuous.min() >= -0.5 and a.continuous.max() <= 2.0
    assert abs(a.z.mean()) < 0.05 and abs(a.z.std() - 1) < 0.05


def test_to_input_is_z_then_one_hot_then_continuous():
    spec = LatentSpec(noise_dim=2, categorical=(3,), n_continuous=1)
    codes = Codes(torch.tensor([[0.5, -1.0]]), torch.tensor([[2]]), torch.tensor([[0.25]]))
    assert spec.to_input(codes).tolist() == [[0.5, -1.0, 0.0, 0.0, 1.0, 0.25]]


@pytest.mark.parametrize("kwargs, words", [
    ({"categorical": (1,)}, "at least 2 categories"),
    ({"noise_dim": -3}, "noise_dim"),
    ({"n_continuous": -1}, "n_continuous"),
    ({"continuous_range": (1.0, -1.0)}, "low < high"),
    ({"noise_dim": 0, "categorical": (), "n_continuous": 0}, "no inputs"),
])
def test_bad_spec_values_raise_a_clear_error(kwargs, words):
    with pytest.raises(SpecError, match=words):
        LatentSpec(**kwargs)


def test_codes_of_the_wrong_shape_or_range_raise():
    spec = LatentSpec()
    good = spec.sample(3)
    with pytest.raises(SpecError, match=r"codes.z has shape \(3, 10\)"):
        spec.to_input(Codes(torch.zeros(3, 10), good.categorical, good.continuous))
    with pytest.raises(SpecError, match="outside 0..K-1"):
        spec.to_input(Codes(good.z, torch.full((3, 1), 10), good.continuous))
    with pytest.raises(SpecError, match="n >= 1"):
        spec.sample(0)


def test_categorical_traversal_rows_share_noise_and_step_through_categories():
    spec = LatentSpec()
    t = spec.traversal("c1", rows=4, generator=torch.Generator().manual_seed(0))
    assert len(t) == 40
    z = t.z.view(4, 10, -1)
    assert torch.equal(z, z[:, :1].expand_as(z))
    assert not torch.equal(z[0, 0], z[1, 0])
    assert t.categorical[:, 0].view(4, 10).tolist() == [list(range(10))] * 4
    cont = t.continuous.view(4, 10, 2)
    assert torch.equal(cont, cont[:, :1].expand_as(cont))


def test_continuous_traversal_spans_minus_two_to_two_with_other_codes_fixed():
    spec = LatentSpec()
    t = spec.traversal("c3", rows=3, steps=5, generator=torch.Generator().manual_seed(0))
    assert t.continuous[:, 1].view(3, 5)[0].tolist() == pytest.approx([-2.0, -1.0, 0.0, 1.0, 2.0])
    c2 = t.continuous[:, 0].view(3, 5)
    assert torch.equal(c2, c2[:, :1].expand_as(c2))
    cat = t.categorical.view(3, 5)
    assert torch.equal(cat, cat[:, :1].expand_as(cat))


def test_traversal_of_an_unknown_code_raises():
    with pytest.raises(SpecError, match="unknown code 'c4'"):
        LatentSpec().traversal("c4")


def test_spec_round_trips_through_a_dict():
    spec = LatentSpec(noise_dim=3, categorical=[4, 2], n_continuous=1, continuous_range=[0, 1])
    assert LatentSpec.from_dict(spec.to_dict()) == spec


def test_noise_traversal_varies_one_noise_dimension_only():
    spec = LatentSpec()
    t = spec.noise_traversal(5, rows=2, steps=3, generator=torch.Generator().manual_seed(0))
    z = t.z.view(2, 3, 62)
    assert z[0, :, 5].tolist() == pytest.approx([-2.0, 0.0, 2.0])
    others = torch.cat([z[:, :, :5], z[:, :, 6:]], dim=2)
    assert torch.equal(others, others[:, :1].expand_as(others))
    assert torch.equal(t.categorical.view(2, 3), t.categorical.view(2, 3)[:, :1].expand(2, 3))
    with pytest.raises(SpecError, match="out of range"):
        spec.noise_traversal(62)
