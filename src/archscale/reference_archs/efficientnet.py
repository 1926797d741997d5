"""EfficientNet family (Tan & Le 2019), mirroring ``keras.applications.EfficientNetB0..B7``.

One base network (``BASE_STAGES``: the B0 MBConv table) is scaled by compound coefficients
(``SCALINGS``: width, depth, resolution, dropout per variant):

- filters: ``round_filters(f, width)`` (multiples of ``depth_divisor``, never below 90 %);
- repeats: ``ceil(depth x repeats)``; resolution is the preset's ``input_shape``;
- MBConv block: [1x1 expand] -> depthwise k x k -> squeeze-excitation (global average pool,
  reshape, 1x1 reduce to ``max(1, int(block input channels x se_ratio))`` with the activation,
  1x1 expand with sigmoid, multiply) -> 1x1 project [-> dropout -> add];
- stochastic depth: the dropout rate of block ``b`` (counting from 0 over all blocks) is
  ``drop_connect_rate x b / total_blocks``, present only on blocks with a residual add and a
  rate > 0 (Keras uses ``noise_shape=(None, 1, 1, 1)``; costs are the same);
- stride-2 layers (stem, first block of a stage) are ``ZeroPadding2D(correct_pad) + valid``;
- preprocessing (``include_preprocessing``) is what Keras builds with ``weights=None``:
  ``Rescaling(1/255)`` then ``Normalization`` (mean, variance, count: 2 x channels + 1
  non-trainable weights). The third per-channel ``Rescaling`` Keras adds only when loading
  ImageNet weights is parameter-free and not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.rounding import correct_pad, round_filters, round_repeats
from archscale.reference_archs.coefficient_plan import CoefficientPlan
from archscale.reference_archs.scaling_plan import Knobs
from archscale.specs import (
    ArchSpec,
    Task,
    check_choice,
    check_fraction,
    check_image_input,
    check_positive_int,
    check_positive_number,
)

STEM_FILTERS = 32
TOP_FILTERS = 1280


@dataclass(frozen=True)
class MBConvStage:
    """One row of the B0 table: ``repeats`` MBConv blocks of the same kind.

    Attributes:
        kernel: Depthwise kernel size.
        repeats: Number of blocks at depth coefficient 1.
        filters_in / filters_out: Channels at width coefficient 1.
        expand_ratio: Expansion factor of the 1x1 expand conv (1 = no expand conv).
        strides: Stride of the first block (the others use 1).
    """

    kernel: int
    repeats: int
    filters_in: int
    filters_out: int
    expand_ratio: int
    strides: int


#: Tan & Le 2019, table 1 (Keras ``DEFAULT_BLOCKS_ARGS``; every block has id_skip and
#: se_ratio 0.25, the latter a spec field).
BASE_STAGES: tuple[MBConvStage, ...] = (
    MBConvStage(3, 1, 32, 16, 1, 1),
    MBConvStage(3, 2, 16, 24, 6, 2),
    MBConvStage(5, 2, 24, 40, 6, 2),
    MBConvStage(3, 3, 40, 80, 6, 2),
    MBConvStage(5, 3, 80, 112, 6, 1),
    MBConvStage(5, 4, 112, 192, 6, 2),
    MBConvStage(3, 1, 192, 320, 6, 1),
)


@dataclass(frozen=True)
class CompoundScaling:
    """Compound coefficients of one variant (Keras ``EfficientNetBx`` arguments)."""

    name: str
    width: float
    depth: float
    resolution: int
    dropout: float


#: Tan & Le 2019 (and keras.applications): (width, depth, resolution, dropout) of B0..B7.
SCALINGS: tuple[CompoundScaling, ...] = (
    CompoundScaling("b0", 1.0, 1.0, 224, 0.2),
    CompoundScaling("b1", 1.0, 1.1, 240, 0.2),
    CompoundScaling("b2", 1.1, 1.2, 260, 0.3),
    CompoundScaling("b3", 1.2, 1.4, 300, 0.3),
    CompoundScaling("b4", 1.4, 1.8, 380, 0.4),
    CompoundScaling("b5", 1.6, 2.2, 456, 0.4),
    CompoundScaling("b6", 1.8, 2.6, 528, 0.5),
    CompoundScaling("b7", 2.0, 3.1, 600, 0.5),
)


@dataclass(frozen=True, kw_only=True)
class EfficientNetSpec(ArchSpec):
    """EfficientNet on ``(height, width, channels)`` images.

    Attributes:
        width_coefficient: Channel multiplier (rounded with ``round_filters``).
        depth_coefficient: Repeats multiplier (``ceil(depth x repeats)``).
        dropout_rate: Dropout before the classifier (0 = no dropout layer).
        drop_connect_rate: Maximum stochastic-depth rate, reached linearly over the blocks.
        depth_divisor: Channel counts are multiples of this.
        se_ratio: Squeeze-excitation bottleneck as a fraction of the block input channels
            (0 = no squeeze-excitation).
        activation: Activation of every conv block (Keras: ``swish``).
        include_preprocessing: Start with ``Rescaling(1/255)`` and ``Normalization``.
        output_activation: Activation of the classifier (Keras ``classifier_activation``).
    """

    family = "efficientnet"

    width_coefficient: float = 1.0
    depth_coefficient: float = 1.0
    dropout_rate: float = 0.2
    drop_connect_rate: float = 0.2
    depth_divisor: int = 8
    se_ratio: float = 0.25
    activation: str = "swish"
    include_preprocessing: bool = True
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_positive_number("width_coefficient", self.width_coefficient)
        check_positive_number("depth_coefficient", self.depth_coefficient)
        check_fraction("dropout_rate", self.dropout_rate)
        check_fraction("drop_connect_rate", self.drop_connect_rate)
        check_positive_int("depth_divisor", self.depth_divisor)
        check_fraction("se_ratio", self.se_ratio, high_inclusive=True)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("include_preprocessing", self.include_preprocessing, (True, False))
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


@dataclass(frozen=True)
class MBConvBlock:
    """One MBConv block after scaling (what Keras' ``block`` receives)."""

    name: str
    kernel: int
    filters_in: int
    filters_out: int
    expand_ratio: int
    strides: int
    drop_rate: float


def block_name(stage: int, index: int) -> str:
    """Keras' block prefix ``block{stage + 1}{letter}_``; past ``z``, ``block{stage + 1}_{n}_``.

    Args:
        stage: 0-based stage index.
        index: 0-based block index within the stage.

    Returns:
        The layer-name prefix of the block.
    """
    if index < 26:
        return f"block{stage + 1}{chr(index + 97)}_"
    return f"block{stage + 1}_{index}_"


def scaled_blocks(spec: EfficientNetSpec) -> list[MBConvBlock]:
    """The blocks of ``spec``: ``BASE_STAGES`` scaled by the width and depth coefficients.

    Args:
        spec: The spec.

    Returns:
        One ``MBConvBlock`` per MBConv block, in order, with its stochastic-depth rate.
    """
    def filters(f: int) -> int:
        return round_filters(f, spec.width_coefficient, spec.depth_divisor)

    total = float(sum(round_repeats(s.repeats, spec.depth_coefficient) for s in BASE_STAGES))
    blocks: list[MBConvBlock] = []
    for i, stage in enumerate(BASE_STAGES):
        for j in range(round_repeats(stage.repeats, spec.depth_coefficient)):
            first = j == 0
            blocks.append(MBConvBlock(
                name=block_name(i, j), kernel=stage.kernel,
                filters_in=filters(stage.filters_in) if first else filters(stage.filters_out),
                filters_out=filters(stage.filters_out), expand_ratio=stage.expand_ratio,
                strides=stage.strides if first else 1,
                drop_rate=spec.drop_connect_rate * len(blocks) / total))
    return blocks


def _squeeze_excite(g: GraphBuilder, x: str, filters_in: int, spec: EfficientNetSpec,
                    name: str) -> str:
    """SE: global average pool -> reshape (1, 1, C) -> 1x1 reduce -> 1x1 expand -> multiply."""
    filters = g.shape(x)[-1]
    se = g.global_avg_pool(x, name=f"{name}se_squeeze")
    se = g.reshape(se, (1, 1, filters), name=f"{name}se_reshape")
    se = g.conv(se, max(1, int(filters_in * spec.se_ratio)), 1, activation=spec.activation,
                name=f"{name}se_reduce")
    se = g.conv(se, filters, 1, activation="sigmoid", name=f"{name}se_expand")
    return g.multiply([x, se], name=f"{name}se_excite")


def _mbconv(g: GraphBuilder, inputs: str, blk: MBConvBlock, spec: EfficientNetSpec) -> str:
    """Keras' EfficientNet ``block`` (always ``id_skip=True``).

    Args:
        g: The builder.
        inputs: Input node name.
        blk: The scaled block.
        spec: The spec (activation, se_ratio).

    Returns:
        The block's output node name.
    """
    name = blk.name
    x = inputs
    if blk.expand_ratio != 1:
        x = g.conv(x, blk.filters_in * blk.expand_ratio, 1, use_bias=False,
                   name=f"{name}expand_conv")
        x = g.batch_norm(x, name=f"{name}expand_bn")
        x = g.act(x, spec.activation, name=f"{name}expand_activation")
    if blk.strides == 2:
        x = g.zero_pad(x, correct_pad(g.shape(x)[:2], blk.kernel), name=f"{name}dwconv_pad")
    x = g.depthwise_conv(x, blk.kernel, blk.strides,
                         padding="valid" if blk.strides == 2 else "same", use_bias=False,
                         name=f"{name}dwconv")
    x = g.batch_norm(x, name=f"{name}bn")
    x = g.act(x, spec.activation, name=f"{name}activation")
    if 0 < spec.se_ratio <= 1:
        x = _squeeze_excite(g, x, blk.filters_in, spec, name)
    x = g.conv(x, blk.filters_out, 1, use_bias=False, name=f"{name}project_conv")
    x = g.batch_norm(x, name=f"{name}project_bn")
    if blk.strides == 1 and blk.filters_in == blk.filters_out:
        if blk.drop_rate > 0:
            x = g.dropout(x, blk.drop_rate, name=f"{name}drop")
        x = g.add([x, inputs], name=f"{name}add")
    return x


def build_efficientnet(spec: EfficientNetSpec) -> Graph:
    """Graph of EfficientNet, layer for layer as ``keras.applications.EfficientNet``.

    Args:
        spec: The spec.

    Returns:
        The graph: [rescaling -> normalization] -> padded 3x3 stride-2 stem -> MBConv blocks ->
        1x1 top conv -> global average pool -> [dropout] -> dense classifier.

    Raises:
        Nothing for any positive input size: every stride-2 layer pads (``same`` or
        ``correct_pad``), so no size reaches 0. Sizes below the 32x32 minimum that
        ``keras.applications`` enforces are accepted.
    """
    def filters(f: int) -> int:
        return round_filters(f, spec.width_coefficient, spec.depth_divisor)

    g = GraphBuilder("efficientnet")
    x = g.input(spec.input_shape)
    if spec.include_preprocessing:
        x = g.rescaling(x, 1.0 / 255.0, name="rescaling")
        x = g.normalization(x, name="normalization")
    x = g.zero_pad(x, correct_pad(spec.input_shape[:2], 3), name="stem_conv_pad")
    x = g.conv(x, filters(STEM_FILTERS), 3, 2, padding="valid", use_bias=False,
               name="stem_conv")
    x = g.batch_norm(x, name="stem_bn")
    x = g.act(x, spec.activation, name="stem_activation")
    for blk in scaled_blocks(spec):
        x = _mbconv(g, x, blk, spec)
    x = g.conv(x, filters(TOP_FILTERS), 1, use_bias=False, name="top_conv")
    x = g.batch_norm(x, name="top_bn")
    x = g.act(x, spec.activation, name="top_activation")
    x = g.global_avg_pool(x, name="avg_pool")
    if spec.dropout_rate > 0:
        x = g.dropout(x, spec.dropout_rate, name="top_dropout")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


#: keras.applications count_params() of B0..B7 at their default size with 1000 classes, and the
#: paper's multiply-adds (Tan & Le 2019, Table 2 "FLOPS").
PUBLISHED: dict[str, tuple[int, float]] = {
    "b0": (5_330_571, 0.39e9), "b1": (7_856_239, 0.70e9), "b2": (9_177_569, 1.0e9),
    "b3": (12_320_535, 1.8e9), "b4": (19_466_823, 4.2e9), "b5": (30_562_527, 9.9e9),
    "b6": (43_265_143, 19e9), "b7": (66_658_687, 37e9),
}


def _preset(row: CompoundScaling) -> Preset:
    spec = EfficientNetSpec(input_shape=(row.resolution, row.resolution, 3), classes=1000,
                            width_coefficient=row.width, depth_coefficient=row.depth,
                            dropout_rate=row.dropout)
    params, macs = PUBLISHED[row.name]
    return Preset(f"efficientnet_{row.name}", spec,
                  f"EfficientNet-{row.name.upper()} (Tan & Le 2019; keras.applications."
                  f"EfficientNet{row.name.upper()}): width {row.width}, depth {row.depth}, "
                  f"{row.resolution}x{row.resolution}, dropout {row.dropout}, 1000 classes",
                  Published(f"keras.applications.EfficientNet{row.name.upper()} "
                            "count_params(); Tan & Le 2019 Table 2", params=params, macs=macs))


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class EfficientNetPlan(CoefficientPlan):
    """Knobs: (width coefficient in 1/40 steps, depth coefficient in 1/20, resolution level)."""

    family = variant = "efficientnet"
    published_resolutions = tuple(row.resolution for row in SCALINGS)

    def __init__(self, task: Task, max_resolution: int | None = None) -> None:
        super().__init__(task, max_resolution)
        self.steps = [self.layout_step({}, "EfficientNet-B0 MBConv table scaled by width, depth "
                                           "and resolution", "Tan & Le 2019 Table 1 and Sec. 3.3")]

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        width, depth = self.knob_coefficients(knobs)
        return EfficientNetSpec(input_shape=self.input_shape_at(knobs[2]),
                                classes=self.task.classes, width_coefficient=width,
                                depth_coefficient=depth, dropout_rate=dropout,
                                output_activation=self.output_activation)

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[2])
        width, depth = self.knob_coefficients(knobs)
        return f"EfficientNet width {width:g}, depth {depth:g} at {h}x{w}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        w, d = self.knob_coefficients(knobs)
        rows = [[f"stage {i + 1}", s.kernel, s.expand_ratio, round_filters(s.filters_out, w),
                 round_repeats(s.repeats, d), s.strides] for i, s in enumerate(BASE_STAGES)]
        return ["stage", "kernel", "expansion", "channels", "blocks", "stride"], rows


