"""The budget solver: compound scaling solved by bisection, then a greedy fill.

1. Every ceiling becomes a ``Limit`` on one cost metric (the capacity default is one too, on
   the body parameters, when the user gives no budget).
2. ``solve`` finds the largest compound coefficient ``phi`` whose quantised spec satisfies every
   limit: the root of ``log(max utilisation)`` along the plan's compound path, a
   non-decreasing step function of ``phi``. On a step function Brent's method reduces to
   bisection (its interpolation steps land on flat pieces), so the root is bracketed and
   bisected to ``PHI_XTOL`` in pure Python, which keeps ``scipy.optimize`` (about 0.4 s to
   import) out of a cold ``archscale propose``.
3. ``fill`` then applies single-step growth moves (one more block in a stage, one more quantum of
   width, a larger resolution...) greedily: each round takes the feasible move that raises the
   binding limit's utilisation most (ties: the others' sum), until no move fits.

Costs come from the analytic profile (``archscale.costs``) and are cached per knob tuple, so the
number of graph builds per proposal is bounded (a few hundred at most, see ``MAX_FILL_ROUNDS``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from archscale.costs import profile_graph
from archscale.errors import ShapeError, SpecError
from archscale.heuristics.calibration import LatencyModel
from archscale.reference_archs.registry import build_graph
from archscale.reference_archs.scaling_plan import Knobs, Plan
from archscale.specs import Budget

#: Budget field -> cost metric.
BUDGET_METRICS: dict[str, str] = {
    "max_params": "params", "max_macs": "macs",
    "max_train_memory_bytes": "train_memory_bytes",
    "max_inference_memory_bytes": "inference_memory_bytes", "max_latency_ms": "latency_ms",
}
CAPACITY = "capacity"

PHI_XTOL = 0.01
MAX_FILL_ROUNDS = 100
LOOKAHEAD = 6


@dataclass(frozen=True)
class Limit:
    """A ceiling on one cost metric; ``user`` is False for the data-derived capacity."""

    name: str
    metric: str
    value: float
    user: bool = True


def budget_limits(budget: Budget) -> list[Limit]:
    """The user's ceilings as ``Limit`` rows (unset ones omitted)."""
    return [Limit(name, metric, float(getattr(budget, name)))
            for name, metric in BUDGET_METRICS.items() if getattr(budget, name) is not None]


@dataclass(frozen=True)
class Costs:
    """The cost metrics of one candidate (``None`` where not computed)."""

    params: int
    macs: int
    flops: int
    train_memory_bytes: int | None = None
    inference_memory_bytes: int | None = None
    latency_ms: float | None = None
    body_params: int | None = None

    def get(self, metric: str) -> float:
        """The value of ``metric``."""
        value = getattr(self, metric)
        return math.inf if value is None else value

    def key(self) -> tuple[Any, ...]:
        """All metrics as a tuple (two candidates with equal keys cost the same)."""
        return (self.params, self.macs, self.train_memory_bytes, self.inference_memory_bytes,
                self.latency_ms)


