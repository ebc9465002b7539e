import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.profiles import PROFILES, get_profile


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


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_checkpoints_every_quarter_of_the_run_including_overridden_steps(name):
    profile = PROFILES[name]
    assert profile.train_config().checkpoint_every == max(profile.steps // 4, 1)
    config = profile.train_config(steps=1800, seed=3)
    assert (config.steps, config.checkpoint_every, config.seed) == (1800, 450, 3)
    assert config.batch_size == profile.batch_size
