"""A run's output folder: checked before any work starts, and owned by one training at a time.

``python -m infogan_tutorial train --out OUT`` writes ``OUT/checkpoint.pt``, ``history.json``,
``metrics.json``, ``eval.jsonl`` and ``figures/``. Two trainings into one folder would overwrite
each other's files, so the first holds ``OUT/.lock`` (its process id) while it runs, and a
second one stops at once with an error. A lock left by a process that no longer runs (killed
with ``kill -9``, a crashed machine) is recovered. Outputs are checked *before* training: an
unwritable folder or a path that is a file fails in a second, not after an hour.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .checkpoints import pid_alive, remove_stale_temporaries
from .errors import SpecError

LOCK_NAME = ".lock"


def prepare_folder(out: Path) -> Path:
    """Create ``out`` if needed and check that files can be written in it."""
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file, not a folder; choose a folder for the run's files.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpecError(f"cannot create the output folder {out} ({e.strerror or e}); choose another --out.") from e
    if not os.access(out, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write in the output folder {out} (no permission); choose another --out.")
    return out


def check_output_file(path: Path, option: str, example: str = "model.pt") -> Path:
    """Check, before any work, that ``path`` can be written as a file (its folder is created)."""
    if path.is_dir():
        raise SpecError(f"{option} {path} is a folder; give a file name, e.g. {path / example}.")
    if path.name in ("", ".", ".."):
        raise SpecError(f"{option} {path} names no file; give a file name.")
    prepare_folder(path.parent) if str(path.parent) not in ("", ".") else None
    if not os.access(path.parent if str(path.parent) else Path("."), os.W_OK):
        raise SpecError(f"cannot write {option} {path} (no permission in its folder); choose another path.")
    return path


def _holder(lock: Path) -> int | None:
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def owned(out: Path) -> Iterator[Path]:
    """Hold ``out/.lock`` while the block runs; another live holder raises :class:`SpecError`.

    A stale lock (its process is gone) is taken over, and stale temporary checkpoint files of
    killed saves are removed.
    """
    prepare_folder(out)
    lock = out / LOCK_NAME
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            pid = _holder(lock)
            if pid is not None and pid != os.getpid() and pid_alive(pid):
                raise SpecError(f"another training (process {pid}) is writing to {out}; wait for it to finish, or "
                                f"choose another --out. If no such run exists, delete {lock}.") from None
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