class Evaluator:
    """Costs of a plan's candidates against limits, cached per knob tuple.

    Args:
        plan: The plan whose knobs are evaluated.
        limits: The ceilings.
        batch_size: Batch of the inference memory and latency ceilings.
        train_batch_size: Batch of the training-memory ceiling.
        optimizer: Optimizer of the training-memory estimate (slots per weight).
        latency: Latency model, needed when a limit is on ``latency_ms``.
        backend: Kernels of the training-memory estimate (``None``: this machine's).
    """

    def __init__(self, plan: Plan, limits: list[Limit], *, batch_size: int = 1,
                 train_batch_size: int = 1, optimizer: str = "adam",
                 latency: LatencyModel | None = None, backend: str | None = None) -> None:
        self.plan = plan
        self.limits = list(limits)
        self.batch_size = batch_size
        self.train_batch_size = train_batch_size
        self.optimizer = optimizer
        self.latency = latency
        self.backend = backend
        self.cache: dict[Knobs, Costs | None] = {}

    @property
    def evaluations(self) -> int:
        """Number of distinct candidates built and profiled."""
        return len(self.cache)

    def measure(self, spec: Any, *, everything: bool = False) -> Costs:
        """Costs of a spec (all metrics when ``everything``, else those limited)."""
        prof = profile_graph(build_graph(spec))
        if self.backend is not None:
            prof = dataclasses.replace(prof, backend=self.backend)
        metrics = {lim.metric for lim in self.limits}
        train = infer = lat = None
        if everything or "train_memory_bytes" in metrics:
            train = prof.training_peak_bytes(self.train_batch_size, optimizer=self.optimizer)
        if everything or "inference_memory_bytes" in metrics:
            infer = prof.inference_peak_bytes(self.batch_size)
        if self.latency is not None and (everything or "latency_ms" in metrics):
            lat = self.latency.predict_ms(prof, self.batch_size)
        head = next((row.params for row in reversed(prof.layers) if row.op == "dense"), 0)
        table = sum(row.params for row in prof.layers if row.op == "embedding")
        return Costs(prof.params, prof.macs, prof.flops, train, infer, lat,
                     prof.params - head - table)

    def costs(self, knobs: Knobs) -> Costs | None:
        """Costs of ``knobs`` (``None`` when the spec cannot be built at this input)."""
        if knobs not in self.cache:
            try:
                self.cache[knobs] = self.measure(self.plan.spec(knobs))
            except (ShapeError, SpecError):
                self.cache[knobs] = None
        return self.cache[knobs]

    def utilisation(self, costs: Costs) -> dict[str, float]:
        """``value / limit`` per limit name."""
        return {lim.name: costs.get(lim.metric) / lim.value for lim in self.limits}

    def worst(self, costs: Costs | None) -> float:
        """The highest utilisation (``inf`` for an unbuildable candidate, 0 with no limits)."""
        if costs is None:
            return math.inf
        return max(self.utilisation(costs).values(), default=0.0)

    def feasible(self, costs: Costs | None) -> bool:
        """Every limit satisfied."""
        return costs is not None and self.worst(costs) <= 1.0


@dataclass
class Solution:
    """The solver's result for one plan."""

    knobs: Knobs
    costs: Costs
    phi: float
    coefficients: tuple[float, float, float]
    fill_limit: str | None
    moves: list[str] = field(default_factory=list)
    at_maximum: bool = False
    truncated: bool = False
    evaluations: int = 0
    named: Any = None


class InfeasibleError(Exception):
    """The plan's smallest member violates a limit (carries its costs)."""

    def __init__(self, costs: Costs | None, utilisation: dict[str, float]) -> None:
        super().__init__("smallest member does not fit")
        self.costs = costs
        self.utilisation = utilisation


def solve(plan: Plan, ev: Evaluator) -> Solution:
    """Largest feasible point of the compound path, then greedy fill.

    Args:
        plan: The family plan.
        ev: Evaluator holding the limits.

    Returns:
        The ``Solution``.

    Raises:
        InfeasibleError: even the plan's smallest member violates a limit.
    """
    if not ev.limits:  # no budget and no capacity default: the family's base member
        knobs = plan.at_phi(0.0)
        return Solution(knobs, ev.costs(knobs), 0.0, plan.coefficients(0.0),  # type: ignore
                        None, evaluations=ev.evaluations)
    lo, hi = plan.phi_range()
    smallest = ev.costs(plan.at_phi(lo))
    if not ev.feasible(smallest):
        raise InfeasibleError(smallest, ev.utilisation(smallest) if smallest else {})
    seen: dict[float, bool] = {lo: True}

    def objective(phi: float) -> float:
        costs = ev.costs(plan.at_phi(phi))
        worst = ev.worst(costs)
        seen[phi] = worst <= 1.0
        if worst == math.inf:
            return 50.0
        return math.log(worst) if worst != 1.0 else -1e-12

    at_maximum = objective(hi) <= 0
    if not at_maximum:
        bisect(objective, lo, hi, PHI_XTOL)
    phi = max(p for p, ok in seen.items() if ok)
    knobs = plan.at_phi(phi)
    fill_limit = None
    infeasible = [p for p, ok in seen.items() if not ok and p > phi]
    if infeasible:
        over = ev.costs(plan.at_phi(min(infeasible)))
        if over is not None:
            util = ev.utilisation(over)
            fill_limit = max(util, key=lambda n: util[n])
    solution = Solution(knobs, ev.costs(knobs), phi, plan.coefficients(phi),  # type: ignore
                        fill_limit, at_maximum=at_maximum)
    fill(plan, ev, solution)
    solution.evaluations = ev.evaluations
    return solution


