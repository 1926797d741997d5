"""Token models get valid IDs in the latency and memory harness's random batches."""

from __future__ import annotations

import pytest

import archscale

pytestmark = pytest.mark.tf


def test_random_batch_draws_ids_below_the_smallest_embedding_table():
    from archscale.measure.latency import random_batch, token_limit

    spec = archscale.preset("mnist1d_cnn").replace(input_shape=(20,), vocab=37, embedding_dim=8)
    model = archscale.build(spec)
    assert token_limit(model) == 37
    x, y = random_batch(model, 64)
    ids = x.numpy()
    assert ids.dtype.kind == "i" and ids.min() >= 0 and ids.max() < 37 and ids.max() > 20
    assert model(x).shape == (64, 10)
