"""Checkers for the book's exercises: run a student's function, say in plain words what is wrong.

Each ``check_*`` function takes the student's function, runs it on a small table of cases
whose answers are known (computed with the package's own, tested code), and compares the
result with the right answer and with the answers of typical mistakes (softmax before the
cross-entropy, a missing H(c), a sum where a mean belongs, ...). It prints one line
(✓ or ✗ and an explanation) and returns a :class:`CheckResult`. A wrong answer never
raises, so a notebook keeps running; an autograder calls ``result.raise_if_failed()``.

The book's notation: Q(c | x) is Q's guess of the codes c that generated x = G(z, c);
L_I(G, Q) = E[log Q(c | x)] + H(c); the loss G and Q minimise is -lambda E[log Q(c | x)].
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .evaluation import hungarian_accuracy
from .latent_codes import Codes, LatentSpec
from .networks import Discriminator, QOutput, init_weights
from .objectives import gaussian_log_likelihood, generator_loss, info_lower_bound, info_loss

# -- results and the shared comparison ---------------------------------------------------

class ExerciseFailed(AssertionError):
    """Raised by :meth:`CheckResult.raise_if_failed` when an answer is wrong."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a check: ``passed`` and the explanation shown to the student."""

    passed: bool
    message: str

    def raise_if_failed(self) -> CheckResult:
        """Raise :class:`ExerciseFailed` with the explanation unless the answer passed (for autograders)."""
        if not self.passed:
            raise ExerciseFailed(self.message)
        return self

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.message}"

    def _ipython_display_(self) -> None:
        """Show nothing in a notebook: the checker has already printed the line."""


@dataclass(frozen=True)
class Case:
    """One input with a known answer; ``make()`` builds fresh arguments on every call."""

    name: str
    make: Callable[[], tuple]


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer (a function with the student's signature) and what to tell the student."""

    explanation: str
    answer: Callable[..., Any]


def _call(fn: Callable[..., Any], args: tuple) -> Any:
    return fn(*args)


def _normalise(x: Any) -> Any:
    """Tensors, arrays and numbers become float64 tensors; Codes and sequences become tuples."""
    if isinstance(x, Codes):
        return ("Codes",) + tuple(_normalise(t) for t in (x.z, x.categorical, x.continuous))
    if isinstance(x, Tensor):
        return x.detach().cpu().to(torch.float64)
    if isinstance(x, (np.ndarray, np.number, bool, int, float)):
        return torch.as_tensor(np.asarray(x, dtype=np.float64))
    if isinstance(x, (tuple, list)):
        return tuple(_normalise(v) for v in x)
    return x


def _same(a: Any, b: Any) -> bool:
    """Equal up to float tolerance (shapes must match); objects other than data compare as equal."""
    a, b = _normalise(a), _normalise(b)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (Tensor, tuple)) or isinstance(b, (Tensor, tuple)) or a is None or b is None:
        return False
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return True  # networks, specs, ...: not compared


def _show(x: Any) -> str:
    x = _normalise(x)
    if isinstance(x, Tensor):
        return f"{x.item():.4f}" if x.dim() == 0 else f"a tensor of shape {tuple(x.shape)}"
    return repr(x)


def _shape_problem(got: Any, want: Any) -> str | None:
    """Explain a wrong type or shape, or return None when the shapes agree."""
    if got is None:
        return "it returned None: did you forget the `return` statement?"
    g, w = _normalise(got), _normalise(want)
    if isinstance(w, Tensor) and not isinstance(g, Tensor):
        return f"it returned a {type(got).__name__}, but the answer is a number or tensor."
    if isinstance(w, Tensor) and g.shape != w.shape:
        if w.dim() == 0:
            return (f"wrong shape: it returned {tuple(g.shape)}, but the answer is a single number; "
                    "average over the batch (and add up the codes) to get one value.")
        return f"wrong shape: it returned shape {tuple(g.shape)}, but the answer has shape {tuple(w.shape)}."
    return None


def _report(passed: bool, message: str) -> CheckResult:
    result = CheckResult(passed, message)
    print(result)
    return result


@dataclass(frozen=True)
class Exercise:
    """What a checker needs: the right answer, the cases, the typical mistakes and how to compare.

    ``probe(fn, args)`` turns a function and a case's arguments into what is compared (by default
    the return value); ``diagnose(answer, args)`` may explain a wrong answer no known mistake matches.
    """

    reference: Callable[..., Any]
    cases: Sequence[Case]
    mistakes: Sequence[Mistake] = ()
    probe: Callable[[Callable[..., Any], tuple], Any] = _call
    diagnose: Callable[[Any, tuple], str | None] | None = None


