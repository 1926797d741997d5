"""Per-layer activation statistics, accumulated in batches (pure NumPy; scipy for eigenvalues).

A layer's output of shape ``(batch, *spatial, units)`` is read as samples of a ``units``-vector:
a dense layer gives one sample per example; a conv layer gives one sample per example and
spatial position (channels are the units, positions are samples), as in the usual treatment of
convolutional features (channel covariance over all positions).

``StreamingMoments`` keeps, per layer, only O(units^2) numbers however many batches it sees:
the count, the sum and the matrix of cross-products of the samples (shifted by the first
batch's mean, so that the centred covariance stays accurate when the mean is large), each
unit's maximum absolute value, the number of exact zeros, and, for maps with positions, the
running sum of each channel's normalised spatial entropy. ``LayerStats`` is computed from it:

- ``mean`` / ``std``: over every activation value of the sample.
- ``dead_fraction``: units whose output is zero (``|a| <= 1e-8``) on every sample (dead ReLUs).
- ``sparsity``: fraction of all activation values that are zero (``|a| <= 1e-8``).
- eigenvalues of the centred covariance (``scipy.linalg.eigvalsh``), descending:
  ``participation_ratio = (sum l)^2 / sum l^2`` (Gao et al. 2017; between 1 and ``units``) and
  ``dims[q]`` = the fewest principal components whose variance reaches ``q`` of the total
  (``q`` in 0.90, 0.95, 0.99).
- ``spatial_concentration`` (maps only): per example and channel the activation mass
  ``|a|`` over positions is a distribution ``p``; its entropy divided by ``log(positions)`` is
  1 for a map spread evenly and 0 for a map with all mass at one position. The score is
  ``1 - mean normalised entropy`` over examples and channels with any mass; a layer scores
  above ``LOCALISED`` is flagged as highly localised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from archscale.errors import SpecError

#: Variance fractions whose principal-component counts are reported.
VARIANCE_LEVELS = (0.90, 0.95, 0.99)
#: |a| at or below this counts as zero (ReLU outputs are exact zeros).
ZERO_TOL = 1e-8
#: Spatial concentration above this flags a layer's maps as highly localised: the maps'
#: effective support ``exp(entropy)`` is below ``positions ** 0.2`` (under 2 of 20 positions).
LOCALISED = 0.8
#: Widest layer whose covariance is accumulated (units^2 float64 = 128 MiB at 4096).
MAX_UNITS = 4096

__all__ = ["LOCALISED", "MAX_UNITS", "VARIANCE_LEVELS", "LayerStats", "StreamingMoments",
           "effective_dims", "layer_stats", "stats_of_array"]


def as_samples(batch: np.ndarray) -> np.ndarray:
    """``(batch, *spatial, units)`` -> ``(batch * positions, units)`` float64 samples."""
    array = np.asarray(batch, dtype=np.float64)
    if array.ndim < 2:
        raise SpecError(f"activations need a batch axis and a unit axis. "
                        f"Received: shape={array.shape}")
    return array.reshape(-1, array.shape[-1])


def _spatial_entropy_sums(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: sum over examples of the normalised entropy of ``|a|`` over positions,
    and the number of examples where the channel had any mass."""
    array = np.abs(np.asarray(batch, dtype=np.float64))
    mass = array.reshape(array.shape[0], -1, array.shape[-1])  # (batch, positions, channels)
    positions = mass.shape[1]
    total = mass.sum(axis=1)  # (batch, channels)
    has_mass = total > ZERO_TOL
    p = mass / np.where(has_mass, total, 1.0)[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -plogp.sum(axis=1) / math.log(positions)
    return np.where(has_mass, entropy, 0.0).sum(axis=0), has_mass.sum(axis=0)


@dataclass
class StreamingMoments:
    """Running moments of one layer's activations (bounded memory: O(units^2)).

    Attributes:
        units: Width of the layer (last axis).
        positions: Spatial positions per example (1 for dense outputs).
    """

    units: int
    positions: int = 1
    count: int = 0
    examples: int = 0
    shift: np.ndarray | None = None
    sum: np.ndarray = field(default=None)  # type: ignore[assignment]
    cross: np.ndarray = field(default=None)  # type: ignore[assignment]
    max_abs: np.ndarray = field(default=None)  # type: ignore[assignment]
    zeros: int = 0
    entropy_sum: np.ndarray = field(default=None)  # type: ignore[assignment]
    entropy_count: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.units > MAX_UNITS:
            raise SpecError(f"a layer wider than {MAX_UNITS} units is too wide to inspect "
                            f"(its covariance would not fit the memory bound). "
                            f"Received: units={self.units}")
        self.sum = np.zeros(self.units)
        self.cross = np.zeros((self.units, self.units))
        self.max_abs = np.zeros(self.units)
        self.entropy_sum = np.zeros(self.units)
        self.entropy_count = np.zeros(self.units, dtype=np.int64)

    def update(self, batch: np.ndarray) -> None:
        """Add one batch of layer outputs ``(batch, *spatial, units)``."""
        samples = as_samples(batch)
        if samples.shape[1] != self.units:
            raise SpecError(f"batch has {samples.shape[1]} units, the layer {self.units}. "
                            f"Received: shape={np.shape(batch)}")
        if self.shift is None:
            self.shift = samples.mean(axis=0)
        centred = samples - self.shift
        self.count += samples.shape[0]
        self.examples += int(np.shape(batch)[0])
        self.sum += centred.sum(axis=0)
        self.cross += centred.T @ centred
        self.max_abs = np.maximum(self.max_abs, np.abs(samples).max(axis=0))
        self.zeros += int(np.count_nonzero(np.abs(samples) <= ZERO_TOL))
        if self.positions > 1:
            sums, counts = _spatial_entropy_sums(batch)
            self.entropy_sum += sums
            self.entropy_count += counts

    def mean(self) -> np.ndarray:
        """Per-unit mean."""
        return self.shift + self.sum / self.count

    def covariance(self) -> np.ndarray:
        """Centred covariance of the units (divided by ``count - 1``)."""
        if self.count < 2:
            raise SpecError(f"the covariance needs at least 2 samples. Received: {self.count}")
        d = self.sum / self.count
        return (self.cross - self.count * np.outer(d, d)) / (self.count - 1)


def effective_dims(eigenvalues: np.ndarray) -> tuple[float, dict[float, int]]:
    """Participation ratio and components needed per ``VARIANCE_LEVELS``.

    Args:
        eigenvalues: Covariance eigenvalues (any order; negatives from rounding are clipped).

    Returns:
        ``(participation ratio, {level: components})``; ``(0.0, {level: 0})`` for zero
        variance.
    """
    lam = np.sort(np.clip(np.asarray(eigenvalues, dtype=np.float64), 0.0, None))[::-1]
    total = lam.sum()
    if total <= 0:
        return 0.0, {q: 0 for q in VARIANCE_LEVELS}
    share = np.cumsum(lam) / total
    dims = {q: int(min(len(lam), np.searchsorted(share, q - 1e-12) + 1))
            for q in VARIANCE_LEVELS}
    return float(total ** 2 / np.sum(lam ** 2)), dims


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer's activations (see the module docstring).

    Attributes:
        units: Width (dense units or conv channels).
        positions: Spatial positions per example (1 for dense outputs).
        examples: Examples seen.
        mean / std: Over every activation value.
        dead_fraction / dead_units: Units zero on every sample.
        sparsity: Fraction of values that are zero.
        participation_ratio: ``(sum l)^2 / sum l^2`` of the covariance eigenvalues.
        dims: ``{0.9: k, 0.95: k, 0.99: k}`` principal components per variance fraction.
        spatial_concentration: ``1 - mean normalised spatial entropy`` (maps), else ``None``.
        eigenvalues: Covariance eigenvalues, descending.
        dead_indices: Indices of the dead units.
    """

    units: int
    positions: int
    examples: int
    mean: float
    std: float
    dead_fraction: float
    dead_units: int
    sparsity: float
    participation_ratio: float
    dims: Mapping[float, int]
    spatial_concentration: float | None
    eigenvalues: tuple[float, ...] = field(repr=False, default=())
    dead_indices: tuple[int, ...] = field(repr=False, default=())

    @property
    def localised(self) -> bool:
        """Maps concentrated on few positions (``spatial_concentration > LOCALISED``)."""
        return self.spatial_concentration is not None and self.spatial_concentration > LOCALISED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (eigenvalues left out)."""
        return {"units": self.units, "positions": self.positions, "examples": self.examples,
                "mean": self.mean, "std": self.std, "dead_fraction": self.dead_fraction,
                "dead_units": self.dead_units, "sparsity": self.sparsity,
                "participation_ratio": self.participation_ratio,
                **{f"dim{round(q * 100)}": k for q, k in self.dims.items()},
                "spatial_concentration": self.spatial_concentration,
                "localised": self.localised}


def layer_stats(moments: StreamingMoments) -> LayerStats:
    """The ``LayerStats`` of accumulated moments (eigenvalues with ``scipy.linalg``)."""
    from scipy import linalg

    cov = moments.covariance()
    eig = linalg.eigvalsh(cov)[::-1]
    ratio, dims = effective_dims(eig)
    mean_units = moments.mean()
    biased_var = np.clip(np.diag(cov), 0, None) * (moments.count - 1) / moments.count
    overall_mean = float(mean_units.mean())
    overall_var = float(np.mean(biased_var + mean_units ** 2) - overall_mean ** 2)
    dead_indices = tuple(int(i) for i in np.flatnonzero(moments.max_abs <= ZERO_TOL))
    dead = len(dead_indices)
    concentration = None
    if moments.positions > 1:
        seen = moments.entropy_count.sum()
        concentration = (float(1.0 - moments.entropy_sum.sum() / seen) if seen else 0.0)
    return LayerStats(
        units=moments.units, positions=moments.positions, examples=moments.examples,
        mean=overall_mean, std=math.sqrt(max(overall_var, 0.0)),
        dead_fraction=dead / moments.units, dead_units=dead,
        sparsity=moments.zeros / (moments.count * moments.units),
        participation_ratio=ratio, dims=dims, spatial_concentration=concentration,
        eigenvalues=tuple(float(v) for v in np.clip(eig, 0, None)), dead_indices=dead_indices)


def stats_of_array(activations: np.ndarray, batch_size: int | None = None) -> LayerStats:
    """``LayerStats`` of an in-memory activation array (fed in batches of ``batch_size``).

    Args:
        activations: ``(examples, *spatial, units)``.
        batch_size: Examples per update (default: all at once).

    Returns:
        The statistics, identical (to rounding) whatever the batch size.
    """
    array = np.asarray(activations)
    positions = int(np.prod(array.shape[1:-1])) if array.ndim > 2 else 1
    moments = StreamingMoments(units=int(array.shape[-1]), positions=positions)
    step = batch_size or len(array)
    for start in range(0, len(array), step):
        moments.update(array[start:start + step])
    return layer_stats(moments)
