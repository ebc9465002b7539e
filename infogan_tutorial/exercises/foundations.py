"""Chapter 8's exercises (the pieces of InfoGAN): the categorical information loss, the Gaussian
log-likelihood, H(c), the bound L_I, a traversal grid and Hungarian matching accuracy.

The book's notation: Q(c | x) is Q's guess of the codes c that generated x = G(z, c);
L_I(G, Q) = E[log Q(c | x)] + H(c); the loss G and Q minimise is -lambda E[log Q(c | x)].
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from functools import partial
from typing import Any, Callable, Sequence  # noqa: UP035 - the API page resolves typing's names

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..evaluation import categorical_accuracy, hungarian_accuracy
from ..latent_codes import Codes, LatentSpec
from .. import mutual_information
from ..networks import QOutput
from ..objectives import gaussian_log_likelihood, info_loss, info_lower_bound, log_q
from .engine import Case, CheckResult, Exercise, Mistake, SideEffect, check_against, module_functions, with_cases
from .inputs import (PAPER_SPEC, far_miss_case, float64_near_miss_case, float64_q_case, low_sigma_case,
                     off_float32_grid, q_case, q_output, seeded_rng)
from .probes import traversal_shares_no_memory

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


def _epsilon_loss(logits: Tensor, c: Tensor) -> Tensor:
    return -torch.log(logits.softmax(1) + 1e-8).gather(1, c[:, None]).mean()


def _batch_shift_loss(logits: Tensor, c: Tensor) -> Tensor:
    shifted = logits - logits.max()
    return -(shifted.gather(1, c[:, None]).squeeze(1) - shifted.exp().sum(1).log()).mean()


def _unshifted_loss(logits: Tensor, c: Tensor) -> Tensor:
    e = logits.exp()
    return -(e.gather(1, c[:, None]).squeeze(1) / e.sum(1)).log().mean()


def _many_values() -> tuple:
    """(c, mean, log_std) of shape (5000, 3): log_std 100, -30 and 0 by column, c - mean of about 1e15, 1e-3 and 1."""
    g = seeded_rng(25)
    mean = torch.randn(5000, 3, generator=g)
    scale = torch.tensor([1e15, 1e-3, 1.0])
    return mean + scale * torch.randn(5000, 3, generator=g), mean, torch.tensor([100.0, -30.0, 0.0]).expand(5000, 3).clone()


def _categorical_info_loss_exercise() -> Exercise:
    def uniform() -> tuple:
        return torch.zeros(4, 10), torch.tensor([0, 3, 9, 3])

    def random_case() -> tuple:
        g = seeded_rng(11)
        return 3 * torch.randn(6, 5, generator=g), torch.randint(5, (6,), generator=g)

    def confident() -> tuple:
        c = torch.tensor([1, 0, 2])
        return 8 * F.one_hot(c, 3).float() - 4, c

    def unbalanced() -> tuple:
        g = seeded_rng(12)
        return torch.randn(7, 3, generator=g), torch.tensor([2, 2, 2, 2, 0, 2, 1])

    def huge() -> tuple:
        return torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0], [-5.0, 995.0, 0.0]]), \
            torch.tensor([0, 1, 2])

    def one_sure_row() -> tuple:
        return torch.tensor([[1000.0, 0.0, -1000.0], [0.5, -1.0, 2.0], [0.0, 0.0, 0.0]]), torch.tensor([2, 0, 1])

    def single() -> tuple:
        return torch.tensor([[3.5]]), torch.tensor([0])

    def all_negative() -> tuple:  # a shift by max(row max, 0) leaves exp(-1000) = 0 here: log 0
        return torch.tensor([[-1000.0, -1001.0, -2000.0], [0.5, -0.3, 1.0]]), torch.tensor([0, 2])

    def blind_then_sure() -> tuple:
        logits = torch.zeros(3, 10)
        logits[1, 4], logits[2, 7] = 30.0, -30.0
        return logits, torch.tensor([5, 4, 2])

    def float64() -> tuple:
        g = seeded_rng(13)
        return 4 * torch.randn(5, 2, generator=g, dtype=torch.float64), torch.tensor([1, 0, 0, 1, 1])

    cases = [Case("random logits (6 images, 5 categories)", random_case),
             Case("all-zero logits, i.e. a uniform Q (the answer is ln 10)", uniform),
             Case("confident, correct logits", confident),
             Case("7 images, 3 categories, most of them category 2", unbalanced),
             Case("logits in the thousands (rows 1000, 0, -1000 and -5, 995, 0; true categories 0, 1, 2)", huge),
             Case("one very sure row (1000, 0, -1000; true category 2) beside two ordinary rows", one_sure_row),
             Case("a row of only very negative logits (-1000, -1001, -2000; true category 0) beside an ordinary row",
                  all_negative),
             Case("one image and one category (the answer is 0)", single),
             Case("10 categories: a blind first row (all logits 0), then a sure row and one sure what it is not",
                  blind_then_sure),
             Case("a large batch: 200 images, 30 categories, logits in the hundreds", lambda: (
                 100 * torch.randn(200, 30, generator=seeded_rng(14)), torch.randint(30, (200,), generator=seeded_rng(15)))),
             Case("float64 logits, 5 images, 2 categories", float64),
             Case("logits 60,000 apart (rows 0, 60000 and 60000, 0; true category 0: losses 60,000 and 0)",
                  lambda: (torch.tensor([[0.0, 60000.0], [60000.0, 0.0]]), torch.tensor([0, 0]))),
             Case("the largest sizes the statements name: 64 images, 1,000 categories, logits in the hundreds",
                  lambda: (300 * torch.randn(64, 1000, generator=seeded_rng(16)),
                           torch.randint(1000, (64,), generator=seeded_rng(17)))),
             Case("a batch of 5,000 images, 4 categories, logits in the thousands", lambda: (
                 3000 * torch.randn(5000, 4, generator=seeded_rng(18)), torch.randint(4, (5000,), generator=seeded_rng(19))))]
    mistakes = [
        Mistake("softmax was applied before the cross-entropy. F.cross_entropy takes raw logits and applies "
                "log-softmax itself; feeding it probabilities squashes the loss towards ln K.",
                partial(_categorical_loss, softmax_first=True)),
        Mistake("wrong sign: this is E[log Q(c|x)], which is <= 0. The loss to minimise is its negative.",
                partial(_categorical_loss, sign=-1.0)),
        Mistake("it sums over the batch instead of averaging: the expectation E[...] is a mean over the "
                "images, so the loss must not grow with the batch size.", partial(_categorical_loss, reduce="sum")),
        Mistake("log base 2 (bits) instead of the natural log (nats): use torch.log (or F.log_softmax / "
                "F.cross_entropy), so the loss is comparable with H(c) = ln 10.", partial(_categorical_loss, base=2.0)),
        Mistake("it picks the raw logit of the true category without normalising: log Q(c|x) is the "
                "log-softmax of the logits (F.log_softmax or F.cross_entropy), not the logit itself.",
                partial(_categorical_loss, raw_logits=True)),
        Mistake("wrong shape: it returns one loss per image. Average over the batch to return one number.",
                partial(_categorical_loss, reduce="none")),
        Mistake("it takes log(softmax + a small epsilon): where Q is very sure the true category's probability "
                "is below the epsilon, so the loss is capped near -log(epsilon) instead of growing with the "
                "logit gap. Use the log-softmax itself (shift each row by its largest logit), with no epsilon.",
                _epsilon_loss),
        Mistake("it shifts the logits by the largest logit of the whole batch instead of each row's: a row whose "
                "logits all lie far below the batch's maximum underflows to exp(...) = 0, and log 0 = -inf. "
                "Take the max over dim 1 with keepdim=True.", _batch_shift_loss),
        Mistake("the logits are exponentiated without a shift: exp(1000) overflows to inf in float32 and "
                "inf / inf is nan. Subtract each row's largest logit before exp (log-sum-exp).", _unshifted_loss),
        Mistake("the log-softmax is taken over the batch (dim 0) instead of over each row's categories (dim 1): "
                "each image's K log-probabilities must be normalised among themselves.",
                lambda logits, c: -F.log_softmax(logits, 0).gather(1, c[:, None]).mean()),
        Mistake("it averages over all N x K entries of a one-hot-masked table instead of over the N images: "
                "the result is K times too small. Pick each image's true-category entry, then average over N.",
                lambda logits, c: -(F.log_softmax(logits, 1) * F.one_hot(c, logits.shape[1])).mean()),
    ]
    return Exercise(_categorical_loss, cases, mistakes, arg_names=("logits", "c"), gradients="required",
                    grad_args=("logits",), forbidden={log_q: "the package's log_q", info_loss: "the package's info_loss"})


def check_categorical_info_loss(fn: Callable[[Tensor, Tensor], Tensor], *, graded: bool = False,
                                cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(logits, c) -> -E[log Q(c | x)]`` (a scalar) from logits (N, K) and category indices (N,).

    A loss: its gradient with respect to the logits must be right too. ``graded=True`` raises on a wrong
    answer (autograder); ``cases`` replaces the table's cases (hidden tests).
    """
    return check_against(fn, with_cases(_categorical_info_loss_exercise(), cases), graded=graded)


