"""MobileNetV2 family (Sandler et al. 2018), mirroring ``keras.applications.MobileNetV2``.

The network is a 3x3 stride-2 stem, the inverted-residual stages of ``STAGES`` (the paper's
table 2 of (t, c, n, s) rows) and a 1x1 conv to 1280 channels, with the width multiplier
``alpha`` applied through ``make_divisible`` exactly as Keras applies it:

- stem: ``make_divisible(32 * alpha, 8)``; block outputs: ``make_divisible(int(c * alpha), 8)``;
- expansion convs have ``t x`` the block's actual input channels (no rounding);
- the last conv keeps 1280 channels unless ``alpha > 1`` (then ``make_divisible(1280 * alpha)``);
- stride-2 depthwise convs are ``ZeroPadding2D(correct_pad) + valid``; the others ``same``;
- ReLU(6.) everywhere, BatchNormalization(epsilon=1e-3, momentum=0.999), no conv biases;
- a residual add when a block keeps its channels and stride 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.rounding import correct_pad, make_divisible
from archscale.reference_archs.alpha_plan import AlphaResolutionPlan
from archscale.reference_archs.scaling_plan import Knobs
from archscale.specs import (ArchSpec, check_choice, check_image_input,
                             check_positive_number)

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.999
STEM_FILTERS = 32
LAST_FILTERS = 1280
DIVISOR = 8


@dataclass(frozen=True)
class InvertedResidualStage:
    """One row of the MobileNetV2 table: ``repeats`` blocks of the same kind.

    Attributes:
        expansion: Expansion factor ``t`` of the 1x1 expand conv.
        filters: Output channels ``c`` at ``alpha = 1``.
        repeats: Number of blocks ``n``.
        stride: Stride ``s`` of the first block (the others use 1).
    """

    expansion: int
    filters: int
    repeats: int
    stride: int


#: Sandler et al. 2018, table 2 (the rows after the stem, before the 1x1 conv to 1280).
STAGES: tuple[InvertedResidualStage, ...] = (
    InvertedResidualStage(1, 16, 1, 1),
    InvertedResidualStage(6, 24, 2, 2),
    InvertedResidualStage(6, 32, 3, 2),
    InvertedResidualStage(6, 64, 4, 2),
    InvertedResidualStage(6, 96, 3, 1),
    InvertedResidualStage(6, 160, 3, 2),
    InvertedResidualStage(6, 320, 1, 1),
)


@dataclass(frozen=True, kw_only=True)
class MobileNetV2Spec(ArchSpec):
    """MobileNetV2 on ``(height, width, channels)`` images.

    Attributes:
        alpha: Width multiplier (Keras ``alpha``); any positive number, the published ones
            being 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4.
        output_activation: Activation of the classifier (Keras ``classifier_activation``).
    """

    family = "mobilenet_v2"

    alpha: float = 1.0
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_positive_number("alpha", self.alpha)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def _conv_bn(g: GraphBuilder, x: str, filters: int, kernel: int, stride: int, *, conv: str,
             bn: str, relu: str | None) -> str:
    """Bias-free conv (``same`` padding) -> BatchNorm [-> ReLU6]."""
    x = g.conv(x, filters, kernel, stride, padding="same", use_bias=False, name=conv)
    x = g.batch_norm(x, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=bn)
    return g.act(x, "relu6", name=relu) if relu else x


def _inverted_res_block(g: GraphBuilder, inputs: str, *, expansion: int, stride: int,
                        filters: int, alpha: float, block_id: int) -> str:
    """Keras ``_inverted_res_block``: [expand 1x1] -> depthwise 3x3 -> project 1x1 [-> add].

    Args:
        g: The builder.
        inputs: Input node name.
        expansion: Expansion factor of the 1x1 expand conv (the first block has none).
        stride: Depthwise stride, 1 or 2.
        filters: Output channels at ``alpha = 1``.
        alpha: Width multiplier.
        block_id: Running block index (0 for the first block, named ``expanded_conv_``).

    Returns:
        The block's output node name.
    """
    in_channels = g.shape(inputs)[-1]
    out_channels = make_divisible(int(filters * alpha), DIVISOR)
    x = inputs
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = _conv_bn(g, x, expansion * in_channels, 1, 1, conv=f"{prefix}expand",
                     bn=f"{prefix}expand_BN", relu=f"{prefix}expand_relu")
    if stride == 2:
        x = g.zero_pad(x, correct_pad(g.shape(x)[:2], 3), name=f"{prefix}pad")
    x = g.depthwise_conv(x, 3, stride, padding="same" if stride == 1 else "valid",
                         use_bias=False, name=f"{prefix}depthwise")
    x = g.batch_norm(x, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{prefix}depthwise_BN")
    x = g.act(x, "relu6", name=f"{prefix}depthwise_relu")
    x = _conv_bn(g, x, out_channels, 1, 1, conv=f"{prefix}project", bn=f"{prefix}project_BN",
                 relu=None)
    if in_channels == out_channels and stride == 1:
        x = g.add([inputs, x], name=f"{prefix}add")
    return x


def last_block_filters(alpha: float) -> int:
    """Channels of the final 1x1 conv: 1280, widened only when ``alpha > 1``.

    Args:
        alpha: Width multiplier.

    Returns:
        ``make_divisible(1280 * alpha, 8)`` if ``alpha > 1`` else 1280.
    """
    return make_divisible(LAST_FILTERS * alpha, DIVISOR) if alpha > 1.0 else LAST_FILTERS


def build_mobilenet_v2(spec: MobileNetV2Spec) -> Graph:
    """Graph of MobileNetV2, layer for layer as ``keras.applications.MobileNetV2``.

    Args:
        spec: The spec.

    Returns:
        The graph: stem -> 17 inverted-residual blocks -> 1x1 conv -> global average pool ->
        dense classifier.

    Raises:
        Nothing for any positive input size: every stride-2 layer pads (``same`` or
        ``correct_pad``), so no size reaches 0. Sizes below the 32x32 minimum that
        ``keras.applications`` enforces are accepted.
    """
    alpha = spec.alpha
    g = GraphBuilder(f"mobilenetv2_{alpha:0.2f}_{spec.input_shape[0]}")
    x = g.input(spec.input_shape)
    x = _conv_bn(g, x, make_divisible(STEM_FILTERS * alpha, DIVISOR), 3, 2, conv="Conv1",
                 bn="bn_Conv1", relu="Conv1_relu")
    block_id = 0
    for stage in STAGES:
        for j in range(stage.repeats):
            x = _inverted_res_block(g, x, expansion=stage.expansion,
                                    stride=stage.stride if j == 0 else 1, filters=stage.filters,
                                    alpha=alpha, block_id=block_id)
            block_id += 1
    x = _conv_bn(g, x, last_block_filters(alpha), 1, 1, conv="Conv_1", bn="Conv_1_bn",
                 relu="out_relu")
    x = g.global_avg_pool(x, name="global_average_pooling2d")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class MobileNetV2Plan(AlphaResolutionPlan):
    """Knobs: (alpha in 1/40 steps, resolution level)."""

    family = variant = "mobilenet_v2"
    published_resolutions = (96, 128, 160, 192, 224)
    min_alpha_steps = 14
    label = "MobileNetV2"
    layout = ("17 inverted-residual blocks (Sandler et al. 2018 Table 2); width "
              "and resolution scaled, depth fixed")
    layout_source = "Sandler et al. 2018 (alpha 0.35-1.4, resolutions 96-224)"

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return MobileNetV2Spec(input_shape=self.input_shape_at(knobs[1]),
                               classes=self.task.classes, alpha=knobs[0] / 40,
                               output_activation=self.output_activation)

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        alpha = knobs[0] / 40
        rows = [["stem", "-", make_divisible(32 * alpha, 8), 1, 2]]
        rows += [[f"stage {i + 1}", s.expansion, make_divisible(int(s.filters * alpha), 8),
                  s.repeats, s.stride] for i, s in enumerate(STAGES)]
        rows.append(["head", "-", last_block_filters(alpha), 1, 1])
        return ["stage", "expansion", "channels", "blocks", "stride"], rows


#: ImageNet top-1 (%) and multiply-adds of the published width multipliers at 224 px (Sandler
#: et al. 2018 Table 6 / Fig. 5; the keras.applications.MobileNetV2 checkpoint table).
_TOP1_224 = ((0.35, 60.3, 59e6, 1.7e6), (0.5, 65.4, 97e6, 2.0e6), (0.75, 69.8, 209e6, 2.6e6),
             (1.0, 71.8, 300e6, 3.5e6), (1.3, 74.4, 509e6, 5.3e6), (1.4, 75.0, 582e6, 6.1e6))

ACCURACY = tuple(
    AccuracyPoint(f"MobileNetV2 {alpha:g} at 224 px", "imagenet", top1, macs, params, 224,
                  (("alpha", alpha),), "Sandler et al. 2018; keras.applications.MobileNetV2 "
                  "checkpoint table (mobilenet_v2_%g_224)" % alpha)
    for alpha, top1, macs, params in _TOP1_224)

FAMILY = Family("mobilenet_v2", MobileNetV2Spec, build_mobilenet_v2,
                "MobileNetV2 inverted residuals with width multiplier alpha (Sandler et al. 2018)",
                ranks=(3,), scaling=ScalingFields(width=("alpha",), resolution=("input_shape",)),
                dropout_field=None, plan=MobileNetV2Plan, recipe_style="rmsprop",
                accuracy=ACCURACY)

PRESETS = (
    Preset("mobilenet_v2", MobileNetV2Spec(input_shape=(224, 224, 3), classes=1000, alpha=1.0),
           "MobileNetV2 alpha 1.0 at 224x224, 1000 classes: 3.5 M params, 300 M MACs "
           "(Sandler et al. 2018; keras.applications.MobileNetV2)",
           Published("keras.applications.MobileNetV2 count_params(); Sandler et al. 2018 "
                     "Table 3 (300 M multiply-adds)", params=3_538_984, macs=300e6)),
)
