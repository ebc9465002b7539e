import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_mutual_info_bound as _check
from infogan_tutorial.latent_codes import LatentSpec as _Spec
from infogan_tutorial.networks import QOutput as _QOutput


def _case(spec, n, seed):
    def make():
        g = _torch.Generator().manual_seed(seed)
        q = _QOutput([3 * _torch.randn(n, k, generator=g) for k in spec.categorical],
                     _torch.randn(n, spec.n_continuous, generator=g), 0.4 * _torch.randn(n, spec.n_continuous, generator=g))
        return q, spec.sample(n, _torch.Generator().manual_seed(seed + 1)), spec
    return make


def _extreme_case(spec, n, seed):
    def make():
        q, codes, spec_ = _case(spec, n, seed)()
        log_std = _torch.tensor([90.0, -4.0, 45.0]).repeat(n * spec.n_continuous)[:n * spec.n_continuous]
        return _QOutput([200 * t for t in q.logits], q.mean, log_std.reshape(n, spec.n_continuous)), codes, spec_
    return make


_check(mutual_info_bound, graded=True, cases=[
    _Case("hidden: codes (6, 2), one code on (-4, 4), 11 images",
          _case(_Spec(noise_dim=2, categorical=(6, 2), n_continuous=1, continuous_range=(-4.0, 4.0)), 11, 921)),
    _Case("hidden: continuous codes only (three on (0, 0.5)), 3 images",
          _case(_Spec(noise_dim=2, categorical=(), n_continuous=3, continuous_range=(0.0, 0.5)), 3, 922)),
    _Case("hidden: many codes: (10, 10, 4) and five on (-2, 3), 9 images",
          _case(_Spec(noise_dim=2, categorical=(10, 10, 4), n_continuous=5, continuous_range=(-2.0, 3.0)), 9, 924)),
    _Case("hidden: a sure Q (logits hundreds apart) with log_std 90, -4 and 45, codes (3,), two continuous, 4 images",
          _extreme_case(_Spec(noise_dim=2, categorical=(3,), n_continuous=2), 4, 923)),
])
