"""MobileNetV3 family (Howard et al. 2019), mirroring ``keras.applications.MobileNetV3Small``
and ``MobileNetV3Large``.

Two block tables (``SMALL``, ``LARGE``: the paper's Tables 1 and 2) of inverted-residual
blocks with optional squeeze-excitation, as Keras builds them:

- ``Rescaling(1/127.5, offset=-1)`` first (``include_preprocessing``);
- stem: 3x3 stride-2 conv to 16 channels (never scaled by ``alpha``), BN, activation;
- block: [1x1 expand to ``make_divisible(in * t)``] -> [correct_pad] depthwise k x k ->
  [SE: global average pool (1x1 map) -> 1x1 conv to ``make_divisible(expanded / 4)`` -> ReLU
  -> 1x1 conv -> hard sigmoid -> multiply] -> 1x1 project to ``make_divisible(c * alpha)``
  [-> add when stride 1 and the channels are kept];
- head: 1x1 conv to ``make_divisible(6 x last channels)``, BN, activation, global average
  pool (1x1 map), 1x1 conv (with bias) to 1024 (small) / 1280 (large) channels, widened only
  when ``alpha > 1``, activation, [dropout], 1x1 conv logits, flatten, output activation;
- ``minimalistic``: every kernel 3x3, ReLU everywhere, no squeeze-excitation;
- BatchNormalization(epsilon=1e-3, momentum=0.999), no conv biases outside SE and head.

Keras' hard sigmoid is ``ReLU(6)(x + 3) / 6`` on tensors (three graph nodes when read back);
here it is one ``hard_sigmoid`` activation layer, the same function with the same FLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.rounding import correct_pad, make_divisible
from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, ResolutionPlan, Step, clamp
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_image_input,
                             check_positive_number)

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.999
STEM_FILTERS = 16
SE_RATIO = 0.25
SIZES = ("small", "large")


@dataclass(frozen=True)
class V3Block:
    """One row of a MobileNetV3 table.

    Attributes:
        expansion: Expansion factor of the 1x1 expand conv (may be fractional: 72/16).
        filters: Output channels at ``alpha = 1``.
        kernel: Depthwise kernel (``None``: 5, or 3 when minimalistic).
        stride: Depthwise stride.
        se: Whether the block has squeeze-excitation (unless minimalistic).
        hard_swish: Whether the block uses the model activation (hard swish) rather than ReLU.
    """

    expansion: float
    filters: int
    kernel: int | None
    stride: int
    se: bool
    hard_swish: bool


#: Howard et al. 2019 Table 2 (Keras ``MobileNetV3Small`` ``stack_fn``).
SMALL: tuple[V3Block, ...] = (
    V3Block(1, 16, 3, 2, True, False), V3Block(72 / 16, 24, 3, 2, False, False),
    V3Block(88 / 24, 24, 3, 1, False, False), V3Block(4, 40, None, 2, True, True),
    V3Block(6, 40, None, 1, True, True), V3Block(6, 40, None, 1, True, True),
    V3Block(3, 48, None, 1, True, True), V3Block(3, 48, None, 1, True, True),
    V3Block(6, 96, None, 2, True, True), V3Block(6, 96, None, 1, True, True),
    V3Block(6, 96, None, 1, True, True),
)

#: Howard et al. 2019 Table 1 (Keras ``MobileNetV3Large`` ``stack_fn``).
LARGE: tuple[V3Block, ...] = (
    V3Block(1, 16, 3, 1, False, False), V3Block(4, 24, 3, 2, False, False),
    V3Block(3, 24, 3, 1, False, False), V3Block(3, 40, None, 2, True, False),
    V3Block(3, 40, None, 1, True, False), V3Block(3, 40, None, 1, True, False),
    V3Block(6, 80, 3, 2, False, True), V3Block(2.5, 80, 3, 1, False, True),
    V3Block(2.3, 80, 3, 1, False, True), V3Block(2.3, 80, 3, 1, False, True),
    V3Block(6, 112, 3, 1, True, True), V3Block(6, 112, 3, 1, True, True),
    V3Block(6, 160, None, 2, True, True), V3Block(6, 160, None, 1, True, True),
    V3Block(6, 160, None, 1, True, True),
)

TABLES = {"small": SMALL, "large": LARGE}
LAST_POINT = {"small": 1024, "large": 1280}


@dataclass(frozen=True, kw_only=True)
class MobileNetV3Spec(ArchSpec):
    """MobileNetV3 on ``(height, width, channels)`` images.

    Attributes:
        size: ``small`` or ``large`` (the block table).
        alpha: Width multiplier of the blocks (published 0.75 and 1.0).
        minimalistic: 3x3 kernels, ReLU, no squeeze-excitation (Keras ``minimalistic``).
        dropout_rate: Dropout before the logits (0 = no dropout layer).
        include_preprocessing: Start with ``Rescaling(1/127.5, offset=-1)``.
        output_activation: Activation of the classifier (Keras ``classifier_activation``).
    """

    family = "mobilenet_v3"

    size: str = "large"
    alpha: float = 1.0
    minimalistic: bool = False
    dropout_rate: float = 0.2
    include_preprocessing: bool = True
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_choice("size", self.size, SIZES)
        check_positive_number("alpha", self.alpha)
        check_choice("minimalistic", self.minimalistic, (True, False))
        check_fraction("dropout_rate", self.dropout_rate)
        check_choice("include_preprocessing", self.include_preprocessing, (True, False))
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def _conv_bn(g: GraphBuilder, x: str, filters: int, kernel: int, stride: int, name: str,
             bn: str) -> str:
    x = g.conv(x, filters, kernel, stride, use_bias=False, name=name)
    return g.batch_norm(x, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=bn)


def _se_block(g: GraphBuilder, x: str, filters: int, prefix: str) -> str:
    se = g.global_avg_pool(x, keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")
    se = g.conv(se, make_divisible(filters * SE_RATIO), 1, name=f"{prefix}squeeze_excite_conv")
    se = g.act(se, "relu", name=f"{prefix}squeeze_excite_relu")
    se = g.conv(se, filters, 1, name=f"{prefix}squeeze_excite_conv_1")
    se = g.act(se, "hard_sigmoid", name=f"{prefix}squeeze_excite_hard_sigmoid")
    return g.multiply([x, se], name=f"{prefix}squeeze_excite_mul")


def _block(g: GraphBuilder, x: str, blk: V3Block, spec: MobileNetV3Spec, block_id: int,
           model_act: str) -> str:
    """Keras ``_inverted_res_block`` of one table row."""
    shortcut = x
    in_filters = g.shape(x)[-1]
    kernel = 3 if spec.minimalistic or blk.kernel == 3 else 5
    act = model_act if blk.hard_swish else "relu"
    filters = make_divisible(blk.filters * spec.alpha)
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    expanded = make_divisible(in_filters * blk.expansion)
    if block_id:
        x = _conv_bn(g, x, expanded, 1, 1, f"{prefix}expand", f"{prefix}expand_bn")
        x = g.act(x, act, name=f"{prefix}expand_{act}")
    if blk.stride == 2:
        x = g.zero_pad(x, correct_pad(g.shape(x)[:2], kernel), name=f"{prefix}depthwise_pad")
    x = g.depthwise_conv(x, kernel, blk.stride, padding="same" if blk.stride == 1 else "valid",
                         use_bias=False, name=f"{prefix}depthwise")
    x = g.batch_norm(x, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{prefix}depthwise_bn")
    x = g.act(x, act, name=f"{prefix}depthwise_{act}")
    if blk.se and not spec.minimalistic:
        x = _se_block(g, x, expanded, prefix)
    x = _conv_bn(g, x, filters, 1, 1, f"{prefix}project", f"{prefix}project_bn")
    if blk.stride == 1 and in_filters == filters:
        x = g.add([shortcut, x], name=f"{prefix}add")
    return x


def build_mobilenet_v3(spec: MobileNetV3Spec) -> Graph:
    """Graph of MobileNetV3, layer for layer as ``keras.applications.MobileNetV3*``.

    Args:
        spec: The spec.

    Returns:
        The graph: [rescaling] -> stem -> inverted-residual blocks -> 1x1 conv -> pooled 1x1
        conv head -> logits.

    Raises:
        Nothing for any positive input size: every stride-2 layer pads (``same`` or
        ``correct_pad``). Keras refuses inputs under 32x32; they are accepted here.
    """
    act = "relu" if spec.minimalistic else "hard_swish"
    g = GraphBuilder(f"MobileNetV3{spec.size.capitalize()}")
    x = g.input(spec.input_shape)
    if spec.include_preprocessing:
        x = g.rescaling(x, 1.0 / 127.5, -1.0, name="rescaling")
    x = _conv_bn(g, x, STEM_FILTERS, 3, 2, "conv", "conv_bn")
    x = g.act(x, act, name=f"conv_{act}")
    for block_id, blk in enumerate(TABLES[spec.size]):
        x = _block(g, x, blk, spec, block_id, act)
    x = _conv_bn(g, x, make_divisible(g.shape(x)[-1] * 6), 1, 1, "conv_1", "conv_1_bn")
    x = g.act(x, act, name=f"conv_1_{act}")
    last_point = LAST_POINT[spec.size]
    if spec.alpha > 1.0:
        last_point = make_divisible(last_point * spec.alpha)
    x = g.global_avg_pool(x, keepdims=True, name="global_average_pooling2d")
    x = g.conv(x, last_point, 1, name="conv_2")
    x = g.act(x, act, name=f"conv_2_{act}")
    if spec.dropout_rate > 0:
        x = g.dropout(x, spec.dropout_rate, name="dropout")
    x = g.conv(x, spec.classes, 1, name="logits")
    x = g.flatten(x, name="flatten")
    x = g.act(x, spec.output_activation, name="predictions")
    return g.build(x)


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class MobileNetV3Plan(ResolutionPlan):
    """Knobs: (alpha in 1/40 steps, resolution level); the table (small/large, minimalistic)
    is the published point the family choice picked (``anchor``; default large)."""

    family = variant = "mobilenet_v3"
    axes = ("width", "resolution")
    published_resolutions = (96, 128, 160, 192, 224)

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "MobileNetV3Plan":
        return cls(task, max_resolution=max_resolution, anchor=anchor)

    def __init__(self, task: Task, max_resolution: int | None = None,
                 anchor: Any = None) -> None:
        super().__init__(task)
        self.size = anchor.get("size", "large") if anchor is not None else "large"
        self.minimalistic = bool(anchor.get("minimalistic", False)) if anchor else False
        self.init_resolution(task, max_resolution)
        self.bounds["width"] = (0.35, 2.0)
        self.steps = [Step("mobile layout", {"size": self.size,
                                             "minimalistic": self.minimalistic,
                                             "alpha_range": [0.35, 2.0],
                                             "resolutions": [self.levels[0], self.levels[-1]]},
                           f"MobileNetV3-{self.size.capitalize()} blocks (Howard et al. 2019 "
                           "Tables 1-2); width and resolution scaled, depth fixed",
                           "Howard et al. 2019 (alpha 0.75-1.0, resolutions 96-224)")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(w * 40), 14, 80)), self.res_index(r))

    def knobs_for(self, point: Any) -> Knobs | None:
        level = self.level_of(point.resolution)
        same = (point.get("size"), bool(point.get("minimalistic"))) == (self.size,
                                                                        self.minimalistic)
        return None if level is None or not same else (round(point.get("alpha") * 40), level)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return MobileNetV3Spec(input_shape=self.input_shape_at(knobs[1]),
                               classes=self.task.classes, size=self.size, alpha=knobs[0] / 40,
                               minimalistic=self.minimalistic, dropout_rate=dropout,
                               output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return ("alpha + 0.025", f"resolution + {QUANTUM} px",
                f"alpha + 0.025, resolution - {QUANTUM} px")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        """One step of alpha, of resolution, or a trade of one resolution level for one alpha
        step (the block widths round to multiples of 8, so alpha alone moves the MACs in
        jumps of up to 20 %; the trade fills the budget between them)."""
        if index == 0:
            return (knobs[0] + 1, knobs[1]) if knobs[0] < 80 else None
        if index == 1:
            return (knobs[0], knobs[1] + 1) if knobs[1] + 1 < len(self.levels) else None
        return (knobs[0] + 1, knobs[1] - 1) if knobs[0] < 80 and knobs[1] > 0 else None

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), 14, 80)), knobs[1])

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[1])
        kind = " minimalistic" if self.minimalistic else ""
        return f"MobileNetV3-{self.size.capitalize()}{kind} alpha {knobs[0] / 40:g} at {h}x{w}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        alpha = knobs[0] / 40
        rows = [[f"block {i + 1}", 3 if self.minimalistic or b.kernel == 3 else 5,
                 f"{b.expansion:g}", make_divisible(b.filters * alpha), b.stride,
                 b.se and not self.minimalistic]
                for i, b in enumerate(TABLES[self.size])]
        return ["block", "kernel", "expansion", "channels", "stride", "SE"], rows


#: Howard et al. 2019 Table 3 (ImageNet top-1 %, multiply-adds, params at 224 px); the same
#: figures head the keras.applications.MobileNetV3 checkpoint table. Small minimalistic
#: (61.9 %, 65 M) is left out: Keras' minimalistic Small is 52 M MACs, not the paper's 65 M.
_POINTS = (("large", 1.0, False, 75.2, 219e6, 5.4e6), ("large", 0.75, False, 73.3, 155e6, 4.0e6),
           ("large", 1.0, True, 72.3, 209e6, 3.9e6), ("small", 1.0, False, 67.4, 56e6, 2.5e6),
           ("small", 0.75, False, 65.4, 44e6, 2.0e6))

ACCURACY = tuple(
    AccuracyPoint(f"MobileNetV3-{size.capitalize()}{' minimalistic' if mini else ''} "
                  f"{alpha:g}", "imagenet", top1, macs, params, 224,
                  (("size", size), ("alpha", alpha), ("minimalistic", mini)),
                  "Howard et al. 2019 Table 3; keras.applications.MobileNetV3 checkpoint table")
    for size, alpha, mini, top1, macs, params in _POINTS)

FAMILY = Family("mobilenet_v3", MobileNetV3Spec, build_mobilenet_v3,
                "MobileNetV3 small/large: inverted residuals, squeeze-excitation, hard swish "
                "(Howard et al. 2019)",
                ranks=(3,), scaling=ScalingFields(width=("alpha",), resolution=("input_shape",)),
                dropout_field="dropout_rate", plan=MobileNetV3Plan, recipe_style="rmsprop",
                accuracy=ACCURACY)

PRESETS = (
    Preset("mobilenet_v3_small",
           MobileNetV3Spec(input_shape=(224, 224, 3), classes=1000, size="small"),
           "MobileNetV3-Small 1.0 at 224x224, 1000 classes (Howard et al. 2019; "
           "keras.applications.MobileNetV3Small)",
           Published("keras.applications.MobileNetV3Small count_params(); Howard et al. 2019 "
                     "Table 3 (56 M multiply-adds)", params=2_554_968, macs=56e6, rel_tol=0.1)),
    Preset("mobilenet_v3_large",
           MobileNetV3Spec(input_shape=(224, 224, 3), classes=1000, size="large"),
           "MobileNetV3-Large 1.0 at 224x224, 1000 classes (Howard et al. 2019; "
           "keras.applications.MobileNetV3Large)",
           Published("keras.applications.MobileNetV3Large count_params(); Howard et al. 2019 "
                     "Table 3 (219 M multiply-adds)", params=5_507_432, macs=219e6, rel_tol=0.1)),
)
