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


def test_a_read_only_checkpoint_is_refused_before_any_step_is_trained(tmp_path) -> None:
    """It trained the resumed steps, then refused to replace the read-only file: the new steps were lost."""
    import os

    from infogan_tutorial.errors import CheckpointError
    from infogan_tutorial.training import resume_state

    first = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4, log_every=1), "cpu")
    fit(first, digits(8), out_dir=tmp_path, progress=False)
    path = tmp_path / "checkpoint.pt"
    os.chmod(path, 0o444)
    again = resume_state(path, "cpu", steps=3)
    with pytest.raises(CheckpointError, match="read-only"):
        fit(again, digits(8), out_dir=tmp_path, progress=False)
    assert again.step == 1  # refused before the first step
    os.chmod(path, 0o644)


def test_to_png_refuses_a_zoom_that_would_exhaust_memory_and_images_it_cannot_draw() -> None:
    """zoom=10000 asked for about 78 GB (the tester's process was killed); 0, 1.5 and 3-d images were PIL errors."""
    from infogan_tutorial.explorer import MAX_ZOOM, to_png

    for zoom in (10_000, MAX_ZOOM + 1, 0, -1, 1.5, True):
        with pytest.raises(SpecError, match="zoom must be a whole number"):
            to_png(torch.zeros(28, 28), zoom=zoom)
    with pytest.raises(SpecError, match=r"shape \(H, W\)"):
        to_png(torch.zeros(1, 28, 28))
    with pytest.raises(SpecError, match="NaN or infinite"):
        to_png(torch.full((28, 28), float("nan")))
    assert to_png(torch.zeros(28, 28), zoom=2).startswith(b"\x89PNG")


def test_info_loss_refuses_weights_no_config_takes_and_an_empty_batch() -> None:
    """It returned NaN, inf or a negative loss for lambda = nan, inf or -1, and NaN for an empty batch."""
    from infogan_tutorial.networks import QOutput
    from infogan_tutorial.objectives import info_loss

    spec = LatentSpec()
    codes = spec.sample(4, torch.Generator().manual_seed(0))
    q = QOutput([torch.zeros(4, 10)], torch.zeros(4, 2), torch.zeros(4, 2))
    for bad in (float("nan"), float("inf"), -1.0, "1", True):
        with pytest.raises(SpecError, match="lambda_cat must be a finite number >= 0"):
            info_loss(q, codes, spec, lambda_cat=bad)
    from infogan_tutorial.latent_codes import Codes
    none = Codes(torch.zeros(0, 62), torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, 2))
    with pytest.raises(SpecError, match="the batch is empty"):
        info_loss(QOutput([torch.zeros(0, 10)], torch.zeros(0, 2), torch.zeros(0, 2)), none, spec)
    assert torch.isfinite(info_loss(q, codes, spec))


def test_g_and_d_refuse_inputs_their_layers_would_reject_with_torch_s_own_errors() -> None:
    """float64, int64 or NumPy z, float64 or uint8 images, None, and one image in training mode were raw
    RuntimeErrors, AttributeErrors or batch norm's ValueError."""
    from infogan_tutorial.latent_codes import Codes
    from infogan_tutorial.networks import build_networks

    spec = LatentSpec()
    G, D = build_networks(spec, None, seed=0)
    codes = spec.sample(4, torch.Generator().manual_seed(0))
    for z, match in ((codes.z.double(), "G computes in torch.float32 but got codes of dtype torch.float64"),
                     (codes.z.long(), "codes.z must hold floating-point numbers"),
                     (codes.z.numpy(), "codes.z must be a torch tensor, got ndarray")):
        with pytest.raises(SpecError, match=match):
            G(Codes(z, codes.categorical, codes.continuous))
    with pytest.raises(SpecError, match="G takes a Codes batch"):
        G(None)
    images = G(codes).detach()
    for x, match in ((images.double(), "D computes in torch.float32 but got images of dtype torch.float64"),
                     (images.to(torch.uint8), "torch.uint8"),
                     (images.numpy(), "D takes a torch tensor"),
                     (images[:1], "training mode, where batch norm needs at least 2 images")):
        with pytest.raises(SpecError, match=match):
            D(x)
    with pytest.raises(SpecError, match="at least 2 codes"):
        G(spec.sample(1, torch.Generator().manual_seed(1)))
    G.eval(), D.eval()
    assert G(spec.sample(1, torch.Generator().manual_seed(1))).shape == (1, 1, 28, 28)
    assert D(images[:1])[0].shape == (1,)


def test_learning_rates_and_step_counts_that_are_no_numbers_are_refused_by_name() -> None:
    """fit_q(lr=nan) and recover_codes(lr=-1 or nan) were Adam's 'Invalid learning rate'; traversal_values(steps=0)
    returned [] where traverse refuses fewer than 2 steps."""
    from infogan_tutorial.code_recovery import recover_codes
    from infogan_tutorial.figures import traversal_values
    from infogan_tutorial.mutual_information import fit_q, symmetric_channel
    from infogan_tutorial.networks import build_networks

    with pytest.raises(SpecError, match="a finite lr > 0"):
        fit_q(symmetric_channel(4, 0.3) / 4, lr=float("nan"))
    G, _ = build_networks(LatentSpec(), None, seed=0)
    for lr in (-1.0, float("nan"), "0.1"):
        with pytest.raises(SpecError, match="lr must be a finite number > 0"):
            recover_codes(G, steps=1, lr=lr)
    for steps in (0, 1, 2.5):
        with pytest.raises(SpecError, match="steps must be a whole number >= 2"):
            traversal_values(LatentSpec(), "c2", steps=steps)
    assert traversal_values(LatentSpec(), "c2", steps=2) == [-2.0, 2.0]
