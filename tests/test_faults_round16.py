"""Issue 26, what the twelfth and thirteenth testers found: each fault's reproduction, now handled."""

from __future__ import annotations

import json

from infogan_tutorial.cli import main


def train(out, *extra):
    return main(["train", "--profile", "smoke", "--dataset", "sample", "--batch-size", "16", "--quiet",
                 "--no-figures", "--device", "cpu", "--out", str(out), *extra])


def test_a_resume_without_eval_every_says_the_run_scored_before_and_counts_one_step(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "--steps", "2", "--eval-every", "1") == 0
    assert [json.loads(line)["step"] for line in (out / "eval.jsonl").read_text().splitlines()] == [1, 2]
    capsys.readouterr()
    assert train(out, "--steps", "3", "--resume") == 0
    said = capsys.readouterr()
    assert "(1 step left)" in said.out and "1 steps" not in said.out
    assert "last at step 2" in said.err and "--eval-every N" in said.err
    assert [json.loads(line)["step"] for line in (out / "eval.jsonl").read_text().splitlines()] == [1, 2]
    assert train(out, "--steps", "4", "--resume", "--eval-every", "1") == 0  # told again: scores again, no note
    said = capsys.readouterr()
    assert "last at step" not in said.err
    assert [json.loads(line)["step"] for line in (out / "eval.jsonl").read_text().splitlines()] == [1, 2, 4]


def test_an_eval_log_that_is_a_fifo_is_refused_before_training(tmp_path, capsys):
    import os

    out = tmp_path / "run"
    assert train(out, "--steps", "1") == 0
    os.mkfifo(out / "eval.jsonl")
    assert train(out, "--steps", "2", "--resume", "--eval-every", "1") == 2  # it would block on the FIFO
    assert "eval.jsonl is a FIFO" in capsys.readouterr().err


def test_a_ctrl_c_that_a_library_turns_into_another_error_while_loading_is_an_interruption(monkeypatch, capsys):
    import os
    import signal
    import sys
    import time

    from infogan_tutorial import __main__ as entry

    class InterruptedImport:  # what numpy does when Ctrl-C lands in its import: ImportError, not KeyboardInterrupt
        def find_spec(self, name, path=None, target=None):
            if name != "infogan_tutorial.cli":
                return None
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                raise ImportError("cannot load module more than once per process") from None
            return None

    monkeypatch.delitem(sys.modules, "infogan_tutorial.cli")
    monkeypatch.setattr(sys, "meta_path", [InterruptedImport(), *sys.meta_path])
    before = signal.getsignal(signal.SIGINT)
    assert entry.run() == 130
    assert "Interrupted while starting" in capsys.readouterr().err and signal.getsignal(signal.SIGINT) is before


def test_estimate_info_bound_names_itself_for_a_spec_that_is_not_gs():
    import pytest

    from infogan_tutorial.errors import SpecError
    from infogan_tutorial.evaluation import estimate_info_bound
    from infogan_tutorial.latent_codes import LatentSpec
    from infogan_tutorial.networks import build_networks

    G, D = build_networks(LatentSpec())
    with pytest.raises(SpecError, match="^estimate_info_bound: the spec"):
        estimate_info_bound(G, D, LatentSpec(noise_dim=63, n_continuous=1), n=10)


def test_read_idx_of_a_folder_says_it_is_a_folder(tmp_path):
    import pytest

    from infogan_tutorial.data import read_idx
    from infogan_tutorial.errors import DataError

    with pytest.raises(DataError, match="is a folder; read_idx reads one IDX file.*load_idx_folder"):
        read_idx(tmp_path)


def test_fit_into_an_out_dir_it_cannot_create_is_a_spec_error_before_any_step(tmp_path, images):
    import pytest

    from infogan_tutorial.errors import SpecError
    from infogan_tutorial.latent_codes import LatentSpec
    from infogan_tutorial.training import TrainConfig, create_state, fit

    blocker = tmp_path / "a file"
    blocker.write_text("mine")
    state = create_state(LatentSpec(), TrainConfig(batch_size=8, steps=2, checkpoint_every=0), "cpu")
    with pytest.raises(SpecError, match="fit cannot create out_dir"):
        fit(state, images[:64], out_dir=blocker / "run", progress=False)  # a folder under a file: ENOTDIR
    assert state.step == 0 and blocker.read_text() == "mine"
