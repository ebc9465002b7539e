"""The recipe of a run: :class:`TrainConfig`, checked when it is made and frozen after.

Every field is validated (whole numbers where counts are meant, finite numbers in range), so a
bad value fails at once with a message rather than hours later as a NaN; a config cannot change after that (``dataclasses.replace`` makes a new, checked one).
:meth:`TrainConfig.from_dict`
reads the config stored in a checkpoint, including those written before ``precision`` replaced
the two fields ``amp`` and ``amp_dtype``. :mod:`~infogan_tutorial.training` re-exports it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

from .compute import PRECISIONS
from .errors import CheckpointError, SpecError

MAX_STEPS = 10**9
"""The longest run a config takes (``steps``, ``--steps``): far beyond any real InfoGAN run (the longest run this book
stores has 6,000 steps)."""
MAX_SEED = 2**63 - 1
"""The largest ``seed`` (``--seed``): what ``torch.manual_seed`` takes."""
_INTS = ("steps", "batch_size", "seed", "log_every", "checkpoint_every")
_FLOATS = ("lr_g", "lr_d", "beta1", "lambda_cat", "lambda_cont", "lambda_real", "lambda_invariant")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a run (the paper's MNIST recipe by default), frozen once checked.

    Attributes:
        steps: total number of training steps (a resumed run continues up to this).
        batch_size: images per step, at least 2 (batch norm needs two).
        lr_g: Adam learning rate of G (the paper: 1e-3, faster than D).
        lr_d: Adam learning rate of D and Q (the paper: 2e-4).
        beta1: Adam's beta1 (0.5, as for DCGAN).
        lambda_cat: weight of the categorical codes' information term.
        lambda_cont: weight of the continuous codes' information term.
        lambda_real: weight of I_Q(x; ĉ), the information between *real* images and Q's
            categories (``objectives.real_information``), added to Q's objective in D's step.
            0 (the default) is the paper's InfoGAN; chapter 7b measures what 1 changes.
        lambda_invariant: weight of I(ĉ; ĉ'), the information between Q's categories of a real
            image and of a randomly moved copy (``objectives.invariant_information``), added to
            Q's objective in D's step. 0 (the default) is the paper's InfoGAN; 1 is the recipe
            chapter 7b measures (five seeds a side suggest it helps; not yet a proof).
        fixed_std: if set (1e-3 to 1e3), Q's continuous heads use this fixed standard deviation.
        info: False trains a plain GAN (the control): no information term reaches G or D's body.
        seed: seeds the initial weights, the batches and the sampled codes.
        log_every: read the losses back from the device every this many steps.
        checkpoint_every: write a checkpoint every this many steps (0: only at the end).
        precision: the arithmetic: ``auto`` (on CUDA, bf16 where the GPU has it natively, else fp32
            when the step is replayed from a CUDA graph, fp16 with a gradient scaler when not; on the
            CPU, bf16 where it has native bf16 (AVX-512 BF16 or AMX), else fp32), ``bf16``, ``fp16`` or
            ``fp32``; see :mod:`infogan_tutorial.compute`.
        compile: compile G, D's body and Q's head with ``torch.compile`` (PyTorch 2). The first
            steps then take a minute longer; chapter 6b's benchmark says whether it pays off.
        cuda_graph: record the whole step as a CUDA graph once and replay it: None (the default)
            wherever the state's device can record one, True to insist (refused where it cannot:
            off CUDA, with fp16 or ``compile``), False never; see :mod:`infogan_tutorial.compute`,
            which decides, and :mod:`infogan_tutorial.cuda_graph`.
    """

    steps: int = 5000
    batch_size: int = 64
    lr_g: float = 1e-3
    lr_d: float = 2e-4
    beta1: float = 0.5
    lambda_cat: float = 1.0
    lambda_cont: float = 0.1
    lambda_real: float = 0.0
    lambda_invariant: float = 0.0
    fixed_std: float | None = None
    info: bool = True
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1000
    precision: str = "auto"
    compile: bool = False
    cuda_graph: bool | None = None

    def __post_init__(self) -> None:
        for name in _INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise SpecError(f"TrainConfig.{name} must be a whole number, got {value!r}.")
            object.__setattr__(self, name, int(value))  # a NumPy integer is stored as a plain int
        for name in _FLOATS + (("fixed_std",) if self.fixed_std is not None else ()):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise SpecError(f"TrainConfig.{name} must be a finite number, got {value!r}.")
            object.__setattr__(self, name, int(value) if isinstance(value, numbers.Integral) else float(value))
        for name in ("steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise SpecError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}.")
        if self.steps > MAX_STEPS:
            raise SpecError(f"TrainConfig.steps must be at most {MAX_STEPS:,}, got {self.steps:,}.")
        if self.batch_size < 2:
            raise SpecError(f"TrainConfig.batch_size must be at least 2 (batch norm in training needs two images per "
                            f"batch), got {self.batch_size}.")
        for name in ("lr_g", "lr_d"):
            if not 0 < getattr(self, name) <= 1:
                raise SpecError(f"TrainConfig.{name} must be in (0, 1] (the paper: 1e-3 for G, 2e-4 for D), "
                                f"got {getattr(self, name)}.")
        if not 0 <= self.beta1 < 1:
            raise SpecError(f"TrainConfig.beta1 must be in [0, 1), got {self.beta1}.")
        if min(self.lambda_cat, self.lambda_cont, self.lambda_real, self.lambda_invariant) < 0:
            raise SpecError("TrainConfig.lambda_cat, lambda_cont, lambda_real and lambda_invariant must be >= 0.")
        if self.fixed_std is not None and not 1e-3 <= self.fixed_std <= 1e3:
            raise SpecError(f"TrainConfig.fixed_std must be between 1e-3 and 1e3 (or None: learned), got "
                            f"{self.fixed_std}: a Gaussian that narrow or wide makes Q's log-likelihood explode or "
                            "vanish (the authors' code fixes it at 1).")
        if not 0 <= self.seed <= MAX_SEED:
            raise SpecError(f"TrainConfig.seed must be in 0..{MAX_SEED} (2**63 - 1), got {self.seed}.")
        if self.precision not in PRECISIONS:
            raise SpecError(f"TrainConfig.precision must be one of {list(PRECISIONS)}, got {self.precision!r}.")
        if self.checkpoint_every < 0:
            raise SpecError("TrainConfig.checkpoint_every must be >= 0 (0 writes only the final checkpoint).")
        for name in ("info", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}.")
        if not (self.cuda_graph is None or isinstance(self.cuda_graph, bool)):
            raise SpecError(f"TrainConfig.cuda_graph must be None (wherever the device records one), True or False, "
                            f"got {self.cuda_graph!r}.")
        if not self.info and (self.lambda_real or self.lambda_invariant):
            raise SpecError("TrainConfig: info=False trains a plain GAN without Q, so lambda_real and lambda_invariant "
                            "(terms of Q's objective) must be 0; set info=True, or drop them.")
        if self.cuda_graph and self.compile:
            raise SpecError("TrainConfig: choose compile or cuda_graph, not both (a captured step is already "
                            "launched at once; compiling it as well is not supported here).")

    @classmethod
    def from_dict(cls, saved: dict) -> TrainConfig:
        """The config stored in a checkpoint, including those written before ``precision`` replaced the
        two fields ``amp`` (bool) and ``amp_dtype`` (``auto``, ``bf16``, ``fp16``), and plain-GAN configs
        (``info=False``) that carried a ``lambda_real`` or ``lambda_invariant`` they never used."""
        if not isinstance(saved, dict):
            raise SpecError(f"TrainConfig.from_dict needs a dict (a checkpoint's config), got {type(saved).__name__}.")
        if not saved:
            raise SpecError("TrainConfig.from_dict got an empty dict: a checkpoint's config names its fields; for the "
                            "defaults, use TrainConfig().")
        saved = dict(saved)
        amp, amp_dtype = saved.pop("amp", None), saved.pop("amp_dtype", None)
        if amp is not None or amp_dtype is not None:
            if "precision" in saved:
                raise CheckpointError("the checkpoint's config has both precision and the older amp/amp_dtype it "
                                      "replaced; one of them was added by hand. Keep precision only.")
            if amp not in (None, True, False) or amp_dtype not in (None, "auto", "bf16", "fp16"):
                raise CheckpointError(f"the checkpoint's config has amp={amp!r}, amp_dtype={amp_dtype!r}; older "
                                      "versions wrote amp as true or false and amp_dtype as auto, bf16 or fp16.")
            saved["precision"] = "fp32" if amp is False else (amp_dtype or "auto")
        if saved.get("info") is False:  # older versions accepted these for the plain GAN and never used them
            saved.update(lambda_real=0.0, lambda_invariant=0.0)
        unknown = set(saved) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise CheckpointError(f"the checkpoint's config has fields this version does not know: {sorted(unknown)}; "
                                  "upgrade infogan_tutorial.")
        return cls(**saved)
