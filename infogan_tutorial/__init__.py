"""infogan_tutorial: InfoGAN (Chen et al., 2016) step by step, one module per idea.

- :mod:`~infogan_tutorial.latent_codes`: the input (z, c), its spec, H(c), traversals.
- :mod:`~infogan_tutorial.networks`: G, and D with Q sharing its body.
- :mod:`~infogan_tutorial.objectives`: adversarial losses and the bound L_I.
- :mod:`~infogan_tutorial.data`: MNIST, the bundled sample, IDX folders, on-device batches.
- :mod:`~infogan_tutorial.training`: the step, the loop, resuming a run.
- :mod:`~infogan_tutorial.checkpoints`: the checkpoint format; :mod:`~infogan_tutorial.export`: compact models.
- :mod:`~infogan_tutorial.evaluation`: c1 as a classifier (Hungarian matching), L_I estimates.
- :mod:`~infogan_tutorial.figures`: grids, traversals, curves.
- :mod:`~infogan_tutorial.profiles`: smoke / cpu / gpu work sizes; :mod:`~infogan_tutorial.compute`: how a
  run computes on its device (precision, CUDA graph).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load on first use (see __getattr__)
    from .errors import CheckpointError, DataError, InfoGANError, SpecError, TrainingDiverged
    from .latent_codes import Codes, LatentSpec
    from .networks import Discriminator, Generator, QOutput, build_networks
    from .objectives import InfoBound, info_loss, info_lower_bound
    from .training import TrainConfig, TrainState, create_state, fit, resume_state, train_step

__version__ = "0.1.0"

_HOME = {name: module for module, names in {  # each top-level name and the module that defines it
    "errors": ("CheckpointError", "DataError", "InfoGANError", "SpecError", "TrainingDiverged"),
    "latent_codes": ("Codes", "LatentSpec"),
    "networks": ("Discriminator", "Generator", "QOutput", "build_networks"),
    "objectives": ("InfoBound", "info_loss", "info_lower_bound"),
    "training": ("TrainConfig", "TrainState", "create_state", "fit", "resume_state", "train_step"),
}.items() for name in names}

__all__ = [
    "CheckpointError", "Codes", "DataError", "Discriminator", "Generator", "InfoBound", "InfoGANError",
    "LatentSpec", "QOutput", "SpecError", "TrainConfig", "TrainState", "TrainingDiverged", "build_networks",
    "create_state", "fit", "info_loss", "info_lower_bound", "resume_state", "train_step",
]


def __getattr__(name: str) -> object:
    """Import a top-level name (or a submodule, ``infogan_tutorial.data``) when it is first used, so that
    ``import infogan_tutorial`` and ``python -m infogan_tutorial --help`` do not wait for torch, and a Ctrl-C
    while torch loads reaches the command line's own message."""
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
