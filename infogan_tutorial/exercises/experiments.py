"""Chapter 9's exercises (experiments): each code's bound, G's objective with lambda, the plain-GAN
control's Q loss, per-class accuracy and the invariant information between a digit and its moved copy.

The book's notation: Q(c | x) is Q's guess of the codes c that generated x = G(z, c);
L_I(G, Q) = E[log Q(c | x)] + H(c); the loss G and Q minimise is -lambda E[log Q(c | x)].
"""

from __future__ import annotations

import copy
import math
from functools import partial
from typing import Any, Callable, Sequence  # noqa: UP035 - the API page resolves typing's names

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..latent_codes import Codes, LatentSpec
from .. import mutual_information as mi
from ..networks import Discriminator, QOutput, init_weights
from ..objectives import (discriminator_loss, generator_loss, info_loss, info_lower_bound, info_term,
                          invariant_information)
from .compare import difference
from .engine import Case, CheckResult, Exercise, Mistake, SideEffect, check_against, module_functions, with_cases
from .foundations import _SIGMA_FIRST, _sigma_first_ll, _sure_q, _sure_q_case, gaussian_ll, huge_sigma_case
from .guards import torch_state, torch_state_change
from .inputs import (PAPER_SPEC, far_miss_case, float64_near_miss_case, float64_q_case, in_float64, low_sigma_case,
                     q_case, q_output, seeded_rng)
from .probes import gradient_flow

# -- exercise: the bound of each continuous code (a third continuous code) -----------------

def _per_code(q: QOutput, codes: Codes, spec: LatentSpec, *, entropy: str = "own", squared_error: bool = False,
              reduce: str = "mean", sigma_first: bool = False) -> Tensor:
    """E[log Q(c_j | x)] + ln(high - low) for each continuous code j, with switches for typical mistakes."""
    ll = _sigma_first_ll(codes.continuous, q.mean, q.log_std) if sigma_first else gaussian_ll(
        codes.continuous, q.mean, q.log_std, log_std_term=not squared_error, const_term=not squared_error)
    log_q = ll.mean(0) if reduce == "mean" else ll.sum(0)
    low, high = spec.continuous_range
    h = {"own": math.log(high - low), "none": 0.0, "all": spec.continuous_entropy()}[entropy]
    return log_q + h


def _abs_width_per_code(q: QOutput, codes: Codes, spec: LatentSpec) -> Tensor:
    low, high = spec.continuous_range
    return _per_code(q, codes, spec, entropy="none") + math.log(abs(low) + abs(high))


def _per_code_info_exercise() -> Exercise:
    cases = [q_case("three continuous codes, 6 images", LatentSpec(n_continuous=3), 6, 61),
             q_case("three continuous codes, 6 other images", LatentSpec(n_continuous=3), 6, 161),
             q_case("five continuous codes, 200 images", LatentSpec(n_continuous=5), 200, 162),
             q_case("two codes on (-2, 2), 5 images",
                     LatentSpec(noise_dim=4, n_continuous=2, continuous_range=(-2.0, 2.0)), 5, 62),
             q_case("one code on (0, 0.5) and two categorical codes, 9 images",
                     LatentSpec(noise_dim=4, categorical=(10, 3), n_continuous=1, continuous_range=(0.0, 0.5)), 9, 63),
             q_case("two codes on (0.5, 2), a range without 0, 4 images",
                     LatentSpec(noise_dim=4, n_continuous=2, continuous_range=(0.5, 2.0)), 4, 64),
             Case("a very sure Q (log_std = -6, some means off by 0.5) on codes on (-1, 1), 3 images",
                  _sure_q_case(LatentSpec(noise_dim=4, n_continuous=3), 3, 65)),
             q_case("one image, one code on (-3, -1)",
                     LatentSpec(noise_dim=4, categorical=(), n_continuous=1, continuous_range=(-3.0, -1.0)), 1, 66),
             huge_sigma_case("a huge sigma (log_std = 100, where sigma = exp(100) overflows float32, and 30) for "
                             "three continuous codes, 4 images", LatentSpec(n_continuous=3), 4, 67),
             low_sigma_case("the low end of the stated range, log_std = -30 (sigma = 9.4e-14), Q's means on the codes "
                            "or 1e-3 off, three continuous codes, 3 images", LatentSpec(n_continuous=3), 3, 68),
             float64_q_case("Q's outputs and the codes in float64, two continuous codes, 4 images", PAPER_SPEC, 4, 69),
             float64_near_miss_case("float64 at log_std = -30, Q's means on the codes or 1e-9 and -3e-9 off (misses "
                                    "float32 cannot hold), three continuous codes, 3 images", LatentSpec(n_continuous=3),
                                    3, 60),
             q_case("a 10-way code and no continuous code (the answer has shape (0,))",
                     LatentSpec(noise_dim=4, n_continuous=0), 3, 59),
             float64_q_case("a 10-way code and no continuous code, Q's outputs in float64 (the answer has shape (0,) "
                            "and Q's dtype)", LatentSpec(noise_dim=4, n_continuous=0), 3, 58),
             far_miss_case("an unsure Q far off: log_std = 20 (sigma = 4.9e8) and means 1e6 from the codes, three "
                           "continuous codes, 3 images", LatentSpec(n_continuous=3), 3, 57)]
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
        Mistake("the width of the range is taken as |low| + |high|: that equals high - low only when the range "
                "contains 0. Use high - low.", _abs_width_per_code),
        Mistake(_SIGMA_FIRST + " (the package's gaussian_log_likelihood computes it so).",
                partial(_per_code, sigma_first=True)),
    ]
    return Exercise(_per_code, cases, mistakes, arg_names=("q", "codes", "spec"), gradients="required",
                    grad_args=("q",))


