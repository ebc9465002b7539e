import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.profiles import PROFILES, get_profile


def test_environment_variable_chooses_the_profile(monkeypatch):
    monkeypatch.setenv("INFOGAN_PROFILE", "smoke")
    assert get_profile().name == "smoke"
    monkeypatch.delenv("INFOGAN_PROFILE")
    assert get_profile().name == ("gpu" if torch.cuda.is_available() else "cpu")


def test_a_gpu_machine_gets_the_gpu_profile(monkeypatch, fake_gpu_kind):
    monkeypatch.delenv("INFOGAN_PROFILE", raising=False)
    assert get_profile().name == "gpu"
    assert get_profile("gpu").name == "gpu"


def test_unknown_profile_says_which_exist(monkeypatch):
    monkeypatch.setenv("INFOGAN_PROFILE", "laptop")
    with pytest.raises(SpecError, match="smoke"):
        get_profile()


@pytest.mark.parametrize("name", ["cpu", "smoke"])
def test_checkpoints_every_quarter_of_the_run_including_overridden_steps(name):
    profile = PROFILES[name]
    assert profile.train_config().checkpoint_every == max(profile.steps // 4, 1)
    config = profile.train_config(steps=1800, seed=3)
    assert (config.steps, config.checkpoint_every, config.seed) == (1800, 450, 3)
    assert config.batch_size == profile.batch_size


def test_gpu_profile_writes_two_checkpoints_a_run():
    gpu = PROFILES["gpu"]
    assert (gpu.steps, gpu.batch_size, gpu.checkpoints) == (5000, 128, 2)
    assert gpu.train_config().checkpoint_every == 2500
    assert gpu.train_config(steps=714).checkpoint_every == 357


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_profile_sizes_the_work_and_leaves_the_arithmetic_to_the_device(name, monkeypatch, fake_gpu_kind):
    """The same config on a GPU machine as on a CPU one: cuda_graph None (decided by the state's device),
    precision auto; the caller's overrides win."""
    on_gpu = PROFILES[name].train_config(seed=1)
    assert (on_gpu.cuda_graph, on_gpu.precision, on_gpu.seed) == (None, "auto", 1)
    assert not PROFILES[name].train_config(cuda_graph=False).cuda_graph
    assert PROFILES[name].train_config(precision="fp16").precision == "fp16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert PROFILES[name].train_config(seed=1) == on_gpu
