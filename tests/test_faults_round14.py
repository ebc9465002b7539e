"""Issue 26, what the eleventh tester left: D's own check of its images, codes of mixed dtypes, a grid that
misses part of a Gaussian, a literal dollar sign in a figure's text, a negative clock in eval.jsonl, a module
that is not a generator, a dangling symbolic link as an output, and six messages that were unclear."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from infogan_tutorial import mutual_information as mi
from infogan_tutorial.cli import _last_score
from infogan_tutorial.code_recovery import recover_codes
from infogan_tutorial.data import ShuffledBatches
from infogan_tutorial.errors import DataError, SpecError
from infogan_tutorial.figures import plain
from infogan_tutorial.latent_codes import Codes, LatentSpec
from infogan_tutorial.networks import Discriminator, Generator
from infogan_tutorial.run_folder import check_output_file


def images(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("bad, words", [(lambda x: (x + 1) * 127.5, "from 0 to 255"),
                                        (lambda x: (x + 1) * 1.5, "scale [-1, 1]"),
                                        (lambda x: x.index_fill(0, torch.tensor([1]), math.nan), "NaN or infinite"),
                                        (lambda x: x.index_fill(0, torch.tensor([2]), -math.inf), "NaN or infinite")])
def test_d_refuses_images_off_the_scale_and_keeps_its_statistics(train, bad, words) -> None:
    D = Discriminator(LatentSpec()).train(train)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    x = bad(images())
    for call in (D, D.q, D.features):
        with pytest.raises(SpecError) as e:
            call(x)
        assert words.split()[0] in str(e.value) and "[-1, 1]" in str(e.value)
    after = D.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch norm's running statistics untouched


def test_d_takes_its_own_scale_and_check_values_false_skips_the_check() -> None:
    D = Discriminator(LatentSpec()).eval()
    x = images()
    assert D.features(x).shape == (4, 1024)
    assert D.features(x.clamp(-1.0005, 1.0005) * 1.0005).shape == (4, 1024)  # within the tolerance
    wide = x * 3
    with pytest.raises(SpecError):
        D.features(wide)
    assert torch.isfinite(D.features(wide, check_values=False)).all()  # the training step's images, checked before


def test_to_input_never_rounds_a_code_to_z_dtype() -> None:
    spec = LatentSpec()
    codes = spec.sample(3, torch.Generator().manual_seed(0))
    fine = Codes(codes.z.bfloat16(), codes.categorical, codes.continuous.double() + 1e-9)
    x = spec.to_input(fine)
    assert x.dtype == torch.float64
    assert torch.equal(x[:, -2:], fine.continuous)
    assert spec.to_input(codes).dtype == torch.float32
    with pytest.raises(SpecError, match="G computes in torch.float32 but got codes of dtype torch.float64"):
        Generator(spec)(fine)


def test_a_grid_that_misses_part_of_a_gaussian_is_refused_and_float32_grids_are_even() -> None:
    with pytest.raises(SpecError, match=r"holds only 0.98 of the probability .* at least 0.999.*linspace\(-6, 7"):
        mi.gaussian_mixture_channel([0.0, 1.0], 1.0, torch.linspace(-3, 3, 61))
    p = mi.gaussian_mixture_channel([0.0, 1.0], 1.0, torch.linspace(-80, 90, 34001))  # float32's rounding
    assert torch.allclose(p.sum(1), torch.ones(2, dtype=p.dtype))
    with pytest.raises(SpecError, match="evenly spaced"):
        mi.gaussian_mixture_channel([0.0, 1.0], 1.0, [-9.0, -8.0, -6.0, 9.0])


@pytest.mark.parametrize("text, expected", [("cost $5", "cost $5"), (r"\$5 for $\lambda$", "$5 for λ"),
                                            ("$a$ and $b", "$a$ and $b"), (r"$L_I$ of $c_1$", "L_I of c_1"),
                                            ("no math {here}", "no math {here}")])
def test_plain_reads_dollar_signs_as_matplotlib_does(text, expected) -> None:
    assert plain(text) == expected


def test_a_negative_or_infinite_clock_in_eval_jsonl_counts_as_none(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text(json.dumps({"step": 100, "accuracy": 0.5, "train_seconds": -1e9}) + "\n")
    assert _last_score(path) == (100, 0.0)
    path.write_text(json.dumps({"step": 100, "accuracy": 0.5, "train_seconds": 12.5}) + "\n")
    assert _last_score(path) == (100, 12.5)


class _Flat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, codes: Codes) -> torch.Tensor:
        return torch.zeros(len(codes), 28, 28) + self.w


@pytest.mark.parametrize("G, words", [(nn.Linear(3, 3), "calling Linear on codes failed: TypeError"),
                                      (_Flat(), "_Flat returned (8, 28, 28) for 8 codes")])
def test_recover_codes_says_when_g_does_not_map_codes_to_images(G, words) -> None:
    with pytest.raises(SpecError, match=re.escape(words)):
        recover_codes(G, spec=LatentSpec(), steps=1, batch_size=8, n_eval=8)


def test_a_dangling_link_as_an_output_is_named(tmp_path: Path) -> None:
    (tmp_path / "dang.png").symlink_to(tmp_path / "missing" / "x.png")
    with pytest.raises(SpecError, match=r"leads nowhere \(to .*missing/x.png, whose folder does not exist\)"):
        check_output_file(tmp_path / "dang.png", "--out", "samples.png", suffix=".png")
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    with pytest.raises(SpecError, match="the links form a loop"):
        check_output_file(tmp_path / "a.png", "--out", "samples.png", suffix=".png")
    (tmp_path / "ok.png").symlink_to(tmp_path / "new.png")  # written through: the target is created
    assert check_output_file(tmp_path / "ok.png", "--out", "samples.png", suffix=".png") == tmp_path / "ok.png"


@pytest.mark.parametrize("codes, words", [
    (Codes(torch.zeros(62), torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 2)), "codes.z.unsqueeze(0)"),
    (Codes(torch.zeros(3, 62), torch.zeros(3, dtype=torch.long), torch.zeros(3, 2)), "codes.categorical.unsqueeze(1)"),
    (Codes(torch.zeros(1, 62), torch.zeros(1, 1, dtype=torch.long), torch.zeros(2)), "codes.continuous.unsqueeze(0)"),
    (Codes(torch.zeros(1, 1, 62), torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 2)), "got 3-D of shape")])
def test_codes_that_are_not_a_batch_are_named(codes, words) -> None:
    with pytest.raises(SpecError, match="must be a batch, a 2-D tensor") as e:
        LatentSpec().check(codes)
    assert words in str(e.value)


def test_shuffled_batches_of_no_images_says_so() -> None:
    with pytest.raises(DataError, match=r"got no images \(shape \(0, 1, 28, 28\)\)"):
        ShuffledBatches(torch.zeros(0, 1, 28, 28), 4, 0)
