"""The scaling plan of a layout variant, found through the family that owns it.

Every family carries its plan (``Family.plan``, a ``Plan`` subclass defined in the family's
module under ``archscale.reference_archs``); this module only dispatches a variant name
(``mlp``, ``resnet-cifar``, ``efficientnet``...) to it. The ``Plan`` base class, the shared
layouts and the compound coefficients live in ``archscale.reference_archs.scaling_plan``.
"""

from __future__ import annotations

from typing import Any

from archscale.errors import SpecError
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import Plan
from archscale.specs import Task


def make_plan(task: Task, variant: str, target_params: float, *,
              max_resolution: int | None = None, anchor: Any = None) -> Plan:
    """The plan of a layout variant for a task.

    Args:
        task: The task.
        variant: A layout of a registered family's plan: ``mlp``, ``cnn1d``,
            ``resnet-cifar``, ``resnet-imagenet``, ``resnet-1d``, ``mobilenet_v2``,
            ``efficientnet``, ``regnet`` or ``inception``.
        target_params: Capacity target (sets the MLP depth).
        max_resolution: Largest input side compound scaling may raise the resolution to
            (default: the task's own side).
        anchor: The published ``AccuracyPoint`` the family choice picked (RegNet starts
            from it).

    Returns:
        The plan.

    Raises:
        SpecError: no registered family has that variant.
    """
    registry = families()
    for name in registry:
        plan_cls = registry.get(name).plan
        if variant in plan_cls.layouts():
            return plan_cls.for_task(task, variant, target_params,
                                     max_resolution=max_resolution, anchor=anchor)
    accepted = ", ".join(v for name in registry for v in registry.get(name).variants)
    raise SpecError(f"unknown layout variant {variant!r}; accepted: {accepted}. "
                    f"Received: variant={variant!r}")
