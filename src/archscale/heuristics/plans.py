"""Scaling plans: how a family's spec follows from depth, width and resolution coefficients.

A plan holds the base structure the rules derived from the task (stages, base widths, blocks
per stage) and maps compound-scaling coefficients ``(d, w, r)`` to quantised *knobs*, a tuple of
ints (blocks per stage, channels per stage, alpha level, resolution...), and knobs to an
``ArchSpec``. It also lists the single-step growth moves the solver uses to fill a budget.
Knobs are hashable, so the solver caches costs per knob tuple.

Compound coefficients (Tan & Le 2019, Sec. 3.3): depth ``1.2**phi``, width ``1.1**phi``,
resolution ``1.15**phi``; a plan scales only the axes its family has.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from archscale.heuristics.rules import (QUANTUM, Step, blocks_per_stage, doubling_widths,
                                        downsampling_halvings, mlp_depth, mlp_taper,
                                        round_width)
from archscale.reference_archs.rounding import make_divisible
from archscale.specs import ArchSpec, Task

Knobs = tuple[int, ...]

#: EfficientNet's compound coefficients (Tan & Le 2019, Sec. 4.2: alpha, beta, gamma).
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
COMPOUND_SOURCE = ("Tan & Le 2019 Sec. 3.3/4.2: depth 1.2^phi, width 1.1^phi, resolution "
                   "1.15^phi (alpha * beta^2 * gamma^2 ~ 2)")

MLP_MAX_WIDTH = 16384


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return min(high, max(low, value))


class Plan:
    """Base class: a family's scalable layout for one task.

    Subclasses set ``family``, ``variant``, ``axes`` and ``bounds`` and implement
    ``knobs_at``, ``spec``, ``move``, ``move_names``, ``scale``, ``describe`` and ``table``.
    """

    family = ""
    variant = ""
    axes: tuple[str, ...] = ()

    def __init__(self, task: Task) -> None:
        self.task = task
        self.bounds: dict[str, tuple[float, float]] = {"depth": (1.0, 1.0),
                                                       "width": (1.0, 1.0),
                                                       "resolution": (1.0, 1.0)}
        self.steps: list[Step] = []

    @property
    def output_activation(self) -> str:
        """``linear`` for regression, ``sigmoid`` for one class (binary), else ``softmax``."""
        if self.task.regression:
            return "linear"
        return "sigmoid" if self.task.classes == 1 else "softmax"

    def coefficients(self, phi: float) -> tuple[float, float, float]:
        """``(d, w, r)`` on the compound path at ``phi``, clamped to the plan's bounds."""
        coeff = {"depth": ALPHA ** phi, "width": BETA ** phi, "resolution": GAMMA ** phi}
        return tuple(clamp(coeff[a], *self.bounds[a]) if a in self.axes else 1.0
                     for a in ("depth", "width", "resolution"))  # type: ignore[return-value]

    def phi_range(self) -> tuple[float, float]:
        """``phi`` values at which every scaled coefficient sits at its lower / upper bound."""
        coeff = {"depth": ALPHA, "width": BETA, "resolution": GAMMA}
        ends = [math.log(b) / math.log(coeff[a]) for a in self.axes for b in self.bounds[a]]
        return min(ends + [0.0]) - 1.0, max(ends + [0.0]) + 1.0

    def at_phi(self, phi: float) -> Knobs:
        """Quantised knobs at compound coefficient ``phi``."""
        return self.knobs_at(*self.coefficients(phi))

    def minimum(self) -> Knobs:
        """The smallest sensible member (every coefficient at its lower bound)."""
        return self.knobs_at(*(self.bounds[a][0] for a in ("depth", "width", "resolution")))

    def maximum(self) -> Knobs:
        """The largest member the plan allows."""
        return self.knobs_at(*(self.bounds[a][1] for a in ("depth", "width", "resolution")))

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:  # pragma: no cover - abstract
        raise NotImplementedError

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:  # pragma: no cover
        raise NotImplementedError

    def move_names(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def move(self, knobs: Knobs, index: int) -> Knobs | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:  # pragma: no cover
        raise NotImplementedError

    def describe(self, knobs: Knobs) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:  # pragma: no cover
        raise NotImplementedError

    def resize_to(self, knobs: Knobs) -> tuple[int, ...] | None:
        """Input size the data must be resized to, or ``None`` for the native size."""
        return None


# ---------------------------------------------------------------------------------------------
# MLP
# ---------------------------------------------------------------------------------------------


class MLPPlan(Plan):
    """Dense layers with a geometric taper; depth fixed by the capacity target, width scaled."""

    family = variant = "mlp"
    axes = ("width",)

    def __init__(self, task: Task, target_params: float) -> None:
        super().__init__(task)
        self.n_in = math.prod(task.input_shape)
        rule_depth = mlp_depth(target_params)
        self.depth = rule_depth
        self.taper = mlp_taper(self.n_in, task.classes, self.depth)
        while self.depth > 1 and self._last_width(target_params) < QUANTUM:
            self.depth -= 1
            self.taper = mlp_taper(self.n_in, task.classes, self.depth)
        self.decreasing = self.n_in >= task.classes
        self.bounds["width"] = (QUANTUM / max(self.taper) / 2, MLP_MAX_WIDTH / min(self.taper))
        self.steps = [
            Step("mlp depth", {"target_params": round(target_params), "rule_depth": rule_depth},
                 self.depth,
                 "Heaton 2008 ch. 5 (one hidden layer for continuous maps, two for arbitrary "
                 "decision boundaries); deeper only for > 1 M parameter targets, and never so "
                 "deep that the tapered last layer would be narrower than 8 units"),
            Step("mlp taper", {"inputs": self.n_in, "outputs": task.classes,
                               "depth": self.depth},
                 [round(t, 2) for t in self.taper],
                 "Masters 1993 geometric pyramid; Heaton 2008 (hidden sizes between the input "
                 "and output sizes); widths then scaled together and rounded to multiples of 8"),
        ]

    def _last_width(self, target_params: float) -> float:
        """Unrounded last hidden width when the taper is scaled to ``target_params``."""
        def params(w: float) -> float:
            sizes = (self.n_in, *(w * t for t in self.taper), self.task.classes)
            return sum(a * b + b for a, b in zip(sizes, sizes[1:]))

        low, high = 1e-6, MLP_MAX_WIDTH / min(self.taper)
        for _ in range(60):
            mid = math.sqrt(low * high)
            low, high = (mid, high) if params(mid) < target_params else (low, mid)
        return low * self.taper[-1]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return tuple(min(MLP_MAX_WIDTH, round_width(w * t)) for t in self.taper)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.mlp import MLPSpec

        return MLPSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                       widths=tuple(knobs), dropout=(dropout,) * len(knobs),
                       output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return tuple(f"widen fc{i + 1} by {QUANTUM}" for i in range(self.depth))

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        """Widen one layer by 8 while the taper keeps its direction (no layer wider than the
        one before it when tapering down; no narrower when tapering up)."""
        width = knobs[index] + QUANTUM
        neighbour = index - 1 if self.decreasing else index + 1
        if width > MLP_MAX_WIDTH or (0 <= neighbour < len(knobs) and width > knobs[neighbour]):
            return None
        return knobs[:index] + (width,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return tuple(min(MLP_MAX_WIDTH, round_width(k * width)) for k in knobs)

    def describe(self, knobs: Knobs) -> str:
        return f"MLP {self.n_in}-" + "-".join(map(str, knobs)) + f"-{self.task.classes}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        rows = [[f"fc{i + 1}", "dense", k] for i, k in enumerate(knobs)]
        rows.append(["predictions", "dense", self.task.classes])
        return ["layer", "op", "units"], rows


# ---------------------------------------------------------------------------------------------
# Staged CNNs: plain 1-D CNN and ResNet
# ---------------------------------------------------------------------------------------------


class StagedPlan(Plan):
    """Stages of blocks; knobs = blocks per stage + width per stage + stem width."""

    axes = ("depth", "width")

    def __init__(self, task: Task, base_blocks: Sequence[int], base_widths: Sequence[int],
                 base_stem: int, max_width_factor: float = 8.0) -> None:
        super().__init__(task)
        self.base_blocks = tuple(base_blocks)
        self.base_widths = tuple(base_widths)
        self.base_stem = base_stem
        self.stages = len(self.base_blocks)
        self.max_blocks = tuple(4 * b for b in self.base_blocks)
        self.max_widths = tuple(int(max_width_factor * w) for w in self.base_widths)
        self.bounds["depth"] = (1.0 / max(self.base_blocks), 4.0)
        self.bounds["width"] = (QUANTUM / self.base_widths[0], max_width_factor)

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        blocks = tuple(max(1, math.ceil(d * b - 1e-9)) for b in self.base_blocks)
        widths = tuple(make_divisible(w * b, QUANTUM) for b in self.base_widths)
        return blocks + widths + (make_divisible(w * self.base_stem, QUANTUM),)

    def split(self, knobs: Knobs) -> tuple[Knobs, Knobs, int]:
        """``(blocks, widths, stem)`` of a knob tuple."""
        n = self.stages
        return knobs[:n], knobs[n:2 * n], knobs[2 * n]

    def move_names(self) -> tuple[str, ...]:
        return tuple(f"add a block to stage {s + 1}" for s in range(self.stages)) + \
            tuple(f"widen stage {s + 1} by {QUANTUM}" for s in range(self.stages))

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        values = list(knobs)
        if index < self.stages:
            if values[index] >= self.max_blocks[index]:
                return None
            values[index] += 1
        else:
            s = index - self.stages
            if values[index] + QUANTUM > self.max_widths[s]:
                return None
            values[index] += QUANTUM
        return tuple(values)

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        blocks, widths, stem = self.split(knobs)
        return (tuple(max(1, math.ceil(depth * b - 1e-9)) for b in blocks)
                + tuple(make_divisible(width * w, QUANTUM) for w in widths)
                + (make_divisible(width * stem, QUANTUM),))


def _stage_steps(size: int, halvings: int, stages: int, widths: Sequence[int],
                 blocks: Sequence[int], kind: str, stem: str) -> list[Step]:
    return [
        Step("downsampling stages", {"resolution_after_stem": size, "stop_at": "4-8"},
             {"stride_2_stages": halvings, "stages": stages},
             "Simonyan & Zisserman 2014; He et al. 2015 (classification nets end at 7x7 / 8x8)"),
        Step("stage widths", {"stages": stages, "stem": stem}, list(widths),
             "He et al. 2015 Sec. 3.3 (filters double when the feature map halves); widths "
             "multiples of 8 (Sandler et al. 2018 make_divisible)"),
        Step("blocks per stage", {"stages": stages, "block": kind}, list(blocks),
             "He et al. 2015 Table 1 (3-4-6-3) and Sec. 4.2 (CIFAR: n per stage); "
             "Simonyan & Zisserman 2014 (conv pairs)"),
    ]


class CNN1DPlan(StagedPlan):
    """Plain 1-D CNN: per stage one stride-2 conv then stride-1 convs; flatten head."""

    family = variant = "cnn1d"

    def __init__(self, task: Task) -> None:
        length = task.input_shape[0]
        halvings = downsampling_halvings(length)
        stages = max(1, halvings)
        self.strided = halvings > 0
        super().__init__(task, blocks_per_stage(stages, "plain"),
                         doubling_widths(16, stages), 16, max_width_factor=32.0)
        self.steps = _stage_steps(length, halvings, stages, self.base_widths,
                                  self.base_blocks, "plain conv", "none")

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.cnn1d import CNN1DSpec

        blocks, widths, _ = self.split(knobs)
        filters, kernels, strides = [], [], []
        for n, width in zip(blocks, widths):
            for b in range(n):
                filters.append(width)
                kernels.append(5 if not kernels else 3)
                strides.append(2 if b == 0 and self.strided else 1)
        return CNN1DSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                         filters=tuple(filters), kernels=tuple(kernels), strides=tuple(strides),
                         batch_norm=True, pooling="flatten", dropout=dropout,
                         output_activation=self.output_activation)

    def describe(self, knobs: Knobs) -> str:
        blocks, widths, _ = self.split(knobs)
        return (f"1-D CNN, {sum(blocks)} convs in {self.stages} stages "
                f"({'/'.join(map(str, blocks))}), widths {'/'.join(map(str, widths))}")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        blocks, widths, _ = self.split(knobs)
        length, rows = self.task.input_shape[0], []
        for s, (n, w) in enumerate(zip(blocks, widths)):
            length = math.ceil(length / 2) if self.strided else length
            rows.append([s + 1, n, w, "5" if s == 0 else "3", length])
        return ["stage", "convs", "filters", "kernel", "output length"], rows


class ResNetPlan(StagedPlan):
    """ResNet, CIFAR-style (basic, 3x3 stem), ImageNet-style (bottleneck, 7x7/2 + pool) or 1-D."""

    family = "resnet"

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
        self.steps = _stage_steps(after_stem, halvings, stages, self.base_widths,
                                  self.base_blocks, self.block, self.stem)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        from archscale.reference_archs.resnet import ResNetSpec

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


def make_plan(task: Task, variant: str, target_params: float) -> Plan:
    """The plan of a layout variant for a task.

    Args:
        task: The task.
        variant: ``mlp``, ``cnn1d``, ``resnet-cifar``, ``resnet-imagenet``, ``resnet-1d``,
            ``mobilenet_v2``, ``efficientnet``, ``regnet`` or ``inception``.
        target_params: Capacity target (sets the MLP depth).

    Returns:
        The plan.
    """
    if variant == "mlp":
        return MLPPlan(task, target_params)
    if variant == "cnn1d":
        return CNN1DPlan(task)
    if variant.startswith("resnet"):
        return ResNetPlan(task, variant)
    from archscale.heuristics.plans_image import IMAGE_PLANS

    return IMAGE_PLANS[variant](task)
