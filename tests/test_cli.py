import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from infogan_tutorial.cli import main

REPO = Path(__file__).resolve().parents[1]


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(images)
    header = bytes([0, 0, 8, 3]) + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + labels.tobytes())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--profile", "smoke", "--out", str(out), "--quiet", "--steps", "4",
                 "--export", str(out / "model.pt")]) == 0
    return out


def test_train_writes_checkpoint_history_metrics_and_figures(trained):
    assert (trained / "checkpoint.pt").is_file() and (trained / "model.pt").is_file()
    history = json.loads((trained / "history.json").read_text())
    assert history["step"][-1] == 4
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["n"] == 1000 and 0 <= metrics["accuracy"] <= 1
    assert sorted(p.name for p in (trained / "figures").iterdir()) == [
        "info_bound.png", "traversal_c1.png", "traversal_c2.png", "traversal_c3.png"]
    assert not [p for p in trained.rglob("*tmp*")]


def test_resume_continues_and_a_second_train_without_resume_is_refused(trained, capsys):
    assert main(["train", "--profile", "smoke", "--out", str(trained), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--profile", "smoke", "--out", str(trained), "--quiet", "--resume", "--steps", "6",
                 "--no-figures"]) == 0
    assert "Resuming" in capsys.readouterr().out
    assert json.loads((trained / "history.json").read_text())["step"][-1] == 6


