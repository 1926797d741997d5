"""Temporal convolutional network (Bai et al. 2018, "An Empirical Evaluation of Generic
Convolutional and Recurrent Networks for Sequence Modeling"): residual blocks of two dilated
causal 1-D convs, the dilation doubling per level, so the receptive field grows exponentially
with depth and covers long sequences at a constant cost per step.

A causal conv is a left zero padding of ``dilation x (kernel - 1)`` steps (``ZeroPadding1D``)
followed by a valid dilated ``Conv1D``, exactly what Keras' ``padding="causal"`` does inside
the layer; the output keeps the input's length. A block is ``pad -> conv -> [BN] -> ReLU ->
[dropout]`` twice, plus the input (through a 1x1 conv where the width changes), then ReLU.
The head pools over time (global average by default) before the classifier; Bai et al. read
the last step instead, which has the same parameters. Weight normalisation (Bai et al.) has
no Keras layer and is left out: 400 of the paper's ~70 K parameters.

MACs as TensorFlow runs it: TensorFlow executes a dilated ``Conv1D`` through space-to-batch,
which pads the sequence to a multiple of the dilation; where the padded length is not such a
multiple TensorFlow's profiler counts the extra padding steps too. Lengths that are multiples
of the largest dilation (the preset's 1,024 steps) match the profiler exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import Family, Preset, Published, ScalingFields
from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, Plan, Step, clamp
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_positive_int)

POOLINGS = ("global_avg", "global_max")
NORMS = ("none", "batch")
SOURCE = ("Bai et al. 2018 (TCN: dilated causal residual blocks, dilation 2^i, receptive "
          "field 1 + 2 (k - 1)(2^n - 1))")


@dataclass(frozen=True, kw_only=True)
class TCNSpec(ArchSpec):
    """A TCN on ``(length, channels)`` sequences.

    Attributes:
        channels: Width of each level (one residual block per level; level ``i`` dilates by
            ``2 ** i``).
        kernel: Kernel size of every causal conv.
        norm: ``none`` (Bai et al. use weight normalisation, which has no parameters count
            here) or ``batch`` (BatchNormalization after each conv).
        dropout: Dropout rate after each conv's activation (0 = none).
        pooling: ``global_avg`` or ``global_max`` over time before the classifier.
        output_activation: Activation of the classifier.
    """

    family = "tcn"

    channels: tuple[int, ...] = (25,) * 8
    kernel: int = 7
    norm: str = "none"
    dropout: float = 0.0
    pooling: str = "global_avg"
    output_activation: str = "softmax"

    def validate(self) -> None:
        if len(self.input_shape) != 2:
            raise SpecError("input_shape must be (length, channels) for family 'tcn'. "
                            f"Received: input_shape={self.input_shape!r}")
        if not isinstance(self.channels, tuple) or not self.channels:
            raise SpecError("channels must be a non-empty list of positive ints. "
                            f"Received: channels={self.channels!r}")
        for i, c in enumerate(self.channels):
            check_positive_int(f"channels[{i}]", c)
        check_positive_int("kernel", self.kernel)
        check_choice("norm", self.norm, NORMS)
        check_fraction("dropout", self.dropout)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def receptive_field(levels: int, kernel: int) -> int:
    """Steps one output sees: ``1 + 2 (kernel - 1)(2 ** levels - 1)`` (two convs per level)."""
    return 1 + 2 * (kernel - 1) * (2 ** levels - 1)


def levels_for(length: int, kernel: int) -> int:
    """The fewest levels whose receptive field covers ``length`` steps (at least 1)."""
    return max(1, math.ceil(math.log2((length - 1) / (2 * (kernel - 1)) + 1)))


def _causal_conv(g: GraphBuilder, spec: TCNSpec, x: str, width: int, dilation: int,
                 name: str) -> str:
    x = g.zero_pad(x, ((dilation * (spec.kernel - 1), 0),), name=f"{name}_pad")
    x = g.conv(x, width, spec.kernel, padding="valid", dilation=dilation,
               use_bias=spec.norm == "none", name=f"{name}_conv")
    if spec.norm == "batch":
        x = g.batch_norm(x, name=f"{name}_bn")
    x = g.act(x, "relu", name=f"{name}_relu")
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name=f"{name}_dropout")
    return x


def build_tcn(spec: TCNSpec) -> Graph:
    """Graph of a TCN: one residual block of two causal dilated convs per level, global pooling
    over time, dense classifier.

    Args:
        spec: The ``TCNSpec``.

    Returns:
        The graph, named ``tcn``.
    """
    g = GraphBuilder("tcn")
    x = g.input(spec.input_shape)
    for level, width in enumerate(spec.channels):
        p, dilation = f"level{level + 1}", 2 ** level
        y = _causal_conv(g, spec, x, width, dilation, f"{p}_a")
        y = _causal_conv(g, spec, y, width, dilation, f"{p}_b")
        shortcut = x
        if g.shape(x)[-1] != width:
            shortcut = g.conv(x, width, 1, name=f"{p}_shortcut")
        x = g.act(g.add([y, shortcut], name=f"{p}_add"), "relu", name=f"{p}_out")
    pool = g.global_avg_pool if spec.pooling == "global_avg" else g.global_max_pool
    x = pool(x, name="pool")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


class TCNPlan(Plan):
    """Levels from the receptive-field rule (the fewest that see the whole sequence, kernel 7);
    knob: the width of every level, in steps of 8 from 8 to 512."""

    family = variant = "tcn"
    axes = ("width",)
    kernel = 7

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        length = task.input_shape[0]
        self.levels = levels_for(length, self.kernel)
        self.bounds["width"] = (1.0, 16.0)
        self.steps = [Step("tcn levels", {"length": length, "kernel": self.kernel},
                           {"levels": self.levels,
                            "receptive_field": receptive_field(self.levels, self.kernel)},
                           SOURCE)]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(4 * w), 1, 64)),)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return TCNSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                       channels=(knobs[0] * QUANTUM,) * self.levels, kernel=self.kernel,
                       dropout=dropout, output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return (f"width + {QUANTUM}",)

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        return (knobs[0] + 1,) if knobs[0] < 64 else None

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), 1, 64)),)

    def describe(self, knobs: Knobs) -> str:
        return (f"TCN, {self.levels} levels of {knobs[0] * QUANTUM} channels, kernel "
                f"{self.kernel}, receptive field {receptive_field(self.levels, self.kernel):,}")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        rows = [[i + 1, 2 ** i, knobs[0] * QUANTUM, receptive_field(i + 1, self.kernel)]
                for i in range(self.levels)]
        return ["level", "dilation", "channels", "receptive field"], rows


FAMILY = Family("tcn", TCNSpec, build_tcn,
                "Temporal convolutional network: dilated causal residual blocks for long "
                "sequences", ranks=(2,), scaling=ScalingFields(width=("channels",)),
                dropout_field="dropout", plan=TCNPlan, recipe_style="adam")

PRESETS = (
    Preset("tcn", TCNSpec(input_shape=(1024, 1), classes=10),
           "TCN of Bai et al. 2018 (Sequential MNIST: 8 levels x 25 channels, kernel 7, "
           "receptive field 3,061), at 1,024 steps",
           Published("Bai et al. 2018, Table 1 (Seq. MNIST TCN: 70 K params, with weight "
                     "normalisation)", paper_params=70e3, rel_tol=0.06)),
)
