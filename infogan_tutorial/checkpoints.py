"""Checkpoints: the file format, written atomically and read safely.

A checkpoint is a dict saved with ``torch.save``:

* ``format``: the version of this layout (:data:`CHECKPOINT_FORMAT`); a file of a newer or
  unknown version is refused with a clear error rather than misread;
* ``spec`` (``LatentSpec.to_dict()``), ``config`` (the run's ``TrainConfig`` as a dict),
  ``step`` and ``history``;
* ``G`` and ``D``: the networks' state dicts. In a full checkpoint they are fp32; in a
  compact export (:mod:`~infogan_tutorial.export`) the floating-point tensors may be fp16, and
  the large matrices int8 with one scale per row (``int8_scales``) or packed 4-bit with one
  scale per :data:`~infogan_tutorial.quantize.INT4_GROUP` weights (``int4``;
  the format is :mod:`~infogan_tutorial.quantize`'s);
* a full checkpoint, written during training, also holds ``opt_g``, ``opt_d``, ``scaler``,
  ``code_rng`` and ``code_rng_device``: everything a run needs to go on;
* ``checksum``: the SHA-256 of the file's tensors (:func:`tensor_checksum`), so that a file
  damaged in place is refused rather than read as NaN weights. Files written before it existed
  have none; for them :func:`read_checkpoint` checks that every weight is finite;
* ``meta_checksum``: the SHA-256 of everything else (:func:`meta_checksum`: the spec, the recipe,
  the step, the history, ...), so that a changed learning rate or step is refused too rather than
  trained with. Files written before it existed have none and are read as before.

Reading a checkpoint needs only this module: the inference side of the package (the
pretrained model, ``evaluate``, ``sample``, the explorer) never imports the training loop.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import secrets
import shutil
import stat
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .devices import usable_device  # noqa: F401 (re-exported: where a loaded model may go)
from .errors import CheckpointError, InfoGANError
from .latent_codes import LatentSpec
from .networks import Discriminator, Generator
from .quantize import dequantize_int4, dequantize_rows

CHECKPOINT_FORMAT = 1
"""The version of the layout above; :func:`read_checkpoint` refuses any other."""
KNOWN_ENTRIES = frozenset({"format", "spec", "config", "step", "history", "data", "unlogged", "G", "D", "opt_g",
                           "opt_d", "scaler", "code_rng", "code_rng_device", "int8_scales", "int4", "checksum",
                           "meta_checksum"})
"""Every entry a checkpoint of this format may hold; :func:`read_checkpoint` refuses a file with any other."""


def atomic_save(obj: object, path: str | Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename: a crash never leaves half a file.

    Temporary files left by an earlier process that was killed mid-save are removed first. ``path`` may not
    be a device, FIFO or socket (:func:`check_replaceable`); a symbolic link is written through.
    """
    path = Path(path)
    check_replaceable(path)
    if path.is_dir():
        raise CheckpointError(f"could not write {path}: it is a folder; give a file name, e.g. {path / 'model.pt'}.")
    if path.is_symlink():  # write through the link: the link stays, its target gets the new content
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    try:
        replace_atomically(path, lambda tmp: torch.save(obj, tmp))
    except (AttributeError, TypeError, pickle.PicklingError) as e:  # what pickle raises for a lambda, a lock, ...
        raise CheckpointError(f"could not write {path}: it holds an object that cannot be saved ({e}); save tensors, "
                              "numbers, strings and lists or dicts of them. The previous file at that path, if any, "
                              "is unchanged.") from e
    except (OSError, RuntimeError) as e:  # a full disk surfaces as torch's RuntimeError ("unexpected pos")
        fix = ("check the permissions of that folder and file" if isinstance(e, PermissionError)
               else "write elsewhere" if on_read_only_file_system(path.parent) else "free some disk space")
        raise CheckpointError(f"could not write {path} ({_write_failure(e, path.parent)}); {fix}, or choose another "
                              "output folder. The previous file at that path, if any, is unchanged.") from e


ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of every file ``torch.save`` writes (a zip archive)."""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
"""The first bytes of every PNG image."""


def starts_with(path: Path, magic: bytes) -> bool:
    """Whether the file at ``path`` begins with the bytes ``magic`` (False when it cannot be read, and for anything
    but a regular file: a FIFO would block the read)."""
    if not_regular_file(path):
        return False
    try:
        with open(path, "rb") as f:
            return f.read(len(magic)) == magic
    except OSError:
        return False


def refuse_foreign_file(path: str | Path, who: str = "") -> None:
    """Raise :class:`CheckpointError` if ``path`` is a non-empty file that ``torch.save`` did not write (notes saved
    there by mistake): replacing it would lose it. An unreadable file is left to the write to report."""
    path = Path(path)
    if path.is_file() and path.stat().st_size and os.access(path, os.R_OK) and not starts_with(path, ZIP_MAGIC):
        raise CheckpointError(f"{who}{path} exists and is not a model file or torch checkpoint (its first bytes are "
                              "no torch.save zip archive); writing there would destroy it. Choose another path, or "
                              "move that file first.")


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (a ``SHA256SUMS`` file lists the shipped files'); a :class:`CheckpointError` for anything
    but a regular file (a folder, or a FIFO or device, whose read would block or never end)."""
    kind = not_regular_file(path) or ("a folder" if Path(path).is_dir() else None)
    if kind:
        raise CheckpointError(f"{path} is {kind}, not a regular file, so it has no SHA-256 to compare; give a file.")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def listed_sum_differs(path: str | Path) -> Path | None:
    """The ``SHA256SUMS`` beside ``path`` if it lists ``path`` with another SHA-256 (the file was changed or damaged
    since it shipped), else None (it matches, or is not listed)."""
    sums = Path(path).parent / "SHA256SUMS"
    if not sums.is_file():
        return None
    listed = {line.split()[1]: line.split()[0] for line in sums.read_text(errors="replace").splitlines()
              if len(line.split()) == 2}
    name = Path(path).name
    return sums if name in listed and listed[name] != sha256(path) else None


