"""Nothing silent, nothing lost: bad input and faults against the command line and the API.

Each test names the defect it guards against (issue 14); every one failed on the code before it.
"""

import json
import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from infogan_tutorial import objectives, training
from infogan_tutorial.cli import main
from infogan_tutorial.data import load_dataset, load_idx_folder
from infogan_tutorial.errors import DataError, SpecError, TrainingDiverged
from infogan_tutorial.evaluation import estimate_info_bound, hungarian_accuracy
from infogan_tutorial.latent_codes import Codes, LatentSpec
from infogan_tutorial.networks import build_networks
from infogan_tutorial.training import TrainConfig, create_state, fit, resume_state

from test_cli import write_idx


@pytest.fixture(scope="module")
def images(images):  # conftest's, shortened here
    return images[:400]


def params(state):
    return [p.detach().clone() for p in (*state.G.state_dict().values(), *state.D.state_dict().values())]


def train(tmp_path, *extra: str, out: str = "run") -> int:
    return main(["train", "--profile", "smoke", "--out", str(tmp_path / out), "--quiet", "--no-figures", *extra])


# 1. a subset must never be one class
def test_evaluate_n_scores_a_random_subset_of_every_class(tmp_path, capsys):
    assert train(tmp_path, "--steps", "1") == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run" / "checkpoint.pt"), "--n", "100"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    per_label = np.array(result["confusion"]).sum(axis=1)
    assert result["n"] == 100 and (per_label > 0).sum() >= 8  # the sorted files' first 100 are all zeros


# 2 and 7. interrupts land on a step boundary
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_step_saves_the_step_boundary_and_resumes_the_same_run(images, tmp_path, monkeypatch, sig):
    config = TrainConfig(steps=6, batch_size=16, seed=3, log_every=3, checkpoint_every=0)
    full = create_state(LatentSpec(), config, "cpu")
    fit(full, images, progress=False)

    part, calls = create_state(LatentSpec(), config, "cpu"), [0]
    loss = objectives.generator_loss

    def signalled(logit):  # G's loss, half-way through step 4: D has stepped, G has not
        calls[0] += 1
        if calls[0] == 4:
            os.kill(os.getpid(), sig)
        return loss(logit)

    monkeypatch.setattr(training, "generator_loss", signalled)
    with pytest.raises(KeyboardInterrupt):
        fit(part, images, tmp_path, progress=False)
    monkeypatch.setattr(training, "generator_loss", loss)
    resumed = resume_state(tmp_path / "checkpoint.pt")
    assert resumed.step == 4  # the interrupted step was finished, then saved
    fit(resumed, images, progress=False)
    for a, b in zip(params(full), params(resumed)):
        assert torch.equal(a, b)
    assert resumed.history == full.history  # step 4 fell between two reads (3, 6): the window is kept
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers given back


# 3. a run owns its folder
def test_a_second_training_into_a_busy_folder_stops_and_a_stale_lock_is_recovered(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    busy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "run" / ".lock").write_text(str(busy.pid))
        assert train(tmp_path, "--steps", "1") == 2
        assert f"another training (process {busy.pid}) is writing to" in capsys.readouterr().err
        assert not (tmp_path / "run" / "checkpoint.pt").exists()
    finally:
        busy.kill()
        busy.wait()
    assert train(tmp_path, "--steps", "1") == 0  # its process is gone: the lock is stale
    assert not (tmp_path / "run" / ".lock").exists()


# 4. --resume keeps the run's recipe and data
@pytest.mark.parametrize("option", [["--batch-size", "16"], ["--lambda-invariant", "1"], ["--lr-g", "5e-4"],
                                    ["--seed", "2"], ["--no-info"], ["--precision", "fp32"]])
def test_resume_refuses_options_that_change_the_run(tmp_path, capsys, option):
    assert train(tmp_path, "--steps", "2") == 0
    assert train(tmp_path, "--resume", "--steps", "3", *option) == 2
    err = capsys.readouterr().err
    assert f"{option[0]} (" in err and "start a new run with another --out" in err
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 2


