"""benchmarks/speed.py's harness for the peers' own scripts: it times the batches their DataLoader hands out,
finds the data where their relative paths look, and says why a script stopped early."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

import pytest

from infogan_tutorial.data import sample_dir

SPEED = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("bench_speed", SPEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def root(speed):
    folder = speed.torchvision_root(sample_dir())
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


NATSU_LIKE = '''
import torch, torchvision.datasets as dsets, torchvision.transforms as transforms
from config import params
data = dsets.MNIST("data/mnist/", train=True, download=True, transform=transforms.ToTensor())
loader = torch.utils.data.DataLoader(data, batch_size=params["batch_size"], shuffle=True)
label = torch.full((params["batch_size"],), 1)
assert label.dtype == torch.float32  # the shim: an integer fill gives floats, as in torch < 1.7
for epoch in range(params["num_epochs"]):
    for images, _ in loader:
        assert images.shape[0] == params["batch_size"]
'''

GAN_LIKE = '''
import argparse, torch, torchvision.datasets as dsets, torchvision.transforms as transforms
p = argparse.ArgumentParser(); p.add_argument("--batch_size", type=int); p.add_argument("--n_epochs", type=int)
opt = p.parse_args()
data = dsets.MNIST("../../data/mnist", train=True, download=True, transform=transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))  # the shim: one channel
for images, _ in torch.utils.data.DataLoader(data, batch_size=opt.batch_size):
    assert images.min() < 0 and images.shape[0] == opt.batch_size
'''


def test_a_peer_script_runs_as_shipped_and_is_timed(speed, root, tmp_path: Path) -> None:
    natsu = tmp_path / "natsu"
    natsu.mkdir()
    (natsu / "config.py").write_text("params = {'batch_size': 128, 'num_epochs': 100}\n")
    (natsu / "train.py").write_text(NATSU_LIKE)
    assert speed.peer_speed("natsu", natsu, root, batch_size=16, steps=3, warmup=2) > 0
    gan = tmp_path / "gan" / "implementations" / "infogan"
    gan.mkdir(parents=True)
    (gan / "infogan.py").write_text(GAN_LIKE)
    assert speed.peer_speed("pytorch-gan", tmp_path / "gan", root, batch_size=8, steps=2, warmup=1) > 0


def test_a_peer_that_stops_early_or_is_missing_is_said(speed, root, tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text("params = {'batch_size': 1, 'num_epochs': 1}\n")
    (tmp_path / "train.py").write_text("raise SystemExit('no GPU here')\n")
    with pytest.raises(RuntimeError, match="natsu stopped before 5 batches: no GPU here"):
        speed.peer_speed("natsu", tmp_path, root, batch_size=4, steps=3, warmup=2)
    with pytest.raises(FileNotFoundError, match="no implementations/infogan/infogan.py there"):
        speed.peer_speed("pytorch-gan", tmp_path, root, batch_size=4, steps=3, warmup=2)
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=CLONE"):
        speed._peer("dcgan=somewhere")
    assert speed._peer("natsu=x") == ("natsu", Path("x"))
