"""Xception (Chollet 2017): an entry flow of strided residual blocks, a middle flow of
separable-conv residual blocks and an exit flow, all depthwise-separable convolutions.

The entry-flow widths, the middle-flow width and repeats and the exit-flow widths are fields;
the ``xception`` preset is ``keras.applications.Xception`` exactly (BN epsilon 1e-3, 1x1/2
projection shortcuts, layer names as Keras; the shortcut convs and their BN layers are unnamed
in Keras and named ``blockN_shortcut`` / ``blockN_shortcut_bn`` here). Keras refuses inputs
under 71 px; the graph itself builds down to 7 px per side (its two valid 3x3 stem convs).
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.multiplier_plan import MultiplierPlan, scaled
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.specs import (ArchSpec, check_choice, check_image_input, check_positive_int)


@dataclass(frozen=True, kw_only=True)
class XceptionSpec(ArchSpec):
    """An Xception network on ``(height, width, channels)`` images.

    Attributes:
        stem_widths: Filters of the two 3x3 stem convs (32, 64).
        entry_widths: Width of each strided entry-flow block (128, 256, 728).
        middle_width: Width of the middle flow (728).
        middle_blocks: Middle-flow blocks of three separable convs (8).
        exit_widths: The exit block's two separable convs (728, 1024), then the two final
            separable convs (1536, 2048).
        output_activation: Activation of the classifier.
    """

    family = "xception"

    stem_widths: tuple[int, ...] = (32, 64)
    entry_widths: tuple[int, ...] = (128, 256, 728)
    middle_width: int = 728
    middle_blocks: int = 8
    exit_widths: tuple[int, ...] = (728, 1024, 1536, 2048)
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        for field, length in (("stem_widths", 2), ("entry_widths", None), ("exit_widths", 4)):
            values = getattr(self, field)
            if not isinstance(values, tuple) or not values or (length and len(values) != length):
                what = f"{length} positive ints" if length else "a non-empty list of positive ints"
                raise SpecError(f"{field} must be {what}. Received: {field}={values!r}")
            for i, v in enumerate(values):
                check_positive_int(f"{field}[{i}]", v)
        check_positive_int("middle_width", self.middle_width)
        check_positive_int("middle_blocks", self.middle_blocks, allow_zero=True)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def _sep_bn(g: GraphBuilder, x: str, filters: int, name: str) -> str:
    x = g.layer("separable_conv", x, name=name, filters=filters, kernel=(3, 3), strides=(1, 1),
                padding="same", dilation=(1, 1), depth_multiplier=1, use_bias=False,
                activation="linear")
    return g.batch_norm(x, name=f"{name}_bn")


def _strided_block(g: GraphBuilder, x: str, widths: tuple[int, int], block: int,
                   relu_first: bool) -> str:
    """Two separable convs, a 3x3/2 max pool, plus a 1x1/2 conv + BN shortcut."""
    p = f"block{block}"
    shortcut = g.conv(x, widths[1], 1, 2, padding="same", use_bias=False, name=f"{p}_shortcut")
    shortcut = g.batch_norm(shortcut, name=f"{p}_shortcut_bn")
    if relu_first:
        x = g.act(x, "relu", name=f"{p}_sepconv1_act")
    x = _sep_bn(g, x, widths[0], f"{p}_sepconv1")
    x = g.act(x, "relu", name=f"{p}_sepconv2_act")
    x = _sep_bn(g, x, widths[1], f"{p}_sepconv2")
    x = g.max_pool(x, 3, 2, padding="same", name=f"{p}_pool")
    return g.add([x, shortcut], name=f"{p}_add")


def build_xception(spec: XceptionSpec) -> Graph:
    """Graph of an Xception network (``keras.applications.Xception``'s layer order).

    Args:
        spec: The ``XceptionSpec``.

    Returns:
        The graph, named ``xception``.

    Raises:
        ShapeError: the input is under 7 px on a side (the valid stem convs).
    """
    g = GraphBuilder("xception")
    x = g.input(spec.input_shape)
    for i, width in enumerate(spec.stem_widths, start=1):
        x = g.conv(x, width, 3, 2 if i == 1 else 1, padding="valid", use_bias=False,
                   name=f"block1_conv{i}")
        x = g.batch_norm(x, name=f"block1_conv{i}_bn")
        x = g.act(x, "relu", name=f"block1_conv{i}_act")
    block = 2
    for width in spec.entry_widths:
        x = _strided_block(g, x, (width, width), block, relu_first=block > 2)
        block += 1
    for _ in range(spec.middle_blocks):
        p, residual = f"block{block}", x
        for c in (1, 2, 3):
            x = g.act(x, "relu", name=f"{p}_sepconv{c}_act")
            x = _sep_bn(g, x, spec.middle_width, f"{p}_sepconv{c}")
        x = g.add([x, residual], name=f"{p}_add")
        block += 1
    x = _strided_block(g, x, spec.exit_widths[:2], block, relu_first=True)
    block += 1
    for c, width in enumerate(spec.exit_widths[2:], start=1):
        x = _sep_bn(g, x, width, f"block{block}_sepconv{c}")
        x = g.act(x, "relu", name=f"block{block}_sepconv{c}_act")
    x = g.global_avg_pool(x, name="avg_pool")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


class XceptionPlan(MultiplierPlan):
    """Xception, every width scaled by a multiplier (depth fixed, as published)."""

    family = variant = "xception"
    configs = ("Xception",)
    source = "Chollet 2017, Fig. 5 (entry, middle and exit flows)"

    def build_spec(self, config: str, multiplier: float, dropout: float) -> ArchSpec:
        base = XceptionSpec(input_shape=self.task.input_shape, classes=self.task.classes)
        return base.replace(
            stem_widths=tuple(scaled(w, multiplier) for w in base.stem_widths),
            entry_widths=tuple(scaled(w, multiplier) for w in base.entry_widths),
            middle_width=scaled(base.middle_width, multiplier),
            exit_widths=tuple(scaled(w, multiplier) for w in base.exit_widths),
            output_activation=self.output_activation)


ACCURACY = (
    AccuracyPoint("Xception", "imagenet", 79.0, 8.4e9, 22.9e6, 299,
                  (("config", "Xception"), ("width", 1.0)),
                  "Chollet 2017 Table 1 (79.0 % top-1); keras.applications table; 8.4 G "
                  "multiply-adds at 299 px (Bianco et al. 2018)"),
)

FAMILY = Family("xception", XceptionSpec, build_xception,
                "Xception: residual depthwise-separable conv flows (entry, middle, exit)",
                ranks=(3,), scaling=ScalingFields(width=("stem_widths", "entry_widths",
                                                         "middle_width", "exit_widths")),
                dropout_field=None, plan=XceptionPlan, recipe_style="momentum",
                accuracy=ACCURACY)

PRESETS = (
    Preset("xception", XceptionSpec(input_shape=(299, 299, 3), classes=1000),
           "Xception (Chollet 2017) exactly as keras.applications.Xception",
           Published("keras.applications.Xception count_params(); Bianco et al. 2018 (8.4 G "
                     "multiply-adds at 299 px)", params=22_910_480, macs=8.4e9)),
)
