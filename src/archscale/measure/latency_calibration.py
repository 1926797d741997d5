"""Latency calibration and ``propose --verify``: the measuring half (TensorFlow).

Both time models with the one timing loop of ``archscale.measure.latency`` (``time_calls``:
trace, warm up until the timings stop drifting, then sample for a minimum count and duration).
The heuristics only read what is measured here: ``run_calibration`` returns the
``LayerRates`` that ``archscale.heuristics.calibration`` caches and turns into a latency model.

Example::

    from archscale.heuristics.calibration import save_calibration
    from archscale.measure.latency_calibration import run_calibration
    save_calibration(run_calibration(batch_size=1))
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any

from archscale.errors import SpecError
from archscale.heuristics.calibration import LayerRates
from archscale.heuristics.propose import propose
from archscale.heuristics.proposal import Proposal
from archscale.measure.latency import measure_latency, time_calls

#: Timing settings of a calibration run: ``(min_samples, min_duration_s, max_warmup_s)``.
FULL_TIMING = (15, 0.3, 3.0)
QUICK_TIMING = (5, 0.05, 0.5)
#: Timing settings of one ``verify`` round.
VERIFY_TIMING = (20, 1.0, 5.0)
VERIFY_QUICK_TIMING = (5, 0.1, 1.0)


def _median_seconds(layers: list[Any], shape: tuple[int, ...], batch_size: int,
                    quick: bool) -> float:
    """Median seconds of a compiled inference call of ``Sequential(layers)`` at ``shape``."""
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input(shape), *layers])
    x = tf.random.normal((batch_size, *shape))
    call = tf.function(lambda inputs: model(inputs, training=False))
    min_samples, min_duration_s, max_warmup_s = QUICK_TIMING if quick else FULL_TIMING
    timing = time_calls(lambda: call(x).numpy(), min_samples=min_samples,
                        min_duration_s=min_duration_s, max_warmup_s=max_warmup_s)
    return statistics.median(timing.samples_ms) / 1e3


def measure_rates(batch_size: int, *, quick: bool = False) -> dict[str, float]:
    """Achieved rates of the reference layers at ``batch_size``.

    Reference layers (channels-last, float32, no bias): Conv2D 64->64 3x3 on 28x28,
    DepthwiseConv2D 3x3 on 28x28x256, Dense 2048->2048, ReLU on 56x56x64, and a chain of 32
    ReLUs on an 8-element tensor for the per-layer overhead, which is subtracted from the
    others before dividing.

    Args:
        batch_size: Batch size.
        quick: Shorter timing runs.

    Returns:
        ``conv_gflops``, ``depthwise_gflops``, ``dense_gflops``, ``elementwise_gelements`` and
        ``overhead_ms``.
    """
    import keras

    b = batch_size

    def seconds(layers: list[Any], shape: tuple[int, ...]) -> float:
        return _median_seconds(layers, shape, b, quick)

    chain = 32
    overhead = seconds([keras.layers.Activation("relu") for _ in range(chain)], (8,)) / chain
    conv = seconds([keras.layers.Conv2D(64, 3, padding="same", use_bias=False)], (28, 28, 64))
    dw = seconds([keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)],
                 (28, 28, 256))
    dense = seconds([keras.layers.Dense(2048, use_bias=False)], (2048,))
    elem = seconds([keras.layers.Activation("relu")], (56, 56, 64))

    def rate(work: float, t: float) -> float:
        return work / max(t - overhead, 0.1 * t) / 1e9

    return {
        "conv_gflops": rate(2 * b * 28 * 28 * 64 * 64 * 9, conv),
        "depthwise_gflops": rate(2 * b * 28 * 28 * 256 * 9, dw),
        "dense_gflops": rate(2 * b * 2048 * 2048, dense),
        "elementwise_gelements": rate(b * 56 * 56 * 64, elem),
        "overhead_ms": overhead * 1e3,
    }


def run_calibration(batch_size: int, *, quick: bool = False) -> LayerRates:
    """Measure this machine's rates at ``batch_size`` with TensorFlow (imported here).

    Args:
        batch_size: Batch size to measure at.
        quick: Fewer, shorter timing runs (tests).

    Returns:
        The ``LayerRates`` (not saved; see ``archscale.heuristics.calibration.save_calibration``).
    """
    rates = measure_rates(batch_size, quick=quick)
    return LayerRates(batch_size=batch_size, measured_at=time.time(), **rates)


def _measure_spec(proposal: Proposal, batch_size: int, quick: bool) -> dict[str, float]:
    import keras

    keras.backend.clear_session()
    min_samples, min_duration_s, max_warmup_s = VERIFY_QUICK_TIMING if quick else VERIFY_TIMING
    result = measure_latency(proposal.spec, batch_size, min_samples=min_samples,
                             min_duration_s=min_duration_s, max_warmup_s=max_warmup_s)
    return {"median_ms": result.stats.median, "p90_ms": result.stats.p90,
            "samples": float(len(result.timing.samples_ms))}


#: ``verify`` grows a proposal whose measured latency uses less than this share of the limit.
GROW_BELOW = 0.8


def verify(proposal: Proposal, *, max_rounds: int = 4, quick: bool = False) -> Proposal:
    """Measure the proposal's real latency; shrink it until it fits, or grow it while it uses
    under ``GROW_BELOW`` (80 %) of the limit (imports TensorFlow).

    Each round builds the spec with Keras, takes the median latency of a warmed-up compiled
    inference call at the budget's batch size (``archscale.measure.latency``), and sets the
    latency model's correction to ``measured / predicted`` of that round (plus 2 % when over
    the limit), then proposes again: over the limit the proposal shrinks; far under it, it
    grows. Growing stops when the limit is used >= 80 %, when the next proposal is the same
    spec, when it would exceed the limit, or when it is at least as large (MACs) as a spec
    already measured over the limit (the last fitting proposal is returned): a timing that
    came in under the limit once does not bring back a size measured over it.

    Args:
        proposal: A proposal made with a latency budget.
        max_rounds: Measurements at most.
        quick: Shorter timing runs (tests).

    Returns:
        The last fitting proposal (else the last one) with ``verification`` set: ``status``
        ``fits`` or ``does not fit``, the rounds (predicted and measured ms), the final
        correction and the share of the limit used.

    Raises:
        SpecError: the budget has no latency ceiling.
        ImpossibleBudgetError: after correction even the smallest member is too slow.
    """
    budget = proposal.budget
    if budget.max_latency_ms is None:
        raise SpecError("verify needs a latency budget. Received: max_latency_ms=None")
    limit = budget.max_latency_ms
    options = {"max_resolution": (proposal.scaling.get("plan_args") or {}).get(
        "max_resolution")}
    current = proposal
    correction = current.scaling.get("latency_correction") or 1.0
    rounds: list[dict[str, Any]] = []
    best: tuple[Proposal, float, float] | None = None
    smallest_over = float("inf")  # MACs of the smallest spec measured over the limit

    def result(p: Proposal, measured_ms: float, corr: float, fits: bool) -> Proposal:
        return dataclasses.replace(p, verification={
            "status": "fits" if fits else "does not fit", "rounds": rounds,
            "correction": corr, "measured_ms": measured_ms, "limit_ms": limit,
            "used": measured_ms / limit})

    while True:
        measured = _measure_spec(current, budget.batch_size, quick)
        ms, predicted = measured["median_ms"], current.predicted["latency_ms"]
        rounds.append({"description": current.description, "predicted_ms": predicted,
                       "measured_ms": ms, "p90_ms": measured["p90_ms"],
                       "samples": int(measured["samples"])})
        fits = ms <= limit
        if fits:
            best = (current, ms, correction)
        else:
            smallest_over = min(smallest_over, current.predicted["macs"])
        if fits and ms >= GROW_BELOW * limit:
            return result(current, ms, correction, True)
        if not fits and best is not None and best[0] is not current:
            return result(best[0], best[1], best[2], True)  # grew one step too far
        if len(rounds) >= max_rounds:
            return result(*best, True) if best else result(current, ms, correction, False)
        correction *= (1.0 if fits else 1.02) * ms / max(predicted, 1e-9)
        nxt = propose(current.task, budget, latency_correction=correction, **options)
        if fits and nxt.spec == current.spec:
            return result(current, ms, correction, True)  # nothing larger fits the model
        if fits and nxt.predicted["macs"] >= smallest_over:
            return result(current, ms, correction, True)  # that size was measured over
        current = nxt