def check_per_code_info(fn: Callable[[QOutput, Codes, LatentSpec], Tensor], *, graded: bool = False,
                        cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(q, codes, spec) -> (n_continuous,)``: E[log Q(c_j | x)] + h(c_j) for each continuous code."""
    return check_against(fn, with_cases(_per_code_info_exercise(), cases), graded=graded)


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


_UNSTABLE_G = ("it computes -log D(G(z,c)) in a form that overflows for a logit of -1000 (in float32, any below "
               "about -88): as the log of the probability D = sigmoid(fake_logit) (or of 1 - sigmoid(-fake_logit)), "
               "which is 0 in float32 there, so its log is -inf; or as log(1 + exp(-fake_logit)), where exp(1000) is "
               "inf. In exact arithmetic each equals softplus(-fake_logit), but in float32 the value is inf and the "
               "gradient is lost: use F.softplus(-fake_logit), which computes it stably.")


def _generator_objective_exercise() -> Exercise:
    def case(lambda_cat: float, lambda_cont: float, seed: int, n: int = 6,
             spec: LatentSpec = PAPER_SPEC) -> Callable[[], tuple]:
        def make() -> tuple:
            return (torch.randn(n, generator=seeded_rng(seed)), q_output(spec, n, seed + 1),
                    spec.sample(n, seeded_rng(seed + 2)), spec, lambda_cat, lambda_cont)
        return make

    def extreme() -> tuple:
        n = 5
        codes = PAPER_SPEC.sample(n, seeded_rng(77))
        return (torch.tensor([-1000.0, -30.0, 0.5, 30.0, 1000.0]), _sure_q(q_output(PAPER_SPEC, n, 76), codes),
                codes, PAPER_SPEC, 1.0, 0.1)

    def float64() -> tuple:
        fake_logit, q, codes, spec, lambda_cat, lambda_cont = case(1.0, 0.1, 78)()
        return (fake_logit.double(), *in_float64(q, codes), spec, lambda_cat, lambda_cont)

    def middle(dtype: torch.dtype) -> Callable[[], tuple]:
        def make() -> tuple:  # logits where a softplus cut off at 3, 5 or 10 is visibly off
            fake_logit, q, codes, spec, lambda_cat, lambda_cont = case(1.0, 0.1, 80, n=6)()
            fake_logit = torch.tensor([-3.5, -6.0, -12.0, -4.5, -8.0, 2.5])
            if dtype == torch.float64:
                return (fake_logit.double(), *in_float64(q, codes), spec, lambda_cat, lambda_cont)
            return fake_logit, q, codes, spec, lambda_cat, lambda_cont
        return make

    def large() -> tuple:  # the log of a sigmoid is -inf or 0 for some of them
        fake_logit, q, codes, spec, lambda_cat, lambda_cont = case(1.0, 0.1, 84, n=500)()
        return 300 * fake_logit, q, codes, spec, lambda_cat, lambda_cont

    def plain64() -> tuple:
        fake_logit, q, codes, spec, _, _ = float64()
        return fake_logit, q, codes, spec, 0.0, 0.0

    cases = [Case("lambda_cat = 2, lambda_cont = 0.5", case(2.0, 0.5, 72)),
             Case("lambda_cat = 2, lambda_cont = 0.5, other images", case(2.0, 0.5, 172)),
             Case("lambda_cat = 1.3, lambda_cont = 0.05", case(1.3, 0.05, 79)),
             Case("the paper's weights lambda_cat = 1, lambda_cont = 0.1", case(1.0, 0.1, 71)),
             Case("lambda_cat = lambda_cont = 0 (a plain GAN's G loss)", case(0.0, 0.0, 73)),
             Case("lambda_cat = 0, lambda_cont = 0.1 (the continuous term alone)", case(0.0, 0.1, 81)),
             Case("lambda_cat = 1, lambda_cont = 0 (the categorical term alone)", case(1.0, 0.0, 82)),
             Case("a spec with a 10-way code and no continuous code, lambda_cat = 1, lambda_cont = 0.1",
                  case(1.0, 0.1, 83, spec=LatentSpec(noise_dim=4, categorical=(10,), n_continuous=0))),
             Case("two categorical codes (10, 4), three continuous codes, lambda_cat = 0.7, lambda_cont = 1.5",
                  case(0.7, 1.5, 74, spec=LatentSpec(noise_dim=6, categorical=(10, 4), n_continuous=3))),
             Case("D's logits -1000, -30, 0.5, 30, 1000 (D sure the images are fake, or real) and a very sure Q "
                  "(logits hundreds apart, log_std = -6), lambda = 1, 0.1",
                  extreme),
             Case("D's logits, Q's outputs and the codes in float64, the paper's weights", float64),
             Case("D's logits -3.5, -6, -12, -4.5, -8 and 2.5 (D fairly sure the images are fake)",
                  middle(torch.float32)),
             Case("the same logits in float64, with Q's outputs and the codes in float64", middle(torch.float64)),
             Case("a batch of 500 images, D's logits in the hundreds, the paper's weights", large),
             Case("lambda_cat = lambda_cont = 0 in float64 (a plain GAN's G loss, in the inputs' dtype)", plain64)]
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
        Mistake(_UNSTABLE_G, lambda fl, q, codes, spec, lc, lk: -torch.log(torch.sigmoid(fl)).mean()
                + info_loss(q, codes, spec, lc, lk)),
        Mistake(_UNSTABLE_G, lambda fl, q, codes, spec, lc, lk: -torch.log(1 - torch.sigmoid(-fl)).mean()
                + info_loss(q, codes, spec, lc, lk)),  # the same slip, which also loses digits for logits near -10
        Mistake("it feeds sigmoid(fake_logit) to F.binary_cross_entropy, which clamps each log at -100: for a "
                "logit of -1000 the loss is capped and its gradient is 0. Use F.binary_cross_entropy_with_logits "
                "or F.softplus(-fake_logit).", lambda fl, q, codes, spec, lc, lk: F.binary_cross_entropy(
                    torch.sigmoid(fl), torch.ones_like(fl)) + info_loss(q, codes, spec, lc, lk)),
        Mistake("it adds a small epsilon inside log(sigmoid(fake_logit) + eps): for a logit of -1000 the loss is "
                "capped near -log(eps) and its gradient is 0. Use F.softplus(-fake_logit), with no epsilon.",
                lambda fl, q, codes, spec, lc, lk: -torch.log(torch.sigmoid(fl) + 1e-8).mean()
                + info_loss(q, codes, spec, lc, lk)),
        Mistake("it takes the log of the logit itself: fake_logit is D's logit l, not the probability D = sigmoid(l), "
                "and the log of a negative logit is nan. -log D(G(z,c)) = softplus(-l): use F.softplus(-fake_logit).",
                lambda fl, q, codes, spec, lc, lk: -torch.log(fl).mean() + info_loss(q, codes, spec, lc, lk)),
        Mistake("the adversarial term sums over the batch instead of averaging: -E[log D(G(z,c))] is a mean.",
                lambda fl, q, codes, spec, lc, lk: generator_loss(fl) * len(fl) + info_loss(q, codes, spec, lc, lk)),
    ]

    def reference(fake_logit: Tensor, q: QOutput, codes: Codes, spec: LatentSpec, lambda_cat: float,
                  lambda_cont: float) -> Tensor:
        return generator_loss(fake_logit) + info_loss(q, codes, spec, lambda_cat, lambda_cont)

    forbidden = {info_loss: "the package's info_loss", generator_loss: "the package's generator_loss",
                 info_lower_bound: "the package's info_lower_bound", info_term: "the package's info_term",
                 discriminator_loss: "the package's discriminator_loss"}
    return Exercise(reference, cases, mistakes, gradients="required", grad_args=("fake_logit", "q"),
                    arg_names=("fake_logit", "q", "codes", "spec", "lambda_cat", "lambda_cont"), forbidden=forbidden)


def check_generator_objective(fn: Callable[..., Tensor], *, graded: bool = False,
                              cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(fake_logit, q, codes, spec, lambda_cat, lambda_cont) -> G's loss`` (a scalar)."""
    return check_against(fn, with_cases(_generator_objective_exercise(), cases), graded=graded)


# -- exercise: the plain-GAN control's Q loss (where the gradient flows) --------------------

def _small_discriminator(spec: LatentSpec, seed: int, fixed_std: float | None = None) -> Discriminator:
    """A fixed D for the gradient-flow cases; its big 6272 x 1024 weight is frozen to keep the check fast
    (gradients still flow *through* it, so whether they reach the body shows in the conv layers)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        d = Discriminator(spec, fixed_std=fixed_std)
        init_weights(d)
    big = max((m for m in d.body if isinstance(m, torch.nn.Linear)), key=lambda m: m.weight.numel())
    big.weight.requires_grad_(False)
    with torch.no_grad():  # running statistics as in training, not the initial ones (a reset then shows)
        d.q_from_features(d.features(torch.tanh(torch.randn(8, 1, 28, 28, generator=seeded_rng(seed + 7)))))
    return d


def _flow_diagnosis(got: Any, args: tuple) -> str | None:
    """Say where the gradient went, or that the value differs from info_loss, when no known mistake matched."""
    if not (isinstance(got, tuple) and len(got) == 4):
        return difference(got, torch.zeros(())) or "it should return the loss info_loss(q, codes, spec), a 0-d tensor."
    if not bool(got[3].all()):
        return ("it leaves the running statistics of D's batch norms as they were, but D came in train mode, where "
                "the one pass of fake through D updates them as a training pass does (the statement asks for that): "
                "a pass through a copy of D (copy.deepcopy, a new module), D's buffers saved and put back, or a part "
                "of D run in eval mode leaves them unchanged. Compute D.features(fake) once, with D itself, in the "
                "mode it comes in.")
    reached = [part for part, flag in zip(("G's images", "D's shared body", "Q's head", "D's real/fake head"),
                                          got[1].tolist()) if flag]
    if reached != ["Q's head"]:
        return (f"the gradient reaches {', '.join(reached) or 'nothing'}; in the control it must reach "
                "Q's head only.")
    D, fake, codes, spec = args
    want = _control_loss(copy.deepcopy(D), fake, codes, spec).detach()
    if not torch.isclose(got[0].to(want.dtype), want, rtol=1e-4, atol=1e-5):
        return (f"the gradient reaches Q's head only, but the loss is {float(got[0]):.6g} where info_loss(q, codes, "
                f"spec) of Q's output on the detached features gives {float(want):.6g}: check the weights (info_loss's "
                "own: lambda_cat = 1, lambda_cont = 0.1), that both the categorical and the continuous terms are "
                "there, and the sign" + (", and that Q's output comes from D.q_from_features(h), which applies D's "
                "fixed standard deviation (D.fixed_std is set here), not from D.q_head by hand"
                if D.fixed_std is not None else "") + ".")
    return ("the gradient reaches Q's head only and the loss is right, but the gradient it gives Q's head differs "
            "from that of info_loss(q, codes, spec): a part of Q's output detached (its mean and log_std, or its "
            "logits), the loss mixed with a detached copy of itself, a gradient hook (register_hook) that changes "
            "a gradient on the way, or (for a float64 D) a step computed in float32, "
            "trains Q's head otherwise.")


def _control_loss(D: Discriminator, fake: Tensor, codes: Codes, spec: LatentSpec, *,
                  detach_features: bool = True, detach_images: bool = False, no_grad: bool = False,
                  eval_part: str = "", lambda_cont: float = 0.1) -> Tensor:
    """Q's loss in the plain-GAN control: Q's head fitted on detached features of G's images."""
    part = {"": None, "head": D.q_head, "all": D}[eval_part]
    if part is not None:
        part.eval()
    x = fake.detach() if detach_images else fake
    h = D.features(x)
    h = h.detach() if detach_features else h
    q = D.q_from_features(h)
    if part is not None:
        part.train()
    if no_grad:
        q = QOutput([t.detach() for t in q.logits], q.mean.detach(), q.log_std.detach())
    return info_loss(q, codes, spec, lambda_cont=lambda_cont)


def _control_info_loss_exercise() -> Exercise:
    def case(spec: LatentSpec, n: int, seed: int, fixed_std: float | None = None) -> Callable[[], tuple]:
        d = _small_discriminator(spec, seed, fixed_std)  # built once; every run gets a fresh copy

        def make() -> tuple:
            fake = torch.tanh(torch.randn(n, 1, 28, 28, generator=seeded_rng(seed))).requires_grad_()
            D = copy.deepcopy(d)
            g = seeded_rng(seed + 2)  # gradients another loss left behind, as in a training step
            for p in D.parameters():
                if p.requires_grad:
                    p.grad = 1e-3 * torch.randn(p.shape, generator=g)
            fake.grad = 1e-3 * torch.randn(fake.shape, generator=g)
            return D, fake, spec.sample(n, seeded_rng(seed + 1)), spec
        return make

    def in_eval_mode(make: Callable[[], tuple]) -> Callable[[], tuple]:
        def made() -> tuple:
            D, *rest = make()
            return (D.eval(), *rest)
        return made

    def images_without_grad(make: Callable[[], tuple]) -> Callable[[], tuple]:
        def made() -> tuple:
            D, fake, *rest = make()
            return (D, fake.detach(), *rest)
        return made

    def in_double(make: Callable[[], tuple]) -> Callable[[], tuple]:
        def made() -> tuple:  # D, the images, their stored gradients and the codes in float64
            D, fake, codes, spec = make()
            D = D.double()
            for p in D.parameters():
                if p.grad is not None:
                    p.grad = p.grad.double()
            images = fake.detach().double().requires_grad_()
            images.grad = fake.grad.double()
            return D, images, Codes(codes.z.double(), codes.categorical, codes.continuous.double()), spec
        return made

    cases = [Case("the paper's spec, 4 images", case(PAPER_SPEC, 4, 81)),
             Case("a 10-way code only, 3 images", case(LatentSpec(noise_dim=4, n_continuous=0), 3, 82)),
             Case("the paper's spec, 4 other images and another D", case(PAPER_SPEC, 4, 83)),
             Case("a D that comes in eval mode (D.eval(): its batch norms use their running statistics), the paper's "
                  "spec, 4 images", in_eval_mode(case(PAPER_SPEC, 4, 84))),
             Case("G's images that ask for no gradient (fake detached before the call), the paper's spec, 4 images",
                  images_without_grad(case(PAPER_SPEC, 4, 85))),
             Case("D, its images and the codes in float64, the paper's spec, 4 images",
                  in_double(case(PAPER_SPEC, 4, 86))),
             Case("a D whose Q has a fixed standard deviation (Discriminator(spec, fixed_std=0.5): its head "
                  "ignores the log-std outputs), the paper's spec, 4 images", case(PAPER_SPEC, 4, 87, fixed_std=0.5))]
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
        Mistake("Q's head ran in eval mode (its batch norm then uses its running statistics instead of the batch's): "
                "use D and its parts in the mode they come in, without train() or eval().",
                partial(_control_loss, eval_part="head")),
        Mistake("D ran in eval mode (its batch norms then use their running statistics instead of the batch's): use "
                "D in the mode it comes in, without train() or eval().", partial(_control_loss, eval_part="all")),
        Mistake("the continuous codes' term is missing (or weighted 0): the loss is info_loss(q, codes, spec), whose "
                "weights are lambda_cat = 1 and lambda_cont = 0.1.", partial(_control_loss, lambda_cont=0.0)),
        Mistake("the continuous codes' term is weighted 1: the loss is info_loss(q, codes, spec) with its own "
                "weights, lambda_cat = 1 and lambda_cont = 0.1.", partial(_control_loss, lambda_cont=1.0)),
    ]
    return Exercise(_control_loss, cases, mistakes, gradient_flow, _flow_diagnosis,
                    arg_names=("D", "fake", "codes", "spec"))


