import pytest
import torch

from infogan_tutorial import profiles
from infogan_tutorial.errors import SpecError
from infogan_tutorial.profiles import PROFILES, cuda_graph_settings, get_profile


def test_environment_variable_chooses_the_profile(monkeypatch):
    monkeypatch.setenv("INFOGAN_PROFILE", "smoke")
    assert get_profile().name == "smoke"
    monkeypatch.delenv("INFOGAN_PROFILE")
    assert get_profile().name == ("gpu" if torch.cuda.is_available() else "cpu")
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


def fake_gpu(monkeypatch, dtype, problem=None):
    """Pretend CUDA is here, with autocast picking ``dtype`` and graph_problem answering ``problem``."""
    calls = []
    monkeypatch.setattr(profiles.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(profiles, "autocast_dtype", lambda device, precision: None if precision == "fp32" else dtype)

    def graph_problem(device):
        calls.append(device.type)
        return problem

    monkeypatch.setattr(profiles, "graph_problem", graph_problem)
    return calls


def test_cuda_graph_settings_choose_bf16_with_the_graph_where_the_gpu_has_it(monkeypatch):
    calls = fake_gpu(monkeypatch, torch.bfloat16)
    assert cuda_graph_settings() == {"cuda_graph": True}
    assert calls == ["cuda"]
    config = PROFILES["gpu"].train_config(seed=1)
    assert config.cuda_graph and config.precision == "auto" and config.seed == 1


def test_cuda_graph_settings_choose_fp32_with_the_graph_on_a_t4(monkeypatch):
    calls = fake_gpu(monkeypatch, torch.float16)  # no native bf16: autocast would pick fp16
    assert cuda_graph_settings() == {"cuda_graph": True, "precision": "fp32"}
    assert calls == ["cuda"]  # fp16's scaler cannot be recorded: the graph runs in fp32
    config = PROFILES["gpu"].train_config(steps=10)
    assert config.cuda_graph and config.precision == "fp32"
    # the caller's choice wins: eager keeps the default precision (fp16 with its scaler there)
    eager = PROFILES["gpu"].train_config(cuda_graph=False)
    assert not eager.cuda_graph and eager.precision == "auto"
    assert not PROFILES["gpu"].train_config(compile=True).cuda_graph
    for name in ("cpu", "smoke"):  # only the gpu profile switches the graph on
        assert not PROFILES[name].train_config().cuda_graph and PROFILES[name].train_config().precision == "auto"


def test_cuda_graph_settings_stay_eager_where_no_graph_records(monkeypatch):
    fake_gpu(monkeypatch, torch.float16, problem="needs PyTorch >= 2.5")
    assert cuda_graph_settings() == {}
    config = PROFILES["gpu"].train_config()
    assert not config.cuda_graph and config.precision == "auto"
    monkeypatch.setattr(profiles.torch.cuda, "is_available", lambda: False)
    assert cuda_graph_settings() == {}
