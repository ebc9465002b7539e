import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_generator_objective as _check
from infogan_tutorial.latent_codes import LatentSpec as _Spec
from infogan_tutorial.networks import QOutput as _QOutput


def _case(spec, n, lambda_cat, lambda_cont, seed):
    def make():
        g = _torch.Generator().manual_seed(seed)
        q = _QOutput([2 * _torch.randn(n, k, generator=g) for k in spec.categorical],
                     _torch.randn(n, spec.n_continuous, generator=g), 0.5 * _torch.randn(n, spec.n_continuous, generator=g))
        return (3 * _torch.randn(n, generator=g), q, spec.sample(n, _torch.Generator().manual_seed(seed + 1)), spec,
                lambda_cat, lambda_cont)
    return make


_check(generator_objective, graded=True, cases=[
    _Case("hidden: codes (10, 5), one continuous code, lambda_cat = 3, lambda_cont = 0.25",
          _case(_Spec(noise_dim=4, categorical=(10, 5), n_continuous=1), 9, 3.0, 0.25, 961)),
    _Case("hidden: lambda_cat = 0, lambda_cont = 2", _case(_Spec(noise_dim=4), 5, 0.0, 2.0, 962)),
])
