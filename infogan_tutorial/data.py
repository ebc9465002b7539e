"""Training data: MNIST and Fashion-MNIST, in full or as bundled samples, or any IDX folder.

Every loader returns a :class:`Dataset` whose images are float32 in ``[-1, 1]`` (the
generator's tanh range), shape ``(N, 1, 28, 28)``. :data:`SOURCES` is the one registry of
data sources, shared by :func:`load_dataset` and the command line's ``--dataset``.
:class:`ShuffledBatches` turns the images into batches that depend only on ``(seed, step)``,
so a resumed run sees exactly the batches an uninterrupted one would have seen.

Both data sets have the same fallbacks: a copy already on disk (torchvision's, or Debian's
``dataset-fashion-mnist``), else torchvision's download (online, as on Colab), else the bundled
sample in ``data/``. Set ``INFOGAN_NO_SYSTEM_DATA=1`` to hide Debian's folder, as on Colab; CI
runs the Fashion-MNIST chapters so.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import numbers
import os
import socket
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import DataError

SAMPLE_DIR: Path = Path(__file__).resolve().parents[1] / "data" / "mnist-sample"
"""The bundled MNIST sample (``data/mnist-sample`` at the repository root).

:meta hide-value:
"""

FASHION_SAMPLE_DIR: Path = SAMPLE_DIR.parent / "fashion-sample"
"""The bundled Fashion-MNIST sample (``data/fashion-sample`` at the repository root).

:meta hide-value:
"""

DEFAULT_ROOT = Path("~/.cache/infogan_tutorial")
"""Where torchvision's downloads are kept (``~`` is expanded)."""

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST."""

NO_SYSTEM_DATA = "INFOGAN_NO_SYSTEM_DATA"
"""The environment variable that, set to ``1``, hides :data:`FASHION_DIR` from :func:`load_dataset`,
as on a machine without Debian's package such as Colab. An explicit ``data_dir`` is still read."""

FASHION_CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                   "ankle boot")
"""Fashion-MNIST's class names, by label 0..9 (Xiao et al., 2017)."""

DOWNLOAD_TIMEOUT_S = 10.0
"""Socket timeout while ``source="auto"`` or ``"fashion-auto"`` tries a download."""

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


