"""Faults the fifth tester left open (issue 26): each is refused by name, or handled, instead of a traceback or a
silent NaN. Every test fails on the code before the fix.
"""

from __future__ import annotations

import math

import pytest
import torch

from infogan_tutorial import mutual_information as mi
from infogan_tutorial.code_recovery import recover_codes
from infogan_tutorial.data import random_affine
from infogan_tutorial.errors import DataError, SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks
from infogan_tutorial.objectives import info_loss


@pytest.mark.parametrize("k", [2.5, True, "3"])
def test_uniform_refuses_a_number_of_symbols_that_is_no_whole_number(k) -> None:
    """uniform(2.5) was torch.full's TypeError about a float in a size."""
    with pytest.raises(SpecError, match="whole number of symbols"):
        mi.uniform(k)


def test_gaussian_mixture_channel_refuses_a_grid_that_misses_the_gaussians() -> None:
    """A grid far from the means gave rows of NaN (0 / 0) without a word."""
    with pytest.raises(SpecError, match=r"holds only 0 of the probability .*means \[0.0, 1.0\]"):
        mi.gaussian_mixture_channel([0.0, 1.0], 1.0, [100.0, 101.0, 102.0])
    ok = mi.gaussian_mixture_channel([0.0, 1.0], 1.0, torch.linspace(-8, 9, 171))
    assert torch.allclose(ok.sum(dim=1), torch.ones(2, dtype=ok.dtype)) and torch.isfinite(ok).all()


@pytest.mark.parametrize("means, std, grid, match", [
    ([0.0, math.nan], 1.0, [0.0, 1.0, 2.0], "finite"),
    ([0.0, 1.0], math.inf, [0.0, 1.0, 2.0], "std must be a finite number"),
    ([0.0, 1.0], 1.0, [2.0, 1.0, 0.0], "evenly spaced and increasing"),
    ([0.0, 1.0], 1.0, [0.0, 0.1, 5.0], "evenly spaced and increasing"),
])
def test_gaussian_mixture_channel_refuses_bad_numbers_by_name(means, std, grid, match) -> None:
    with pytest.raises(SpecError, match=match):
        mi.gaussian_mixture_channel(means, std, grid)


@pytest.mark.parametrize("saved", [None, [1, 2], "noise_dim"])
def test_latent_spec_from_dict_refuses_what_is_no_dict(saved) -> None:
    """from_dict(None) was "argument of type 'NoneType' is not iterable"."""
    with pytest.raises(SpecError, match="needs a dict with the keys"):
        LatentSpec.from_dict(saved)


def test_random_affine_of_no_images_is_no_images() -> None:
    """An empty batch was affine_grid's "Expected non-zero, positive output size"."""
    out = random_affine(torch.zeros(0, 1, 28, 28))
    assert out.shape == (0, 1, 28, 28)


def test_info_loss_names_q_and_codes_of_the_wrong_kind() -> None:
    """A tuple for Q's output, or None for the codes, were AttributeErrors from inside the loss."""
    spec = LatentSpec()
    G, D = build_networks(spec, seed=0)
    codes = spec.sample(4, torch.Generator().manual_seed(0))
    q = D.q(G(codes))
    with pytest.raises(SpecError, match="must be a QOutput"):
        info_loss(tuple(q.logits), codes, spec)
    with pytest.raises(SpecError, match="must be a Codes batch"):
        info_loss(q, None, spec)
    assert torch.isfinite(info_loss(q, codes, spec))


def test_recover_codes_refuses_a_generator_that_draws_nan() -> None:
    """A G with NaN weights (a corrupt checkpoint) got a c1 accuracy and NaN bounds reported as results."""
    spec = LatentSpec()
    G, _ = build_networks(spec, seed=0)
    with torch.no_grad():
        next(G.parameters()).fill_(math.nan)
    with pytest.raises(DataError, match="NaN or infinite"):
        recover_codes(G, steps=2, batch_size=4, n_eval=8)


