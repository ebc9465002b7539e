"""The shipped model in data/pretrained: intact, loadable, and as good as its README says."""

import json
import math

import pytest
import torch

from infogan_tutorial.cli import main as cli_main
from infogan_tutorial.data import load_dataset
from infogan_tutorial.errors import CheckpointError
from infogan_tutorial.evaluation import categorical_accuracy, estimate_info_bound
from infogan_tutorial.pretrained import (GAN_HISTORY_NAME, MODEL_NAME, PRETRAINED_DIR, gan_control_history,
                                         load_pretrained, sha256)


def test_shipped_files_match_their_checksums():
    lines = (PRETRAINED_DIR / "SHA256SUMS").read_text().split("\n")
    sums = dict(reversed(line.split()) for line in lines if line.strip())
    assert set(sums) == {MODEL_NAME, GAN_HISTORY_NAME}
    for name, digest in sums.items():
        assert sha256(PRETRAINED_DIR / name) == digest, f"{name} differs from SHA256SUMS"


def test_model_is_compact_and_loads_in_eval_mode(pretrained):
    assert (PRETRAINED_DIR / MODEL_NAME).stat().st_size < 8e6  # 4-bit weight matrices
    assert not pretrained.G.training and not pretrained.D.training
    assert pretrained.step >= 1000 and pretrained.config["lambda_real"] >= 0
    assert pretrained.history["step"][-1] == pretrained.step


def test_c1_classifies_the_held_out_sample(pretrained):
    """The README's measured accuracy on the bundled held-out digits, to within rounding."""
    readme = (PRETRAINED_DIR / "README.md").read_text()
    expected = json.loads((PRETRAINED_DIR / "metrics.json").read_text())["held_out_sample_accuracy"]
    assert f"{expected:.1%}" in readme and expected > 0.9  # chapter 7's model: digit identity, not style
    test = load_dataset("sample", split="test", verbose=False)
    assert categorical_accuracy(pretrained.D, test.images, test.labels).accuracy == pytest.approx(expected, abs=0.002)


def test_figure_1_infogan_reaches_ln10_and_the_plain_gan_does_not(pretrained):
    gan = gan_control_history()
    assert gan["step"] == pretrained.history["step"]
    assert pretrained.history["info_cat"][-1] > 0.95 * math.log(10)
    assert max(gan["info_cat"][len(gan["info_cat"]) // 2:]) < 0.5 * math.log(10)
    bound = estimate_info_bound(pretrained.G, pretrained.D, pretrained.spec, 1000, torch.Generator().manual_seed(0))
    assert bound.categorical.item() > 0.95 * math.log(10)


def test_missing_model_says_where_it_comes_from(tmp_path):
    with pytest.raises(CheckpointError, match="ships with the repository"):
        load_pretrained(folder=tmp_path)
    with pytest.raises(CheckpointError, match="ships with the repository"):
        gan_control_history(folder=tmp_path)


def test_cli_evaluates_the_pretrained_model(capsys):
    assert cli_main(["evaluate", "--checkpoint", str(PRETRAINED_DIR / MODEL_NAME), "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n"] == 1000 and out["accuracy"] > 0.5 and out["step"] >= 1000


@pytest.mark.parametrize("listed", [True, False])
def test_a_copy_of_the_shipped_model_damaged_in_place_is_refused(tmp_path, listed):
    """Bytes changed inside the file (not cut): refused by SHA256SUMS where it is beside the file, and by the
    checksum of the tensors that the shipped file now carries where it is not."""
    import shutil

    from infogan_tutorial.checkpoints import load_networks
    from infogan_tutorial.errors import CheckpointError

    copy = tmp_path / MODEL_NAME
    shutil.copy(PRETRAINED_DIR / MODEL_NAME, copy)
    if listed:
        shutil.copy(PRETRAINED_DIR / "SHA256SUMS", tmp_path / "SHA256SUMS")
    data = bytearray(copy.read_bytes())
    for at in (len(data) // 2, len(data) // 3, len(data) // 4):
        data[at:at + 16] = bytes(b ^ 0x5A for b in data[at:at + 16])
    copy.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged|corrupt"):
        load_pretrained(folder=tmp_path)
    with pytest.raises(CheckpointError, match="corrupt|damaged|not a checkpoint|could not"):
        load_networks(copy)