def on_read_only_file_system(folder: Path) -> bool:
    """Whether ``folder`` lies on a file system mounted read-only (False where that cannot be told: Windows)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


def _write_failure(error: BaseException, folder: Path) -> str:
    """Why a save failed, in words: the OS's reason, or, for torch's own RuntimeError (its zip writer's internals,
    e.g. "unexpected pos"), a read-only file system or the free space left where it wrote."""
    if isinstance(error, OSError):
        return error.strerror if error.strerror else f"{type(error).__name__}: {error}"
    if on_read_only_file_system(folder):
        return "the file system there is read-only"
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "the write stopped part-way, most likely a full disk"
    return f"the write stopped part-way; {free:,} bytes are free there, most likely a full disk or quota"


def temporary_name(path: Path) -> Path:
    """A temporary file beside ``path`` that no other process picks: ``.NAME.tmp-PID-RANDOM``."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it over ``path``: an interrupt (Ctrl-C,
    kill -9) leaves the old file or the new one, never half of one; the temporary file never stays behind."""
    tmp = temporary_name(path)
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def check_replaceable(path: str | Path, option: str | None = None) -> None:
    """Refuse a ``path`` that exists and is not a regular file (a device, a FIFO, a socket): an atomic write
    renames a new file over it, which would replace, e.g., ``/dev/null`` itself; and a read-only regular file
    (no write permission for anyone), which the rename would replace too. A symbolic link is judged
    by what it points to (and the write replaces the link, not its target)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # unreadable or a dangling link: the write reports its own error
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
                else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise CheckpointError(f"{option + ' ' if option else ''}{path} is {kind}, not a regular file; writing there "
                              "would replace it. Give the path of a regular file.")
    if stat.S_ISREG(mode) and not mode & 0o222:  # a rename replaces even a read-only file: honour its mode
        raise CheckpointError(f"{option + ' ' if option else ''}{path} is read-only (mode {stat.S_IMODE(mode):o}), so "
                              "it is kept; make it writable (chmod u+w) to replace it, or choose another path.")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (False for ids no process can have: 0, negative, huge).
    A ``pid`` that is not a whole number (the text "1", a float) raises :class:`CheckpointError`."""
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise CheckpointError(f"pid_alive needs a process id as an int, got {pid!r}; convert text with int(...).")
    if not 0 < pid < 2 ** 31:
        return False  # os.kill(0 or -1, 0) would ask about a whole process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete ``.NAME.tmp-PID[-RANDOM]`` files beside ``path`` whose process no longer runs (a save killed by
    ``kill -9``); returns what was removed."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        pid = tmp.name[len(f".{path.name}.tmp-"):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _tensors(ckpt: dict, keys: tuple[str, ...] | None = ("G", "D", "int8_scales", "int4")) -> list[tuple[str, Tensor]]:
    """The tensors under ``keys`` of a checkpoint dict (default: the networks' and an export's scales; None:
    every entry but ``checksum``), in a fixed order."""
    found: list[tuple[str, Tensor]] = []

    def walk(prefix: str, x: object) -> None:
        if isinstance(x, Tensor):
            found.append((prefix, x))
        elif isinstance(x, dict):
            for k in sorted(x, key=str):
                walk(f"{prefix}/{k}", x[k])
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(f"{prefix}/{i}", v)

    for key in sorted((k for k in ckpt if k not in _CHECKSUMS), key=str) if keys is None else keys:
        if key in ckpt:
            walk(key, ckpt[key])
    return found


def tensor_checksum(ckpt: dict) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of every tensor in ``ckpt`` (networks, optimizers,
    an export's scales, the code RNG's state): stored as ``checksum`` and checked by :func:`read_checkpoint`."""
    h = hashlib.sha256()
    for name, t in _tensors(ckpt, keys=None):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


