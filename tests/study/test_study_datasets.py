"""The datasets the study adds: MNIST-1D at a fixed test protocol, two scikit-learn tables."""

from __future__ import annotations

import numpy as np
import pytest

from archscale.errors import SpecError
from archscale.measure.datasets import load_dataset


@pytest.mark.parametrize("name, features, classes, train, test",
                         [("breast_cancer", 30, 2, 398, 171), ("wine", 13, 3, 124, 54)])
def test_tabular_sets_are_standardised_on_the_training_split(name, features, classes, train,
                                                             test):
    data = load_dataset(name)
    assert data.input_shape == (features,) and data.classes == classes
    assert (len(data.x_train), len(data.x_test)) == (train, test)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-4)
    assert abs(data.x_test.mean()) > 1e-4          # scaled with the training statistics only
    counts = np.bincount(data.y_train) / len(data.y_train)
    np.testing.assert_allclose(counts, np.bincount(data.y_test) / len(data.y_test), atol=0.02)


def test_mnist1d_training_sizes_share_one_test_set():
    small = load_dataset("mnist1d", train_samples=1000)
    large = load_dataset("mnist1d", train_samples=4000)
    assert small.x_train.shape == (1000, 40) and large.x_train.shape == (4000, 40)
    np.testing.assert_array_equal(small.x_train, large.x_train[:1000])
    np.testing.assert_array_equal(small.x_test, large.x_test)
    assert small.x_test.shape == (16000, 40)
    seq = load_dataset("mnist1d_seq", train_samples=1000)
    np.testing.assert_array_equal(seq.x_train[..., 0], small.x_train)


def test_mnist1d_training_size_out_of_range():
    with pytest.raises(SpecError, match="train_samples must be between 50 and 64000"):
        load_dataset("mnist1d", train_samples=64001)
    with pytest.raises(SpecError, match="unknown option 'train'"):
        load_dataset("wine", train=3)
