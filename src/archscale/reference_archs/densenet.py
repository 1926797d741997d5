"""DenseNet (Huang et al. 2017): dense blocks of BN-ReLU-1x1-BN-ReLU-3x3 units whose outputs
are concatenated onto their input, with compressing transitions between blocks.

The growth rate, the block sizes, the stem width, the bottleneck factor and the transition
compression are fields; the presets are the three ``keras.applications`` DenseNets exactly
(growth rate 32, stem 64, bottleneck 4 x growth, compression 0.5, BN epsilon 1.001e-5, layer
names as Keras). Inputs of at least 32 px per side build (Keras' minimum); smaller ones raise
``ShapeError`` naming the transition pool that would reach 0 px.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.multiplier_plan import MultiplierPlan, scaled
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.specs import (ArchSpec, check_choice, check_fraction, check_image_input,
                             check_positive_int)

_EPS = 1.001e-5

#: Block sizes of the published depths (Huang et al. 2017, Table 1).
DENSENET_BLOCKS: dict[str, tuple[int, ...]] = {
    "DenseNet-121": (6, 12, 24, 16),
    "DenseNet-169": (6, 12, 32, 32),
    "DenseNet-201": (6, 12, 48, 32),
}


@dataclass(frozen=True, kw_only=True)
class DenseNetSpec(ArchSpec):
    """A DenseNet-BC on ``(height, width, channels)`` images.

    Attributes:
        growth_rate: Channels each dense unit adds (``k``; 32 in the ImageNet models).
        block_sizes: Dense units per block (121: 6/12/24/16).
        stem_width: Filters of the 7x7/2 stem conv (``2k`` = 64).
        bottleneck: The 1x1 conv of a unit has ``bottleneck x growth_rate`` filters (4).
        compression: A transition keeps ``int(channels x compression)`` channels (0.5).
        output_activation: Activation of the classifier.
    """

    family = "densenet"

    growth_rate: int = 32
    block_sizes: tuple[int, ...] = (6, 12, 24, 16)
    stem_width: int = 64
    bottleneck: int = 4
    compression: float = 0.5
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_positive_int("growth_rate", self.growth_rate)
        check_positive_int("stem_width", self.stem_width)
        check_positive_int("bottleneck", self.bottleneck)
        if not isinstance(self.block_sizes, tuple) or not self.block_sizes:
            raise SpecError("block_sizes must be a non-empty list of positive ints. "
                            f"Received: block_sizes={self.block_sizes!r}")
        for i, n in enumerate(self.block_sizes):
            check_positive_int(f"block_sizes[{i}]", n)
        check_fraction("compression", self.compression, high_inclusive=True)
        if self.compression == 0:
            raise SpecError("compression must be in (0, 1]. Received: compression=0")
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def _bn_relu(g: GraphBuilder, x: str, name: str) -> str:
    x = g.batch_norm(x, epsilon=_EPS, name=f"{name}_bn")
    return g.act(x, "relu", name=f"{name}_relu")


def _dense_unit(g: GraphBuilder, spec: DenseNetSpec, x: str, name: str) -> str:
    y = _bn_relu(g, x, f"{name}_0")
    y = g.conv(y, spec.bottleneck * spec.growth_rate, 1, use_bias=False, name=f"{name}_1_conv")
    y = _bn_relu(g, y, f"{name}_1")
    y = g.conv(y, spec.growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")
    return g.concat([x, y], name=f"{name}_concat")


def _transition(g: GraphBuilder, spec: DenseNetSpec, x: str, name: str) -> str:
    x = _bn_relu(g, x, name)
    filters = max(1, int(g.shape(x)[-1] * spec.compression))
    x = g.conv(x, filters, 1, use_bias=False, name=f"{name}_conv")
    return g.avg_pool(x, 2, 2, name=f"{name}_pool")


def build_densenet(spec: DenseNetSpec) -> Graph:
    """Graph of a DenseNet: 7x7/2 stem, 3x3/2 max pool, dense blocks with transitions,
    BN-ReLU, global average pooling, dense classifier (``keras.applications.DenseNet``).

    Args:
        spec: The ``DenseNetSpec``.

    Returns:
        The graph, named ``densenet``.
    """
    g = GraphBuilder("densenet")
    x = g.input(spec.input_shape)
    x = g.zero_pad(x, 3, name="zero_padding2d")
    x = g.conv(x, spec.stem_width, 7, 2, padding="valid", use_bias=False, name="conv1_conv")
    x = _bn_relu(g, x, "conv1")
    x = g.zero_pad(x, 1, name="zero_padding2d_1")
    x = g.max_pool(x, 3, 2, name="pool1")
    for b, units in enumerate(spec.block_sizes, start=2):
        for i in range(1, units + 1):
            x = _dense_unit(g, spec, x, f"conv{b}_block{i}")
        if b - 1 < len(spec.block_sizes):
            x = _transition(g, spec, x, f"pool{b}")
    x = g.batch_norm(x, epsilon=_EPS, name="bn")
    x = g.act(x, "relu", name="relu")
    x = g.global_avg_pool(x, name="avg_pool")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


class DenseNetPlan(MultiplierPlan):
    """DenseNet-121 (or the published depth an anchor names), width scaled by a multiplier on
    the growth rate and the stem."""

    family = variant = "densenet"
    configs = tuple(DENSENET_BLOCKS)
    source = "Huang et al. 2017, Table 1 (DenseNet-BC, k = 32)"

    def build_spec(self, config: str, multiplier: float, dropout: float) -> ArchSpec:
        return DenseNetSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                            block_sizes=DENSENET_BLOCKS[config],
                            growth_rate=scaled(32, multiplier), stem_width=scaled(64, multiplier),
                            output_activation=self.output_activation)


_KERAS = "keras.applications table (top-1, params)"
ACCURACY = (
    AccuracyPoint("DenseNet-121", "imagenet", 75.0, 2.83e9, 8.06e6, 224,
                  (("config", "DenseNet-121"), ("width", 1.0)),
                  f"Huang et al. 2017; {_KERAS}: 75.0 %"),
    AccuracyPoint("DenseNet-169", "imagenet", 76.2, 3.36e9, 14.3e6, 224,
                  (("config", "DenseNet-169"), ("width", 1.0)),
                  f"Huang et al. 2017; {_KERAS}: 76.2 %"),
    AccuracyPoint("DenseNet-201", "imagenet", 77.3, 4.29e9, 20.2e6, 224,
                  (("config", "DenseNet-201"), ("width", 1.0)),
                  f"Huang et al. 2017; {_KERAS}: 77.3 %"),
)

FAMILY = Family("densenet", DenseNetSpec, build_densenet,
                "DenseNet-BC: dense blocks (concatenated growth) with compressing transitions",
                ranks=(3,), scaling=ScalingFields(width=("growth_rate", "stem_width")),
                dropout_field=None, plan=DenseNetPlan, recipe_style="momentum",
                accuracy=ACCURACY)


def _preset(depth: int, params: int, macs: float) -> Preset:
    config = f"DenseNet-{depth}"
    return Preset(f"densenet{depth}",
                  DenseNetSpec(input_shape=(224, 224, 3), classes=1000,
                               block_sizes=DENSENET_BLOCKS[config]),
                  f"{config} (Huang et al. 2017) exactly as keras.applications.DenseNet{depth}",
                  Published(f"keras.applications.DenseNet{depth} count_params(); Huang et al. "
                            f"2017 ({macs / 1e9:g} G multiply-adds, torchvision)",
                            params=params, macs=macs))


PRESETS = (
    _preset(121, 8_062_504, 2.83e9),
    _preset(169, 14_307_880, 3.36e9),
    _preset(201, 20_242_984, 4.29e9),
)
