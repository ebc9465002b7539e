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

from .errors import CheckpointError, DataError, InfoGANError, SpecError, TrainingDiverged
from .latent_codes import Codes, LatentSpec
from .networks import Discriminator, Generator, QOutput, build_networks
from .objectives import InfoBound, info_loss, info_lower_bound
from .training import TrainConfig, TrainState, create_state, fit, resume_state, train_step

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "Codes", "DataError", "Discriminator", "Generator", "InfoBound", "InfoGANError",
    "LatentSpec", "QOutput", "SpecError", "TrainConfig", "TrainState", "build_networks", "create_state",
    "TrainingDiverged", "fit", "info_loss", "info_lower_bound", "resume_state", "train_step",
]
