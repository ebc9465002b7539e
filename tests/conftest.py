"""Fixtures shared by several test files."""

import pytest

import fake_gpu
from infogan_tutorial.data import load_dataset
from infogan_tutorial.pretrained import load_pretrained


@pytest.fixture(scope="module")
def images():
    """The bundled MNIST sample's training images in [-1, 1] (a test file may shorten it by overriding)."""
    return load_dataset("sample", split="train", verbose=False).images


@pytest.fixture(scope="module")
def pretrained():
    """The shipped pretrained model (data/pretrained), in eval mode; a test that switches a mode gives it back."""
    return load_pretrained()


@pytest.fixture(params=sorted(fake_gpu.GPUS))
def fake_gpu_kind(request, monkeypatch):
    """Each test that asks for it runs once per fake GPU (a T4 and an H100: tests/fake_gpu.py); torch.cuda
    answers as that GPU would, while every tensor stays on the CPU. Yields the kind's name."""
    fake_gpu.install(request.param, monkeypatch.setattr)
    return request.param
