"""The Colab install cell (written by scripts/sync_notebooks.py), run against a local repository.

On a machine without the package it clones and installs; it recovers from an interrupted clone,
keeps a complete one (with the reader's changes) and prints what it did. ``pip install`` is
recorded instead of run; ``git`` runs for real.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def git(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *map(str, args)],
                   cwd=cwd, check=True, capture_output=True)


def cell_source(url: str) -> str:
    """The install cell that sync_notebooks.py writes for a repository at ``url``."""
    spec = importlib.util.spec_from_file_location("sync_notebooks", ROOT / "scripts" / "sync_notebooks.py")
    assert spec is not None and spec.loader is not None
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    return "".join(sync.install_cell({"repository": {"url": url, "branch": "main"}})["source"])


@pytest.fixture
def origin(tmp_path: Path) -> str:
    """A bare repository holding a package on branch main, as a file:// URL (so --depth applies)."""
    work = tmp_path / "work"
    (work / "infogan_tutorial").mkdir(parents=True)
    (work / "infogan_tutorial" / "__init__.py").write_text('"""The package."""\n')
    (work / "pyproject.toml").write_text("[project]\nname = 'infogan_tutorial'\n")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    git("clone", "-q", "--bare", work, tmp_path / "origin.git")
    return (tmp_path / "origin.git").as_uri()


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run a cell as on a machine without the package (HOME in tmp_path); return (printed, pip targets)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "infogan_tutorial" else find_spec(name, *a))
    monkeypatch.setattr(sys, "path", list(sys.path))
    installed: list[Path] = []
    run = subprocess.run

    def fake_run(cmd: list[str], *args: object, **kwargs: object) -> subprocess.CompletedProcess:
        if cmd[:3] == [sys.executable, "-m", "pip"]:
            assert cmd[-2:-1] == ["-e"] and (Path(cmd[-1]) / "infogan_tutorial" / "__init__.py").is_file()
            installed.append(Path(cmd[-1]))
            return subprocess.CompletedProcess(cmd, 0)
        return run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", fake_run)

    def execute(source: str) -> tuple[str, list[Path]]:
        installed.clear()
        exec(compile(source, "install-cell", "exec"), {"__name__": "__main__"})  # noqa: S102 - as Jupyter runs it
        return capsys.readouterr().out, list(installed)

    return home / "infogan-tutorial", execute


def test_a_fresh_machine_clones_installs_and_says_so(origin: str, machine) -> None:
    target, execute = machine
    printed, installed = execute(cell_source(origin))
    assert installed == [target] and sys.path[0] == str(target)
    assert (target / "infogan_tutorial" / "__init__.py").is_file()
    assert not Path(f"{target}.partial").exists()
    assert printed == f"Cloned {origin} into {target}.\nInstalled infogan_tutorial from {target}.\n"


def break_no_commit(target: Path, origin: str) -> None:  # killed before the first object arrived
    git("init", "-q", target)


def break_missing_files(target: Path, origin: str) -> None:  # killed during the checkout
    git("clone", "-q", origin, target)
    (target / "infogan_tutorial" / "__init__.py").unlink()


def break_not_a_clone(target: Path, origin: str) -> None:  # some other half-written folder
    (target / "infogan_tutorial").mkdir(parents=True)


@pytest.mark.parametrize("damage", [break_no_commit, break_missing_files, break_not_a_clone])
def test_an_interrupted_clone_is_cloned_again(origin: str, machine, damage) -> None:
    target, execute = machine
    damage(target, origin)
    Path(f"{target}.partial").mkdir()  # and the temporary folder of an interrupted run
    (Path(f"{target}.partial") / "junk").write_text("x")
    printed, installed = execute(cell_source(origin))
    assert printed.splitlines()[:2] == [f"{target} is not a complete clone (an interrupted run?): removing it.",
                                        f"Cloned {origin} into {target}."]
    assert installed == [target] and (target / "infogan_tutorial" / "__init__.py").is_file()
    assert not Path(f"{target}.partial").exists()


def test_a_complete_clone_is_kept_with_the_readers_changes(origin: str, machine) -> None:
    target, execute = machine
    git("clone", "-q", origin, target)
    (target / "pyproject.toml").write_text("# edited\n")
    (target / "notes.txt").write_text("mine")
    printed, installed = execute(cell_source(origin))
    assert printed.splitlines()[0] == f"Using the clone in {target}."
    assert installed == [target]
    assert (target / "notes.txt").read_text() == "mine" and (target / "pyproject.toml").read_text() == "# edited\n"


def test_a_failed_clone_leaves_nothing_half_done(origin: str, machine, tmp_path: Path) -> None:
    target, execute = machine
    with pytest.raises(subprocess.CalledProcessError):
        execute(cell_source((tmp_path / "no-such-repo.git").as_uri()))
    assert not target.exists()
    printed, installed = execute(cell_source(origin))  # the next run starts afresh
    assert printed.startswith("Cloned") and installed == [target]
