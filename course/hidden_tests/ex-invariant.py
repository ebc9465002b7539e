import torch as _torch
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_invariant_information as _check


def _case(seed, n, k, sharpness):
    def make():
        g = _torch.Generator().manual_seed(seed)
        logits = sharpness * _torch.randn(n, k, generator=g)
        return logits.softmax(1), (logits + 2 * _torch.randn(n, k, generator=g)).softmax(1)
    return make


def _sure(categories, moved, k):
    """One-hot p and p_moved: P has zero entries (0 log 0 counts as 0)."""
    def make():
        eye = _torch.eye(k)
        return eye[_torch.tensor(categories)], eye[_torch.tensor(moved)]
    return make


_check(invariant_information, graded=True, cases=[
    _Case("hidden: 3 images, 12 categories", _case(991, 3, 12, 4.0)),
    _Case("hidden: 50 images, 2 categories", _case(992, 50, 2, 1.0)),
    _Case("hidden: 7 sure images, 5 categories, one never used",
          _sure([0, 1, 2, 3, 0, 1, 2], [0, 1, 3, 3, 0, 2, 2], 5)),
])