def test_resume_keeps_the_runs_data_and_steps_and_refuses_other_data(tmp_path, capsys):
    assert train(tmp_path, "--steps", "2", "--batch-size", "16", "--seed", "5") == 0
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["data"]["dataset"] == "sample" and "MNIST sample" in ckpt["data"]["source"]
    assert train(tmp_path, "--resume", "--dataset", "fashion-sample", "--steps", "3") == 2
    assert "--resume continues it on the same data" in capsys.readouterr().err
    assert train(tmp_path, "--resume", "--steps", "1") == 2  # fewer than the run has done
    assert "at step 2 already" in capsys.readouterr().err
    assert train(tmp_path, "--resume", "--steps", "2") == 0  # the same command again: the report (tester 3)
    assert "is complete (step 2 of 2); writing its report" in capsys.readouterr().out
    assert train(tmp_path, "--resume") == 0  # no --steps: a complete run only writes its report (issue 26)
    assert "is complete (step 2 of 2); writing its report" in capsys.readouterr().out
    assert train(tmp_path, "--resume", "--steps", "3") == 0
    assert "batch 16, seed 5" in capsys.readouterr().out
    config = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["config"]
    assert (config["steps"], config["batch_size"], config["seed"]) == (3, 16, 5)


# 5 and 6. numbers
@pytest.mark.parametrize("option", [["--lambda-cont", "nan"], ["--lr-d", "inf"], ["--lr-g", "0"], ["--steps", "0"],
                                    ["--batch-size", "0"], ["--checkpoint-every", "-1"], ["--epochs", "-1"],
                                    ["--epochs", "nan"], ["--steps", "2.5"], ["--seed", "-1"], ["--threads", "0"],
                                    ["--eval-every", "-5"], ["--lambda-cat", "-1"], ["--batch-size", "many"]])
def test_bad_numbers_are_refused_before_any_work(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as exit_:
        train(tmp_path, *option)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option[0]}" in err and "--help" in err
    assert not (tmp_path / "run").exists()


def test_a_diverged_run_stops_naming_the_step_and_keeps_the_last_good_checkpoint(images, tmp_path, monkeypatch):
    state = create_state(LatentSpec(), TrainConfig(steps=12, batch_size=16, log_every=2, checkpoint_every=4), "cpu")
    loss = objectives.discriminator_loss
    calls = [0]

    def diverging(real_logit, fake_logit):
        calls[0] += 1
        return loss(real_logit, fake_logit) * (math.nan if calls[0] >= 6 else 1.0)

    monkeypatch.setattr(training, "discriminator_loss", diverging)
    with pytest.raises(TrainingDiverged, match="diverged before step 6.*keeps the last good checkpoint") as e:
        fit(state, images, tmp_path, progress=False)
    assert "Start again with lower" in str(e.value) and "a resume repeats the same steps" in str(e.value)
    saved = resume_state(tmp_path / "checkpoint.pt")
    assert saved.step == 4 and all(math.isfinite(v) for v in saved.history["loss_d"])


# 8 and 9. options that would be ignored; outputs checked before training
def test_data_dir_without_a_folder_source_and_bad_outputs_fail_at_once(tmp_path, capsys):
    assert train(tmp_path, "--data-dir", str(tmp_path)) == 2
    assert "--data-dir is read only with --dataset idx" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert train(tmp_path, out="file") == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert train(tmp_path, "--export", str(tmp_path)) == 2
    assert "--export" in capsys.readouterr().err and not (tmp_path / "run" / "checkpoint.pt").exists()
    assert main(["train", "--profile", "smoke", "--out", "/proc/infogan-run", "--quiet"]) == 2
    assert "cannot create the folder /proc/infogan-run for --out" in capsys.readouterr().err


def test_sample_refuses_a_folder_and_an_unknown_code_and_leaves_nothing_behind(tmp_path, capsys):
    assert train(tmp_path, "--steps", "1") == 0
    ckpt = str(tmp_path / "run" / "checkpoint.pt")
    (tmp_path / "pics").mkdir()
    assert main(["sample", "--checkpoint", ckpt, "--out", str(tmp_path / "pics")]) == 2
    assert "is a folder" in capsys.readouterr().err and list((tmp_path / "pics").iterdir()) == []
    assert main(["sample", "--checkpoint", ckpt, "--code", "zfoo", "--out", str(tmp_path / "s.png")]) == 2
    assert "this model's codes are ['c1', 'c2', 'c3']" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pics", "run"]


