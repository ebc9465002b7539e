import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_gaussian_log_likelihood as _check


def _case(seed, shape, spread, dtype=_torch.float32):
    def make():
        g = _torch.Generator().manual_seed(seed)
        return 3 * _torch.randn(shape, generator=g, dtype=dtype), _torch.randn(shape, generator=g, dtype=dtype), \
            spread * _torch.randn(shape, generator=g, dtype=dtype)
    return make


def _log_std_case(seed, shape, log_std):
    def make():
        g = _torch.Generator().manual_seed(seed)
        return _torch.randn(shape, generator=g), _torch.randn(shape, generator=g), \
            _torch.tensor(log_std).expand(shape).clone()
    return make


_check(gaussian_log_likelihood, graded=True, cases=[
    _Case("hidden: 7 images, 4 codes, far from the mean", _case(911, (7, 4), 1.5)),
    _Case("hidden: one value per image (shape (6,))", _case(912, (6,), 0.3)),
    _Case("hidden: float64, 5 images, 2 codes, log_std up to about 3", _case(914, (5, 2), 1.0, _torch.float64)),
    _Case("hidden: 3 images, 3 codes, log_std 95, 40 and -4", _log_std_case(913, (3, 3), [95.0, 40.0, -4.0])),
])
