"""Stored reference runs (data/reference): written from a run folder, read back unchanged, and the shipped ones consistent."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from infogan_tutorial.checkpoints import load_networks
from infogan_tutorial.cli import main as cli_main
from infogan_tutorial.data import load_dataset
from infogan_tutorial.errors import CheckpointError
from infogan_tutorial.evaluation import categorical_accuracy
from infogan_tutorial.figures import draw_traversal, traverse
from infogan_tutorial.reference_runs import REFERENCE_DIR, TRAVERSAL_SEED, load_reference, record_reference

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.name for p in REFERENCE_DIR.glob("*") if (p / "summary.json").is_file())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    assert cli_main(["train", "--profile", "smoke", "--out", str(out), "--quiet", "--steps", "3",
                     "--no-figures", "--seed", "5"]) == 0
    return out


def test_a_recorded_run_reads_back_what_its_checkpoint_draws_and_scores(run, tmp_path):
    test = load_dataset("sample", split="test", verbose=False)
    small = type(test)(test.images[:300], test.labels[:300], test.source)
    ref = record_reference(run, tmp_path / "r", {"held-out": small}, "python -m infogan_tutorial train", "here")
    spec, G, D = load_networks(run / "checkpoint.pt")
    assert ref.summary["step"] == 3 and ref.history["step"][-1] == 3
    assert ref.test_sets == ["held-out"]
    expected = categorical_accuracy(D, small.images, small.labels)
    got = ref.accuracy("held-out")
    assert got.accuracy == expected.accuracy and got.n == 300
    np.testing.assert_array_equal(got.confusion, expected.confusion)
    np.testing.assert_array_equal(got.mapping, expected.mapping)
    assert set(ref.traversals) == {"c1", "c2", "c3"}
    for code, stored in ref.traversals.items():
        fresh = traverse(G, spec, code, generator=torch.Generator().manual_seed(TRAVERSAL_SEED))
        assert stored.values == pytest.approx(fresh.values) and stored.categorical == fresh.categorical
        assert stored.images.shape == fresh.images.shape == (100, 1, 28, 28)
        assert (stored.images - fresh.images.clamp(-1, 1)).abs().max() <= 1 / 127.5 + 1e-6  # uint8 rounding
    assert ref.traversals["c1"].categorical and not ref.traversals["c2"].categorical
    assert ref.traversals["c1"].values == list(range(10))


def test_unknown_names_are_clear_errors(run, tmp_path):
    ref = record_reference(run, tmp_path / "r", {}, "cmd", "here", codes=("c1",))
    with pytest.raises(CheckpointError, match="not scored on 'official'"):
        ref.accuracy("official")
    with pytest.raises(CheckpointError, match="no stored run 'nope'.*stored runs: r"):
        load_reference("nope", tmp_path)


def test_the_script_writes_a_readme_with_the_command_and_scores(run, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import record_reference as script
    script.main(["--run", str(run), "--name", "x", "--out", str(tmp_path), "--command", "python -m infogan_tutorial "
                 "train --steps 3", "--machine", "a test", "--about", "For a test."])
    readme = (tmp_path / "x" / "README.md").read_text()
    assert "python -m infogan_tutorial train --steps 3" in readme and "For a test." in readme
    assert "| bundled held-out sample | 1,000 |" in readme
    assert "--machine 'a test'" in readme


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_reference_runs_are_complete_and_consistent(name):
    ref = load_reference(name)
    s = ref.summary
    assert s["command"].startswith("python -m infogan_tutorial train ") and s["machine"]
    assert ref.history["step"][-1] == s["step"] >= 1000
    assert f"--steps {s['step']}" in s["command"]
    assert "official MNIST test split" in ref.test_sets and "bundled held-out sample" in ref.test_sets
    for test_set in ref.test_sets:
        a = ref.accuracy(test_set)
        assert a.confusion.sum() == a.n and np.trace(a.confusion) / a.n == pytest.approx(a.accuracy)
        assert sorted(a.mapping.tolist()) == list(range(10))
    assert ref.accuracy("official MNIST test split").n == 10_000
    for t in ref.traversals.values():
        assert t.rows == 10 and t.images.min() >= -1 and t.images.max() <= 1
    readme = (REFERENCE_DIR / name / "README.md").read_text()
    assert s["command"] in readme
    acc = ref.accuracy("official MNIST test split").accuracy
    assert f"| official MNIST test split | 10,000 | {acc:.1%} |" in readme


def test_the_book_ships_the_runs_its_chapters_load():
    used = set()
    for nb in (ROOT / "book").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            src = "".join(cell["source"])
            used.update(part.split('"')[1] for part in src.split("load_reference(")[1:])
    assert used and used <= set(SHIPPED)


def test_draw_traversal_labels_columns_by_value(run):
    spec, G, _ = load_networks(run / "checkpoint.pt")
    ax = draw_traversal(traverse(G, spec, "c2", rows=2, steps=5))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-2.0", "-1.0", "0.0", "1.0", "2.0"]
    ax = draw_traversal(traverse(G, spec, "c1", rows=2))
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]
