"""The width-multiplier-and-resolution plan the MobileNets share.

Knobs: ``(alpha in 1/40 steps, resolution level)``; depth fixed. A family sets the smallest
alpha step (``min_alpha_steps``), its name as shown (``label``), its layout step
(``layout``, ``layout_source``) and implements ``spec`` and ``table``.
"""

from __future__ import annotations

from typing import Any

from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, ResolutionPlan, Step, clamp
from archscale.specs import Task

#: Alpha knob steps per unit (alpha = knob / 40) and the largest knob (alpha 2.0).
ALPHA_STEPS = 40
MAX_ALPHA_STEPS = 80


class AlphaResolutionPlan(ResolutionPlan):
    """Width multiplier and input resolution scaled, depth fixed (see the module docstring)."""

    axes = ("width", "resolution")
    min_alpha_steps = 10
    label = ""
    layout = ""
    layout_source = ""

    def __init__(self, task: Task, max_resolution: int | None = None) -> None:
        super().__init__(task)
        self.init_resolution(task, max_resolution)
        low, high = self.min_alpha_steps / ALPHA_STEPS, MAX_ALPHA_STEPS / ALPHA_STEPS
        self.bounds["width"] = (low, high)
        self.steps = [Step("mobile layout", {"alpha_range": [low, high],
                                             "resolutions": [self.levels[0], self.levels[-1]]},
                           self.layout, self.layout_source)]

    def _alpha_knob(self, steps: float) -> int:
        return int(clamp(round(steps), self.min_alpha_steps, MAX_ALPHA_STEPS))

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (self._alpha_knob(w * ALPHA_STEPS), self.res_index(r))

    def knobs_for(self, point: Any) -> Knobs | None:
        level = self.level_of(point.resolution)
        return None if level is None else (round(point.get("alpha") * ALPHA_STEPS), level)

    def move_names(self) -> tuple[str, ...]:
        return (f"alpha + {1 / ALPHA_STEPS:g}", f"resolution + {QUANTUM} px")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        if index == 0:
            return (knobs[0] + 1, knobs[1]) if knobs[0] < MAX_ALPHA_STEPS else None
        return (knobs[0], knobs[1] + 1) if knobs[1] + 1 < len(self.levels) else None

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (self._alpha_knob(knobs[0] * width), knobs[1])

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[1])
        return f"{self.label} alpha {knobs[0] / ALPHA_STEPS:g} at {h}x{w}"
