"""The checkpoint format: atomic writes, safe and checked reads, files of earlier versions."""

import gzip
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from infogan_tutorial.checkpoints import CHECKPOINT_FORMAT, atomic_save, load_networks, read_checkpoint
from infogan_tutorial.errors import CheckpointError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.training import TrainConfig, create_state, fit, resume_state, save_checkpoint, train_step



def test_a_crash_while_writing_keeps_the_previous_checkpoint(images, tmp_path, monkeypatch):
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=8), "cpu")
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(state, path)
    good = path.read_bytes()
    train_step(state, images[:8])

    def crash(obj, f):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(CheckpointError, match="could not write .*disk full.*free some disk space"):
        save_checkpoint(state, path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_checkpoint_of_another_spec_is_refused(tmp_path):
    state = create_state(LatentSpec(noise_dim=10), TrainConfig(steps=1), "cpu")
    save_checkpoint(state, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="trained with spec"):
        resume_state(tmp_path / "c.pt", spec=LatentSpec())
    with pytest.raises(CheckpointError, match="trained with spec"):
        load_networks(tmp_path / "c.pt", spec=LatentSpec())


def test_missing_corrupt_and_unsafe_checkpoints_raise(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        resume_state(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"not a checkpoint of infogan_tutorial \(torch.load could not read"):
        load_networks(tmp_path / "bad.pt")

    class Evil:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('pwned')" % str(tmp_path / "pwned"),))

    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"spec": {}, "G": Evil()}, f)
    torch.save({"spec": {}, "G": Evil()}, tmp_path / "evil2.pt")
    for name in ("evil.pt", "evil2.pt"):
        with pytest.raises(CheckpointError):
            load_networks(tmp_path / name)
    assert not (tmp_path / "pwned").exists()


OLD = Path(__file__).parent / "data" / "checkpoint-format1.pt.gz"


@pytest.fixture
def old_checkpoint(tmp_path):
    """A full checkpoint written by the package before checkpoints.py existed (commit f05bced): a 2-step run
    with amp=False, lambda_invariant=1, seed 3, whose weights and Adam moments were zeroed before saving
    except G's last layer (deconv.3), so that the file compresses to 0.25 MB."""
    path = tmp_path / "old.pt"
    with gzip.open(OLD, "rb") as f, open(path, "wb") as g:
        shutil.copyfileobj(f, g)
    return path


def test_a_checkpoint_written_before_the_split_still_loads_and_resumes(old_checkpoint, images, tmp_path):
    raw = torch.load(old_checkpoint, weights_only=True)
    assert raw["format"] == 1 and raw["config"]["amp"] is False and "precision" not in raw["config"]
    spec, G, _ = load_networks(old_checkpoint)
    assert torch.equal(G.state_dict()["deconv.3.weight"], raw["G"]["deconv.3.weight"])
    assert G.state_dict()["deconv.3.weight"].abs().sum() > 0  # the kept layer holds real values
    state = resume_state(old_checkpoint, steps=3)
    assert state.step == 2 and state.config.precision == "fp32" and state.config.lambda_invariant == 1.0
    assert state.config.seed == 3 and state.history == raw["history"]
    fit(state, images[:64], tmp_path, progress=False)
    assert state.step == 3 and read_checkpoint(tmp_path / "checkpoint.pt")["config"]["precision"] == "fp32"


def test_an_unknown_format_or_config_field_is_refused_with_the_fix(old_checkpoint, tmp_path):
    raw = torch.load(old_checkpoint, weights_only=True)
    torch.save({**raw, "format": CHECKPOINT_FORMAT + 1}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format 2.*upgrade the package"):
        load_networks(tmp_path / "future.pt")
    torch.save({**raw, "config": {**raw["config"], "warp_drive": True}}, tmp_path / "field.pt")
    with pytest.raises(CheckpointError, match="warp_drive.*upgrade"):
        resume_state(tmp_path / "field.pt")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_networks(tmp_path)


def test_a_save_killed_mid_write_leaves_no_temporary_behind_the_next_save(tmp_path):
    """kill -9 during torch.save leaves .checkpoint.pt.tmp-PID; the next save of that path removes it (its
    process is gone), and leaves a live process's temporary alone."""
    path = tmp_path / "checkpoint.pt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".checkpoint.pt.tmp-{int(dead.stdout)}"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".checkpoint.pt.tmp-{os.getppid()}"
    live.write_bytes(b"y")
    atomic_save({"a": 1}, path)
    assert not stale.exists() and live.exists() and torch.load(path, weights_only=True) == {"a": 1}
