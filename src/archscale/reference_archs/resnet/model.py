"""ResNet spec and build function: one ``ResNetSpec`` and one ``build_resnet`` for every variant.

See the package docstring (``archscale.reference_archs.resnet``) for the layouts followed.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.specs import ArchSpec, check_choice, check_positive_int, check_positive_number

BLOCKS = ("basic", "bottleneck")
VERSIONS = ("v1", "v1.5", "v2")
STEMS = ("imagenet", "cifar")
SHORTCUTS = ("projection", "zero_pad")

#: Output channels of a bottleneck block are ``EXPANSION x`` its inner width.
EXPANSION = 4

#: Keras Applications' BatchNormalization epsilon for ResNet.
KERAS_BN_EPSILON = 1.001e-5


@dataclass(frozen=True, kw_only=True)
class ResNetSpec(ArchSpec):
    """A residual network.

    Attributes:
        block: ``basic`` (two 3x3 convs; output = width) or ``bottleneck`` (1x1, 3x3, 1x1;
            output = 4 x width).
        stage_blocks: Number of residual blocks in each stage.
        stage_widths: Inner width of each stage (the 3x3 convs' filters). A bottleneck stage
            outputs ``4 x`` this many channels, a basic stage exactly this many.
        stage_strides: Stride of each stage, or ``None`` for the standard pattern. v1/v1.5 apply
            it in the stage's first block, v2 in its last block (Keras ResNetV2 layout). The
            default is ``(1, 2, ..., 2)`` for v1/v1.5 and ``(2, ..., 2, 1)`` for v2: both
            downsample by 2 between consecutive stages.
        stem: ``imagenet`` (ZeroPadding 3, 7x7/2 conv, BN, relu, ZeroPadding 1, 3x3/2 max pool)
            or ``cifar`` (3x3 conv, BN, relu; no pool). In v2 the stem has no BN/relu (the first
            block pre-activates).
        stem_width: Filters of the stem conv (64 for ImageNet ResNets, 16 for CIFAR ones).
        version: ``v1`` (post-activation; bottleneck stride in the first 1x1, as Keras
            ``ResNet50``), ``v1.5`` (stride in the bottleneck's 3x3, as torchvision) or ``v2``
            (pre-activation, as Keras ``ResNet50V2``). Basic blocks stride their first 3x3 in
            every version, so v1 and v1.5 basic networks are identical.
        conv_bias: ``True`` = Keras Applications layout: in v1/v1.5 every conv has a bias; in v2
            only the convs *not* followed by BatchNormalization (stem conv, shortcut conv, last
            conv of each block) have one. ``False`` = no conv has a bias (torchvision).
        shortcut: ``projection`` (1x1 conv [+ BN in v1/v1.5] whenever the channels change, and in
            v1/v1.5 also when the stride is not 1; v2 uses ``MaxPooling(1, stride)`` when only
            the stride changes, as Keras does) or ``zero_pad`` (He et al. 2015 option A: a
            parameter-free ``MaxPooling(1, stride)`` subsampling plus zero channel padding;
            widths must then never decrease).
        bn_epsilon: Epsilon of every BatchNormalization (Keras ResNet uses 1.001e-5).
        output_activation: Activation of the classifier.
    """

    family = "resnet"

    block: str = "bottleneck"
    stage_blocks: tuple[int, ...] = (3, 4, 6, 3)
    stage_widths: tuple[int, ...] = (64, 128, 256, 512)
    stage_strides: tuple[int, ...] | None = None
    stem: str = "imagenet"
    stem_width: int = 64
    version: str = "v1"
    conv_bias: bool = True
    shortcut: str = "projection"
    bn_epsilon: float = KERAS_BN_EPSILON
    output_activation: str = "softmax"

    def validate(self) -> None:
        if len(self.input_shape) not in (2, 3):
            raise SpecError("input_shape must be (length, channels) or (height, width, "
                            "channels) for family 'resnet'. "
                            f"Received: input_shape={self.input_shape!r}")
        check_choice("block", self.block, BLOCKS)
        check_choice("version", self.version, VERSIONS)
        check_choice("stem", self.stem, STEMS)
        check_choice("shortcut", self.shortcut, SHORTCUTS)
        check_choice("conv_bias", self.conv_bias, (True, False))
        check_choice("output_activation", self.output_activation, ACTIVATIONS)
        check_positive_int("stem_width", self.stem_width)
        check_positive_number("bn_epsilon", self.bn_epsilon)
        _check_int_list("stage_blocks", self.stage_blocks, None)
        n = len(self.stage_blocks)
        _check_int_list("stage_widths", self.stage_widths, n)
        if self.stage_strides is not None:
            _check_int_list("stage_strides", self.stage_strides, n)
        if self.shortcut == "zero_pad":
            _check_non_decreasing(self)

    def strides(self) -> tuple[int, ...]:
        """The stride of each stage (``stage_strides`` or the version's default pattern)."""
        if self.stage_strides is not None:
            return self.stage_strides
        n = len(self.stage_blocks)
        if self.version == "v2":
            return (2,) * (n - 1) + (1,)
        return (1,) + (2,) * (n - 1)

    def output_widths(self) -> tuple[int, ...]:
        """Channels each stage outputs (``4 x`` the inner width for bottleneck blocks)."""
        factor = EXPANSION if self.block == "bottleneck" else 1
        return tuple(factor * w for w in self.stage_widths)


def _check_int_list(field: str, values: object, length: int | None) -> None:
    """Raise ``SpecError`` unless ``values`` is a non-empty tuple of positive ints (of
    ``length`` entries when given)."""
    if not isinstance(values, tuple) or not values:
        raise SpecError(f"{field} must be a non-empty list of positive ints, one per stage. "
                        f"Received: {field}={values!r}")
    for i, v in enumerate(values):
        check_positive_int(f"{field}[{i}]", v)
    if length is not None and len(values) != length:
        raise SpecError(f"{field} must have one entry per stage ({length}, as stage_blocks). "
                        f"Received: {field}={values!r}")


def _check_non_decreasing(spec: ResNetSpec) -> None:
    """Option-A shortcuts can only add channels: raise ``SpecError`` if a stage narrows."""
    channels = (spec.stem_width,) + spec.output_widths()
    if any(after < before for before, after in zip(channels, channels[1:])):
        raise SpecError(
            "shortcut='zero_pad' pads channels with zeros, so the stem width and the stage "
            f"output widths {channels} must never decrease. Received: "
            f"stem_width={spec.stem_width}, stage_widths={spec.stage_widths}, "
            f"block={spec.block!r}")


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockPlan:
    """One residual block: its name prefix, inner width, output channels and stride."""

    name: str
    width: int
    out: int
    stride: int


def plan_blocks(spec: ResNetSpec) -> tuple[BlockPlan, ...]:
    """Every block of ``spec`` in order, named ``conv{stage + 2}_block{index}`` as in Keras.

    Args:
        spec: The ResNet spec.

    Returns:
        One ``BlockPlan`` per residual block; the stage stride sits on the first block for
        v1/v1.5 and on the last block for v2.
    """
    plans = []
    stages = zip(spec.stage_blocks, spec.stage_widths, spec.output_widths(), spec.strides())
    for s, (blocks, width, out, stride) in enumerate(stages):
        strided = blocks - 1 if spec.version == "v2" else 0
        for b in range(blocks):
            plans.append(BlockPlan(f"conv{s + 2}_block{b + 1}", width, out,
                                   stride if b == strided else 1))
    return tuple(plans)


def _conv_bn(g: GraphBuilder, x: str, spec: ResNetSpec, filters: int, kernel: int, stride: int,
             name: str, *, relu: bool) -> str:
    """v1 unit: conv (bias when ``conv_bias``) -> BN [-> relu], Keras names ``name_conv/...``."""
    x = g.conv(x, filters, kernel, stride, use_bias=spec.conv_bias, name=f"{name}_conv")
    x = g.batch_norm(x, epsilon=spec.bn_epsilon, name=f"{name}_bn")
    return g.act(x, "relu", name=f"{name}_relu") if relu else x


def _stem(g: GraphBuilder, x: str, spec: ResNetSpec) -> str:
    """The ImageNet or CIFAR stem; v2 has no BN/relu after the stem conv (pre-activation).

    The stem conv has a bias when ``conv_bias``: in v1 every conv has one, in v2 the stem conv
    is not followed by BN.
    """
    if spec.stem == "imagenet":
        x = g.zero_pad(x, 3, name="conv1_pad")
        x = g.conv(x, spec.stem_width, 7, 2, padding="valid", use_bias=spec.conv_bias,
                   name="conv1_conv")
    else:
        x = g.conv(x, spec.stem_width, 3, 1, use_bias=spec.conv_bias, name="conv1_conv")
    if spec.version != "v2":
        x = g.batch_norm(x, epsilon=spec.bn_epsilon, name="conv1_bn")
        x = g.act(x, "relu", name="conv1_relu")
    if spec.stem == "imagenet":
        x = g.zero_pad(x, 1, name="pool1_pad")
        x = g.max_pool(x, 3, 2, name="pool1_pool")
    return x


def _zero_pad_shortcut(g: GraphBuilder, x: str, blk: BlockPlan) -> str:
    """Option A: ``MaxPooling(1, stride)`` subsampling, then zeros split around the channels."""
    if blk.stride != 1:
        x = g.max_pool(x, 1, blk.stride, name=f"{blk.name}_0_pool")
    extra = blk.out - g.shape(x)[-1]
    if extra:
        x = g.channel_pad(x, extra // 2, extra - extra // 2, name=f"{blk.name}_0_pad")
    return x


def _shortcut_v1(g: GraphBuilder, x: str, spec: ResNetSpec, blk: BlockPlan) -> str:
    """v1/v1.5 shortcut: identity, option A, or 1x1 conv + BN (``name_0_conv``/``_0_bn``)."""
    if g.shape(x)[-1] == blk.out and blk.stride == 1:
        return x
    if spec.shortcut == "zero_pad":
        return _zero_pad_shortcut(g, x, blk)
    return _conv_bn(g, x, spec, blk.out, 1, blk.stride, f"{blk.name}_0", relu=False)


def _block_v1(g: GraphBuilder, x: str, spec: ResNetSpec, blk: BlockPlan) -> str:
    """Post-activation block (v1/v1.5): residual branch, add, relu."""
    shortcut = _shortcut_v1(g, x, spec, blk)
    n = blk.name
    if spec.block == "basic":
        y = _conv_bn(g, x, spec, blk.width, 3, blk.stride, f"{n}_1", relu=True)
        y = _conv_bn(g, y, spec, blk.out, 3, 1, f"{n}_2", relu=False)
    else:
        s1, s3 = (blk.stride, 1) if spec.version == "v1" else (1, blk.stride)
        y = _conv_bn(g, x, spec, blk.width, 1, s1, f"{n}_1", relu=True)
        y = _conv_bn(g, y, spec, blk.width, 3, s3, f"{n}_2", relu=True)
        y = _conv_bn(g, y, spec, blk.out, 1, 1, f"{n}_3", relu=False)
    y = g.add([shortcut, y], name=f"{n}_add")
    return g.act(y, "relu", name=f"{n}_out")


def _shortcut_v2(g: GraphBuilder, x: str, preact: str, spec: ResNetSpec, blk: BlockPlan) -> str:
    """v2 shortcut: 1x1 conv on the pre-activation when the channels change, else the block
    input, subsampled by ``MaxPooling(1, stride)`` when strided (Keras ResNetV2)."""
    if spec.shortcut == "zero_pad":
        return _zero_pad_shortcut(g, x, blk)
    if g.shape(x)[-1] != blk.out:
        return g.conv(preact, blk.out, 1, blk.stride, use_bias=spec.conv_bias,
                      name=f"{blk.name}_0_conv")
    if blk.stride != 1:
        return g.max_pool(x, 1, blk.stride, name=f"{blk.name}_0_pool")
    return x


def _bn_relu(g: GraphBuilder, x: str, spec: ResNetSpec, name: str) -> str:
    """BatchNormalization then relu, named ``name_bn`` / ``name_relu``."""
    x = g.batch_norm(x, epsilon=spec.bn_epsilon, name=f"{name}_bn")
    return g.act(x, "relu", name=f"{name}_relu")


def _block_v2(g: GraphBuilder, x: str, spec: ResNetSpec, blk: BlockPlan) -> str:
    """Pre-activation block (v2): BN, relu, residual branch, add (no relu after the add).

    Convs followed by BN never have a bias; the last conv of the branch has one when
    ``conv_bias``. The strided 3x3 of a bottleneck uses explicit ZeroPadding(1) and ``valid``
    padding, as Keras ResNetV2 does.
    """
    n = blk.name
    preact = _bn_relu(g, x, spec, f"{n}_preact")
    shortcut = _shortcut_v2(g, x, preact, spec, blk)
    if spec.block == "basic":
        y = g.conv(preact, blk.width, 3, blk.stride, use_bias=False, name=f"{n}_1_conv")
        y = _bn_relu(g, y, spec, f"{n}_1")
        y = g.conv(y, blk.out, 3, 1, use_bias=spec.conv_bias, name=f"{n}_2_conv")
    else:
        y = g.conv(preact, blk.width, 1, 1, use_bias=False, name=f"{n}_1_conv")
        y = _bn_relu(g, y, spec, f"{n}_1")
        y = g.zero_pad(y, 1, name=f"{n}_2_pad")
        y = g.conv(y, blk.width, 3, blk.stride, padding="valid", use_bias=False,
                   name=f"{n}_2_conv")
        y = _bn_relu(g, y, spec, f"{n}_2")
        y = g.conv(y, blk.out, 1, 1, use_bias=spec.conv_bias, name=f"{n}_3_conv")
    return g.add([shortcut, y], name=f"{n}_out")


def build_resnet(spec: ResNetSpec) -> Graph:
    """Graph of a ResNet: stem -> residual stages -> [post BN, relu (v2)] -> avg pool -> dense.

    Args:
        spec: The ResNet spec.

    Returns:
        The graph, with Keras Applications layer names.

    Raises:
        ShapeError: the input is too small for a layer (cannot happen with the standard stems,
            whose padding keeps every size >= 1, but guarded by the graph builder).
    """
    g = GraphBuilder("resnet")
    x = _stem(g, g.input(spec.input_shape), spec)
    block_fn = _block_v2 if spec.version == "v2" else _block_v1
    for blk in plan_blocks(spec):
        x = block_fn(g, x, spec, blk)
    if spec.version == "v2":
        x = _bn_relu(g, x, spec, "post")
    x = g.global_avg_pool(x, name="avg_pool")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)
