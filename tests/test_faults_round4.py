"""Faults the second independent tester found (issue 26), each refused with a message that names the fix.

Every test fails on the code before the fix: a file whose recipe was changed in place was trained with, a
negative number in exponent form was "expected one argument", and the API calls below raised tracebacks
(or, for ``train_step`` on [0, 1] images and ``load_dataset('sample', data_dir=...)``, did the wrong thing
silently).
"""

from __future__ import annotations

import os
import struct
import warnings

import matplotlib
import pytest
import torch

from infogan_tutorial import figures
from infogan_tutorial.checkpoints import read_checkpoint, with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.data import load_dataset
from infogan_tutorial.errors import CheckpointError, DataError, SpecError
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks
from infogan_tutorial.pretrained import gan_control_history, load_pretrained
from infogan_tutorial.training import TrainConfig, create_state, fit, train_step

matplotlib.use("Agg")
SMOKE = ["train", "--profile", "smoke", "--dataset", "sample", "--batch-size", "8", "--quiet", "--no-figures",
         "--device", "cpu"]


@pytest.fixture(scope="module")
def nets():
    spec = LatentSpec()
    G, D = build_networks(spec, None, seed=0)
    return spec, G.eval(), D.eval()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("r4") / "run"
    assert main([*SMOKE, "--steps", "2", "--lr-d", "0.000375", "--out", str(out)]) == 0
    return out


def _replace_in_place(path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) >= 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def test_a_recipe_changed_in_place_is_refused_not_trained_with(run, tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes((run / "checkpoint.pt").read_bytes())
    assert read_checkpoint(path)["config"]["lr_d"] == 0.000375
    _replace_in_place(path, struct.pack(">d", 0.000375), struct.pack(">d", 0.375))  # pickle's BINFLOAT
    with pytest.raises(CheckpointError, match="recipe, step or history"):
        read_checkpoint(path)
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path), "--resume", "--device", "cpu", "--quiet", "--no-figures"]) == 2
    assert "recipe, step or history" in capsys.readouterr().err


def test_the_meta_checksum_covers_nested_values_and_keeps_old_files_readable():
    ckpt = with_checksum({"spec": LatentSpec().to_dict(), "config": {"steps": 4}, "step": 3, "G": {}, "D": {},
                          "history": {"step": [1, 2], "loss_d": [0.5, float("nan")]}})
    for key, value in (("step", 4), ("history", {"step": [1, 3], "loss_d": [0.5, float("nan")]}),
                       ("config", {"steps": 4.0})):
        with pytest.raises(CheckpointError):
            from infogan_tutorial.checkpoints import verify_contents
            verify_contents({**ckpt, key: value})
    from infogan_tutorial.checkpoints import verify_contents
    verify_contents(ckpt)
    verify_contents({k: v for k, v in {**ckpt, "step": 4}.items() if k != "meta_checksum"})  # before meta sums


@pytest.mark.parametrize("value, message", [("-1e-3", "must be > 0"), ("-inf", "not a finite number")])
def test_a_negative_number_in_any_spelling_gets_the_option_s_own_message(capsys, value, message):
    with pytest.raises(SystemExit):
        main(["train", "--lr-d", value])
    err = capsys.readouterr().err
    assert message in err and "expected one argument" not in err


def test_the_largest_seed_trains(tmp_path):
    assert main([*SMOKE, "--steps", "1", "--seed", str(2**63 - 1), "--out", str(tmp_path / "run")]) == 0


@pytest.mark.parametrize("kwargs, message", [({"steps": 2**70}, "at most 1,000,000,000"),
                                             ({"seed": 2**63}, "2\\*\\*63 - 1")])
def test_train_config_refuses_what_a_run_could_never_use(kwargs, message):
    with pytest.raises(SpecError, match=message):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_load_pretrained_says_what_stands_where_the_model_should_be(tmp_path, kind):
    for name in ("infogan-mnist.pt", "gan-control-history.json"):
        (tmp_path / name).mkdir() if kind == "folder" else os.mkfifo(tmp_path / name)
    want = "is a folder" if kind == "folder" else "is a FIFO"
    with pytest.raises(CheckpointError, match=want):
        load_pretrained(folder=tmp_path)
    with pytest.raises(CheckpointError, match=want):
        gan_control_history(tmp_path)


