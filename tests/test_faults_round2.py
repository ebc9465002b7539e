"""Nothing silent, nothing lost, second round (issue 26): outputs that are devices or files of another kind,
checkpoints damaged in place, images on the wrong scale, resumed runs counted with the wrong recipe.

Each test failed on the code before the fix it guards.
"""

import json
import os
import stat
import zipfile

import numpy as np
import pytest
import torch

from infogan_tutorial import cli, web_export
from infogan_tutorial.checkpoints import atomic_save, read_checkpoint, remove_stale_temporaries
from infogan_tutorial.cli import main
from infogan_tutorial.data import load_dataset
from infogan_tutorial.errors import CheckpointError, SpecError
from infogan_tutorial.evaluation import (categorical_accuracy, hungarian_accuracy, predict_categories,
                                         score_fresh_samples)
from infogan_tutorial.export import export_model
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.pretrained import PRETRAINED_DIR, load_pretrained
from infogan_tutorial.training import TrainConfig, create_state, fit

from test_cli import write_idx


def train(tmp_path, *extra: str, out: str = "run") -> int:
    return main(["train", "--profile", "smoke", "--out", str(tmp_path / out), "--quiet", "--no-figures", *extra])


@pytest.fixture(scope="module")
def test_set():
    return load_dataset("sample", split="test", verbose=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished two-step smoke run."""
    tmp = tmp_path_factory.mktemp("done")
    assert train(tmp, "--steps", "2") == 0
    return tmp / "run"


# 1. device files, FIFOs and symlinks as outputs
def test_a_fifo_given_as_an_output_is_refused_and_left_alone(run, tmp_path, capsys):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert main(["sample", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(fifo)]) == 2
    assert "FIFO" in capsys.readouterr().err and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert train(tmp_path, "--steps", "1", "--export", str(fifo)) == 2
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and not (tmp_path / "run").exists()  # refused before training
    with pytest.raises(CheckpointError, match="FIFO"):
        atomic_save({"x": 1}, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="creating a device node needs root")
def test_a_character_device_given_as_an_output_is_never_replaced(run, tmp_path, capsys):
    node = tmp_path / "x.png"  # a copy of /dev/null's node in a temporary folder, never /dev/null itself
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert main(["sample", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(node)]) == 2
    assert "character device" in capsys.readouterr().err and stat.S_ISCHR(os.stat(node).st_mode)
    dev = tmp_path / "dev.pt"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert train(tmp_path, "--steps", "1", "--export", str(dev)) == 2
    with pytest.raises(CheckpointError, match="character device"):
        export_model(run / "checkpoint.pt", dev)
    assert stat.S_ISCHR(os.stat(dev).st_mode) and stat.S_ISCHR(os.stat(node).st_mode)


def test_sample_writes_through_a_symlink_and_keeps_it(run, tmp_path):
    target, link = tmp_path / "real.png", tmp_path / "link.png"
    link.symlink_to(target)
    assert main(["sample", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(link), "--rows", "1"]) == 0
    assert link.is_symlink() and target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# 2. --resume --epochs counts with the run's batch size
def test_resume_epochs_counts_at_the_runs_batch_size(tmp_path, capsys):
    assert train(tmp_path, "--steps", "1", "--batch-size", "128") == 0
    # 9,000 bundled training images: 70 steps an epoch at batch 128 (281 at the profile's 32)
    assert train(tmp_path, "--resume", "--epochs", "0.03") == 0
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 2  # round(0.03 * 70), not 8
    capsys.readouterr()
    assert train(tmp_path, "--resume", "--epochs", "0.01") == 2
    err = capsys.readouterr().err
    assert "batch size 128" in err and "--batch-size 32" not in err


# 3. a checkpoint corrupted in place
def _spoil(path, n=4096):
    """Set n bytes of the largest tensor stored in a torch zip file to 0xFF, in place (as a bad disk would)."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        f.seek(info.header_offset + 30 + name_len + extra_len + 64)
        f.write(b"\xff" * n)


def test_a_checkpoint_corrupted_in_place_is_refused_everywhere(tmp_path, capsys):
    assert train(tmp_path, "--steps", "2", "--export", str(tmp_path / "model.pt")) == 0
    ckpt = tmp_path / "run" / "checkpoint.pt"
    for path in (ckpt, tmp_path / "model.pt"):
        assert "checksum" in torch.load(path, weights_only=True, mmap=True)
        _spoil(path)
        with pytest.raises(CheckpointError, match="corrupt"):
            read_checkpoint(path)
        capsys.readouterr()
        assert main(["evaluate", "--checkpoint", str(path)]) == 2
        assert main(["sample", "--checkpoint", str(path), "--out", str(tmp_path / "s.png")]) == 2
        assert "corrupt" in capsys.readouterr().err and not (tmp_path / "s.png").exists()
    assert train(tmp_path, "--resume", "--steps", "4") == 2
    assert "last good checkpoint" not in capsys.readouterr().err


def test_an_old_checkpoint_without_checksum_is_read_and_its_nan_weights_refused(run, tmp_path):
    old = {k: v for k, v in torch.load(run / "checkpoint.pt", weights_only=True).items() if k != "checksum"}
    torch.save(old, tmp_path / "old.pt")
    read_checkpoint(tmp_path / "old.pt")  # no checksum: accepted when finite
    next(iter(old["G"].values())).fill_(float("nan"))
    torch.save(old, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match="NaN"):
        read_checkpoint(tmp_path / "nan.pt")
    from infogan_tutorial.checkpoints import with_checksum

    torch.save(with_checksum(old), tmp_path / "nan-summed.pt")  # NaN written on purpose, with its checksum: intact,
    with pytest.raises(CheckpointError, match="no network can be used from it"):  # but no network can use it
        read_checkpoint(tmp_path / "nan-summed.pt")


def test_evaluate_prints_valid_json_when_the_bound_is_not_finite(run, monkeypatch, capsys):
    from infogan_tutorial.objectives import InfoBound

    monkeypatch.setattr(cli, "estimate_info_bound", lambda *a, **k: InfoBound(torch.tensor(float("nan")),
                                                                             torch.tensor(float("inf"))))
    assert main(["evaluate", "--checkpoint", str(run / "checkpoint.pt")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1], parse_constant=pytest.fail)
    assert out["info_cat"] is None and out["info_cont"] is None


# 4. batch size 1
def test_batch_size_one_is_refused_before_training(tmp_path, capsys):
    with pytest.raises(SpecError, match="at least 2"):
        TrainConfig(batch_size=1)
    with pytest.raises(SystemExit) as e:
        train(tmp_path, "--batch-size", "1")
    assert e.value.code == 2 and "must be >= 2" in capsys.readouterr().err


# 5 and 6. images on the wrong scale, dtype or container; counts and ids out of range
def test_images_on_the_wrong_scale_are_refused_with_the_fix(pretrained, test_set):
    x, y = test_set.images[:200], test_set.labels[:200]
    with pytest.raises(SpecError, match=r"x \* 2 - 1"):
        categorical_accuracy(pretrained.D, (x + 1) / 2, y)
    with pytest.raises(SpecError, match=r"x / 127.5 - 1"):
        categorical_accuracy(pretrained.D, (x + 1) * 127.5, y)
    with pytest.raises(SpecError, match=r"\[-1, 1\]"):
        predict_categories(pretrained.D, x * 3)
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=8, log_every=1, checkpoint_every=0))
    with pytest.raises(SpecError, match=r"127.5"):
        fit(state, (x + 1) * 127.5, progress=False)
    assert state.step == 0


