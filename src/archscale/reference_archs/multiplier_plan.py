"""A width-only scaling plan over published depth configurations (DenseNet, VGG, Xception).

The knobs are ``(configuration index, width level)``: the configuration is one of the family's
published depth variants (DenseNet-121/169/201, VGG-16/19), fixed at the first one unless a
published accuracy point (``AccuracyPoint.config["config"]``) names another; the width level is
the width multiplier in 1/64 steps (0.25 to 4). Only the width is scaled, as for Inception:
these families publish a few fixed depths, not a depth rule.
"""

from __future__ import annotations

from typing import Any

from archscale.reference_archs.scaling_plan import Knobs, Plan, Step, clamp
from archscale.specs import ArchSpec, Task

#: Width levels per unit multiplier, and the level bounds (0.25 .. 4).
LEVELS = 64
MIN_LEVEL, MAX_LEVEL = 16, 256


def scaled(value: int, multiplier: float) -> int:
    """``max(1, round_half_up(value * multiplier))``: a channel count under a multiplier."""
    return max(1, int(value * multiplier + 0.5))


class MultiplierPlan(Plan):
    """Base class: subclasses set ``family``, ``configs`` (names of the published depth
    variants, e.g. ``DenseNet-121``) and ``source`` and implement ``build_spec``."""

    axes = ("width",)
    configs: tuple[str, ...] = ()
    source = ""

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.bounds["width"] = (MIN_LEVEL / LEVELS, MAX_LEVEL / LEVELS)
        self.steps = [Step(f"{self.family} configuration", {"configs": list(self.configs)},
                           f"{self.configs[0]}, width scaled by a multiplier",
                           self.source)]

    def build_spec(self, config: str, multiplier: float, dropout: float) -> ArchSpec:
        """The spec of configuration ``config`` at width ``multiplier``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (0, int(clamp(round(w * LEVELS), MIN_LEVEL, MAX_LEVEL)))

    def knobs_for(self, point: Any) -> Knobs | None:
        config = point.get("config")
        if config not in self.configs:
            return None
        return (self.configs.index(config), round(point.get("width", 1.0) * LEVELS))

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return self.build_spec(self.configs[knobs[0]], knobs[1] / LEVELS, dropout)

    def move_names(self) -> tuple[str, ...]:
        return (f"width multiplier + 1/{LEVELS}",)

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        return (knobs[0], knobs[1] + 1) if knobs[1] < MAX_LEVEL else None

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (knobs[0], int(clamp(round(knobs[1] * width), MIN_LEVEL, MAX_LEVEL)))

    def describe(self, knobs: Knobs) -> str:
        return f"{self.configs[knobs[0]]} width multiplier {knobs[1] / LEVELS:g}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        return (["configuration", "width multiplier"],
                [[self.configs[knobs[0]], knobs[1] / LEVELS]])
