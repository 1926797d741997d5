"""The budget filter: a candidate's exact analytic costs against the ``Budget``, before it is
built (pure Python: ``archscale.costs`` over the family's graph, no TensorFlow).

Only the user's ceilings count (``max_params``, ``max_macs``, the memory ceilings at their batch
sizes, and the latency ceiling through this machine's calibration); the data-derived capacity
of the proposal is advice, not a limit, and the search space may go past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.heuristics.calibration import LatencyModel, load_calibration
from archscale.heuristics.solver import Costs, Evaluator, budget_limits
from archscale.specs import ArchSpec, Budget
from archscale.units import format_bytes, format_count


@dataclass(frozen=True)
class Verdict:
    """A candidate's costs and whether they fit.

    Attributes:
        fits: Every ceiling holds.
        costs: Params, MACs, FLOPs, memory (bytes) and latency (ms, ``None`` uncalibrated).
        reason: Which ceilings break and by how much (``None`` when it fits).
    """

    fits: bool
    costs: Costs
    reason: str | None = None


def _fmt(value: float, metric: str) -> str:
    if metric.endswith("bytes"):
        return format_bytes(value)
    if metric == "latency_ms":
        return f"{value:.3g} ms"
    return format_count(value)


class BudgetFilter:
    """Checks candidates against a budget.

    Args:
        budget: The ceilings.
        optimizer: Optimizer of the training-memory estimate (the recipe's).
        latency_correction: Multiplier on predicted latencies (a verified proposal's).

    Raises:
        CalibrationError: a latency ceiling without this machine's calibration.
    """

    def __init__(self, budget: Budget, optimizer: str = "adam",
                 latency_correction: float = 1.0) -> None:
        self.budget = budget
        self.limits = budget_limits(budget)
        latency = (LatencyModel(load_calibration(budget.batch_size), latency_correction)
                   if budget.max_latency_ms is not None else None)
        self._evaluator = Evaluator(None, self.limits, batch_size=budget.batch_size,  # type: ignore[arg-type]
                                    train_batch_size=budget.training_batch_size,
                                    optimizer=optimizer, latency=latency)

    def check(self, spec: ArchSpec) -> Verdict:
        """The candidate's costs and whether they fit (never builds a Keras model)."""
        costs = self._evaluator.measure(spec, everything=True)
        broken = [f"{lim.metric} {_fmt(costs.get(lim.metric), lim.metric)} > {lim.name} "
                  f"{_fmt(lim.value, lim.metric)}"
                  for lim in self.limits if costs.get(lim.metric) > lim.value]
        return Verdict(not broken, costs, "; ".join(broken) or None)

    def describe(self) -> dict[str, Any]:
        """The ceilings as ``{name: value}``."""
        return {lim.name: lim.value for lim in self.limits}
