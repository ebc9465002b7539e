import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_gaussian_log_likelihood as _check


def _case(seed, shape, spread):
    def make():
        g = _torch.Generator().manual_seed(seed)
        return 3 * _torch.randn(shape, generator=g), _torch.randn(shape, generator=g), \
            spread * _torch.randn(shape, generator=g)
    return make


_check(gaussian_log_likelihood, graded=True, cases=[
    _Case("hidden: 7 images, 4 codes, far from the mean", _case(911, (7, 4), 1.5)),
    _Case("hidden: one value per image (shape (6,))", _case(912, (6,), 0.3)),
])
