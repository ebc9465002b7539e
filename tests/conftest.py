"""Fixtures shared by several test files."""

import pytest

import fake_gpu


@pytest.fixture(params=sorted(fake_gpu.GPUS))
def fake_gpu_kind(request, monkeypatch):
    """Each test that asks for it runs once per fake GPU (a T4 and an H100: tests/fake_gpu.py); torch.cuda
    answers as that GPU would, while every tensor stays on the CPU. Yields the kind's name."""
    fake_gpu.install(request.param, monkeypatch.setattr)
    return request.param
