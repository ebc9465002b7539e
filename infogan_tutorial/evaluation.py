"""Evaluation: did c1 learn digit identity, and how large is L_I?

Q's categorical head assigns every real image to one of K categories. Nothing ties
category 3 to the digit 3 (the codes were learned without labels), so we match
categories to labels with the Hungarian algorithm: the one-to-one assignment that
maximises the number of agreements. The accuracy under that matching is the book's version
of the unsupervised classification accuracy the paper reports (about 95 % on MNIST; the paper
does not say how it matched categories to digits).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from .data import check_images, random_affine
from .errors import SpecError
from .latent_codes import MAX_SAMPLE, LatentSpec, check_generator
from .devices import usable_device
from .networks import Discriminator, Generator, QOutput, check_network, eval_mode
from .objectives import InfoBound, info_lower_bound, invariant_information


@dataclass
class ClusterAccuracy:
    """Accuracy of a clustering after the best one-to-one matching of clusters to labels.

    Attributes:
        accuracy: fraction of items whose matched cluster equals their label.
        n: number of items.
        confusion: (n_labels, n_labels) counts; row = true label, column = matched cluster's label.
        mapping: mapping[k] = the label that cluster k is matched to.
    """

    accuracy: float
    n: int
    confusion: np.ndarray
    mapping: np.ndarray

    def __eq__(self, other: object) -> bool:
        """Equal when every field is (the arrays element by element), as two scorings of the same clustering are."""
        if not isinstance(other, ClusterAccuracy):
            return NotImplemented
        return (self.accuracy == other.accuracy and self.n == other.n and np.array_equal(self.confusion, other.confusion)
                and np.array_equal(self.mapping, other.mapping))

    def to_dict(self) -> dict:
        """The fields as plain JSON-ready values (lists for the arrays)."""
        return {"accuracy": self.accuracy, "n": self.n, "confusion": self.confusion.tolist(),
                "mapping": self.mapping.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> ClusterAccuracy:
        """The inverse of :meth:`to_dict` (e.g. for scores stored as JSON); a :class:`SpecError` for anything else."""
        try:
            result = cls(float(d["accuracy"]), int(d["n"]), np.array(d["confusion"]), np.array(d["mapping"]))
        except (TypeError, KeyError, ValueError) as e:
            raise SpecError(f"ClusterAccuracy.from_dict needs a dict with accuracy, n, confusion and mapping as "
                            f"to_dict writes them, got {type(d).__name__} ({type(e).__name__}: {e}).") from e
        c = result.confusion
        matched = [int(v) for v in np.ravel(result.mapping) if v >= 0]  # the label of each matched category
        problem = (
            "accuracy is not a fraction from 0 to 1" if not 0.0 <= result.accuracy <= 1.0 else
            "confusion is not a square table of counts >= 0" if c.ndim != 2 or c.shape[0] != c.shape[1] or not c.size
            or not np.issubdtype(c.dtype, np.number) or (c < 0).any() else
            f"confusion counts {int(c.sum())} items, not n = {result.n}" if int(c.sum()) != result.n else
            f"accuracy {result.accuracy:g} is not the confusion's diagonal share "
            f"{float(np.trace(c)) / result.n:g}" if result.n and abs(result.accuracy - np.trace(c) / result.n) > 1e-6
            else "mapping sends two categories to one label (a matching is one-to-one)"
            if len(set(matched)) != len(matched) else None)
        if problem:
            raise SpecError(f"ClusterAccuracy.from_dict: {problem}; pass what to_dict wrote, unchanged.")
        return result


def _whole_numbers(values: Tensor | np.ndarray, name: str) -> np.ndarray:
    if isinstance(values, Tensor) and values.is_meta:
        raise SpecError(f"{name} are on the meta device (a shape without values); pass real ids, e.g. a dataset's "
                        "labels.")
    array = np.asarray(values.detach().cpu() if isinstance(values, Tensor) else values)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise SpecError(f"{name} must hold integer ids, got dtype {array.dtype}.")
    if np.issubdtype(array.dtype, np.floating) and not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise SpecError(f"{name} must hold whole numbers (cluster or label ids), got non-integer values such as "
                        f"{array[~(np.isfinite(array) & (array == np.round(array)))][:3].tolist()}; take argmax first.")
    return array.astype(np.int64)


MAX_TABLE = 10_000_000
"""The largest clusters x labels table :func:`hungarian_accuracy` builds (ids are used as indices)."""


def _count(value: object, name: str, low: int = 1) -> int:
    """A whole number >= ``low`` (a NumPy integer too), or a :class:`SpecError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < low:
        raise SpecError(f"{name} must be a whole number >= {low}, got {value!r}.")
    return int(value)


def hungarian_accuracy(clusters: Tensor | np.ndarray, labels: Tensor | np.ndarray,
                       n_clusters: int | None = None, n_labels: int | None = None) -> ClusterAccuracy:
    """Match clusters to labels one-to-one (``scipy.optimize.linear_sum_assignment``) and score.

    ``clusters`` and ``labels`` are 1-D integer arrays of the same length. With more clusters
    than labels, the unmatched clusters count as errors.
    """
    clusters = _whole_numbers(clusters, "clusters")
    labels = _whole_numbers(labels, "labels")
    if clusters.ndim != 1 or clusters.shape != labels.shape or clusters.size == 0:
        raise SpecError(f"clusters and labels must be non-empty 1-D arrays of equal length, got shapes "
                        f"{clusters.shape} and {labels.shape}.")
    if clusters.min() < 0 or labels.min() < 0:
        raise SpecError("clusters and labels must be non-negative integers.")
    k = _count(n_clusters, "n_clusters") if n_clusters is not None else int(clusters.max()) + 1
    m = _count(n_labels, "n_labels") if n_labels is not None else int(labels.max()) + 1
    if clusters.max() >= k or labels.max() >= m:
        raise SpecError(f"cluster ids must be below n_clusters = {k} and labels below n_labels = {m}; got ids up to "
                        f"{clusters.max()} and labels up to {labels.max()}.")
    if k * m > MAX_TABLE or m * m > MAX_TABLE:
        raise SpecError(f"cluster ids up to {k - 1} and labels up to {m - 1} would need a {k:,} x {m:,} table; ids "
                        "are used as indices, so number them 0, 1, 2, ... first (np.unique(x, return_inverse=True)).")
    counts = np.zeros((k, m), dtype=np.int64)  # counts[cluster, label]
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = np.full(k, -1, dtype=np.int64)
    mapping[rows] = cols
    matched = mapping[clusters]
    accuracy = float((matched == labels).mean())
    confusion = np.zeros((m, m), dtype=np.int64)
    ok = matched >= 0
    np.add.at(confusion, (labels[ok], matched[ok]), 1)
    return ClusterAccuracy(accuracy, int(labels.size), confusion, mapping)


@torch.no_grad()
def predict_categories(D: Discriminator, images: Tensor, code: int = 0, batch_size: int = 1000) -> Tensor:
    """argmax_k Q(c_code = k | x) for every image (N, 1, 28, 28) in [-1, 1]; D in eval mode.

    ``images`` may be a tensor or a NumPy array of any float dtype, on any device; integer pixels,
    another scale (e.g. [0, 1] or 0..255), another shape or no images raise :class:`SpecError`
    (:func:`~infogan_tutorial.data.check_images`).
    """
    check_network(D, "D", "predict_categories")
    code = _count(code, "code", low=0)
    batch_size = _count(batch_size, "batch_size")
    if D.spec.n_categorical == 0:
        raise SpecError(f"this model has no categorical code ({D.spec}): there is no c1 whose categories could be "
                        "scored as classes; only a model with a categorical code can be evaluated this way.")
    if not 0 <= code < D.spec.n_categorical:
        raise SpecError(f"code index {code} is out of range: the spec has {D.spec.n_categorical} categorical codes.")
    images = check_images(images, "predict_categories")
    device = next(D.parameters()).device
    with eval_mode(D):
        preds = [D.q(images[i:i + batch_size].to(device)).logits[code].argmax(1).cpu()
                 for i in range(0, images.shape[0], batch_size)]
    return torch.cat(preds)


@torch.no_grad()
def invariant_score(D: Discriminator, images: Tensor, moves: int = 2, seed: int = 0, batch_size: int = 1000) -> float:
    """I(ĉ; ĉ') of Q's categories on real images (N, 1, 28, 28) in [-1, 1] and randomly moved copies, in nats:
    a score of a trained run that needs **no labels**.

    The mean over ``moves`` draws of :func:`~infogan_tutorial.data.random_affine` (from a generator seeded with
    ``seed``, so two runs are scored on the same moves) of
    :func:`~infogan_tutorial.objectives.invariant_information` over all N images, D in eval mode. It is at most
    H(ĉ) <= ln K and is high when Q sorts the images into sure, equally used categories that survive small moves:
    a run whose categories merge two digits (one category for both, two half-used ones for another) or split
    one by style scores lower. Chapter 7b keeps, of several runs, the one with the highest score.
    """
    check_network(D, "D", "invariant_score")
    moves, batch_size = _count(moves, "moves"), _count(batch_size, "batch_size")
    images = check_images(images, "invariant_score").cpu()  # moved on the CPU, with the CPU generator
    device = next(D.parameters()).device
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
        raise SpecError(f"invariant_score: seed must be a whole number from 0 to 2**63 - 1, got {seed!r}.")
    generator = torch.Generator().manual_seed(int(seed))

    def q_of(x: Tensor) -> QOutput:
        parts = [D.q(x[i:i + batch_size].to(device)) for i in range(0, x.shape[0], batch_size)]
        return QOutput([torch.cat([p.logits[j] for p in parts]).cpu() for j in range(len(parts[0].logits))],
                       torch.cat([p.mean for p in parts]).cpu(), torch.cat([p.log_std for p in parts]).cpu())

    with eval_mode(D):
        q = q_of(images)
        return sum(float(invariant_information(q, q_of(random_affine(images, generator, check_range=False))))
                   for _ in range(moves)) / moves


@torch.no_grad()
def categorical_accuracy(D: Discriminator, images: Tensor, labels: Tensor, code: int = 0) -> ClusterAccuracy:
    """Q's categorical code ``code`` as an unsupervised classifier of labelled real images (N, 1, 28, 28) in
    [-1, 1] (see :func:`predict_categories`); ``labels``: N whole numbers >= 0."""
    check_network(D, "D", "categorical_accuracy")
    labels = _whole_numbers(labels, "labels")
    images = check_images(images, "categorical_accuracy")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise SpecError(f"categorical_accuracy: {images.shape[0]} images but labels of shape {labels.shape}; pass one "
                        "label per image.")
    preds = predict_categories(D, images, code)
    k = D.spec.categorical[_count(code, "code", low=0)]
    return hungarian_accuracy(preds, labels, n_clusters=k, n_labels=max(k, int(labels.max()) + 1))


@dataclass
class FreshSampleScore:
    """What Q reads back from ``n`` fresh samples x = G(z, c).

    Attributes:
        bound: L_I = E[log Q(c | x)] + H(c), per code type (nats).
        c1_accuracy: fraction of samples whose argmax_k Q(c1 = k | x) is the c1 that made x
            (``nan`` without categorical codes).
        n: number of samples.
    """

    bound: InfoBound
    c1_accuracy: float
    n: int


@torch.no_grad()
def score_fresh_samples(G: torch.nn.Module, Q: Discriminator, spec: LatentSpec, n: int,
                        generator: torch.Generator | None = None, batch_size: int = 500,
                        device: torch.device | None = None) -> FreshSampleScore:
    """L_I and c1's recovery rate of Q on ``n`` fresh samples, drawn ``batch_size`` at a time.

    G and Q are used as they are (the caller chooses their modes); the codes are drawn from
    ``generator`` and moved to ``device`` (default: that of G's parameters).
    """
    check_network(G, "G", "score_fresh_samples", spec)
    check_network(Q, "D", "score_fresh_samples (its Q)")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise SpecError(f"need n >= 1 fresh samples to score, got {n!r}.")
    if n > MAX_SAMPLE:
        raise SpecError(f"n = {n:,} fresh samples would take hours; at most {MAX_SAMPLE:,} are scored (a few thousand "
                        "already give L_I to about 0.01 nats).")
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise SpecError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    n, batch_size = int(n), int(batch_size)
    if device is None:
        first = next(G.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = usable_device(device)
    check_generator(generator, "score_fresh_samples", device)
    cat = cont = hits = 0.0
    done = 0
    while done < n:
        m = min(batch_size, n - done)
        codes = spec.sample(m, generator, device=device)
        q = Q.q(G(codes))
        bound = info_lower_bound(q, codes, spec)
        cat += float(bound.categorical) * m
        cont += float(bound.continuous) * m
        if spec.n_categorical:
            hits += float((q.logits[0].argmax(dim=1) == codes.categorical[:, 0]).sum())
        done += m
    accuracy = hits / n if spec.n_categorical else float("nan")
    return FreshSampleScore(InfoBound(torch.tensor(cat / n), torch.tensor(cont / n)), accuracy, n)


def estimate_info_bound(G: Generator, D: Discriminator, spec: LatentSpec, n: int = 2000,
                        generator: torch.Generator | None = None, batch_size: int = 500) -> InfoBound:
    """L_I = E[log Q(c | G(z, c))] + H(c) on ``n`` fresh samples (eval mode), per code type."""
    check_network(G, "G", "estimate_info_bound", spec)  # named here, not by the helper below
    check_network(D, "D", "estimate_info_bound")
    with eval_mode(G, D):
        return score_fresh_samples(G, D, spec, n, generator, batch_size).bound