_CHECKSUMS = ("checksum", "meta_checksum")


def _plain(x: object, out: list[str]) -> None:
    """A canonical text of the plain (non-tensor) data in ``x``: the type and exact value of every leaf, dict
    keys sorted; tensors stand as ``T`` (their bytes are :func:`tensor_checksum`'s)."""
    if isinstance(x, Tensor):
        out.append("T")
    elif isinstance(x, dict):
        out.append("{")
        for k in sorted(x, key=repr):
            out.append(f"{k!r}:")
            _plain(x[k], out)
            out.append(",")
        out.append("}")
    elif isinstance(x, (list, tuple)):
        out.append("[" if isinstance(x, list) else "(")
        for v in x:
            _plain(v, out)
            out.append(",")
        out.append("]" if isinstance(x, list) else ")")
    else:  # int, float (repr is exact), str, bool, None, torch.dtype, ...
        out.append(f"{type(x).__name__}={x!r}")


def meta_checksum(ckpt: dict) -> str:
    """SHA-256 over every entry of ``ckpt`` but its tensors and checksums (``_plain``): the spec, the
    recipe (``config``), the step, the history, the data's description. Stored as ``meta_checksum``."""
    out: list[str] = []
    _plain({k: v for k, v in ckpt.items() if k not in _CHECKSUMS}, out)
    return hashlib.sha256("".join(out).encode()).hexdigest()


def with_checksum(ckpt: dict) -> dict:
    """``ckpt`` with its ``checksum`` (:func:`tensor_checksum`) and ``meta_checksum`` (:func:`meta_checksum`)."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"with_checksum needs a checkpoint dict, got {type(ckpt).__name__}.")
    ckpt = {k: v for k, v in ckpt.items() if k not in _CHECKSUMS}
    return {**ckpt, "checksum": tensor_checksum(ckpt), "meta_checksum": meta_checksum(ckpt)}


def verify_contents(ckpt: dict, path: str | Path = "checkpoint") -> None:
    """Raise :class:`CheckpointError` if the tensors of ``ckpt`` do not match its ``checksum`` or the rest
    (recipe, step, history, ...) its ``meta_checksum``, or if a network's weight is NaN or infinite (in a file
    written before checksums: any floating-point tensor)."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"verify_contents needs a checkpoint dict (what torch.load read), got "
                              f"{type(ckpt).__name__}.")
    stored = ckpt.get("checksum")
    fix = "the file was damaged after it was written; use an earlier checkpoint or a fresh copy, or retrain"
    meta = ckpt.get("meta_checksum")
    if meta is not None and meta != meta_checksum(ckpt):
        raise CheckpointError(f"{path} is corrupt: its recipe, step or history (the entries besides the weights) "
                              f"do not match the checksum stored with them; {fix}.")
    if stored is not None:
        if stored != tensor_checksum(ckpt):
            raise CheckpointError(f"{path} is corrupt: its tensors do not match the checksum stored with them; {fix}.")
        for net in ("G", "D"):  # intact, but written with NaN weights (training never saves those: made so)
            for name, t in (ckpt.get(net) or {}).items():
                if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
                    raise CheckpointError(f"{path} holds NaN or infinite values in {net}'s {name}: no network can be "
                                          "used from it. Use an earlier checkpoint, or retrain.")
        return
    for name, t in _tensors(ckpt):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path} is corrupt: {name} holds NaN or infinite values; {fix}.")


