"""Faults the third independent tester left open (issue 26), each refused with a message that names the fix.

Every test fails on the code before the fix: a Ctrl-C while torch loaded printed a traceback, and the calls
below either raised deep inside torch (meta tensors) or went on silently (NaN codes drew NaN images, [0, 1]
images were moved on a 0 background and padded with -1, a step of 1.5 read as step 1).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from infogan_tutorial.data import ShuffledBatches, random_affine
from infogan_tutorial.errors import DataError, SpecError
from infogan_tutorial.evaluation import categorical_accuracy
from infogan_tutorial.figures import generate
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks


@pytest.fixture(scope="module")
def nets():
    spec = LatentSpec()
    G, D = build_networks(spec, None, seed=0)
    return spec, G.eval(), D.eval()


def digits(n: int = 4) -> torch.Tensor:
    images = torch.full((n, 1, 28, 28), -1.0)
    images[:, :, 8:20, 12:16] = 1.0
    return images


def test_ctrl_c_while_the_command_line_loads_is_a_message_not_a_traceback() -> None:
    # the interrupt is raised where Python imports torch, which is where a real Ctrl-C lands (seconds of loading)
    code = textwrap.dedent("""
        import runpy, sys
        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "torch":
                    raise KeyboardInterrupt
        sys.meta_path.insert(0, Interrupt())
        sys.argv = ["infogan_tutorial", "--help"]
        runpy.run_module("infogan_tutorial", run_name="__main__", alter_sys=True)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert "Interrupted while starting; nothing was run or written." in done.stderr


def test_importing_the_package_loads_no_torch_until_a_name_is_used() -> None:
    code = ("import sys, infogan_tutorial as it; assert 'torch' not in sys.modules; "
            "assert it.LatentSpec.__module__ == 'infogan_tutorial.latent_codes'; "
            "assert callable(it.data.load_dataset); assert 'torch' in sys.modules; "
            "assert set(it.__all__) == set(it._HOME) and set(it.__all__) <= set(dir(it)); print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip() == "ok", done.stderr
    import infogan_tutorial
    with pytest.raises(AttributeError, match="has no attribute 'Generater'"):
        infogan_tutorial.Generater  # noqa: B018


@pytest.mark.parametrize("images, match", [
    (digits().add(1).div(2), r"x \* 2 - 1 for \[0, 1\] pixels"),
    (digits().add(1).mul(127.5), r"x / 127.5 - 1 for 0..255 pixels"),
    (digits().index_put_((torch.tensor([0]),), torch.tensor(float("nan"))), "NaN or infinite"),
    (digits().mul(3), "rescale them to"),
    (digits().long(), r"float tensor .* x.float\(\) / 127.5 - 1"),
])
def test_random_affine_refuses_images_off_the_scale(images: torch.Tensor, match: str) -> None:
    with pytest.raises(DataError, match=match):
        random_affine(images, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("kwargs", [dict(degrees=float("nan")), dict(shift=float("inf")), dict(scale=(0.9,)),
                                    dict(scale=(1.1, 0.9)), dict(degrees="20")])
def test_random_affine_refuses_moves_that_are_no_finite_numbers(kwargs: dict) -> None:
    with pytest.raises(DataError, match="finite degrees >= 0"):
        random_affine(digits(), torch.Generator().manual_seed(0), **kwargs)


def test_random_affine_without_the_range_check_moves_the_same_way() -> None:
    checked = random_affine(digits(), torch.Generator().manual_seed(3))
    unchecked = random_affine(digits(), torch.Generator().manual_seed(3), check_range=False)
    assert torch.equal(checked, unchecked)
    assert not torch.equal(checked, digits())


@pytest.mark.parametrize("step", [1.5, True, -1, "2"])
def test_shuffled_batches_refuse_a_step_that_is_no_whole_number(step: object) -> None:
    batches = ShuffledBatches(digits(8), 2, seed=0)
    with pytest.raises(DataError, match="step must be a whole number >= 0"):
        batches.batch(step)  # type: ignore[arg-type]
    assert torch.equal(batches.batch(np.int64(5)), batches.batch(5))


@pytest.mark.parametrize("part", ["z", "continuous"])
def test_generate_refuses_codes_that_are_not_finite(nets, part: str) -> None:
    spec, G, _ = nets
    codes = spec.sample(3, torch.Generator().manual_seed(0))
    getattr(codes, part)[1, 0] = float("nan")
    with pytest.raises(SpecError, match=f"Codes.{part} holds NaN or infinite values"):
        generate(G, codes)


def test_categorical_accuracy_refuses_meta_tensors_by_name(nets) -> None:
    _, _, D = nets
    labels = torch.arange(4) % 2
    with pytest.raises(SpecError, match="images are on the meta device"):
        categorical_accuracy(D, torch.empty(4, 1, 28, 28, device="meta"), labels)
    with pytest.raises(SpecError, match="labels are on the meta device"):
        categorical_accuracy(D, digits(), labels.to("meta"))
