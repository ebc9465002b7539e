"""The ninth tester's items left after round 12 (issue 26): crafted checkpoints read "as before" (a history with
NaN or steps out of order, a step beyond the run, weights in float64 or bf16, no Adam moments), API calls whose
wrong arguments reached torch or pickle as tracebacks, and messages that sent the user the wrong way."""

from __future__ import annotations

import json
import math

import pytest
import torch

from infogan_tutorial import compute, web_export
from infogan_tutorial.checkpoints import atomic_save, load_networks, with_checksum
from infogan_tutorial.cli import main
from infogan_tutorial.errors import CheckpointError, SpecError
from infogan_tutorial.explorer import explorer_static_figure
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks
from infogan_tutorial.pretrained import PRETRAINED_DIR, gan_control_history, load_pretrained
from infogan_tutorial.training import resume_state

SMOKE = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--no-figures", "--device", "cpu"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", *SMOKE, "--out", str(out), "--steps", "6"]) == 0
    return out


def _craft(run, tmp_path, change, checksum=True) -> str:
    """The run's checkpoint changed; with its checksums recomputed, or without any (read as an older file)."""
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    change(ckpt)
    if checksum:
        ckpt = with_checksum(ckpt)
    else:
        ckpt.pop("checksum", None), ckpt.pop("meta_checksum", None)
    path = tmp_path / "checkpoint.pt"
    torch.save(ckpt, path)
    return str(path)


def _history(ckpt, name, values):
    ckpt["history"][name] = values


CRAFTED = {
    "a NaN in the history": (lambda c: c["history"]["loss_d"].__setitem__(0, float("nan")), "finite"),
    "history steps falling": (lambda c: _history(c, "step", c["history"]["step"][::-1]), "steps must be positive"),
    "history beyond the step": (lambda c: c.__setitem__("step", 3), "steps must be positive"),
    "a step beyond the run's steps": (lambda c: (c.__setitem__("step", 10**12),
                                                 _history(c, "step", c["history"]["step"])), "beyond its own config"),
    "no Adam moments": (lambda c: c["opt_d"].__setitem__("state", {}), "no Adam moments"),
}


@pytest.mark.parametrize("checksum", [True, False], ids=["rechecksummed", "without checksum"])
@pytest.mark.parametrize("what", CRAFTED)
def test_crafted_training_state_is_refused_with_or_without_checksums(run, tmp_path, what, checksum, capsys):
    change, said = CRAFTED[what]
    assert resume_state(run / "checkpoint.pt").history["step"] == [3, 6]  # the run as written resumes
    path = _craft(run, tmp_path, change, checksum)
    with pytest.raises(CheckpointError, match=said):
        resume_state(path)
    assert main(["train", *SMOKE, "--out", str(tmp_path), "--resume", "--steps", "8"]) == 2
    err = capsys.readouterr().err
    assert "malformed" in err and "Traceback" not in err


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
@pytest.mark.parametrize("checksum", [True, False], ids=["rechecksummed", "without checksum"])
def test_weights_in_a_dtype_the_package_never_writes_are_refused(run, tmp_path, dtype, checksum):
    path = _craft(run, tmp_path, lambda c: c["G"].__setitem__("fc.0.weight", c["G"]["fc.0.weight"].to(dtype)),
                  checksum)
    with pytest.raises(CheckpointError, match=f"stored as {dtype}"):
        load_networks(path)
    with pytest.raises(CheckpointError, match=f"stored as {dtype}"):
        resume_state(path)


