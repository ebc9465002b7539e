"""The pretrained model that ships with the book, so that a reader on a CPU sees a trained InfoGAN at once.

``data/pretrained/`` holds

* ``infogan-mnist.pt``: G and D/Q of one run of ``python -m infogan_tutorial train`` (the
  command, the accuracy measured on the official MNIST test split and the checksum are in
  ``data/pretrained/README.md``), exported with 4-bit weight matrices (7.3 MB);
* ``gan-control-history.json``: the training history of the plain-GAN control (``--no-info``,
  same data, seed and steps), for the paper's Figure 1.

They live in the repository, beside the bundled MNIST sample: a clone (or Colab, through the
chapters' install cell) has them; a copy of the package installed without the repository does not.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import CheckpointError
from .latent_codes import LatentSpec
from .networks import Discriminator, Generator
from .checkpoints import (listed_sum_differs, networks_from_checkpoint, not_regular_file, read_checkpoint,
                          sha256)  # noqa: F401 (sha256: re-exported for scripts/publish_pretrained.py)

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "data" / "pretrained"
MODEL_NAME = "infogan-mnist.pt"
GAN_HISTORY_NAME = "gan-control-history.json"


@dataclass
class Pretrained:
    """The shipped model: spec, G and D/Q in eval mode, and what its checkpoint recorded."""

    spec: LatentSpec
    G: Generator
    D: Discriminator
    step: int
    config: dict
    history: dict[str, list[float]]


def _need(path: Path) -> Path:
    kind = "a folder" if path.is_dir() else not_regular_file(path)
    if kind:
        raise CheckpointError(f"{path} is {kind}, not the shipped file. Pass the folder that holds {path.name} "
                              "(the repository's data/pretrained), or restore it: git checkout -- data/pretrained.")
    if not path.is_file() and path.parent.is_file():
        raise CheckpointError(f"{path.parent} is a file; pass the folder that holds it as folder= (here "
                              f"{path.parent.parent}), not the file itself.")
    if not path.is_file():
        raise CheckpointError(f"{path} is missing. The pretrained model ships with the repository (data/pretrained), "
                              "not with a pip-installed copy of the package: clone the repository, or train your own "
                              "with `python -m infogan_tutorial train`.")
    return path


def load_pretrained(device: torch.device | str = "cpu", folder: Path = PRETRAINED_DIR) -> Pretrained:
    """Load ``folder/infogan-mnist.pt`` (fp32 weights restored from its 4-bit matrices).

    The file must match its line in ``folder/SHA256SUMS`` where there is one (and, as every checkpoint, the
    checksum of its tensors): a damaged copy raises :class:`CheckpointError`."""
    if not isinstance(folder, (str, os.PathLike)):
        raise CheckpointError(f"load_pretrained: folder must be a path (str or pathlib.Path), got "
                              f"{type(folder).__name__} {folder!r}; the first argument is the device.")
    path = _need(Path(folder) / MODEL_NAME)
    check_listed_sum(path)
    ckpt = read_checkpoint(path)
    spec, G, D = networks_from_checkpoint(ckpt, device, path=path)
    return Pretrained(spec, G, D, int(ckpt.get("step", 0)), dict(ckpt.get("config", {})),
                      {k: list(v) for k, v in ckpt.get("history", {}).items()})


def gan_control_history(folder: Path = PRETRAINED_DIR) -> dict[str, list[float]]:
    """The plain-GAN control's training history (the same keys as ``TrainState.history``)."""
    path = _need(Path(folder) / GAN_HISTORY_NAME)
    check_listed_sum(path)
    try:
        history = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is damaged ({type(e).__name__}: {e}). Restore it: git checkout -- "
                              "data/pretrained, or download the repository again.") from e
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()) or len(
            {len(v) for v in history.values()}) > 1 or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for v in history.values() for x in v):
        raise CheckpointError(f"{path} is not a training history (a JSON object of lists of finite numbers, all of "
                              "one length). Restore it: git checkout -- data/pretrained.")
    return history


def check_listed_sum(path: Path) -> None:
    """Raise :class:`CheckpointError` if ``SHA256SUMS`` beside ``path`` lists it with another SHA-256."""
    sums = listed_sum_differs(path)
    if sums is not None:
        raise CheckpointError(f"{path} does not match its line in {sums} (the file's SHA-256 differs from the one "
                              "listed): the file is damaged, or the list was changed. For the shipped model restore "
                              "both (git checkout -- data/pretrained, or download the repository again); in a folder "
                              f"of your own, write {sums} again with `sha256sum` or remove it.")


