"""``propose(task, budget)``: a concrete architecture with every dimension explained.

Pure Python (no scipy); TensorFlow is imported only by ``verify`` and calibration.
The steps: modality -> capacity (advisory: a ceiling only without a user budget) -> family
choice (images: the published accuracy-vs-MACs table) -> base structure rules -> compound
scaling solved against the budget -> quantise and greedy fill (or the published configuration
within ~2 % of the budget, named) -> regularisation and training recipe -> predicted costs,
utilisation and a tuning search space.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from archscale.environment import detect_backend
from archscale.errors import ArchscaleError, SpecError
from archscale.heuristics.advice import (image_advice, named_point, raw_signal_warning,
                                         too_small_to_convolve)
from archscale.heuristics.calibration import CalibrationError, LatencyModel, load_calibration
from archscale.heuristics.capacity import (CAPACITY_SOURCE, REGULARISATION_SOURCE,
                                           CapacityRule, capacity_inputs, capacity_range,
                                           capacity_source, regularisation)
from archscale.heuristics.plans import make_plan
from archscale.heuristics.proposal import Proposal
from archscale.heuristics.recipe_rules import training_recipe
from archscale.heuristics.rules import (FamilyChoice, check_family_fits_task, choose_family,
                                        variant_for)
from archscale.heuristics.search_space import search_space
from archscale.heuristics.solver import (CAPACITY, Costs, Evaluator, InfeasibleError, Limit,
                                         Solution, budget_limits, smallest_step, solve)
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import AXES, COMPOUND_SOURCE, Plan, Step
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
                   capacity_high: int | None, max_resolution: int | None) -> FamilyChoice:
    if task.family is not None:
        check_family_fits_task(task.family, task, tuple(families()))
        return FamilyChoice(task.family, variant_for(task.family, task),
                            "requested (family override)", (), (), "user",
                            {"family": task.family})
    if too_small_to_convolve(task):
        size = "x".join(map(str, task.input_shape[:-1]))
        return FamilyChoice("mlp", "mlp", f"a {size} input is too small to convolve (a 3x3 "
                            "kernel with stride-2 stages needs at least 4 positions per axis): "
                            "a dense MLP over the flattened input", (), (),
                            "Goodfellow et al. 2016 ch. 9", {"input_shape": task.input_shape})
    macs = budget.max_macs
    if budget.max_latency_ms is not None and latency is not None:
        equivalent = latency.macs_within(budget.max_latency_ms, budget.batch_size)
        macs = equivalent if macs is None else min(macs, equivalent)
    params = budget.max_params if budget.max_params is not None else capacity_high
    return choose_family(task, macs, params, max_resolution)


@dataclass
class _Attempt:
    variant: str
    plan: Plan | None = None
    evaluator: Evaluator | None = None
    solution: Solution | None = None
    infeasible: InfeasibleError | None = None


def _attempt(task: Task, budget: Budget, variant: str, target: float, capacity: Limit | None,
             latency: LatencyModel | None, steps: list[Step], choice: FamilyChoice,
             max_resolution: int | None) -> _Attempt:
    """Solve one variant; record why it cannot fit instead of raising."""
    anchor = choice.anchor if variant == choice.variant else None
    plan = make_plan(task, variant, target, max_resolution=max_resolution, anchor=anchor)
    optimizer = training_recipe(plan.family, task.samples).optimizer
    limits = budget_limits(budget)
    ev = Evaluator(plan, limits + ([capacity] if capacity else []),
                   batch_size=budget.batch_size, train_batch_size=budget.training_batch_size,
                   optimizer=optimizer, latency=latency, backend=budget.backend)
    smallest = ev.costs(plan.minimum())
    if capacity and smallest is not None and smallest.body_params > capacity.value:
        ev.limits[-1] = dataclasses.replace(capacity, value=float(smallest.body_params))
        steps.append(Step("capacity floor", {"capacity_high": round(capacity.value),
                                             "smallest_body_params": smallest.body_params},
                          f"the data suggest at most {format_count(capacity.value)} body "
                          f"params, below the smallest sensible {variant} "
                          f"({format_count(smallest.body_params)}); the default is raised to "
                          f"it for {variant}", "archscale convention"))
    try:
        solution = solve(plan, ev)
    except InfeasibleError as exc:
        return _Attempt(variant, plan, ev, infeasible=exc)
    named = named_point(plan, ev, bool(limits), anchor)
    if named is not None:
        point, knobs = named
        solution = dataclasses.replace(solution, knobs=knobs, costs=ev.costs(knobs),
                                       moves=[], named=point)
    return _Attempt(variant, plan, ev, solution)


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


def params_ceiling(budget: Budget, capacity_high: float | None) -> float:
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
    present = [b for b in bounds if b is not None]
    return float(min(present)) if present else 1e9


def propose(task: Task, budget: Budget | None = None, *, latency_correction: float = 1.0,
            max_resolution: int | None = None, capacity: CapacityRule | None = None) -> Proposal:
    """Propose an architecture for ``task`` within ``budget``.

    Args:
        task: What the data looks like.
        budget: Ceilings (default: none; then the capacity default sizes the proposal).
        latency_correction: Multiplier on predicted latencies (``verify`` sets it).
        max_resolution: Largest input side compound scaling may raise the resolution to
            (``--max-resolution``; default: the input's own side, no upsampling).
        capacity: How the data-derived capacity applies (``--params-per-sample``,
            ``--capacity off``, the probed data's ``headroom``); it is a ceiling only when
            the user gives no budget.

    Returns:
        The ``Proposal``.

    Raises:
        SpecError: invalid task or an incompatible family override.
        CalibrationError: a latency budget without a valid calibration for this machine.
        ImpossibleBudgetError: no candidate family fits the budget.
    """
    budget = Budget() if budget is None else budget
    rule = CapacityRule() if capacity is None else capacity
    if not isinstance(task, Task) or not isinstance(budget, Budget) \
            or not isinstance(rule, CapacityRule):
        raise SpecError("propose(task, budget) takes an archscale.Task and an archscale.Budget. "
                        f"Received: {type(task).__name__}, {type(budget).__name__}")
    if max_resolution is not None and (not isinstance(max_resolution, int)
                                       or max_resolution < 1):
        raise SpecError("max_resolution must be a positive int (pixels). Received: "
                        f"max_resolution={max_resolution!r}")
    latency = _latency_model(budget, latency_correction)
    low, high = capacity_range(task.samples, task.modality, task.classes,
                               rule.params_per_sample, rule.headroom, rule.scale)
    user = bool(budget_limits(budget))
    applied = rule.enabled and not user
    steps = [
        Step("modality", {"input_shape": task.input_shape}, task.modality,
             "rank of the input: 1 vector, 2 sequence (length x channels), 3 image (HxWxC); "
             "--modality overrides"),
        Step("capacity from data", capacity_inputs(task, rule),
             {"low_body_params": low, "high_body_params": high,
              "use": ("off (--capacity off)" if not rule.enabled else
                      "advisory: the user's budget decides" if user else
                      "the default ceiling (no user budget)")}, capacity_source(rule, task.modality)),
    ]
    warnings = [w for w in (raw_signal_warning(task),) if w]
    choice = _family_choice(task, budget, latency, high if applied else None, max_resolution)
    steps.append(Step("family", choice.inputs, {"family": choice.family,
                                                "variant": choice.variant,
                                                "why": choice.reason,
                                                "alternatives": dict(choice.alternatives)},
                      choice.source))
    target = params_ceiling(budget, high if rule.enabled else None)
    limit = Limit(CAPACITY, "body_params", float(high), user=False) if applied else None
    attempts: list[_Attempt] = []
    for variant in (choice.variant, *choice.fallbacks):
        attempt = _attempt(task, budget, variant, target, limit, latency, steps, choice,
                           max_resolution)
        attempts.append(attempt)
        if attempt.solution is not None:
            break
    else:
        error = _impossible(attempts, budget)
        if warnings:
            error = ImpossibleBudgetError(f"{error} ({warnings[0].split(':')[0]}: consider a "
                                          "log-mel / MFCC front end)")
        raise error
    if len(attempts) > 1:
        steps.append(Step("fallback", {"tried": [a.variant for a in attempts[:-1]]},
                          attempts[-1].variant, "the preferred family's smallest sensible "
                          "member exceeds the budget"))
    return _assemble(task, budget, attempts[-1], steps, latency, tuple(warnings),
                     {"target_params": target, "max_resolution": max_resolution,
                      "anchor": choice.anchor.name if choice.anchor else None,
                      "headroom": rule.headroom, "scale": rule.scale,
                      "params_per_sample": rule.params_per_sample})


def _assemble(task: Task, budget: Budget, att: _Attempt, steps: list[Step],
              latency: LatencyModel | None, warnings: tuple[str, ...],
              plan_args: dict[str, Any]) -> Proposal:
    plan, ev, sol = att.plan, att.evaluator, att.solution
    assert plan is not None and ev is not None and sol is not None  # noqa: S101 - internal
    steps.extend(plan.steps)
    d, w, r = sol.coefficients
    scaled = {a: round(c, 3) for a, c in zip(AXES, (d, w, r)) if a in plan.axes}
    if len(plan.axes) > 1:
        scaled = {"phi": round(sol.phi, 3), **scaled}
    steps.append(Step("compound scaling", {"axes": list(plan.axes),
                                           "limits": {lim.name: lim.value for lim in ev.limits}},
                      {**scaled, "at_family_maximum": sol.at_maximum},
                      COMPOUND_SOURCE + "; phi bisected against the analytic cost"))
    if sol.named is not None:
        p = sol.named
        steps.append(Step("published configuration", {"within": "2 % of the budget"
                                                       if ev.limits and budget_limits(budget)
                                                       else "no user budget"},
                          f"this is {p.name} at {p.resolution} px ({p.top1:g} % top-1 on "
                          f"{'ImageNet' if p.dataset == 'imagenet' else 'CIFAR-10'}, "
                          f"{format_count(p.macs)} MACs published): proposed as published",
                          p.source))
    else:
        moves: dict[str, int] = {}
        for m in sol.moves:
            moves[m] = moves.get(m, 0) + 1
        departures = plan.departures(sol.knobs)
        steps.append(Step("quantise and fill", {"fill_limit": sol.fill_limit},
                          {"moves": moves, "result": plan.describe(sol.knobs),
                           **({"departures": departures} if departures else {})},
                          "widths multiples of 8 (make_divisible), group widths respected; "
                          "greedy single-step growth while every budget holds"))
    params = ev.measure(plan.spec(sol.knobs)).params
    style = families().get(plan.family).recipe_style
    reg = regularisation(params, task.samples, style, variant=plan.variant)
    recipe = training_recipe(plan.family, task.samples, regression=task.regression,
                             classes=task.classes,
                             early_stopping_patience=reg.early_stopping_patience,
                             weight_decay=reg.weight_decay, variant=plan.variant)
    has_dropout = families().get(plan.family).has_dropout
    spec = plan.spec(sol.knobs, reg.dropout if has_dropout else 0.0)
    dropout_where = "applied to the spec" if has_dropout else \
        "recipe only (this family has no dropout layer)"
    steps.append(Step("regularisation", {"params_per_sample": reg.params_per_sample},
                      {"dropout": reg.dropout, "weight_decay": reg.weight_decay,
                       "weight_decay_kind": reg.weight_decay_kind,
                       "early_stopping_patience": reg.early_stopping_patience,
                       "dropout_use": dropout_where}, REGULARISATION_SOURCE))
    steps.append(Step("training recipe", {"family": plan.family, "samples": task.samples},
                      recipe.to_dict(), recipe.source))
    steps.extend(image_advice(task))
    costs = ev.measure(spec, everything=True)
    utilisation = {lim.name: {"limit": lim.value, "value": costs.get(lim.metric),
                              "fraction": costs.get(lim.metric) / lim.value, "user": lim.user}
                   for lim in ev.limits}
    binding = max(utilisation, key=lambda n: utilisation[n]["fraction"]) if utilisation \
        else None
    note = _fill_note(plan, ev, sol, utilisation, binding)
    steps.append(Step("budget", {n: u["limit"] for n, u in utilisation.items()},
                      {"binding": binding, "used": round(utilisation[binding]["fraction"], 4)
                       if binding else None, "note": note}, "archscale solver"))
    if not budget_limits(budget):
        steps.append(Step("advisory capacity",
                          {"body_params": costs.body_params,
                           "params_per_sample": round(costs.body_params / task.samples, 2)},
                          "no user budget: the capacity default sized this proposal; give "
                          "--max-params / --max-macs, --params-per-sample N or --capacity off "
                          "to decide instead", CAPACITY_SOURCE))
    resize = plan.resize_to(sol.knobs)
    return Proposal(
        task=task, budget=budget, spec=spec, family=plan.family, variant=plan.variant,
        description=plan.describe(sol.knobs) + (f" = {sol.named.name}" if sol.named else ""),
        rationale=tuple(steps),
        predicted=_predicted(spec, costs, budget, recipe, latency),
        utilisation=utilisation, binding=binding, fill_note=note,
        capacity=capacity_range(task.samples, task.modality, task.classes,
                                plan_args.get("params_per_sample"),
                                headroom=plan_args.get("headroom"),
                                scale=plan_args.get("scale")),
        regularisation=reg, recipe=recipe,
        search_space=search_space(plan, binding, utilisation, reg, recipe, sol.knobs),
        preprocessing={"resize_to": list(resize)} if resize else {},
        scaling={"phi": sol.phi, "depth": d, "width": w, "resolution": r,
                 "knobs": list(sol.knobs), "moves": list(sol.moves),
                 "fill_limit": sol.fill_limit, "evaluations": sol.evaluations,
                 "latency_correction": latency.correction if latency else None,
                 "named": sol.named.name if sol.named else None, "plan_args": plan_args},
        plan=plan, knobs=sol.knobs, warnings=warnings)


def _predicted(spec: ArchSpec, costs: Costs, budget: Budget, recipe: Recipe,
               latency: LatencyModel | None) -> dict[str, Any]:
    return {
        "params": costs.params, "macs": costs.macs, "flops": costs.flops,
        "train_memory_bytes": costs.train_memory_bytes,
        "inference_memory_bytes": costs.inference_memory_bytes,
        "latency_ms": costs.latency_ms, "batch_size": budget.batch_size,
        "train_batch_size": budget.training_batch_size, "optimizer": recipe.optimizer,
        "dtype": "float32", "latency_calibrated": latency is not None,
        "backend": budget.backend or detect_backend(),
    }


def _fill_note(plan: Plan, ev: Evaluator, sol: Solution,
               utilisation: dict[str, dict[str, Any]], binding: str | None) -> str | None:
    """Why the binding limit is used below ``FILL_TARGET`` (the documented exceptions), or
    what binds when it is not a user budget."""
    if binding is None:
        return "no limit applies (no budget and --capacity off): the family's base member"
    used = utilisation[binding]["fraction"]
    if sol.named is not None and used < FILL_TARGET and not utilisation[binding]["user"]:
        return (f"no user budget: {sol.named.name} is the most accurate published point within "
                "the advisory capacity default, proposed as published")
    if used >= FILL_TARGET:
        if not utilisation[binding]["user"]:
            return ("what binds is the advisory capacity default (body params per sample), "
                    "not a user budget")
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
