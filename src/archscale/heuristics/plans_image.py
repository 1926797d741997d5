"""Scaling plans of the image-only families: MobileNetV2, EfficientNet, RegNetX, Inception.

MobileNetV2 and EfficientNet may also scale the input resolution *down* (never up: upsampling
adds no information). Resolutions are multiples of 8 from 96 px (the smallest published
MobileNet resolution; half the native side for smaller inputs, at least 32 px) to the native
size; the proposal then says what to resize inputs to.
"""

from __future__ import annotations

import math
from typing import Any

from archscale.heuristics.plans import Knobs, Plan, clamp
from archscale.heuristics.rules import QUANTUM, Step
from archscale.reference_archs.rounding import make_divisible, round_filters, round_repeats
from archscale.specs import ArchSpec, Task

#: Smallest input side the resolution axis goes down to (MobileNet's published minimum; half
#: the native side for inputs under 192 px).
MIN_RESOLUTION = 96


def resolution_levels(side: int, minimum: int = MIN_RESOLUTION) -> tuple[int, ...]:
    """Allowed input heights: multiples of 8 from the minimum below ``side``, then ``side``.

    The minimum is ``minimum`` (96), or half the native side for inputs up to 192 px, but never
    below 32 px.

    Args:
        side: Native input height.
        minimum: Smallest height for large inputs.

    Returns:
        Increasing heights ending with ``side``.
    """
    minimum = min(minimum, max(32, side // 2))
    start = QUANTUM * math.ceil(minimum / QUANTUM)
    return tuple(range(start, side, QUANTUM)) + (side,) if side > minimum else (side,)


class _ResolutionMixin(Plan):
    """Resolution knob = index into ``resolution_levels``; aspect ratio kept."""

    def _init_resolution(self, task: Task) -> None:
        self.levels = resolution_levels(task.input_shape[0])
        self.bounds["resolution"] = (self.levels[0] / self.levels[-1], 1.0)

    def _res_index(self, r: float) -> int:
        target = r * self.levels[-1] + 1e-9
        return max([0] + [i for i, h in enumerate(self.levels) if h <= target])

    def input_shape_at(self, index: int) -> tuple[int, ...]:
        """Input shape at resolution level ``index``."""
        h, w, c = self.task.input_shape
        new_h = self.levels[index]
        return (new_h, max(1, round(new_h * w / h)), c) if new_h != h else (h, w, c)

    def resize_to(self, knobs: Knobs) -> tuple[int, ...] | None:
        shape = self.input_shape_at(knobs[-1])
        return None if shape == self.task.input_shape else shape[:2]


class MobileNetV2Plan(_ResolutionMixin):
    """Knobs: (alpha in 1/40 steps, resolution level)."""

    family = variant = "mobilenet_v2"
    axes = ("width", "resolution")

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self._init_resolution(task)
        self.bounds["width"] = (0.35, 2.0)
        self.steps = [Step("mobile layout", {"alpha_range": [0.35, 2.0],
                                             "resolutions": [self.levels[0], self.levels[-1]]},
                           "17 inverted-residual blocks (Sandler et al. 2018 Table 2); width "
                           "and resolution scaled, depth fixed",
                           "Sandler et al. 2018 (alpha 0.35-1.4, resolutions 96-224)")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(w * 40), 14, 80)), self._res_index(r))

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.mobilenet_v2 import MobileNetV2Spec

        return MobileNetV2Spec(input_shape=self.input_shape_at(knobs[1]),
                               classes=self.task.classes, alpha=knobs[0] / 40,
                               output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return ("alpha + 0.025", f"resolution + {QUANTUM} px")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        if index == 0:
            return (knobs[0] + 1, knobs[1]) if knobs[0] < 80 else None
        return (knobs[0], knobs[1] + 1) if knobs[1] + 1 < len(self.levels) else None

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), 14, 80)), knobs[1])

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[1])
        return f"MobileNetV2 alpha {knobs[0] / 40:g} at {h}x{w}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        from archscale.reference_archs.mobilenet_v2 import STAGES, last_block_filters

        alpha = knobs[0] / 40
        rows = [["stem", "-", make_divisible(32 * alpha, 8), 1, 2]]
        rows += [[f"stage {i + 1}", s.expansion, make_divisible(int(s.filters * alpha), 8),
                  s.repeats, s.stride] for i, s in enumerate(STAGES)]
        rows.append(["head", "-", last_block_filters(alpha), 1, 1])
        return ["stage", "expansion", "channels", "blocks", "stride"], rows


