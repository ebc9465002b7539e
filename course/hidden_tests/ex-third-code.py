import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_per_code_info as _check
from infogan_tutorial.latent_codes import LatentSpec as _Spec
from infogan_tutorial.networks import QOutput as _QOutput


def _case(spec, n, seed):
    def make():
        g = _torch.Generator().manual_seed(seed)
        q = _QOutput([_torch.randn(n, k, generator=g) for k in spec.categorical],
                     _torch.randn(n, spec.n_continuous, generator=g), 0.6 * _torch.randn(n, spec.n_continuous, generator=g))
        return q, spec.sample(n, _torch.Generator().manual_seed(seed + 1)), spec
    return make


def _huge_case(spec, n, seed):
    def make():
        q, codes, spec_ = _case(spec, n, seed)()
        log_std = _torch.tensor([95.0, 35.0, -3.0]).repeat(n * spec.n_continuous)[:n * spec.n_continuous]
        return _QOutput(q.logits, q.mean, log_std.reshape(n, spec.n_continuous)), codes, spec_
    return make


def _float64_case(spec, n, seed):  # float64 Q outputs and codes: the statement asks for arithmetic in that dtype
    def make():
        q, codes, spec_ = _case(spec, n, seed)()
        c = codes.continuous.double()
        mean = c + 1e-9 * _torch.randn(c.shape, generator=_torch.Generator().manual_seed(seed), dtype=c.dtype)
        return (_QOutput([t.double() for t in q.logits], mean, _torch.full_like(c, -20.0)),
                type(codes)(codes.z.double(), codes.categorical, c), spec_)
    return make


_check(per_code_info, graded=True, cases=[
    _Case("hidden: five codes on (-1, 3), 12 images",
          _case(_Spec(noise_dim=3, n_continuous=5, continuous_range=(-1.0, 3.0)), 12, 951)),
    _Case("hidden: one code, 1 image", _case(_Spec(noise_dim=3, n_continuous=1), 1, 952)),
    _Case("hidden: log_std 95, 35 and -3 on two codes on (-2, 1), 5 images",
          _huge_case(_Spec(noise_dim=3, n_continuous=2, continuous_range=(-2.0, 1.0)), 5, 953)),
    _Case("hidden: float64 Q outputs at log_std near -20, two codes, 4 images",
          _float64_case(_Spec(noise_dim=3, n_continuous=2), 4, 954)),
])
