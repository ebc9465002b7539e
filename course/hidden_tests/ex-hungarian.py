import numpy as _np
from infogan_tutorial.exercises import Case as _Case
from infogan_tutorial.exercises import check_matched_accuracy as _check


def _case(seed, n, merge):
    def make():
        r = _np.random.default_rng(seed)
        labels = r.choice(10, n, p=_np.arange(1, 11) / 55)  # classes of different sizes
        clusters = r.permutation(10)[labels]
        clusters[_np.isin(labels, merge)] = clusters[labels == merge[0]][0] if (labels == merge[0]).any() else 0
        noise = r.random(n) < 0.2
        clusters[noise] = r.integers(0, 10, noise.sum())
        return clusters, labels
    return make


_check(matched_accuracy, graded=True, cases=[
    _Case("hidden: 200 items, unequal classes, digits 8 and 9 merged", _case(941, 200, [8, 9])),
    _Case("hidden: 37 items, unequal classes, digits 2, 5 and 7 merged", _case(942, 37, [2, 5, 7])),
    _Case("hidden: 2,000 items, unequal classes, digits 8 and 9 merged", _case(943, 2000, [8, 9])),
])
