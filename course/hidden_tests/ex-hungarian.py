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


def _missing(seed, n, absent):
    def make():  # the labels skip `absent`; the largest class sits in category 9
        r = _np.random.default_rng(seed)
        present = _np.setdiff1d(_np.arange(10), absent)
        labels = r.choice(present, n, p=_np.arange(1, len(present) + 1) / _np.arange(1, len(present) + 1).sum())
        order = _np.argsort(-_np.bincount(labels, minlength=10), kind="stable")  # largest class first
        category = _np.empty(10, dtype=int)
        category[order] = [9, *r.permutation(9)]
        clusters = category[labels]
        noise = r.random(n) < 0.1
        clusters[noise] = r.integers(0, 10, noise.sum())
        return clusters, labels
    return make


def _narrow(seed, n):
    def make():
        clusters, labels = _case(seed, n, [0])()
        return (1 + clusters % 8).astype(_np.int32), labels.astype(_np.int32)
    return make


_check(matched_accuracy, graded=True, cases=[
    _Case("hidden: 200 items, unequal classes, digits 8 and 9 merged", _case(941, 200, [8, 9])),
    _Case("hidden: 37 items, unequal classes, digits 2, 5 and 7 merged", _case(942, 37, [2, 5, 7])),
    _Case("hidden: 2,000 items, unequal classes, digits 8 and 9 merged", _case(943, 2000, [8, 9])),
    _Case("hidden: 300 items, no label 7 or 9 at all, categories 0..9", _missing(944, 300, [7, 9])),
    _Case("hidden: int32 arrays, 500 items, categories 1..8 only", _narrow(945, 500)),
])