def test_a_format_of_true_is_not_format_one(run, tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint format True"):
        load_networks(_craft(run, tmp_path, lambda c: c.__setitem__("format", True)))


def test_api_calls_with_wrong_arguments_say_what_was_wrong(tmp_path):
    spec = LatentSpec()
    G, _ = build_networks(spec, seed=0)
    a_file = tmp_path / "a_file"
    a_file.write_text("notes")
    for call, words in [(lambda: explorer_static_figure(G, spec, values=()), "at least one slider value"),
                        (lambda: web_export.pack_tensors(None), "dict of name -> tensor"),
                        (lambda: web_export.write_assets(a_file), "is a file; give a folder"),
                        (lambda: atomic_save({"f": lambda: 1}, tmp_path / "x.pt"), "cannot be saved")]:
        with pytest.raises((SpecError, CheckpointError), match=words):
            call()
    assert a_file.read_text() == "notes" and not (tmp_path / "x.pt").exists()
    assert list(tmp_path.iterdir()) == [a_file]  # no temporary file left by the failed save


def test_a_device_torch_does_not_see_is_not_planned_for(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SpecError, match="no cuda device here .* to ask whether it has bf16"):
        compute.plan_compute("cuda")
    h100 = compute.DeviceFacts("cuda", native_bf16=True)
    assert compute.plan_compute("cuda", facts=h100).arithmetic == "bf16"  # facts given: planned for that machine


def test_the_entropy_of_a_huge_finite_range_is_finite():
    spec = LatentSpec(continuous_range=(-1e38, 1e38))  # the widest float32, the codes' dtype, holds
    assert spec.continuous_entropy() == pytest.approx(2 * (math.log(1e38) + math.log(2)))
    with pytest.raises(SpecError, match="wider than float32"):  # sampled codes would be inf (the twelfth tester)
        LatentSpec(continuous_range=(-1e308, 1e308))
    assert LatentSpec(continuous_range=(0.5, 2.0)).continuous_entropy() == 2 * math.log(1.5)


def test_an_edited_sums_line_is_told_apart_from_a_damaged_model(tmp_path):
    import shutil
    folder = tmp_path / "pretrained"
    shutil.copytree(PRETRAINED_DIR, folder)
    sums = folder / "SHA256SUMS"
    lines = sums.read_text().splitlines()
    sums.write_text("\n".join(("0" * 64 + line[64:]) if "infogan-mnist.pt" in line else line for line in lines) + "\n")
    with pytest.raises(CheckpointError, match="does not match its line in .*the file is damaged, or the list was changed"):
        load_pretrained(folder=folder)


@pytest.mark.parametrize("history", ['{"step": [1, 2], "loss_d": [0.5]}', '{"step": [1, 2], "loss_d": [0.5, NaN]}'])
def test_a_control_history_of_uneven_or_nan_lists_is_refused(tmp_path, history):
    import shutil
    folder = tmp_path / "pretrained"
    shutil.copytree(PRETRAINED_DIR, folder)
    (folder / "SHA256SUMS").unlink()
    (folder / "gan-control-history.json").write_text(history)
    with pytest.raises(CheckpointError, match="lists of finite numbers, all of one length"):
        gan_control_history(folder)


def test_a_value_starting_with_a_dash_is_explained(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--out", "-x.png"])
    assert "--out=-x.png" in capsys.readouterr().err


def test_codes_sent_to_a_gpu_this_machine_lacks_are_refused_by_name(monkeypatch):
    from infogan_tutorial.latent_codes import to_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    codes = LatentSpec().sample(2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(SpecError, match="CUDA is not available here"):
        to_device(codes, "cuda")


def test_lines_of_the_score_log_that_are_no_score_are_kept_aside_on_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *SMOKE, "--out", str(out), "--steps", "6", "--eval-every", "3"]) == 0
    log = out / "eval.jsonl"
    log.write_text(log.read_text() + "notes: my own line\n")
    assert main(["train", *SMOKE, "--out", str(out), "--resume", "--steps", "9", "--eval-every", "3"]) == 0
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [3, 6, 9]
    assert (out / "eval.jsonl.unread").read_text() == "notes: my own line\n"
    assert "eval.jsonl.unread" in capsys.readouterr().out


def test_the_tenth_testers_api_items_are_refused_by_name():
    import numpy as np

    from infogan_tutorial import checkpoints, figures, mutual_information as mi, objectives
    from infogan_tutorial.data import Dataset
    from infogan_tutorial.errors import DataError
    from infogan_tutorial.evaluation import hungarian_accuracy
    from infogan_tutorial.networks import QOutput

    spec = LatentSpec()
    G, D = build_networks(spec, seed=0)
    codes = spec.sample(2, generator=torch.Generator().manual_seed(0))
    nan_codes = type(codes)(codes.z.clone().fill_(float("nan")), codes.categorical, codes.continuous)
    q = QOutput([torch.zeros(2, 10)], torch.zeros(2, 2), torch.zeros(2, 2))
    no_cat = QOutput([], torch.zeros(2, 2), torch.zeros(2, 2))
    for call, error, words in [
            (lambda: mi.fit_q(mi.symmetric_channel(2, 0.1) / 2, steps=10**12), SpecError, "steps up to"),
            (lambda: mi.fit_q(mi.symmetric_channel(2, 0.1) / 2, seed=2**64, samples_per_step=3), SpecError, "seed in"),
            (lambda: mi.symmetric_channel(10**9, 0.1), SpecError, "K x K table"),
            (lambda: explorer_static_figure(G, spec, seeds=(0,), values=tuple(range(5000))), SpecError, "at most"),
            (lambda: D.d_from_features(torch.zeros(4, 10)), SpecError, "shape \\(N, 1024\\)"),
            (lambda: figures.plot_images(np.zeros((2, 1, 28, 28))), SpecError, "torch tensor"),
            (lambda: figures.plot_info_curves({}, None), SpecError, "LatentSpec"),
            (lambda: checkpoints.with_checksum(None), CheckpointError, "checkpoint dict"),
            (lambda: checkpoints.verify_contents(None), CheckpointError, "checkpoint dict"),
            (lambda: objectives.invariant_information(q, no_cat), SpecError, "1 and 0 categorical codes"),
            (lambda: spec.to_input(nan_codes), SpecError, "NaN or infinite"),
            (lambda: Dataset(torch.zeros(8, 1, 28, 28), torch.zeros(3, dtype=torch.long), "x"), DataError,
             "one label per image"),
            (lambda: compute.plan_compute("cpu", facts=compute.DeviceFacts("cuda", native_bf16=True)), SpecError,
             "describe a cuda device"),
            (lambda: figures.png_with_description(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0", "x"), SpecError,
             "bytes of a PNG")]:
        with pytest.raises(error, match=words):
            call()
    a = hungarian_accuracy(np.array([0, 1, 1]), np.array([1, 0, 0]))
    assert a == hungarian_accuracy(np.array([0, 1, 1]), np.array([1, 0, 0])) and a != hungarian_accuracy(
        np.array([0, 1]), np.array([0, 1]))


def test_a_tiny_sigma_keeps_a_finite_gradient():
    from infogan_tutorial.objectives import gaussian_log_likelihood
    for log_std in (-1000.0, -100.0, -89.0):
        ls = torch.tensor([log_std, log_std], requires_grad=True)
        mean = torch.tensor([0.5, 0.5], requires_grad=True)
        value = gaussian_log_likelihood(torch.tensor([0.5, 0.5]), mean, ls)
        value.sum().backward()
        assert torch.isfinite(value).all() and torch.isfinite(ls.grad).all() and torch.isfinite(mean.grad).all()
        assert value[0].item() == pytest.approx(-log_std - 0.5 * math.log(2 * math.pi))


def test_a_history_with_a_ragged_extra_entry_is_refused(run, tmp_path):
    path = _craft(run, tmp_path, lambda c: c["history"].__setitem__("extra", [1.0]))
    with pytest.raises(CheckpointError, match="malformed"):
        resume_state(path)


def test_a_stored_score_whose_matching_is_not_one_to_one_is_refused():
    import numpy as np

    from infogan_tutorial.evaluation import ClusterAccuracy, hungarian_accuracy
    stored = hungarian_accuracy(np.array([0, 1, 1, 2]), np.array([1, 0, 0, 2])).to_dict()
    assert ClusterAccuracy.from_dict(stored).accuracy == 1.0
    with pytest.raises(SpecError, match="one-to-one"):
        ClusterAccuracy.from_dict({**stored, "mapping": [0, 0, 2]})


def test_the_eleventh_testers_api_items_are_refused_by_name(tmp_path):
    import numpy as np

    from infogan_tutorial import code_recovery, export, figures, mutual_information as mi, reference_runs
    spec = LatentSpec()
    G, _ = build_networks(spec, seed=0)
    own = tmp_path / "w"
    own.mkdir()
    (own / "generator.json").write_text('{"my": "own file"}')
    png = figures.png_with_description(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR" + bytes(17), "x")
    for call, words in [
            (lambda: web_export.write_assets(own), "generator.json"),
            (lambda: web_export.manifest_text({"a": torch.zeros(1)}), "plain numbers"),
            (lambda: web_export.manifest_text({"a": np.float32(1.5)}), "plain numbers"),
            (lambda: figures.png_with_description(png, "\udcff"), "UTF-8 cannot write"),
            (lambda: code_recovery.recover_codes(G, spec, steps=10**12, batch_size=4, n_eval=10), "at most"),
            (lambda: mi.fit_q(mi.symmetric_channel(2, 0.1) / 2, steps=2, samples_per_step=10**10), "at most"),
            (lambda: reference_runs.record_reference(tmp_path, tmp_path / "o", [1], "x", "y"), "dict of name"),
            (lambda: export.export_model(tmp_path / "c.pt", tmp_path / "e.pt", dtype=torch.bfloat16), "float16")]:
        with pytest.raises((SpecError, CheckpointError), match=words):
            call()
    assert (own / "generator.json").read_text() == '{"my": "own file"}'