def sample_dir() -> Path:
    """Return the bundled sample folder: ``$INFOGAN_SAMPLE_DIR`` if set, else SAMPLE_DIR."""
    override = os.environ.get("INFOGAN_SAMPLE_DIR")
    return Path(override) if override else SAMPLE_DIR


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and labels in memory, plus where they came from."""

    images: torch.Tensor
    """``(N, 1, 28, 28)`` float32 in ``[-1, 1]``."""
    labels: torch.Tensor
    """``(N,)`` int64 digit (or class) labels 0..9."""
    source: str
    """Human-readable origin, e.g. ``bundled MNIST sample (9,000 images from data/mnist-sample)``."""

    def __post_init__(self) -> None:
        if not (isinstance(self.images, torch.Tensor) and isinstance(self.labels, torch.Tensor)):
            raise DataError(f"a Dataset holds images and labels as torch tensors, got {type(self.images).__name__} "
                            f"and {type(self.labels).__name__}.")
        if self.images.dim() == 0 or self.labels.dim() != 1 or self.images.shape[0] != self.labels.shape[0]:
            raise DataError(f"a Dataset needs one label per image: images {tuple(self.images.shape)} and labels "
                            f"{tuple(self.labels.shape)} (labels of shape (N,) for N images).")

    def __len__(self) -> int:
        """Number of images."""
        return int(self.images.shape[0])

    def to(self, device: torch.device | str) -> Dataset:
        """Return a copy with images and labels on ``device`` (one that exists here, else a SpecError)."""
        from .devices import usable_device

        device = usable_device(device)
        return Dataset(self.images.to(device), self.labels.to(device), self.source)


def _gunzip_idx(raw: bytes) -> bytes:
    """Decompress a gzipped IDX file, but never more than its header declares plus one byte: a small file that
    expands to gigabytes (a "gzip bomb", or a corrupt header) is cut there, and its length then fails the size check
    instead of exhausting memory."""
    out, limit = bytearray(), None
    while raw:
        d = zlib.decompressobj(wbits=31)  # one gzip member (a file may hold several, one after another)
        while True:
            room = None if limit is None else limit - len(out)
            if room is not None and room <= 0:
                return bytes(out)
            chunk = d.decompress(raw, room if room is not None else 1 << 16)
            raw = d.unconsumed_tail
            out += chunk
            if limit is None and len(out) >= 4 and len(out) >= 4 + 4 * out[3]:
                dims = [int.from_bytes(out[4 + 4 * i:8 + 4 * i], "big") for i in range(out[3])]
                limit = 4 + 4 * len(dims) + int(np.prod(dims, dtype=object)) + 1
            if d.eof:
                raw = d.unused_data
                break
            if not chunk and not raw:
                raise EOFError("the compressed stream ends before its end marker")
    return bytes(out)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an unsigned-byte IDX file, raw or gzip-compressed (detected by magic bytes).

    Returns a uint8 array with the shape the file declares. Raises :class:`DataError`
    if the file is missing, not an unsigned-byte IDX file, or has too few or too many bytes.
    """
    from .checkpoints import not_regular_file

    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"read_idx needs the path of an IDX file (a str or Path), got {type(path).__name__}.")
    path = Path(path)
    kind = not_regular_file(path)
    if kind:  # reading a FIFO would block, a device such as /dev/zero never end
        raise DataError(f"{path} is {kind}, not a regular file; give the path of an IDX file.")
    if path.is_dir():
        raise DataError(f"{path} is a folder; read_idx reads one IDX file (such as {path}/t10k-images-idx3-ubyte). "
                        "To load a folder of IDX files, use load_idx_folder.")
    if not path.is_file():
        raise DataError(f"IDX file not found: {path}. Check the path, or re-download / "
                        "regenerate the data set.")
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = _gunzip_idx(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: the gzip stream is corrupt or truncated ({exc}). "
                            "Re-download or regenerate the file.") from exc
    if not data:
        raise DataError(f"{path}: the file is empty (0 bytes), not an IDX file; a download or copy was cut short: "
                        "fetch it again.")
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (the first bytes are {data[:4].hex()}, "
                        "expected 0000 08 NN). Check that you passed the right file.")
    if data[2] != _UBYTE:
        raise DataError(f"{path}: IDX data type 0x{data[2]:02x} is not supported; only "
                        "unsigned byte (0x08) files such as MNIST's can be read.")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or ndim > 8 or len(data) < header:
        raise DataError(f"{path}: the IDX header is corrupt or truncated ({ndim} dimensions, "
                        f"{len(data)} bytes). Re-download or regenerate the file.")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)  # Python's integers: a header's absurd sizes cannot wrap around to match
    got = len(data) - header
    if got != expected:
        raise DataError(f"{path}: the header declares shape {dims}, i.e. {expected:,} data "
                        f"bytes, but the file holds {'more' if got > expected else f'{got:,}'}; it is corrupt or truncated. "
                        "Re-download or regenerate it.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


SCALE_TOLERANCE = 1e-3
"""How far outside [-1, 1] :func:`check_images` lets a pixel be (rounding)."""


def check_images(images: object, where: str, background: bool = True) -> torch.Tensor:
    """``images`` as a float32 tensor (N, 1, 28, 28) in [-1, 1], or a :class:`~infogan_tutorial.errors.SpecError`
    that says what is wrong and how to fix it.

    A NumPy array is taken as a tensor and float16/float64 are converted to float32. Refused: integer
    pixels (uint8 0..255), other shapes, no images, non-finite values, values outside [-1, 1] (beyond
    :data:`SCALE_TOLERANCE`), and images with no value below 0: MNIST-style images in [-1, 1] have a
    background of -1, so those are on the [0, 1] or [0, 255] scale. ``background=False`` drops that last
    rule (for drawing: a generator's images need not show any -1).
    """
    from .errors import SpecError

    if isinstance(images, np.ndarray):
        if not (np.issubdtype(images.dtype, np.number) or images.dtype == np.bool_):
            raise SpecError(f"{where} needs the images as numbers, a float array (N, 1, 28, 28) in [-1, 1], got a "
                            f"NumPy array of {images.dtype}; build it with np.asarray(x, dtype=np.float32).")
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise SpecError(f"{where} needs the images as a float tensor (N, 1, 28, 28) in [-1, 1], got "
                        f"{type(images).__name__}; use load_dataset(...).images.")
    if not images.is_floating_point():
        fix = ("scale uint8 pixels with x.float() / 127.5 - 1" if images.dtype == torch.uint8
               else "take the real part or magnitude first" if images.is_complex()
               else "map it to a background of -1 and ink of 1, e.g. x.float() * 2 - 1" if images.dtype == torch.bool
               else "convert it, e.g. x.float(), on the scale [-1, 1]")
        raise SpecError(f"{where} needs the images as a float tensor (N, 1, 28, 28) in [-1, 1], got a tensor of "
                        f"{images.dtype}; {fix}.")
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        hint = " (add the channel with images.unsqueeze(1))" if tuple(images.shape[-2:]) == (28, 28) \
            and images.dim() == 3 else ""
        raise SpecError(f"{where} needs images of shape (N, 1, 28, 28), got {tuple(images.shape)}{hint}.")
    if images.shape[0] == 0:
        raise SpecError(f"{where} got no images (shape {tuple(images.shape)}); pass at least one.")
    if images.is_meta:
        raise SpecError(f"{where}: the images are on the meta device (a shape without values); pass real pixels, "
                        "e.g. load_dataset(...).images.")
    images = images.float()
    lo, hi = (float(v) for v in torch.aminmax(images.detach()))  # a read of the values, never of their gradient
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SpecError(f"{where}: the images hold NaN or infinite values; pass finite pixels in [-1, 1].")
    if lo < -1 - SCALE_TOLERANCE or hi > 1 + SCALE_TOLERANCE or (background and lo >= 0):
        fix = ("they look like 0..255 pixels: use x / 127.5 - 1" if lo >= 0 and 1 < hi <= 255 + SCALE_TOLERANCE
               else "they look like [0, 1] pixels: use x * 2 - 1" if lo >= 0
               else "rescale them to [-1, 1] (the generator's tanh range), as load_dataset does")
        raise SpecError(f"{where} needs images in [-1, 1] with a background of -1, got values in [{lo:.4g}, {hi:.4g}]; "
                        f"{fix}.")
    return images


def _find(folder: Path, name: str) -> Path | None:
    """Return ``folder/name`` or ``folder/name.gz``, whichever exists (raw first); one that exists but is not a
    regular file (a folder, a FIFO, a device) raises :class:`DataError` rather than being passed over in silence."""
    from .checkpoints import not_regular_file

    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_dir():
            raise DataError(f"{candidate} is a folder, where an IDX file of that name belongs (was an archive "
                            "unpacked into a folder of the same name?); put the file itself there.")
        kind = not_regular_file(candidate)
        if kind:
            raise DataError(f"{candidate} is {kind}, where an IDX file of that name belongs; put the file itself "
                            "there.")
        if candidate.is_file():
            return candidate
    return None


def _to_dataset(images: np.ndarray, labels: np.ndarray, source: str, where: str) -> Dataset:
    """Check uint8 arrays and convert them into a :class:`Dataset` scaled to ``[-1, 1]``."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{where}: images have shape {images.shape}, expected (N, 28, 28). "
                        "Only 28x28 MNIST-style images are supported.")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{where}: {images.shape[0]:,} images but labels of shape "
                        f"{labels.shape}; the image and label files must belong together.")
    if images.shape[0] == 0:
        raise DataError(f"{where}: the files hold 0 images; point at a folder with real MNIST-style data.")
    if labels.size and int(labels.max()) > 9:
        raise DataError(f"{where}: labels must be 0..9, found {int(labels.max())}. "
                        "Check that the label file is an MNIST-style one.")
    if int(images.min()) >= 128:  # MNIST-style files: a black background (0) and white ink (255)
        raise DataError(f"{where}: no pixel is darker than {int(images.min())} of 255, so the images have no black "
                        "background: MNIST-style files hold white digits on black (0). Check the file, or invert "
                        "its pixels (255 - x) when writing it.")
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).to(torch.float32)
    return Dataset(images=(x / 127.5 - 1.0).unsqueeze(1),
                   labels=torch.from_numpy(labels.astype(np.int64)),
                   source=source)


def load_idx_folder(folder: str | os.PathLike[str], split: str = "auto") -> Dataset:
    """Load ``{prefix}-images-idx3-ubyte[.gz]`` and ``{prefix}-labels-idx1-ubyte[.gz]``.

    ``prefix`` is ``t10k`` for ``split="test"``, ``train`` for ``split="train"``; ``"auto"``
    prefers ``t10k`` and falls back to ``train``. The files are looked for in ``folder``,
    ``folder/raw`` and ``folder/MNIST/raw`` (torchvision's layout).
    """
    if not isinstance(folder, (str, os.PathLike)):
        raise DataError(f"load_idx_folder needs a folder (a str or Path), got {type(folder).__name__}.")
    folder = Path(folder)
    prefixes = {"test": ("t10k",), "train": ("train",), "auto": ("t10k", "train")}
    if split not in prefixes:
        raise DataError(f"split must be 'train', 'test' or 'auto', got {split!r}.")
    names = [f"{p}-{kind}" for p in prefixes[split]
             for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
    wanted = ", ".join(f"{n}[.gz]" for n in names)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} is a file, not a data folder; give the folder that holds {wanted}.")
    if not folder.is_dir():
        raise DataError(f"data folder not found: {folder}. It should hold {wanted}. "
                        "Check the path.")
    dirs = [folder, folder / "raw", folder / "MNIST" / "raw"]
    for prefix in prefixes[split]:
        for d in dirs:
            images_path = _find(d, f"{prefix}-images-idx3-ubyte")
            labels_path = _find(d, f"{prefix}-labels-idx1-ubyte")
            if images_path and labels_path:
                images, labels = read_idx(images_path), read_idx(labels_path)
                source = f"IDX files {images_path.name} and {labels_path.name} ({images.shape[0]:,} images from {d})"
                return _to_dataset(images, labels, source, f"{images_path} + {labels_path}")
    searched = ", ".join(str(d) for d in dirs)
    raise DataError(f"no MNIST-style IDX files for split {split!r}: looked for {wanted} in "
                    f"{searched}. Put the files there or pass another folder.")


def _display(path: Path) -> str:
    """Show ``path`` relative to the repository root when it lies inside it."""
    try:
        return str(path.resolve().relative_to(SAMPLE_DIR.parents[1]))
    except ValueError:
        return str(path)


def _load_sample(split: str, folder: Path, title: str, fix: str) -> Dataset:
    """Load a bundled sample: ``train`` files, or the held-out ``t10k`` files for test."""
    try:
        ds = load_idx_folder(folder, split)
    except DataError as exc:
        raise DataError(f"the bundled {title} sample could not be loaded: {exc} Restore {_display(folder)} from "
                        f"git, {fix}.") from exc
    from .checkpoints import listed_sum_differs

    prefix = "train" if split == "train" else "t10k"
    for path in sorted(Path(folder).glob(f"{prefix}-*")):
        sums = listed_sum_differs(path)
        if sums is not None:
            raise DataError(f"the bundled {title} sample's {path.name} differs from the SHA-256 {sums} lists: it was "
                            f"changed or damaged. Restore {_display(folder)} from git, {fix}.")
    part = "" if split == "train" else ", held-out part"
    source = f"bundled {title} sample{part} ({len(ds):,} images from {_display(folder)})"
    # The files are sorted by class; a fixed shuffle makes any prefix (images[:n]) a fair mix.
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))
    return Dataset(ds.images[order], ds.labels[order], source)


def _load_torchvision(root: Path, split: str, download: bool, name: str = "MNIST") -> Dataset:
    """Load MNIST (or ``name="FashionMNIST"``) through torchvision from ``root`` (downloading if asked)."""
    import torchvision.datasets  # optional at import time of this module

    ds = getattr(torchvision.datasets, name)(str(root), train=split == "train", download=download)
    part = "training set" if split == "train" else "test set"
    label = "Fashion-MNIST" if name == "FashionMNIST" else name
    return _to_dataset(ds.data.numpy(), ds.targets.numpy(),
                       f"{label} {part} ({len(ds):,} images from {root})", str(root))


def _try_torchvision(root: Path, split: str, download: bool, name: str = "MNIST") -> Dataset | None:
    """Like :func:`_load_torchvision`, but return None on any failure."""
    try:
        return _load_torchvision(root, split, download, name)
    except Exception:  # noqa: BLE001 - offline, mirror down, no torchvision, corrupt files
        return None


def _try_torchvision_quickly(root: Path, split: str, name: str = "MNIST") -> Dataset | None:
    """Return MNIST (or ``name``) from disk, else from a download with a short timeout, else None."""
    on_disk = _try_torchvision(root, split, download=False, name=name)
    if on_disk is not None:
        return on_disk
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        # torchvision prints each failed mirror to stdout; keep our one-line notice clean.
        with contextlib.redirect_stdout(io.StringIO()):
            return _try_torchvision(root, split, download=True, name=name)
    finally:
        socket.setdefaulttimeout(old_timeout)


def fashion_dir() -> Path | None:
    """Debian's Fashion-MNIST folder (:data:`FASHION_DIR`), or None where it is missing or hidden by
    ``$INFOGAN_NO_SYSTEM_DATA``."""
    if os.environ.get(NO_SYSTEM_DATA, "") not in ("", "0"):
        return None
    return FASHION_DIR if FASHION_DIR.is_dir() else None


def _fashion_folder(folder: Path, split: str) -> Dataset:
    """Fashion-MNIST's IDX files in ``folder``."""
    ds = load_idx_folder(folder, split)
    return Dataset(ds.images, ds.labels, f"Fashion-MNIST {ds.source}")


def _full_fashion(split: str, data_dir: Path | None, root: Path) -> Dataset | None:
    """Full Fashion-MNIST from ``data_dir`` (which must exist), else Debian's folder, else torchvision
    (on disk under ``root``, else a short download); None where none of them has it."""
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise DataError(f"Fashion-MNIST folder not found: {data_dir}. Pass the folder that holds the "
                            "Fashion-MNIST IDX files, or install them with `apt-get install dataset-fashion-mnist` "
                            f"(Debian/Ubuntu) into {FASHION_DIR} and leave data_dir out.")
        return _fashion_folder(Path(data_dir), split)
    folder = fashion_dir()
    if folder is not None:
        return _fashion_folder(folder, split)
    return _try_torchvision_quickly(root, split, "FashionMNIST")


# -- the registry of data sources: name -> loader(split, data_dir, root) --------------------

def _auto(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """MNIST: full via torchvision if on disk or downloaded within a short timeout, else the bundled sample."""
    found = _try_torchvision_quickly(root, split)
    if found is not None:
        return found
    ds = _sample(split, data_dir, root)
    return Dataset(ds.images, ds.labels, f"{ds.source}; full MNIST was not available (offline?)")


def _first_line(exc: BaseException) -> str:
    """The first line of an error's text, shortened (urllib's and torchvision's are long and multi-line)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 200 else line[:197] + "..."


def _mnist(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """Full MNIST via torchvision (downloads into root); DataError if it cannot be had."""
    printed = io.StringIO()  # torchvision prints each failed mirror, several lines each: keep the first reason
    try:
        with contextlib.redirect_stdout(printed):
            return _load_torchvision(root, split, download=True)
    except Exception as exc:  # report any failure the same way
        reason = next((line.strip() for line in printed.getvalue().splitlines() if "error" in line.lower()
                       and "trying next" not in line), "")
        raise DataError(f"full MNIST could not be loaded via torchvision into {root}: {type(exc).__name__}: "
                        f"{_first_line(exc)}{f' ({reason[:200]})' if reason else ''}. If you are offline, use source='sample' (the bundled 10,000-digit sample).") from exc


def _sample(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """The bundled MNIST sample in data/mnist-sample (its "test" split is a held-out part of MNIST's training set)."""
    return _load_sample(split, sample_dir(), "MNIST", "regenerate it with `python scripts/make_sample.py`, "
                        "or point INFOGAN_SAMPLE_DIR at a copy")


def _idx(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """MNIST-style IDX files in data_dir (see load_idx_folder)."""
    if data_dir is None:
        raise DataError("source='idx' needs data_dir=<folder with *-idx3-ubyte[.gz] and *-idx1-ubyte[.gz] files>.")
    return load_idx_folder(data_dir, split)


def _fashion_auto(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """Fashion-MNIST: full (as fashion-mnist finds it) if available, else the bundled sample."""
    found = _full_fashion(split, data_dir, root)
    if found is not None:
        return found
    ds = _fashion_sample(split, data_dir, root)
    return Dataset(ds.images, ds.labels, f"{ds.source}; full Fashion-MNIST was not available (offline?)")


def _fashion_mnist(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """Full Fashion-MNIST: data_dir, else Debian's folder, else torchvision (on disk, else a download)."""
    found = _full_fashion(split, data_dir, root)
    if found is None:
        hidden = f" ({NO_SYSTEM_DATA} hides it)" if FASHION_DIR.is_dir() else ""
        raise DataError(f"Fashion-MNIST was not found in {FASHION_DIR}{hidden}, and torchvision could not download "
                        f"it into {root} (offline?). Install it with `apt-get install dataset-fashion-mnist` "
                        "(Debian/Ubuntu), pass data_dir=<folder with the Fashion-MNIST IDX files>, or use "
                        "source='fashion-auto' or 'fashion-sample' (the bundled sample).")
    return found


def _fashion_sample(split: str, data_dir: Path | None, root: Path) -> Dataset:
    """The bundled Fashion-MNIST sample in data/fashion-sample (its "test" split is part of the official test set)."""
    return _load_sample(split, FASHION_SAMPLE_DIR, "Fashion-MNIST",
                        "or regenerate it with `python scripts/make_sample.py --dataset fashion-mnist`")


@dataclass(frozen=True)
class DataSource:
    """One data source of :func:`load_dataset` and of the CLI's ``--dataset``: what it reads, in one place.

    Attributes:
        name: its key in :data:`SOURCES`.
        load: ``(split, data_dir, root) -> Dataset``.
        help: one line saying what it reads (the CLI's ``--help`` and the API page show it).
        data_dir: ``"required"``, ``"optional"`` (a folder of its images, else where it looks itself) or
            ``"ignored"``: whether it reads ``data_dir`` (``--data-dir``).
        scored_on: the source whose ``"test"`` split scores a run trained on this one.
    """

    name: str
    load: Callable[[str, Path | None, Path], Dataset]
    help: str
    data_dir: str = "ignored"
    scored_on: str = "sample"


SOURCES: dict[str, DataSource] = {s.name: s for s in (
    DataSource("auto", _auto, "full MNIST via torchvision if on disk or downloaded within a short timeout, else "
               "the bundled sample"),
    DataSource("mnist", _mnist, "full MNIST via torchvision (downloaded)"),
    DataSource("sample", _sample, "the bundled MNIST sample (its test split: a held-out part of MNIST's training "
               "set, not the official test set)"),
    DataSource("idx", _idx, "the MNIST-style IDX files in --data-dir", data_dir="required"),
    DataSource("fashion-auto", _fashion_auto, "full Fashion-MNIST if available (--data-dir, Debian's folder, "
               "torchvision), else the bundled Fashion sample", data_dir="optional", scored_on="fashion-auto"),
    DataSource("fashion-mnist", _fashion_mnist, "full Fashion-MNIST (--data-dir, Debian's folder, else "
               "torchvision)", data_dir="optional", scored_on="fashion-mnist"),
    DataSource("fashion-sample", _fashion_sample, "the bundled Fashion-MNIST sample (its test split: part of the "
               "official test set)", scored_on="fashion-sample"),
)}
"""The data sources of :func:`load_dataset` (and of the CLI's ``--dataset``), by name."""


def eval_source(source: str) -> str:
    """The source whose test split scores a run trained on ``source`` (:attr:`DataSource.scored_on`):
    Fashion-MNIST's for a Fashion-MNIST source, else the bundled MNIST sample's held-out part."""
    if source not in SOURCES:
        raise DataError(f"unknown data source {source!r}; choose one of {sorted(SOURCES)}.")
    return SOURCES[source].scored_on


def load_dataset(source: str = "auto", split: str = "train",
                 data_dir: str | os.PathLike[str] | None = None,
                 root: str | os.PathLike[str] | None = None,
                 verbose: bool = True) -> Dataset:
    """Load training (``split="train"``) or evaluation (``split="test"``) images from ``source``.

    ``source`` is a key of :data:`SOURCES`, whose :class:`DataSource` records say what each reads
    (``auto``, ``mnist``, ``sample``, ``idx``, ``fashion-auto``, ``fashion-mnist``, ``fashion-sample``).
    Downloads go to ``root`` (default ``~/.cache/infogan_tutorial``); Debian's Fashion-MNIST folder
    ``/usr/share/datasets/fashion-mnist`` is hidden by ``$INFOGAN_NO_SYSTEM_DATA``.

    With ``verbose``, prints one line saying which data was used.
    """
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}.")
    if source not in SOURCES:
        raise DataError(f"unknown data source {source!r}; choose one of {', '.join(repr(s) for s in SOURCES)}.")
    for name, value in (("data_dir", data_dir), ("root", root)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise DataError(f"{name} must be a path (a str or pathlib.Path), got {type(value).__name__} {value!r}.")
    if data_dir is not None and SOURCES[source].data_dir == "ignored":
        readers = ", ".join(repr(s.name) for s in SOURCES.values() if s.data_dir != "ignored")
        raise DataError(f"load_dataset({source!r}) does not read data_dir ({data_dir}): {SOURCES[source].help}. "
                        f"To load that folder, use load_dataset('idx', data_dir=...) (sources that read data_dir: "
                        f"{readers}), or drop data_dir.")
    root_path = Path(root if root is not None else DEFAULT_ROOT).expanduser()
    ds = SOURCES[source].load(split, Path(data_dir) if data_dir is not None else None, root_path)
    if verbose:
        print(f"Using data: {ds.source}.")
    return ds


class ShuffledBatches:
    """Shuffled mini-batches whose content depends only on ``(seed, step)``.

    Epoch ``e`` visits the images in the order
    ``torch.randperm(N, generator=torch.Generator().manual_seed((seed * 1_000_003 + e) mod 2**63))``;
    the last incomplete batch is dropped. Images stay on their device; the order is
    computed on the CPU and moved to that device once per epoch.
    """

    def __init__(self, images: torch.Tensor, batch_size: int, seed: int) -> None:
        """Batch ``images`` (first dimension = examples) ``batch_size`` at a time."""
        if not isinstance(images, torch.Tensor):
            raise DataError(f"ShuffledBatches needs the images as a torch.Tensor, got {type(images).__name__}; "
                            "convert with torch.as_tensor(...).")
        n = int(images.shape[0]) if images.dim() > 0 else 0
        if n == 0:
            raise DataError(f"ShuffledBatches got no images (shape {tuple(images.shape)}); pass a data set's images, "
                            "e.g. load_dataset('sample').images.")
        if not isinstance(batch_size, int) or batch_size <= 0 or batch_size > n:
            raise DataError(f"batch_size must be an integer in 1..{n} (the number of images), "
                            f"got {batch_size!r}. Use a smaller batch size or more data.")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise DataError(f"ShuffledBatches needs a whole-number seed (the order of every epoch follows from it), "
                            f"got {seed!r}.")
        self.images = images
        self.batch_size = batch_size
        self.seed = int(seed)
        self.steps_per_epoch = n // batch_size
        self._epoch: int | None = None
        self._order: torch.Tensor | None = None

    def order(self, epoch: int) -> torch.Tensor:
        """Return the (CPU) permutation of image indices used in ``epoch``."""
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)  # a seed torch takes
        return torch.randperm(int(self.images.shape[0]), generator=generator)

    def batch(self, step: int) -> torch.Tensor:
        """Return the images of global step ``step`` (0-based, counting across epochs)."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise DataError(f"step must be a whole number >= 0, got {step!r}.")
        step = int(step)
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._order = self.order(epoch).to(self.images.device)
            self._epoch = epoch
        assert self._order is not None
        return self.images[self._order[i * self.batch_size:(i + 1) * self.batch_size]]


def random_affine(images: torch.Tensor, generator: torch.Generator | None = None, degrees: float = 20.0,
                  shift: float = 3.0, scale: tuple[float, float] = (0.9, 1.1),
                  check_range: bool = True) -> torch.Tensor:
    """Each image (N, 1, 28, 28) in ``[-1, 1]`` rotated, scaled and shifted at random, on its device.

    The rotation angle is uniform in [-degrees, degrees], the translation uniform in
    [-shift, shift] pixels along each axis, the zoom uniform in ``scale``; the background
    stays -1 (black). Small moves like these keep a digit's identity, which is what
    :func:`~infogan_tutorial.objectives.invariant_information` asks Q's categories to
    respect. ``generator`` lives on the images' device.

    ``check_range`` reads the images' smallest and largest value back to the host once and refuses
    NaN, values outside [-1, 1] and images with no background below 0 ([0, 1] or 0..255 pixels) with a
    :class:`~infogan_tutorial.errors.DataError`; the training step, which checks its batches at step 0 and
    may run inside a CUDA graph, passes ``False``.
    """
    if not isinstance(images, torch.Tensor):
        raise DataError(f"random_affine needs a torch.Tensor of images (N, 1, H, W) in [-1, 1], got "
                        f"{type(images).__name__}; convert with torch.as_tensor(...).")
    if not images.is_floating_point():
        raise DataError("random_affine needs a float tensor of images (N, 1, H, W) in [-1, 1], got "
                        f"{getattr(images, 'dtype', type(images).__name__)}; scale uint8 pixels with "
                        "x.float() / 127.5 - 1.")
    if images.dim() != 4 or images.shape[1] != 1:
        raise DataError(f"random_affine expects images of shape (N, 1, H, W), got {tuple(images.shape)}.")
    try:
        values = (degrees, shift, *scale)
        numbers_ok = len(scale) == 2 and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                             and math.isfinite(v) for v in values)
    except TypeError:  # scale is no sequence
        numbers_ok = False
    if not numbers_ok or degrees < 0 or shift < 0 or not 0 < scale[0] <= scale[1]:
        raise DataError(f"random_affine needs finite degrees >= 0, shift >= 0 and a pair 0 < scale[0] <= scale[1], "
                        f"got {degrees!r}, {shift!r} and {scale!r}.")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise DataError(f"random_affine's generator must be a torch.Generator on the images' device (or None), got "
                        f"{type(generator).__name__}; make one with torch.Generator(images.device).manual_seed(0).")
    if images.shape[0] == 0:  # no images, no moves
        return images.clone()
    if check_range and images.numel() and images.device.type != "meta":
        lo, hi = (float(v) for v in torch.aminmax(images.float()))
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -1 - SCALE_TOLERANCE or hi > 1 + SCALE_TOLERANCE \
                or lo >= 0:
            raise DataError(f"random_affine needs finite images in [-1, 1] with a background of -1 (it pads with -1), "
                            f"got values in [{lo:.4g}, {hi:.4g}]; "
                            + ("they hold NaN or infinite values: pass finite pixels." if not math.isfinite(lo + hi)
                               else "use x / 127.5 - 1 for 0..255 pixels." if lo >= 0 and hi > 1
                               else "use x * 2 - 1 for [0, 1] pixels." if lo >= 0
                               else "rescale them to [-1, 1] as load_dataset does."))
    n, device = images.shape[0], images.device
    u = torch.rand(n, 4, generator=generator, device=device)
    angle = (2 * u[:, 0] - 1) * degrees * torch.pi / 180
    zoom = scale[0] + (scale[1] - scale[0]) * u[:, 1]
    moves = (2 * u[:, 2:] - 1) * 2 * shift / images.shape[-1]  # pixels -> grid units ([-1, 1] spans the image)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom  # the grid maps output points to input points
    theta = torch.stack([torch.stack([cos, -sin, moves[:, 0]], 1), torch.stack([sin, cos, moves[:, 1]], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    moved = torch.nn.functional.grid_sample(images.float() + 1, grid, padding_mode="zeros", align_corners=False)
    return (moved - 1).to(images.dtype)
