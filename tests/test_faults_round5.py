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


# -- the fourth tester's findings --------------------------------------------------------------------------------


def test_fit_does_not_write_a_fresh_state_over_another_runs_checkpoint(tmp_path) -> None:
    from infogan_tutorial.training import TrainConfig, create_state, fit, resume_state

    images = digits(8)
    first = create_state(LatentSpec(), TrainConfig(steps=2, batch_size=4, log_every=1, seed=1), "cpu")
    fit(first, images, out_dir=tmp_path, progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    fresh = create_state(LatentSpec(), TrainConfig(steps=1, batch_size=4, log_every=1), "cpu")
    with pytest.raises(SpecError, match=r"holds a run at step 2, and this state \(step 0\) does not continue it"):
        fit(fresh, images, out_dir=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    again = resume_state(tmp_path / "checkpoint.pt", "cpu", steps=3)  # its own continuation is welcome
    fit(again, images, out_dir=tmp_path, progress=False)
    assert resume_state(tmp_path / "checkpoint.pt", "cpu").step == 3


def test_eval_every_scores_at_its_multiples_and_a_resume_counts_time_on(tmp_path, capsys) -> None:
    import json

    from infogan_tutorial.cli import main

    smoke = ["train", "--profile", "smoke", "--dataset", "sample", "--batch-size", "8", "--quiet", "--no-figures",
             "--device", "cpu", "--steps", "10", "--eval-every", "5", "--seed", "1"]
    assert main([*smoke, "--out", str(tmp_path / "a")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "a" / "eval.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [5, 10]  # the smoke profile reads its losses every 3 steps
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "eval.jsonl").write_text('{"step": 5, "accuracy": 0.1, "train_seconds": 1000.0}\n')
    from infogan_tutorial.cli import _last_score
    assert _last_score(tmp_path / "b" / "eval.jsonl") == (5, 1000.0)


def test_the_interrupt_hint_carries_the_options_the_checkpoint_does_not_record(tmp_path) -> None:
    from infogan_tutorial.cli import _session_options, build_parser

    args = build_parser().parse_args(["train", "--out", str(tmp_path), "--eval-every", "5", "--no-figures",
                                      "--device", "cpu", "--checkpoint-every", "2", "--quiet"])
    assert _session_options(args) == " --device cpu --eval-every 5 --checkpoint-every 2 --no-figures --quiet"


def test_traverse_refuses_a_spec_that_is_not_gs(nets) -> None:
    from infogan_tutorial.figures import traverse

    _, G, _ = nets
    with pytest.raises(SpecError, match="is not G's own"):
        traverse(G, LatentSpec(categorical=(5,)), "c1", rows=1, steps=2)


def test_small_numbers_and_empty_batches_give_a_number_or_an_error_never_nan() -> None:
    from infogan_tutorial.mutual_information import entropy
    from infogan_tutorial.objectives import discriminator_loss, gaussian_log_likelihood, generator_loss

    value = gaussian_log_likelihood(torch.zeros(3), torch.zeros(3), torch.full((3,), -100.0))
    torch.testing.assert_close(value, torch.full((3,), 100 - 0.5 * np.log(2 * np.pi)))
    assert torch.isneginf(gaussian_log_likelihood(torch.ones(1), torch.zeros(1), torch.full((1,), -100.0))).all()
    with pytest.raises(SpecError, match="do not broadcast together"):
        gaussian_log_likelihood(torch.zeros(3), torch.zeros(2), torch.zeros(3))
    with pytest.raises(SpecError, match="needs tensors"):
        gaussian_log_likelihood(np.zeros(3), torch.zeros(3), torch.zeros(3))
    with pytest.raises(SpecError, match="is empty"):
        discriminator_loss(torch.tensor([]), torch.tensor([]))
    with pytest.raises(SpecError, match="is empty"):
        generator_loss(torch.zeros(0))
    with pytest.raises(SpecError, match="NaN or infinity"):
        entropy([float("nan"), 1.0])
    with pytest.raises(SpecError, match="the text 'ab'"):
        entropy("ab")
    with pytest.raises(SpecError, match="must be non-negative, got -0.5"):
        entropy([-0.5, 1.5])


def test_wrong_types_are_refused_by_name(nets, tmp_path) -> None:
    from infogan_tutorial.data import check_images, read_idx
    from infogan_tutorial.export import export_model
    from infogan_tutorial.latent_codes import Codes
    from infogan_tutorial.training import TrainConfig, create_state, train_step

    spec, G, _ = nets
    state = create_state(spec, TrainConfig(steps=1, batch_size=4), "cpu")
    with pytest.raises(SpecError, match="int8 must be True or False, got 'yes'"):
        export_model(state, tmp_path / "m.pt", int8="yes")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="needs the images as numbers"):
        check_images(np.array([[1]], dtype=object), "x")
    with pytest.raises(SpecError, match="take the real part"):
        check_images(torch.zeros(2, 1, 28, 28, dtype=torch.complex64), "x")
    with pytest.raises(SpecError, match=r"x.float\(\) \* 2 - 1"):
        check_images(torch.zeros(2, 1, 28, 28, dtype=torch.bool), "x")
    with pytest.raises(SpecError, match="needs a TrainState first"):
        train_step(None, digits())  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="the batch is on meta, the networks on cpu"):
        train_step(state, digits().to("meta"))
    with pytest.raises(DataError, match="needs the path of an IDX file"):
        read_idx(5)  # type: ignore[arg-type]
    assert LatentSpec(categorical=(np.int64(10),)).categorical == (10,)
    codes = spec.sample(2, torch.Generator().manual_seed(0))
    as64 = generate(G, Codes(codes.z.double(), codes.categorical, codes.continuous.double()))
    assert torch.equal(as64, generate(G, codes))


def test_a_read_only_output_is_kept(tmp_path) -> None:
    import os
    import stat

    from infogan_tutorial.checkpoints import atomic_save
    from infogan_tutorial.errors import CheckpointError

    target = tmp_path / "kept.pt"
    target.write_bytes(b"mine")
    target.chmod(0o444)
    with pytest.raises(CheckpointError, match="is read-only .* so it is kept"):
        atomic_save({"x": 1}, target)
    assert target.read_bytes() == b"mine" and stat.S_IMODE(os.stat(target).st_mode) == 0o444
