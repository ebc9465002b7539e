"""Latent codes: the generator's input (z, c) and its spec.

InfoGAN splits the generator's input into unstructured noise z and structured
codes c = (c1, ..., cL). For MNIST the paper uses 62 noise dimensions, one
10-way categorical code c1 and two continuous codes c2, c3 ~ U(-1, 1).

A :class:`LatentSpec` describes such a layout. It samples (z, c) from a
``torch.Generator`` (so results are reproducible), knows the entropy H(c) of
its codes, and builds traversal inputs that vary one code along a row while
z and the other codes stay fixed (the paper's Figure 2).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from .devices import usable_device
from .errors import SpecError


FLOAT32_MAX = float(torch.finfo(torch.float32).max)
"""The largest code value G's float32 input holds (about 3.4e38); a larger one would overflow to inf."""


def code_value_ok(value: object) -> bool:
    """Whether ``value`` is a real number a code can take: finite and within float32's range (:data:`FLOAT32_MAX`)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and abs(float(value)) <= FLOAT32_MAX)


MAX_SAMPLE = 10_000_000
"""The most codes one :meth:`LatentSpec.sample` draws."""
MAX_WIDTH = 100_000
"""The widest noise, categorical code or set of continuous codes a :class:`LatentSpec` takes."""


@dataclass(frozen=True)
class Codes:
    """One batch of generator inputs.

    Attributes:
        z: noise, shape (N, noise_dim), standard normal.
        categorical: category indices, shape (N, n_categorical), int64.
        continuous: continuous codes, shape (N, n_continuous).
    """

    z: Tensor
    categorical: Tensor
    continuous: Tensor

    def __len__(self) -> int:
        return self.z.shape[0]


@dataclass(frozen=True)
class LatentSpec:
    """The layout of the generator's input.

    Attributes:
        noise_dim: size of the unstructured noise z ~ N(0, I).
        categorical: number of categories of each categorical code, e.g. (10,).
        n_continuous: number of continuous codes, each ~ U(low, high).
        continuous_range: (low, high) of the continuous codes' prior.
    """

    noise_dim: int = 62
    categorical: tuple[int, ...] = (10,)
    n_continuous: int = 2
    continuous_range: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        # Accept lists (e.g. from JSON) but store tuples, so the spec stays hashable.
        try:
            categorical, continuous_range = tuple(self.categorical), tuple(self.continuous_range)
        except TypeError as e:
            raise SpecError(f"categorical and continuous_range must be sequences, e.g. categorical=(10,) and "
                            f"continuous_range=(-1.0, 1.0); got {self.categorical!r} and "
                            f"{self.continuous_range!r}.") from e
        if any(isinstance(k, bool) or not float(k).is_integer() for k in categorical
               if isinstance(k, (numbers.Integral, numbers.Real))) \
                or not all(isinstance(k, (numbers.Integral, numbers.Real)) for k in categorical):
            raise SpecError(f"categorical must hold whole numbers of categories, got {self.categorical!r}; "
                            "use e.g. categorical=(10,).")
        if len(continuous_range) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v)
                                                 for v in continuous_range):
            raise SpecError(f"continuous_range must be two finite numbers (low, high), got {self.continuous_range!r}; "
                            "the paper uses (-1.0, 1.0).")
        object.__setattr__(self, "categorical", tuple(int(k) for k in categorical))
        object.__setattr__(self, "continuous_range", tuple(float(v) for v in continuous_range))
        for name in ("noise_dim", "n_continuous"):  # NumPy integers are ints, as for the categories above
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, name, int(value))
        if isinstance(self.noise_dim, bool) or not isinstance(self.noise_dim, int) or self.noise_dim < 0:
            raise SpecError(f"noise_dim must be a non-negative int, got {self.noise_dim!r}; "
                            "use e.g. LatentSpec(noise_dim=62).")
        if self.noise_dim > MAX_WIDTH or any(k > MAX_WIDTH for k in self.categorical) or (
                isinstance(self.n_continuous, int) and self.n_continuous > MAX_WIDTH):
            raise SpecError(f"noise_dim, each categorical code's categories and n_continuous must be at most "
                            f"{MAX_WIDTH:,} (G's first layer would not fit in memory); got noise_dim={self.noise_dim}, "
                            f"categorical={self.categorical}, n_continuous={self.n_continuous}. The paper's MNIST "
                            "spec is LatentSpec(noise_dim=62, categorical=(10,), n_continuous=2).")
        if any(k < 2 for k in self.categorical):
            raise SpecError(f"every categorical code needs at least 2 categories, got {self.categorical}; "
                            "use e.g. categorical=(10,), or categorical=() for none.")
        if isinstance(self.n_continuous, bool) or not isinstance(self.n_continuous, int) or self.n_continuous < 0:
            raise SpecError(f"n_continuous must be a non-negative int, got {self.n_continuous!r}.")
        low, high = self.continuous_range
        if len(self.continuous_range) != 2 or not low < high:
            raise SpecError(f"continuous_range must be (low, high) with low < high, got {self.continuous_range}; "
                            "the paper uses (-1.0, 1.0).")
        if max(abs(low), abs(high), high - low) > FLOAT32_MAX:
            raise SpecError(f"continuous_range {self.continuous_range} is wider than float32, the codes' dtype, holds "
                            f"(its ends and their difference must stay within ±{FLOAT32_MAX:.3g}); sampled codes would "
                            "be inf or NaN. Use a range such as (-1.0, 1.0).")
        if self.input_dim == 0:
            raise SpecError("the spec has no inputs at all: give noise_dim > 0 or at least one code.")

    # -- sizes -------------------------------------------------------------
    @property
    def n_categorical(self) -> int:
        return len(self.categorical)

    @property
    def code_dim(self) -> int:
        """The width of c as fed to G (one-hot categorical codes, then continuous codes)."""
        return sum(self.categorical) + self.n_continuous

    @property
    def input_dim(self) -> int:
        """Width of the generator's input [z, c]."""
        return self.noise_dim + self.code_dim

    # -- entropy -----------------------------------------------------------
    def categorical_entropy(self) -> float:
        """H(c) of the categorical codes in nats: sum of ln K over codes (uniform priors)."""
        return float(sum(math.log(k) for k in self.categorical))

    def continuous_entropy(self) -> float:
        """Differential entropy h(c) of the continuous codes: n * ln(high - low) (finite for any finite
        range, also where high - low itself overflows)."""
        low, high = self.continuous_range
        width = high - low
        log_width = math.log(width) if math.isfinite(width) else math.log(high / 2 - low / 2) + math.log(2)
        return self.n_continuous * log_width

    def entropy(self) -> float:
        """H(c) of all codes (categorical entropy plus the continuous codes' differential entropy)."""
        return self.categorical_entropy() + self.continuous_entropy()

    # -- sampling ----------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Codes:
        """Draw n inputs: z ~ N(0, I), c_cat ~ Uniform{0..K-1}, c_cont ~ U(low, high).

        With a ``generator`` the draw is reproducible; the generator's device decides
        where the numbers are drawn, and the result is moved to ``device``.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
            raise SpecError(f"cannot sample {n!r} codes; ask for a whole number n >= 1.")
        n = int(n)
        if n > MAX_SAMPLE:
            raise SpecError(f"cannot sample {n:,} codes at once (at most {MAX_SAMPLE:,}, which already fill "
                            "gigabytes); "
                            "draw them in batches.")
        if device is not None:
            from .devices import usable_device
            device = usable_device(device)
        check_generator(generator, "sample")
        gen_device = generator.device if generator is not None else torch.device("cpu")
        z = torch.randn(n, self.noise_dim, generator=generator, device=gen_device)
        cat = torch.stack([torch.randint(k, (n,), generator=generator, device=gen_device)
                           for k in self.categorical], dim=1) if self.categorical else \
            torch.zeros(n, 0, dtype=torch.long, device=gen_device)
        low, high = self.continuous_range
        cont = low + (high - low) * torch.rand(n, self.n_continuous, generator=generator, device=gen_device)
        codes = Codes(z, cat, cont)
        return codes if device is None else to_device(codes, device)

    def check(self, codes: Codes, values: bool = True) -> None:
        """Raise SpecError unless ``codes`` has this spec's shapes and category bounds.

        ``values=False`` checks shapes and dtypes only: the bounds check reads a number back
        from the device, which on a GPU stalls the queue of kernels (the training step skips it
        for codes it drew itself).
        """
        if not isinstance(codes, Codes):
            raise SpecError(f"expected a Codes batch (spec.sample(n)), got {type(codes).__name__}.")
        for name in ("z", "categorical", "continuous"):
            part = getattr(codes, name)
            if not isinstance(part, Tensor):
                raise SpecError(f"codes.{name} must be a torch tensor, got {type(part).__name__}; convert it with "
                                "torch.as_tensor(...), or build codes with spec.sample(n).")
        for name in ("z", "continuous"):
            part = getattr(codes, name)
            if part.numel() and not part.dtype.is_floating_point:
                raise SpecError(f"codes.{name} must hold floating-point numbers, got {part.dtype}; convert it with "
                                f"codes.{name}.float().")
        for name in ("z", "categorical", "continuous"):
            part = getattr(codes, name)
            if part.dim() != 2:
                raise SpecError(f"codes.{name} must be a batch, a 2-D tensor (N, {self._width(name)}), got "
                                f"{part.dim()}-D of shape {tuple(part.shape)}" + (
                                    f"; for one input add the batch axis with codes.{name}.unsqueeze(0)"
                                    if part.dim() == 1 and len(part) == self._width(name) != 1 else
                                    f"; for one code per input add its axis with codes.{name}.unsqueeze(1)"
                                    if part.dim() == 1 and name != "z" and self._width(name) == 1 else "")
                                + ", or build codes with spec.sample(n).")
        n = codes.z.shape[0]
        expected = {"z": (n, self.noise_dim), "categorical": (n, self.n_categorical),
                    "continuous": (n, self.n_continuous)}
        for name, shape in expected.items():
            got = tuple(getattr(codes, name).shape)
            if got != shape:
                raise SpecError(f"codes.{name} has shape {got}, but this spec needs {shape} "
                                f"(spec: {self}). Build codes with spec.sample(n) or spec.traversal(...).")
        if self.categorical and codes.categorical.numel():
            if codes.categorical.dtype.is_floating_point or codes.categorical.dtype.is_complex \
                    or codes.categorical.dtype == torch.bool:
                raise SpecError(f"codes.categorical must hold integer category indices, got "
                                f"{codes.categorical.dtype}; convert with codes.categorical.long().")
            if not values:
                return
            upper = torch.tensor(self.categorical, device=codes.categorical.device)
            bad = (codes.categorical < 0) | (codes.categorical >= upper)
            if bool(bad.any()):
                raise SpecError(f"codes.categorical has indices outside 0..K-1 for K = {self.categorical}.")
        if values:
            for name in ("z", "continuous"):
                part = getattr(codes, name)
                if part.is_meta:
                    raise SpecError(f"codes.{name} is on the meta device, which holds no values; draw codes on a real "
                                    "device (spec.sample(n, device='cpu')).")
                if part.numel() and not bool(torch.isfinite(part).all()):
                    raise SpecError(f"codes.{name} holds NaN or infinite values; G would draw NaN images from them. "
                                    "Draw codes with spec.sample(n), or check where the values came from.")

    def _width(self, part: str) -> int:
        """The width of one of the codes' parts (``z``, ``categorical``, ``continuous``) in this spec."""
        return {"z": self.noise_dim, "categorical": self.n_categorical, "continuous": self.n_continuous}[part]

    def to_input(self, codes: Codes, check_values: bool = True) -> Tensor:
        """The generator's input [z, one_hot(c_cat)..., c_cont], shape (N, input_dim).

        ``check_values=False`` skips the host-synchronising bounds check (see :meth:`check`).
        """
        self.check(codes, values=check_values)
        dtype = torch.promote_types(codes.z.dtype, codes.continuous.dtype)  # never rounds a code to z's dtype
        parts = [codes.z.to(dtype)]
        parts += [torch.nn.functional.one_hot(codes.categorical[:, i].long(), k).to(dtype)
                  for i, k in enumerate(self.categorical)]
        parts.append(codes.continuous.to(dtype))
        return torch.cat(parts, dim=1)

    # -- traversals --------------------------------------------------------
    def traversal(self, code: str, rows: int = 10, steps: int = 10,
                  values: tuple[float, float] = (-2.0, 2.0), generator: torch.Generator | None = None,
                  fixed: Codes | None = None) -> Codes:
        """Inputs for a traversal grid of rows x steps images, in row-major order.

        ``code`` names what varies: ``"c1"``, ``"c2"``, ... count the categorical codes
        first, then the continuous ones (the paper's MNIST layout: c1 categorical,
        c2 and c3 continuous). Within a row, z and every other code stay fixed; the
        chosen code takes ``steps`` values: every category of a categorical code (so
        ``steps`` is ignored), or an even grid over ``values`` for a continuous code
        (-2..2 by default, beyond the prior's -1..1, as in the paper's Figure 2).
        Each row has its own z and other codes, drawn once, or taken from the first
        ``rows`` entries of ``fixed``.
        """
        index = self.code_index(code)
        rows, steps = count(rows, "rows"), count(steps, "steps")
        _check_range_pair(values)
        _check_grid_size(rows, steps if index >= self.n_categorical else self.categorical[index])
        base = fixed if fixed is not None else self.sample(rows, generator)
        if fixed is not None:
            self.check(fixed)
            if len(fixed) < rows:
                raise SpecError(f"fixed holds {len(fixed)} inputs but the traversal needs rows={rows}.")
        if index < self.n_categorical:
            steps = self.categorical[index]
            varied = torch.arange(steps).repeat(rows)
        else:
            if steps < 2:
                raise SpecError(f"a continuous traversal needs steps >= 2, got {steps}.")
            varied = torch.linspace(values[0], values[1], steps).repeat(rows)

        def per_row(t: Tensor) -> Tensor:
            return t[:rows].repeat_interleave(steps, dim=0).clone()

        z, cat, cont = per_row(base.z), per_row(base.categorical), per_row(base.continuous)
        if index < self.n_categorical:
            cat[:, index] = varied.to(cat)
        else:
            cont[:, index - self.n_categorical] = varied.to(cont)
        return Codes(z, cat, cont)

    def noise_traversal(self, dim: int, rows: int = 10, steps: int = 10, values: tuple[float, float] = (-2.0, 2.0),
                        generator: torch.Generator | None = None) -> Codes:
        """Like :meth:`traversal`, but vary the single noise dimension z[dim] from values[0] to values[1]."""
        dim, rows, steps = count(dim, "dim", low=0), count(rows, "rows"), count(steps, "steps")
        _check_range_pair(values)
        _check_grid_size(rows, steps)
        if not 0 <= dim < self.noise_dim:
            raise SpecError(f"noise dimension {dim} is out of range: z has {self.noise_dim} dimensions "
                            f"(0..{self.noise_dim - 1}).")
        if steps < 2:
            raise SpecError(f"a traversal needs steps >= 2, got {steps}.")
        base = self.sample(rows, generator)
        z = base.z.repeat_interleave(steps, dim=0).clone()
        z[:, dim] = torch.linspace(values[0], values[1], steps).repeat(rows)
        return Codes(z, base.categorical.repeat_interleave(steps, dim=0),
                     base.continuous.repeat_interleave(steps, dim=0))

    def code_names(self) -> list[str]:
        """Names c1, c2, ... of the codes, categorical first."""
        return [f"c{i + 1}" for i in range(self.n_categorical + self.n_continuous)]

    def code_index(self, code: str) -> int:
        names = self.code_names()
        if code not in names:
            raise SpecError(f"unknown code {code!r}; this spec has {names} "
                            f"({self.n_categorical} categorical first, then {self.n_continuous} continuous).")
        return names.index(code)

    def to_dict(self) -> dict:
        """A JSON-friendly dict (stored in checkpoints)."""
        d = asdict(self)
        d["categorical"] = list(self.categorical)
        d["continuous_range"] = list(self.continuous_range)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LatentSpec:
        """The spec of :meth:`to_dict`; a missing key raises :class:`SpecError` naming it."""
        keys = ("noise_dim", "categorical", "n_continuous", "continuous_range")
        if not isinstance(d, Mapping):
            raise SpecError(f"LatentSpec.from_dict needs a dict with the keys {list(keys)} (as to_dict() writes), "
                            f"got {type(d).__name__}.")
        missing = [k for k in keys if k not in d]
        if missing:
            raise SpecError(f"a spec dict needs the keys {list(keys)}; {missing} missing in {d!r}.")
        return cls(noise_dim=d["noise_dim"], categorical=tuple(d["categorical"]),
                   n_continuous=d["n_continuous"], continuous_range=tuple(d["continuous_range"]))


