"""Evaluation: did c1 learn digit identity, and how large is L_I?

Q's categorical head assigns every real image to one of K categories. Nothing ties
category 3 to the digit 3 (the codes were learned without labels), so we match
categories to labels with the Hungarian algorithm: the one-to-one assignment that
maximises the number of agreements. The accuracy under that matching is the
unsupervised classification accuracy the paper reports (about 95 % on MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from .errors import SpecError
from .latent_codes import LatentSpec
from .networks import Discriminator, Generator
from .objectives import InfoBound, info_lower_bound


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

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "n": self.n, "confusion": self.confusion.tolist(),
                "mapping": self.mapping.tolist()}


def hungarian_accuracy(clusters: Tensor | np.ndarray, labels: Tensor | np.ndarray,
                       n_clusters: int | None = None, n_labels: int | None = None) -> ClusterAccuracy:
    """Match clusters to labels one-to-one (``scipy.optimize.linear_sum_assignment``) and score.

    ``clusters`` and ``labels`` are 1-D integer arrays of the same length. With more clusters
    than labels, the unmatched clusters count as errors.
    """
    clusters = np.asarray(clusters.cpu() if isinstance(clusters, Tensor) else clusters).astype(np.int64)
    labels = np.asarray(labels.cpu() if isinstance(labels, Tensor) else labels).astype(np.int64)
    if clusters.ndim != 1 or clusters.shape != labels.shape or clusters.size == 0:
        raise SpecError(f"clusters and labels must be non-empty 1-D arrays of equal length, got shapes "
                        f"{clusters.shape} and {labels.shape}.")
    if clusters.min() < 0 or labels.min() < 0:
        raise SpecError("clusters and labels must be non-negative integers.")
    k = int(n_clusters if n_clusters is not None else clusters.max() + 1)
    m = int(n_labels if n_labels is not None else labels.max() + 1)
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
    """argmax_k Q(c_code = k | x) for every image (N, 1, 28, 28); D in eval mode."""
    if not 0 <= code < D.spec.n_categorical:
        raise SpecError(f"code index {code} is out of range: the spec has {D.spec.n_categorical} categorical codes.")
    was_training = D.training
    D.eval()
    device = next(D.parameters()).device
    preds = [D.q(images[i:i + batch_size].to(device)).logits[code].argmax(1).cpu()
             for i in range(0, images.shape[0], batch_size)]
    D.train(was_training)
    return torch.cat(preds)


def categorical_accuracy(D: Discriminator, images: Tensor, labels: Tensor, code: int = 0) -> ClusterAccuracy:
    """Q's categorical code ``code`` as an unsupervised classifier of labelled real images."""
    preds = predict_categories(D, images, code)
    k = D.spec.categorical[code]
    return hungarian_accuracy(preds, labels, n_clusters=k, n_labels=max(k, int(labels.max()) + 1))


@torch.no_grad()
def estimate_info_bound(G: Generator, D: Discriminator, spec: LatentSpec, n: int = 2000,
                        generator: torch.Generator | None = None, batch_size: int = 500) -> InfoBound:
    """L_I = E[log Q(c | G(z, c))] + H(c) on ``n`` fresh samples (eval mode), per code type."""
    device = next(G.parameters()).device
    modes = G.training, D.training
    G.eval()
    D.eval()
    cat = cont = 0.0
    done = 0
    while done < n:
        m = min(batch_size, n - done)
        codes = spec.sample(m, generator, device=device)
        bound = info_lower_bound(D.q(G(codes)), codes, spec)
        cat += float(bound.categorical) * m
        cont += float(bound.continuous) * m
        done += m
    G.train(modes[0])
    D.train(modes[1])
    return InfoBound(torch.tensor(cat / n), torch.tensor(cont / n))