def test_the_evaluation_api_takes_any_float_dtype_and_numpy_and_refuses_the_rest(pretrained, test_set):
    x, y = test_set.images[:100], test_set.labels[:100]
    want = categorical_accuracy(pretrained.D, x, y).accuracy
    for images in (x.double(), x.half(), x.numpy(), x.numpy().astype(np.float64)):
        assert categorical_accuracy(pretrained.D, images, y.numpy()).accuracy == pytest.approx(want, abs=0.02)
    with pytest.raises(SpecError, match="127.5"):
        categorical_accuracy(pretrained.D, ((x + 1) * 127.5).to(torch.uint8), y)
    with pytest.raises(SpecError, match="no images"):
        categorical_accuracy(pretrained.D, x[:0], y[:0])
    with pytest.raises(SpecError, match="unsqueeze"):
        predict_categories(pretrained.D, x[:, 0])
    with pytest.raises(SpecError, match="one label per image"):
        categorical_accuracy(pretrained.D, x, y[:50])
    for bad in (0, -3, 2.5):
        with pytest.raises(SpecError, match="batch_size"):
            predict_categories(pretrained.D, x, batch_size=bad)
    assert torch.equal(predict_categories(pretrained.D, x, batch_size=np.int64(7)), predict_categories(pretrained.D, x))


