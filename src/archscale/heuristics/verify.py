"""``verify``: measure a proposal's real latency and shrink it until it fits (TensorFlow)."""

from __future__ import annotations

import dataclasses
from typing import Any

from archscale.errors import SpecError
from archscale.heuristics.propose import propose
from archscale.heuristics.proposal import Proposal


def verify(proposal: Proposal, *, max_rounds: int = 4, quick: bool = False) -> Proposal:
    """Measure the proposal's real latency and shrink it until it fits (imports TensorFlow).

    Each round builds the spec with Keras, takes the median latency of a warmed-up
    ``tf.function`` at the budget's batch size, and if it exceeds ``max_latency_ms`` multiplies
    the latency model's correction by ``measured / predicted`` (plus 2 %) and proposes again.

    Args:
        proposal: A proposal made with a latency budget.
        max_rounds: Measurements at most.
        quick: Shorter timing runs (tests).

    Returns:
        The last proposal with ``verification`` set: ``status`` ``fits`` or ``does not fit``,
        the rounds (predicted and measured ms) and the final correction.

    Raises:
        SpecError: the budget has no latency ceiling.
        ImpossibleBudgetError: after correction even the smallest member is too slow.
    """
    from archscale.heuristics.tf_timing import measure_latency

    budget = proposal.budget
    if budget.max_latency_ms is None:
        raise SpecError("verify needs a latency budget. Received: max_latency_ms=None")
    current = proposal
    correction = current.scaling.get("latency_correction") or 1.0
    rounds: list[dict[str, Any]] = []
    while True:
        measured = measure_latency(current.spec, budget.batch_size, quick=quick)
        predicted = current.predicted["latency_ms"]
        rounds.append({"description": current.description, "predicted_ms": predicted,
                       "measured_ms": measured["median_ms"], "p90_ms": measured["p90_ms"],
                       "samples": int(measured["samples"])})
        fits = measured["median_ms"] <= budget.max_latency_ms
        if fits or len(rounds) >= max_rounds:
            return dataclasses.replace(current, verification={
                "status": "fits" if fits else "does not fit", "rounds": rounds,
                "correction": correction, "measured_ms": measured["median_ms"],
                "limit_ms": budget.max_latency_ms})
        correction *= 1.02 * measured["median_ms"] / max(predicted, 1e-9)
        current = propose(current.task, budget, latency_correction=correction)
