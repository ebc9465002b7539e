import copy as _copy

import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_control_info_loss as _check
from infogan_tutorial.latent_codes import LatentSpec as _Spec
from infogan_tutorial.networks import Discriminator as _D
from infogan_tutorial.networks import init_weights as _init


def _case(spec, n, seed):
    with _torch.random.fork_rng(devices=[]):
        _torch.manual_seed(seed)
        d = _D(spec)
        _init(d)

    def make():
        fake = _torch.tanh(_torch.randn(n, 1, 28, 28, generator=_torch.Generator().manual_seed(seed)))
        return _copy.deepcopy(d), fake.requires_grad_(), spec.sample(n, _torch.Generator().manual_seed(seed + 1)), spec
    return make


_check(control_info_loss, graded=True, cases=[
    _Case("hidden: codes (10, 3) and one continuous code, 5 images",
          _case(_Spec(noise_dim=4, categorical=(10, 3), n_continuous=1), 5, 971)),
])