# 11. IDX files with no images
def test_idx_files_of_zero_images_are_a_data_error_before_training(tmp_path, capsys):
    write_idx(tmp_path / "empty", "t10k", np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    with pytest.raises(DataError, match="hold 0 images"):
        load_idx_folder(tmp_path / "empty")
    assert train(tmp_path, "--eval-dir", str(tmp_path / "empty")) == 2
    assert "hold 0 images" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


# 12. the API's smaller holes
@pytest.mark.parametrize("kwargs", [{"categorical": (2.7,)}, {"categorical": ("10",)}, {"categorical": 10},
                                    {"continuous_range": (-math.inf, math.inf)}, {"continuous_range": (0, math.nan)},
                                    {"continuous_range": (1.0,)}, {"noise_dim": 2.0}])
def test_odd_specs_raise_spec_errors(kwargs):
    with pytest.raises(SpecError):
        LatentSpec(**kwargs)


def test_spec_dicts_scores_and_category_dtypes():
    with pytest.raises(SpecError, match=r"\['n_continuous'\] missing"):
        LatentSpec.from_dict({"noise_dim": 62, "categorical": [10], "continuous_range": [-1, 1]})
    with pytest.raises(SpecError, match="whole numbers"):
        hungarian_accuracy(np.array([0.2, 1.7, 1.0]), np.array([0, 1, 1]))
    assert hungarian_accuracy(np.array([0.0, 1.0, 1.0]), np.array([1, 0, 0])).accuracy == 1.0
    spec = LatentSpec()
    G, D = build_networks(spec)
    with pytest.raises(SpecError, match="n >= 1"):
        estimate_info_bound(G, D, spec, n=0)
    codes = spec.sample(4, torch.Generator().manual_seed(0))
    for dtype in (torch.int8, torch.int32, torch.uint8):  # any integer indices work and give the same input
        other = Codes(codes.z, codes.categorical.to(dtype), codes.continuous)
        assert torch.equal(spec.to_input(other), spec.to_input(codes))
    with pytest.raises(SpecError, match="integer category indices"):
        spec.to_input(Codes(codes.z, codes.categorical.float(), codes.continuous))


# Found by a tester who had not read the code (session of 2026-12-01)
@pytest.mark.parametrize("argv", [["train", "--seed", str(2**64)], ["train", "--lr-g", "1e300"],
                                  ["evaluate", "--checkpoint", "x.pt", "--seed", str(2**64)],
                                  ["sample", "--checkpoint", "x.pt", "--rows", "100000"]])
def test_huge_numbers_are_refused_by_the_parser(argv, capsys):
    if argv[0] == "train":  # lr: refused by TrainConfig (exit 2 with a message), seed: by the parser
        argv = [*argv, "--profile", "smoke", "--out", "/tmp/never-written", "--quiet"]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2 and "must be" in capsys.readouterr().err
    assert not os.path.exists("/tmp/never-written")


def test_outputs_that_would_destroy_work_are_refused(tmp_path, capsys):
    assert train(tmp_path, "--steps", "1") == 0
    ckpt = tmp_path / "run" / "checkpoint.pt"
    before = ckpt.read_bytes()
    assert train(tmp_path, "--steps", "1", "--export", str(ckpt), out="other") == 2
    assert "is a resumable training checkpoint" in capsys.readouterr().err
    assert train(tmp_path, "--resume", "--steps", "2", "--export", str(ckpt)) == 2
    assert "is one of the run's own files" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(ckpt)]) == 2
    assert "is a resumable training checkpoint" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["sample", "--checkpoint", str(ckpt), "--out", str(tmp_path / "notes.txt")]) == 2
    assert "give a name ending in .png" in capsys.readouterr().err and (tmp_path / "notes.txt").read_text() == "mine"
    assert ckpt.read_bytes() == before and not (tmp_path / "other").exists()
    (tmp_path / "notes.txt").unlink()  # nothing left behind either
    with pytest.raises(SystemExit) as stop:  # the parser refuses an empty path, as it refuses other bad values
        main(["train", "--profile", "smoke", "--out", "", "--quiet"])
    assert stop.value.code == 2 and "argument --out: an empty path names nothing" in capsys.readouterr().err
    assert main(["train", "--profile", "smoke", "--out", ".", "--quiet"]) == 2
    assert "--out needs a folder of its own" in capsys.readouterr().err
    assert train(tmp_path, "--int8", out="int8") == 2
    assert "--int8 applies to the compact model of --export" in capsys.readouterr().err
    assert train(tmp_path, "--dataset", "idx", out="idx") == 2
    assert "--dataset idx reads the IDX files of --data-dir" in capsys.readouterr().err
    assert train(tmp_path, "--resume", "--steps", "2", "--no-info") == 2
    assert "--no-info (not given in the run, given now)" in capsys.readouterr().err


