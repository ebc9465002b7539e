"""The sixth tester's findings left open (issue 26): API calls that gave a raw traceback, went on silently or
seemed to hang. Each now raises the package's error with what was wrong and how to fix it."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from infogan_tutorial import data, figures, mutual_information, objectives, web_export
from infogan_tutorial.code_recovery import recover_codes
from infogan_tutorial.config import TrainConfig
from infogan_tutorial.errors import DataError, SpecError
from infogan_tutorial.evaluation import estimate_info_bound
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks

SPEC = LatentSpec()
WIDER = LatentSpec(noise_dim=62, categorical=(10,), n_continuous=2, continuous_range=(-2.0, 2.0))


@pytest.fixture(scope="module")
def nets():
    return build_networks(SPEC, seed=0)


def test_wrong_types_are_named():
    with pytest.raises(DataError, match="needs a folder"):
        data.load_idx_folder(None)
    with pytest.raises(DataError, match="torch.Tensor, got ndarray"):
        data.ShuffledBatches(np.zeros((10, 1, 28, 28), np.float32), 4, seed=0)
    with pytest.raises(SpecError, match="needs a LogQ"):
        objectives.info_term(None)
    with pytest.raises(SpecError, match="torch.int64 values; logits are real numbers"):
        objectives.discriminator_loss(torch.tensor([1, 2]), torch.tensor([0.0, 1.0]))
    with pytest.raises(SpecError, match="empty dict"):
        TrainConfig.from_dict({})


def test_sizes_that_would_exhaust_the_machine_are_refused_at_once(nets):
    with pytest.raises(SpecError, match="at most 100,000,000"):
        mutual_information.uniform(10**10)
    for n in (10**9, -1, 1.5, True):
        with pytest.raises(SpecError, match="seeded_noise: n"):
            web_export.seeded_noise(0, n)
    with pytest.raises(SpecError, match="at most 10,000,000"):
        estimate_info_bound(nets[0], nets[1], SPEC, n=10**8)
    assert web_export.seeded_noise(3, 0).shape == (0,) and torch.equal(web_export.seeded_noise(3, 5),
                                                                        web_export.seeded_noise(3, 7)[:5])


def test_a_spec_other_than_g_s_own_is_refused_not_misread(nets):
    G = nets[0]
    assert WIDER.input_dim == SPEC.input_dim  # the same width: G would read it silently
    with pytest.raises(SpecError, match="not the one G was built for"):
        web_export.render_web(G, WIDER, 1, 0.0, 0.0, 0)
    with pytest.raises(SpecError, match="not the one G was built for"):
        recover_codes(G, WIDER, steps=1)
    with pytest.raises(SpecError, match="not the one G was built for"):
        estimate_info_bound(G, nets[1], WIDER, n=10)
    assert web_export.render_web(G, SPEC, 1, 0.0, 0.0, 0).shape == (28, 28)


def test_the_page_s_weights_refuse_nan():
    with pytest.raises(SpecError, match="holds NaN or inf"):
        web_export.encode_tensor(torch.tensor([1.0, float("nan")]))
    with pytest.raises(SpecError, match="needs a torch.Tensor"):
        web_export.encode_tensor([1.0])


def test_export_onnx_checks_its_opset_and_path_before_writing(nets, tmp_path):
    pytest.importorskip("onnx")
    with pytest.raises(SpecError, match="opset must be an int from 7 to 20"):
        web_export.export_onnx(nets[0], tmp_path / "G.onnx", opset=99)
    fifo = tmp_path / "G.onnx"
    os.mkfifo(fifo)  # the exporter would block on it forever
    with pytest.raises(SpecError, match="is a FIFO"):
        web_export.export_onnx(nets[0], fifo)
    notes = tmp_path / "notes.onnx"
    notes.write_text("my notes")
    with pytest.raises(SpecError, match="not an ONNX model"):
        web_export.export_onnx(nets[0], notes)
    assert notes.read_text() == "my notes"
    with pytest.raises(SpecError, match="must end in .onnx"):
        web_export.export_onnx(nets[0], tmp_path / "G.pt")


def test_a_description_is_only_added_to_a_png():
    with pytest.raises(SpecError, match="bytes of a PNG image"):
        figures.png_with_description(b"GIF89a" + bytes(40), "digits")
    with pytest.raises(SpecError, match="must be a str"):
        figures.png_with_description(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(17), None)


def test_export_refuses_a_name_of_another_format_before_training(tmp_path, capsys):
    from infogan_tutorial.cli import main

    code = main(["train", "--profile", "smoke", "--out", str(tmp_path / "run"), "--export", str(tmp_path / "G.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and "writes a torch file" in err and "web_export --onnx" in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "G.onnx").exists()


def test_a_folder_named_like_an_idx_file_is_named_not_passed_over(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").mkdir()
    with pytest.raises(DataError, match="is a folder, where an IDX file of that name belongs"):
        data.load_idx_folder(tmp_path, "test")
    os.mkfifo(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(DataError, match="is a FIFO"):
        data.load_idx_folder(tmp_path, "train")


def test_a_command_that_fails_before_writing_leaves_none_of_the_folders_it_created(tmp_path):
    from infogan_tutorial.run_folder import owned
    from infogan_tutorial.web_export import main

    with pytest.raises(KeyboardInterrupt), owned(tmp_path / "a" / "b" / "run"):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), owned(tmp_path / "kept" / "run") as out:
        (tmp_path / "kept" / "notes.txt").write_text("mine")
        raise RuntimeError(out)
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["notes.txt"]
    assert main(["--out", str(tmp_path / "x" / "assets"), "--model-dir", str(tmp_path / "kept")]) == 2
    assert not (tmp_path / "x").exists()