def not_regular_file(path: str | Path) -> str | None:
    """What ``path`` is when it exists but is not a regular file (after links): "a FIFO (named pipe)", "a
    character device", ...; None for a regular file, a folder or nothing. Opening a FIFO for reading
    blocks until someone writes to it, and a device such as /dev/zero never ends: check before reading."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")


def _entries(path: str | Path) -> set[str]:
    """The entry names of the torch file at ``path`` if it holds a dict, else none; memory-maps, reads no weights.
    Anything but a regular file (a FIFO, a device) is not opened."""
    if not Path(path).is_file() or not_regular_file(path):
        return set()
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - not a torch file at all
        return set()
    return set(map(str, ckpt)) if isinstance(ckpt, dict) else set()


def is_training_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` holds a full, resumable checkpoint (with optimizers)."""
    return "opt_g" in _entries(path)


def is_model_file(path: str | Path) -> bool:
    """Whether ``path`` holds a model this package wrote (an export or a checkpoint: a dict with a spec, G and D).
    A user's own ``torch.save`` file (a tensor, a dict of results) is not one."""
    return {"spec", "G", "D"} <= _entries(path)


def read_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint dict safely (``weights_only=True``: no arbitrary objects are unpickled).

    Raises :class:`CheckpointError` for a missing, unreadable or foreign file, for a ``format`` this
    version of the package does not know, and for contents damaged in place (:func:`verify_contents`).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"a checkpoint path must be a str or pathlib.Path, got {type(path).__name__} {path!r}.")
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.glob("*.pt") if p.is_file())
        hint = (f"pass one of the .pt files it holds: {', '.join(str(p) for p in found[:5])}"
                + (f" (and {len(found) - 5} more)" if len(found) > 5 else "") if found
                else "it holds no .pt file; pass the path of a checkpoint file, e.g. runs/infogan/checkpoint.pt")
        raise CheckpointError(f"{path} is a folder; {hint}.")
    kind = not_regular_file(path)
    if kind:
        raise CheckpointError(f"{path} is {kind}, not a regular file, so it holds no checkpoint; give the path of a "
                              "checkpoint file (e.g. runs/infogan/checkpoint.pt).")
    if path.is_symlink() and not path.exists():
        raise CheckpointError(f"{path} is a symbolic link that leads nowhere (its target is missing, or the links "
                              "form a loop); give the path of the checkpoint file itself.")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `python -m infogan_tutorial train`, "
                              "or check the path.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt, truncated, or not a torch file
        raise CheckpointError(_unreadable(path, e)) from e
    if not isinstance(ckpt, dict) or "spec" not in ckpt or "G" not in ckpt or "D" not in ckpt:
        raise CheckpointError(f"{path} is a torch file but not an infogan_tutorial checkpoint (no spec, G or D).")
    version = ckpt.get("format", CHECKPOINT_FORMAT)
    if version != CHECKPOINT_FORMAT or isinstance(version, bool):
        raise CheckpointError(f"{path} has checkpoint format {version!r}, but this version of infogan_tutorial "
                              f"reads format {CHECKPOINT_FORMAT} only; upgrade the package (or use the version "
                              "that wrote it).")
    unknown = sorted(set(map(str, ckpt)) - KNOWN_ENTRIES)
    if unknown:
        raise CheckpointError(f"{path} is damaged: it holds {', '.join(map(repr, unknown))}, which no version of "
                              "infogan_tutorial writes (a changed byte in an entry's name reads as a file without "
                              "that entry); use an earlier checkpoint or a fresh copy, or retrain.")
    if not all(isinstance(ckpt[net], dict) for net in ("G", "D")):
        raise CheckpointError(f"{path} is damaged: its G or D is not a dict of tensors; use an earlier checkpoint.")
    verify_contents(ckpt, path)
    wrong = malformed_entry(ckpt)
    if wrong:
        raise CheckpointError(f"{path} is malformed: {wrong}, which `train` never writes (its checksums hold, so the "
                              "file was made so, not damaged). Use a checkpoint or export `train` wrote, or retrain.")
    return ckpt