def test_api_values_the_tester_found():
    with pytest.raises(SpecError, match="noise_dim must be a non-negative int"):
        LatentSpec(noise_dim=True)
    with pytest.raises(SpecError, match="below n_clusters = 2"):
        hungarian_accuracy(np.array([0, 5]), np.array([0, 1]), n_clusters=2)
    with pytest.raises(DataError, match="data_dir must be a path"):
        load_dataset("idx", data_dir=5)
    spec = LatentSpec()
    G, D = build_networks(spec)
    with pytest.raises(SpecError, match="batch_size must be"):
        estimate_info_bound(G, D, spec, n=4, batch_size=0)
    with pytest.raises(SpecError, match=r"lr_g must be in \(0, 1\]"):
        TrainConfig(lr_g=1e300)


# Found by a second tester pass (session of 2026-12-01)
def test_second_pass_command_line(tmp_path, capsys):
    assert train(tmp_path, "--steps", "3", "--epochs", "1") == 2
    assert "--steps and --epochs both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train(tmp_path, "--threads", "100000")  # segfaulted inside torch before
    assert "must be <= 1024" in capsys.readouterr().err
    long = "x" * 300
    assert main(["evaluate", "--checkpoint", str(tmp_path / f"{long}.pt")]) == 2
    assert "File name too long" in capsys.readouterr().err
    assert train(tmp_path, "--steps", "2", "--precision", "fp16") == 0
    assert "applies on a CUDA GPU" in capsys.readouterr().out
    assert train(tmp_path, "--steps", "2", "--precision", "bf16", out="bf16") == 0  # bf16 on the CPU: as asked
    assert "applies on a CUDA GPU" not in capsys.readouterr().out
    assert train(tmp_path, "--steps", "4", "--eval-every", "2", out="ev") == 0  # scored at 2 and 4, not 3 and 4
    assert [json.loads(line)["step"] for line in (tmp_path / "ev" / "eval.jsonl").read_text().splitlines()] == [2, 4]


def test_a_resumed_run_scores_on_its_own_eval_dir(tmp_path):
    fashion = os.path.join(os.path.dirname(__file__), "..", "data", "fashion-sample")
    assert train(tmp_path, "--steps", "3", "--eval-every", "3", "--eval-dir", fashion) == 0
    assert train(tmp_path, "--resume", "--steps", "6", "--eval-every", "3") == 0
    lines = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [3, 6]
    assert lines[0]["eval_data"] == lines[1]["eval_data"] and "fashion-sample" in lines[1]["eval_data"]


def test_second_pass_api(images, tmp_path):
    from infogan_tutorial.checkpoints import read_checkpoint
    from infogan_tutorial.errors import CheckpointError
    from infogan_tutorial.export import export_model
    from infogan_tutorial.training import save_checkpoint

    spec, config = LatentSpec(), TrainConfig(steps=1, batch_size=8, log_every=1, checkpoint_every=0)
    state = create_state(spec, config)
    (tmp_path / "afile").write_text("")
    with pytest.raises(SpecError, match="out_dir .* is a file"):
        fit(state, images, out_dir=tmp_path / "afile", progress=False)
    with pytest.raises(SpecError, match="float tensor"):
        fit(state, (images * 127.5 + 127.5).to(torch.uint8), progress=False)
    with pytest.raises(SpecError, match="float tensor"):
        fit(state, images.tolist(), progress=False)
    with pytest.raises(SpecError, match="cannot train on device 'meta'"):
        create_state(spec, config, device="meta")
    save_checkpoint(state, tmp_path / "c.pt")
    with pytest.raises(SpecError, match="bogus_field"):
        resume_state(tmp_path / "c.pt", bogus_field=3)
    with pytest.raises(CheckpointError, match="resumable training checkpoint"):
        export_model(tmp_path / "c.pt", tmp_path / "c.pt")
    assert "opt_g" in read_checkpoint(tmp_path / "c.pt")  # still resumable
    with pytest.raises(SpecError, match="floating-point"):
        export_model(state, tmp_path / "e.pt", dtype=torch.int32)
    with pytest.raises(SpecError, match="two finite numbers"):
        spec.traversal("c2", values=(math.nan, 2.0))
