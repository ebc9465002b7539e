"""Issue 26, the twelfth tester (1,051 tries: 6 data lost, 20 tracebacks, 4 silent, 2 hangs): each now refused in
words, before any work where it can be."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from infogan_tutorial import explorer, figures
from infogan_tutorial import mutual_information as mi
from infogan_tutorial.checkpoints import read_checkpoint, with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.code_recovery import recover_codes
from infogan_tutorial.config import TrainConfig
from infogan_tutorial.errors import DataError, SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import Generator, QOutput
from infogan_tutorial.objectives import info_lower_bound
from infogan_tutorial.pretrained import PRETRAINED_DIR
from infogan_tutorial.quantize import dequantize_rows, quantize_int4
from infogan_tutorial.training import create_state, fit

SMOKE = ["train", "--dataset", "sample", "--profile", "smoke", "--steps", "1", "--quiet", "--no-figures"]


def test_export_keeps_a_users_own_torch_files(tmp_path: Path, capsys) -> None:
    mine = tmp_path / "my_results.pt"
    torch.save({"my": "results", "w": torch.ones(3)}, mine)
    before = mine.read_bytes()
    assert main([*SMOKE, "--out", str(tmp_path / "run"), "--export", str(mine)]) == 2
    assert "is not a model this package wrote" in capsys.readouterr().err
    assert mine.read_bytes() == before and not (tmp_path / "run").exists()


def test_export_through_a_link_to_a_shipped_model_is_refused(tmp_path: Path, capsys) -> None:
    shipped = tmp_path / "shipped"
    shutil.copytree(PRETRAINED_DIR, shipped)
    (tmp_path / "link.pt").symlink_to(shipped / "infogan-mnist.pt")
    before = (shipped / "infogan-mnist.pt").read_bytes()
    assert main([*SMOKE, "--out", str(tmp_path / "run"), "--export", str(tmp_path / "link.pt")]) == 2
    assert "listed in" in capsys.readouterr().err
    assert (shipped / "infogan-mnist.pt").read_bytes() == before


@pytest.mark.parametrize("name, make", [("eval.jsonl", Path.mkdir), ("history.json", Path.mkdir),
                                        ("figures", Path.touch)])
def test_a_run_file_of_the_wrong_kind_is_found_before_training(tmp_path: Path, capsys, name, make) -> None:
    out = tmp_path / "run"
    assert main([*SMOKE, "--out", str(out)]) == 0
    shutil.rmtree(out / name, ignore_errors=True)
    (out / name).unlink(missing_ok=True)
    make(out / name)
    step = read_checkpoint(out / "checkpoint.pt")["step"]
    assert main(["train", "--resume", "--out", str(out), "--steps", "3", "--quiet", "--no-figures"]) == 2
    assert f"{name} as a {'file' if name == 'figures' else 'folder'}" in capsys.readouterr().err
    assert read_checkpoint(out / "checkpoint.pt")["step"] == step


def test_export_inside_the_run_folder_creates_nothing_before_it_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "two"
    out.mkdir()
    (out / "history.json").write_text("{}")
    assert main([*SMOKE, "--out", str(out), "--export", str(out / "figures" / "model.pt")]) == 2
    capsys.readouterr()
    assert not (out / "figures").exists()


@pytest.mark.parametrize("data", [{"data_dir": None}, {"dataset": "nonexistent", "data_dir": None}])
def test_a_resume_from_a_checkpoint_with_a_damaged_data_entry_says_malformed(tmp_path: Path, capsys, data) -> None:
    out = tmp_path / "run"
    assert main([*SMOKE, "--out", str(out)]) == 0
    ckpt = read_checkpoint(out / "checkpoint.pt")
    ckpt["data"] = data
    torch.save(with_checksum(ckpt), out / "checkpoint.pt")
    assert main(["train", "--resume", "--out", str(out), "--steps", "2", "--quiet", "--no-figures"]) == 2
    assert "checkpoint is malformed: its data entry" in capsys.readouterr().err


def test_code_values_beyond_float32_are_refused_by_name() -> None:
    G, spec = Generator(LatentSpec()).eval(), LatentSpec()
    for call in (lambda: explorer.render(G, spec, 3, 1e300, 0, 0), lambda: explorer.render(G, spec, 3, 0, -3.5e38, 0),
                 lambda: spec.traversal("c2", values=(-1e300, 1e300)),
                 lambda: figures.traversal_values(spec, "c2", values=(0, 1e39))):
        with pytest.raises(SpecError, match="float32's range"):
            call()
    with pytest.raises(SpecError, match="wider than float32"):
        LatentSpec(continuous_range=(-1e200, 1e200))
    with pytest.raises(SpecError, match="steps is at most 10,000,000"):
        figures.traversal_values(spec, "c2", steps=10**9)
    with pytest.raises(SpecError, match="float32's range"):
        spec.traversal("c2", values=(-3e38, 3e38))  # each end fits, their distance does not
    assert spec.traversal("c2", values=(-1.5e38, 1.5e38)).continuous.isfinite().all()


def test_api_inputs_that_gave_tracebacks() -> None:
    spec = LatentSpec()
    codes = spec.sample(4, torch.Generator().manual_seed(0))
    with pytest.raises(SpecError, match="floating-point torch tensors"):
        info_lower_bound(QOutput([np.zeros((4, 10))], np.zeros((4, 2)), np.zeros((4, 2))), codes, spec)
    with pytest.raises(SpecError, match="meta device"):
        info_lower_bound(QOutput([torch.zeros(4, 10, device="meta")], torch.zeros(4, 2), torch.zeros(4, 2)), codes,
                         spec)
    with pytest.raises(SpecError, match="positive multiple"):
        quantize_int4(torch.zeros(0, 64))
    with pytest.raises(SpecError, match="one scale per row"):
        dequantize_rows(torch.zeros(4, 4, dtype=torch.int8), torch.ones(3))
    with pytest.raises(SpecError, match="meta device"):
        mi.entropy(torch.zeros(4, device="meta"))
    with pytest.raises(SpecError, match="at most 10,000 images"):
        figures.image_grid(-torch.ones(1, 1, 28, 28).expand(10**5, 1, 28, 28), 100)
    state = create_state(spec, TrainConfig(steps=2, batch_size=4), "cpu")
    with pytest.raises(SpecError, match="one tensor of 6 numbers"):
        fit(state, torch.rand(8, 1, 28, 28) * 2 - 1, progress=False, step=lambda batch: torch.zeros(2))
    for std in (1e-30, 1e4):
        with pytest.raises(SpecError, match="between 1e-3 and 1e3"):
            TrainConfig(fixed_std=std)


def test_recover_codes_says_when_q_diverges_and_caps_its_batch() -> None:
    G = Generator(LatentSpec())
    with pytest.raises(DataError, match="diverged .* lr=1e\\+30"):
        recover_codes(G, steps=2, batch_size=4, n_eval=4, lr=1e30)
    with pytest.raises(SpecError, match="batch_size at most 4,096"):
        recover_codes(G, steps=1, batch_size=10**6)


def test_threads_far_beyond_the_cpus_are_refused(tmp_path: Path, capsys) -> None:
    threads = min(1024, 4 * (os.cpu_count() or 1) + 1)
    assert main([*SMOKE, "--out", str(tmp_path / "run"), "--threads", str(threads)]) == 2
    assert "far more than this machine's" in capsys.readouterr().err


def test_a_checkpoint_link_that_leads_nowhere_and_a_stored_recipe_train_refuses(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.pt").symlink_to(tmp_path / "b.pt")
    (tmp_path / "b.pt").symlink_to(tmp_path / "a.pt")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "a.pt")]) == 2
    assert "symbolic link that leads nowhere" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main([*SMOKE, "--out", str(out)]) == 0
    ckpt = read_checkpoint(out / "checkpoint.pt")
    ckpt["config"]["lr_g"] = float("nan")
    torch.save(with_checksum(ckpt), out / "checkpoint.pt")
    assert main(["train", "--resume", "--out", str(out), "--steps", "2", "--quiet", "--no-figures"]) == 2
    assert "the value is the checkpoint's, not an option you gave" in capsys.readouterr().err