def test_a_damaged_control_history_is_a_checkpoint_error(tmp_path):
    (tmp_path / "gan-control-history.json").write_text('{"step": [1, 2')
    with pytest.raises(CheckpointError, match="damaged"):
        gan_control_history(tmp_path)


def test_load_dataset_refuses_a_folder_it_would_not_read(tmp_path):
    with pytest.raises(DataError, match="does not read data_dir.*load_dataset\\('idx'"):
        load_dataset("sample", data_dir=tmp_path, verbose=False)


def test_train_step_checks_the_first_batch_s_scale_and_fit_past_its_steps_warns():
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu")
    with pytest.raises(SpecError, match=r"\[0, 1\] pixels: use x \* 2 - 1"):
        train_step(state, torch.rand(4, 1, 28, 28))
    train_step(state, torch.rand(4, 1, 28, 28) * 2 - 1)
    state.step = 1
    with pytest.warns(UserWarning, match="already at step 1 of its config's 1"):
        fit(state, torch.rand(8, 1, 28, 28) * 2 - 1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu"), torch.rand(8, 1, 28, 28) * 2 - 1,
            progress=False)


def test_networks_on_the_meta_device_are_refused(nets):
    spec = nets[0]
    G = build_networks(spec)[0].to("meta")
    with pytest.raises(SpecError, match="meta device"):
        figures.generate(G, spec.sample(2))


@pytest.mark.parametrize("call", [lambda G, spec: figures.plot_traversal(G, spec, "c1", ax="x"),
                                  lambda G, spec: figures.plot_images(torch.zeros(2, 1, 28, 28), ax=[1])])
def test_an_ax_that_is_not_matplotlib_s_is_named(nets, call):
    spec, G, _ = nets
    with pytest.raises(SpecError, match="ax must be a matplotlib Axes"):
        call(G, spec)


@pytest.mark.parametrize("G, message", [(torch.nn.Linear(74, 784), "could not take the codes"),
                                        (torch.nn.Identity(), "it must return images of shape \\(2, 1, 28, 28\\)")])
def test_a_module_that_is_no_generator_is_named(nets, G, message):
    with pytest.raises(SpecError, match=message):
        figures.generate(G, nets[0].sample(2))


def test_sizes_that_would_exhaust_memory_are_refused(nets):
    spec, G, _ = nets
    with pytest.raises(SpecError, match="at most 10,000"):
        figures.traverse(G, spec, "c2", steps=10**7)
    with pytest.raises(SpecError, match="at most 100,000"):
        LatentSpec(noise_dim=10**9)


def test_an_out_that_is_only_the_extension_is_named(tmp_path, capsys):
    assert main(["sample", "--checkpoint", "missing.pt", "--out", str(tmp_path / ".png")]) == 2
    assert "names only the extension" in capsys.readouterr().err


# --- the third tester's round ---------------------------------------------------------------------------------

def test_a_new_run_does_not_write_over_another_run_s_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "history.json").write_text('{"mine": 1}')
    assert main([*SMOKE, "--steps", "1", "--out", str(out)]) == 2
    assert "holds history.json" in capsys.readouterr().err and (out / "history.json").read_text() == '{"mine": 1}'


def test_export_refuses_a_file_listed_in_sha256sums(run, tmp_path, capsys):
    shipped = tmp_path / "infogan-mnist.pt"
    from infogan_tutorial.export import export_model
    export_model(run / "checkpoint.pt", shipped)
    from infogan_tutorial.pretrained import sha256
    (tmp_path / "SHA256SUMS").write_text(f"{sha256(shipped)}  infogan-mnist.pt\n")
    before = shipped.read_bytes()
    copy = tmp_path / "run"
    import shutil
    shutil.copytree(run, copy)
    capsys.readouterr()
    assert main(["train", "--out", str(copy), "--resume", "--steps", "3", "--device", "cpu", "--quiet",
                 "--no-figures", "--export", str(shipped)]) == 2
    assert "listed in" in capsys.readouterr().err and shipped.read_bytes() == before


