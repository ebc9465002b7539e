import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_categorical_info_loss as _check


def _case(seed, n, k, scale, dtype=_torch.float32):
    def make():
        g = _torch.Generator().manual_seed(seed)
        return scale * _torch.randn(n, k, generator=g, dtype=dtype), _torch.randint(k, (n,), generator=g)
    return make


_check(categorical_info_loss, graded=True, cases=[
    _Case("hidden: 1 image, 2 categories", _case(901, 1, 2, 1.0)),
    _Case("hidden: 64 images, 10 categories, large logits", _case(902, 64, 10, 20.0)),
    _Case("hidden: 8 images, 4 categories, logits in the hundreds", _case(903, 8, 4, 300.0)),
    _Case("hidden: 5 images, 3 categories, logits in the thousands", _case(904, 5, 3, 3000.0)),
    _Case("hidden: float64 logits in the hundreds, 6 images, 7 categories", _case(905, 6, 7, 400.0, _torch.float64)),
])
