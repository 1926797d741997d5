"""Inception spec and build function: ``InceptionSpec`` and ``build_inception`` walking a table.

See the package docstring (``archscale.reference_archs.inception``) for the field semantics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.inception.resnet_v2 import RESNET_V2, ResidualModule
from archscale.reference_archs.inception.tables import (ARCHITECTURES, Branch, ConvRow, Item,
                                                        PoolRow)
from archscale.specs import (
    ArchSpec,
    check_choice,
    check_fraction,
    check_image_input,
    check_positive_number,
)

VERSIONS = ("v1", "v3", "resnet_v2")

#: Every version's layer table (Inception-ResNet-v2 has its own module).
_ARCHITECTURES = {**ARCHITECTURES, "resnet_v2": RESNET_V2}

# ---------------------------------------------------------------------------------------------
# Spec
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InceptionSpec(ArchSpec):
    """An Inception network (GoogLeNet, Inception v3 or Inception-ResNet-v2) on ``(height,
    width, channels)`` images.

    Attributes:
        version: ``"v1"`` (GoogLeNet, Szegedy 2014 Table 1), ``"v3"`` (Keras InceptionV3) or
            ``"resnet_v2"`` (Keras InceptionResNetV2).
        width_multiplier: Scales every conv's filters (rounded half-up, at least 1).
        batch_norm: Conv (no bias) + BatchNormalization(scale=False) + ReLU when True;
            Conv (bias, ReLU) when False.
        dropout: Dropout rate before the classifier (0 = none).
        output_activation: Activation of the classifier.
    """

    family = "inception"

    version: str = "v3"
    width_multiplier: float = 1.0
    batch_norm: bool = True
    dropout: float = 0.0
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_choice("version", self.version, VERSIONS)
        check_positive_number("width_multiplier", self.width_multiplier)
        check_choice("batch_norm", self.batch_norm, (True, False))
        check_fraction("dropout", self.dropout)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def scale_filters(filters: int, multiplier: float) -> int:
    """``max(1, round_half_up(filters * multiplier))``.

    Args:
        filters: Table filter count.
        multiplier: ``InceptionSpec.width_multiplier``.

    Returns:
        The scaled filter count (unchanged at multiplier 1.0).
    """
    return max(1, math.floor(filters * multiplier + 0.5))


def _conv_unit(g: GraphBuilder, spec: InceptionSpec, row: ConvRow, x: str) -> str:
    """Conv [+ BN(scale=False)] + ReLU; returns the unit's output node."""
    filters = scale_filters(row.filters, spec.width_multiplier)
    if not spec.batch_norm:
        return g.conv(x, filters, row.kernel, row.strides, padding=row.padding,
                      activation="relu", name=row.name)
    x = g.conv(x, filters, row.kernel, row.strides, padding=row.padding, use_bias=False,
               name=f"{row.name}_conv")
    x = g.batch_norm(x, scale=False, name=f"{row.name}_bn")
    return g.act(x, "relu", name=row.name)


def _pool(g: GraphBuilder, row: PoolRow, x: str) -> str:
    pool = g.max_pool if row.kind == "max" else g.avg_pool
    return pool(x, row.size, row.strides, padding=row.padding, name=row.name)


def _branch(g: GraphBuilder, spec: InceptionSpec, branch: Branch, x: str) -> str:
    for layer in branch.layers:
        x = _apply(g, spec, layer, x)
    if branch.split:
        parts = [_conv_unit(g, spec, row, x) for row in branch.split]
        x = g.concat(parts, name=branch.split_name)
    return x


def _apply(g: GraphBuilder, spec: InceptionSpec, item: Item | ResidualModule, x: str) -> str:
    """Add one table item (conv unit, pool or module) after node ``x``."""
    if isinstance(item, ConvRow):
        return _conv_unit(g, spec, item, x)
    if isinstance(item, PoolRow):
        return _pool(g, item, x)
    outputs = [_branch(g, spec, branch, x) for branch in item.branches]
    if isinstance(item, ResidualModule):
        return _residual(g, item, x, g.concat(outputs, name=f"{item.name}_mixed"))
    return g.concat(outputs, name=item.name)


def _residual(g: GraphBuilder, item: ResidualModule, x: str, mixed: str) -> str:
    """Inception-ResNet: biased 1x1 projection to ``x``'s width, ``x + scale * up``, ReLU."""
    up = g.conv(mixed, g.shape(x)[-1], 1, name=f"{item.name}_conv")
    out = g.layer("elementwise", [x, up], name=item.name, fn="scaled_add", constants=1,
                  scale=item.scale)
    if item.activation is None:
        return out
    return g.act(out, item.activation, name=f"{item.name}_ac")


def build_inception(spec: InceptionSpec) -> Graph:
    """Graph of an Inception network: stem -> modules/pools -> global avg pool -> [dropout] ->
    dense.

    Args:
        spec: The ``InceptionSpec``.

    Returns:
        The graph (named ``googlenet``, ``inception_v3`` or ``inception_resnet_v2``).

    Raises:
        ShapeError: the input is too small: a valid conv or pool would reach size <= 0 (the
            message names that layer; Inception v3 and Inception-ResNet-v2 need at least
            75x75).
    """
    arch = _ARCHITECTURES[spec.version]
    g = GraphBuilder(arch.graph_name)
    x = g.input(spec.input_shape)
    for item in arch.stem + arch.body:
        x = _apply(g, spec, item, x)
    x = g.global_avg_pool(x, name="avg_pool")
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name="dropout")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)
