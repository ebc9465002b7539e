"""Networks: the paper's MNIST architecture (Chen et al., 2016, Table 1), sized from a spec.

- G: FC 1024-BN-ReLU, FC 7*7*128-BN-ReLU, 4x4 up-conv 64-BN-ReLU, 4x4 up-conv 1, tanh.
- D's body: 4x4 conv 64 lReLU(0.1), 4x4 conv 128-BN-lReLU, FC 1024-BN-lReLU.
- D's head: FC -> 1 logit (real vs fake).
- Q's head: FC 128-BN-lReLU, FC -> the codes' parameters: logits of each categorical
  code, and the mean and log standard deviation of each continuous code.

Q shares D's body, so recognising c costs almost nothing beyond the GAN itself.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .data import SCALE_TOLERANCE
from .errors import SpecError
from .latent_codes import Codes, LatentSpec

IMAGE_SHAPE = (1, 28, 28)


@dataclass
class QOutput:
    """Q's guess of c given x.

    Attributes:
        logits: one (N, K) tensor of unnormalised log-probabilities per categorical code.
        mean: (N, n_continuous) means of the Gaussian Q(c_cont | x).
        log_std: (N, n_continuous) log standard deviations of that Gaussian.
    """

    logits: list[Tensor]
    mean: Tensor
    log_std: Tensor


def _checked_spec(spec: object, who: str) -> LatentSpec:
    """``spec`` if it is a LatentSpec, else a SpecError that says how to make one (a dict: LatentSpec.from_dict)."""
    if not isinstance(spec, LatentSpec):
        hint = "LatentSpec.from_dict(d)" if isinstance(spec, dict) else "LatentSpec() (the paper's layout)"
        raise SpecError(f"{who} needs a LatentSpec, got {type(spec).__name__}; make one with {hint}.")
    return spec


class Generator(nn.Module):
    """G(z, c): maps the input [z, c] (width ``spec.input_dim``) to a 1x28x28 image in [-1, 1]."""

    def __init__(self, spec: LatentSpec) -> None:
        super().__init__()
        self.spec = _checked_spec(spec, "Generator")
        self.fc = nn.Sequential(
            nn.Linear(spec.input_dim, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(True),
            nn.Linear(1024, 128 * 7 * 7, bias=False), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(True),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, inputs: Codes | Tensor) -> Tensor:
        """``inputs``: a :class:`Codes` batch, or the already-built input tensor (N, input_dim)."""
        if not isinstance(inputs, (Codes, Tensor)):
            raise SpecError(f"G takes a Codes batch (spec.sample(n)) or its input tensor, got {type(inputs).__name__}.")
        x = self.spec.to_input(inputs) if isinstance(inputs, Codes) else inputs
        _check_batch(self, x, "G", "codes")
        if x.dim() != 2 or x.shape[1] != self.spec.input_dim:
            raise SpecError(f"G expects input of shape (N, {self.spec.input_dim}) for spec {self.spec}, "
                            f"got {tuple(x.shape)}. Build it with spec.to_input(spec.sample(n)).")
        return self.deconv(self.fc(x).view(-1, 128, 7, 7))


def _check_batch(net: nn.Module, x: Tensor, name: str, what: str) -> None:
    """Refuse, by name, an input the network's layers would reject with their own error: a dtype other than
    its weights' (float32, or what it was moved to; autocast casts inside), and in training mode a batch of one
    (batch norm needs two)."""
    weight = next(net.parameters(), None)
    autocast = x.dtype.is_floating_point and torch.is_autocast_enabled(x.device.type)
    if weight is not None and x.dtype != weight.dtype and not autocast:
        raise SpecError(f"{name} computes in {weight.dtype} but got {what} of dtype {x.dtype}; convert them with "
                        f".to({weight.dtype}) (or .float()).")
    if net.training and x.dim() > 0 and x.shape[0] == 1:
        raise SpecError(f"{name} is in training mode, where batch norm needs at least 2 {what} per batch, got 1: "
                        f"pass two or more, or call {name}.eval() to run one.")


def _check_scale(x: Tensor) -> None:
    """Refuse images D would score silently wrong: non-finite pixels (in training mode they would also poison
    batch norm's running statistics) or pixels off the [-1, 1] scale (uint8's 0..255). Checked where the
    images are on the CPU; on a GPU the check would read the values back to the host every step, so there
    the data pipeline's own check (:func:`~infogan_tutorial.data.check_images`) and G's tanh stand for it."""
    if x.device.type != "cpu" or not x.is_floating_point() or x.numel() == 0 or torch.jit.is_tracing() \
            or torch.compiler.is_compiling():
        return
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SpecError("D got images holding NaN or infinite values; pass finite pixels in [-1, 1] (in training "
                        "mode they would also make batch norm's running statistics NaN).")
    if lo < -1 - SCALE_TOLERANCE or hi > 1 + SCALE_TOLERANCE:
        raise SpecError(f"D takes images on the scale [-1, 1] (G's tanh, the data sets' background -1), got values "
                        f"from {lo:g} to {hi:g}; rescale them, e.g. x / 127.5 - 1 for 0..255 pixels or x * 2 - 1 "
                        "for [0, 1].")


class Discriminator(nn.Module):
    """D and Q with a shared body.

    ``forward(x)`` returns (D's logit of shape (N,), Q's :class:`QOutput`), so one pass
    over a batch of images gives both. ``fixed_std`` set to a number fixes the standard
    deviation of Q's Gaussians at that value: the head's log-std outputs are replaced by its log, so only
    the means are learned.
    """

    def __init__(self, spec: LatentSpec, fixed_std: float | None = None) -> None:
        super().__init__()
        if fixed_std is not None and (isinstance(fixed_std, bool) or not isinstance(fixed_std, numbers.Real)
                                      or not math.isfinite(fixed_std) or fixed_std <= 0):
            raise SpecError(f"fixed_std must be None or a finite number > 0 (None: learned), got {fixed_std!r}.")
        self.spec = _checked_spec(spec, "Discriminator")
        self.fixed_std = fixed_std
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.1, True),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.1, True),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1024, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(0.1, True),
        )
        self.d_head = nn.Linear(1024, 1)
        n_out = sum(spec.categorical) + 2 * spec.n_continuous
        self.q_head = nn.Sequential(
            nn.Linear(1024, 128, bias=False), nn.BatchNorm1d(128), nn.LeakyReLU(0.1, True),
            nn.Linear(128, n_out),
        ) if n_out else nn.Identity()  # a noise-only spec (a plain GAN) has no codes for Q to guess

    def features(self, x: Tensor, check_values: bool = True) -> Tensor:
        """The shared body's 1024 features of images x (N, 1, 28, 28) on the scale [-1, 1].

        ``check_values=False`` skips the check of the pixels' values (finite, in [-1, 1]; made on the CPU
        only), for callers that checked them already (the training step, whose real images were checked
        when loaded and whose fakes come from G's tanh; a NaN there is reported as divergence)."""
        if not isinstance(x, Tensor):
            raise SpecError(f"D takes a torch tensor of images (N, 1, 28, 28), got {type(x).__name__}; convert it "
                            "with torch.as_tensor(x, dtype=torch.float32).")
        if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            fix = ("These look like the body's features h = D.features(x): give them to D.q_from_features(h) or "
                   "D.d_from_features(h), not to D.q, D.features or D itself, which take images."
                   if x.dim() == 2 and x.shape[1] == 1024 else
                   "Add the channel axis with x.unsqueeze(1) if it is missing.")
            raise SpecError(f"D expects images of shape (N, 1, 28, 28), got {tuple(x.shape)}. {fix}")
        _check_batch(self, x, "D", "images")
        if check_values:
            _check_scale(x)
        return self.body(x)

    def d_from_features(self, h: Tensor) -> Tensor:
        """D's logit l (N,) for the body's features: D(x) = sigmoid(l)."""
        width = self.d_head.in_features if isinstance(self.d_head, nn.Linear) else None
        if not isinstance(h, Tensor) or h.dim() != 2 or (width is not None and h.shape[1] != width):
            raise SpecError(f"d_from_features needs the body's features, shape (N, {width}) (what D.features(x) "
                            f"returns), got {tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__}.")
        return self.d_head(h).squeeze(1)

    def q_from_features(self, h: Tensor) -> QOutput:
        """Q's head applied to the body's features."""
        if isinstance(self.q_head, nn.Identity):
            empty = h.new_zeros(h.shape[0], 0)
            return QOutput([], empty, empty)
        out = self.q_head(h)
        logits = list(torch.split(out[:, :sum(self.spec.categorical)], list(self.spec.categorical), dim=1))
        cont = out[:, sum(self.spec.categorical):]
        mean, log_std = cont[:, :self.spec.n_continuous], cont[:, self.spec.n_continuous:]
        if self.fixed_std is not None:
            log_std = torch.full_like(mean, math.log(self.fixed_std))
        return QOutput(logits, mean, log_std)

    def forward(self, x: Tensor) -> tuple[Tensor, QOutput]:
        h = self.features(x)
        return self.d_from_features(h), self.q_from_features(h)

    def q(self, x: Tensor) -> QOutput:
        """Q(c | x) alone (still through the shared body)."""
        return self.q_from_features(self.features(x))


def init_weights(module: nn.Module) -> None:
    """DCGAN-style initialisation: normal with mean 0 and standard deviation 0.02 for conv/linear weights, mean 1 and
    standard deviation 0.02 for BN scales."""
    if not isinstance(module, nn.Module):
        raise SpecError(f"init_weights needs a network (a torch.nn.Module, e.g. G or D), got {type(module).__name__}.")
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if m.weight.numel() == 0:  # e.g. Q's output layer for a spec with no codes
                continue
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build_networks(spec: LatentSpec, fixed_std: float | None = None,
                   seed: int | None = None) -> tuple[Generator, Discriminator]:
    """A fresh (G, D-with-Q) pair for ``spec``.

    With a ``seed`` the initial weights are reproducible, and torch's global RNG is
    left as it was (the draw happens inside ``torch.random.fork_rng``).
    """
    if not isinstance(spec, LatentSpec):
        raise SpecError(f"build_networks needs a LatentSpec, got {type(spec).__name__}"
                        + ("; make one with LatentSpec.from_dict(d)" if isinstance(spec, dict) else "") + ".")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2 ** 63):
        raise SpecError(f"build_networks: seed must be None or a whole number in 0..2**63-1, got {seed!r}.")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        g, d = Generator(spec), Discriminator(spec, fixed_std)
        init_weights(g)
        init_weights(d)
    return g, d


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode for the block (batch norm uses its running statistics), then give each
    back the mode it had, also when the block raises."""
    for m in modules:
        if not isinstance(m, nn.Module):
            raise SpecError(f"eval_mode takes networks (torch.nn.Module, e.g. G and D), got {type(m).__name__}.")
    saved = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for m, mode in zip(modules, saved):
            m.train(mode)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No gradients for ``module``'s parameters inside the block (G's step freezes D this way, so its backward
    pass computes G's gradients only); each parameter's ``requires_grad`` is restored afterwards, also when
    the block raises."""
    if not isinstance(module, nn.Module):
        raise SpecError(f"frozen takes one network (a torch.nn.Module, e.g. D), got {type(module).__name__}.")
    saved = [(p, p.requires_grad) for p in module.parameters()]
    try:
        module.requires_grad_(False)
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def check_network(net: object, kind: str, where: str, spec: LatentSpec | None = None) -> nn.Module:
    """``net`` if it is the network ``kind`` asks for ("G": a generator, "D": the discriminator with Q's
    head), else a :class:`~infogan_tutorial.errors.SpecError` naming what was passed and what to pass.

    A ``torch.compile`` wrapper is judged by the module it wraps. A generator is any module without Q's
    head (your own generator is welcome); the discriminator needs ``q`` and ``spec``, as :class:`Discriminator` has.
    With ``spec``, a network that carries its own ``spec`` must have that one (another layout of the same width
    would be read silently wrong).
    """
    from .errors import SpecError

    if kind not in ("G", "D"):
        raise SpecError(f"check_network: kind must be 'G' or 'D', got {kind!r}.")
    inner = getattr(net, "_orig_mod", net)
    if not isinstance(inner, nn.Module):
        raise SpecError(f"{where} needs the {'generator G' if kind == 'G' else 'discriminator D (with Q)'} as a "
                        f"torch module, got {type(net).__name__}.")
    is_d = isinstance(inner, Discriminator) or (hasattr(inner, "q") and hasattr(inner, "spec"))
    if kind == "D" and not is_d:
        what = "the generator G" if isinstance(inner, Generator) else f"a {type(inner).__name__}"
        raise SpecError(f"{where} needs the discriminator D (whose Q head reads the codes), got {what}; pass D, "
                        "e.g. the third value of load_networks(path) or load_pretrained().D.")
    if kind == "G" and is_d:
        raise SpecError(f"{where} needs the generator G, got the discriminator D ({type(inner).__name__}); pass G, "
                        "e.g. the second value of load_networks(path) or load_pretrained().G.")
    if any(p.is_meta for p in inner.parameters()):
        raise SpecError(f"{where}: the weights of {kind} are on the meta device (shapes without values), so it "
                        "cannot compute anything; give it real weights first: net.to_empty(device='cpu') and then "
                        "load_state_dict(...), or load_networks(path).")
    own = getattr(inner, "spec", None)
    if spec is not None and isinstance(own, LatentSpec) and own != spec:
        raise SpecError(f"{where}: the spec {spec} is not the one {kind} was built for ({own}); pass {kind}.spec, or "
                        "leave spec out where it defaults to it.")
    return net