def check_against(student: Callable[..., Any], exercise: Exercise) -> CheckResult:
    """Run ``student`` on every case and compare it with the reference and with each known mistake.

    On the first case where the student's answer differs from the reference, the explanation of
    the first mistake that gives the same answer is reported; failing that, the exercise's
    diagnosis, a shape problem, or the expected and actual value.
    """
    reference, cases, mistakes, probe, diagnose = (exercise.reference, exercise.cases, exercise.mistakes,
                                                   exercise.probe, exercise.diagnose)
    name = getattr(student, "__name__", "your function")
    for case in cases:
        want = probe(reference, case.make())
        args = case.make()
        try:
            got = probe(student, args)
        except NotImplementedError:
            return _report(False, f"{name} is not implemented yet: replace the `raise NotImplementedError(...)` "
                                  "line with your code, run that cell, then run this check again.")
        except Exception as e:  # noqa: BLE001 - any error in the student's code is feedback, not a crash
            return _report(False, f"{name} raised {type(e).__name__} on {case.name}: {e}")
        if not _same(args, case.make()):
            return _report(False, f"{name} changed its inputs in place on {case.name}; leave them as they are "
                                  "and build new tensors (e.g. with .clone()).")
        if _same(got, want):
            continue
        for mistake in mistakes:
            try:
                wrong = probe(mistake.answer, case.make())
            except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
                continue
            if not _same(wrong, want) and _same(got, wrong):
                return _report(False, f"{name}: {mistake.explanation}")
        problem = (diagnose(got, case.make()) if diagnose else None) or _shape_problem(got, want) \
            or f"wrong value on {case.name}: expected {_show(want)}, got {_show(got)}."
        return _report(False, f"{name}: {problem}")
    return _report(True, f"{name} is correct on all {len(cases)} test cases.")


# -- shared inputs -------------------------------------------------------------------------

PAPER_SPEC = LatentSpec()
"""The paper's MNIST layout: 62 noise dims, one 10-way code c1, two continuous codes c2, c3 ~ U(-1, 1)."""


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _q_output(spec: LatentSpec, n: int, seed: int) -> QOutput:
    """A made-up but fixed output of Q for a batch of n images."""
    g = _rng(seed)
    logits = [2 * torch.randn(n, k, generator=g) for k in spec.categorical]
    mean = torch.randn(n, spec.n_continuous, generator=g)
    log_std = 0.5 * torch.randn(n, spec.n_continuous, generator=g)
    return QOutput(logits, mean, log_std)


def _q_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    return Case(name, lambda: (_q_output(spec, n, seed), spec.sample(n, _rng(seed + 1)), spec))


# -- exercise: the categorical information loss ------------------------------------------

def _categorical_loss(logits: Tensor, c: Tensor, *, softmax_first: bool = False, sign: float = 1.0,
                      reduce: str = "mean", base: float = math.e, raw_logits: bool = False) -> Tensor:
    """-E[log Q(c | x)] for one categorical code, with switches that produce typical mistakes."""
    if raw_logits:
        log_q = logits.gather(1, c[:, None]).squeeze(1)
    else:
        log_q = -F.cross_entropy(logits.softmax(1) if softmax_first else logits, c, reduction="none")
    per_example = -sign * log_q / math.log(base)
    return {"mean": per_example.mean(), "sum": per_example.sum(), "none": per_example}[reduce]


def _categorical_info_loss_exercise() -> Exercise:
    def uniform() -> tuple:
        return torch.zeros(4, 10), torch.tensor([0, 3, 9, 3])

    def random_case() -> tuple:
        g = _rng(11)
        return 3 * torch.randn(6, 5, generator=g), torch.randint(5, (6,), generator=g)

    def confident() -> tuple:
        c = torch.tensor([1, 0, 2])
        return 8 * F.one_hot(c, 3).float() - 4, c

    cases = [Case("random logits (6 images, 5 categories)", random_case),
             Case("all-zero logits, i.e. a uniform Q (the answer is ln 10)", uniform),
             Case("confident, correct logits", confident)]
    mistakes = [
        Mistake("softmax was applied before the cross-entropy. F.cross_entropy takes raw logits and applies "
                "log-softmax itself; feeding it probabilities squashes the loss towards ln K.",
                partial(_categorical_loss, softmax_first=True)),
        Mistake("wrong sign: this is E[log Q(c|x)], which is <= 0. The loss to minimise is its negative.",
                partial(_categorical_loss, sign=-1.0)),
        Mistake("it sums over the batch instead of averaging: the expectation E[...] is a mean over the "
                "images, so the loss must not grow with the batch size.", partial(_categorical_loss, reduce="sum")),
        Mistake("log base 2 (bits) instead of the natural log (nats): use torch.log / F.log_softmax / "
                "F.cross_entropy, so the loss is comparable with H(c) = ln 10.", partial(_categorical_loss, base=2.0)),
        Mistake("it picks the raw logit of the true category without normalising: log Q(c|x) is the "
                "log-softmax of the logits (F.log_softmax or F.cross_entropy), not the logit itself.",
                partial(_categorical_loss, raw_logits=True)),
        Mistake("wrong shape: it returns one loss per image. Average over the batch to return one number.",
                partial(_categorical_loss, reduce="none")),
    ]
    return Exercise(F.cross_entropy, cases, mistakes)


def check_categorical_info_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> CheckResult:
    """Check ``fn(logits, c) -> -E[log Q(c | x)]`` (a scalar) from logits (N, K) and category indices (N,)."""
    return check_against(fn, _categorical_info_loss_exercise())


# -- exercise: the Gaussian log-likelihood of a continuous code ----------------------------

def _gaussian_ll(c: Tensor, mean: Tensor, log_std: Tensor, *, log_std_term: bool = True, const_term: bool = True,
                 variance: bool = False, sign: float = 1.0, base: float = math.e) -> Tensor:
    """log N(c; mean, exp(log_std)^2) elementwise, with switches that produce typical mistakes."""
    log_sigma = 0.5 * log_std if variance else log_std
    ll = -0.5 * ((c - mean) * torch.exp(-log_sigma)) ** 2
    ll = ll - log_sigma if log_std_term else ll
    ll = ll - 0.5 * math.log(2 * math.pi) if const_term else ll
    return sign * ll / math.log(base)


