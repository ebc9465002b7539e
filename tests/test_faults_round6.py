"""Faults the fifth independent tester found (issue 26), each refused with a message that names the fix.

Every test fails on the code before the fix.
"""

from __future__ import annotations

import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.training import TrainConfig, create_state, fit


def digits(n: int = 4) -> torch.Tensor:
    images = torch.full((n, 1, 28, 28), -1.0)
    images[:, :, 8:20, 12:16] = 1.0
    return images


def test_fewer_images_than_one_batch_name_the_least_batch_size_fit_takes(tmp_path) -> None:
    """It said "batch_size must be an integer in 1..1" for one image, though a batch of 1 is refused."""
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu")
    with pytest.raises(SpecError, match=r"1 image\(s\) cannot fill one batch of 4 .*at least 2"):
        fit(state, digits(1), out_dir=tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists()
