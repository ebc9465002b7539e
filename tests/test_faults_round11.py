"""The eighth tester's findings (issue 26): 1,123 tries; the data lost, the hangs and the crafted checkpoints."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from infogan_tutorial import cli, training
from infogan_tutorial.checkpoints import load_networks, sha256, starts_with, with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.data import SAMPLE_DIR
from infogan_tutorial.errors import CheckpointError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.training import TrainConfig, create_state, fit, resume_state

SMOKE = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--no-figures", "--device", "cpu"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", *SMOKE, "--out", str(out), "--steps", "2"]) == 0
    return out


def test_a_fifo_is_neither_read_for_its_signature_nor_hashed(tmp_path):
    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)
    assert starts_with(fifo, b"PK") is False  # returns at once: a FIFO's read would block
    with pytest.raises(CheckpointError, match="FIFO"):
        sha256(fifo)
    with pytest.raises(CheckpointError, match="folder"):
        sha256(tmp_path)


def test_an_interrupt_during_the_final_save_still_saves_the_last_step(tmp_path, images, monkeypatch):
    state = create_state(LatentSpec(), TrainConfig(steps=3, batch_size=8, log_every=1, checkpoint_every=1000), "cpu")
    save = training._save

    def interrupted_save(state, path, acc, count):
        if state.step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # lands as the last save starts
        save(state, path, acc, count)

    monkeypatch.setattr(training, "_save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        fit(state, images[:32], tmp_path, progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 3


def test_sigterm_outside_training_ends_a_command_as_ctrl_c_does(run, monkeypatch, capsys):
    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(cli, "evaluate", terminated)
    assert main(["evaluate", "--checkpoint", str(run / "checkpoint.pt")]) == 130
    assert "Interrupted; evaluate wrote nothing." in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handed back


def test_a_learning_rate_given_to_resume_state_is_the_one_the_optimizers_use(run):
    state = resume_state(run / "checkpoint.pt", lr_g=0.5, lr_d=0.1, beta1=0.9)
    assert [g["lr"] for g in state.opt_g.param_groups] == [0.5]
    assert [g["lr"] for g in state.opt_d.param_groups] == [0.1]
    assert state.opt_g.param_groups[0]["betas"] == (0.9, 0.999)


def _craft(run, tmp_path, change) -> str:
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    change(ckpt)
    path = tmp_path / "checkpoint.pt"
    torch.save(with_checksum(ckpt), path)
    return str(path)


WEIGHTS = {
    "a negative batch-norm variance": (lambda c: c["G"]["fc.1.running_var"].fill_(-1), "negative batch-norm"),
    "bool weights": (lambda c: c["G"].__setitem__("fc.0.weight", c["G"]["fc.0.weight"] > 0), "torch.bool"),
    "int64 weights": (lambda c: c["G"].__setitem__("fc.0.weight", c["G"]["fc.0.weight"].long()), "torch.int64"),
    "a weight as a list": (lambda c: c["G"].__setitem__("fc.0.weight", [1.0, 2.0]), "malformed|list"),
    "config as text": (lambda c: c.__setitem__("config", "hello"), "config entry is str"),
    "step True": (lambda c: c.__setitem__("step", True), "step is True"),
    "step -5": (lambda c: c.__setitem__("step", -5), "step is -5"),
    "code_rng_device banana": (lambda c: c.__setitem__("code_rng_device", "banana"), "code_rng_device"),
}


@pytest.mark.parametrize("what", WEIGHTS)
def test_crafted_entries_are_refused_by_every_reader(run, tmp_path, what, capsys):
    change, said = WEIGHTS[what]
    path = _craft(run, tmp_path, change)
    with pytest.raises(CheckpointError, match=said):
        load_networks(path)
    assert main(["evaluate", "--checkpoint", path]) == 2
    assert "Traceback" not in capsys.readouterr().err


RESUME = {
    "an Adam moment of another shape": lambda c: c["opt_g"]["state"][0].__setitem__(
        "exp_avg", c["opt_g"]["state"][0]["exp_avg"][:1]),
    "a negative second moment": lambda c: c["opt_d"]["state"][0]["exp_avg_sq"].fill_(-1),
    "a NaN step count": lambda c: c["opt_g"]["state"][0].__setitem__("step", torch.tensor(float("nan"))),
    "no optimizer state": lambda c: c["opt_g"].pop("state"),
    "no code_rng": lambda c: c.pop("code_rng"),
    "a short code_rng": lambda c: c.__setitem__("code_rng", c["code_rng"][:100]),
    "unlogged with text": lambda c: c.__setitem__("unlogged", ([1.0, 2.0], "x")),
    "unlogged of two sums": lambda c: c.__setitem__("unlogged", ([1.0, 2.0], 3)),
    "unlogged with a negative count": lambda c: c.__setitem__("unlogged", ([1.0] * 6, -3)),
}


@pytest.mark.parametrize("what", RESUME)
def test_crafted_training_state_is_refused_before_a_step(run, tmp_path, what, capsys):
    path = _craft(run, tmp_path, RESUME[what])
    with pytest.raises(CheckpointError, match="malformed"):
        resume_state(path)
    assert main(["train", *SMOKE, "--out", str(tmp_path), "--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "malformed" in err and "Traceback" not in err


def test_a_score_line_cut_mid_write_is_dropped_on_resume_not_glued_to(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *SMOKE, "--out", str(out), "--steps", "6", "--eval-every", "3"]) == 0
    log = out / "eval.jsonl"
    text = log.read_text()
    log.write_text(text[: text.index("\n") + 1] + text[text.index("\n") + 1:][:40])  # the second line cut short
    assert main(["train", *SMOKE, "--out", str(out), "--resume", "--steps", "9", "--eval-every", "3"]) == 0
    lines = log.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [3, 9]
    assert "cut short" in capsys.readouterr().out


def test_evaluate_checks_the_bundled_sample_as_train_does(tmp_path, monkeypatch, capsys, run):
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, copy)
    images = next(copy.glob("t10k-images*"))
    data = bytearray(gzip.decompress(images.read_bytes()))
    data[-1] ^= 0xFF
    images.write_bytes(gzip.compress(bytes(data)))
    monkeypatch.setenv("INFOGAN_SAMPLE_DIR", str(copy))
    assert main(["evaluate", "--checkpoint", str(run / "checkpoint.pt")]) == 2
    assert "differs from the SHA-256" in capsys.readouterr().err


def test_resume_without_a_checkpoint_names_the_files_left_behind(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "eval.jsonl").write_text('{"step": 5}\n')
    assert main(["train", *SMOKE, "--out", str(tmp_path / "run"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "holds no checkpoint.pt" in err and "left eval.jsonl" in err


def test_a_folder_another_training_writes_to_is_said_so_first(run, tmp_path, capsys):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(str(sleeper.pid))
        assert main(["train", *SMOKE, "--out", str(run), "--steps", "3"]) == 2
        err = capsys.readouterr().err
        assert "another training" in err and "exists already" not in err
    finally:
        sleeper.kill()
        sleeper.wait()
        (run / ".lock").unlink(missing_ok=True)


def test_web_export_check_advice_carries_the_folders_checked(tmp_path, capsys):
    from infogan_tutorial import web_export

    assert web_export.main(["--check", "--out", str(tmp_path / "assets")]) == 1
    out = capsys.readouterr().out
    assert f"--out {tmp_path / 'assets'}" in out and "--model-dir" not in out


def test_documented_api_calls_with_wrong_arguments_say_what_was_wrong(monkeypatch):
    monkeypatch.delenv("INFOGAN_PROFILE", raising=False)  # get_profile asks the device only without one
    import numpy as np

    from infogan_tutorial.data import ShuffledBatches, eval_source, random_affine
    from infogan_tutorial.errors import DataError, InfoGANError
    from infogan_tutorial.evaluation import ClusterAccuracy
    from infogan_tutorial.figures import plot_losses
    from infogan_tutorial.networks import Discriminator, Generator
    from infogan_tutorial.profiles import get_profile, with_steps
    from infogan_tutorial.quantize import quantize_int4, quantize_rows

    x = torch.rand(4, 1, 28, 28) * 2 - 1
    calls = [
        (lambda: Discriminator(None), "needs a LatentSpec"),
        (lambda: Generator(LatentSpec().to_dict()), "LatentSpec.from_dict"),
        (lambda: eval_source("banana"), "unknown data source"),
        (lambda: ShuffledBatches(x, 2, None), "whole-number seed"),
        (lambda: random_affine(x, np.random.default_rng(0)), "torch.Generator"),
        (lambda: ClusterAccuracy.from_dict({}), "to_dict"),
        (lambda: plot_losses({"step": [], "loss_d": [], "loss_g": []}), "empty"),
        (lambda: get_profile(None, device="banana"), "unknown device"),
        (lambda: get_profile("smoke").train_config(bogus=1), "not TrainConfig fields"),
        (lambda: with_steps(get_profile("smoke"), 0), ">= 1"),
        (lambda: quantize_rows(torch.full((2, 2), float("nan"))), "NaN"),
        (lambda: quantize_int4(torch.full((64, 64), 1e6)), "overflow"),
        (lambda: quantize_int4(torch.randn(3, 5)), "multiple of 64"),
    ]
    for call, said in calls:
        with pytest.raises(InfoGANError, match=said):
            call()
    assert issubclass(DataError, InfoGANError)


def test_resume_state_refuses_fewer_steps_than_the_run_has(run):
    with pytest.raises(Exception, match="fewer than the 2 steps"):
        resume_state(run / "checkpoint.pt", steps=1)
    assert resume_state(run / "checkpoint.pt", steps=2).step == 2
