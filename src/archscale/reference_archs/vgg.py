"""VGG (Simonyan & Zisserman 2015): stages of 3x3 same-padded convs (bias, ReLU), each closed by
a 2x2/2 max pool, then flatten and fully connected layers.

Stage widths, convs per stage and the dense widths are fields; ``vgg16`` and ``vgg19`` are
``keras.applications.VGG16`` / ``VGG19`` exactly (configurations D and E, flatten head with
two 4096-wide ReLU layers, no dropout, layer names as Keras). The flatten head makes the
parameter count depend on the input size (at 224 px fc1 alone holds 102.8 M weights);
``pooling="global_avg"`` replaces the flatten for inputs of any size. Each stage halves the
side, so the input needs at least ``2 ** stages`` px per side.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.multiplier_plan import MultiplierPlan, scaled
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.specs import ArchSpec, check_choice, check_image_input, check_positive_int

POOLINGS = ("flatten", "global_avg")

#: Convs per stage of the published configurations (Simonyan & Zisserman 2015, Table 1).
VGG_CONVS: dict[str, tuple[int, ...]] = {
    "VGG-11": (1, 1, 2, 2, 2),
    "VGG-13": (2, 2, 2, 2, 2),
    "VGG-16": (2, 2, 3, 3, 3),
    "VGG-19": (2, 2, 4, 4, 4),
}
VGG_WIDTHS = (64, 128, 256, 512, 512)


@dataclass(frozen=True, kw_only=True)
class VGGSpec(ArchSpec):
    """A VGG network on ``(height, width, channels)`` images.

    Attributes:
        stage_convs: 3x3 convs per stage (VGG-16: 2/2/3/3/3).
        stage_widths: Filters of the convs of each stage (64/128/256/512/512).
        dense_widths: Hidden fully connected layers of the head (4096, 4096).
        pooling: ``flatten`` (the paper's and Keras' head) or ``global_avg``.
        output_activation: Activation of the classifier.
    """

    family = "vgg"

    stage_convs: tuple[int, ...] = (2, 2, 3, 3, 3)
    stage_widths: tuple[int, ...] = VGG_WIDTHS
    dense_widths: tuple[int, ...] = (4096, 4096)
    pooling: str = "flatten"
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        for field in ("stage_convs", "stage_widths", "dense_widths"):
            values = getattr(self, field)
            if not isinstance(values, tuple) or (not values and field != "dense_widths"):
                raise SpecError(f"{field} must be a list of positive ints. "
                                f"Received: {field}={values!r}")
            for i, v in enumerate(values):
                check_positive_int(f"{field}[{i}]", v)
        if len(self.stage_convs) != len(self.stage_widths):
            raise SpecError("stage_convs and stage_widths must have the same length. "
                            f"Received: len(stage_convs)={len(self.stage_convs)}, "
                            f"len(stage_widths)={len(self.stage_widths)}")
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def build_vgg(spec: VGGSpec) -> Graph:
    """Graph of a VGG: (3x3 conv + ReLU) x n and a 2x2/2 max pool per stage, then flatten (or
    global average pooling), ReLU dense layers and the classifier.

    Args:
        spec: The ``VGGSpec``.

    Returns:
        The graph, named ``vgg``.

    Raises:
        ShapeError: the input is smaller than ``2 ** stages`` px on a side (the message names
            the pool that would reach 0 px).
    """
    g = GraphBuilder("vgg")
    x = g.input(spec.input_shape)
    for s, (convs, width) in enumerate(zip(spec.stage_convs, spec.stage_widths), start=1):
        for c in range(1, convs + 1):
            x = g.conv(x, width, 3, padding="same", activation="relu",
                       name=f"block{s}_conv{c}")
        x = g.max_pool(x, 2, 2, name=f"block{s}_pool")
    if spec.pooling == "flatten":
        x = g.flatten(x, name="flatten")
    else:
        x = g.global_avg_pool(x, name="avg_pool")
    for i, width in enumerate(spec.dense_widths, start=1):
        x = g.dense(x, width, activation="relu", name=f"fc{i}")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


class VGGPlan(MultiplierPlan):
    """VGG-16 (or the configuration an anchor names), every conv and dense width scaled by a
    multiplier."""

    family = variant = "vgg"
    configs = ("VGG-16", "VGG-19", "VGG-11", "VGG-13")
    source = "Simonyan & Zisserman 2015, Table 1 (configurations A, B, D, E)"

    def build_spec(self, config: str, multiplier: float, dropout: float) -> ArchSpec:
        return VGGSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                       stage_convs=VGG_CONVS[config],
                       stage_widths=tuple(scaled(w, multiplier) for w in VGG_WIDTHS),
                       dense_widths=(scaled(4096, multiplier),) * 2,
                       output_activation=self.output_activation)


_KERAS = "keras.applications table (top-1 71.3 %)"
ACCURACY = (
    AccuracyPoint("VGG-16", "imagenet", 71.3, 15.47e9, 138.4e6, 224,
                  (("config", "VGG-16"), ("width", 1.0)),
                  f"Simonyan & Zisserman 2015; {_KERAS}; torchvision (15.47 G multiply-adds)"),
    AccuracyPoint("VGG-19", "imagenet", 71.3, 19.63e9, 143.7e6, 224,
                  (("config", "VGG-19"), ("width", 1.0)),
                  f"Simonyan & Zisserman 2015; {_KERAS}; torchvision (19.63 G multiply-adds)"),
)

FAMILY = Family("vgg", VGGSpec, build_vgg,
                "VGG: plain stacks of 3x3 convs with max pools and a fully connected head",
                ranks=(3,), scaling=ScalingFields(width=("stage_widths", "dense_widths")),
                dropout_field=None, plan=VGGPlan, recipe_style="momentum", accuracy=ACCURACY)

PRESETS = (
    Preset("vgg16", VGGSpec(input_shape=(224, 224, 3), classes=1000,
                            stage_convs=VGG_CONVS["VGG-16"]),
           "VGG-16 (configuration D, Simonyan & Zisserman 2015) exactly as "
           "keras.applications.VGG16",
           Published("keras.applications.VGG16 count_params(); torchvision (15.47 G "
                     "multiply-adds)", params=138_357_544, macs=15.47e9, rel_tol=0.01)),
    Preset("vgg19", VGGSpec(input_shape=(224, 224, 3), classes=1000,
                            stage_convs=VGG_CONVS["VGG-19"]),
           "VGG-19 (configuration E, Simonyan & Zisserman 2015) exactly as "
           "keras.applications.VGG19",
           Published("keras.applications.VGG19 count_params(); torchvision (19.63 G "
                     "multiply-adds)", params=143_667_240, macs=19.63e9, rel_tol=0.01)),
)
