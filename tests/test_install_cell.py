"""The Colab install cell (written by scripts/sync_notebooks.py), run against a local repository.

On a machine without the package it clones into the working folder and installs; it uses an
install only when it matches the book (version, modules, ``data/``) and says which code it uses;
it deletes only folders it made and turns failures into one line that says what to do.
``pip install`` is recorded instead of run (and makes the package findable, as on Colab);
``git`` runs for real.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = "9.9.9"


def git(*args: str | Path, cwd: Path | None = None) -> str:
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *map(str, args)],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def sync_module():
    """scripts/sync_notebooks.py, which writes the install cell (the loader test_colab_edition uses)."""
    from test_colab_edition import load_sync

    return load_sync()


def cell_source(url: str, version: str = VERSION, trees: dict[str, str] | None = None) -> str:
    """The install cell that sync_notebooks.py writes for a repository at ``url`` (``trees``: the git trees a
    found clone must have; none: version and modules only)."""
    cell = sync_module().install_cell({"repository": {"url": url, "branch": "main"}}, version, ["networks"],
                                      trees or {})
    return "".join(cell["source"])


def write_package(work: Path, version: str = VERSION, data: bool = True) -> None:
    (work / "infogan_tutorial").mkdir(parents=True, exist_ok=True)
    (work / "infogan_tutorial" / "__init__.py").write_text(f'"""The package."""\n__version__ = "{version}"\n')
    (work / "infogan_tutorial" / "networks.py").write_text("")
    (work / "pyproject.toml").write_text("[project]\nname = 'infogan_tutorial'\n")
    if data:
        (work / "data").mkdir(exist_ok=True)
        (work / "data" / "README.md").write_text("data\n")


@pytest.fixture
def origin(tmp_path: Path) -> str:
    """A bare repository holding the package on branch main, as a file:// URL (so --depth applies)."""
    work = tmp_path / "work"
    write_package(work)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    git("clone", "-q", "--bare", work, tmp_path / "origin.git")
    return (tmp_path / "origin.git").as_uri()


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run a cell in a working folder on a machine where ``installed`` (a list of roots) holds the package."""
    cwd = tmp_path / "content"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    installed: list[Path] = []
    find_spec = importlib.util.find_spec

    def fake_find_spec(name: str, *a: object):
        if name != "infogan_tutorial":
            return find_spec(name, *a)
        return (importlib.util.spec_from_file_location(name, installed[-1] / name / "__init__.py")
                if installed else None)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "infogan_tutorial", raising=False)
    run = subprocess.run

    def fake_run(cmd: list[str], *args: object, **kwargs: object) -> subprocess.CompletedProcess:
        if cmd[:3] == [sys.executable, "-m", "pip"]:
            assert cmd[-2:-1] == ["-e"] and (Path(cmd[-1]) / "infogan_tutorial" / "__init__.py").is_file()
            installed.append(Path(cmd[-1]))
            return subprocess.CompletedProcess(cmd, 0)
        return run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", fake_run)

    def execute(source: str) -> str:
        exec(compile(source, "install-cell", "exec"), {"__name__": "__main__"})  # noqa: S102 - as Jupyter runs it
        return capsys.readouterr().out

    return cwd / "infogan-tutorial", execute, installed


def commit_of(target: Path) -> str:
    return git("-C", target, "rev-parse", "--short", "HEAD").strip()


def test_a_fresh_machine_clones_into_the_working_folder_and_says_what_it_uses(origin: str, machine) -> None:
    target, execute, installed = machine
    printed = execute(cell_source(origin))
    assert installed == [target] and sys.path[0] == str(target)
    assert (target / "infogan_tutorial" / "__init__.py").is_file()
    assert not Path(f"{target}.partial").exists()
    assert printed == (f"Cloned {origin} into {target}.\nInstalled infogan_tutorial {VERSION} from {target} "
                       f"(git commit {commit_of(target)}; data/ present).\n")


def test_a_repeat_run_prints_which_code_is_in_use(origin: str, machine) -> None:
    target, execute, installed = machine
    execute(cell_source(origin))
    printed = execute(cell_source(origin))
    commit = commit_of(target)
    assert printed == f"Using infogan_tutorial {VERSION} from {target} (git commit {commit}; data/ present).\n"
    assert installed == [target]  # not installed twice


def test_an_interrupted_clone_is_cleaned_up_and_cloned_again(origin: str, machine) -> None:
    target, execute, installed = machine
    partial = Path(f"{target}.partial")
    partial.mkdir()
    (partial / "made-by-install-cell").write_text("")  # what the cell writes before it clones
    (partial / "repo").mkdir()
    printed = execute(cell_source(origin))
    assert printed.startswith(f"Cloned {origin} into {target}.") and installed == [target]
    assert not partial.exists()


def test_a_readers_folder_with_extra_files_is_never_deleted(origin: str, machine) -> None:
    target, execute, installed = machine
    (target / "infogan_tutorial").mkdir(parents=True)  # not a clone: the reader's own folder
    (target / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="is not a clone of .*rename it, then run this cell again"):
        execute(cell_source(origin))
    assert (target / "notes.txt").read_text() == "mine" and not installed


def test_a_readers_clone_missing_files_keeps_its_notes_and_git(origin: str, machine) -> None:
    target, execute, installed = machine
    git("clone", "-q", origin, target)
    (target / "infogan_tutorial" / "networks.py").unlink()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match=r"files of your clone .* are missing \(infogan_tutorial/networks.py\): restore them"):
        execute(cell_source(origin))
    assert (target / "notes.txt").read_text() == "mine" and (target / ".git").is_dir() and not installed


def test_a_clone_the_cell_made_gets_its_missing_files_back(origin: str, machine) -> None:
    target, execute, installed = machine
    execute(cell_source(origin))
    (target / "infogan_tutorial" / "networks.py").unlink()
    (target / "notes.txt").write_text("mine")
    installed.clear()
    printed = execute(cell_source(origin))
    assert "Restored 1 missing file(s)." in printed
    assert (target / "infogan_tutorial" / "networks.py").is_file() and (target / "notes.txt").read_text() == "mine"


def test_a_complete_clone_is_kept_with_the_readers_changes(origin: str, machine) -> None:
    target, execute, installed = machine
    git("clone", "-q", origin, target)
    (target / "pyproject.toml").write_text("# edited\n")
    (target / "notes.txt").write_text("mine")
    printed = execute(cell_source(origin))
    assert printed.startswith(f"Installed infogan_tutorial {VERSION} from {target}")
    assert installed == [target]
    assert (target / "notes.txt").read_text() == "mine" and (target / "pyproject.toml").read_text() == "# edited\n"


def test_a_stale_install_elsewhere_is_reported_and_replaced(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    old = tmp_path / "site-packages"
    write_package(old, version="0.0.1", data=False)  # e.g. pip install git+... of an older commit
    installed.append(old)
    printed = execute(cell_source(origin))
    assert printed.splitlines()[0] == (f"Not using infogan_tutorial from {old}: version 0.0.1, the book needs "
                                       f"{VERSION}; no data/ folder beside the package.")
    assert installed[-1] == target and f"Installed infogan_tutorial {VERSION} from {target}" in printed


def test_a_stale_clone_the_cell_made_is_updated(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    work = tmp_path / "work"
    execute(cell_source(origin))
    write_package(work, version="10.0")  # the book moves on
    git("commit", "-q", "-am", "next", cwd=work)
    git("push", "-q", origin, "main", cwd=work)
    (target / "notes.txt").write_text("mine")  # untracked notes survive the update
    printed = execute(cell_source(origin, version="10.0"))
    assert f"Not using infogan_tutorial from {target}: version {VERSION}, the book needs 10.0" in printed
    assert f"Updated {target} from {origin}." in printed
    assert f"Installed infogan_tutorial 10.0 from {target}" in printed
    assert (target / "notes.txt").read_text() == "mine"


def test_a_stale_clone_of_the_reader_is_reported_not_changed(origin: str, machine) -> None:
    target, execute, installed = machine
    git("clone", "-q", origin, target)
    head = commit_of(target)
    with pytest.raises(Exception, match=f"{target} is your clone, not this book's version; update it"):
        execute(cell_source(origin, version="10.0"))
    assert commit_of(target) == head and not installed


def test_a_failed_clone_says_what_to_do_and_leaves_nothing(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    with pytest.raises(Exception, match="^cloning .* failed or was stopped.*: check the connection, then run this cell again.$"):
        execute(cell_source((tmp_path / "no-such-repo.git").as_uri()))
    assert not target.exists() and not Path(f"{target}.partial").exists()
    printed = execute(cell_source(origin))  # the next run starts afresh
    assert printed.startswith("Cloned") and installed == [target]


def test_the_cell_of_the_book_fits_80_columns_and_names_this_package() -> None:
    sync = sync_module()
    source = "".join(sync.install_cell({"repository": {"url": "https://github.com/o/r", "branch": "main"}})["source"])
    assert max(map(len, source.splitlines())) <= 80
    assert f'"{sync.package_version()}"' in source and "'training'" in source and "'exercises'" in source


def test_a_killed_pip_says_run_the_cell_again(origin: str, machine, monkeypatch: pytest.MonkeyPatch) -> None:
    target, execute, installed = machine
    run = subprocess.run

    def killed(cmd: list[str], *args: object, **kwargs: object) -> subprocess.CompletedProcess:
        if cmd[:3] == [sys.executable, "-m", "pip"]:
            raise KeyboardInterrupt
        return run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", killed)
    with pytest.raises(Exception, match="^pip install failed or was stopped: run this cell again.$"):
        execute(cell_source(origin))
    monkeypatch.setattr(subprocess, "run", run)
    printed = execute(cell_source(origin))  # the clone is kept and used
    assert printed.splitlines()[-1].startswith(f"Installed infogan_tutorial {VERSION} from {target}")
    assert installed == [target]


def test_a_failure_is_one_line_in_jupyter_not_a_traceback(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    with pytest.raises(Exception) as failed:
        execute(cell_source((tmp_path / "no-such-repo.git").as_uri()))
    assert type(failed.value).__name__ == "InstallCellError" and not isinstance(failed.value, SystemExit)
    rendered = failed.value._render_traceback_()
    assert len(rendered) == 1 and rendered[0].startswith(f"Install cell: cloning {(tmp_path / 'no-such-repo.git').as_uri()} "
                                                         "failed or was stopped")


def test_the_trees_are_gits_own_tree_ids_in_a_clone_and_in_a_plain_copy(tmp_path: Path) -> None:
    work = tmp_path / "work"
    write_package(work)
    (work / "data" / "sub").mkdir()
    (work / "data" / "sub" / "b.bin").write_bytes(bytes(range(256)))
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    sync = sync_module()
    trees = sync.package_trees(work)
    assert trees == {d: git("rev-parse", f"HEAD:{d}", cwd=work).strip() for d in ("infogan_tutorial", "data")}
    (work / "infogan_tutorial" / "untracked.py").write_text("junk")  # not in what git would publish
    assert sync.package_trees(work) == trees
    copy = tmp_path / "copy"  # course.py publish's copy: not a repository
    for d in ("infogan_tutorial", "data"):
        (copy / d).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-r", str(work / d), str(copy / d)], check=True)
    (copy / "infogan_tutorial" / "untracked.py").unlink()
    assert sync.package_trees(copy) == trees


def push_change(work: Path, origin: str) -> dict[str, str]:
    """A new commit on origin that keeps the version and the modules (only the code changes)."""
    (work / "infogan_tutorial" / "networks.py").write_text("# the book moved on\n")
    git("commit", "-q", "-am", "next", cwd=work)
    git("push", "-q", origin, "main", cwd=work)
    return sync_module().package_trees(work)


def test_a_clone_of_an_older_commit_with_every_module_is_updated(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    work = tmp_path / "work"
    execute(cell_source(origin, trees=sync_module().package_trees(work)))
    old = commit_of(target)
    trees = push_change(work, origin)
    printed = execute(cell_source(origin, trees=trees))
    assert f"Not using infogan_tutorial from {target}: its infogan_tutorial/ is not this book's version." in printed
    assert f"Updated {target} from {origin}." in printed and commit_of(target) != old
    assert f"Installed infogan_tutorial {VERSION} from {target} (git commit {commit_of(target)};" in printed


def test_a_readers_clone_of_an_older_commit_is_reported_with_commands_that_work(origin: str, machine,
                                                                               tmp_path: Path) -> None:
    target, execute, installed = machine
    git("clone", "-q", origin, target)
    git("-C", target, "checkout", "-q", "--detach")  # a detached HEAD, where `git pull` would fail
    head = commit_of(target)
    trees = push_change(tmp_path / "work", origin)
    with pytest.raises(Exception, match=f"your clone, not this book's version; update it .git -C {target} fetch "
                                        f"origin main, then git -C {target} checkout FETCH_HEAD"):
        execute(cell_source(origin, trees=trees))
    assert commit_of(target) == head and not installed
    git("-C", target, "fetch", "-q", "origin", "main")  # what the message says to do
    git("-C", target, "checkout", "-q", "FETCH_HEAD")
    out = execute(cell_source(origin, trees=trees))  # (after the failed run's own lines)
    assert out.splitlines()[-1].startswith(f"Installed infogan_tutorial {VERSION} from {target}")


def test_a_missing_data_file_in_the_cells_clone_is_restored(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    trees = sync_module().package_trees(tmp_path / "work")
    execute(cell_source(origin, trees=trees))
    (target / "data" / "README.md").unlink()  # the package itself is complete
    printed = execute(cell_source(origin, trees=trees))
    assert "1 of its files are missing (data/README.md)" in printed and "Restored 1 missing file(s)." in printed
    assert printed.count("1 of its files are missing") == 1  # the reason once
    assert (target / "data" / "README.md").is_file()


def test_local_changes_to_the_package_are_used_and_said(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    trees = sync_module().package_trees(tmp_path / "work")
    execute(cell_source(origin, trees=trees))
    (target / "infogan_tutorial" / "networks.py").write_text("# my experiment\n")
    printed = execute(cell_source(origin, trees=trees))
    assert printed == (f"Using infogan_tutorial {VERSION} from {target} (git commit {commit_of(target)}, with your "
                       "local changes; data/ present).\n")


def test_old_code_with_local_edits_is_used_but_said_to_be_old(origin: str, machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    work = tmp_path / "work"
    execute(cell_source(origin, trees=sync_module().package_trees(work)))
    trees = push_change(work, origin)
    (target / "infogan_tutorial" / "__init__.py").write_text(f'__version__ = "{VERSION}"\n# my edit\n')
    printed = execute(cell_source(origin, trees=trees))
    assert "with your local changes, on a commit that is not this book's version" in printed
    assert (target / "infogan_tutorial" / "__init__.py").read_text().endswith("# my edit\n")


def test_a_readers_clone_with_a_deleted_file_is_told_how_to_restore_it(origin: str, machine) -> None:
    target, execute, installed = machine
    git("clone", "-q", origin, target)
    (target / "data" / "README.md").unlink()
    with pytest.raises(Exception, match=r"files of your clone .* are missing \(data/README.md\): restore them \(git -C .* checkout -- \.\)"):
        execute(cell_source(origin))
    git("-C", target, "checkout", "--", ".")  # what the message says
    assert execute(cell_source(origin)).splitlines()[-1].startswith(f"Installed infogan_tutorial {VERSION}")


def test_a_repository_of_the_readers_own_with_the_package_is_not_sent_to_fetch(origin: str, machine,
                                                                               tmp_path: Path) -> None:
    target, execute, installed = machine
    write_package(target, version="0.0.1")
    git("init", "-q", "-b", "main", cwd=target)
    git("add", ".", cwd=target)
    git("commit", "-q", "-m", "mine", cwd=target)
    with pytest.raises(Exception, match=f"{target} is a git repository of yours, not a clone of .*rename it"):
        execute(cell_source(origin))


def test_a_failed_clone_says_gits_reason(machine, tmp_path: Path) -> None:
    target, execute, installed = machine
    with pytest.raises(Exception, match=r"failed or was stopped \(git: .*\): check the connection"):
        execute(cell_source((tmp_path / "no-such-repo.git").as_uri()))


def test_an_unrelated_repository_in_the_way_is_named_as_such(origin: str, machine) -> None:
    target, execute, installed = machine
    target.mkdir()
    git("init", "-q", cwd=target)
    (target / "mine.txt").write_text("mine")
    with pytest.raises(Exception, match="is not a clone of .*rename it"):
        execute(cell_source(origin))
    assert (target / "mine.txt").read_text() == "mine" and not installed
