"""The image family choice from the published accuracy-vs-cost table.

Every family carries its published ImageNet points (``Family.accuracy``: Keras Applications
and the papers, each row cited). For an image larger than the CIFAR-style limit the family is
the one whose most accurate published point fits the budget at a resolution the input allows:

- with ``max_resolution`` ``R`` (default: the input's side) of at least 224 px, the points
  published at ``R`` px or less count as published (upsampling to a point's resolution is the
  user's choice, ``--max-resolution``);
- below 224 px, the 224-px points count at the input's resolution: their MACs scaled by the
  pixel ratio (the network is the same; only the feature maps shrink);
- the budget is the MAC ceiling (or a latency budget's MAC equivalent), else the parameter
  ceiling (the user's, else the capacity default);
- when no point fits, the family with the cheapest point is scaled down (the solver then says
  whether it can be built at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscale.reference_archs.registry import AccuracyPoint, accuracy_table, families
from archscale.specs import Task
from archscale.units import format_count

#: The resolution of the standard ImageNet points.
STANDARD_RESOLUTION = 224

#: Layout variant of each family the table can choose (ResNet's ImageNet layout).
IMAGE_VARIANTS = {"resnet": "resnet-imagenet"}

TABLE_SOURCE = ("published ImageNet top-1 vs multiply-adds: Sandler et al. 2018, Tan & Le 2019 "
                "Table 2, Radosavovic et al. 2020, He et al. 2015 / torchvision, Szegedy et "
                "al. 2015 / keras.applications")


@dataclass(frozen=True)
class FamilyChoice:
    """The family a task gets, the variant of its layout, why, and what else was considered.

    Attributes:
        family: Registry family name.
        variant: Layout within the family (``resnet-cifar``, ``resnet-imagenet``, ...).
        reason: One sentence explaining the choice.
        alternatives: ``(family, why not)`` pairs.
        fallbacks: Variants to try, in order, if the chosen one cannot fit the budget.
        source: Citation.
        inputs: The rule's inputs (for the rationale).
        anchor: The published point the choice rests on (``None`` outside the table).
    """

    family: str
    variant: str
    reason: str
    alternatives: tuple[tuple[str, str], ...] = ()
    fallbacks: tuple[str, ...] = ()
    source: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    anchor: AccuracyPoint | None = None


def point_cost(point: AccuracyPoint, task: Task, max_resolution: int) -> tuple[float, int] | None:
    """``(MACs, resolution)`` of a published point on this task, or ``None`` if not usable.

    Args:
        point: The published point.
        task: The image task.
        max_resolution: Largest input side allowed.

    Returns:
        The point's MACs and side as published when ``max_resolution >= 224`` and the point's
        resolution is at most ``max_resolution``; for smaller inputs, 224-px points with MACs
        scaled to the input's pixels; otherwise ``None``.
    """
    if max_resolution >= STANDARD_RESOLUTION:
        return (point.macs, point.resolution) if point.resolution <= max_resolution else None
    if point.resolution != STANDARD_RESOLUTION:
        return None
    h, w = task.input_shape[:2]
    pixels = max_resolution * max_resolution * w / h
    return point.macs * pixels / STANDARD_RESOLUTION ** 2, max_resolution


def image_choice(task: Task, macs_limit: float | None, params_limit: float | None,
                 max_resolution: int | None = None) -> FamilyChoice:
    """The family of the most accurate published point within the budget (module docstring).

    Args:
        task: An image task larger than the CIFAR-style limit.
        macs_limit: The MAC ceiling or ``None``.
        params_limit: The parameter ceiling or ``None``.
        max_resolution: Largest input side (default: the input's shorter side).

    Returns:
        The ``FamilyChoice`` with its ``anchor`` point.
    """
    side = min(task.input_shape[:2])
    top = max(side, max_resolution or side)
    rows = []
    for family, point in accuracy_table("imagenet"):
        cost = point_cost(point, task, top)
        if cost is not None and family in IMAGE_VARIANTS.keys() | _plannable():
            rows.append((family, point, cost[0], cost[1]))
    if macs_limit is not None:
        limit, metric, unit = macs_limit, 2, "MACs"
    elif params_limit is not None:
        limit, metric, unit = params_limit, 1, "params"
    else:
        limit, metric, unit = float("inf"), 2, "MACs"

    def value(row: tuple[str, AccuracyPoint, float, int]) -> float:
        return row[2] if metric == 2 else row[1].params

    fits = [r for r in rows if value(r) <= limit]
    where = f"{top} px" + (" (--max-resolution)" if top > side else "")
    basis = f"{format_count(limit)} {unit}" if limit != float("inf") else "no budget"
    inputs = {"budget": round(limit) if limit != float("inf") else None, "unit": unit,
              "max_resolution": top, "points_considered": len(rows)}
    if fits:
        best = max(fits, key=lambda r: (r[1].top1, -value(r)))
        family, point = best[0], best[1]
        reason = (f"the most accurate published ImageNet point within {basis} at up to {where} "
                  f"is {point.name} ({point.top1:g} % top-1, {format_count(best[2])} MACs, "
                  f"{format_count(point.params)} params at {best[3]} px)")
    else:
        best = min(rows, key=value)
        family, point = best[0], None
        reason = (f"every published ImageNet point exceeds {basis}; the cheapest, "
                  f"{best[1].name} ({format_count(value(best))} {unit}), is scaled down")
    alternatives = []
    for other in dict.fromkeys(r[0] for r in rows):
        if other == family:
            continue
        own = [r for r in fits if r[0] == other]
        if own:
            alt = max(own, key=lambda r: r[1].top1)
            alternatives.append((other, f"its best point within the budget, {alt[1].name}, "
                                        f"reaches {alt[1].top1:g} %"))
        else:
            cheapest = min((r for r in rows if r[0] == other), key=value)
            alternatives.append((other, f"its smallest published point, {cheapest[1].name}, "
                                        f"needs {format_count(value(cheapest))} {unit}"))
    variant = IMAGE_VARIANTS.get(family, family)
    fallbacks = tuple(v for v in ("mobilenet_v2", "efficientnet", "resnet-imagenet")
                      if v != variant)
    return FamilyChoice(family, variant, reason, tuple(alternatives), fallbacks,
                        (point.source if point else best[1].source) + "; " + TABLE_SOURCE,
                        inputs, point)


def _plannable() -> set[str]:
    """Families whose plan is the family's own name (every image family but ResNet)."""
    registry = families()
    return {name for name in registry if name in registry.get(name).variants}


def family_table_rows(dataset: str = "imagenet") -> list[list[Any]]:
    """``[family, point, top-1 %, MACs, params, resolution, source]`` rows of the table (the
    README's family table is generated from these)."""
    return [[family, p.name, f"{p.top1:g}", format_count(p.macs), format_count(p.params),
             p.resolution, p.source] for family, p in accuracy_table(dataset)]