def _gaussian_log_likelihood_exercise() -> Exercise:
    def random_case(seed: int, shape: tuple[int, ...]) -> Callable[[], tuple]:
        def make() -> tuple:
            g = _rng(seed)
            c = 2 * torch.rand(shape, generator=g) - 1
            return c, torch.randn(shape, generator=g), 0.7 * torch.randn(shape, generator=g)
        return make

    cases = [Case("a batch of 5 images with 2 continuous codes", random_case(21, (5, 2))),
             Case("a batch of 3 images with 3 continuous codes", random_case(22, (3, 3))),
             Case("c = mean with sigma = 1 (the answer is -ln(2 pi)/2 = -0.919)",
                  lambda: (torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2)))]
    mistakes = [
        Mistake("this is a (scaled) squared error, not the log-likelihood: it lacks the -log(sigma) and "
                "-ln(2 pi)/2 terms. Without -log(sigma), Q could make every code look likely by growing sigma.",
                partial(_gaussian_ll, log_std_term=False, const_term=False)),
        Mistake("this is a plain negative squared error -(c - mean)^2: the log-likelihood divides by 2 sigma^2 "
                "and has the normalising terms -log(sigma) - ln(2 pi)/2.",
                lambda c, mean, log_std: -(c - mean) ** 2),
        Mistake("the -log(sigma) term is missing (the density's normaliser 1/sigma).",
                partial(_gaussian_ll, log_std_term=False)),
        Mistake("the constant -ln(2 pi)/2 (about -0.919 per code) is missing.",
                partial(_gaussian_ll, const_term=False)),
        Mistake("log_std was used as the log of the variance; it is the log of the standard deviation "
                "sigma, so sigma = exp(log_std) and the variance is exp(2 log_std).",
                partial(_gaussian_ll, variance=True)),
        Mistake("wrong sign: this is the negative log-likelihood (a loss); the function should return log N.",
                partial(_gaussian_ll, sign=-1.0)),
        Mistake("log base 2 instead of the natural log: use math.log / torch.log so the result is in nats.",
                partial(_gaussian_ll, base=2.0)),
        Mistake("wrong shape: it adds up the codes (or the batch). Return one value per element, "
                "with the same shape as c.", lambda c, mean, log_std: _gaussian_ll(c, mean, log_std).sum(-1)),
    ]
    return Exercise(gaussian_log_likelihood, cases, mistakes)