# -- exercise: the Gaussian log-likelihood of a continuous code ----------------------------

def gaussian_ll(c: Tensor, mean: Tensor, log_std: Tensor, *, log_std_term: bool = True, const_term: bool = True,
                 variance: bool = False, sign: float = 1.0, base: float = math.e) -> Tensor:
    """log N(c; mean, exp(log_std)^2) elementwise, with switches that produce typical mistakes."""
    log_sigma = 0.5 * log_std if variance else log_std
    ll = -0.5 * ((c - mean) * torch.exp(-log_sigma)) ** 2
    ll = ll - log_sigma if log_std_term else ll
    ll = ll - 0.5 * math.log(2 * math.pi) if const_term else ll
    return sign * ll / math.log(base)


def _sigma_first_ll(c: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    sigma = torch.exp(log_std)
    return -0.5 * math.log(2 * math.pi) - torch.log(sigma) - 0.5 * ((c - mean) / sigma) ** 2


def _gaussian_log_likelihood_exercise() -> Exercise:
    def random_case(seed: int, shape: tuple[int, ...]) -> Callable[[], tuple]:
        def make() -> tuple:
            g = seeded_rng(seed)
            c = 2 * torch.rand(shape, generator=g) - 1
            return c, torch.randn(shape, generator=g), 0.7 * torch.randn(shape, generator=g)
        return make

    cases = [Case("a single float64 value",  # first: an answer that keeps a constant of its first call's dtype shows
                  lambda: (torch.tensor([0.3], dtype=torch.float64), torch.tensor([-0.4], dtype=torch.float64),
                           torch.tensor([-1.2], dtype=torch.float64))),
             Case("a batch of 5 images with 2 continuous codes", random_case(21, (5, 2))),
             Case("float64 at log_std = 100 with c - mean = 1e40 (sigma = exp(100): a clamp of log_std shows)",
                  lambda: (torch.tensor([1e40, -1e40], dtype=torch.float64), torch.zeros(2, dtype=torch.float64),
                           torch.full((2,), 100.0, dtype=torch.float64))),
             Case("0-d float32 tensors (one value each)",
                  lambda: (torch.tensor(0.3), torch.tensor(-0.2), torch.tensor(0.4))),
             Case("a batch of 3 images with 3 continuous codes", random_case(22, (3, 3))),
             Case("c = mean with sigma = 1 (the answer is -ln(2 pi)/2 = -0.919)",
                  lambda: (torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2))),
             Case("a batch of 4 images with 1 continuous code", random_case(23, (4, 1))),
             Case("a 3-d batch of shape (2, 3, 2)", random_case(24, (2, 3, 2))),
             Case("a tiny sigma (log_std = -3 and -7) with errors c - mean of 0.5 and 0.01",
                  lambda: (torch.tensor([[0.5, 0.01], [0.5, 0.01]]), torch.zeros(2, 2),
                           torch.tensor([[-3.0, -3.0], [-7.0, -7.0]]))),
             Case("a large sigma (log_std = 4 and 8) and a far miss (c - mean = 60 with sigma = 1)",
                  lambda: (torch.tensor([1.0, -1.0, 60.0]), torch.tensor([0.2, 0.5, 0.0]),
                           torch.tensor([4.0, 8.0, 0.0]))),
             Case("a huge sigma (log_std = 100, where sigma = exp(100) overflows float32) and log_std = 30",
                  lambda: (torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, 0.3, 2.0]),
                           torch.tensor([100.0, 100.0, 30.0]))),
             Case("the low end of the stated range, log_std = -30 (sigma = 9.4e-14), with c - mean = 0, 1e-3 "
                  "and -1e-3",
                  lambda: (torch.tensor([0.2, 0.201, -0.501]), torch.tensor([0.2, 0.2, -0.5]),
                           torch.full((3,), -30.0))),
             Case("float64 at log_std = -30 with c - mean = 0, 1e-9 and -3e-9 (misses float32 cannot hold: c and the "
                  "mean round to one float32 number)",
                  lambda: (torch.tensor([0.2, 0.2 + 1e-9, -0.5 - 3e-9], dtype=torch.float64),
                           torch.tensor([0.2, 0.2, -0.5], dtype=torch.float64), torch.full((3,), -30.0, dtype=torch.float64))),
             Case("a large float64 batch (100 images, 2 codes) at log_std = -30 with misses of 1e-9", lambda: (
                 torch.full((100, 2), 0.2 + 1e-9, dtype=torch.float64), torch.full((100, 2), 0.2, dtype=torch.float64),
                 torch.full((100, 2), -30.0, dtype=torch.float64))),
             Case("a batch of 5,000 images with 3 codes, log_std 100, -30 and 0 in turn", _many_values)]
    mistakes = [
        Mistake("this is a (scaled) squared error, not the log-likelihood: it lacks the -log(sigma) and "
                "-ln(2 pi)/2 terms. Without -log(sigma), Q could make every code look likely by growing sigma.",
                partial(gaussian_ll, log_std_term=False, const_term=False)),
        Mistake("this is a plain negative squared error -(c - mean)^2: the log-likelihood divides by 2 sigma^2 "
                "and has the normalising terms -log(sigma) - ln(2 pi)/2.",
                lambda c, mean, log_std: -(c - mean) ** 2),
        Mistake("the -log(sigma) term is missing (the density's normaliser 1/sigma).",
                partial(gaussian_ll, log_std_term=False)),
        Mistake("the constant -ln(2 pi)/2 (about -0.919 per code) is missing.",
                partial(gaussian_ll, const_term=False)),
        Mistake("log_std was used as the log of the variance; it is the log of the standard deviation "
                "sigma, so sigma = exp(log_std) and the variance is exp(2 log_std).",
                partial(gaussian_ll, variance=True)),
        Mistake("wrong sign: this is the negative log-likelihood (a loss); the function should return log N.",
                partial(gaussian_ll, sign=-1.0)),
        Mistake("log base 2 instead of the natural log: use math.log / torch.log so the result is in nats.",
                partial(gaussian_ll, base=2.0)),
        Mistake("wrong shape: it adds up the codes (or the batch). Return one value per element, "
                "with the same shape as c.", lambda c, mean, log_std: gaussian_ll(c, mean, log_std).sum(-1)),
        Mistake("it takes the log of the density itself: for a tiny sigma or a far miss the density underflows "
                "to 0 and its log is -inf. Take the logarithm by hand, as three terms that stay finite.",
                lambda c, mean, log_std: torch.log(torch.exp(-0.5 * ((c - mean) / log_std.exp()) ** 2)
                                                   / (math.sqrt(2 * math.pi) * log_std.exp()))),
        Mistake("it computes sigma = exp(log_std) and then takes its log (or that of sigma^2): for log_std = 100, "
                "exp(100) overflows float32 to inf, so log(sigma) is inf. log(sigma) is log_std itself; write "
                "(c - mean) / sigma as (c - mean) * exp(-log_std).", _sigma_first_ll),
        Mistake("the constant is -ln(2 pi); the density's 1/sqrt(2 pi) gives -ln(2 pi)/2 (about -0.919).",
                lambda c, mean, log_std: gaussian_ll(c, mean, log_std) - 0.5 * math.log(2 * math.pi)),
        Mistake("the squared term lacks its 1/2: the exponent of the density is -(c - mean)^2 / (2 sigma^2).",
                lambda c, mean, log_std: gaussian_ll(c, mean, log_std, const_term=True)
                - 0.5 * ((c - mean) * torch.exp(-log_std)) ** 2),
        Mistake("the sign of the log(sigma) term is flipped: the normaliser 1/sigma gives -log(sigma) = -log_std.",
                lambda c, mean, log_std: gaussian_ll(c, mean, log_std) + 2 * log_std),
    ]
    return Exercise(gaussian_ll, cases, mistakes, arg_names=("c", "mean", "log_std"),
                    forbidden={gaussian_log_likelihood: "the package's gaussian_log_likelihood"}, gradients="required",
                    grad_args=("mean", "log_std"))