def test_hungarian_accuracy_refuses_huge_ids_instead_of_allocating_them():
    with pytest.raises(SpecError, match="np.unique"):
        hungarian_accuracy([0, 2**40], [0, 1])
    assert hungarian_accuracy(np.array([0, 1]), np.array([1, 0]), n_clusters=np.int64(2)).accuracy == 1.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_load_pretrained_on_a_missing_cuda_says_so():
    with pytest.raises(SpecError, match="CUDA is not available"):
        load_pretrained(device="cuda")
    with pytest.raises(SpecError, match="unknown device"):
        load_pretrained(device="gpu0")


def test_numpy_integers_are_taken_where_whole_numbers_are_expected(pretrained):
    config = TrainConfig(steps=np.int64(3), batch_size=np.int32(8))
    assert config.steps == 3 and type(config.steps) is int
    score = score_fresh_samples(pretrained.G, pretrained.D, pretrained.spec, np.int64(10), batch_size=np.int64(5))
    assert score.n == 10


# 7. temporary names
def test_temporary_names_are_unique_and_stale_ones_are_still_cleaned(tmp_path):
    from infogan_tutorial.checkpoints import temporary_name

    target = tmp_path / "samples.png"
    a, b = temporary_name(target), temporary_name(target)
    assert a != b and f"-{os.getpid()}-" in a.name
    dead = tmp_path / ".samples.png.tmp-999999999-abcd"
    dead.write_text("half a file")
    assert remove_stale_temporaries(target) == [dead]


# 8. eval.jsonl after kill -9 and --resume
def test_resume_drops_the_scores_of_steps_the_checkpoint_lost(tmp_path):
    assert train(tmp_path, "--steps", "2", "--eval-every", "1") == 0
    log = tmp_path / "run" / "eval.jsonl"
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines()]
    assert steps == [1, 2]
    with open(log, "a") as f:  # what a run killed after scoring steps 3 and 4, before their checkpoint, leaves
        f.write(json.dumps({"step": 3, "accuracy": 0.5}) + "\n" + json.dumps({"step": 4, "accuracy": 0.5}) + "\n")
    assert train(tmp_path, "--resume", "--steps", "4", "--eval-every", "1") == 0
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2, 3, 4]


# 9. the explorer's export
@pytest.mark.parametrize("kind", ["fp16", "int8"])
def test_web_export_refuses_a_model_it_would_requantise(tmp_path, kind, capsys):
    folder = tmp_path / "model"
    folder.mkdir()
    export_model(PRETRAINED_DIR / "infogan-mnist.pt", folder / "infogan-mnist.pt", int8=kind == "int8")
    with pytest.raises(SpecError, match="not a 4-bit export"):
        web_export.build_assets(folder)
    assert web_export.main(["--check", "--model-dir", str(folder)]) == 2
    assert "not a 4-bit export" in capsys.readouterr().err