class EfficientNetPlan(_ResolutionMixin):
    """Knobs: (width coefficient in 1/40 steps, depth coefficient in 1/20, resolution level)."""

    family = variant = "efficientnet"
    axes = ("depth", "width", "resolution")

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self._init_resolution(task)
        self.bounds["width"] = (0.5, 4.0)
        self.bounds["depth"] = (0.5, 5.0)
        self.steps = [Step("mobile layout", {"width_range": [0.5, 4.0],
                                             "depth_range": [0.5, 5.0],
                                             "resolutions": [self.levels[0], self.levels[-1]]},
                           "EfficientNet-B0 MBConv table scaled by width, depth and resolution",
                           "Tan & Le 2019 Table 1 and Sec. 3.3")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(w * 40), 20, 160)), int(clamp(round(d * 20), 10, 100)),
                self._res_index(r))

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.efficientnet import EfficientNetSpec

        return EfficientNetSpec(input_shape=self.input_shape_at(knobs[2]),
                                classes=self.task.classes, width_coefficient=knobs[0] / 40,
                                depth_coefficient=knobs[1] / 20, dropout_rate=dropout,
                                output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return ("width + 0.025", "depth + 0.05", f"resolution + {QUANTUM} px")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        limits = (160, 100, len(self.levels) - 1)
        if knobs[index] >= limits[index]:
            return None
        return knobs[:index] + (knobs[index] + 1,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), 20, 160)),
                int(clamp(round(knobs[1] * depth), 10, 100)), knobs[2])

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[2])
        return (f"EfficientNet width {knobs[0] / 40:g}, depth {knobs[1] / 20:g} at {h}x{w}")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        from archscale.reference_archs.efficientnet import BASE_STAGES

        w, d = knobs[0] / 40, knobs[1] / 20
        rows = [[f"stage {i + 1}", s.kernel, s.expand_ratio, round_filters(s.filters_out, w),
                 round_repeats(s.repeats, d), s.strides] for i, s in enumerate(BASE_STAGES)]
        return ["stage", "kernel", "expansion", "channels", "blocks", "stride"], rows


class RegNetPlan(Plan):
    """RegNetX from the 200MF design point; knobs: (depth, w0, wa in 1/2 steps)."""

    family = variant = "regnet"
    axes = ("depth", "width")
    BASE = {"depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49, "group_width": 8}

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.bounds["depth"] = (1 / 13, 4.0)
        self.bounds["width"] = (QUANTUM / 24, 8.0)
        self.steps = [Step("regnet design point", dict(self.BASE),
                           "RegNetX-200MF scaled: depth d, w0 and wa by the width factor; "
                           "widths made compatible with the group width",
                           "Radosavovic et al. 2020 (RegNetX-200MF; group widths respected "
                           "by pycls adjust_ws_gs_comp)")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        b = self.BASE
        return (int(clamp(round(b["depth"] * d), 1, 60)), make_divisible(b["w0"] * w, QUANTUM),
                int(round(b["wa"] * w * 2)))

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.regnet import RegNetSpec

        return RegNetSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                          depth=knobs[0], w0=knobs[1], wa=knobs[2] / 2, wm=self.BASE["wm"],
                          group_width=self.BASE["group_width"],
                          output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return ("depth + 1", f"w0 + {QUANTUM}", "wa + 0.5")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        step = (1, QUANTUM, 1)[index]
        limit = (60, 1024, 2000)[index]
        if knobs[index] + step > limit:
            return None
        return knobs[:index] + (knobs[index] + step,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (max(1, round(knobs[0] * depth)), make_divisible(knobs[1] * width, QUANTUM),
                int(round(knobs[2] * width)))

    def describe(self, knobs: Knobs) -> str:
        return f"RegNetX d={knobs[0]}, w0={knobs[1]}, wa={knobs[2] / 2:g}, wm=2.49, g=8"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        stages = self.spec(knobs).stages()  # type: ignore[attr-defined]
        return (["stage", "blocks", "width", "group width"],
                [[i + 1, s.depth, s.width, s.group_width] for i, s in enumerate(stages)])


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

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.inception import InceptionSpec

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


IMAGE_PLANS = {"mobilenet_v2": MobileNetV2Plan, "efficientnet": EfficientNetPlan,
               "regnet": RegNetPlan, "inception": InceptionPlan}