def malformed_entry(ckpt: dict) -> str | None:
    """The first entry of a checkpoint dict that is not of the kind this package writes (said in words), or None:
    the entries besides the weights, which evaluate, sample and a resume read."""
    if not isinstance(ckpt, dict):
        return f"the checkpoint is a {type(ckpt).__name__}, not the dict of entries torch.save wrote"
    step = ckpt.get("step", 0)
    kinds = {"config": dict, "history": dict, "data": (dict, type(None)), "int8_scales": dict, "int4": dict,
             "spec": dict}
    for name, kind in kinds.items():
        if name in ckpt and not isinstance(ckpt[name], kind):
            return f"its {name} entry is {type(ckpt[name]).__name__}, not a dict"
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return f"its step is {step!r}, not a whole number >= 0"
    if "code_rng_device" in ckpt and ckpt["code_rng_device"] not in ("cpu", "cuda", "mps"):
        return f"its code_rng_device is {ckpt['code_rng_device']!r}, not cpu, cuda or mps"
    return None


def _unreadable(path: Path, e: Exception) -> str:
    """One line on a file torch.load could not read (torch's own text is long and suggests weights_only=False,
    which would run code from the file: not advice to give)."""
    text = str(e)
    if "WeightsUnpickler error:" in text:  # torch's long text on a weights-only load: keep only its reason
        lines = [line.strip() for line in text.split("WeightsUnpickler error:", 1)[1].splitlines() if line.strip()]
        first = lines[0] if lines and not lines[0].startswith("Check the documentation") else ""
        first = f"not a torch file of tensors ({first})" if first else "not a torch file of tensors"
    elif "weights_only" in text:
        first = "it holds objects other than tensors and plain data"
    else:
        first = text.strip().splitlines()[0] if text.strip() else ""
    detail = f"{type(e).__name__}: {first}"[:160]
    return (f"{path} is not a checkpoint of infogan_tutorial (torch.load could not read it: {detail}); it may be "
            "truncated or another program's file. Give a checkpoint written by `train` (e.g. runs/infogan/"
            "checkpoint.pt), an export, or retrain.")


def training_checkpoint(*, spec: LatentSpec, config: dict, step: int, history: dict, data: dict | None,
                        G: torch.nn.Module, D: torch.nn.Module, opt_g: torch.optim.Optimizer,
                        opt_d: torch.optim.Optimizer, scaler: torch.amp.GradScaler, code_rng: torch.Generator,
                        code_rng_device: str, unlogged: tuple[list[float], int] | None = None) -> dict:
    """A full, resumable checkpoint dict in the format above (the one place that writes it), with its
    checksum. ``unlogged``: the sum and count of the statistics since the last read, if any."""
    return with_checksum({
        "format": CHECKPOINT_FORMAT,
        "spec": spec.to_dict(),
        "config": config,
        "step": step,
        "data": data,
        "unlogged": list(unlogged) if unlogged is not None else None,
        "G": G.state_dict(),
        "D": D.state_dict(),
        "opt_g": opt_g.state_dict(),
        "opt_d": opt_d.state_dict(),
        "scaler": scaler.state_dict(),
        "code_rng": code_rng.get_state(),
        "code_rng_device": code_rng_device,
        "history": history,
    })


def compact_checkpoint(source: dict, G: dict[str, Tensor], D: dict[str, Tensor],
                       int8_scales: dict | None = None, int4: dict | None = None) -> dict:
    """A weights-only checkpoint dict in the format above (the one place that writes it), with its checksum:
    ``spec``, ``config``, ``step``, ``history`` and ``data`` of ``source`` (a checkpoint dict), the networks'
    (possibly quantised) tensors, and the scales of :mod:`~infogan_tutorial.quantize`, if any."""
    compact = {k: source[k] for k in ("spec", "config", "step", "history", "data") if k in source}
    compact.update(format=CHECKPOINT_FORMAT, G=G, D=D)
    if int8_scales:
        compact["int8_scales"] = int8_scales
    if int4:
        compact["int4"] = int4
    return with_checksum(compact)


def spec_of(ckpt: dict, path: str | Path = "checkpoint") -> LatentSpec:
    """The :class:`LatentSpec` stored in a checkpoint dict."""
    try:
        return LatentSpec.from_dict(ckpt["spec"])
    except Exception as e:
        raise CheckpointError(f"{path} holds a malformed spec ({e}); the file is damaged or not ours.") from e


