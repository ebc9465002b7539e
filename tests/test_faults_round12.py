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
