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
