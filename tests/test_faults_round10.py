"""The seventh tester's leftovers (issue 26): a checkpoint whose checksums hold but whose entries `train` would not
write (a forged or hand-edited file) is refused with a CheckpointError, by `resume_state` and by `train --resume`,
never a KeyError or TypeError traceback."""

from __future__ import annotations

import pytest
import torch

from infogan_tutorial.checkpoints import with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.errors import CheckpointError, SpecError
from infogan_tutorial.training import resume_state

SMOKE = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--no-figures", "--device", "cpu"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", *SMOKE, "--out", str(out), "--steps", "2"]) == 0
    return out


def _forged(ckpt: dict, change: str) -> dict:
    ckpt = dict(ckpt)
    history = ckpt["history"]
    if change == "history missing a statistic":
        ckpt["history"] = {"step": history["step"]}
    elif change == "history of two lengths":
        ckpt["history"] = {**history, "step": [*history["step"], 99]}
    elif change == "history a list":
        ckpt["history"] = [1, 2]
    elif change == "history of text":
        ckpt["history"] = {k: ["x"] * len(v) for k, v in history.items()}
    elif change == "no config":
        del ckpt["config"]
    elif change == "config a list":
        ckpt["config"] = [1]
    elif change == "data a list":
        ckpt["data"] = [1]
    elif change == "data_dir a number":
        ckpt["data"] = {**(ckpt.get("data") or {}), "data_dir": 7}
    elif change == "optimizer without param_groups":
        ckpt["opt_g"] = {"state": {}}
    elif change == "step text":
        ckpt["step"] = "x"
    return with_checksum(ckpt)


CHANGES = ["history missing a statistic", "history of two lengths", "history a list", "history of text", "no config",
           "config a list", "data a list", "data_dir a number", "optimizer without param_groups", "step text"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_checkpoint_with_entries_train_never_writes_is_refused(run, tmp_path, change, capsys):
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    path = tmp_path / "checkpoint.pt"
    torch.save(_forged(ckpt, change), path)
    with pytest.raises(CheckpointError, match="is malformed") as caught:
        resume_state(path)
    assert "retrain" in str(caught.value)
    assert main(["train", *SMOKE, "--out", str(tmp_path), "--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "is malformed" in err and "Traceback" not in err


def test_a_bad_override_is_still_said_as_itself(run):
    with pytest.raises(SpecError, match="steps"):
        resume_state(run / "checkpoint.pt", steps=-1)
