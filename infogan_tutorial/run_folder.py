"""A run's output folder: checked before any work starts, and owned by one training at a time.

``python -m infogan_tutorial train --out OUT`` writes ``OUT/checkpoint.pt``, ``history.json``,
``metrics.json``, ``eval.jsonl`` and ``figures/``. Two trainings into one folder would overwrite
each other's files, so the first holds ``OUT/.lock`` (its process id) while it runs, and a
second one stops at once with an error. A lock left by a process that no longer runs (killed
with ``kill -9``, a crashed machine) is recovered. Outputs are checked *before* training: an
unwritable folder or a path that is a file fails in a second, not after an hour.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .checkpoints import (
    PNG_MAGIC,
    ZIP_MAGIC,
    check_replaceable,
    is_model_file,
    is_training_checkpoint,
    not_regular_file,
    on_read_only_file_system,
    pid_alive,
    remove_stale_temporaries,
    starts_with,
)
from .errors import CheckpointError, SpecError

LOCK_NAME = ".lock"


def path_argument(text: str) -> Path:
    """An argparse type for a path option: never the empty string (``Path('')`` is the current folder, which no
    option means)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names nothing; give a file or folder name")
    return Path(text)


def prepare_folder(out: Path, option: str = "--out") -> Path:
    """Create ``out`` if needed and check that files can be written in it."""
    if out.is_symlink() and not out.exists():
        raise SpecError(f"{option} {out} is a symbolic link that leads nowhere (its target is missing, or the links "
                        "form a loop); remove the link or choose another folder.")
    if out.exists() and not out.is_dir():
        raise SpecError(f"{option} {out} is a file, not a folder; choose a folder (it is created if missing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpecError(f"cannot create the folder {out} for {option} ({e.strerror or e}); choose another "
                        f"{option}.") from e
    if not os.access(out, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write in the folder {out} for {option} ({why_unwritable(out)}); choose another "
                        f"{option}.")
    return out


def why_unwritable(folder: Path) -> str:
    """Why ``folder`` refuses writes, in words: a file system mounted read-only, or the folder's permissions (and
    that nothing refuses them, for a folder this user can write in now)."""
    if on_read_only_file_system(folder):
        return "it is on a read-only file system"
    if os.access(folder, os.W_OK | os.X_OK):
        return "nothing refuses writes there now: this user may write in it"
    return "no write permission for this user"


