"""The ResNet scaling plan: CIFAR-style, ImageNet-style or 1-D stages, scaled in depth and width.

The heuristics (``archscale.heuristics``) solve it against a budget; ``ResNetPlan.variant_for``
picks the layout from the input.

The ImageNet-style and 1-D layouts grow on the compound path (depth and width together, Tan &
Le 2019). The CIFAR-style layout grows by width first (``WIDTH_FIRST_VARIANTS``): above the base
member (3 basic blocks per stage, widths 16/32/64...) only the stage widths grow, up to the
plan's width ceiling (8x, WRN-n-8), and blocks are added only after that. Below the base both
shrink together, as on the compound path.
"""

from __future__ import annotations

import math
from typing import Any

from archscale.reference_archs.layout_rules import (SMALL_IMAGE_MAX_SIDE, blocks_per_stage,
                                                    doubling_widths, downsampling_halvings)
from archscale.reference_archs.resnet.model import ResNetSpec
from archscale.reference_archs.scaling_plan import (ALPHA, BETA, Knobs, StagedPlan, Step, clamp,
                                                    stage_steps)
from archscale.specs import ArchSpec, Task

#: Layouts that grow by width before depth. Wide ResNets beat deeper thin ones of the same size
#: on CIFAR and train several times faster (Zagoruyko & Komodakis 2016, Sec. 3-4: WRN-40-4,
#: 8.9 M params, 4.53 % error vs ResNet-1001, 10.2 M, 4.92 %); archscale's optimal-dimensions
#: study agrees on 16x16 textures under a 15-epoch schedule (noise 3: blocks 4/3 at widths
#: 32/48, 197 K params, 95.2 % vs blocks 7/5 at widths 24/40, 216 K, 89.3 %).
WIDTH_FIRST_VARIANTS = ("resnet-cifar",)
WIDTH_FIRST_SOURCE = "Zagoruyko & Komodakis 2016 (wide residual networks)"


class ResNetPlan(StagedPlan):
    """ResNet, CIFAR-style (basic, 3x3 stem), ImageNet-style (bottleneck, 7x7/2 + pool) or 1-D."""

    family = "resnet"
    variants = ("resnet-cifar", "resnet-imagenet", "resnet-1d")

    @classmethod
    def variant_for(cls, task: Task) -> str:
        """``resnet-1d`` for sequences, ``resnet-cifar`` for images up to
        ``SMALL_IMAGE_MAX_SIDE`` (64) px on the shorter side, else ``resnet-imagenet``."""
        if len(task.input_shape) == 2:
            return "resnet-1d"
        return "resnet-cifar" if min(task.input_shape[:2]) <= SMALL_IMAGE_MAX_SIDE \
            else "resnet-imagenet"

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "ResNetPlan":
        return cls(task, variant)

    def knobs_for(self, point: Any) -> Knobs | None:
        blocks, widths = tuple(point.get("blocks")), tuple(point.get("widths"))
        if point.get("variant") != self.variant or len(blocks) != self.stages \
                or self.block != ("bottleneck" if self.variant == "resnet-imagenet" else "basic"):
            return None
        return blocks + widths + (point.get("stem"),)

    def __init__(self, task: Task, variant: str) -> None:
        self.variant = variant
        shape = task.input_shape
        side = min(shape[:-1])
        if variant == "resnet-imagenet":
            self.block, self.stem = "bottleneck", "imagenet"
            base, after_stem = 64, math.ceil(math.ceil(side / 2) / 2)
        elif variant == "resnet-1d" and side >= 512:
            self.block, self.stem = "basic", "imagenet"
            base, after_stem = 64, math.ceil(math.ceil(side / 2) / 2)
        else:
            self.block, self.stem = "basic", "cifar"
            base, after_stem = 16, side
        halvings = downsampling_halvings(after_stem)
        stages = halvings + 1
        super().__init__(task, blocks_per_stage(stages, self.block),
                         doubling_widths(base, stages), base)
        self.steps = stage_steps(after_stem, halvings, stages, self.base_widths,
                                 self.base_blocks, self.block, self.stem)
        if self.width_first:
            self.steps.append(Step(
                "growth order", {"layout": variant, "base_blocks": list(self.base_blocks)},
                f"width first: stage widths grow up to {self.bounds['width'][1]:g}x the base "
                "before any stage gets more blocks; below the base, depth and width shrink "
                "together", WIDTH_FIRST_SOURCE))

    @property
    def width_first(self) -> bool:
        """Whether this layout grows by width before depth (``WIDTH_FIRST_VARIANTS``)."""
        return self.variant in WIDTH_FIRST_VARIANTS

    def _width_phi(self) -> float:
        """``phi`` at which the width-first path reaches the width ceiling."""
        return math.log(self.bounds["width"][1]) / math.log(BETA)

    def coefficients(self, phi: float) -> tuple[float, float, float]:
        """The compound path, except that a width-first layout above the base (``phi > 0``)
        grows width alone (``1.1**phi``) until the width ceiling, then depth
        (``1.2**(phi - phi_at_ceiling)``)."""
        if not self.width_first or phi <= 0:
            return super().coefficients(phi)
        width = clamp(BETA ** phi, *self.bounds["width"])
        depth = clamp(ALPHA ** max(0.0, phi - self._width_phi()), *self.bounds["depth"])
        return depth, width, 1.0

    def phi_range(self) -> tuple[float, float]:
        lo, hi = super().phi_range()
        if not self.width_first:
            return lo, hi
        depth_span = math.log(self.bounds["depth"][1]) / math.log(ALPHA)
        return lo, max(hi, self._width_phi() + depth_span + 1.0)

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        """A growth move; a width-first layout adds blocks only once no stage can widen."""
        if self.width_first and index < self.stages and any(
                super(ResNetPlan, self).move(knobs, s) is not None
                for s in range(self.stages, 2 * self.stages)):
            return None
        return super().move(knobs, index)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        blocks, widths, stem = self.split(knobs)
        return ResNetSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                          block=self.block, stage_blocks=blocks, stage_widths=widths,
                          stem=self.stem, stem_width=stem, version="v1.5", conv_bias=False,
                          shortcut="projection", output_activation=self.output_activation)

    def describe(self, knobs: Knobs) -> str:
        blocks, widths, stem = self.split(knobs)
        convs = (3 if self.block == "bottleneck" else 2) * sum(blocks) + 2
        return (f"ResNet-{convs} ({self.variant.split('-')[1]}-style, {self.block} blocks "
                f"{'/'.join(map(str, blocks))}, widths {'/'.join(map(str, widths))}, stem "
                f"{stem})")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        blocks, widths, _ = self.split(knobs)
        size = min(self.task.input_shape[:-1])
        if self.stem == "imagenet":
            size = math.ceil(math.ceil(size / 2) / 2)
        factor = 4 if self.block == "bottleneck" else 1
        rows = []
        for s, (n, w) in enumerate(zip(blocks, widths)):
            size = size if s == 0 else math.ceil(size / 2)
            rows.append([s + 1, n, w, w * factor, size])
        return ["stage", "blocks", "width", "output channels", "output size"], rows
