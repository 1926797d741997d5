"""The headroom probe's figures, exactly: against an independent scikit-learn reference on
random data, and its helpers at hand-built points (ties, chunks, degenerate hold-outs).

``test_difficulty`` shows the probe separates easy from hard data; this file pins every figure
it reports, so a changed split, scale, penalty, distance or vote fails a test.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsClassifier

from archscale.errors import SpecError
from archscale.heuristics import difficulty
from archscale.heuristics.difficulty import (HOLDOUT_FRACTION, MAX_FEATURES, MAX_HOLDOUT,
                                             MAX_REFERENCE, NEIGHBOURS, RIDGE_PENALTY,
                                             probe_data)


def _reference(x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """The probe re-derived with scikit-learn: the same split, projection and scaling, a ridge
    on one-hot targets with a penalised bias column, and a brute-force 5-NN vote (two classes
    only, so a vote never ties and the tie rule does not matter)."""
    n = len(x)
    flat = x.reshape(n, -1).astype(np.float64)
    order = np.random.default_rng(seed).permutation(n)
    held = max(4, min(MAX_HOLDOUT, int(round(HOLDOUT_FRACTION * n))))
    ref, hold = order[held:held + MAX_REFERENCE], order[:held]
    xr, xh = flat[ref], flat[hold]
    if flat.shape[1] > MAX_FEATURES:
        proj = np.random.default_rng(seed + 1).standard_normal((flat.shape[1], MAX_FEATURES))
        xr, xh = xr @ proj, xh @ proj
    mean, std = xr.mean(axis=0), xr.std(axis=0)
    std[std < 1e-8] = 1.0
    xr, xh = (xr - mean) / std, (xh - mean) / std
    classes = np.unique(y)
    yr = np.searchsorted(classes, y[ref])
    yh = np.searchsorted(classes, y[hold])
    ones_r, ones_h = np.ones((len(xr), 1)), np.ones((len(xh), 1))
    ridge = Ridge(alpha=RIDGE_PENALTY, fit_intercept=False, solver="cholesky")
    ridge.fit(np.hstack([xr, ones_r]), np.eye(len(classes))[yr])
    linear = float(np.mean(ridge.predict(np.hstack([xh, ones_h])).argmax(axis=1) == yh))
    knn = KNeighborsClassifier(n_neighbors=NEIGHBOURS, algorithm="brute").fit(xr, yr)
    neighbour = float(np.mean(knn.predict(xh) == yh))
    majority = float(np.bincount(yh).max() / len(yh))
    best = max((linear - majority) / (1 - majority), (neighbour - majority) / (1 - majority))
    return {"linear": round(linear, 4), "neighbour": round(neighbour, 4),
            "majority": round(majority, 4), "headroom": round(min(1.0, max(0.0, 1 - best)), 4),
            "holdout": len(yh), "reference": len(yr), "features": xr.shape[1]}


def _noisy(n: int, dims: int, seed: int, scales: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Two classes, overlapping: every probe errs somewhere. ``scales`` spreads the features'
    standard deviations over three decades (only standardisation makes them comparable)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n) * 3 + 2       # labels 2 and 5: the probe re-numbers them
    signal = 0.6 * min(1.0, (8 / dims) ** 0.5)     # about 1.7 std between the classes
    x = rng.normal(size=(n, dims)) + signal * (y[:, None] == 5) * rng.normal(1, 0.3, dims)
    if scales:
        x *= np.logspace(-3, 0, dims)
    return x, y


def _as_dict(probe) -> dict[str, float]:
    return {"linear": probe.linear_accuracy, "neighbour": probe.neighbour_accuracy,
            "majority": probe.majority_accuracy, "headroom": probe.headroom,
            "holdout": probe.holdout, "reference": probe.reference, "features": probe.features}


@pytest.mark.parametrize("n, dims, seed, scales", [
    (37, 25, 0, False),     # more features than a ridge without its penalty could fit
    (93, 6, 3, True),       # hold-out of 19: accuracies with more than four decimals
    (3100, 8, 1, False),    # hold-out of 620: two chunks of the neighbour search
    (240, 1024, 2, False),  # exactly MAX_FEATURES: not projected
    (160, 1300, 4, False),  # wider: projected to MAX_FEATURES
])
def test_every_figure_equals_the_scikit_learn_reference(n, dims, seed, scales):
    x, y = _noisy(n, dims, seed, scales)
    got, want = _as_dict(probe_data(x, y, seed=seed)), _reference(x, y, seed)
    assert got == want
    assert 0 < want["headroom"] < 1 and 0 < want["linear"] < 1 and 0 < want["neighbour"] < 1


def test_split_sizes_at_the_edges():
    x, y = _noisy(20, 3, 0)                                  # the fewest examples accepted
    assert (probe_data(x, y).holdout, probe_data(x, y).reference) == (4, 16)
    x, y = _noisy(21000, 2, 0)                               # both caps bind
    probe = probe_data(x, y)
    assert (probe.holdout, probe.reference) == (MAX_HOLDOUT, MAX_REFERENCE)
    assert _as_dict(probe) == _reference(x, y)


def test_a_constant_feature_changes_nothing():
    x, y = _noisy(300, 5, 7)
    padded = np.hstack([x, np.full((300, 1), 3.0)])
    assert _as_dict(probe_data(padded, y)) == {**_as_dict(probe_data(x, y)), "features": 6}


def test_column_labels_and_two_class_one_hot_equal_plain_labels():
    x, y = _noisy(200, 4, 5)
    plain = _as_dict(probe_data(x, y))
    assert _as_dict(probe_data(x, y.reshape(-1, 1))) == plain
    one_hot = np.eye(2)[(y == 5).astype(int)]
    assert _as_dict(probe_data(x, one_hot)) == plain


def test_worse_than_the_majority_is_all_the_headroom():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(400, 30))
    y = (rng.random(400) < 0.15).astype(int)                 # 85 % one class, labels random
    want = _reference(x, y)
    assert want["linear"] < want["majority"] and want["neighbour"] < want["majority"]
    assert probe_data(x, y).headroom == want["headroom"] == 1.0


def test_nearer_neighbours_break_a_tied_vote():
    xr = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [100.0]])
    # from the query at 0: ranks 0..4 -> classes 1, 1, 0, 0, 2: 1 and 0 tie at two votes
    yr = np.array([1, 1, 0, 0, 2, 0])
    xh, yh = np.array([[-0.1]]), np.array([1])
    assert difficulty._neighbour_accuracy(xr, yr, xh, yh, 3) == 1.0
    # ranks 0..4 -> 1, 0, 0, 2, 1: 0 (ranks 1, 2) and 1 (ranks 0, 4) tie; the weights
    # 1 + 1e-6 x (5 - rank) sum to more for the pair nearer on the whole, class 0
    assert difficulty._neighbour_accuracy(xr, np.array([1, 0, 0, 2, 1, 0]), xh,
                                          np.array([0]), 3) == 1.0


def test_the_vote_is_a_count_not_a_weighting_by_rank():
    # ranks 0, 1 -> class 1; ranks 2, 3, 4 -> class 0: three votes beat two nearer ones
    xr = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    xh = np.array([[-0.1]])
    assert difficulty._neighbour_accuracy(xr, np.array([1, 1, 0, 0, 0]), xh,
                                          np.array([0]), 2) == 1.0


def test_every_chunk_of_the_hold_out_counts():
    xr = np.arange(10, dtype=float).reshape(-1, 1)
    yr = (np.arange(10) >= 5).astype(int)
    xh = np.repeat(np.array([[0.2], [8.7]]), [700, 500], axis=0)   # 1,200: three chunks
    yh = np.repeat(np.array([0, 1]), [700, 500])
    yh[:30] = 1                                                      # 30 wrong, all in chunk 1
    assert difficulty._neighbour_accuracy(xr, yr, xh, yh, 2) == 1170 / 1200


def test_a_single_class_hold_out_is_solved():
    assert difficulty._normalised(0.5, 1.0) == 1.0
    assert difficulty._normalised(1.0, 1.0) == 1.0
    assert difficulty._normalised(0.7, 0.4) == pytest.approx(0.5)


@pytest.mark.parametrize("x, y, message", [
    (np.float64(3.0), [1], "the probe needs at least 20 training examples. Received: 0"),
    (np.zeros((19, 2)), np.arange(19) % 2,
     "the probe needs at least 20 training examples. Received: 19"),
    (np.full((30, 2), np.nan), np.arange(30) % 2,
     "the probe needs finite inputs. Received: NaN or infinite values"),
    (np.zeros((30, 2)), -(np.arange(30) % 2),
     "the probe needs class labels (whole numbers >= 0); regression targets have no headroom. "
     "Received: non-integer labels"),
    (np.zeros((30, 2)), np.arange(30) % 2 + 0.5,
     "the probe needs class labels (whole numbers >= 0); regression targets have no headroom. "
     "Received: non-integer labels"),
    (np.zeros((30, 2)), np.ones(30),
     "the probe needs at least 2 classes in the labels. Received: 1"),
    (np.zeros((30, 2)), np.arange(29) % 2,
     "the probe needs one label per example. Received: 30 examples, 29 labels"),
])
def test_errors_word_for_word(x, y, message):
    with pytest.raises(SpecError) as err:
        probe_data(x, y)
    assert str(err.value) == message


def test_exactly_twenty_examples_are_enough():
    x, y = _noisy(20, 2, 1)
    assert probe_data(x, y).holdout == 4
