import math

import pytest
import torch
from torch import nn

from infogan_tutorial.code_recovery import RecoveryResult, recover_codes
from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import Codes, LatentSpec
from infogan_tutorial.networks import build_networks

SPEC = LatentSpec(noise_dim=8, categorical=(10,), n_continuous=1)


class PaintG(nn.Module):
    """Paints c1 as a bright 3x3 square at one of ten places on a noisy dark background.

    With ``use_code=False`` the square's place comes from the noise z instead, so the image
    carries nothing about c.
    """

    def __init__(self, spec: LatentSpec, use_code: bool = True) -> None:
        super().__init__()
        self.spec, self.use_code = spec, use_code
        self.brightness = nn.Parameter(torch.tensor(1.8))
        self.noise_scale = nn.Parameter(torch.tensor(0.1))

    def forward(self, codes: Codes) -> torch.Tensor:
        n = len(codes)
        where = codes.categorical[:, 0] if self.use_code else (codes.z[:, 0].abs() * 7).long() % 10
        img = torch.full((n, 1, 28, 28), -0.9) + self.noise_scale * codes.z[:, 1:2, None, None]
        for k in range(10):
            row, col = 4 + 10 * (k // 5), 2 + 5 * (k % 5)
            sel = (where == k).float()[:, None, None]
            img[:, 0, row:row + 3, col:col + 3] += self.brightness * sel
        return img.clamp(-1, 1)


def test_a_generator_that_paints_c1_is_read_back():
    """Measured on 2 CPU cores, seeds 0-2: accuracy 1.0, L_I 2.08 to 2.11 nats (ln 10 = 2.30)."""
    G = PaintG(SPEC)
    before = [p.detach().clone() for p in G.parameters()]
    result = recover_codes(G, SPEC, steps=40, batch_size=32, seed=0, n_eval=300, log_every=10)
    assert isinstance(result, RecoveryResult)
    assert result.c1_accuracy > 0.9
    assert result.chance == pytest.approx(0.1)
    assert result.entropy_cat == pytest.approx(math.log(10))
    assert result.info_cat > 0.75 * math.log(10)
    assert result.info_cat <= math.log(10)
    assert result.n_eval == 300
    assert result.history["step"] == [10, 20, 30, 40]
    assert result.history["info_cat"][-1] > result.history["info_cat"][0]
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))
    assert all(p.grad is None for p in G.parameters())


def test_a_generator_that_ignores_c_gives_chance_and_no_information():
    """Measured on 2 CPU cores, seeds 0-2: accuracy 0.10 to 0.12, L_I -0.02 to -0.01 nats."""
    result = recover_codes(PaintG(SPEC, use_code=False), SPEC, steps=40, batch_size=32, seed=0, n_eval=500)
    assert result.c1_accuracy < 0.2  # chance is 0.1; 500 samples: std about 0.013
    assert abs(result.info_cat) < 0.1
    assert result.info_cat < result.entropy_cat


def test_spec_defaults_to_g_spec_mode_is_kept_and_the_result_is_reproducible():
    G, _ = build_networks(LatentSpec(noise_dim=4), seed=0)
    G.train()
    a = recover_codes(G, steps=3, batch_size=8, n_eval=16, log_every=1, seed=1)
    b = recover_codes(G, steps=3, batch_size=8, n_eval=16, log_every=1, seed=1)
    assert G.training
    assert a.history == b.history and a.c1_accuracy == b.c1_accuracy and a.info_cat == b.info_cat
    assert a.history["step"] == [1, 2, 3]
    assert math.isfinite(a.info_cont)


def test_bad_arguments_raise():
    with pytest.raises(SpecError, match="no codes"):
        recover_codes(PaintG(LatentSpec(categorical=(), n_continuous=0)), steps=1)
    with pytest.raises(SpecError, match="LatentSpec"):
        recover_codes(nn.Identity(), steps=1)
    with pytest.raises(SpecError, match="batch_size"):
        recover_codes(PaintG(SPEC), batch_size=1)
