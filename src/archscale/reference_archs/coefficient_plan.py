"""The width-, depth- and resolution-coefficient plan the EfficientNets share.

Knobs: ``(width coefficient in 1/40 steps, depth coefficient in 1/20 steps, resolution
level)``, width 0.5-4.0 and depth 0.5-5.0 (B0 = ``(40, 20, level)``). A family sets its layout
step in ``__init__`` (``layout_step``) and implements ``spec``, ``describe`` and ``table``;
``matches`` says whether a published point belongs to this plan's base table.
"""

from __future__ import annotations

from typing import Any

from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, ResolutionPlan, Step, clamp
from archscale.specs import Task

#: Knob steps per unit coefficient and the knobs' ranges (width 0.5-4.0, depth 0.5-5.0).
WIDTH_STEPS, DEPTH_STEPS = 40, 20
WIDTH_KNOBS, DEPTH_KNOBS = (20, 160), (10, 100)
WIDTH_RANGE, DEPTH_RANGE = (0.5, 4.0), (0.5, 5.0)


class CoefficientPlan(ResolutionPlan):
    """Width, depth and resolution coefficients scaled together (see the module docstring)."""

    axes = ("depth", "width", "resolution")

    def __init__(self, task: Task, max_resolution: int | None = None) -> None:
        super().__init__(task)
        self.init_resolution(task, max_resolution)
        self.bounds["width"] = WIDTH_RANGE
        self.bounds["depth"] = DEPTH_RANGE

    def layout_step(self, inputs: dict[str, Any], layout: str, source: str) -> Step:
        """The plan's layout step: ``inputs`` plus the coefficient and resolution ranges."""
        return Step("mobile layout", {**inputs, "width_range": list(WIDTH_RANGE),
                                      "depth_range": list(DEPTH_RANGE),
                                      "resolutions": [self.levels[0], self.levels[-1]]},
                    layout, source)

    def knob_coefficients(self, knobs: Knobs) -> tuple[float, float]:
        """``(width coefficient, depth coefficient)`` of ``knobs``."""
        return knobs[0] / WIDTH_STEPS, knobs[1] / DEPTH_STEPS

    def matches(self, point: Any) -> bool:
        """Whether a published point is one of this plan's (default: every point)."""
        return True

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(w * WIDTH_STEPS), *WIDTH_KNOBS)),
                int(clamp(round(d * DEPTH_STEPS), *DEPTH_KNOBS)), self.res_index(r))

    def knobs_for(self, point: Any) -> Knobs | None:
        level = self.level_of(point.resolution)
        if level is None or not self.matches(point):
            return None
        return (round(point.get("width") * WIDTH_STEPS), round(point.get("depth") * DEPTH_STEPS),
                level)

    def move_names(self) -> tuple[str, ...]:
        return ("width + 0.025", "depth + 0.05", f"resolution + {QUANTUM} px")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        limits = (WIDTH_KNOBS[1], DEPTH_KNOBS[1], len(self.levels) - 1)
        if knobs[index] >= limits[index]:
            return None
        return knobs[:index] + (knobs[index] + 1,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), *WIDTH_KNOBS)),
                int(clamp(round(knobs[1] * depth), *DEPTH_KNOBS)), knobs[2])
