"""MobileNet (v1) family (Howard et al. 2017), mirroring ``keras.applications.MobileNet``.

A 3x3 stride-2 stem and 13 depthwise-separable blocks (depthwise 3x3 -> BN -> ReLU6 ->
pointwise 1x1 -> BN -> ReLU6; the paper's Table 1), then a global average pool kept as a 1x1
map, dropout, a 1x1 conv classifier (with bias) and a reshape, exactly as Keras builds it:

- widths are ``int(filters * alpha)`` (no rounding to multiples of 8);
- ``depth_multiplier`` multiplies the depthwise convs' channels (the paper's "resolution
  multiplier" is the input size, a separate field here: ``input_shape``);
- stride-2 depthwise convs are ``ZeroPadding2D(((0, 1), (0, 1))) + valid`` whatever the input
  parity, the others ``same``;
- BatchNormalization with Keras' defaults (epsilon 1e-3, momentum 0.99), no conv biases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.alpha_plan import AlphaResolutionPlan
from archscale.reference_archs.scaling_plan import Knobs
from archscale.specs import (ArchSpec, check_choice, check_fraction, check_image_input,
                             check_positive_int, check_positive_number)

STEM_FILTERS = 32

#: Howard et al. 2017 Table 1: (pointwise filters at alpha 1, depthwise stride) of the 13
#: depthwise-separable blocks (Keras ``block_id`` 1..13).
BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
    (512, 1), (512, 1), (1024, 2), (1024, 1))


@dataclass(frozen=True, kw_only=True)
class MobileNetSpec(ArchSpec):
    """MobileNet v1 on ``(height, width, channels)`` images.

    Attributes:
        alpha: Width multiplier (Keras ``alpha``; published 0.25, 0.5, 0.75, 1.0).
        depth_multiplier: Channel multiplier of the depthwise convs (Keras ``depth_multiplier``).
        dropout: Dropout rate before the classifier (Keras' default 1e-3).
        output_activation: Activation of the classifier (Keras ``classifier_activation``).
    """

    family = "mobilenet"

    alpha: float = 1.0
    depth_multiplier: int = 1
    dropout: float = 1e-3
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_positive_number("alpha", self.alpha)
        check_positive_int("depth_multiplier", self.depth_multiplier)
        check_fraction("dropout", self.dropout)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def block_filters(alpha: float) -> tuple[int, ...]:
    """Pointwise filters of the 13 blocks at width multiplier ``alpha`` (``int(f * alpha)``).

    Args:
        alpha: Width multiplier.

    Returns:
        13 channel counts.
    """
    return tuple(int(f * alpha) for f, _ in BLOCKS)


def build_mobilenet(spec: MobileNetSpec) -> Graph:
    """Graph of MobileNet v1, layer for layer as ``keras.applications.MobileNet``.

    Args:
        spec: The spec.

    Returns:
        The graph: stem -> 13 depthwise-separable blocks -> global average pool (1x1 map) ->
        dropout -> 1x1 conv classifier -> reshape -> activation.

    Raises:
        ShapeError: the input is too small for the five stride-2 ``valid`` depthwise convs
        (each needs at least 2 px after the one-pixel pad).
    """
    alpha = spec.alpha
    g = GraphBuilder(f"mobilenet_{alpha:0.2f}_{spec.input_shape[0]}")
    x = g.input(spec.input_shape)
    x = g.conv(x, int(STEM_FILTERS * alpha), 3, 2, use_bias=False, name="conv1")
    x = g.batch_norm(x, name="conv1_bn")
    x = g.act(x, "relu6", name="conv1_relu")
    for block_id, ((_, stride), filters) in enumerate(zip(BLOCKS, block_filters(alpha)), 1):
        if stride == 2:
            x = g.zero_pad(x, ((0, 1), (0, 1)), name=f"conv_pad_{block_id}")
        x = g.depthwise_conv(x, 3, stride, padding="same" if stride == 1 else "valid",
                             depth_multiplier=spec.depth_multiplier, use_bias=False,
                             name=f"conv_dw_{block_id}")
        x = g.batch_norm(x, name=f"conv_dw_{block_id}_bn")
        x = g.act(x, "relu6", name=f"conv_dw_{block_id}_relu")
        x = g.conv(x, filters, 1, use_bias=False, name=f"conv_pw_{block_id}")
        x = g.batch_norm(x, name=f"conv_pw_{block_id}_bn")
        x = g.act(x, "relu6", name=f"conv_pw_{block_id}_relu")
    x = g.global_avg_pool(x, keepdims=True, name="global_average_pooling2d")
    x = g.dropout(x, spec.dropout, name="dropout")
    x = g.conv(x, spec.classes, 1, name="conv_preds")
    x = g.reshape(x, (spec.classes,), name="reshape_2")
    x = g.act(x, spec.output_activation, name="predictions")
    return g.build(x)


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class MobileNetPlan(AlphaResolutionPlan):
    """Knobs: (alpha in 1/40 steps, resolution level); depth fixed (13 blocks)."""

    family = variant = "mobilenet"
    published_resolutions = (128, 160, 192, 224)
    min_alpha_steps = 10
    label = "MobileNet"
    layout = ("13 depthwise-separable blocks (Howard et al. 2017 Table 1); width "
              "and resolution scaled, depth fixed")
    layout_source = "Howard et al. 2017 Sec. 3.3-3.4 (alpha 0.25-1.0, 128-224 px)"

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return MobileNetSpec(input_shape=self.input_shape_at(knobs[1]),
                             classes=self.task.classes, alpha=knobs[0] / 40, dropout=dropout,
                             output_activation=self.output_activation)

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        alpha = knobs[0] / 40
        rows = [["stem", int(STEM_FILTERS * alpha), 2]]
        rows += [[f"block {i + 1}", f, s] for i, ((_, s), f)
                 in enumerate(zip(BLOCKS, block_filters(alpha)))]
        return ["layer", "channels", "stride"], rows


#: Howard et al. 2017 Table 6: ImageNet top-1 (%), multiply-adds and params of the width
#: multipliers at 224 px. alpha 0.25 (50.6 %, 41 M, 0.5 M) is left out: Keras' 1x1 conv
#: classifier makes it 0.47 M, outside the 5 % the metadata test allows.
_TOP1_224 = ((0.5, 63.7, 149e6, 1.3e6), (0.75, 68.4, 325e6, 2.6e6), (1.0, 70.6, 569e6, 4.2e6))

ACCURACY = tuple(
    AccuracyPoint(f"MobileNet {alpha:g} at 224 px", "imagenet", top1, macs, params, 224,
                  (("alpha", alpha),), "Howard et al. 2017 Table 6 (1.0/0.75/0.5 MobileNet-224)")
    for alpha, top1, macs, params in _TOP1_224)

FAMILY = Family("mobilenet", MobileNetSpec, build_mobilenet,
                "MobileNet v1 depthwise-separable convs with width multiplier alpha "
                "(Howard et al. 2017)",
                ranks=(3,), scaling=ScalingFields(width=("alpha",), resolution=("input_shape",)),
                dropout_field="dropout", plan=MobileNetPlan, recipe_style="rmsprop",
                accuracy=ACCURACY)

PRESETS = (
    Preset("mobilenet", MobileNetSpec(input_shape=(224, 224, 3), classes=1000, alpha=1.0),
           "MobileNet v1 alpha 1.0 at 224x224, 1000 classes: 4.2 M params, 569 M MACs "
           "(Howard et al. 2017; keras.applications.MobileNet)",
           Published("keras.applications.MobileNet count_params(); Howard et al. 2017 Table 6 "
                     "(569 M multiply-adds)", params=4_253_864, macs=569e6)),
)
