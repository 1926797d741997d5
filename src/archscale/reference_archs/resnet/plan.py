"""The ResNet scaling plan: CIFAR-style, ImageNet-style or 1-D stages, scaled in depth and width.

The heuristics (``archscale.heuristics``) solve it against a budget; ``ResNetPlan.variant_for``
picks the layout from the input.
"""

from __future__ import annotations

import math
from typing import Any

from archscale.reference_archs.layout_rules import (SMALL_IMAGE_MAX_SIDE, blocks_per_stage,
                                                    doubling_widths, downsampling_halvings)
from archscale.reference_archs.resnet.model import ResNetSpec
from archscale.reference_archs.scaling_plan import Knobs, StagedPlan, stage_steps
from archscale.specs import ArchSpec, Task


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
