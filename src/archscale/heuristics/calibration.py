"""Per-machine latency calibration: measure once, cache with the environment, predict.

``archscale.measure.latency_calibration.run_calibration`` (TensorFlow) times a few reference
layers at a batch size:
a dense 3x3 convolution, a depthwise 3x3 convolution, a dense (matmul) layer, an element-wise
op and a chain of tiny layers (the fixed per-layer overhead). The achieved rates are cached as
JSON in ``cache_dir()`` together with the environment fingerprint
(``archscale.environment``). ``load_calibration`` refuses a missing, stale (older than
``MAX_AGE_DAYS``) or foreign (fingerprint differs) calibration with a message that says how to
recalibrate. ``LatencyModel`` predicts ``sum(FLOPs / rate of the layer's kind) + layers x
overhead`` from a profile, without TensorFlow. This module only reads and writes the cache; it
never measures.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from archscale.costs import Profile
from archscale.environment import environment, fingerprint, fingerprint_differences
from archscale.errors import ArchscaleError
from archscale.ops import INFERENCE_VIEW_OPS

CALIBRATION_VERSION = 1
MAX_AGE_DAYS = 30
FILE_NAME = "latency_calibration.json"

#: Ops with no work at inference (views) or no layer at all: no time, no overhead.
_FREE_OPS = INFERENCE_VIEW_OPS | {"input"}


class CalibrationError(ArchscaleError, ValueError):
    """No usable latency calibration (missing, stale, foreign, or unreadable)."""


def cache_dir() -> Path:
    """Where archscale caches per-machine data.

    ``$ARCHSCALE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/archscale``, else
    ``~/.cache/archscale``.
    """
    override = os.environ.get("ARCHSCALE_CACHE_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "archscale"


def calibration_path() -> Path:
    """The calibration file in ``cache_dir()``."""
    return cache_dir() / FILE_NAME


def recalibrate_hint(batch_size: int) -> str:
    """The command that (re)creates the calibration for ``batch_size``."""
    return f"run 'archscale propose --calibrate --batch {batch_size}' (about 10-20 s)"


@dataclass(frozen=True)
class LayerRates:
    """Achieved rates on this machine at one batch size.

    Attributes:
        batch_size: Batch size the rates were measured at.
        conv_gflops: GFLOP/s of a dense 3x3 convolution.
        depthwise_gflops: GFLOP/s of a depthwise 3x3 convolution.
        dense_gflops: GFLOP/s of a dense (matmul) layer.
        elementwise_gelements: Giga-elements/s of a memory-bound element-wise op.
        overhead_ms: Fixed cost of one layer call (ms).
        measured_at: Unix time of the measurement.
    """

    batch_size: int
    conv_gflops: float
    depthwise_gflops: float
    dense_gflops: float
    elementwise_gelements: float
    overhead_ms: float
    measured_at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"latency calibration {str(path)!r} is unreadable ({exc}); "
                               "delete it and run 'archscale propose --calibrate'") from None
    if not isinstance(data, dict) or data.get("version") != CALIBRATION_VERSION:
        raise CalibrationError(f"latency calibration {str(path)!r} has an unknown format; "
                               "delete it and run 'archscale propose --calibrate'")
    return data


def load_calibration(batch_size: int, *, path: Path | None = None, now: float | None = None,
                     max_age_days: float = MAX_AGE_DAYS) -> LayerRates:
    """The cached rates for ``batch_size``, if measured here and recently.

    Args:
        batch_size: Batch size of the latency budget.
        path: Calibration file (default ``calibration_path()``).
        now: Current Unix time (default ``time.time()``; tests pass their own).
        max_age_days: Older entries are refused.

    Returns:
        The ``LayerRates``.

    Raises:
        CalibrationError: no file, no entry for the batch size, a different environment
            fingerprint, or an entry older than ``max_age_days``. The message says what to run.
    """
    path = calibration_path() if path is None else path
    hint = recalibrate_hint(batch_size)
    data = _read(path)
    if data is None:
        raise CalibrationError(f"a latency budget needs this machine's latency calibration, "
                               f"and there is none at {str(path)!r}: {hint}")
    diffs = fingerprint_differences(data.get("fingerprint", {}))
    if diffs:
        raise CalibrationError(f"the latency calibration at {str(path)!r} was measured in a "
                               f"different environment ({'; '.join(diffs)}): {hint}")
    entry = data.get("entries", {}).get(str(batch_size))
    if entry is None:
        measured = ", ".join(sorted(data.get("entries", {}), key=int)) or "none"
        raise CalibrationError(f"the latency calibration at {str(path)!r} has no entry for "
                               f"batch {batch_size} (measured: {measured}): {hint}")
    rates = LayerRates(**entry)
    age_days = ((time.time() if now is None else now) - rates.measured_at) / 86400
    if age_days > max_age_days:
        raise CalibrationError(f"the latency calibration for batch {batch_size} at "
                               f"{str(path)!r} is {age_days:.0f} days old (limit "
                               f"{max_age_days:g}): {hint}")
    return rates


def save_calibration(rates: LayerRates, *, path: Path | None = None) -> Path:
    """Store ``rates`` with this environment, keeping other batch sizes measured here.

    Args:
        rates: The measured rates.
        path: Calibration file (default ``calibration_path()``).

    Returns:
        The path written.
    """
    path = calibration_path() if path is None else path
    try:
        old = _read(path)
    except CalibrationError:
        old = None
    entries: dict[str, Any] = {}
    if old is not None and not fingerprint_differences(old.get("fingerprint", {})):
        entries = dict(old.get("entries", {}))
    entries[str(rates.batch_size)] = rates.to_dict()
    data = {"version": CALIBRATION_VERSION, "fingerprint": fingerprint(),
            "environment": environment(), "entries": entries}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


class LatencyModel:
    """Predicts inference latency from a profile and calibrated rates.

    ``latency = batch x sum(layer FLOPs / rate of its kind) + layers x overhead``, times a
    ``correction`` factor (``--verify`` sets it from a real measurement).

    Args:
        rates: Calibrated rates at the budget's batch size.
        correction: Multiplier applied to every prediction.
    """

    def __init__(self, rates: LayerRates, correction: float = 1.0) -> None:
        self.rates = rates
        self.correction = correction

    def predict_ms(self, profile: Profile, batch_size: int) -> float:
        """Predicted latency (ms) of one batch of ``batch_size`` examples."""
        r = self.rates
        compute = {"conv": r.conv_gflops, "depthwise_conv": r.depthwise_gflops,
                   "dense": r.dense_gflops}
        seconds, layers = 0.0, 0
        for row in profile.layers:
            if row.op in _FREE_OPS:
                continue
            layers += 1
            rate = compute.get(row.op)
            if rate is not None:
                seconds += 2 * row.macs / (rate * 1e9)
                extra = row.flops - 2 * row.macs
            else:
                extra = max(row.flops, row.activation_elements)
            seconds += extra / (r.elementwise_gelements * 1e9)
        total = batch_size * seconds * 1e3 + layers * r.overhead_ms
        return total * self.correction

    def macs_within(self, latency_ms: float, batch_size: int) -> float:
        """MACs per example a dense-conv network could run within ``latency_ms`` (ignoring
        overhead); used to place a latency budget on the MAC scale for the family choice."""
        per_example_s = latency_ms / 1e3 / batch_size / self.correction
        return per_example_s * self.rates.conv_gflops * 1e9 / 2
