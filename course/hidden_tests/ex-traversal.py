import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_traversal_codes as _check
from infogan_tutorial.latent_codes import LatentSpec as _Spec

_spec = _Spec(noise_dim=5, categorical=(3, 6), n_continuous=3)


def _case(code, rows, values, seed):
    return lambda: (_spec, _spec.sample(rows, _torch.Generator().manual_seed(seed)), code, values.clone())


_check(traversal_codes, graded=True, cases=[
    _Case("hidden: c5 of codes (3, 6) + 3 continuous, 4 rows x 6 values",
          _case("c5", 4, _torch.linspace(-3, 3, 6), 931)),
    _Case("hidden: c2 (6-way) of the same spec, 1 row", _case("c2", 1, _torch.arange(6), 932)),
])
