"""``propose(task, budget)``: a concrete architecture with every dimension explained.

Pure Python (scipy for the solver); TensorFlow is imported only by ``verify`` and calibration.
The steps: modality -> capacity range from the samples -> family choice -> base structure
rules -> compound scaling solved against the budget -> quantise and greedy fill ->
regularisation and training recipe -> predicted costs, utilisation and a tuning search space.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from archscale.errors import ArchscaleError, SpecError
from archscale.heuristics.calibration import CalibrationError, LatencyModel, load_calibration
from archscale.heuristics.capacity import (CAPACITY_SOURCE, REGULARISATION_SOURCE,
                                           capacity_range, regularisation, training_recipe)
from archscale.heuristics.plans import make_plan
from archscale.heuristics.proposal import Proposal
from archscale.heuristics.rules import (FamilyChoice, check_family_fits_task, choose_family,
                                        variant_for)
from archscale.heuristics.search_space import search_space
from archscale.heuristics.solver import (CAPACITY, Costs, Evaluator, InfeasibleError, Limit,
                                         Solution, budget_limits, smallest_step, solve)
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import COMPOUND_SOURCE, Plan, Step
from archscale.specs import ArchSpec, Budget, Task
from archscale.training_recipe import Recipe
from archscale.units import format_count

#: A proposal should use at least this fraction of its binding limit.
FILL_TARGET = 0.9


class ImpossibleBudgetError(ArchscaleError, ValueError):
    """The budget is below the smallest sensible member of every candidate family."""


# ---------------------------------------------------------------------------------------------
# propose
# ---------------------------------------------------------------------------------------------


def _latency_model(budget: Budget, correction: float) -> LatencyModel | None:
    """The latency model at the budget's batch: required with a latency ceiling, else used
    when a valid calibration happens to exist."""
    try:
        return LatencyModel(load_calibration(budget.batch_size), correction)
    except CalibrationError:
        if budget.max_latency_ms is not None:
            raise
        return None


def _family_choice(task: Task, budget: Budget, latency: LatencyModel | None,
                   capacity_high: int) -> FamilyChoice:
    if task.family is not None:
        check_family_fits_task(task.family, task, tuple(families()))
        return FamilyChoice(task.family, variant_for(task.family, task),
                            "requested (family override)", (), (), "user",
                            {"family": task.family})
    macs = budget.max_macs
    if budget.max_latency_ms is not None and latency is not None:
        equivalent = latency.macs_within(budget.max_latency_ms, budget.batch_size)
        macs = equivalent if macs is None else min(macs, equivalent)
    params = capacity_high if budget.max_params is None else min(budget.max_params,
                                                                  capacity_high)
    return choose_family(task, macs, params)


@dataclass
class _Attempt:
    variant: str
    plan: Plan | None = None
    evaluator: Evaluator | None = None
    solution: Solution | None = None
    infeasible: InfeasibleError | None = None


def _attempt(task: Task, budget: Budget, variant: str, target: float, capacity: Limit,
             latency: LatencyModel | None, steps: list[Step]) -> _Attempt:
    """Solve one variant; record why it cannot fit instead of raising."""
    plan = make_plan(task, variant, target)
    optimizer = training_recipe(plan.family, task.samples).optimizer
    limits = budget_limits(budget)
    ev = Evaluator(plan, limits + [capacity], batch_size=budget.batch_size,
                   train_batch_size=budget.training_batch_size, optimizer=optimizer,
                   latency=latency)
    smallest = ev.costs(plan.minimum())
    if smallest is not None and smallest.params > capacity.value:
        lowered = dataclasses.replace(capacity, value=float(smallest.params))
        ev.limits[-1] = lowered
        steps.append(Step("capacity floor", {"capacity_high": round(capacity.value),
                                             "smallest_member_params": smallest.params},
                          f"the data suggest at most {format_count(capacity.value)} params, "
                          f"below the smallest sensible {variant}; proposing that smallest "
                          "member", "archscale convention"))
    try:
        return _Attempt(variant, plan, ev, solve(plan, ev))
    except InfeasibleError as exc:
        return _Attempt(variant, plan, ev, infeasible=exc)


def _impossible(attempts: list[_Attempt], budget: Budget) -> ImpossibleBudgetError:
    """One-line error naming the binding budget and the smallest achievable cost."""
    user = {lim.name: lim for lim in budget_limits(budget)}
    parts, best, smallest = [], None, []
    for att in attempts:
        exc = att.infeasible
        if exc is None or exc.costs is None:
            parts.append(f"{att.variant}: cannot be built at this input size")
            continue
        smallest.append(exc.costs)
        util = {n: u for n, u in exc.utilisation.items() if n in user}
        name = max(util, key=lambda n: util[n])
        value = exc.costs.get(user[name].metric)
        desc = att.plan.describe(att.plan.minimum()) if att.plan else att.variant
        parts.append(f"{att.variant} needs {_fmt(value, user[name].metric)} "
                     f"{user[name].metric} at its smallest ({desc})")
        if best is None or util[name] < best[0]:
            best = (util[name], name)
    if best is None:
        return ImpossibleBudgetError("no candidate family can be built for this input: "
                                     + "; ".join(parts))
    name = best[1]
    metric = user[name].metric
    value = min(c.get(metric) for c in smallest)
    limit = getattr(budget, name)
    return ImpossibleBudgetError(
        f"the budget is smaller than the smallest sensible member of every candidate family: "
        f"{name}={_fmt(limit, metric)} binds, the smallest achievable is "
        f"{_fmt(value, metric)} {metric} ({'; '.join(parts)})")


def _fmt(value: float, metric: str) -> str:
    from archscale.units import format_bytes

    if metric.endswith("bytes"):
        return format_bytes(value)
    if metric == "latency_ms":
        return f"{value:.3g} ms"
    return f"{value:,.0f}"


def params_ceiling(budget: Budget, capacity_high: float) -> float:
    """The parameter count the budget allows at most, estimated without a network.

    The smallest of: the capacity ceiling, ``max_params``, ``max_macs`` (an MLP does one MAC
    per weight), inference memory / 4 bytes (float32 weights alone), and training memory /
    16 bytes (weights, gradients and two Adam slots). Used for rules that need a size before
    the network exists (the MLP depth).
    """
    bounds = [capacity_high, budget.max_params, budget.max_macs]
    if budget.max_inference_memory_bytes is not None:
        bounds.append(budget.max_inference_memory_bytes / 4)
    if budget.max_train_memory_bytes is not None:
        bounds.append(budget.max_train_memory_bytes / 16)
    return float(min(b for b in bounds if b is not None))


def propose(task: Task, budget: Budget | None = None, *,
            latency_correction: float = 1.0) -> Proposal:
    """Propose an architecture for ``task`` within ``budget``.

    Args:
        task: What the data looks like.
        budget: Ceilings (default: none; the data-derived capacity still applies).
        latency_correction: Multiplier on predicted latencies (``verify`` sets it).

    Returns:
        The ``Proposal``.

    Raises:
        SpecError: invalid task or an incompatible family override.
        CalibrationError: a latency budget without a valid calibration for this machine.
        ImpossibleBudgetError: no candidate family fits the budget.
    """
    budget = Budget() if budget is None else budget
    if not isinstance(task, Task) or not isinstance(budget, Budget):
        raise SpecError("propose(task, budget) takes an archscale.Task and an archscale.Budget. "
                        f"Received: {type(task).__name__}, {type(budget).__name__}")
    latency = _latency_model(budget, latency_correction)
    low, high = capacity_range(task.samples, task.modality, task.classes)
    steps = [
        Step("modality", {"input_shape": task.input_shape}, task.modality,
             "rank of the input: 1 vector, 2 sequence (length x channels), 3 image (HxWxC); "
             "--modality overrides"),
        Step("capacity from data", {"samples": task.samples, "modality": task.modality},
             {"low_params": low, "high_params": high}, CAPACITY_SOURCE),
    ]
    choice = _family_choice(task, budget, latency, high)
    steps.append(Step("family", choice.inputs, {"family": choice.family,
                                                "variant": choice.variant,
                                                "why": choice.reason,
                                                "alternatives": dict(choice.alternatives)},
                      choice.source))
    target = params_ceiling(budget, high)
    capacity = Limit(CAPACITY, "params", float(high), user=False)
    attempts: list[_Attempt] = []
    for variant in (choice.variant, *choice.fallbacks):
        attempt = _attempt(task, budget, variant, target, capacity, latency, steps)
        attempts.append(attempt)
        if attempt.solution is not None:
            break
    else:
        raise _impossible(attempts, budget)
    if len(attempts) > 1:
        steps.append(Step("fallback", {"tried": [a.variant for a in attempts[:-1]]},
                          attempts[-1].variant, "the preferred family's smallest sensible "
                          "member exceeds the budget"))
    return _assemble(task, budget, attempts[-1], steps, latency)


def _assemble(task: Task, budget: Budget, att: _Attempt, steps: list[Step],
              latency: LatencyModel | None) -> Proposal:
    plan, ev, sol = att.plan, att.evaluator, att.solution
    assert plan is not None and ev is not None and sol is not None  # noqa: S101 - internal
    steps.extend(plan.steps)
    d, w, r = sol.coefficients
    steps.append(Step("compound scaling", {"axes": list(plan.axes),
                                           "limits": {lim.name: lim.value for lim in ev.limits}},
                      {"phi": round(sol.phi, 3), "depth": round(d, 3), "width": round(w, 3),
                       "resolution": round(r, 3), "at_family_maximum": sol.at_maximum},
                      COMPOUND_SOURCE + "; phi solved with scipy.optimize.brentq against the "
                      "analytic cost"))
    moves: dict[str, int] = {}
    for m in sol.moves:
        moves[m] = moves.get(m, 0) + 1
    steps.append(Step("quantise and fill", {"fill_limit": sol.fill_limit},
                      {"moves": moves, "result": plan.describe(sol.knobs)},
                      "widths multiples of 8 (make_divisible), group widths respected; greedy "
                      "single-step growth while every budget holds"))
    probe = plan.spec(sol.knobs)
    reg = regularisation(ev.measure(probe).params, task.samples)
    recipe = training_recipe(plan.family, task.samples, regression=task.regression,
                             classes=task.classes,
                             early_stopping_patience=reg.early_stopping_patience,
                             weight_decay=reg.weight_decay)
    has_dropout = families().get(plan.family).has_dropout
    spec = plan.spec(sol.knobs, reg.dropout if has_dropout else 0.0)
    dropout_where = "applied to the spec" if has_dropout else \
        "recipe only (this family has no dropout layer)"
    steps.append(Step("regularisation", {"params_per_sample": reg.params_per_sample},
                      {"dropout": reg.dropout, "weight_decay": reg.weight_decay,
                       "early_stopping_patience": reg.early_stopping_patience,
                       "dropout_use": dropout_where}, REGULARISATION_SOURCE))
    steps.append(Step("training recipe", {"family": plan.family, "samples": task.samples},
                      recipe.to_dict(), recipe.source))
    costs = ev.measure(spec, everything=True)
    utilisation = {lim.name: {"limit": lim.value, "value": costs.get(lim.metric),
                              "fraction": costs.get(lim.metric) / lim.value, "user": lim.user}
                   for lim in ev.limits}
    binding = max(utilisation, key=lambda n: utilisation[n]["fraction"])
    note = _fill_note(plan, ev, sol, utilisation, binding)
    steps.append(Step("budget", {n: u["limit"] for n, u in utilisation.items()},
                      {"binding": binding, "used": round(utilisation[binding]["fraction"], 4),
                       "note": note}, "archscale solver"))
    resize = plan.resize_to(sol.knobs)
    return Proposal(
        task=task, budget=budget, spec=spec, family=plan.family, variant=plan.variant,
        description=plan.describe(sol.knobs), rationale=tuple(steps),
        predicted=_predicted(spec, costs, budget, recipe, latency),
        utilisation=utilisation, binding=binding, fill_note=note,
        capacity=capacity_range(task.samples, task.modality, task.classes),
        regularisation=reg, recipe=recipe,
        search_space=search_space(plan, binding, utilisation, reg, recipe),
        preprocessing={"resize_to": list(resize)} if resize else {},
        scaling={"phi": sol.phi, "depth": d, "width": w, "resolution": r,
                 "knobs": list(sol.knobs), "moves": list(sol.moves),
                 "fill_limit": sol.fill_limit, "evaluations": sol.evaluations,
                 "latency_correction": latency.correction if latency else None},
        plan=plan, knobs=sol.knobs)


def _predicted(spec: ArchSpec, costs: Costs, budget: Budget, recipe: Recipe,
               latency: LatencyModel | None) -> dict[str, Any]:
    return {
        "params": costs.params, "macs": costs.macs, "flops": costs.flops,
        "train_memory_bytes": costs.train_memory_bytes,
        "inference_memory_bytes": costs.inference_memory_bytes,
        "latency_ms": costs.latency_ms, "batch_size": budget.batch_size,
        "train_batch_size": budget.training_batch_size, "optimizer": recipe.optimizer,
        "dtype": "float32", "latency_calibrated": latency is not None,
    }


def _fill_note(plan: Plan, ev: Evaluator, sol: Solution,
               utilisation: dict[str, dict[str, Any]], binding: str) -> str | None:
    """Why the binding limit is used below ``FILL_TARGET`` (the documented exceptions)."""
    used = utilisation[binding]["fraction"]
    if used >= FILL_TARGET:
        return None
    if sol.truncated:
        return f"the greedy fill stopped after {len(sol.moves)} single steps"
    if sol.at_maximum or all(plan.move(sol.knobs, i) is None
                             for i in range(len(plan.move_names()))):
        return (f"the family's largest member ({plan.describe(plan.maximum())}) stays below "
                "every limit")
    limit = next(lim for lim in ev.limits if lim.name == binding)
    step = smallest_step(plan, ev, sol.knobs, limit)
    headroom = 1 / used - 1 if used > 0 else math.inf
    if step is not None:
        return (f"granularity: the smallest single step from here grows {limit.metric} by "
                f"{step:.0%} or breaks another limit, more than the {headroom:.0%} headroom")
    return "granularity: no single growth step fits the remaining headroom"


__all__ = ["ImpossibleBudgetError", "Proposal", "params_ceiling", "propose"]
