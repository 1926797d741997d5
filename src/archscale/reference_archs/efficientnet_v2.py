"""EfficientNetV2 family (Tan & Le 2021), mirroring ``keras.applications.EfficientNetV2*``.

Four base tables (``BASES``: ``b`` for B0-B3, and ``s``, ``m``, ``l``) of Fused-MBConv and
MBConv stages, scaled by width and depth coefficients as Keras scales them:

- filters: ``round_filters_v2`` (nearest multiple of ``depth_divisor``, at least 8, with *no*
  90 % rule, unlike EfficientNet v1); repeats: ``ceil(depth x repeats)``;
- stem: 3x3 stride-2 ``same`` conv (no explicit padding), BN (momentum 0.9), swish;
- Fused-MBConv: k x k conv (stride) expand -> BN -> swish [-> SE] -> 1x1 project -> BN; with
  expansion 1, a single k x k conv (stride) -> BN -> swish;
- MBConv: 1x1 expand -> BN -> swish -> depthwise k x k ``same`` -> BN -> swish -> SE (reduce
  to ``max(1, int(block input x se_ratio))``) -> 1x1 project -> BN;
- a residual add when stride 1 and the channels are kept, after a stochastic-depth dropout of
  rate ``drop_connect_rate x b / blocks`` when that is > 0 (block 0 never has one);
- top: 1x1 conv to ``round_filters_v2(1280)``, BN, swish, global average pool, dropout,
  dense;
- preprocessing (``include_preprocessing``): ``Rescaling(1/255)`` and ImageNet
  ``Normalization`` with fixed statistics (no weights) for the B variants on RGB input,
  otherwise ``Rescaling(1/128, offset=-1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.efficientnet import block_name
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.coefficient_plan import CoefficientPlan
from archscale.reference_archs.scaling_plan import Knobs
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_image_input,
                             check_positive_int, check_positive_number)

BN_MOMENTUM = 0.9
TOP_FILTERS = 1280
MIN_DEPTH = 8
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_VARIANCE = (0.229 ** 2, 0.224 ** 2, 0.225 ** 2)


@dataclass(frozen=True)
class V2Stage:
    """One stage of a base table: ``repeats`` blocks of the same kind.

    Attributes:
        fused: Fused-MBConv (``conv_type`` 1) rather than MBConv.
        kernel: Kernel size (3 in every published table).
        repeats: Blocks at depth coefficient 1.
        filters_in / filters_out: Channels at width coefficient 1.
        expand_ratio: Expansion factor.
        se_ratio: Squeeze-excitation ratio (0 = none).
        strides: Stride of the first block.
    """

    fused: bool
    kernel: int
    repeats: int
    filters_in: int
    filters_out: int
    expand_ratio: int
    se_ratio: float
    strides: int


def _stages(*rows: tuple) -> tuple[V2Stage, ...]:
    return tuple(V2Stage(bool(f), 3, n, i, o, e, se, s) for f, n, i, o, e, se, s in rows)


#: Keras ``DEFAULT_BLOCKS_ARGS`` (Tan & Le 2021 Table 4 for S; the official repository for
#: B0-B3, M and L): (fused, repeats, in, out, expand, se_ratio, stride).
BASES: dict[str, tuple[V2Stage, ...]] = {
    "b": _stages((1, 1, 32, 16, 1, 0, 1), (1, 2, 16, 32, 4, 0, 2), (1, 2, 32, 48, 4, 0, 2),
                 (0, 3, 48, 96, 4, 0.25, 2), (0, 5, 96, 112, 6, 0.25, 1),
                 (0, 8, 112, 192, 6, 0.25, 2)),
    "s": _stages((1, 2, 24, 24, 1, 0, 1), (1, 4, 24, 48, 4, 0, 2), (1, 4, 48, 64, 4, 0, 2),
                 (0, 6, 64, 128, 4, 0.25, 2), (0, 9, 128, 160, 6, 0.25, 1),
                 (0, 15, 160, 256, 6, 0.25, 2)),
    "m": _stages((1, 3, 24, 24, 1, 0, 1), (1, 5, 24, 48, 4, 0, 2), (1, 5, 48, 80, 4, 0, 2),
                 (0, 7, 80, 160, 4, 0.25, 2), (0, 14, 160, 176, 6, 0.25, 1),
                 (0, 18, 176, 304, 6, 0.25, 2), (0, 5, 304, 512, 6, 0.25, 1)),
    "l": _stages((1, 4, 32, 32, 1, 0, 1), (1, 7, 32, 64, 4, 0, 2), (1, 7, 64, 96, 4, 0, 2),
                 (0, 10, 96, 192, 4, 0.25, 2), (0, 19, 192, 224, 6, 0.25, 1),
                 (0, 25, 224, 384, 6, 0.25, 2), (0, 7, 384, 640, 6, 0.25, 1)),
}


@dataclass(frozen=True)
class V2Variant:
    """A published variant: base table, coefficients, default resolution (Keras)."""

    name: str
    base: str
    width: float
    depth: float
    resolution: int


#: keras.applications.EfficientNetV2B0..L.
VARIANTS: tuple[V2Variant, ...] = (
    V2Variant("b0", "b", 1.0, 1.0, 224), V2Variant("b1", "b", 1.0, 1.1, 240),
    V2Variant("b2", "b", 1.1, 1.2, 260), V2Variant("b3", "b", 1.2, 1.4, 300),
    V2Variant("s", "s", 1.0, 1.0, 384), V2Variant("m", "m", 1.0, 1.0, 480),
    V2Variant("l", "l", 1.0, 1.0, 480),
)


@dataclass(frozen=True, kw_only=True)
class EfficientNetV2Spec(ArchSpec):
    """EfficientNetV2 on ``(height, width, channels)`` images.

    Attributes:
        base: Base table: ``b`` (B0-B3), ``s``, ``m`` or ``l``.
        width_coefficient: Channel multiplier (``round_filters_v2``).
        depth_coefficient: Repeats multiplier (``ceil(depth x repeats)``).
        dropout_rate: Dropout before the classifier (0 = no dropout layer).
        drop_connect_rate: Maximum stochastic-depth rate, reached linearly over the blocks.
        depth_divisor: Channel counts are multiples of this.
        activation: Activation of every conv block (Keras: ``swish``).
        include_preprocessing: Start with the rescaling (and, for ``b`` on RGB, the
            normalisation) Keras includes.
        output_activation: Activation of the classifier.
    """

    family = "efficientnet_v2"

    base: str = "b"
    width_coefficient: float = 1.0
    depth_coefficient: float = 1.0
    dropout_rate: float = 0.2
    drop_connect_rate: float = 0.2
    depth_divisor: int = 8
    activation: str = "swish"
    include_preprocessing: bool = True
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_choice("base", self.base, tuple(BASES))
        check_positive_number("width_coefficient", self.width_coefficient)
        check_positive_number("depth_coefficient", self.depth_coefficient)
        check_fraction("dropout_rate", self.dropout_rate)
        check_fraction("drop_connect_rate", self.drop_connect_rate)
        check_positive_int("depth_divisor", self.depth_divisor)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("include_preprocessing", self.include_preprocessing, (True, False))
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def round_filters_v2(filters: int, width_coefficient: float, divisor: int = 8) -> int:
    """EfficientNetV2's width scaling (Keras ``efficientnet_v2.round_filters``).

    Args:
        filters: Base channel count.
        width_coefficient: Width multiplier.
        divisor: The multiple to round to.

    Returns:
        ``max(8, int(f * w + divisor / 2) // divisor * divisor)`` (no 90 % rule).
    """
    value = filters * width_coefficient
    return int(max(MIN_DEPTH, int(value + divisor / 2) // divisor * divisor))


def _conv_bn_act(g: GraphBuilder, x: str, filters: int, kernel: int, strides: int, act: str,
                 name: str, bn: str, act_name: str | None) -> str:
    x = g.conv(x, filters, kernel, strides, use_bias=False, name=name)
    x = g.batch_norm(x, momentum=BN_MOMENTUM, name=bn)
    return g.act(x, act, name=act_name) if act_name else x


def _se(g: GraphBuilder, x: str, filters_in: int, se_ratio: float, act: str, name: str) -> str:
    filters = g.shape(x)[-1]
    se = g.global_avg_pool(x, name=f"{name}se_squeeze")
    se = g.reshape(se, (1, 1, filters), name=f"{name}se_reshape")
    se = g.conv(se, max(1, int(filters_in * se_ratio)), 1, activation=act,
                name=f"{name}se_reduce")
    se = g.conv(se, filters, 1, activation="sigmoid", name=f"{name}se_expand")
    return g.multiply([x, se], name=f"{name}se_excite")


def _block(g: GraphBuilder, inputs: str, st: V2Stage, f_in: int, f_out: int, strides: int,
           drop: float, act: str, name: str) -> str:
    """Keras ``MBConvBlock`` / ``FusedMBConvBlock``."""
    filters = f_in * st.expand_ratio
    x = inputs
    if st.fused:
        if st.expand_ratio != 1:
            x = _conv_bn_act(g, x, filters, st.kernel, strides, act, f"{name}expand_conv",
                             f"{name}expand_bn", f"{name}expand_activation")
    else:
        if st.expand_ratio != 1:
            x = _conv_bn_act(g, x, filters, 1, 1, act, f"{name}expand_conv",
                             f"{name}expand_bn", f"{name}expand_activation")
        x = g.depthwise_conv(x, st.kernel, strides, use_bias=False, name=f"{name}dwconv2")
        x = g.batch_norm(x, momentum=BN_MOMENTUM, name=f"{name}bn")
        x = g.act(x, act, name=f"{name}activation")
    if 0 < st.se_ratio <= 1:
        x = _se(g, x, f_in, st.se_ratio, act, name)
    one = st.fused and st.expand_ratio == 1
    x = _conv_bn_act(g, x, f_out, st.kernel if one else 1, strides if one else 1, act,
                     f"{name}project_conv", f"{name}project_bn",
                     f"{name}project_activation" if one else None)
    if strides == 1 and f_in == f_out:
        if drop:
            x = g.dropout(x, drop, name=f"{name}drop")
        x = g.add([x, inputs], name=f"{name}add")
    return x


def build_efficientnet_v2(spec: EfficientNetV2Spec) -> Graph:
    """Graph of EfficientNetV2, layer for layer as ``keras.applications.EfficientNetV2*``.

    Args:
        spec: The spec.

    Returns:
        The graph: [preprocessing] -> stem -> Fused-MBConv and MBConv blocks -> top conv ->
        global average pool -> [dropout] -> dense classifier.

    Raises:
        Nothing for any positive input size (every conv is ``same``-padded).
    """
    def filters(f: int) -> int:
        return round_filters_v2(f, spec.width_coefficient, spec.depth_divisor)

    stages = BASES[spec.base]
    act = spec.activation
    g = GraphBuilder(f"efficientnetv2-{spec.base}")
    x = g.input(spec.input_shape)
    if spec.include_preprocessing:
        if spec.base == "b" and spec.input_shape[-1] == 3:
            x = g.rescaling(x, 1.0 / 255, name="rescaling")
            x = g.layer("elementwise", x, name="normalization", fn="normalize", constants=2,
                        mean=IMAGENET_MEAN, variance=IMAGENET_VARIANCE)
        else:
            x = g.rescaling(x, 1.0 / 128.0, -1.0, name="rescaling")
    x = _conv_bn_act(g, x, filters(stages[0].filters_in), 3, 2, act, "stem_conv", "stem_bn",
                     "stem_activation")
    repeats = [math.ceil(spec.depth_coefficient * st.repeats) for st in stages]
    total, b = float(sum(st.repeats for st in stages)), 0
    for i, (st, n) in enumerate(zip(stages, repeats)):
        for j in range(n):
            f_in = filters(st.filters_in if j == 0 else st.filters_out)
            x = _block(g, x, st, f_in, filters(st.filters_out), st.strides if j == 0 else 1,
                       spec.drop_connect_rate * b / total, act, block_name(i, j))
            b += 1
    x = _conv_bn_act(g, x, filters(TOP_FILTERS), 1, 1, act, "top_conv", "top_bn",
                     "top_activation")
    x = g.global_avg_pool(x, name="avg_pool")
    if spec.dropout_rate > 0:
        x = g.dropout(x, spec.dropout_rate, name="top_dropout")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class EfficientNetV2Plan(CoefficientPlan):
    """Knobs: (width coefficient in 1/40 steps, depth coefficient in 1/20, resolution level);
    the base table is the published point the family choice picked (``anchor``; default B0's
    ``b`` table)."""

    family = variant = "efficientnet_v2"
    published_resolutions = tuple(v.resolution for v in VARIANTS)

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "EfficientNetV2Plan":
        return cls(task, max_resolution=max_resolution, anchor=anchor)

    def __init__(self, task: Task, max_resolution: int | None = None,
                 anchor: Any = None) -> None:
        self.base = anchor.get("base", "b") if anchor is not None else "b"
        super().__init__(task, max_resolution)
        self.steps = [self.layout_step(
            {"base": self.base}, f"EfficientNetV2 '{self.base}' Fused-MBConv/MBConv table "
            "scaled by width, depth and resolution",
            "Tan & Le 2021 Table 4 and Sec. 4; Tan & Le 2019 Sec. 3.3")]

    def matches(self, point: Any) -> bool:
        return point.get("base") == self.base

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        width, depth = self.knob_coefficients(knobs)
        return EfficientNetV2Spec(input_shape=self.input_shape_at(knobs[2]),
                                  classes=self.task.classes, base=self.base,
                                  width_coefficient=width, depth_coefficient=depth,
                                  dropout_rate=dropout, output_activation=self.output_activation)

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[2])
        width, depth = self.knob_coefficients(knobs)
        return f"EfficientNetV2-{self.base.upper()} width {width:g}, depth {depth:g} at {h}x{w}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        w, d = self.knob_coefficients(knobs)
        rows = [[f"stage {i + 1}", "fused" if s.fused else "MBConv", s.expand_ratio,
                 round_filters_v2(s.filters_out, w), math.ceil(d * s.repeats), s.strides]
                for i, s in enumerate(BASES[self.base])]
        return ["stage", "block", "expansion", "channels", "blocks", "stride"], rows


#: keras.applications count_params() of each variant at its default size, 1000 classes; and
#: the published multiply-adds, top-1 (%) and params: Tan & Le 2021 Table 7 (S/M/L, ImageNet-1k,
#: evaluated at 384/480/480) and the google/automl efficientnetv2 README (B0-B3).
PUBLISHED: dict[str, tuple[int, float, float, float]] = {
    "b0": (7_200_312, 0.72e9, 78.7, 7.1e6), "b1": (8_212_124, 1.2e9, 79.8, 8.1e6),
    "b2": (10_178_374, 1.7e9, 80.5, 10.1e6), "b3": (14_467_622, 3.0e9, 82.1, 14.4e6),
    "s": (21_612_360, 8.8e9, 83.9, 22e6), "m": (54_431_388, 24e9, 85.1, 54e6),
    "l": (119_027_848, 53e9, 85.7, 120e6),
}

_SOURCE = {"b": "google/automl efficientnetv2 README (EfficientNetV2-B0..B3)",
           "s": "Tan & Le 2021 Table 7", "m": "Tan & Le 2021 Table 7",
           "l": "Tan & Le 2021 Table 7"}


#: Variants whose published point the plan reproduces within 5 % (the family-table test's
#: tolerance): L is left out, Keras' L being 56.1 G MACs at 480 px against the paper's 53 G.
_ACCURACY_VARIANTS = ("b0", "b1", "b2", "b3", "s", "m")


def _label(v: V2Variant) -> str:
    return f"EfficientNetV2-{v.name.upper()}"


ACCURACY = tuple(
    AccuracyPoint(_label(v), "imagenet", PUBLISHED[v.name][2], PUBLISHED[v.name][1],
                  PUBLISHED[v.name][3], v.resolution,
                  (("base", v.base), ("width", v.width), ("depth", v.depth)),
                  f"{_SOURCE[v.base]}; keras.applications.EfficientNetV2{v.name.upper()}")
    for v in VARIANTS if v.name in _ACCURACY_VARIANTS)

FAMILY = Family("efficientnet_v2", EfficientNetV2Spec, build_efficientnet_v2,
                "EfficientNetV2 Fused-MBConv + MBConv with compound scaling (Tan & Le 2021)",
                ranks=(3,),
                scaling=ScalingFields(width=("width_coefficient",), depth=("depth_coefficient",),
                                      resolution=("input_shape",)),
                dropout_field="dropout_rate", plan=EfficientNetV2Plan, recipe_style="rmsprop",
                accuracy=ACCURACY)

PRESETS = tuple(
    Preset(f"efficientnet_v2_{v.name}",
           EfficientNetV2Spec(input_shape=(v.resolution, v.resolution, 3), classes=1000,
                              base=v.base, width_coefficient=v.width, depth_coefficient=v.depth),
           f"{_label(v)} (Tan & Le 2021; keras.applications.EfficientNetV2{v.name.upper()}): "
           f"'{v.base}' table, width {v.width}, depth {v.depth}, {v.resolution}x{v.resolution}, "
           "1000 classes",
           Published(f"keras.applications.EfficientNetV2{v.name.upper()} count_params(); "
                     f"{_SOURCE[v.base]}", params=PUBLISHED[v.name][0],
                     macs=PUBLISHED[v.name][1], rel_tol=0.1))
    for v in VARIANTS)