def check_gaussian_log_likelihood(fn: Callable[[Tensor, Tensor, Tensor], Tensor], *, graded: bool = False,
                                  cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(c, mean, log_std) -> log N(c; mean, exp(log_std)^2)``, elementwise (same shape as c)."""
    return check_against(fn, with_cases(_gaussian_log_likelihood_exercise(), cases), graded=graded)


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


def _entropy_of_wrapped_product(spec: LatentSpec) -> float:
    """ln of the K's product in int64 (wrapped past 2^63) plus the continuous codes' part: a known slip."""
    with np.errstate(over="ignore"):
        product = int(np.prod(np.array(spec.categorical or (1,), dtype=np.int64)))
    if product <= 0:
        raise ValueError("the wrapped product is not positive: no value to compare")
    return math.log(product) + _entropy(dataclasses.replace(spec, categorical=()))


def _code_entropy_exercise() -> Exercise:
    specs = [("the paper's spec (one 10-way code, two codes on (-1, 1))", PAPER_SPEC),
             ("two categorical codes (10 and 4 ways) and one code on (0, 3)",
              LatentSpec(noise_dim=8, categorical=(10, 4), n_continuous=1, continuous_range=(0.0, 3.0))),
             ("one 10-way code and no continuous codes", LatentSpec(n_continuous=0)),
             ("three codes on (0, 0.5) and no categorical code (the answer is negative)",
              LatentSpec(noise_dim=8, categorical=(), n_continuous=3, continuous_range=(0.0, 0.5))),
             ("three categorical codes (3, 7, 2) and two codes on (-3, 0.5)",
              LatentSpec(noise_dim=8, categorical=(3, 7, 2), n_continuous=2, continuous_range=(-3.0, 0.5))),
             ("a 5-way code and three codes on (0.5, 2), a range without 0",
              LatentSpec(noise_dim=8, categorical=(5,), n_continuous=3, continuous_range=(0.5, 2.0))),
             ("no categorical code and two codes on (-4, -1.5), a negative range",
              LatentSpec(noise_dim=8, categorical=(), n_continuous=2, continuous_range=(-4.0, -1.5))),
             ("a 2-way code and one code on (2, 2.25) (the answer is ln 2 + ln 0.25 = -0.693)",
              LatentSpec(noise_dim=8, categorical=(2,), n_continuous=1, continuous_range=(2.0, 2.25))),
             ("two 10-way codes (the same K twice) and one code on (-1, 1)",
              LatentSpec(noise_dim=8, categorical=(10, 10), n_continuous=1)),
             ("the paper's codes on (0, 5) instead of (-1, 1)", LatentSpec(continuous_range=(0.0, 5.0))),
             ("a 10-way code and five codes on (-1, 1)", LatentSpec(n_continuous=5)),
             ("one code on the narrow range (0, 1e-6) (the answer is ln 1e-6 = -13.8)",
              LatentSpec(noise_dim=8, categorical=(), n_continuous=1, continuous_range=(0.0, 1e-6))),
             ("one code on (1, 1.000001), a width float32 cannot hold (the answer is ln(1e-6) = -13.8155)",
              LatentSpec(noise_dim=8, categorical=(), n_continuous=1, continuous_range=(1.0, 1.000001))),
             ("one code on (1e8, 1e8 + 1), ends float32 rounds to one number (the answer is ln 1 = 0)",
              LatentSpec(noise_dim=8, categorical=(), n_continuous=1, continuous_range=(1e8, 1e8 + 1))),
             ("a 3-way code and two codes on (0, 1e-300), a width below float32's smallest number",
              LatentSpec(noise_dim=8, categorical=(3,), n_continuous=2, continuous_range=(0.0, 1e-300))),
             ("ten 10-way codes (the product of the K's, 1e10, overflows a 32-bit integer)",
              LatentSpec(noise_dim=8, categorical=(10,) * 10, n_continuous=0)),
             ("twenty 10-way codes and one code on (-1, 1) (the product of the K's, 1e20, overflows a 64-bit "
              "integer)", LatentSpec(noise_dim=8, categorical=(10,) * 20, n_continuous=1))]
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
        Mistake("it takes the absolute value |ln(high - low)|: the differential entropy of a code on a range "
                "shorter than 1 is negative, and that sign must stay.",
                lambda spec: sum(math.log(k) for k in spec.categorical)
                + spec.n_continuous * abs(math.log(spec.continuous_range[1] - spec.continuous_range[0]))),
        Mistake("the width of the range is taken as |low| + |high|: that equals high - low only when the range "
                "contains 0. Use high - low.",
                lambda spec: sum(math.log(k) for k in spec.categorical)
                + spec.n_continuous * math.log(abs(spec.continuous_range[0]) + abs(spec.continuous_range[1]))),
        Mistake("log base 10 instead of the natural log: use math.log, so H(c) is in nats.",
                partial(_entropy, base=10.0)),
        Mistake("it takes the log of the product of the K's, which a fixed-width integer cannot hold here "
                "(np.prod wraps past 9.2e18 in int64, past 2.1e9 in int32): add the logs instead, the sum of ln K.",
                _entropy_of_wrapped_product),
    ]
    forbidden = {LatentSpec.entropy: "spec.entropy()", LatentSpec.categorical_entropy: "spec.categorical_entropy()",
                 LatentSpec.continuous_entropy: "spec.continuous_entropy()", **module_functions(mutual_information)}
    return Exercise(_entropy, cases, mistakes, probe=_float64_number, arg_names=("spec",), forbidden=forbidden)


def _type_name(x: Any) -> str:
    kind = type(x)
    return f"a {kind.__module__ + '.' if kind.__module__ not in ('builtins',) else ''}{kind.__qualname__}"


def _float64_number(fn: Callable[..., Any], args: tuple) -> Any:
    """The result, where a NumPy number narrower than float64 is refused: H(c) is added to float64 sums (the bound
    of float64 inputs), which a float32 H(c) would round. A Python or NumPy float64 number is compared as a float64
    scalar tensor, so to float64's accuracy: a value rounded to 6 decimals, or summed in float32, fails here, as it
    would fail the bound that adds it."""
    out = fn(*args)
    if isinstance(out, float) and type(out) is not float:  # a float subclass: its value, not its own arithmetic
        out = float.__float__(out)
    if isinstance(out, np.floating) and not isinstance(out, np.float64):
        raise SideEffect(f"it returned a NumPy {out.dtype} number; return a Python float (math.log, sum) or a NumPy "
                         "float64: the bound adds H(c) to float64 sums, which a narrower number would round.")
    if isinstance(out, numbers.Integral) and not isinstance(out, (bool, np.bool_)):
        out = float(out)  # sum([]) of a spec without codes is the int 0
    if not isinstance(out, float):  # np.float64 is a float too
        raise SideEffect(f"it returned {_type_name(out)}; the answer is a float: a Python float (math.log, sum) or a "
                         "NumPy float64" + (", not a tensor (take .item() of a float64 tensor)"
                                            if isinstance(out, torch.Tensor) else "") + ".")
    return torch.tensor(float(out), dtype=torch.float64)


def check_code_entropy(fn: Callable[[LatentSpec], float], *, graded: bool = False,
                       cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(spec) -> H(c)`` in nats: the sum of ln K over categorical codes plus n ln(high - low)."""
    return check_against(fn, with_cases(_code_entropy_exercise(), cases), graded=graded)


# -- exercise: L_I from Q's output -------------------------------------------------------

def _info_bound(q: QOutput, codes: Codes, spec: LatentSpec, *, entropy: bool = True, sign: float = 1.0,
                reduce: str = "mean", softmax_first: bool = False, squared_error: bool = False,
                continuous: bool = True, sigma_first: bool = False, cat_sign: float = 1.0) -> Tensor:
    """L_I = E[log Q(c | x)] + H(c) over all codes, with switches that produce typical mistakes."""
    per_example = q.mean.new_zeros(len(codes))  # in Q's dtype, also for a spec without codes
    for i, logits in enumerate(q.logits):
        per_example = per_example - cat_sign * _categorical_loss(logits, codes.categorical[:, i],
                                                      softmax_first=softmax_first, reduce="none")
    if continuous and spec.n_continuous:
        ll = _sigma_first_ll(codes.continuous, q.mean, q.log_std) if sigma_first else gaussian_ll(
            codes.continuous, q.mean, q.log_std, log_std_term=not squared_error, const_term=not squared_error)
        per_example = per_example + ll.sum(1)
    log_q = per_example.mean() if reduce == "mean" else per_example.sum()
    h = _entropy(spec, continuous=continuous) if entropy else 0.0
    return sign * (log_q + h)


_NO_CAT = LatentSpec(noise_dim=4, categorical=(), n_continuous=2)


def _sure_q(q: QOutput, codes: Codes) -> QOutput:
    """A very sure Q: logits hundreds apart (past 709, where even float64's exp overflows), sigma = exp(-6),
    means off by 0.01 or by 0.5 (a far miss)."""
    miss = torch.where(torch.arange(q.mean.numel()).reshape(q.mean.shape) % 2 == 0, 0.01, 0.5)
    return QOutput([400 * t for t in q.logits], codes.continuous + miss * q.mean.sign(),
                   torch.full_like(q.log_std, -6.0))


def _sure_q_case(spec: LatentSpec, n: int, seed: int) -> Callable[[], tuple]:
    """Arguments (q, codes, spec) where Q is very sure (see :func:`_sure_q`)."""
    def make() -> tuple:
        codes = spec.sample(n, seeded_rng(seed + 1))
        return _sure_q(q_output(spec, n, seed), codes), codes, spec
    return make


def huge_sigma_q(spec: LatentSpec, n: int, seed: int) -> QOutput:
    """Q's output with log_std = 100 (sigma = exp(100) overflows float32) and 30 in turn, the rest as usual."""
    q = q_output(spec, n, seed)
    log_std = torch.where(torch.arange(q.log_std.numel()).reshape(q.log_std.shape) % 2 == 0, 100.0, 30.0)
    return QOutput(q.logits, q.mean, log_std)


def huge_sigma_case(name: str, spec: LatentSpec, n: int, seed: int) -> Case:
    """A case of arguments (q, codes, spec) where Q's log_std is 100 and 30 (see :func:`huge_sigma_q`)."""
    return Case(name, lambda: (huge_sigma_q(spec, n, seed), spec.sample(n, seeded_rng(seed + 1)), spec))


_SIGMA_FIRST = ("it computes sigma = exp(log_std) and divides by it or takes its log (torch.distributions.Normal("
                "mean, log_std.exp()) does both): for log_std = 100, exp(100) overflows float32 to inf, so the "
                "result is -inf or its gradient nan. Never form sigma: log(sigma) is log_std itself, and (c - mean) "
                "/ sigma is (c - mean) * exp(-log_std)")


def _mutual_info_bound_exercise() -> Exercise:
    cases = [q_case("the paper's spec, 6 images", PAPER_SPEC, 6, 31),
             q_case("the paper's spec, 6 other images", PAPER_SPEC, 6, 131),
             q_case("two categorical codes (10, 3), four continuous codes, 128 images",
                     LatentSpec(noise_dim=4, categorical=(10, 3), n_continuous=4), 128, 132),
             q_case("two categorical codes (10, 3) and one continuous code, 5 images",
                     LatentSpec(noise_dim=4, categorical=(10, 3), n_continuous=1), 5, 32),
             q_case("a 10-way code only, 4 images", LatentSpec(noise_dim=4, n_continuous=0), 4, 33),
             q_case("three categorical codes (4, 4, 2) and three codes on (0, 3), 7 images",
                     LatentSpec(noise_dim=4, categorical=(4, 4, 2), n_continuous=3, continuous_range=(0.0, 3.0)),
                     7, 34),
             Case("a very sure Q (logits hundreds apart, log_std = -6, some means off by 0.5) on codes on "
                  "(0.25, 0.75), 3 images",
                  _sure_q_case(LatentSpec(noise_dim=4, categorical=(10,), n_continuous=2,
                                          continuous_range=(0.25, 0.75)), 3, 35)),
             Case("one image, two continuous codes and no categorical code",
                  lambda: (q_output(_NO_CAT, 1, 36), _NO_CAT.sample(1, seeded_rng(37)), _NO_CAT)),
             huge_sigma_case("a huge sigma (log_std = 100, where sigma = exp(100) overflows float32, and 30) for the "
                             "paper's spec, 4 images", PAPER_SPEC, 4, 38),
             low_sigma_case("the low end of the stated range, log_std = -30 (sigma = 9.4e-14), Q's means on the codes "
                            "or 1e-3 off, the paper's spec, 3 images", PAPER_SPEC, 3, 39),
             float64_q_case("Q's outputs and the codes in float64, the paper's spec, 4 images", PAPER_SPEC, 4, 30),
             float64_near_miss_case("float64 at log_std = -30, Q's means on the codes or 1e-9 and -3e-9 off (misses "
                                    "float32 cannot hold), the paper's spec, 3 images", PAPER_SPEC, 3, 29),
             q_case("an ordinary Q on two codes on (0.5, 2), a range without 0, 5 images",
                     LatentSpec(noise_dim=4, n_continuous=2, continuous_range=(0.5, 2.0)), 5, 40),
             q_case("an ordinary Q on the paper's codes on (0.25, 0.75), a range narrower than 1 (log(b - a) < 0), "
                    "5 images", LatentSpec(noise_dim=4, categorical=(10,), n_continuous=2,
                                           continuous_range=(0.25, 0.75)), 5, 27),
             q_case("two 10-way codes (each code's logits are its own), 6 images",
                    LatentSpec(noise_dim=4, categorical=(10, 10), n_continuous=1), 6, 26),
             far_miss_case("an unsure Q far off: log_std = 20 (sigma = 4.9e8) and means 1e6 from the codes, the "
                           "paper's spec, 3 images", PAPER_SPEC, 3, 25)]
    mistakes = [
        Mistake("H(c) is missing: this is E[log Q(c|x)] alone. The bound adds the entropy of the codes, "
                "L_I = E[log Q(c|x)] + H(c) (your code_entropy(spec)).", partial(_info_bound, entropy=False)),
        Mistake("this is the information loss -E[log Q(c|x)], not the bound: flip the sign and add H(c).",
                partial(_info_bound, entropy=False, sign=-1.0)),
        Mistake("wrong sign: it returns -L_I. The bound is E[log Q(c|x)] + H(c).", partial(_info_bound, sign=-1.0)),
        Mistake("the categorical part has the wrong sign: E[log Q(c1|x)] is minus the categorical information loss "
                "(a log-probability, <= 0), so subtract the loss; do not add it.", partial(_info_bound, cat_sign=-1.0)),
        Mistake("it sums log Q over the batch instead of averaging: E[log Q(c|x)] is a mean over the images.",
                partial(_info_bound, reduce="sum")),
        Mistake("softmax was applied before the cross-entropy: F.cross_entropy takes raw logits.",
                partial(_info_bound, softmax_first=True)),
        Mistake("the continuous codes use a squared error instead of the Gaussian log-likelihood (the "
                "-log(sigma) and -ln(2 pi)/2 terms are missing).", partial(_info_bound, squared_error=True)),
        Mistake("only the categorical codes are counted: add the continuous codes' log-likelihood "
                "and their entropy too.", partial(_info_bound, continuous=False)),
        Mistake(_SIGMA_FIRST + ", as in your gaussian_log_likelihood.", partial(_info_bound, sigma_first=True)),
    ]
    forbidden = {info_lower_bound: "the package's info_lower_bound", log_q: "the package's log_q",
                 info_loss: "the package's info_loss", gaussian_log_likelihood: "the package's gaussian_log_likelihood",
                 LatentSpec.entropy: "spec.entropy()", LatentSpec.categorical_entropy: "spec.categorical_entropy()",
                 LatentSpec.continuous_entropy: "spec.continuous_entropy()"}
    return Exercise(_info_bound, cases, mistakes, arg_names=("q", "codes", "spec"), forbidden=forbidden,
                    gradients="required", grad_args=("q",))


def check_mutual_info_bound(fn: Callable[[QOutput, Codes, LatentSpec], Tensor], *, graded: bool = False,
                            cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(q, codes, spec) -> L_I``, a scalar: E[log Q(c | x)] + H(c) over all codes."""
    return check_against(fn, with_cases(_mutual_info_bound_exercise(), cases), graded=graded)


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


def _in_float64(codes: Codes) -> Codes:
    return Codes(codes.z.double(), codes.categorical, codes.continuous.double())


def _with_first_category(codes: Codes, ids: list[int]) -> Codes:
    """``codes`` with the first categorical code set to ``ids``, one per row."""
    categorical = codes.categorical.clone()
    categorical[:, 0] = torch.tensor(ids)
    return Codes(codes.z, categorical, codes.continuous)


def _length(got: Codes) -> int | None:
    """How many inputs ``got`` holds, or None where its z has no length (None, a number)."""
    try:
        return len(got)
    except Exception:  # noqa: BLE001 - Codes(z=None, ...): said by _described
        return None


def _described(got: Any) -> str:
    """What the answer returned, in words: its type and, where it has one, its length."""
    try:
        if isinstance(got, Codes):
            return f"Codes of length {len(got)}"
        return f"a {type(got).__name__} of length {len(got)}" + (
            " (return Codes(z, categorical, continuous), not a tuple of its parts)" if isinstance(got, tuple) else "")
    except Exception:  # noqa: BLE001 - no length (Codes whose fields are not tensors, z=None, ...)
        fields = ", ".join(f"{part}={type(getattr(got, part, None)).__name__}" for part in
                           ("z", "categorical", "continuous")) if isinstance(got, Codes) else ""
        return f"Codes with {fields} (each part must be a tensor)" if fields else f"a {type(got).__name__}"


def _traversal_diagnosis(got: Any, args: tuple) -> str | None:
    """Name what changes within a row when no known mistake matched (e.g. freshly drawn noise)."""
    spec, base, code, values = args
    if not isinstance(got, Codes) or _length(got) != len(base) * len(values):
        return (f"it should return Codes with rows x steps = {len(base)} x {len(values)} = "
                f"{len(base) * len(values)} inputs, got {_described(got)}.")
    rows, steps = len(base), len(values)
    kinds = {part: type(getattr(got, part)).__name__ for part in ("z", "categorical", "continuous")
             if not isinstance(getattr(got, part), Tensor)}
    if kinds:
        return (f"the fields of the Codes it returns must be torch tensors, got {', '.join(f'{k} as {v}' for k, v in kinds.items())}; "
                "build them with torch operations (or convert with torch.as_tensor).")
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
        return lambda: (spec, spec.sample(rows, seeded_rng(seed)), code, values.clone())

    two_cats = LatentSpec(noise_dim=6, categorical=(10, 4), n_continuous=2)
    big_first = LatentSpec(noise_dim=4, categorical=(5000, 4), n_continuous=1)
    grid5, grid4, grid3 = torch.linspace(-2, 2, 5), torch.linspace(-1, 1, 4), torch.linspace(-2, 2, 3)
    cases = [Case("c2 of the paper's spec over 5 values, 3 rows", case(PAPER_SPEC, 3, "c2", grid5, 41)),
             Case("c3 of the paper's spec over 4 values, 2 rows", case(PAPER_SPEC, 2, "c3", grid4, 42)),
             Case("c1 (categorical) over its 10 categories, 2 rows", case(PAPER_SPEC, 2, "c1", torch.arange(10), 43)),
             Case("c2 of a spec with two categorical codes (10, 4)", case(two_cats, 2, "c2", torch.arange(4), 44)),
             Case("c4 of a spec with two categorical codes (10, 4)", case(two_cats, 3, "c4", grid3, 45)),
             Case("c3 of the paper's spec over 2 values, 5 rows", case(PAPER_SPEC, 5, "c3", torch.tensor([-1.5, 0.5]), 46)),
             Case("c2 of the paper's spec over one value (0.7), 3 rows: a one-step grid",
                  case(PAPER_SPEC, 3, "c2", torch.tensor([0.7]), 47)),
             Case("c1 over one category (7), 1 row", case(PAPER_SPEC, 1, "c1", torch.tensor([7]), 48)),
             Case("c3 of the paper's spec over unevenly spaced values (0.5, -1, 2, 0), 1 row",
                  case(PAPER_SPEC, 1, "c3", torch.tensor([0.5, -1.0, 2.0, 0.0]), 49)),
             Case("c1 over categories (9, 0, 4) in that order, 2 rows",
                  case(PAPER_SPEC, 2, "c1", torch.tensor([9, 0, 4]), 50)),
             Case("c1 over categories given as floats (0.0, 3.0, 7.0), 2 rows",
                  case(PAPER_SPEC, 2, "c1", torch.tensor([0.0, 3.0, 7.0]), 51)),
             Case("c2 of the paper's spec over 5 values, 3 other rows", case(PAPER_SPEC, 3, "c2", grid5, 52)),
             Case("c2 over 4 float64 values (0.1, -0.7, 1.3, 2.9) of a float32 base, 2 rows",
                  case(PAPER_SPEC, 2, "c2", torch.tensor([0.1, -0.7, 1.3, 2.9], dtype=torch.float64), 53)),
             Case("c2 over 12 values, 10 rows", case(PAPER_SPEC, 10, "c2", torch.linspace(-2, 2, 12), 55)),
             Case("c1 of a spec with 12 categories over categories (11, 10, 3), 2 rows",
                  case(LatentSpec(noise_dim=8, categorical=(12,), n_continuous=2), 2, "c1", torch.tensor([11, 10, 3]),
                       56)),
             Case("c12 of a spec with 12 codes (2 categorical, 10 continuous) over 3 values, 2 rows",
                  case(LatentSpec(noise_dim=4, categorical=(3, 3), n_continuous=10), 2, "c12", grid3, 57)),
             Case("c3 of a float64 base over 3 float64 values (0.1, -0.7, 1.3), 2 rows", lambda: (
                 PAPER_SPEC, _in_float64(PAPER_SPEC.sample(2, seeded_rng(58))), "c3",
                 torch.tensor([0.1, -0.7, 1.3], dtype=torch.float64))),
             Case("c3 of a float64 base over 3 values, 2 rows", lambda: (
                 PAPER_SPEC, _in_float64(PAPER_SPEC.sample(2, seeded_rng(54))), "c3", torch.tensor([-1.0, 0.1, 1.0]))),
             Case("c2 of a spec with two categorical codes (4, 10) over categories (0, 5, 9), beyond the first "
                  "code's 4", case(LatentSpec(noise_dim=6, categorical=(4, 10), n_continuous=2), 2, "c2",
                                   torch.tensor([0, 5, 9]), 59)),
             Case("c3 of a spec with two categorical codes (10, 4): its first continuous code, 2 rows",
                  case(two_cats, 2, "c3", grid3, 60)),
             Case("c1 of a spec with no categorical code and three continuous codes: its first continuous code",
                  case(LatentSpec(noise_dim=4, categorical=(), n_continuous=3), 2, "c1", grid3, 61)),
             Case("c1 of a spec with one categorical code (10) and no continuous code, 2 rows",
                  case(LatentSpec(noise_dim=4, categorical=(10,), n_continuous=0), 2, "c1", torch.tensor([3, 8]), 63)),
             Case("c3 (categorical) of a spec with three categorical codes (10, 4, 3) and one continuous code",
                  case(LatentSpec(noise_dim=4, categorical=(10, 4, 3), n_continuous=1), 2, "c3",
                       torch.tensor([2, 0, 1]), 64)),
             Case("c1 of a spec with 300 categories over categories (299, 5, 256), 1 row",
                  case(LatentSpec(noise_dim=4, categorical=(300,), n_continuous=1), 1, "c1",
                       torch.tensor([299, 5, 256]), 62)),
             Case("c2 of a spec with codes on (0, 2) over values (0, 1, 2), 2 rows: the grid's values as given, "
                  "not rescaled", case(LatentSpec(noise_dim=4, categorical=(10,), n_continuous=2,
                                                  continuous_range=(0.0, 2.0)), 2, "c2", torch.tensor([0.0, 1.0, 2.0]),
                                       67)),
             Case("c3 of a float64 base over float64 values with many digits (1/3, -2/7, 0.123456789), 2 rows",
                  lambda: (PAPER_SPEC, _in_float64(PAPER_SPEC.sample(2, seeded_rng(68))), "c3",
                 torch.tensor([1 / 3, -2 / 7, 0.123456789], dtype=torch.float64))),
             Case("c3 of a float64 base whose z and codes hold values float32 cannot (each 1e-8 off float32's "
                  "grid, relative), over 3 float64 values, 3 rows", lambda: (
                      PAPER_SPEC, off_float32_grid(PAPER_SPEC.sample(3, seeded_rng(65))), "c3",
                      torch.tensor([0.1, -0.7, 1.3], dtype=torch.float64))),
             Case("c2 (4 ways) of a spec with categorical codes (5000, 4), the fixed c1 at 4097, 300 and 4999 "
                  "(ids int8 and float16 cannot hold), 3 rows", lambda: (
                      big_first, _with_first_category(big_first.sample(3, seeded_rng(66)), [4097, 300, 4999]), "c2",
                      torch.tensor([3, 0, 1])))]

    def reference(spec: LatentSpec, base: Codes, code: str, values: Tensor) -> Codes:
        return _traversal(spec, base, code, values)

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
    return Exercise(reference, cases, mistakes, probe=traversal_shares_no_memory, diagnose=_traversal_diagnosis,
                    arg_names=("spec", "base", "code", "values"),
                    forbidden={LatentSpec.traversal: "spec.traversal", LatentSpec.noise_traversal: "spec.noise_traversal"})


def check_traversal_codes(fn: Callable[[LatentSpec, Codes, str, Tensor], Codes], *, graded: bool = False,
                          cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(spec, base, code, values) -> Codes`` for a rows x steps traversal grid in row-major order.

    Row r repeats base input r (its z and codes) ``len(values)`` times, with ``code`` set to values[j]
    in column j.
    """
    return check_against(fn, with_cases(_traversal_codes_exercise(), cases), graded=graded)


# -- exercise: Hungarian matching accuracy -----------------------------------------------

def _majority_vote_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Each cluster takes its most common label, even if another cluster took it too (many-to-one)."""
    hits = sum(np.bincount(labels[clusters == k]).max() for k in np.unique(clusters))
    return float(hits / len(labels))


def _worst_matching_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    k = int(max(clusters.max(), labels.max())) + 1
    counts = np.zeros((k, k))
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts)  # minimises: the mistake
    return float(counts[rows, cols].sum() / len(labels))


def _unbalanced_clusters() -> tuple:
    """Counts (category, label): (0, 0) 5, (0, 1) 4, (1, 0) 4, and k - 1 items of (k, k) for k = 2..9,
    shuffled, then the categories renamed.

    The best matching swaps categories 0 and 1 (44 of 49 right); taking the largest count first keeps
    0 -> 0 (41); a majority vote sends both 0 and 1 to label 0 (45); balanced accuracy is 0.944.
    """
    pairs = [(0, 0)] * 5 + [(0, 1)] * 4 + [(1, 0)] * 4 + [(k, k) for k in range(2, 10) for _ in range(k - 1)]
    order = np.random.default_rng(53).permutation(len(pairs))
    clusters, labels = np.array(pairs)[order].T
    return np.array([7, 2, 9, 0, 4, 1, 8, 3, 6, 5])[clusters], labels.copy()


def _hungarian_counts(clusters: np.ndarray, labels: np.ndarray, dtype: Any = np.float64) -> float:
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((10, 10), dtype=dtype)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].astype(np.float64).sum() / len(labels))


def _greedy_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    counts = np.zeros((10, 10))
    np.add.at(counts, (clusters, labels), 1)
    hits = 0.0
    while counts.max() > 0:
        r, c = np.unravel_index(int(counts.argmax()), counts.shape)
        hits += counts[r, c]
        counts[r, :], counts[:, c] = 0, 0
    return float(hits / len(labels))


def _balanced_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((10, 10))
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    used = counts.sum(0) > 0
    right = np.zeros(10)
    right[cols] = counts[rows, cols]
    return float((right[used] / counts.sum(0)[used]).mean())


def _row_fraction_accuracy(clusters: np.ndarray, labels: np.ndarray, axis: int = 1) -> float:
    """The matching of each category's fractions (``axis=1``; ``axis=0``: each label's) instead of the counts."""
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((10, 10))
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts / np.maximum(counts.sum(axis, keepdims=True), 1), maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def _three_cycle() -> tuple[np.ndarray, np.ndarray]:
    """Items whose count matrix is [[2, 3, 0], [0, 2, 3], [3, 0, 2]]: the identity is a local optimum for pair
    swaps (each swap scores 5, as the diagonal pair does) while the rotation scores 9 of 15."""
    counts = np.array([[2, 3, 0], [0, 2, 3], [3, 0, 2]])
    clusters, labels = np.nonzero(counts)
    reps = counts[clusters, labels]
    return np.repeat(clusters, reps), np.repeat(labels, reps)


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

    cases = [Case("ids 0..4 only, in the categories and the labels",  # first: an answer that keeps its first
                  lambda: (np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]),  # call's number of ids fails on 0..9 later
                           np.array([1, 1, 0, 0, 2, 3, 3, 3, 4, 4]))),
             Case("a renamed clustering with 30% of the items moved at random", relabelled(0.3, 52)),
             Case("a perfect clustering with its categories renamed (the answer is 1.0)", relabelled(0.0, 51)),
             Case("two clusters whose most common label is the same digit",
                  lambda: (np.array([0, 0, 0, 0, 0, 1, 1, 1, 2]), np.array([0, 0, 0, 1, 1, 1, 2, 2, 2]))),
             Case("classes of very different sizes, where taking the largest counts first is not the best matching",
                  _unbalanced_clusters),
             Case("only ids 2, 5, 7, 9 used as categories and 0, 3, 4, 8 as labels",
                  lambda: (np.array([2, 2, 5, 5, 5, 7, 9, 9, 2, 7]), np.array([3, 3, 0, 0, 4, 8, 4, 4, 3, 8]))),
             Case("labels 0..8 only (no 9) and categories 0..9",
                  lambda: (np.arange(20) % 10, np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 8] * 2))),
             Case("a category of 18 items (10 of label 0, 8 of label 1) beside one of a single item of label 0, "
                  "where matching by each category's fractions, not its counts, picks the other pairing",
                  lambda: (np.array([3] * 18 + [6] + [1, 1, 1]), np.array([0] * 10 + [1] * 8 + [0] + [5, 5, 5]))),
             Case("3000 items in 3 categories (more than 255 in one count)",
                  lambda: (np.repeat([4, 1, 0], 1000), np.repeat([1, 0, 2], [1200, 900, 900]))),
             Case("5001 items, 4001 of them in one count (float16 holds no odd count above 2048)",
                  lambda: (np.repeat([2, 7], [4501, 500]), np.repeat([5, 1, 5], [4001, 500, 500]))),
             Case("70,000 items, 66,000 of them in one count (int16 and uint16 counts wrap past 32,767 and 65,535)",
                  lambda: (np.repeat([3, 8], [66000, 4000]), np.repeat([1, 2, 1], [66000, 2000, 2000]))),
             Case("a single item (the answer is 1.0)", lambda: (np.array([6]), np.array([2]))),
             Case("int32 arrays, 10 categories but only 2 labels",
                  lambda: (np.arange(12, dtype=np.int32) % 10, np.array([0, 1] * 6, dtype=np.int32))),
             Case("2 categories (0, 1) and labels 8 and 9, larger than any category (the answer is 1.0)",
                  lambda: (np.array([0, 0, 1, 1]), np.array([8, 8, 9, 9]))),
             Case("one category (0) for labels 0 and 5: fewer categories than labels (the answer is 0.9)",
                  lambda: (np.zeros(10, dtype=np.int64), np.array([0] + [5] * 9))),
             Case("counts where the best matching turns three pairs at once (swapping two pairs never improves "
                  "the diagonal; the answer is 0.6)", _three_cycle),
             Case("51 items spread over all ten categories and labels, where the largest counts first, then every "
                  "improving swap of two pairs, stops short of the best matching (0.294; the answer is 0.314)",
                  lambda: (np.array([6, 5, 2, 3, 0, 0, 0, 1, 8, 6, 9, 5, 6, 9, 7, 6, 5, 5, 9, 2, 8, 6, 0, 3, 8, 5, 0,
                                     7, 7, 8, 1, 0, 8, 0, 5, 0, 2, 4, 4, 4, 0, 0, 1, 0, 6, 5, 6, 2, 6, 7, 3]),
                           np.array([4, 9, 8, 9, 3, 6, 9, 6, 8, 6, 7, 3, 8, 1, 5, 7, 8, 5, 3, 3, 4, 4, 7, 8, 0, 9, 5,
                                     3, 6, 5, 2, 3, 7, 5, 5, 3, 7, 3, 3, 8, 2, 2, 7, 6, 0, 0, 3, 8, 4, 7, 3])))]
    mistakes = [
        Mistake("no matching: it compares category numbers with labels directly. Q's category 3 need not "
                "mean digit 3; match categories to labels first (scipy.optimize.linear_sum_assignment).",
                lambda clusters, labels: float((clusters == labels).mean())),
        Mistake("each category was given its most common label, so two categories can claim the same digit. "
                "The matching must be one-to-one: use the Hungarian method (linear_sum_assignment on the "
                "count matrix, maximize=True).", _majority_vote_accuracy),
        Mistake("it returns the number of correctly matched items; divide by the number of items.",
                lambda clusters, labels: float(hungarian_accuracy(clusters, labels).accuracy * len(labels))),
        Mistake("it finds the worst matching: linear_sum_assignment minimises by default, so pass "
                "maximize=True to maximise the agreements, or negate the count matrix, but not both (negated and "
                "maximised, it finds the worst matching again).", _worst_matching_accuracy),
        Mistake("it returns the error rate (1 - accuracy).",
                lambda clusters, labels: 1.0 - hungarian_accuracy(clusters, labels).accuracy),
        Mistake("it returns a percentage; return a fraction between 0 and 1.",
                lambda clusters, labels: 100.0 * hungarian_accuracy(clusters, labels).accuracy),
        Mistake("it matches greedily, taking the largest count first: that is not always the best one-to-one "
                "matching. Solve the assignment with linear_sum_assignment(counts, maximize=True).",
                _greedy_accuracy),
        Mistake("it returns the balanced accuracy, the mean over labels of each label's fraction right: the "
                "answer is the fraction of all items whose matched category equals their label.",
                _balanced_accuracy),
        Mistake("the counts wrapped around: a uint8 array holds at most 255 in one count. Count in int64 or float "
                "(np.zeros((10, 10)) is float64).",
                lambda clusters, labels: _hungarian_counts(clusters, labels, np.uint8)),
        Mistake("its matching is the one of the fractions of each category (or of each label), not of the counts "
                "(it optimises those fractions or another transform of the counts): the "
                "best matching is the one with the most matched items, so pass the raw count matrix to "
                "linear_sum_assignment(counts, maximize=True) and divide only the total by the number of items.",
                _row_fraction_accuracy),
        Mistake("its matching is the one of the fractions of each label (or of each category), not of the counts "
                "(it optimises those fractions or another transform of the counts): the best "
                "matching is the one with the most matched items, so pass the raw count matrix to "
                "linear_sum_assignment(counts, maximize=True) and divide only the total by the number of items.",
                partial(_row_fraction_accuracy, axis=0)),
        Mistake("the counts wrapped around: an int8 array holds at most 127 in one count. Count in int64 or float "
                "(np.zeros((10, 10)) is float64).",
                lambda clusters, labels: _hungarian_counts(clusters, labels, np.int8)),
        Mistake("the counts stopped growing: a float16 array counts exactly only up to 2048 (adding 1 to 2048 gives "
                "2048). Count in int64 or float64 (np.zeros((10, 10)) is float64).",
                lambda clusters, labels: _hungarian_counts(clusters, labels, np.float16)),
    ]
    return Exercise(lambda clusters, labels: hungarian_accuracy(clusters, labels).accuracy, cases, mistakes,
                    arg_names=("clusters", "labels"),
                    forbidden={hungarian_accuracy: "the package's hungarian_accuracy",
                               categorical_accuracy: "the package's categorical_accuracy"})


def check_matched_accuracy(fn: Callable[[np.ndarray, np.ndarray], float], *, graded: bool = False,
                           cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(clusters, labels) -> accuracy`` in [0, 1] after the best one-to-one matching of clusters to labels."""
    return check_against(fn, with_cases(_matched_accuracy_exercise(), cases), graded=graded)