def _check_range_pair(values: object) -> None:
    """``values`` is (first, last): two finite numbers, else a :class:`SpecError`."""
    try:
        ok = len(values) == 2 and all(code_value_ok(float(v)) and not isinstance(v, bool) for v in values) \
            and abs(float(values[1]) - float(values[0])) <= FLOAT32_MAX  # a grid's step must not overflow either
    except (TypeError, ValueError, OverflowError):  # not a pair, or not numbers
        ok = False
    if not ok:
        raise SpecError(f"values must be two finite numbers (first, last) within float32's range (±{FLOAT32_MAX:.3g}), "
                        f"e.g. (-2.0, 2.0), got {values!r}.")


def _check_grid_size(rows: int, steps: int) -> None:
    """A traversal grid of at most MAX_SAMPLE inputs, as :meth:`LatentSpec.sample` allows."""
    if rows * steps > MAX_SAMPLE:
        raise SpecError(f"a traversal of {rows:,} rows x {steps:,} steps is {rows * steps:,} inputs, more than the "
                        f"{MAX_SAMPLE:,} one call makes; ask for fewer rows or steps.")


def count(value: object, name: str, low: int = 1) -> int:
    """``value`` as an int if it is a whole number >= ``low`` (not a bool, not 1.5), else a :class:`SpecError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise SpecError(f"{name} must be a whole number >= {low}, got {value!r}.")
    return int(value)


def check_generator(generator: object, where: str, device: torch.device | None = None) -> None:
    """Refuse a ``generator`` that is not a :class:`torch.Generator` or cannot draw here (a CUDA generator on a
    machine without CUDA); with ``device`` (the network's), also one on another accelerator than the network."""
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise SpecError(f"{where}: generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)) or "
                        f"None, got {type(generator).__name__}.")
    kind = generator.device.type
    if kind == "cpu":
        return
    if kind == "cuda" and not torch.cuda.is_available() or kind == "mps" and not (
            getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise SpecError(f"{where}: the generator is a {kind} generator, but {kind.upper()} is not available here; "
                        "use a CPU generator, torch.Generator().manual_seed(0).")
    if device is not None and torch.device(device).type != kind:
        raise SpecError(f"{where}: the generator is on {generator.device}, but the network is on {device}; use a CPU "
                        "generator (torch.Generator().manual_seed(0)) or one on the network's device.")


def to_device(codes: Codes, device: torch.device | str) -> Codes:
    """Move every part of ``codes`` to ``device`` (a torch.device or a name such as "cpu" or "cuda:0")."""
    if not isinstance(codes, Codes):
        raise SpecError(f"to_device needs a Codes (from spec.sample or spec.traversal), got {type(codes).__name__}.")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise SpecError(f"to_device: {device!r} is not a device; pass a torch.device or a name such as 'cpu', "
                        "'cuda' or 'cuda:0'.") from e
    device = usable_device(device)  # a GPU this machine lacks is said so, not torch's driver error
    return Codes(codes.z.to(device), codes.categorical.to(device), codes.continuous.to(device))
