import numpy as _np
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_per_class_accuracy as _check


def _counts(seed, k):
    def make():
        r = _np.random.default_rng(seed)
        sizes = r.integers(1, 200, k)
        return (_np.stack([r.multinomial(s, r.dirichlet(_np.ones(k))) for s in sizes]),)
    return make


_check(per_class_accuracy, graded=True, cases=[
    _Case("hidden: a 6 x 6 matrix, rows of very different sizes", _counts(981, 6)),
    _Case("hidden: a 2 x 2 matrix", lambda: (_np.array([[3, 9], [1, 0]]),)),
    _Case("hidden: a 4 x 4 matrix, one class without images",
          lambda: (_np.array([[5, 1, 0, 2], [0, 7, 1, 0], [0, 0, 0, 0], [1, 0, 2, 9]]),)),
])