@pytest.mark.parametrize("model", ["checkpoint.pt", "model.pt"])
def test_evaluate_prints_json_last_on_an_idx_folder(trained, tmp_path, capsys, model):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "idx", "t10k", rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
              (np.arange(30) % 10).astype(np.uint8))
    assert main(["evaluate", "--checkpoint", str(trained / model), "--data-dir", str(tmp_path / "idx")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 30 and 0 <= result["accuracy"] <= 1
    assert np.array(result["confusion"]).shape == (10, 10) and np.array(result["confusion"]).sum() == 30


def test_sample_writes_pngs(trained, tmp_path):
    for code in ("random", "c1", "c3"):
        out = tmp_path / f"{code}.png"
        assert main(["sample", "--checkpoint", str(trained / "model.pt"), "--code", code, "--rows", "3",
                     "--out", str(out)]) == 0
        assert out.read_bytes()[:4] == b"\x89PNG"
    assert main(["sample", "--checkpoint", str(trained / "model.pt"), "--code", "c9", "--out",
                 str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()


def test_user_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no checkpoint at") and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["train", "--no-such-option"])
    assert e.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_module_entry_point_end_to_end(tmp_path):
    env = {**os.environ, "INFOGAN_PROFILE": "smoke"}
    run = subprocess.run([sys.executable, "-m", "infogan_tutorial", "train", "--out", "run", "--quiet",
                          "--steps", "2", "--no-figures"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "infogan_tutorial", "evaluate", "--checkpoint",
                          str(tmp_path / "run" / "checkpoint.pt")], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["n"] == 1000
    help_text = subprocess.run([sys.executable, "-m", "infogan_tutorial", "train", "--help"],
                               capture_output=True, text=True).stdout
    for option in ("--dataset", "--data-dir", "--profile", "--steps", "--epochs", "--seed", "--device", "--out",
                   "--resume"):
        assert option in help_text


def test_recipe_flags_reach_the_checkpoint_and_int8_export_is_half_the_size(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--profile", "smoke", "--out", str(out), "--quiet", "--steps", "2", "--no-figures",
                 "--lambda-real", "0", "--lr-g", "5e-4", "--lr-d", "1e-4", "--threads", "1",
                 "--export", str(tmp_path / "fp16.pt")]) == 0
    config = torch.load(out / "checkpoint.pt", weights_only=True)["config"]
    assert (config["lambda_real"], config["lr_g"], config["lr_d"]) == (0.0, 5e-4, 1e-4)
    assert config["precision"] == "auto"
    for precision, expected in (("fp32", "fp32"), ("bf16", "bf16")):
        assert main(["train", "--profile", "smoke", "--out", str(tmp_path / precision), "--quiet", "--steps", "1",
                     "--no-figures", "--precision", precision]) == 0
        config = torch.load(tmp_path / precision / "checkpoint.pt", weights_only=True)["config"]
        assert config["precision"] == expected
    assert main(["train", "--profile", "smoke", "--out", str(tmp_path / "run8"), "--quiet", "--steps", "2",
                 "--no-figures", "--export", str(tmp_path / "int8.pt"), "--int8"]) == 0
    assert (tmp_path / "int8.pt").stat().st_size < 0.55 * (tmp_path / "fp16.pt").stat().st_size
    assert main(["evaluate", "--checkpoint", str(tmp_path / "int8.pt"), "--n", "50"]) == 0
    assert main(["train", "--profile", "smoke", "--out", str(tmp_path / "run4"), "--quiet", "--steps", "2",
                 "--no-figures", "--export", str(tmp_path / "int4.pt"), "--int4"]) == 0
    assert (tmp_path / "int4.pt").stat().st_size < 0.3 * (tmp_path / "fp16.pt").stat().st_size
    assert main(["evaluate", "--checkpoint", str(tmp_path / "int4.pt"), "--n", "50"]) == 0
    with pytest.raises(SystemExit):  # argparse: --int8 and --int4 exclude each other
        main(["train", "--out", str(tmp_path / "both"), "--export", str(tmp_path / "b.pt"), "--int8", "--int4"])


def test_bad_thread_count_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:  # refused by the option parser, before any work
        main(["train", "--profile", "smoke", "--out", str(tmp_path), "--threads", "0"])
    assert exit_.value.code == 2
    assert "argument --threads: 0 must be >= 1" in capsys.readouterr().err


def test_eval_every_scores_c1_during_training_into_eval_jsonl(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--profile", "smoke", "--out", str(out), "--quiet", "--steps", "7", "--no-figures",
                 "--eval-every", "3", "--lambda-invariant", "1"]) == 0  # smoke logs every 3 steps
    lines = [json.loads(line) for line in (out / "eval.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [3, 6]
    assert all(line["n"] == 1000 and 0 <= line["accuracy"] <= 1 for line in lines)
    assert all(0 <= line["invariant_info"] <= math.log(10) for line in lines)  # the label-free score
    assert 0 < lines[0]["train_seconds"] < lines[1]["train_seconds"]  # training time, for the time to 95 %
    assert "step 6: c1 accuracy" in capsys.readouterr().out
    assert torch.load(out / "checkpoint.pt", weights_only=True)["config"]["lambda_invariant"] == 1.0
    assert main(["train", "--profile", "smoke", "--out", str(out), "--quiet", "--steps", "13", "--no-figures",
                 "--resume", "--eval-every", "3"]) == 0  # resumed at 7: scores 9 and 12, not 6 again
    assert [json.loads(line)["step"] for line in (out / "eval.jsonl").read_text().splitlines()] == [3, 6, 9, 12]
    with pytest.raises(SystemExit) as exit_:  # refused by the option parser, before any work
        main(["train", "--profile", "smoke", "--out", str(tmp_path / "bad"), "--eval-every", "-1"])
    assert exit_.value.code == 2
    assert "argument --eval-every: -1 must be >= 0" in capsys.readouterr().err


def test_a_command_that_fails_leaves_no_empty_folder_it_made(tmp_path, monkeypatch):
    """Issue 26, the thirteenth tester: `train --export a/b/m.pt` stopped by a bad --eval-dir left a/b behind.
    Folders the command made and left empty go; folders that existed, or hold anything, stay."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept").mkdir()
    code = main(["train", "--profile", "smoke", "--steps", "2", "--out", "kept/run", "--export", "a/b/m.pt",
                 "--eval-dir", str(tmp_path / "nowhere"), "--quiet", "--no-figures"])
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"] and not any((tmp_path / "kept").iterdir())
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "notes.txt").write_text("mine")
    code = main(["train", "--profile", "smoke", "--steps", "2", "--out", "run", "--export", "a/b/c/m.pt",
                 "--eval-dir", str(tmp_path / "nowhere"), "--quiet", "--no-figures"])
    assert code == 2 and (tmp_path / "a" / "b").is_dir() and not (tmp_path / "a" / "b" / "c").exists()
    assert (tmp_path / "a" / "notes.txt").read_text() == "mine"


def test_minus_zero_is_recorded_as_zero():
    """The thirteenth tester: `--lambda-cat -0` was recorded (and printed) as -0.0."""
    from infogan_tutorial.cli import NON_NEGATIVE, POSITIVE
    assert str(NON_NEGATIVE("-0")) == "0.0" and str(NON_NEGATIVE("-0.0e3")) == "0.0" and POSITIVE("2.5") == 2.5


def test_resume_names_what_it_cannot_take_from_the_checkpoint(tmp_path, monkeypatch, capsys):
    """The fourteenth tester: a run written by fit (no data record) was resumed on MNIST without a word, and
    `--resume --profile cpu` of a batch-32 run trained nothing and said nothing (now it says why)."""
    from infogan_tutorial import LatentSpec, TrainConfig, create_state, fit
    from infogan_tutorial.data import load_dataset
    monkeypatch.chdir(tmp_path)
    images = load_dataset("fashion-sample", verbose=False).images[:64]
    fit(create_state(LatentSpec(), TrainConfig(steps=2, batch_size=8, log_every=1)), images, out_dir="api",
        progress=False)
    assert main(["train", "--quiet", "--no-figures", "--out", "api", "--resume", "--steps", "3"]) == 2
    assert "--dataset" in capsys.readouterr().err
    assert main(["train", "--profile", "smoke", "--out", "small", "--quiet", "--no-figures", "--steps", "2",
                 "--batch-size", "4"]) == 0
    assert main(["train", "--out", "small", "--quiet", "--no-figures", "--resume", "--profile", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "--profile cpu trains at batch 64 for 270 steps; this run goes on with its own recipe (batch 4, 2 steps)" \
        in out and "is complete (step 2 of 2)" in out


def test_a_model_without_categorical_code_resumes_and_reports_without_c1(tmp_path, monkeypatch, capsys):
    """The fourteenth tester: such a run (made with the API) trained on, then exited 2 at the c1 score, with no
    metrics.json and no figures."""
    from infogan_tutorial import LatentSpec, TrainConfig, create_state, fit
    from infogan_tutorial.data import load_dataset
    monkeypatch.chdir(tmp_path)
    images = load_dataset("sample", verbose=False).images[:64]
    fit(create_state(LatentSpec(categorical=(), n_continuous=2), TrainConfig(steps=2, batch_size=8, log_every=1)),
        images, out_dir="nocat", progress=False)
    assert main(["train", "--quiet", "--out", "nocat", "--resume", "--steps", "3", "--dataset", "sample",
                 "--eval-every", "1"]) == 0
    assert "no categorical code" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "nocat" / "metrics.json").read_text())
    assert metrics["step"] == 3 and metrics["accuracy"] is None and (tmp_path / "nocat" / "figures").is_dir()


def test_a_file_that_is_no_checkpoint_is_named_as_such(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_text("my notes")
    assert main(["train", "--profile", "smoke", "--steps", "2", "--out", "run"]) == 2
    assert "is no checkpoint" in capsys.readouterr().err and (tmp_path / "run" / "checkpoint.pt").read_text() == "my notes"


def test_load_pretrained_given_the_file_says_to_pass_its_folder():
    from infogan_tutorial.errors import CheckpointError
    from infogan_tutorial.pretrained import PRETRAINED_DIR, load_pretrained
    with pytest.raises(CheckpointError, match="is a file; pass the folder"):
        load_pretrained(folder=PRETRAINED_DIR / "infogan-mnist.pt")
