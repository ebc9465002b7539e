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


def _extreme(spec, n, lambda_cat, lambda_cont, seed):
    """D and Q very sure: logits of D up to +-150, Q's logits hundreds apart (forms that overflow fail)."""
    def make():
        fake_logit, q, codes, *rest = _case(spec, n, lambda_cat, lambda_cont, seed)()
        fake_logit = _torch.linspace(-150.0, 150.0, n)
        q = _QOutput([300 * logits for logits in q.logits], q.mean, q.log_std)
        return (fake_logit, q, codes, *rest)
    return make


_check(generator_objective, graded=True, cases=[
    _Case("hidden: codes (10, 5), one continuous code, lambda_cat = 3, lambda_cont = 0.25",
          _case(_Spec(noise_dim=4, categorical=(10, 5), n_continuous=1), 9, 3.0, 0.25, 961)),
    _Case("hidden: lambda_cat = 0, lambda_cont = 2", _case(_Spec(noise_dim=4), 5, 0.0, 2.0, 962)),
    _Case("hidden: D's logits from -150 to 150 and a very sure Q, lambda_cat = 1, lambda_cont = 0.5",
          _extreme(_Spec(noise_dim=4, categorical=(6,), n_continuous=2), 7, 1.0, 0.5, 963)),
])