def network_weights(ckpt: dict, net: str) -> dict[str, Tensor]:
    """fp32 tensors of network ``net`` ("G" or "D") from any checkpoint: a full one (fp32), or an
    export whose entries may be fp16, int8 with per-row scales or packed 4-bit weights."""
    if net not in ("G", "D") or not isinstance(ckpt, dict) or not isinstance(ckpt.get(net), dict):
        raise CheckpointError(f"network_weights reads network 'G' or 'D' of a checkpoint dict; got net={net!r}"
                              + ("" if net not in ("G", "D") else f" and a checkpoint without {net}'s weights") + ".")
    scales, int4 = ckpt.get("int8_scales", {}).get(net, {}), ckpt.get("int4", {}).get(net, {})
    out = {}
    for k, v in ckpt[net].items():
        if k in int4:
            v = dequantize_int4(v, int4[k]["scales"], int4[k]["shape"])
        elif k in scales:
            v = dequantize_rows(v, scales[k])
        elif isinstance(v, Tensor) and v.is_floating_point() and v.dtype not in (torch.float32, torch.float16):
            raise CheckpointError(f"{net}'s {k} is stored as {v.dtype}; this package writes weights in float32 (a "
                                  "training checkpoint) or float16, int8 or 4 bits (an export), so the file was made "
                                  "elsewhere. Use a checkpoint or export `train` wrote, or retrain.")
        out[k] = v.float() if v.is_floating_point() else v
    return out


def load_weights(module: torch.nn.Module, ckpt: dict, net: str, path: str | Path = "checkpoint") -> None:
    """Load network ``net`` of ``ckpt`` into ``module``; a :class:`CheckpointError` for weights that do not fit it (a
    missing or extra entry, another shape or dtype), are not finite, or give a batch norm a negative variance."""
    try:
        weights = network_weights(ckpt, net)
    except CheckpointError:
        raise
    except (InfoGANError, AttributeError, TypeError, KeyError, ValueError, RuntimeError, IndexError) as e:  # a
        # dequantize_* refusal names the function's arguments, which a user cannot pass: the file is what is wrong
        raise CheckpointError(f"{net} in {path} is malformed ({type(e).__name__}: {str(e)[:120]}): it was not written "
                              "by this package; use a checkpoint or export `train` wrote, or retrain.") from e
    wanted = module.state_dict()
    for name, value in weights.items():
        if name in wanted and (not isinstance(value, Tensor) or value.dtype != wanted[name].dtype):
            raise CheckpointError(f"{net}'s {name} in {path} is {getattr(value, 'dtype', type(value).__name__)}, where "
                                  f"the network holds {wanted[name].dtype}: the file was not written by this package; "
                                  "use a checkpoint or export `train` wrote, or retrain.")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path} holds NaN or infinite values in {net}'s {name}: no network can be used from "
                                  "it. Use an earlier checkpoint, or retrain.")
        if name.endswith("running_var") and bool((value < 0).any()):
            raise CheckpointError(f"{path} holds negative batch-norm variances in {net}'s {name} (a variance is >= 0; "
                                  "training never writes one): no network can be used from it. Use an earlier "
                                  "checkpoint, or retrain.")
    try:
        module.load_state_dict(weights)
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{net} in {path} does not fit the network built from its spec: {e}") from e


def networks_from_checkpoint(ckpt: dict, device: torch.device | str = "cpu", spec: LatentSpec | None = None,
                             path: str | Path = "checkpoint") -> tuple[LatentSpec, Generator, Discriminator]:
    """G and D/Q from a dict read by :func:`read_checkpoint`, in eval mode on ``device``.

    ``spec``, when given, must equal the checkpoint's.
    """
    device = usable_device(device)
    ckpt_spec = spec_of(ckpt, path)
    if spec is not None and spec != ckpt_spec:
        raise CheckpointError(f"{path} was trained with spec {ckpt_spec}, not {spec}.")
    fixed_std = (ckpt.get("config") or {}).get("fixed_std")
    G, D = Generator(ckpt_spec), Discriminator(ckpt_spec, fixed_std)
    load_weights(G, ckpt, "G", path)
    load_weights(D, ckpt, "D", path)
    return ckpt_spec, G.to(device).eval(), D.to(device).eval()


def load_networks(path: str | Path, device: torch.device | str = "cpu",
                  spec: LatentSpec | None = None) -> tuple[LatentSpec, Generator, Discriminator]:
    """G and D/Q from a checkpoint file (a full one or an exported, weights-only one), in eval mode."""
    return networks_from_checkpoint(read_checkpoint(path), device, spec, path)
