"""Vision Transformer (Dosovitskiy et al. 2021; DeiT, Touvron et al. 2021): non-overlapping
``patch_size`` patches linearly embedded (a ``patch_size``-strided conv), a learned [class]
token and position embedding, ``depth`` pre-norm encoder blocks
(``archscale.reference_archs.encoder``, LayerNorm epsilon 1e-6, GELU MLP), a final LayerNorm,
the [class] token (or the mean of the patches) and a dense classifier.

``vit_tiny`` (width 192, 3 heads) and ``vit_small`` (width 384, 6 heads), both 12 blocks of
16x16 patches at 224 px, have exactly timm's ``vit_tiny_patch16_224`` / ``vit_small_patch16_224``
parameter counts (5,717,416 and 22,050,664; published 5.7 M and 22 M). Smaller images work
with a smaller ``patch_size`` (4 px patches on 32 px images give 64 tokens); where the side is
not a multiple of the patch size the patch embedding drops the remainder, as a valid conv does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.encoder import (EncoderPlan, check_encoder, encoder_block,
                                               pool_sequence)
from archscale.reference_archs.registry import Family, Preset, Published, ScalingFields
from archscale.reference_archs.scaling_plan import Knobs, Step, clamp
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_image_input,
                             check_positive_int)

POOLINGS = ("cls", "mean")


@dataclass(frozen=True, kw_only=True)
class ViTSpec(ArchSpec):
    """A Vision Transformer on ``(height, width, channels)`` images.

    Attributes:
        patch_size: Side of the square patches (the patch-embedding conv's kernel and stride).
        width: Model width (patch embedding size).
        depth: Encoder blocks.
        heads: Attention heads (``width`` must be a multiple).
        mlp_ratio: MLP hidden width over ``width``.
        pooling: ``cls`` (the [class] token) or ``mean`` (no class token; mean of patches).
        dropout: Dropout after each sub-layer and before the classifier (0 = none).
        output_activation: Activation of the classifier.
    """

    family = "vit"

    patch_size: int = 16
    width: int = 192
    depth: int = 12
    heads: int = 3
    mlp_ratio: int = 4
    pooling: str = "cls"
    dropout: float = 0.0
    output_activation: str = "softmax"

    def validate(self) -> None:
        check_image_input(self.family, self.input_shape)
        check_positive_int("patch_size", self.patch_size)
        if min(self.input_shape[:2]) < self.patch_size:
            raise SpecError("patch_size must be at most the image side. Received: "
                            f"patch_size={self.patch_size}, input_shape={self.input_shape!r}")
        check_encoder(self.width, self.depth, self.heads, self.mlp_ratio, "pre")
        check_choice("pooling", self.pooling, POOLINGS)
        check_fraction("dropout", self.dropout)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def build_vit(spec: ViTSpec) -> Graph:
    """Graph of a ViT: patch embedding -> [class token] -> position embedding -> blocks ->
    LayerNorm -> pool -> classifier.

    Args:
        spec: The ``ViTSpec``.

    Returns:
        The graph, named ``vit``.
    """
    g = GraphBuilder("vit")
    x = g.input(spec.input_shape)
    p = spec.patch_size
    x = g.conv(x, spec.width, p, p, padding="valid", name="patch_embedding")
    rows, cols, _ = g.shape(x)
    x = g.reshape(x, (rows * cols, spec.width), name="patches")
    if spec.pooling == "cls":
        x = g.layer("class_token", x, name="class_token")
    x = g.layer("position_embedding", x, name="position_embedding")
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name="embedding_dropout")
    for i in range(1, spec.depth + 1):
        x = encoder_block(g, x, width=spec.width, heads=spec.heads, mlp_ratio=spec.mlp_ratio,
                          norm="pre", epsilon=1e-6, dropout=spec.dropout, name=f"block{i}")
    x = g.layer_norm(x, epsilon=1e-6, name="final_ln")
    x = pool_sequence(g, x, spec.pooling)
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name="head_dropout")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


def patch_size_for(side: int) -> int:
    """16 px patches from 224 px up (14 x 14 tokens); smaller images keep about 8 x 8 tokens
    (``side // 8``, at least 2 px): 4 px patches on 32 px images."""
    return 16 if side >= 224 else max(2, min(16, side // 8))


class ViTPlan(EncoderPlan):
    """ViT with 64-wide heads and 12 blocks; knobs: width (64-768 in steps of 64, heads =
    width / 64) and blocks (ViT-Ti/S/B: 12)."""

    family = variant = "vit"

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.patch = patch_size_for(min(task.input_shape[:2]))
        self.bounds["depth"] = (1 / 3, 1.0)
        self.bounds["width"] = (1.0, 4.0)
        self.steps = [Step("vit patch size", {"side": min(task.input_shape[:2])}, self.patch,
                           "Dosovitskiy et al. 2021 (16 px patches at 224 px); Lee et al. "
                           "2021 (ViT for small datasets: 4 px patches on 32 px images)")]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(12 * d), 1, 12)), int(clamp(round(3 * w), 1, 12)))

    def knobs_for(self, point: Any) -> Knobs | None:
        if self.patch != point.get("patch_size"):
            return None
        return (point.get("depth"), point.get("width") // 64)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return ViTSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                       patch_size=self.patch, width=64 * knobs[1], depth=knobs[0],
                       heads=knobs[1], dropout=dropout,
                       output_activation=self.output_activation)

    def describe(self, knobs: Knobs) -> str:
        return (f"ViT, {self.patch} px patches, {knobs[0]} blocks, width {64 * knobs[1]}, "
                f"{knobs[1]} heads")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        return (["patch", "blocks", "width", "heads"],
                [[self.patch, knobs[0], 64 * knobs[1], knobs[1]]])


#: No ``Family.accuracy`` points: DeiT's ImageNet figures (ViT-Ti 72.2 %, ViT-S 79.8 %, Touvron
#: et al. 2021 Table 1) come from 300 epochs of RandAugment, Mixup, CutMix and repeated
#: augmentation, not the standard recipes of the family table's other points, and ViTs trained
#: from scratch trail CNNs on smaller data sets (Dosovitskiy et al. 2021 Sec. 4.2), so the family
#: choice does not offer a ViT; ask for one with ``--family vit``.
FAMILY = Family("vit", ViTSpec, build_vit,
                "Vision Transformer: patch embedding, [class] token, pre-norm encoder blocks",
                ranks=(3,), scaling=ScalingFields(width=("width",), depth=("depth",)),
                dropout_field="dropout", plan=ViTPlan, recipe_style="adam")

PRESETS = (
    Preset("vit_tiny", ViTSpec(input_shape=(224, 224, 3), classes=1000),
           "ViT-Ti/16 (Touvron et al. 2021): 12 blocks, width 192, 3 heads, 16 px patches",
           Published("Touvron et al. 2021 Table 1 (DeiT-Ti: 5.7 M params, 1.3 G FLOPs); timm "
                     "vit_tiny_patch16_224 (5,717,416)", params=5_717_416, paper_params=5.7e6,
                     macs=1.26e9, rel_tol=0.01)),
    Preset("vit_small", ViTSpec(input_shape=(224, 224, 3), classes=1000, width=384, heads=6),
           "ViT-S/16 (Touvron et al. 2021): 12 blocks, width 384, 6 heads, 16 px patches",
           Published("Touvron et al. 2021 Table 1 (DeiT-S: 22 M params, 4.6 G FLOPs); timm "
                     "vit_small_patch16_224 (22,050,664)", params=22_050_664, paper_params=22e6,
                     macs=4.6e9, rel_tol=0.01)),
)
