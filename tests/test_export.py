"""Compact exports (fp16, int8, int4): smaller files that load back to close weights and images."""

import pytest
import torch

from infogan_tutorial.checkpoints import load_networks
from infogan_tutorial.quantize import INT4_GROUP, QUANTIZE_MIN_SIZE
from infogan_tutorial.errors import CheckpointError, SpecError
from infogan_tutorial.export import export_model
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.training import TrainConfig, create_state, fit, resume_state, save_checkpoint



def test_exported_model_is_compact_loads_and_cannot_resume(tmp_path):
    state = create_state(LatentSpec(), TrainConfig(steps=1), "cpu")
    save_checkpoint(state, tmp_path / "full.pt")
    export_model(state, tmp_path / "model.pt")
    assert (tmp_path / "model.pt").stat().st_size < 0.55 * (tmp_path / "full.pt").stat().st_size
    spec, G, D = load_networks(tmp_path / "model.pt")
    assert spec == LatentSpec() and not G.training
    assert torch.allclose(next(G.parameters()), next(state.G.parameters()), atol=1e-3)
    with pytest.raises(CheckpointError, match="only weights"):
        resume_state(tmp_path / "model.pt")


def test_int8_export_halves_the_size_and_keeps_weights_and_images(images, tmp_path):
    state = create_state(LatentSpec(), TrainConfig(steps=3, batch_size=16), "cpu")
    fit(state, images[:64], progress=False)
    export_model(state, tmp_path / "fp16.pt")
    export_model(state, tmp_path / "int8.pt", int8=True)
    fp16_size, int8_size = ((tmp_path / f"{n}.pt").stat().st_size for n in ("fp16", "int8"))
    assert int8_size < 0.55 * fp16_size
    _, G, D = load_networks(tmp_path / "int8.pt")
    for mine, theirs in ((G, state.G), (D, state.D)):
        for (name, w), w0 in zip(mine.state_dict().items(), theirs.state_dict().values()):
            if w.dim() >= 2:  # at most half a quantisation step (|w| max / 127 per row) away
                bound = w0.reshape(w0.shape[0], -1).abs().amax(1) / 254 + 1e-3 * w0.abs().max()
                assert ((w - w0).reshape(w0.shape[0], -1).abs().amax(1) <= bound).all(), name
    state.G.eval()
    codes = state.spec.sample(32, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (G(codes) - state.G(codes)).abs().max() < 0.05
    export_model(tmp_path / "int8.pt", tmp_path / "again.pt")  # an int8 file re-exports (here to fp16)
    _, G2, _ = load_networks(tmp_path / "again.pt")
    assert torch.allclose(G2.state_dict()["fc.3.weight"], G.state_dict()["fc.3.weight"], atol=1e-3)


def test_int4_export_quarters_the_size_and_keeps_weights_and_images(images, tmp_path):
    state = create_state(LatentSpec(), TrainConfig(steps=3, batch_size=16), "cpu")
    fit(state, images[:64], progress=False)
    export_model(state, tmp_path / "fp16.pt")
    export_model(state, tmp_path / "int4.pt", int4=True)
    assert (tmp_path / "int4.pt").stat().st_size < 0.3 * (tmp_path / "fp16.pt").stat().st_size
    _, G, D = load_networks(tmp_path / "int4.pt")
    for mine, theirs in ((G, state.G), (D, state.D)):
        for (name, w), w0 in zip(mine.state_dict().items(), theirs.state_dict().values()):
            if w0.numel() >= QUANTIZE_MIN_SIZE:  # at most half a step (max |w| / 7 per group of 64) away
                groups, error = w0.reshape(-1, INT4_GROUP), (w - w0).reshape(-1, INT4_GROUP)
                assert (error.abs().amax(1) <= groups.abs().amax(1) / 14 * 1.01 + 1e-6).all(), name
    state.G.eval()
    codes = state.spec.sample(32, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (G(codes) - state.G(codes)).abs().max() < 0.2
    export_model(tmp_path / "int4.pt", tmp_path / "again.pt", int4=True)  # re-exporting an int4 file keeps it
    _, G2, _ = load_networks(tmp_path / "again.pt")
    assert torch.allclose(G2.state_dict()["fc.3.weight"], G.state_dict()["fc.3.weight"], atol=1e-6)
    with pytest.raises(SpecError, match="int8 or int4"):
        export_model(state, tmp_path / "both.pt", int8=True, int4=True)