# -- the command line: messages that name the real problem ----------------------------------------------------------
def train_error(tmp_path, capsys, *args: str) -> str:
    from infogan_tutorial.cli import main

    argv = ["train", "--profile", "smoke", "--dataset", "sample", "--device", "cpu", "--quiet", *args]
    try:
        assert main(argv) != 0
    except SystemExit as stop:  # argparse's own refusals
        assert stop.code != 0
    return capsys.readouterr().err


def test_an_empty_path_is_refused_by_the_parser(tmp_path, capsys) -> None:
    """--export '' said "--export '.' names no file" (a '.' the user never typed)."""
    err = train_error(tmp_path, capsys, "--steps", "1", "--out", str(tmp_path / "r"), "--export", "")
    assert "argument --export: an empty path names nothing" in err


def test_cli_names_what_is_wrong_with_the_paths(tmp_path, capsys) -> None:
    import os

    (tmp_path / "notes.txt").write_text("mine")
    err = train_error(tmp_path, capsys, "--steps", "1", "--out", str(tmp_path / "notes.txt"), "--resume")
    assert "is a file, not a folder: it holds no run to --resume" in err  # was "no checkpoint at notes.txt/..."
    (tmp_path / "r" / "checkpoint.pt").mkdir(parents=True)
    err = train_error(tmp_path, capsys, "--steps", "1", "--out", str(tmp_path / "r"))
    assert "checkpoint.pt is a folder" in err  # was "exists already; pass --resume"
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    err = train_error(tmp_path, capsys, "--steps", "1", "--out", str(tmp_path / "loop"))
    assert "symbolic link that leads nowhere" in err  # was "cannot create the folder (File exists)"
    err = train_error(tmp_path, capsys, "--out", str(tmp_path / "e"), "--epochs", "1e300")
    assert "about 2.81e+302 steps" in err and "," * 20 not in err  # was a 400-digit number


def test_data_folder_messages_say_file_and_empty(tmp_path) -> None:
    from infogan_tutorial.data import load_idx_folder

    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match="is a file, not a data folder"):
        load_idx_folder(tmp_path / "f")
    (tmp_path / "d").mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (tmp_path / "d" / name).write_bytes(b"")
    with pytest.raises(DataError, match=r"the file is empty \(0 bytes\)"):
        load_idx_folder(tmp_path / "d", split="train")