#: Tan & Le 2019 Table 2: ImageNet top-1 (%) of B0..B7 (single crop, at their resolutions).
TOP1 = {"b0": 77.1, "b1": 79.1, "b2": 80.1, "b3": 81.6, "b4": 82.9, "b5": 83.6, "b6": 84.0,
        "b7": 84.3}

ACCURACY = tuple(
    AccuracyPoint(f"EfficientNet-{row.name.upper()}", "imagenet", TOP1[row.name],
                  PUBLISHED[row.name][1], PUBLISHED[row.name][0], row.resolution,
                  (("width", row.width), ("depth", row.depth)),
                  "Tan & Le 2019 Table 2; keras.applications.EfficientNet"
                  f"{row.name.upper()}")
    for row in SCALINGS)

FAMILY = Family("efficientnet", EfficientNetSpec, build_efficientnet,
                "EfficientNet MBConv + squeeze-excitation with compound scaling (Tan & Le 2019)",
                ranks=(3,),
                scaling=ScalingFields(width=("width_coefficient",), depth=("depth_coefficient",),
                                      resolution=("input_shape",)),
                dropout_field="dropout_rate", plan=EfficientNetPlan, recipe_style="rmsprop",
                accuracy=ACCURACY)

PRESETS = tuple(_preset(row) for row in SCALINGS)