def bisect(objective: Any, lo: float, hi: float, xtol: float, maxiter: int = 100) -> float:
    """The jump of a non-decreasing step function from <= 0 (at ``lo``) to > 0 (at ``hi``).

    Args:
        objective: ``phi -> float``, <= 0 where feasible.
        lo: A feasible ``phi``.
        hi: An infeasible ``phi``.
        xtol: Width of the final bracket.
        maxiter: Bisection steps at most.

    Returns:
        The largest ``phi`` found feasible.
    """
    for _ in range(maxiter):
        if hi - lo <= xtol:
            break
        mid = (lo + hi) / 2
        if objective(mid) <= 0:
            lo = mid
        else:
            hi = mid
    return lo


def _advance(plan: Plan, ev: Evaluator, knobs: Knobs, index: int,
             current: Costs) -> tuple[Knobs, Costs] | None:
    """Apply move ``index`` (repeatedly while it changes no cost); ``None`` if it cannot fit."""
    for _ in range(LOOKAHEAD):
        nxt = plan.move(knobs, index)
        if nxt is None:
            return None
        costs = ev.costs(nxt)
        if not ev.feasible(costs):
            return None
        if costs.key() != current.key():  # type: ignore[union-attr]
            return nxt, costs  # type: ignore[return-value]
        knobs = nxt
    return None


def fill(plan: Plan, ev: Evaluator, sol: Solution) -> None:
    """Greedy fill in place: apply the best feasible single-step move until none fits.

    The score of a move is ``(utilisation of the fill limit, sum of the other utilisations,
    MACs)``; a move is taken only if it raises the score, so once the fill limit is full, free
    growth in unconstrained quantities is still taken (e.g. restoring the input resolution of a
    parameter-bound MobileNet). The fill limit is the one that stopped the compound path (or, if
    none did, the highest utilisation).
    """
    names = plan.move_names()
    target = sol.fill_limit
    if target is None and ev.limits:
        util = ev.utilisation(sol.costs)
        target = max(util, key=lambda n: util[n])
        sol.fill_limit = target

    def score(costs: Costs) -> tuple[float, float, int]:
        util = ev.utilisation(costs)
        main = util.get(target, 0.0) if target else 0.0
        return main, sum(v for n, v in util.items() if n != target), costs.macs

    for _ in range(MAX_FILL_ROUNDS):
        best: tuple[tuple[float, float, int], Knobs, Costs, str] | None = None
        current = score(sol.costs)
        for index, name in enumerate(names):
            step = _advance(plan, ev, sol.knobs, index, sol.costs)
            if step is None:
                continue
            s = score(step[1])
            if s > current and (best is None or s > best[0]):
                best = (s, step[0], step[1], name)
        if best is None:
            return
        _, sol.knobs, sol.costs, name = best
        sol.moves.append(name)
    sol.truncated = True


def smallest_step(plan: Plan, ev: Evaluator, knobs: Knobs, limit: Limit) -> float | None:
    """Smallest relative increase of ``limit``'s metric over the single-step moves from
    ``knobs`` (used to explain a fill below 90 %); ``None`` when no move exists."""
    base = ev.costs(knobs)
    if base is None:
        return None
    increases = []
    for index in range(len(plan.move_names())):
        nxt = plan.move(knobs, index)
        costs = ev.costs(nxt) if nxt is not None else None
        if costs is not None and base.get(limit.metric) > 0:
            increases.append(costs.get(limit.metric) / base.get(limit.metric) - 1)
    positive = [i for i in increases if i > 0]
    return min(positive) if positive else None