def check_output_file(path: Path, option: str, example: str = "model.pt", suffix: str | None = None,
                      protect: list[Path] = ()) -> Path:
    """Check, before any work, that ``path`` can be written as a file (its folder is created).

    It may not be a folder, a device, FIFO or socket, one of the ``protect`` paths, or a resumable
    training checkpoint. An existing file is replaced only if its *content* is of the kind written
    there (a PNG for ``suffix=".png"``, else a torch file): writing over anything else would lose
    work. With ``suffix``, the name must end with it (the file is written in that format).
    """
    if str(path) in ("", ".") or path.name in ("", ".", ".."):
        raise SpecError(f"{option} {str(path)!r} names no file; give a file name, e.g. {example}.")
    if path.is_dir():
        raise SpecError(f"{option} {path} is a folder; give a file name, e.g. {path / example}.")
    if path.is_symlink() and not path.exists():  # written through, the link's target must be a file to create
        try:
            target = path.resolve(strict=False)
        except (RuntimeError, OSError):
            target = None
        if target is None or target.is_symlink() or not target.parent.is_dir():
            raise SpecError(f"{option} {path} is a symbolic link that leads nowhere (" + (
                "the links form a loop" if target is None or target.is_symlink() else
                f"to {target}, whose folder does not exist") + "); remove the link, or choose another path.")
    try:
        check_replaceable(path, option)
    except CheckpointError as e:
        raise SpecError(str(e)) from None
    if any(path.resolve() == other.resolve() for other in protect):
        raise SpecError(f"{option} {path} is one of the run's own files or its folder (writing there would destroy "
                        f"it); give it another name, e.g. {path.with_name(example) if path.parent != path else example}.")
    real = path.resolve() if path.is_symlink() else path  # a link is written through: judge what it points to
    sums = real.parent / "SHA256SUMS"
    if real.is_file() and sums.is_file() and any(line.split()[1:] == [real.name] for line in
                                                 sums.read_text(errors="replace").splitlines()):
        raise SpecError(f"{option} {path} is a file listed in {sums} (a shipped file, such as the pretrained "
                        f"model); writing there would destroy it. Choose another path, e.g. "
                        f"{path.with_name(Path(example).name)}.")
    if path.is_file() and is_training_checkpoint(path):
        raise SpecError(f"{option} {path} is a resumable training checkpoint (writing there would destroy it); "
                        "choose another path.")
    if suffix is not None and path.name.lower() == suffix:
        raise SpecError(f"{option} {path} names only the extension {suffix}, not a file; give a file name, e.g. "
                        f"{path.with_name(Path(example).name) if path.parent != Path('.') else example}.")
    if suffix is not None and path.suffix.lower() != suffix:
        raise SpecError(f"{option} {path}: this command writes a {suffix} file; give a name ending in {suffix}, "
                        f"e.g. {path.with_suffix(suffix).name}.")
    if path.is_file() and path.stat().st_size > 0:
        magic, what = (PNG_MAGIC, "PNG image") if suffix == ".png" else (ZIP_MAGIC, "model this package wrote")
        if not starts_with(path, magic) or (suffix != ".png" and not is_model_file(path)):
            raise SpecError(f"{option} {path} exists and is not a {what} (writing there would destroy it); "
                            "choose another path, or move that file first.")
    prepare_folder(path.parent, option)
    return path


def _holder(lock: Path) -> int | None:
    if not lock.is_file() or not_regular_file(lock):  # a FIFO would block the read: no holder, a stale lock
        return None
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first (what creating ``path`` would add)."""
    missing, p = [], Path(os.path.abspath(path))
    while not p.exists() and not p.is_symlink() and p != p.parent:
        missing.append(p)
        p = p.parent
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty: a command that failed before writing anything
    leaves none of the folders it created. A folder that holds anything stays, and so do those above it."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty, or already gone: leave it and its parents
            return


def check_not_busy(out: Path) -> None:
    """Raise :class:`SpecError` if a live process other than this one holds ``out/.lock`` (a training writing there):
    said before anything else about the folder's files, which that training is changing."""
    lock = out / LOCK_NAME
    if lock.is_dir():  # (a FIFO or a stale file is taken over by owned(); a folder cannot be)
        raise SpecError(f"{lock} is a folder, where a training keeps its lock file (the id of the process writing to "
                        f"{out}); no training made it. Remove it (rmdir {lock}, or move it away) and run again.")
    pid = _holder(lock)
    if pid is not None and pid != os.getpid() and pid_alive(pid):
        raise SpecError(f"another training (process {pid}) is writing to {out}; wait for it to finish, or "
                        f"choose another --out. If no such run exists, delete {lock}.")


@contextlib.contextmanager
def owned(out: Path) -> Iterator[Path]:
    """Hold ``out/.lock`` while the block runs; another live holder raises :class:`SpecError`.

    A stale lock (its process is gone) is taken over, and stale temporary checkpoint files of
    killed saves are removed.
    """
    created = missing_folders(out)
    prepare_folder(out)
    lock = out / LOCK_NAME
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            check_not_busy(out)
            lock.unlink(missing_ok=True)  # stale: its process is gone
    else:
        raise SpecError(f"could not take {lock}; another training may be starting in {out}. Try again.")
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    remove_stale_temporaries(out / "checkpoint.pt")
    try:
        yield out
    finally:
        if _holder(lock) == os.getpid():
            lock.unlink(missing_ok=True)
        remove_empty(created)  # a run that failed before writing anything leaves no folder
