"""ConvNeXt family (Liu et al. 2022), mirroring ``keras.applications.ConvNeXtTiny/Small/Base``.

Four stages of ConvNeXt blocks at widths ``projection_dims`` with ``depths`` blocks each:

- pre-stem (``include_preprocessing``, RGB input only): ImageNet ``Normalization`` with fixed
  statistics (no weights);
- stem: 4x4 stride-4 conv (with bias) -> LayerNormalization(epsilon=1e-6); between stages a
  LayerNormalization -> 2x2 stride-2 conv (Keras nests both in ``Sequential`` models; here the
  layers are flat, with the same names);
- block: 7x7 depthwise conv written as a grouped ``Conv2D`` (groups = channels, with bias) ->
  LayerNormalization -> Dense(4 x C) -> GELU -> Dense(C) -> LayerScale (one weight per
  channel, init 1e-6) -> identity (Keras' ``Activation('linear')`` where the stochastic-depth
  rate is 0, as in every preset) -> residual add;
- head: global average pool -> LayerNormalization -> dense classifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, ResolutionPlan, Step, clamp
from archscale.specs import (ArchSpec, Task, check_choice, check_image_input,
                             check_positive_int, check_same_length)

LN_EPSILON = 1e-6
LAYER_SCALE_INIT = 1e-6
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_VARIANCE = ((0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2)


@dataclass(frozen=True, kw_only=True)
class ConvNeXtSpec(ArchSpec):
    """ConvNeXt on ``(height, width, channels)`` images.

    Attributes:
        depths: Blocks per stage (Tiny 3-3-9-3; Small and Base 3-3-27-3).
        projection_dims: Channels per stage (Tiny/Small 96-192-384-768; Base 128-...-1024).
        mlp_ratio: Hidden width of the block's MLP as a multiple of the channels (4).
        include_preprocessing: Start with Keras' ImageNet normalisation (RGB input only).
        model_name: Layer-name prefix (Keras' model name, ``convnext_tiny``...).
        output_activation: Activation of the classifier.
    """

    family = "convnext"

    depths: tuple[int, ...] = (3, 3, 9, 3)
    projection_dims: tuple[int, ...] = (96, 192, 384, 768)
    mlp_ratio: int = 4
    include_preprocessing: bool = True
    model_name: str = "convnext"
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        for field in ("depths", "projection_dims"):
            value = getattr(self, field)
            if not isinstance(value, tuple) or not value:
                raise SpecError(f"{field} must be a non-empty list of positive ints. "
                                f"Received: {field}={value!r}")
            for v in value:
                check_positive_int(field, v)
        check_same_length({"depths": self.depths, "projection_dims": self.projection_dims})
        check_positive_int("mlp_ratio", self.mlp_ratio)
        check_choice("include_preprocessing", self.include_preprocessing, (True, False))
        if not isinstance(self.model_name, str) or not self.model_name.isidentifier():
            raise SpecError(f"model_name must be an identifier (letters, digits, _). "
                            f"Received: model_name={self.model_name!r}")
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def _block(g: GraphBuilder, inputs: str, dim: int, mlp_ratio: int, name: str) -> str:
    """Keras ``ConvNeXtBlock`` with drop_path_rate 0 and layer scale 1e-6."""
    x = g.conv(inputs, dim, 7, groups=dim, name=f"{name}_depthwise_conv")
    x = g.layer_norm(x, epsilon=LN_EPSILON, name=f"{name}_layernorm")
    x = g.dense(x, mlp_ratio * dim, name=f"{name}_pointwise_conv_1")
    x = g.act(x, "gelu", name=f"{name}_gelu")
    x = g.dense(x, dim, name=f"{name}_pointwise_conv_2")
    x = g.layer("scale", x, name=f"{name}_layer_scale", init_values=LAYER_SCALE_INIT)
    x = g.act(x, "linear", name=f"{name}_identity")
    return g.add([inputs, x], name=f"{name}_add")


def build_convnext(spec: ConvNeXtSpec) -> Graph:
    """Graph of ConvNeXt, layer for layer as ``keras.applications.ConvNeXt*``.

    Args:
        spec: The spec.

    Returns:
        The graph: [pre-stem] -> 4x4/4 stem -> stages (downsampling between them) -> global
        average pool -> layer norm -> dense classifier.

    Raises:
        ShapeError: the input is smaller than the stem's 4x4 (or a downsampling 2x2) window.
    """
    name = spec.model_name
    g = GraphBuilder(name)
    x = g.input(spec.input_shape)
    if spec.include_preprocessing and spec.input_shape[-1] == 3:
        x = g.layer("elementwise", x, name=f"{name}_prestem_normalization", fn="normalize",
                    constants=2, mean=IMAGENET_MEAN, variance=IMAGENET_VARIANCE)
    for i, (depth, dim) in enumerate(zip(spec.depths, spec.projection_dims)):
        if i == 0:
            x = g.conv(x, dim, 4, 4, padding="valid", name=f"{name}_stem_conv")
            x = g.layer_norm(x, epsilon=LN_EPSILON, name=f"{name}_stem_layernorm")
        else:
            x = g.layer_norm(x, epsilon=LN_EPSILON,
                             name=f"{name}_downsampling_layernorm_{i - 1}")
            x = g.conv(x, dim, 2, 2, padding="valid", name=f"{name}_downsampling_conv_{i - 1}")
        for j in range(depth):
            x = _block(g, x, dim, spec.mlp_ratio, f"{name}_stage_{i}_block_{j}")
    x = g.global_avg_pool(x, name=f"{name}_head_gap")
    x = g.layer_norm(x, epsilon=LN_EPSILON, name=f"{name}_head_layernorm")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name=f"{name}_head_dense")
    return g.build(x)


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class ConvNeXtPlan(ResolutionPlan):
    """Knobs: (stage-1 width in steps of 8, third-stage blocks, resolution level). Widths
    double per stage and the other stages keep 3 blocks, as in every published ConvNeXt
    (Liu et al. 2022 Sec. 2: stage ratio 1:1:3:1, or 1:1:9:1 from Small up)."""

    family = variant = "convnext"
    axes = ("depth", "width", "resolution")
    published_resolutions = (224,)
    BASE_DIM, BASE_DEPTH = 96, 9

    def __init__(self, task: Task, max_resolution: int | None = None) -> None:
        super().__init__(task)
        self.init_resolution(task, max_resolution)
        self.bounds["width"] = (16 / self.BASE_DIM, 256 / self.BASE_DIM)
        self.bounds["depth"] = (1 / self.BASE_DEPTH, 54 / self.BASE_DEPTH)
        self.steps = [Step("convnext layout", {"stage_widths": "C, 2C, 4C, 8C",
                                               "depths": "3, 3, n, 3",
                                               "resolutions": [self.levels[0],
                                                               self.levels[-1]]},
                           "ConvNeXt-T (C=96, n=9) scaled by stage-1 width, third-stage depth "
                           "and resolution", "Liu et al. 2022 Sec. 2 and Table 1")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(w * self.BASE_DIM / QUANTUM), 2, 32)),
                int(clamp(round(d * self.BASE_DEPTH), 1, 54)), self.res_index(r))

    def knobs_for(self, point: Any) -> Knobs | None:
        level = self.level_of(point.resolution)
        dims, depths = point.get("projection_dims"), point.get("depths")
        if level is None or dims[1:] != tuple(2 ** i * dims[0] for i in (1, 2, 3)) \
                or (depths[0], depths[1], depths[3]) != (3, 3, 3):
            return None
        return (dims[0] // QUANTUM, depths[2], level)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        c = knobs[0] * QUANTUM
        return ConvNeXtSpec(input_shape=self.input_shape_at(knobs[2]),
                            classes=self.task.classes, depths=(3, 3, knobs[1], 3),
                            projection_dims=(c, 2 * c, 4 * c, 8 * c),
                            output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return (f"width + {QUANTUM}", "stage-3 block + 1", f"resolution + {QUANTUM} px")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        limits = (32, 54, len(self.levels) - 1)
        if knobs[index] >= limits[index]:
            return None
        return knobs[:index] + (knobs[index] + 1,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * width), 2, 32)),
                int(clamp(round(knobs[1] * depth), 1, 54)), knobs[2])

    def describe(self, knobs: Knobs) -> str:
        h, w, _ = self.input_shape_at(knobs[2])
        return f"ConvNeXt C={knobs[0] * QUANTUM}, depths 3-3-{knobs[1]}-3 at {h}x{w}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        c = knobs[0] * QUANTUM
        rows = [[f"stage {i + 1}", (3, 3, knobs[1], 3)[i], c * 2 ** i] for i in range(4)]
        return ["stage", "blocks", "channels"], rows


@dataclass(frozen=True)
class _Config:
    name: str
    label: str
    depths: tuple[int, ...]
    dims: tuple[int, ...]
    params: int
    paper_params: float
    macs: float
    top1: float


#: keras.applications count_params() (1000 classes) and Liu et al. 2022 Table 1 (ImageNet-1k
#: at 224 px: params, FLOPs as multiply-adds, top-1 %).
CONFIGS = (
    _Config("convnext_tiny", "ConvNeXt-T", (3, 3, 9, 3), (96, 192, 384, 768), 28_589_128,
            28.6e6, 4.5e9, 82.1),
    _Config("convnext_small", "ConvNeXt-S", (3, 3, 27, 3), (96, 192, 384, 768), 50_223_688,
            50.2e6, 8.7e9, 83.1),
    _Config("convnext_base", "ConvNeXt-B", (3, 3, 27, 3), (128, 256, 512, 1024), 88_591_464,
            88.6e6, 15.4e9, 83.8),
)

ACCURACY = tuple(
    AccuracyPoint(c.label, "imagenet", c.top1, c.macs, c.paper_params, 224,
                  (("depths", c.depths), ("projection_dims", c.dims)),
                  "Liu et al. 2022 Table 1 (ImageNet-1k, 224 px)")
    for c in CONFIGS)

FAMILY = Family("convnext", ConvNeXtSpec, build_convnext,
                "ConvNeXt: 7x7 depthwise, layer norm, inverted MLP, LayerScale "
                "(Liu et al. 2022)",
                ranks=(3,),
                scaling=ScalingFields(width=("projection_dims",), depth=("depths",),
                                      resolution=("input_shape",)),
                dropout_field=None, plan=ConvNeXtPlan, recipe_style="adam",
                accuracy=ACCURACY)

PRESETS = tuple(
    Preset(c.name, ConvNeXtSpec(input_shape=(224, 224, 3), classes=1000, depths=c.depths,
                                projection_dims=c.dims, model_name=c.name),
           f"{c.label} (Liu et al. 2022; keras.applications.ConvNeXt"
           f"{c.name.split('_')[1].capitalize()}): depths {'-'.join(map(str, c.depths))}, "
           f"widths {'-'.join(map(str, c.dims))}, 224x224, 1000 classes",
           Published(f"keras.applications.ConvNeXt{c.name.split('_')[1].capitalize()} "
                     "count_params(); Liu et al. 2022 Table 1", params=c.params,
                     paper_params=c.paper_params, macs=c.macs))
    for c in CONFIGS)
