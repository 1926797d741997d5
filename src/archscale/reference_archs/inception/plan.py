"""The Inception scaling plan: Inception v3 (>= 75 px) or GoogLeNet, scaled in width only.

The heuristics (``archscale.heuristics``) solve it against a budget.
"""

from __future__ import annotations

from typing import Any

from archscale.reference_archs.inception.model import InceptionSpec
from archscale.reference_archs.scaling_plan import Knobs, Plan, Step, clamp
from archscale.specs import ArchSpec, Task


class InceptionPlan(Plan):
    """Inception v3 (>= 75 px) or GoogLeNet (smaller); knob: width multiplier in 1/64 steps."""

    family = variant = "inception"
    axes = ("width",)

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.version = "v3" if min(task.input_shape[:2]) >= 75 else "v1"
        self.bounds["width"] = (0.25, 4.0)
        self.steps = [Step("inception version", {"side": min(task.input_shape[:2])},
                           self.version, "Szegedy et al. 2015 (Inception v3 needs >= 75 px); "
                           "Szegedy et al. 2014 (GoogLeNet)")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(w * 64), 16, 256)),)

    def knobs_for(self, point: Any) -> Knobs | None:
        if point.get("version") != self.version:
            return None
        return (round(point.get("width") * 64),)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return InceptionSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                             version=self.version, width_multiplier=knobs[0] / 64,
                             batch_norm=True, dropout=dropout,
                             output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return ("width multiplier + 1/64",)

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        return (knobs[0] + 1,) if knobs[0] < 256 else None

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), 16, 256)),)

    def describe(self, knobs: Knobs) -> str:
        return f"Inception {self.version} width multiplier {knobs[0] / 64:g}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        return ["version", "width multiplier"], [[self.version, knobs[0] / 64]]
