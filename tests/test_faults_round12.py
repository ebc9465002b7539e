"""The eighth tester's API items left after round 11 (issue 26): wrong types reached torch or NumPy as tracebacks,
or gave silent results (a white PNG of 0..255 pixels, a second description in a PNG, False for the text "1")."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from infogan_tutorial import figures  # noqa: E402
from infogan_tutorial.checkpoints import pid_alive  # noqa: E402
from infogan_tutorial.errors import CheckpointError, SpecError  # noqa: E402
from infogan_tutorial.explorer import check_explorer_spec, to_png  # noqa: E402
from infogan_tutorial.figures import Traversal, describe, draw_traversal, png_with_description  # noqa: E402
from infogan_tutorial.latent_codes import LatentSpec, to_device  # noqa: E402
from infogan_tutorial.mutual_information import fit_q, q_table  # noqa: E402
from infogan_tutorial.networks import eval_mode, frozen  # noqa: E402
from infogan_tutorial.run_folder import why_unwritable  # noqa: E402

SPEC = LatentSpec(categorical=(10,), n_continuous=2)


def test_wrong_types_are_refused_by_name():
    codes = SPEC.sample(2, generator=torch.Generator().manual_seed(0))
    assert to_device(codes, "cpu").z.device.type == "cpu"
    for call, words in [(lambda: to_device(None, "cpu"), "needs a Codes"),
                        (lambda: to_device(codes, "gpu7"), "is not a device"),
                        (lambda: to_device(codes, None), "is not a device"),
                        (lambda: eval_mode(None).__enter__(), "takes networks"),
                        (lambda: frozen("D").__enter__(), "takes one network"),
                        (lambda: check_explorer_spec(None), "as a LatentSpec"),
                        (lambda: q_table(None, torch.zeros(2, 2), torch.zeros(2)), "must be numbers"),
                        (lambda: q_table(torch.eye(3), torch.zeros(2, 2), torch.zeros(2)), "weight \\(F, K\\)"),
                        (lambda: fit_q([[0.5, 0.0], [0.0, 0.5]], seed=None), "whole numbers"),
                        (lambda: fit_q([[0.5, 0.0], [0.0, 0.5]], steps=2.5), "whole numbers"),
                        (lambda: fit_q([[0.5, 0.0], [0.0, 0.5]], lr="0.1"), "a number for lr")]:
        with pytest.raises(SpecError, match=words):
            call()
    table = q_table(torch.eye(2), torch.zeros(2, 3), torch.zeros(3))
    assert torch.allclose(table, torch.full((2, 3), 1 / 3, dtype=table.dtype))


def test_figures_refuse_what_they_cannot_draw():
    fig, ax = plt.subplots()
    for target, text, words in [(None, "a grid", "Axes or Figure"), (ax, "", "non-empty str"),
                                (ax, None, "non-empty str")]:
        with pytest.raises(SpecError, match=words):
            describe(target, text)
    assert describe(ax, "a grid") is ax
    short = Traversal("c1", [0.0, 1.0, 2.0], torch.zeros(4, 1, 28, 28), True)  # 4 images for 3 columns
    with pytest.raises(SpecError, match="a multiple of 3"):
        draw_traversal(short, ax)
    with pytest.raises(SpecError, match="needs a Traversal"):
        draw_traversal({"code": "c1"}, ax)
    assert draw_traversal(Traversal("c1", [0.0, 1.0], torch.zeros(4, 1, 28, 28), True), ax) is ax
    plt.close(fig)


def test_to_png_refuses_pixels_off_its_scale_with_the_fix():
    with pytest.raises(SpecError, match="image / 255"):
        to_png(np.full((4, 4), 200.0))
    with pytest.raises(SpecError, match=r"\(image \+ 1\) / 2"):
        to_png(torch.linspace(-1, 1, 16).reshape(4, 4))
    grey = Image.open(io.BytesIO(to_png(np.full((4, 4), 0.5), zoom=1)))
    assert np.asarray(grey).tolist() == [[128] * 4] * 4


def test_a_png_described_twice_keeps_one_description():
    fig = plt.figure()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    twice = png_with_description(png_with_description(buffer.getvalue(), "first"), "second")
    assert twice.count(b"iTXt") == 1
    picture = Image.open(io.BytesIO(twice))
    picture.load()
    assert picture.info["Description"] == "second" and picture.size == (640, 480)
    assert figures.png_with_description(twice, "second") == twice


def test_pid_alive_refuses_text_and_why_unwritable_says_when_nothing_refuses(tmp_path):
    assert pid_alive(1) is True and pid_alive(0) is False and pid_alive(2 ** 40) is False
    for pid in ("1", 1.0, None, True):
        with pytest.raises(CheckpointError, match="as an int"):
            pid_alive(pid)
    assert why_unwritable(tmp_path).startswith("nothing refuses writes there now")


def test_a_user_s_file_under_a_figure_s_name_is_never_written_over(tmp_path, capsys):
    from infogan_tutorial.cli import main

    smoke = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--device", "cpu", "--steps", "1"]
    out = tmp_path / "run"
    (out / "figures").mkdir(parents=True)
    notes = out / "figures" / "info_bound.png"
    notes.write_text("my notes\n")
    assert main(["train", *smoke, "--out", str(out)]) == 2
    assert "not PNG images" in capsys.readouterr().err and notes.read_text() == "my notes\n"
    assert not (out / "checkpoint.pt").exists()


def test_web_export_keeps_a_user_s_files_of_its_asset_names(tmp_path, capsys):
    from infogan_tutorial import web_export

    for name, text in [("generator.json", '{"mine": 1}\n'), ("explorer-static.png", "a text\n"),
                       ("generator.bin", "my bytes\n")]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_text(text)
        assert web_export.main(["--out", str(folder)]) == 2
        assert "would destroy it" in capsys.readouterr().err and (folder / name).read_text() == text
        assert sorted(p.name for p in folder.iterdir()) == [name]


# The ninth tester (1,341 tries): the rest of its findings.

def test_checks_that_other_functions_already_make_are_made_here_too():
    import json

    from infogan_tutorial.evaluation import ClusterAccuracy
    from infogan_tutorial.figures import traversal_values
    from infogan_tutorial.objectives import LogQ, info_term
    from infogan_tutorial.web_export import manifest_text

    lq = LogQ(torch.tensor(-1.0), torch.tensor(-2.0))
    for weights in [(float("nan"), 0.1), (1.0, -1.0)]:
        with pytest.raises(SpecError, match="finite number >= 0"):
            info_term(lq, *weights)
    with pytest.raises(SpecError, match="finite numbers"):
        traversal_values(LatentSpec(), "c2", 10, (float("nan"), 1.0))
    good = ClusterAccuracy(0.5, 4, np.array([[1, 1], [1, 1]]), np.array([0, 1]))
    assert ClusterAccuracy.from_dict(json.loads(json.dumps(good.to_dict()))).to_dict() == good.to_dict()
    for change, words in [({"accuracy": 2.0}, "fraction from 0 to 1"), ({"confusion": [[5, 0], [0, 5]]}, "not n = 4"),
                          ({"accuracy": 1.0}, "diagonal share")]:
        with pytest.raises(SpecError, match=words):
            ClusterAccuracy.from_dict({**good.to_dict(), **change})
    with pytest.raises(SpecError, match="NaN or infinity"):
        manifest_text({"x": float("nan")})
    with pytest.raises(SpecError, match="more than the"):
        to_png(np.zeros((5000, 5000)), zoom=64)


def test_damaged_files_are_named_not_tracebacks(tmp_path):
    import shutil

    from infogan_tutorial.data import read_idx
    from infogan_tutorial.errors import DataError
    from infogan_tutorial.reference_runs import REFERENCE_DIR, _scores, load_reference

    idx = tmp_path / "huge-idx3-ubyte"
    idx.write_bytes(bytes([0, 0, 8, 3]) + (2 ** 31).to_bytes(4, "big") * 3)  # 2**93 bytes declared, none there
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(idx)
    idx.write_bytes(bytes([0, 0, 8, 255]) + bytes(4 * 255))
    with pytest.raises(DataError, match="header is corrupt"):
        read_idx(idx)
    for damage in ("summary.json", "traversals.npz"):
        copy = tmp_path / damage / "gan-seed-1"
        shutil.copytree(REFERENCE_DIR / "gan-seed-1", copy)
        data = bytearray((copy / damage).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (copy / damage).write_bytes(bytes(data) if damage != "summary.json" else b"{'broken")
        with pytest.raises(CheckpointError, match="damaged"):
            load_reference("gan-seed-1", copy.parent)
    scores = tmp_path / "eval.jsonl"
    scores.write_text('{"step": 5, "accuracy": 0.5, "n": 10, "eval_data": "x"}\n{"step": 10, "accu\n{"step": 7}\n')
    assert _scores(scores) == [{"step": 5, "accuracy": 0.5, "n": 10, "eval_data": "x"}]


def test_configs_and_unlogged_sums_that_cannot_be_read_back_are_refused(tmp_path):
    from infogan_tutorial.training import TrainConfig, checkpoint_contents, create_state

    for saved, words in [({"amp": True, "precision": "fp32"}, "both precision"),
                         ({"amp": "yes"}, "amp='yes'"), ({"amp": True, "amp_dtype": "half"}, "amp_dtype='half'")]:
        with pytest.raises(CheckpointError, match=words):
            TrainConfig.from_dict(saved)
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu")
    for unlogged in [([1.0, 2.0], 3), ([0.0] * 6, 0), "sums"]:
        with pytest.raises(SpecError, match="as fit passes it"):
            checkpoint_contents(state, unlogged)


def test_the_cli_names_a_lock_folder_an_export_to_resume_and_a_missing_eval_dir(tmp_path, capsys):
    import subprocess
    import sys
    from pathlib import Path

    from infogan_tutorial.cli import main

    smoke = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--device", "cpu", "--no-figures"]
    out = tmp_path / "run"
    (out / ".lock").mkdir(parents=True)
    assert main(["train", *smoke, "--out", str(out), "--steps", "1"]) == 2
    assert "is a folder, where a training keeps its lock file" in capsys.readouterr().err
    (out / ".lock").rmdir()
    assert main(["train", *smoke, "--out", str(out), "--steps", "2", "--export", str(tmp_path / "m.pt")]) == 0
    exported = tmp_path / "exported"
    exported.mkdir()
    (tmp_path / "m.pt").rename(exported / "checkpoint.pt")
    capsys.readouterr()
    assert main(["train", *smoke, "--out", str(exported), "--resume", "--seed", "2", "--steps", "4"]) == 2
    assert "holds only weights" in capsys.readouterr().err
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "accuracy.py"
    done = subprocess.run([sys.executable, str(bench), "--eval-dir", str(tmp_path / "nowhere"), "--out",
                           str(tmp_path / "bench")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is not a folder" in done.stderr


def test_eval_every_is_honoured_on_resume(tmp_path):
    import json

    from infogan_tutorial.cli import main

    smoke = ["--profile", "smoke", "--batch-size", "8", "--quiet", "--device", "cpu", "--no-figures"]
    out = tmp_path / "run"
    assert main(["train", *smoke, "--out", str(out), "--steps", "6", "--eval-every", "6"]) == 0
    assert main(["train", *smoke, "--out", str(out), "--resume", "--steps", "14", "--eval-every", "7"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "eval.jsonl").read_text().splitlines()]
    assert steps == [6, 7, 14]


def test_more_api_calls_with_none_or_a_wrong_type_are_refused_by_name():
    from infogan_tutorial.checkpoints import malformed_entry, network_weights
    from infogan_tutorial.compute import device_facts
    from infogan_tutorial.figures import figure_description, plain
    from infogan_tutorial.networks import init_weights
    from infogan_tutorial.training import TrainConfig, autocast, create_state, descend, fit, make_step, saved_recipe

    for call, error, words in [(lambda: plain(None), SpecError, "needs a str"),
                               (lambda: figure_description(None), SpecError, "matplotlib Figure"),
                               (lambda: init_weights(None), SpecError, "torch.nn.Module"),
                               (lambda: device_facts("gpu7"), SpecError, "unknown device"),
                               (lambda: network_weights({}, "Q"), CheckpointError, "'G' or 'D'"),
                               (lambda: network_weights({}, "G"), CheckpointError, "without G's weights"),
                               (lambda: saved_recipe(None, "x.pt"), CheckpointError, "malformed"),
                               (lambda: autocast(None), SpecError, "needs a TrainState"),
                               (lambda: make_step(None), SpecError, "needs a TrainState")]:
        with pytest.raises(error, match=words):
            call()
    assert "not the dict" in malformed_entry(None)
    assert device_facts("cpu") == device_facts(torch.device("cpu"))  # a name is read as the device
    state = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4), "cpu")
    with pytest.raises(SpecError, match="carries a gradient"):
        descend(state, state.opt_g, torch.tensor(1.0))
    with pytest.raises(SpecError, match="step must be a function"):
        fit(state, torch.zeros(8, 1, 28, 28), progress=False, step=5)


def test_the_last_api_calls_with_a_wrong_type():
    from infogan_tutorial import mutual_information as mi
    from infogan_tutorial.networks import QOutput
    from infogan_tutorial.objectives import info_loss

    with pytest.raises(SpecError, match="error probability as a number"):
        mi.symmetric_channel(2, "0.1")
    assert torch.allclose(mi.symmetric_channel(2, torch.tensor(0.1)), mi.symmetric_channel(2, 0.1))
    with pytest.raises(SpecError, match="1-D list of the K means"):
        mi.gaussian_mixture_channel(0.5, 1.0, torch.linspace(-3, 3, 10))
    spec = LatentSpec()
    codes = spec.sample(2, generator=torch.Generator().manual_seed(0))
    q = QOutput([torch.zeros(2, 10)], torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(SpecError, match="must be a LatentSpec"):
        info_loss(q, codes, None)
    assert Traversal("c1", [], torch.zeros(0, 1, 28, 28), True).rows == 0
