"""The seventh tester's findings (issue 26): about 790 tries, 0 data lost, 0 hangs; these were the rest."""

from __future__ import annotations

import gzip
import os
import shutil
import warnings

import numpy as np
import pytest
import torch

from infogan_tutorial.checkpoints import read_checkpoint, with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.data import SAMPLE_DIR, check_images, load_dataset, random_affine, read_idx
from infogan_tutorial.errors import CheckpointError, DataError, SpecError
from infogan_tutorial.export import export_model
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import Discriminator
from infogan_tutorial.quantize import dequantize_int4, quantize_int4
from infogan_tutorial.training import TrainConfig, create_state, fit, resume_state

SMOKE = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--no-figures", "--device", "cpu"]


def test_a_run_on_a_relative_data_folder_resumes_from_anywhere_and_after_a_move(tmp_path, monkeypatch, capsys):
    shutil.copytree(SAMPLE_DIR, tmp_path / "idx")
    monkeypatch.chdir(tmp_path)
    assert main(["train", *SMOKE, "--dataset", "idx", "--data-dir", "idx", "--eval-dir", "idx", "--out", "run",
                 "--steps", "1"]) == 0
    monkeypatch.chdir("/")
    assert main(["train", *SMOKE, "--out", str(tmp_path / "run"), "--resume", "--steps", "2"]) == 0
    (tmp_path / "idx").rename(tmp_path / "moved")
    capsys.readouterr()
    assert main(["train", *SMOKE, "--out", str(tmp_path / "run"), "--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "is not found from here" in err and "pass --data-dir with its path now" in err
    moved = str(tmp_path / "moved")
    assert main(["train", *SMOKE, "--out", str(tmp_path / "run"), "--resume", "--steps", "3", "--data-dir", moved,
                 "--eval-dir", moved]) == 0
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 3


def test_out_is_never_the_root_the_current_folder_or_a_folder_of_other_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for out, said in (("/", "the root folder"), (str(tmp_path), "the folder you are in"),
                      (f"{tmp_path}/sub/..", "the folder you are in")):
        assert main(["train", *SMOKE, "--out", out]) == 2
        assert said in capsys.readouterr().err
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("mine")
    assert main(["train", *SMOKE, "--out", str(tmp_path / "notes")]) == 2
    assert "already holds other files (thesis.tex)" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["thesis.tex"]


def test_no_info_refuses_the_lambdas_it_would_not_use(tmp_path, capsys):
    assert main(["train", *SMOKE, "--no-info", "--lambda-cat", "5", "--out", str(tmp_path / "run")]) == 2
    assert "--lambda-cat would be recorded but not used" in capsys.readouterr().err


def test_a_gzip_bomb_is_cut_at_the_declared_size(tmp_path):
    bomb = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (1000, 28, 28)))
        for _ in range(64):
            f.write(bytes(1 << 24))  # 1 GiB of zeros behind a header that declares 784,000 bytes
    with pytest.raises(DataError, match="784,000 data bytes, but the file holds more"):
        read_idx(bomb)
    assert read_idx(SAMPLE_DIR / "train-images-idx3-ubyte.gz").shape == (9000, 28, 28)


def test_shipped_files_changed_in_place_are_refused(tmp_path, monkeypatch):
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, copy)
    images = copy / "train-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(images.read_bytes()))
    raw[5000] ^= 0xFF  # one pixel, still a valid file
    images.write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setenv("INFOGAN_SAMPLE_DIR", str(copy))
    with pytest.raises(DataError, match="differs from the SHA-256"):
        load_dataset("sample", split="train", verbose=False)
    assert len(load_dataset("sample", split="test", verbose=False)) == 1000  # its t10k files are intact

    from infogan_tutorial.pretrained import PRETRAINED_DIR, gan_control_history
    shutil.copytree(PRETRAINED_DIR, tmp_path / "pretrained")
    history = tmp_path / "pretrained" / "gan-control-history.json"
    history.write_text(history.read_text().replace("3.", "9.", 1))
    with pytest.raises(CheckpointError, match="does not match its line in"):
        gan_control_history(tmp_path / "pretrained")


def test_evaluate_names_the_entropy_of_the_codes_it_scores(tmp_path, capsys):
    from infogan_tutorial.training import save_checkpoint
    state = create_state(LatentSpec(categorical=(5, 3)), TrainConfig(steps=1, batch_size=8), "cpu")
    save_checkpoint(state, tmp_path / "two.pt")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "two.pt"), "--n", "50"]) == 0
    out = capsys.readouterr().out
    assert "of H(the categorical codes c1..c2) = 2.708" in out and "H(c1) = 2.708" not in out


def test_weights_that_would_overflow_or_are_nan_are_refused(tmp_path):
    with pytest.raises(SpecError, match="finite number > 0"):
        Discriminator(LatentSpec(), fixed_std=float("nan"))
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=8), "cpu")
    with torch.no_grad():
        state.G.fc[0].weight[0, 0] = 1e6
    for kind in ({}, {"int8": True}, {"int4": True}):
        with pytest.raises(SpecError, match="does not fit the compact format"):
            export_model(state, tmp_path / "model.pt", **kind)
    assert not (tmp_path / "model.pt").exists()
    export_model(state, tmp_path / "model32.pt", dtype=torch.float32)
    ckpt = read_checkpoint(tmp_path / "model32.pt")
    ckpt["G"]["fc.0.weight"][0, 0] = float("nan")
    torch.save(with_checksum(ckpt), tmp_path / "nan.pt")  # intact by its checksum, NaN by its making
    with pytest.raises(CheckpointError, match="holds NaN or infinite values in G's fc.0.weight"):
        read_checkpoint(tmp_path / "nan.pt")


def test_api_wrong_inputs_say_what_was_wrong(tmp_path):
    with pytest.raises(CheckpointError, match="needs the path of a checkpoint"):
        resume_state(None)
    packed, scales = quantize_int4(torch.randn(64, 64))
    for shape in ((10, 10), None):
        with pytest.raises(SpecError, match="does not match the packed weights"):
            dequantize_int4(packed, scales, shape)
    with pytest.raises(DataError, match="torch.Tensor of images"):
        random_affine(np.zeros((2, 1, 28, 28), np.float32))
    assert LatentSpec(noise_dim=np.int64(5), n_continuous=np.int32(1)) == LatentSpec(noise_dim=5, n_continuous=1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=8), "cpu")
    with pytest.raises(SpecError, match="is a FIFO"):
        fit(state, load_dataset("sample", verbose=False).images[:16], out_dir=fifo, progress=False)
    images = torch.full((2, 1, 28, 28), -0.5, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_images(images, "test").shape == (2, 1, 28, 28)


def test_data_without_a_black_background_and_a_model_without_c1_are_named(tmp_path):
    from infogan_tutorial.data import load_idx_folder
    from infogan_tutorial.evaluation import categorical_accuracy
    white = np.full((20, 28, 28), 255, np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + b"".join(
        n.to_bytes(4, "big") for n in (20, 28, 28)) + white.tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + (20).to_bytes(4, "big") + bytes(20))
    with pytest.raises(DataError, match="no black background"):
        load_idx_folder(tmp_path, "train")
    D = Discriminator(LatentSpec(categorical=(), n_continuous=2))
    with pytest.raises(SpecError, match="no categorical code"):
        categorical_accuracy(D, torch.full((4, 1, 28, 28), -1.0), torch.zeros(4, dtype=torch.long))