def test_web_export_check_of_a_missing_model_is_one_line(tmp_path, capsys):
    assert web_export.main(["--check", "--model-dir", str(tmp_path / "nonexistent")]) == 2
    err = capsys.readouterr().err
    assert "is missing" in err and "Traceback" not in err


# 10. outputs judged by content, and the run's own files
def test_export_into_the_runs_own_folder_or_files_is_refused_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(tmp_path, "--export", str(out)) == 2
    assert train(tmp_path, "--export", str(out / "metrics.json")) == 2
    assert "run's own" in capsys.readouterr().err and not out.exists()


def test_export_does_not_overwrite_a_file_that_is_not_a_model(tmp_path, capsys):
    notes = tmp_path / "notes.pt"  # named like a model, but holding notes
    notes.write_text("my notes")
    assert train(tmp_path, "--steps", "1", "--export", str(notes)) == 2
    assert notes.read_text() == "my notes" and "is not a model this package wrote" in capsys.readouterr().err
    text = tmp_path / "notes.txt"  # a name of another format is refused by its name, before anything is read
    text.write_text("my notes")
    assert train(tmp_path, "--steps", "1", "--export", str(text)) == 2
    assert text.read_text() == "my notes" and "writes a torch file" in capsys.readouterr().err


def test_sample_judges_an_existing_file_by_its_content_and_writes_only_png(run, tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    assert main(["sample", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(fake)]) == 2
    assert fake.read_text() == "not an image" and "not a PNG" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "new.jpg")]) == 2
    assert ".png" in capsys.readouterr().err and not (tmp_path / "new.jpg").exists()
    ok = tmp_path / "again.png"
    for _ in range(2):  # a PNG it wrote may be replaced
        assert main(["sample", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(ok), "--rows", "1"]) == 0


# also
def test_resume_on_changed_training_files_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8), np.arange(64, dtype=np.uint8) % 10
    write_idx(tmp_path / "d", "train", images, labels)
    assert train(tmp_path, "--dataset", "idx", "--data-dir", str(tmp_path / "d"), "--steps", "1") == 0
    images[0] = 255 - images[0]
    write_idx(tmp_path / "d", "train", images, labels)
    capsys.readouterr()
    assert train(tmp_path, "--resume", "--steps", "2") == 2
    assert "have changed" in capsys.readouterr().err


def test_no_info_with_terms_on_real_images_is_refused(tmp_path, capsys):
    assert train(tmp_path, "--no-info", "--lambda-invariant", "1") == 2
    assert "--lambda-invariant" in capsys.readouterr().err and not (tmp_path / "run").exists()
    assert train(tmp_path, "--no-info", "--lambda-invariant", "0", "--steps", "1") == 0  # 0 is the plain GAN's


def test_evaluate_scores_a_fashion_run_on_fashion_by_default(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "fashion-sample", "--steps", "1") == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run" / "checkpoint.pt")]) == 0
    assert "Fashion" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["data"]


def test_a_run_interrupted_after_its_last_step_writes_its_report_on_resume(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "categorical_accuracy", interrupted)  # after fit's final checkpoint
    assert train(tmp_path, "--steps", "2", "--export", str(tmp_path / "m.pt")) == 130
    monkeypatch.undo()
    run = tmp_path / "run"
    assert read_checkpoint(run / "checkpoint.pt")["step"] == 2 and not (run / "metrics.json").exists()
    assert train(tmp_path, "--resume", "--export", str(tmp_path / "m.pt")) == 0
    assert json.loads((run / "metrics.json").read_text())["step"] == 2 and (tmp_path / "m.pt").is_file()


def test_ctrl_c_in_evaluate_does_not_speak_of_a_training_run(run, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "categorical_accuracy", interrupted)
    assert main(["evaluate", "--checkpoint", str(run / "checkpoint.pt")]) == 130
    err = capsys.readouterr().err
    assert "training" not in err and "evaluate" in err
