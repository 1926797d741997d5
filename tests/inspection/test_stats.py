"""Activation statistics: known rank, dead units, streaming == in-memory, spatial concentration."""

import numpy as np
import pytest

from archscale.errors import SpecError
from archscale.inspection.stats import (MAX_UNITS, StreamingMoments, effective_dims,
                                        stats_of_array)


def low_rank(n: int, units: int, rank: int, noise: float, seed: int = 0) -> np.ndarray:
    """``rank`` orthonormal directions with standard deviations between 1 and 2, plus small
    isotropic noise and a large mean (which the centring must remove)."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(units, rank)))
    scales = np.linspace(1.0, 2.0, rank)
    return (rng.normal(size=(n, rank)) * scales) @ basis.T + \
        noise * rng.normal(size=(n, units)) + 3.0


@pytest.mark.parametrize("rank", [1, 5, 17, 40])
def test_99_percent_dimension_equals_the_rank(rank):
    stats = stats_of_array(low_rank(3000, 96, rank, noise=1e-3), batch_size=256)
    assert stats.dims[0.99] == rank
    assert stats.dims[0.90] <= stats.dims[0.95] <= rank
    assert 1 <= stats.participation_ratio <= rank + 0.01


def test_full_rank_noise_needs_most_components():
    stats = stats_of_array(np.random.default_rng(1).normal(size=(5000, 32)))
    assert stats.dims[0.99] >= 30
    assert stats.participation_ratio > 28


def test_dead_units_and_sparsity_on_constructed_relu_activations():
    rng = np.random.default_rng(2)
    acts = np.maximum(rng.normal(size=(500, 20)), 0.0)
    acts[:, [3, 7, 11]] = 0.0  # never active
    acts[:250, 5] = 0.0  # active on half the sample only: not dead
    stats = stats_of_array(acts, batch_size=64)
    assert stats.dead_units == 3
    assert stats.dead_fraction == pytest.approx(3 / 20)
    assert stats.sparsity == pytest.approx(np.mean(acts == 0))


@pytest.mark.parametrize("batch", [1, 7, 100, 1000])
def test_streaming_statistics_equal_the_in_memory_ones(batch):
    acts = np.maximum(low_rank(1000, 24, 6, noise=0.3, seed=3) - 3.2, 0)
    stream = stats_of_array(acts, batch_size=batch)
    eig = np.linalg.eigvalsh(np.cov(acts, rowvar=False))[::-1]
    ratio, dims = effective_dims(eig)
    assert stream.mean == pytest.approx(acts.mean(), rel=1e-9)
    assert stream.std == pytest.approx(acts.std(), rel=1e-9)
    assert np.allclose(stream.eigenvalues, np.clip(eig, 0, None), rtol=1e-6, atol=1e-9)
    assert stream.participation_ratio == pytest.approx(ratio, rel=1e-6)
    assert dict(stream.dims) == dims
    assert stream.sparsity == pytest.approx(np.mean(acts == 0))


def test_conv_maps_use_channels_as_units_and_positions_as_samples():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(50, 10, 8))  # (examples, length, channels)
    stats = stats_of_array(maps, batch_size=16)
    flat = stats_of_array(maps.reshape(-1, 8))
    assert stats.units == 8 and stats.positions == 10 and stats.examples == 50
    assert np.allclose(stats.eigenvalues, flat.eigenvalues)


def test_spatial_concentration_flags_maps_with_mass_at_one_position():
    peaked = np.zeros((20, 16, 4))
    peaked[np.arange(20), np.arange(20) % 16, :] = 1.0
    spread = np.ones((20, 16, 4)) + 0.01 * np.random.default_rng(5).random((20, 16, 4))
    assert stats_of_array(peaked).spatial_concentration == pytest.approx(1.0)
    assert stats_of_array(peaked).localised
    assert stats_of_array(spread).spatial_concentration == pytest.approx(0.0, abs=1e-4)
    assert not stats_of_array(spread).localised
    assert stats_of_array(np.ones((5, 3))).spatial_concentration is None


def test_zero_variance_and_bad_shapes():
    stats = stats_of_array(np.zeros((10, 4)))
    assert stats.dims[0.99] == 0 and stats.participation_ratio == 0 and stats.dead_units == 4
    with pytest.raises(SpecError, match="Received: units="):
        StreamingMoments(units=MAX_UNITS + 1)
    moments = StreamingMoments(units=3)
    with pytest.raises(SpecError, match="units"):
        moments.update(np.zeros((4, 5)))