def test_web_export_checks_onnx_and_out_before_writing(tmp_path, capsys) -> None:
    """--onnx notes.txt was checked only after the page's assets were written; --out /dev/null was an OSError."""
    from infogan_tutorial.web_export import main

    assert main(["--out", str(tmp_path / "assets"), "--onnx", str(tmp_path / "notes.txt")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    assert not (tmp_path / "assets").exists()
    (tmp_path / "file").write_text("x")
    assert main(["--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_full_disk_is_named_in_words_not_in_torchs_internals(tmp_path, monkeypatch) -> None:
    """A full disk surfaced as torch's "[enforce fail at inline_container.cc:...] unexpected pos ..."."""
    from infogan_tutorial.checkpoints import atomic_save
    from infogan_tutorial.errors import CheckpointError

    def full(obj, f):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 1216 vs 1104")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointError, match=r"stopped part-way; [\d,]+ bytes are free there.*free some disk space") \
            as info:
        atomic_save({"x": 1}, tmp_path / "model.pt")
    assert "inline_container" not in str(info.value)


# -- the sixth tester's data losses and tracebacks ------------------------------------------------------------------
def test_save_checkpoint_keeps_a_file_that_is_no_checkpoint(tmp_path) -> None:
    """save_checkpoint replaced notes.txt with a zip checkpoint, silently."""
    from infogan_tutorial.errors import CheckpointError
    from infogan_tutorial.training import TrainConfig, create_state, save_checkpoint

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=2), "cpu")
    with pytest.raises(CheckpointError, match="not a model file or torch checkpoint"):
        save_checkpoint(state, notes)
    assert notes.read_text() == "my notes\n"
    save_checkpoint(state, tmp_path / "c.pt")
    save_checkpoint(state, tmp_path / "c.pt")  # a checkpoint is replaced


def test_web_export_keeps_an_onnx_named_file_that_is_no_model(tmp_path, capsys) -> None:
    from infogan_tutorial.web_export import main

    notes = tmp_path / "notes.onnx"
    notes.write_text("my onnx notes\n")
    assert main(["--out", str(tmp_path / "assets"), "--onnx", str(notes)]) == 2
    assert "is not an ONNX model" in capsys.readouterr().err and notes.read_text() == "my onnx notes\n"


@pytest.mark.parametrize("pid", [0, -1, 2 ** 40])  # text and None: CheckpointError (test_faults_round12.py)
def test_pid_alive_says_no_for_ids_no_process_has(pid) -> None:
    """A .lock holding 99999999999999999999 was an OverflowError; one holding 0 blocked the folder for 'process 0'."""
    from infogan_tutorial.checkpoints import pid_alive

    assert pid_alive(pid) is False


def test_epochs_that_overflow_are_refused_in_words(tmp_path, capsys) -> None:
    """--epochs 1e308 was OverflowError: cannot convert float infinity to integer."""
    err = train_error(tmp_path, capsys, "--out", str(tmp_path / "r"), "--epochs", "1e308")
    assert "is about inf steps" in err or "is about 1" in err, err


def test_api_refusals_the_sixth_tester_found() -> None:
    """Each was a raw TypeError/AttributeError/OverflowError, a silent NaN, or a machine out of memory."""
    from infogan_tutorial.networks import check_network
    from infogan_tutorial.objectives import invariant_information, real_information

    spec = LatentSpec()
    with pytest.raises(SpecError, match="more than the 10,000,000 one call makes"):
        spec.traversal("c2", rows=10 ** 6, steps=100)  # exhausted 23 GB
    with pytest.raises(SpecError, match="two finite numbers"):
        spec.traversal("c2", values=2.0)
    with pytest.raises(SpecError, match="needs a LatentSpec"):
        build_networks(None)
    with pytest.raises(SpecError, match="LatentSpec.from_dict"):
        build_networks(spec.to_dict())
    for seed in (1.5, 2 ** 70, -1):
        with pytest.raises(SpecError, match="seed must be None or a whole number"):
            build_networks(spec, seed=seed)
    for std in (math.nan, math.inf):
        with pytest.raises(SpecError, match="fixed_std must be None or a finite number"):
            build_networks(spec, fixed_std=std)
    G, D = build_networks(spec, seed=0)
    with pytest.raises(SpecError, match="kind must be 'G' or 'D'"):
        check_network(G, "Z", "x")
    with pytest.raises(SpecError, match="0 <= error <= 1"):
        mi.symmetric_channel_information(2, 2.0)
    with pytest.raises(SpecError, match="K >= 2"):
        mi.symmetric_channel_information(1, 0.1)
    q = D.q(G(spec.sample(4, torch.Generator().manual_seed(0))))
    empty = type(q)([t[:0] for t in q.logits], q.mean[:0], q.log_std[:0])
    with pytest.raises(SpecError, match="the batch is empty"):
        real_information(empty)
    with pytest.raises(SpecError, match="the batch is empty"):
        invariant_information(empty, empty)
    with pytest.raises(SpecError, match="needs Q's output"):
        real_information(None)
    assert torch.isfinite(real_information(q)) and torch.isfinite(invariant_information(q, q))


def test_web_export_check_refuses_onnx(tmp_path, capsys) -> None:
    """--check --onnx printed "up to date" and wrote no ONNX file, silently."""
    from infogan_tutorial.web_export import main

    assert main(["--check", "--onnx", str(tmp_path / "G.onnx")]) == 2
    assert "--check writes nothing" in capsys.readouterr().err


def test_a_read_only_file_system_is_not_called_a_full_disk(tmp_path, monkeypatch) -> None:
    """atomic_save on a read-only mount said "most likely a full disk"."""
    import os
    from types import SimpleNamespace

    from infogan_tutorial.checkpoints import atomic_save
    from infogan_tutorial.errors import CheckpointError

    def refuse(obj, f):
        raise RuntimeError("File x.pt cannot be opened.")

    monkeypatch.setattr(torch, "save", refuse)
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    with pytest.raises(CheckpointError, match="the file system there is read-only"):
        atomic_save({"x": 1}, tmp_path / "model.pt")