def check_gaussian_log_likelihood(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> CheckResult:
    """Check ``fn(c, mean, log_std) -> log N(c; mean, exp(log_std)^2)``, elementwise (same shape as c)."""
    return check_against(fn, _gaussian_log_likelihood_exercise())


# -- exercise: H(c) of a spec ------------------------------------------------------------

def _entropy(spec: LatentSpec, *, base: float = math.e, continuous: bool = True, first_only: bool = False,
             per_code: bool = True, assume_unit_range: bool = False) -> float:
    """H(c) in nats, with switches that produce typical mistakes."""
    cats = spec.categorical[:1] if first_only else spec.categorical
    h = sum(math.log(k) for k in cats)
    low, high = (-1.0, 1.0) if assume_unit_range else spec.continuous_range
    if continuous and spec.n_continuous:
        h += (spec.n_continuous if per_code else 1) * math.log(high - low)
    return h / math.log(base)


def _code_entropy_exercise() -> Exercise:
    specs = [("the paper's spec (one 10-way code, two codes on (-1, 1))", PAPER_SPEC),
             ("two categorical codes (10 and 4 ways) and one code on (0, 3)",
              LatentSpec(noise_dim=8, categorical=(10, 4), n_continuous=1, continuous_range=(0.0, 3.0))),
             ("one 10-way code and no continuous codes", LatentSpec(n_continuous=0)),
             ("three codes on (0, 0.5) and no categorical code (the answer is negative)",
              LatentSpec(noise_dim=8, categorical=(), n_continuous=3, continuous_range=(0.0, 0.5)))]
    cases = [Case(name, lambda s=s: (s,)) for name, s in specs]
    mistakes = [
        Mistake("log base 2 (bits) instead of the natural log (nats): the book measures H(c) in nats, "
                "ln 10 = 2.30 for a 10-way code.", partial(_entropy, base=2.0)),
        Mistake("the continuous codes are missing: each code uniform on (low, high) adds its differential "
                "entropy ln(high - low).", partial(_entropy, continuous=False)),
        Mistake("only the first categorical code is counted: independent codes add their entropies, "
                "so H(c) sums ln K over every categorical code.", partial(_entropy, first_only=True)),
        Mistake("ln(high - low) is added once for all continuous codes; every continuous code adds its own.",
                partial(_entropy, per_code=False)),
        Mistake("the range (-1, 1) was assumed: read the range from spec.continuous_range.",
                partial(_entropy, assume_unit_range=True)),
        Mistake("wrong sign: H(c) = sum of ln K is positive for categorical codes (it is -sum p log p).",
                lambda spec: -_entropy(spec)),
    ]
    return Exercise(LatentSpec.entropy, cases, mistakes)


def check_code_entropy(fn: Callable[[LatentSpec], float]) -> CheckResult:
    """Check ``fn(spec) -> H(c)`` in nats: the sum of ln K over categorical codes plus n ln(high - low)."""
    return check_against(fn, _code_entropy_exercise())


# -- exercise: L_I from Q's output -------------------------------------------------------

def _info_bound(q: QOutput, codes: Codes, spec: LatentSpec, *, entropy: bool = True, sign: float = 1.0,
                reduce: str = "mean", softmax_first: bool = False, squared_error: bool = False,
                continuous: bool = True) -> Tensor:
    """L_I = E[log Q(c | x)] + H(c) over all codes, with switches that produce typical mistakes."""
    per_example = torch.zeros(len(codes))
    for i, logits in enumerate(q.logits):
        per_example = per_example - _categorical_loss(logits, codes.categorical[:, i],
                                                      softmax_first=softmax_first, reduce="none")
    if continuous and spec.n_continuous:
        ll = _gaussian_ll(codes.continuous, q.mean, q.log_std, log_std_term=not squared_error,
                          const_term=not squared_error)
        per_example = per_example + ll.sum(1)
    log_q = per_example.mean() if reduce == "mean" else per_example.sum()
    h = _entropy(spec, continuous=continuous) if entropy else 0.0
    return sign * (log_q + h)


def _mutual_info_bound_exercise() -> Exercise:
    cases = [_q_case("the paper's spec, 6 images", PAPER_SPEC, 6, 31),
             _q_case("two categorical codes (10, 3) and one continuous code, 5 images",
                     LatentSpec(noise_dim=4, categorical=(10, 3), n_continuous=1), 5, 32),
             _q_case("a 10-way code only, 4 images", LatentSpec(noise_dim=4, n_continuous=0), 4, 33)]
    mistakes = [
        Mistake("H(c) is missing: this is E[log Q(c|x)] alone. The bound adds the entropy of the codes, "
                "L_I = E[log Q(c|x)] + H(c) (spec.entropy()).", partial(_info_bound, entropy=False)),
        Mistake("this is the information loss -E[log Q(c|x)], not the bound: flip the sign and add H(c).",
                partial(_info_bound, entropy=False, sign=-1.0)),
        Mistake("wrong sign: it returns -L_I. The bound is E[log Q(c|x)] + H(c).", partial(_info_bound, sign=-1.0)),
        Mistake("it sums log Q over the batch instead of averaging: E[log Q(c|x)] is a mean over the images.",
                partial(_info_bound, reduce="sum")),
        Mistake("softmax was applied before the cross-entropy: F.cross_entropy takes raw logits.",
                partial(_info_bound, softmax_first=True)),
        Mistake("the continuous codes use a squared error instead of the Gaussian log-likelihood (the "
                "-log(sigma) and -ln(2 pi)/2 terms are missing).", partial(_info_bound, squared_error=True)),
        Mistake("only the categorical codes are counted: add the continuous codes' log-likelihood "
                "and their entropy too.", partial(_info_bound, continuous=False)),
    ]
    return Exercise(lambda q, codes, spec: info_lower_bound(q, codes, spec).total, cases, mistakes)


def check_mutual_info_bound(fn: Callable[[QOutput, Codes, LatentSpec], Tensor]) -> CheckResult:
    """Check ``fn(q, codes, spec) -> L_I``, a scalar: E[log Q(c | x)] + H(c) over all codes."""
    return check_against(fn, _mutual_info_bound_exercise())


# -- exercise: a traversal grid ----------------------------------------------------------

def _traversal(spec: LatentSpec, base: Codes, code: str, values: Tensor, *, tile: bool = False,
               values_down_columns: bool = False, ignore_categorical_count: bool = False) -> Codes:
    """Row r: base's input r with ``code`` set to values[0..steps-1]; switches produce typical mistakes."""
    rows, steps = len(base), len(values)

    def per_row(t: Tensor) -> Tensor:
        return t.repeat(steps, *[1] * (t.dim() - 1)) if tile else t.repeat_interleave(steps, dim=0)

    z, cat, cont = per_row(base.z), per_row(base.categorical), per_row(base.continuous)
    varied = values.repeat_interleave(rows) if values_down_columns else values.repeat(rows)
    i = spec.code_index(code)
    if i < spec.n_categorical:
        cat[:, i] = varied.to(cat.dtype)
    else:
        cont[:, i if ignore_categorical_count else i - spec.n_categorical] = varied.to(cont.dtype)
    return Codes(z, cat, cont)


def _traversal_diagnosis(got: Any, args: tuple) -> str | None:
    """Name what changes within a row when no known mistake matched (e.g. freshly drawn noise)."""
    spec, base, code, values = args
    if not isinstance(got, Codes) or len(got) != len(base) * len(values):
        return (f"it should return Codes with rows x steps = {len(base)} x {len(values)} = "
                f"{len(base) * len(values)} inputs, got {type(got).__name__} of length "
                f"{len(got) if isinstance(got, Codes) else '?'}.")
    rows, steps = len(base), len(values)
    for part in ("z", "categorical", "continuous"):
        grid = getattr(got, part).reshape(rows, steps, -1).to(torch.float64)
        if part == "continuous" or (part == "categorical" and spec.code_index(code) < spec.n_categorical):
            keep = [j for j in range(grid.shape[2]) if j != spec.code_index(code)
                    - (spec.n_categorical if part == "continuous" else 0)]
            grid = grid[:, :, keep]
        if not torch.equal(grid, grid[:, :1].expand_as(grid)):
            what = "the noise z" if part == "z" else f"a {part} code that should stay fixed"
            return (f"{what} changes within a row. In a traversal row only the traversed code may change; "
                    f"z and every other code are the row's own base input, repeated `steps` times.")
    return None


def _traversal_codes_exercise() -> Exercise:
    def case(spec: LatentSpec, rows: int, code: str, values: Tensor, seed: int) -> Callable[[], tuple]:
        return lambda: (spec, spec.sample(rows, _rng(seed)), code, values.clone())

    two_cats = LatentSpec(noise_dim=6, categorical=(10, 4), n_continuous=2)
    grid5, grid4, grid3 = torch.linspace(-2, 2, 5), torch.linspace(-1, 1, 4), torch.linspace(-2, 2, 3)
    cases = [Case("c2 of the paper's spec over 5 values, 3 rows", case(PAPER_SPEC, 3, "c2", grid5, 41)),
             Case("c3 of the paper's spec over 4 values, 2 rows", case(PAPER_SPEC, 2, "c3", grid4, 42)),
             Case("c1 (categorical) over its 10 categories, 2 rows", case(PAPER_SPEC, 2, "c1", torch.arange(10), 43)),
             Case("c2 of a spec with two categorical codes (10, 4)", case(two_cats, 2, "c2", torch.arange(4), 44)),
             Case("c4 of a spec with two categorical codes (10, 4)", case(two_cats, 3, "c4", grid3, 45))]

    def reference(spec: LatentSpec, base: Codes, code: str, values: Tensor) -> Codes:
        lo, hi = float(values[0]), float(values[-1])
        return spec.traversal(code, rows=len(base), steps=len(values), values=(lo, hi), fixed=base)

    mistakes = [
        Mistake("the noise z (and the other codes) change within a row: the base batch was tiled (repeat) "
                "instead of repeating each base input along its row (repeat_interleave), so every column "
                "shows a different z.", partial(_traversal, tile=True)),
        Mistake("the grid is transposed: each column keeps one z and each row one value of the code. "
                "Row r should repeat base input r, and the code should run through all values along the row.",
                partial(_traversal, tile=True, values_down_columns=True)),
        Mistake("the traversed code is constant along each row and changes down the columns: row r should "
                "run through all values (values.repeat(rows)), not one value (values.repeat_interleave(rows)).",
                partial(_traversal, values_down_columns=True)),
        Mistake("the wrong code was changed: codes are numbered categorical first, then continuous, so with "
                "one categorical code c2 is continuous[:, 0] (use spec.code_index(code) - spec.n_categorical).",
                partial(_traversal, ignore_categorical_count=True)),
    ]
    return Exercise(reference, cases, mistakes, diagnose=_traversal_diagnosis)


def check_traversal_codes(fn: Callable[[LatentSpec, Codes, str, Tensor], Codes]) -> CheckResult:
    """Check ``fn(spec, base, code, values) -> Codes`` for a rows x steps traversal grid in row-major order.

    Row r repeats base input r (its z and codes) ``len(values)`` times, with ``code`` set to values[j]
    in column j.
    """
    return check_against(fn, _traversal_codes_exercise())


# -- exercise: Hungarian matching accuracy -----------------------------------------------

def _majority_vote_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Each cluster takes its most common label, even if another cluster took it too (many-to-one)."""
    hits = sum(np.bincount(labels[clusters == k]).max() for k in np.unique(clusters))
    return float(hits / len(labels))


def _matched_accuracy_exercise() -> Exercise:
    def relabelled(noise: float, seed: int) -> Callable[[], tuple]:
        def make() -> tuple:
            r = np.random.default_rng(seed)
            labels = np.repeat(np.arange(10), 6)
            clusters = np.array([3, 1, 4, 0, 2, 9, 6, 5, 8, 7])[labels]  # renamed; 1, 6 and 8 keep their names
            flip = r.random(len(labels)) < noise
            clusters[flip] = r.integers(0, 10, flip.sum())
            return clusters, labels
        return make

    cases = [Case("a perfect clustering with its categories renamed (the answer is 1.0)", relabelled(0.0, 51)),
             Case("a renamed clustering with 30% of the items moved at random", relabelled(0.3, 52)),
             Case("two clusters whose most common label is the same digit",
                  lambda: (np.array([0, 0, 0, 0, 0, 1, 1, 1, 2]), np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])))]
    mistakes = [
        Mistake("no matching: it compares category numbers with labels directly. Q's category 3 need not "
                "mean digit 3; match categories to labels first (scipy.optimize.linear_sum_assignment).",
                lambda clusters, labels: float((clusters == labels).mean())),
        Mistake("each category was given its most common label, so two categories can claim the same digit. "
                "The matching must be one-to-one: use the Hungarian method (linear_sum_assignment on the "
                "count matrix, maximize=True).", _majority_vote_accuracy),
        Mistake("it returns the number of correctly matched items; divide by the number of items.",
                lambda clusters, labels: float(hungarian_accuracy(clusters, labels).accuracy * len(labels))),
        Mistake("it returns the error rate (1 - accuracy).",
                lambda clusters, labels: 1.0 - hungarian_accuracy(clusters, labels).accuracy),
        Mistake("it returns a percentage; return a fraction between 0 and 1.",
                lambda clusters, labels: 100.0 * hungarian_accuracy(clusters, labels).accuracy),
    ]
    return Exercise(lambda clusters, labels: hungarian_accuracy(clusters, labels).accuracy, cases, mistakes)


def check_matched_accuracy(fn: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check ``fn(clusters, labels) -> accuracy`` in [0, 1] after the best one-to-one matching of clusters to labels."""
    return check_against(fn, _matched_accuracy_exercise())


# -- exercise: the bound of each continuous code (a third continuous code) -----------------

def _per_code(q: QOutput, codes: Codes, spec: LatentSpec, *, entropy: str = "own", squared_error: bool = False,
              reduce: str = "mean") -> Tensor:
    """E[log Q(c_j | x)] + ln(high - low) for each continuous code j, with switches for typical mistakes."""
    ll = _gaussian_ll(codes.continuous, q.mean, q.log_std, log_std_term=not squared_error, const_term=not squared_error)
    log_q = ll.mean(0) if reduce == "mean" else ll.sum(0)
    low, high = spec.continuous_range
    h = {"own": math.log(high - low), "none": 0.0, "all": spec.continuous_entropy()}[entropy]
    return log_q + h


def _per_code_info_exercise() -> Exercise:
    cases = [_q_case("three continuous codes, 6 images", LatentSpec(n_continuous=3), 6, 61),
             _q_case("two codes on (-2, 2), 5 images",
                     LatentSpec(noise_dim=4, n_continuous=2, continuous_range=(-2.0, 2.0)), 5, 62)]
    mistakes = [
        Mistake("the codes are added up into one number: return one value per continuous code, shape "
                "(n_continuous,), so you can see which code carries information.",
                lambda q, codes, spec: _per_code(q, codes, spec).sum()),
        Mistake("the codes are averaged into one number: return one value per continuous code, shape (n_continuous,).",
                lambda q, codes, spec: _per_code(q, codes, spec).mean()),
        Mistake("the entropy h(c_j) = ln(high - low) of each code is missing.", partial(_per_code, entropy="none")),
        Mistake("each code got the entropy of all continuous codes; each code's bound adds only its own "
                "h(c_j) = ln(high - low).", partial(_per_code, entropy="all")),
        Mistake("a squared error was used instead of the Gaussian log-likelihood (the -log(sigma) and "
                "-ln(2 pi)/2 terms are missing).", partial(_per_code, squared_error=True)),
        Mistake("it sums over the batch instead of averaging over the images.", partial(_per_code, reduce="sum")),
    ]
    return Exercise(_per_code, cases, mistakes)


def check_per_code_info(fn: Callable[[QOutput, Codes, LatentSpec], Tensor]) -> CheckResult:
    """Check ``fn(q, codes, spec) -> (n_continuous,)``: E[log Q(c_j | x)] + h(c_j) for each continuous code."""
    return check_against(fn, _per_code_info_exercise())


# -- exercise: G's objective with the weight lambda --------------------------------------

def _generator_objective(fake_logit: Tensor, q: QOutput, codes: Codes, spec: LatentSpec, lambda_cat: float,
                         lambda_cont: float, *, info_sign: float = 1.0, saturating: bool = False,
                         with_entropy: bool = False, lambda_on_adversarial: bool = False) -> Tensor:
    """-E[log D(G(z,c))] - lambda_cat E[log Q(c_cat|x)] - lambda_cont E[log Q(c_cont|x)], with mistake switches."""
    adversarial = -F.softplus(fake_logit).mean() if saturating else generator_loss(fake_logit)
    info = info_loss(q, codes, spec, lambda_cat, lambda_cont)
    if with_entropy:
        info = info - lambda_cat * spec.categorical_entropy() - lambda_cont * spec.continuous_entropy()
    if lambda_on_adversarial:
        return lambda_cat * adversarial + info_loss(q, codes, spec, 1.0, 1.0)
    return adversarial + info_sign * info


def _generator_objective_exercise() -> Exercise:
    def case(lambda_cat: float, lambda_cont: float, seed: int, n: int = 6) -> Callable[[], tuple]:
        def make() -> tuple:
            return (torch.randn(n, generator=_rng(seed)), _q_output(PAPER_SPEC, n, seed + 1),
                    PAPER_SPEC.sample(n, _rng(seed + 2)), PAPER_SPEC, lambda_cat, lambda_cont)
        return make

    cases = [Case("lambda_cat = 2, lambda_cont = 0.5", case(2.0, 0.5, 72)),
             Case("the paper's weights lambda_cat = 1, lambda_cont = 0.1", case(1.0, 0.1, 71)),
             Case("lambda_cat = lambda_cont = 0 (a plain GAN's G loss)", case(0.0, 0.0, 73))]
    mistakes = [
        Mistake("the information term has the wrong sign: G must *increase* E[log Q(c|x)], so its loss "
                "subtracts lambda E[log Q] (adds lambda times the information loss). With +lambda E[log Q], "
                "G would learn to hide c.", partial(_generator_objective, info_sign=-1.0)),
        Mistake("it uses the saturating loss E[log(1 - D(G(z,c)))]; InfoGAN, like DCGAN, trains G with the "
                "non-saturating -E[log D(G(z,c))] (generator_loss).", partial(_generator_objective, saturating=True)),
        Mistake("lambda_cat and lambda_cont are swapped: lambda_cat weights the categorical codes.",
                lambda fl, q, codes, spec, lc, lk: _generator_objective(fl, q, codes, spec, lk, lc)),
        Mistake("lambda is ignored: the information terms must be multiplied by lambda_cat and lambda_cont.",
                lambda fl, q, codes, spec, lc, lk: _generator_objective(fl, q, codes, spec, 1.0, 1.0)),
        Mistake("lambda multiplies the adversarial loss instead of the information term.",
                partial(_generator_objective, lambda_on_adversarial=True)),
        Mistake("the value is off by exactly lambda * H(c): it subtracts lambda L_I = lambda (E[log Q] + H(c)). "
                "H(c) is a constant, so the gradient is the same, but the loss the book logs (train_step) "
                "leaves H(c) out: use -lambda E[log Q(c|x)].", partial(_generator_objective, with_entropy=True)),
    ]

    def reference(fake_logit: Tensor, q: QOutput, codes: Codes, spec: LatentSpec, lambda_cat: float,
                  lambda_cont: float) -> Tensor:
        return generator_loss(fake_logit) + info_loss(q, codes, spec, lambda_cat, lambda_cont)

    return Exercise(reference, cases, mistakes)


def check_generator_objective(fn: Callable[..., Tensor]) -> CheckResult:
    """Check ``fn(fake_logit, q, codes, spec, lambda_cat, lambda_cont) -> G's loss`` (a scalar)."""
    return check_against(fn, _generator_objective_exercise())


# -- exercise: the plain-GAN control's Q loss (where the gradient flows) --------------------

def _small_discriminator(spec: LatentSpec, seed: int) -> Discriminator:
    """A fixed D for the gradient-flow cases; its big 6272 x 1024 weight is frozen to keep the check fast
    (gradients still flow *through* it, so whether they reach the body shows in the conv layers)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        d = Discriminator(spec)
        init_weights(d)
    big = max((m for m in d.body if isinstance(m, torch.nn.Linear)), key=lambda m: m.weight.numel())
    big.weight.requires_grad_(False)
    return d


def _gradient_flow(fn: Callable[..., Any], args: tuple) -> Any:
    """Run fn(D, fake, codes, spec), backpropagate, and record the loss and which parts got a gradient."""
    D, fake, codes, spec = args
    out = fn(D, fake, codes, spec)
    if not isinstance(out, Tensor) or out.dim() != 0:
        return out
    if out.requires_grad:
        out.backward()

    def reached(params: Any) -> bool:
        return any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in params)

    flags = (fake.grad is not None and bool(fake.grad.abs().sum() > 0), reached(D.body.parameters()),
             reached(D.q_head.parameters()), reached(D.d_head.parameters()))
    return out.detach(), torch.tensor(flags, dtype=torch.float64)


def _flow_diagnosis(got: Any, args: tuple) -> str | None:
    """Say where the gradient went, or that the value differs from info_loss, when no known mistake matched."""
    if not (isinstance(got, tuple) and len(got) == 2):
        return "it should return one number, the loss info_loss(q, codes, spec) (a 0-d tensor)."
    reached = [part for part, flag in zip(("G's images", "D's shared body", "Q's head", "D's real/fake head"),
                                          got[1].tolist()) if flag]
    if reached != ["Q's head"]:
        return (f"the gradient reaches {', '.join(reached) or 'nothing'}; in the control it must reach "
                "Q's head only.")
    return ("the gradient flows to the right place, but the value differs from info_loss(q, codes, spec) "
            "with Q's output on the detached features.")


def _control_loss(D: Discriminator, fake: Tensor, codes: Codes, spec: LatentSpec, *,
                  detach_features: bool = True, detach_images: bool = False, no_grad: bool = False) -> Tensor:
    """Q's loss in the plain-GAN control: Q's head fitted on detached features of G's images."""
    x = fake.detach() if detach_images else fake
    h = D.features(x)
    h = h.detach() if detach_features else h
    q = D.q_from_features(h)
    if no_grad:
        q = QOutput([t.detach() for t in q.logits], q.mean.detach(), q.log_std.detach())
    return info_loss(q, codes, spec)


def _control_info_loss_exercise() -> Exercise:
    def case(spec: LatentSpec, n: int, seed: int) -> Callable[[], tuple]:
        d = _small_discriminator(spec, seed)  # built once; every run gets a fresh copy

        def make() -> tuple:
            fake = torch.tanh(torch.randn(n, 1, 28, 28, generator=_rng(seed))).requires_grad_()
            return copy.deepcopy(d), fake, spec.sample(n, _rng(seed + 1)), spec
        return make

    cases = [Case("the paper's spec, 4 images", case(PAPER_SPEC, 4, 81)),
             Case("a 10-way code only, 3 images", case(LatentSpec(noise_dim=4, n_continuous=0), 3, 82))]
    mistakes = [
        Mistake("the gradient reaches G's images and D's shared body: this is InfoGAN's information term, "
                "not the control. Detach D's features before Q's head (D.features(fake).detach()), so only "
                "Q's head learns.", partial(_control_loss, detach_features=False)),
        Mistake("the gradient reaches D's shared body: detaching the images stops it at G, but the control must "
                "also keep D's features free of c. Detach the features, not (only) the images.",
                partial(_control_loss, detach_features=False, detach_images=True)),
        Mistake("no gradient reaches Q's head (everything was detached or computed under torch.no_grad()): "
                "the control's Q could never learn to read c. Detach only the features, then apply Q's head.",
                partial(_control_loss, no_grad=True)),
    ]
    return Exercise(_control_loss, cases, mistakes, _gradient_flow, _flow_diagnosis)


def check_control_info_loss(fn: Callable[[Discriminator, Tensor, Codes, LatentSpec], Tensor]) -> CheckResult:
    """Check ``fn(D, fake, codes, spec) -> loss``: info_loss of Q on G's images, gradient reaching Q's head only."""
    return check_against(fn, _control_info_loss_exercise())


# -- exercise: per-class accuracy from a confusion matrix --------------------------------

def _per_class(confusion: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """Row r: the fraction of images of true class r that c1 put in class r's category."""
    m = np.asarray(confusion, dtype=np.float64)
    return np.diag(m) / m.sum(axis=axis)


def _per_class_accuracy_exercise() -> Exercise:
    def random_counts(seed: int, k: int) -> Callable[[], tuple]:
        def make() -> tuple:
            r = np.random.default_rng(seed)
            return (r.integers(0, 6, (k, k)) + np.diag(r.integers(1, 20, k)),)
        return make

    cases = [Case("a 3 x 3 confusion matrix", lambda: (np.array([[8, 1, 1], [0, 5, 5], [2, 0, 2]]),)),
             Case("a 10 x 10 confusion matrix", random_counts(91, 10))]
    mistakes = [
        Mistake("it divides by the column sums: that is the fraction of a matched category's images that "
                "are right (precision). Per-class accuracy divides by the number of images of each true "
                "class, the row sums (rows are true labels).", partial(_per_class, axis=0)),
        Mistake("it returns the overall accuracy for every class: divide each diagonal entry by its own row sum.",
                lambda m: np.full(len(m), np.trace(m) / np.sum(m))),
        Mistake("it returns counts (the diagonal); divide by the row sums to get fractions.",
                lambda m: np.diag(m).astype(np.float64)),
        Mistake("it returns the per-class error rate (1 - accuracy).", lambda m: 1.0 - _per_class(m)),
    ]
    return Exercise(_per_class, cases, mistakes)


def check_per_class_accuracy(fn: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Check ``fn(confusion) -> (K,)``: diagonal over row sums (rows are true classes, as in ClusterAccuracy)."""
    return check_against(fn, _per_class_accuracy_exercise())


# -- exercise: invariant information between a real digit and its moved copy ---------------

def _invariant_info(p: Tensor, p_moved: Tensor, *, symmetric: bool = True, normalise: bool = True,
                    marginals: str = "both", base: float = math.e, clamp: bool = True) -> Tensor:
    """I(ĉ; ĉ') of the batch's joint P = p^T p' / N (made symmetric), with switches for typical mistakes."""
    joint = p.T @ p_moved
    joint = joint / p.shape[0] if normalise else joint
    joint = (joint + joint.T) / 2 if symmetric else joint
    joint = joint.clamp_min(1e-12) if clamp else joint
    rows, cols = joint.sum(dim=1), joint.sum(dim=0)
    other = {"both": cols, "rows": rows}[marginals]
    return (joint * (joint.log() - rows.log()[:, None] - other.log()[None, :])).sum() / math.log(base)


def _invariant_information_exercise() -> Exercise:
    def soft(seed: int, n: int, k: int, sharpness: float) -> Callable[[], tuple]:
        def make() -> tuple:
            g = _rng(seed)
            logits = sharpness * torch.randn(n, k, generator=g)
            return (torch.softmax(logits, 1), torch.softmax(logits + torch.randn(n, k, generator=g), 1))
        return make

    def sure_and_balanced() -> tuple:
        p = torch.eye(4).repeat(3, 1)  # 12 images, each surely in one of 4 categories, kept by the move
        return (p, p.clone())

    cases = [Case("8 images, 4 categories", soft(71, 8, 4, 2.0)),
             Case("30 images, 10 categories", soft(72, 30, 10, 3.0)),
             Case("sure, balanced categories that survive the move", sure_and_balanced)]
    mistakes = [
        Mistake("P is not divided by the number of images: P = p^T p' / N is a joint distribution and sums to 1.",
                partial(_invariant_info, normalise=False)),
        Mistake("P is not made symmetric: the image and its moved copy play the same part, so use (P + P^T) / 2.",
                partial(_invariant_info, symmetric=False)),
        Mistake("the denominator uses the row sums twice: it is P_j P_k, row sum times column sum "
                "(equal once P is symmetric, so make it symmetric first).",
                partial(_invariant_info, symmetric=False, marginals="rows")),
        Mistake("it uses log base 2 (bits); the book measures information in nats (natural log).",
                partial(_invariant_info, base=2.0)),
        Mistake("wrong sign: return the information I itself (at least 0); the training loss is -lambda I.",
                lambda p, q: -_invariant_info(p, q)),
        Mistake("P has zero entries here, and 0 * log 0 gave nan; that term counts as 0: clamp P "
                "(e.g. P.clamp_min(1e-12)) before taking the log.", partial(_invariant_info, clamp=False)),
        Mistake("it measures agreement, the mean of sum_k p_k p'_k, not information: that is highest when "
                "every image falls into one category, which tells nothing about the image.",
                lambda p, q: (p * q).sum(1).mean()),
    ]
    return Exercise(_invariant_info, cases, mistakes)


def check_invariant_information(fn: Callable[[Tensor, Tensor], Tensor]) -> CheckResult:
    """Check ``fn(p, p_moved) -> I``: the information between the categories of images and of their moved copies."""
    return check_against(fn, _invariant_information_exercise())


__all__ = [
    "Case", "CheckResult", "Exercise", "ExerciseFailed", "Mistake", "check_against", "check_categorical_info_loss",
    "check_code_entropy", "check_control_info_loss", "check_gaussian_log_likelihood", "check_generator_objective",
    "check_invariant_information", "check_matched_accuracy", "check_mutual_info_bound", "check_per_class_accuracy",
    "check_per_code_info", "check_traversal_codes",
]
