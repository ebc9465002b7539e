import math

import numpy as np
import pytest
import torch

from infogan_tutorial.errors import SpecError
from infogan_tutorial.evaluation import ClusterAccuracy, categorical_accuracy, estimate_info_bound, hungarian_accuracy
from infogan_tutorial.latent_codes import LatentSpec
from infogan_tutorial.networks import build_networks


def test_permuted_labels_are_matched_perfectly():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    perm = rng.permutation(10)
    result = hungarian_accuracy(perm[labels], labels)
    assert result.accuracy == 1.0 and result.n == 500
    assert (result.mapping[perm] == np.arange(10)).all()
    assert (result.confusion == np.diag(np.bincount(labels, minlength=10))).all()


def test_partial_agreement_has_the_known_accuracy():
    # clusters 0,1 swapped relative to labels; one item in cluster 2 is wrong
    clusters = np.array([1, 1, 1, 0, 0, 2, 2, 2])
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 1])
    result = hungarian_accuracy(clusters, labels)
    assert result.accuracy == pytest.approx(7 / 8)
    assert result.mapping.tolist() == [1, 0, 2]
    assert result.confusion.sum() == 8 and result.confusion[1, 2] == 1


def test_many_to_one_clustering_cannot_score_above_one_cluster_per_label():
    labels = np.repeat(np.arange(4), 10)
    clusters = np.zeros(40, dtype=int)  # everything in one cluster
    assert hungarian_accuracy(clusters, labels, n_clusters=4).accuracy == pytest.approx(0.25)


def test_bad_inputs_raise():
    with pytest.raises(SpecError, match="equal length"):
        hungarian_accuracy(np.zeros(3, int), np.zeros(4, int))
    with pytest.raises(SpecError, match="non-negative"):
        hungarian_accuracy(np.array([-1, 0]), np.array([0, 0]))


def test_categorical_accuracy_and_info_bound_of_an_untrained_model():
    spec = LatentSpec()
    G, D = build_networks(spec, seed=0)
    images, labels = torch.rand(60, 1, 28, 28) * 2 - 1, torch.arange(60) % 10
    result = categorical_accuracy(D, images, labels)
    assert result.n == 60 and 0 <= result.accuracy <= 1 and result.confusion.shape == (10, 10)
    assert D.training  # left as it was
    bound = estimate_info_bound(G, D, spec, n=300, generator=torch.Generator().manual_seed(0))
    assert float(bound.categorical) <= math.log(10)
    assert abs(float(bound.categorical)) < 0.2  # an untrained Q knows almost nothing about c1


def test_cluster_accuracy_round_trips_through_json():
    import json
    result = hungarian_accuracy(np.array([1, 1, 0, 2, 2, 0]), np.array([0, 0, 1, 2, 2, 2]))
    back = ClusterAccuracy.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.accuracy == result.accuracy and back.n == result.n == 6
    np.testing.assert_array_equal(back.confusion, result.confusion)
    np.testing.assert_array_equal(back.mapping, result.mapping)


def test_invariant_score_reads_no_label_and_tells_a_trained_q_from_an_untrained_one():
    """The label-free score that keeps the best of several runs (issue 29): the pretrained model (98 % on MNIST's
    test split) sorts the held-out sample into sure, moved-alike categories; an untrained Q does not."""
    from infogan_tutorial.data import load_dataset
    from infogan_tutorial.evaluation import invariant_score
    from infogan_tutorial.pretrained import load_pretrained

    images = load_dataset("sample", "test", verbose=False).images[:500]
    trained = load_pretrained().D
    score = invariant_score(trained, images)
    assert 1.9 < score <= math.log(10) + 1e-6
    assert invariant_score(trained, images) == score  # the same moves: seeded
    assert invariant_score(trained, images, seed=1) != score
    _, untrained = build_networks(LatentSpec(), seed=0)
    assert 0 <= invariant_score(untrained, images) < 0.1
    with pytest.raises(SpecError, match="x / 127.5 - 1|\\[-1, 1\\]"):
        invariant_score(trained, (images + 1) * 127.5)
    with pytest.raises(SpecError, match="moves"):
        invariant_score(trained, images, moves=0)
    with pytest.raises(SpecError, match="seed"):
        invariant_score(trained, images, seed=2**70)