def check_control_info_loss(fn: Callable[[Discriminator, Tensor, Codes, LatentSpec], Tensor], *, graded: bool = False,
                            cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(D, fake, codes, spec) -> loss``: info_loss of Q on G's images, gradient reaching Q's head only."""
    return check_against(fn, with_cases(_control_info_loss_exercise(), cases), graded=graded)


# -- exercise: per-class accuracy from a confusion matrix --------------------------------

def _per_class(confusion: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """Row r: the fraction of images of true class r that c1 put in class r's category."""
    m = np.asarray(confusion, dtype=np.float64)
    return np.diag(m) / m.sum(axis=axis)


def _rematched_per_class(confusion: np.ndarray) -> np.ndarray:
    from scipy.optimize import linear_sum_assignment

    m = np.asarray(confusion, dtype=np.float64)
    rows, cols = linear_sum_assignment(m, maximize=True)
    return m[rows, cols] / m.sum(axis=1)


def _quiet_division(fn: Callable[..., Any], args: tuple) -> Any:
    """The result of ``fn``, without NumPy's warning for the 0 / 0 of an empty class (nan is the answer there); the
    global state is compared inside the block, since leaving it would hide an answer's np.seterr."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = torch_state()
        out = fn(*args)
        change = torch_state_change(inside)
        if change:
            raise SideEffect(change)
    return out


def _per_class_accuracy_exercise() -> Exercise:
    def random_counts(seed: int, k: int) -> Callable[[], tuple]:
        def make() -> tuple:
            r = np.random.default_rng(seed)
            return (r.integers(0, 6, (k, k)) + np.diag(r.integers(1, 20, k)),)
        return make

    cases = [Case("a 3 x 3 confusion matrix", lambda: (np.array([[8, 1, 1], [0, 5, 5], [2, 0, 2]]),)),
             Case("a 10 x 10 confusion matrix", random_counts(91, 10)),
             Case("a 12 x 12 confusion matrix", random_counts(92, 12)),
             Case("a 4 x 4 matrix with classes of very different sizes",
                  lambda: (np.array([[50, 3, 2, 0], [1, 4, 0, 0], [0, 0, 0, 7], [2, 1, 1, 30]]),)),
             Case("a 3 x 3 matrix of a poor run, whose diagonal is not the best matching of its columns",
                  lambda: (np.array([[1, 9, 0], [8, 2, 0], [0, 1, 6]]),)),
             Case("a 1 x 1 matrix (the answer is [1.0])", lambda: (np.array([[17]]),)),
             Case("a 2 x 2 matrix of float counts", lambda: (np.array([[3.0, 1.0], [0.0, 2.0]]),)),
             Case("a 3 x 3 uint8 matrix with rows summing past 255",
                  lambda: (np.array([[200, 50, 30], [10, 250, 100], [0, 0, 255]], dtype=np.uint8),)),
             Case("a 2 x 2 matrix of 70,002 images, 70,000 in one row (int16 and uint16 sums wrap past 32,767 "
                  "and 65,535)", lambda: (np.array([[40000, 30000], [1, 1]]),)),
             Case("a 4 x 4 matrix whose class 2 has no images (row 2 is all zeros: its entry is nan)",
                  lambda: (np.array([[5, 1, 0, 2], [0, 3, 1, 0], [0, 0, 0, 0], [1, 0, 2, 6]]),))]
    mistakes = [
        Mistake("it divides by the column sums: that is the fraction of a matched category's images that "
                "are right (precision). Per-class accuracy divides by the number of images of each true "
                "class, the row sums (rows are true labels).", partial(_per_class, axis=0)),
        Mistake("it returns the overall accuracy for every class: divide each diagonal entry by its own row sum.",
                lambda m: np.full(len(m), np.trace(m) / np.sum(m))),
        Mistake("it returns counts (the diagonal); divide by the row sums to get fractions.",
                lambda m: np.diag(m).astype(np.float64)),
        Mistake("it returns the per-class error rate (1 - accuracy).", lambda m: 1.0 - _per_class(m)),
        Mistake("it returns percentages; return fractions between 0 and 1.", lambda m: 100.0 * _per_class(m)),
        Mistake("it divides by the total count of the matrix; each class's diagonal entry is divided by its own "
                "row sum.", lambda m: np.diag(m) / np.sum(m, dtype=np.float64)),
        Mistake("a class with no images (a row of zeros) got 0: it has no accuracy at all, and the statement asks "
                "for nan there (0 / 0), so that an empty class is not mistaken for one that is always wrong.",
                lambda m: np.nan_to_num(_per_class(m), nan=0.0)),
        Mistake("a class with no images (a row of zeros) got 1: it has no accuracy at all, and the statement asks "
                "for nan there (0 / 0).", lambda m: np.nan_to_num(_per_class(m), nan=1.0)),
        Mistake("the columns were matched to the rows again: the confusion matrix's columns already are the "
                "labels of the matched categories, so read its diagonal as it is.", _rematched_per_class),
    ]
    return Exercise(_per_class, cases, mistakes, _quiet_division, arg_names=("confusion",))


def check_per_class_accuracy(fn: Callable[[np.ndarray], np.ndarray], *, graded: bool = False,
                             cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(confusion) -> (K,)``: diagonal over row sums (rows are true classes, as in ClusterAccuracy)."""
    return check_against(fn, with_cases(_per_class_accuracy_exercise(), cases), graded=graded)


# -- exercise: invariant information between a real digit and its moved copy ---------------

def _invariant_info(p: Tensor, p_moved: Tensor, *, symmetric: bool = True, normalise: bool = True,
                    marginals: str = "both", base: float = math.e, clamp: bool = True) -> Tensor:
    """I(ĉ; ĉ') of the batch's joint P = p^T p' / N (made symmetric), with switches for typical mistakes."""
    joint = p.T @ p_moved
    joint = joint / p.shape[0] if normalise else joint
    joint = (joint + joint.T) / 2 if symmetric else joint
    rows, cols = joint.sum(dim=1), joint.sum(dim=0)
    other = {"both": cols, "rows": rows}[marginals]
    terms = joint * (joint.log() - rows.log()[:, None] - other.log()[None, :])
    terms = torch.where(joint > 0, terms, 0.0) if clamp else terms  # 0 log 0 counted as 0, exactly
    return terms.sum() / math.log(base)


def _number_or_tensor(fn: Callable[..., Any], args: tuple) -> Any:
    """The result, with a plain number (a float, a NumPy scalar or 0-d array) read as a 0-d tensor: the
    statement asks for one number and no gradient, so any of them is an answer (read in ``p``'s dtype; a
    tensor must have that dtype itself)."""
    out = fn(*args)
    if isinstance(out, (float, np.floating)) or (isinstance(out, (int, np.integer)) and not isinstance(
            out, (bool, np.bool_))) or (isinstance(out, np.ndarray) and out.ndim == 0
                                                 and np.issubdtype(out.dtype, np.floating)):
        dtype = args[0].dtype if isinstance(args[0], Tensor) and args[0].is_floating_point() else torch.float64
        return torch.tensor(float(out), dtype=dtype)
    return out


def _invariant_information_exercise() -> Exercise:
    def soft(seed: int, n: int, k: int, sharpness: float, dtype: torch.dtype = torch.float32) -> Callable[[], tuple]:
        def make() -> tuple:  # softmax in the case's dtype: float64 rows sum to 1 to float64's accuracy
            g = seeded_rng(seed)
            logits = sharpness * torch.randn(n, k, generator=g)
            moved = logits + torch.randn(n, k, generator=g)
            return (torch.softmax(logits.to(dtype), 1), torch.softmax(moved.to(dtype), 1))
        return make

    def shifted(seed: int, n: int, k: int) -> Callable[[], tuple]:
        def make() -> tuple:  # the moved copy's category is mostly the next one: p^T p' is far from symmetric
            logits = 3 * torch.randn(n, k, generator=seeded_rng(seed))
            return torch.softmax(logits, 1), torch.softmax(logits.roll(1, dims=1), 1)
        return make

    def nearly_independent(seed: int, n: int, k: int) -> Callable[[], tuple]:
        def make() -> tuple:
            g = seeded_rng(seed)
            logits = 0.3 * torch.randn(n, k, generator=g, dtype=torch.float64)  # unsure Q: rows near uniform
            moved = 0.01 * logits + 0.3 * torch.randn(n, k, generator=g, dtype=torch.float64)
            return torch.softmax(logits, 1), torch.softmax(moved, 1)
        return make

    def sure_and_balanced() -> tuple:
        p = torch.eye(4).repeat(3, 1)  # 12 images, each surely in one of 4 categories, kept by the move
        return (p, p.clone())

    def unused() -> tuple:
        p, q = soft(75, 6, 3, 2.0)()
        return torch.cat([p, torch.zeros(6, 2)], 1), torch.cat([q, torch.zeros(6, 2)], 1)

    cases = [Case("8 images, 4 categories", soft(71, 8, 4, 2.0)),
             Case("8 other images, 4 categories", soft(74, 8, 4, 1.0)),
             Case("300 images, 12 categories", soft(76, 300, 12, 2.0)),
             Case("30 images, 10 categories", soft(72, 30, 10, 3.0)),
             Case("sure, balanced categories that survive the move", sure_and_balanced),
             Case("5 images, 7 categories", soft(73, 5, 7, 2.5)),
             Case("6 images, 5 categories, of which categories 3 and 4 are never used", unused),
             Case("one image and one category (the answer is 0)", lambda: (torch.ones(1, 1), torch.ones(1, 1))),
             Case("float64 probabilities, 10 images, 3 categories", soft(74, 10, 3, 2.0, torch.float64)),
             Case("sure categories that survive the move, 2 of 4 categories used (the answer is ln 2, not ln 4)",
                  lambda: (torch.eye(4)[[0, 2] * 5], torch.eye(4)[[0, 2] * 5])),
             Case("sure categories that survive the move, 3 of 10,000 images in a rare third category (a clamp "
                  "above about 1e-8 shows there)", lambda: (torch.eye(3)[[0] * 4998 + [1] * 4999 + [2] * 3],
                                                             torch.eye(3)[[0] * 4998 + [1] * 4999 + [2] * 3])),
             Case("sure categories that survive the move, used unequally (6, 3 and 1 images of 10)",
                  lambda: (torch.eye(3)[[0] * 6 + [1] * 3 + [2]], torch.eye(3)[[0] * 6 + [1] * 3 + [2]])),
             Case("sure, balanced categories that survive the move, 50 categories (the answer is ln 50; most cells "
                  "of the joint table are empty)", lambda: (torch.eye(50).repeat(2, 1), torch.eye(50).repeat(2, 1))),
             Case("200 images spread over 1,000 categories (the joint table's entries are about 1e-6 and below: "
                  "dropping or clamping entries below 1e-6 changes the sum)", soft(77, 200, 1000, 1.0)),
             Case("100 sure-ish images over 300 categories (many entries of the joint table between 1e-12 and 1e-7: "
                  "dropping or clamping entries below float32's eps changes the sum)", soft(77, 100, 300, 5.0)),
             Case("the same 100 images over 300 categories in float64 (dropping or clamping entries below 1e-8 "
                  "changes the sum in float64's digits; a clamp at 1e-12 does not)",
                  soft(77, 100, 300, 5.0, torch.float64)),
             Case("2,000 images, 6 categories, a moved copy that shifts the categories (P is far from symmetric)",
                  shifted(78, 2000, 6)),
             Case("4,000 images in float64 whose moved copies are nearly independent of them (I is 6e-7, "
                  "small but not 0: what short runs give)", nearly_independent(79, 4000, 5))]
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
        Mistake("P has zero entries here, and 0 * log 0 gave nan; those terms count as 0: keep them out of the "
                "sum (torch.where(P > 0, terms, 0), or torch.special.xlogy for P log P).",
                partial(_invariant_info, clamp=False)),
        Mistake("it measures agreement, the mean of sum_k p_k p'_k, not information: that is highest when "
                "every image falls into one category, which tells nothing about the image.",
                lambda p, q: (p * q).sum(1).mean()),
        Mistake("softmax was applied to p and p_moved: they already hold probabilities (each row sums to 1), so "
                "build P from them as they are.", lambda p, q: _invariant_info(p.softmax(1), q.softmax(1))),
    ]
    return Exercise(_invariant_info, cases, mistakes, _number_or_tensor, arg_names=("p", "p_moved"),
                    forbidden={invariant_information: "the package's objectives.invariant_information",
                               **module_functions(mi)})


def check_invariant_information(fn: Callable[[Tensor, Tensor], Tensor], *, graded: bool = False,
                                cases: Sequence[Case] | None = None) -> CheckResult:
    """Check ``fn(p, p_moved) -> I``: the information between the categories of images and of their moved copies."""
    return check_against(fn, with_cases(_invariant_information_exercise(), cases), graded=graded)