def test_a_resumed_run_scores_where_the_uninterrupted_one_did(tmp_path, monkeypatch):
    from infogan_tutorial.cli import _last_score
    path = tmp_path / "eval.jsonl"
    assert _last_score(path) == (0, 0.0)
    path.write_text('{"step": 6, "accuracy": 0.1, "train_seconds": 4.5}\n'
                    '{"step": 12, "accuracy": 0.2, "train_seconds": 9.25}\nnot json\n')
    assert _last_score(path) == (12, 9.25)  # a resumed run's train_seconds go on from 9.25


def test_an_interrupted_run_resumes_with_its_scores_as_the_uninterrupted_run(tmp_path, monkeypatch, capsys):
    import json
    args = [*SMOKE, "--steps", "8", "--checkpoint-every", "2", "--eval-every", "4"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    from infogan_tutorial import objectives, training
    calls, loss = [0], objectives.generator_loss

    def interrupted(logit):
        calls[0] += 1
        if calls[0] == 4:
            raise KeyboardInterrupt
        return loss(logit)

    with monkeypatch.context() as m:
        m.setattr(training, "generator_loss", interrupted)
        assert main([*args, "--out", str(tmp_path / "cut")]) == 130
    assert main([*args, "--out", str(tmp_path / "cut"), "--resume"]) == 0

    def steps(name):
        return [json.loads(line)["step"] for line in (tmp_path / name / "eval.jsonl").read_text().splitlines()]
    assert steps("cut") == steps("whole") and len(steps("whole")) >= 2


def test_the_divergence_message_offers_only_what_exists(tmp_path):
    from infogan_tutorial.errors import TrainingDiverged
    state = create_state(LatentSpec(), TrainConfig(steps=2, batch_size=4, lambda_cont=1e308, precision="fp32"), "cpu")
    with pytest.raises(TrainingDiverged) as e:
        fit(state, torch.rand(8, 1, 28, 28) * 2 - 1, progress=False)
    assert "no checkpoint was written" in str(e.value)
    assert "resume from that checkpoint" not in str(e.value) and "train in fp32" not in str(e.value)


def test_saving_to_a_folder_asks_for_a_file_name(tmp_path):
    from infogan_tutorial.checkpoints import atomic_save
    with pytest.raises(CheckpointError, match="it is a folder; give a file name"):
        atomic_save({"a": 1}, tmp_path)


def test_train_step_takes_float64_and_names_numpy(nets):
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu")
    train_step(state, (torch.rand(4, 1, 28, 28) * 2 - 1).double())
    with pytest.raises(SpecError, match="got ndarray"):
        train_step(state, (torch.rand(4, 1, 28, 28) * 2 - 1).numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: LatentSpec().sample(10**10), SpecError, "at most 10,000,000"),
    (lambda: LatentSpec().sample(2, device="meta"), SpecError, "cannot use device 'meta' here"),
    (lambda: __import__("infogan_tutorial.devices", fromlist=["x"]).select_device(None), SpecError, "unknown device"),
    (lambda: figures.plot_confusion("x"), SpecError, "result of categorical_accuracy"),
    (lambda: figures.plot_losses({}), SpecError, "has no step, loss_d, loss_g"),
    (lambda: figures.plot_losses([1, 2]), SpecError, "needs a training history"),
    (lambda: figures.plot_info_curves({"a": {"step": [1, 2], "info_cat": [1]}}, LatentSpec()), SpecError,
     "lists of one length"),
    (lambda: fit("state", torch.zeros(1)), SpecError, "needs a TrainState"),
    (lambda: read_checkpoint(5), CheckpointError, "must be a str or pathlib.Path"),
    (lambda: load_pretrained("cpu", 5), CheckpointError, "the first argument is the device"),
    (lambda: TrainConfig.from_dict([1, 2]), SpecError, "needs a dict"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_api_calls_of_the_wrong_kind_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_fit_refuses_a_callback_that_is_not_a_function():
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu")
    with pytest.raises(SpecError, match="callback must be a function"):
        fit(state, torch.rand(8, 1, 28, 28) * 2 - 1, progress=False, callback=5)
    assert state.step == 0


def test_a_checksum_entry_whose_name_was_damaged_is_refused(run, tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes((run / "checkpoint.pt").read_bytes())
    _replace_in_place(path, b"meta_checksum", b"meta_checksuX")
    _replace_in_place(path, struct.pack(">d", 0.000375), struct.pack(">d", 0.375))
    with pytest.raises(CheckpointError, match="'meta_checksuX', which no version"):
        read_checkpoint(path)
