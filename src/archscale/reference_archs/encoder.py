"""The Transformer encoder block the ``transformer`` and ``vit`` families share (Vaswani et al.
2017; pre-norm as in ViT, Dosovitskiy et al. 2021, or post-norm as in BERT).

A block is multi-head self-attention (``width / heads`` per head, Keras
``MultiHeadAttention``: query, key and value projections with biases and an output
projection, ``4 (width^2 + width)`` params) and an MLP of ``mlp_ratio x width`` GELU units,
each with a residual connection and a LayerNormalization (before the sub-layer for ``pre``,
after the addition for ``post``), and dropout after each sub-layer when set. ``EncoderPlan`` is
the scaling plan both families' plans build on (blocks and 64-wide heads).
"""

from __future__ import annotations

from archscale.errors import SpecError
from archscale.graph import GraphBuilder
from archscale.reference_archs.scaling_plan import Knobs, Plan, clamp
from archscale.specs import check_choice, check_positive_int

#: Channels per attention head of the plans' encoders, and the most blocks and heads they use.
HEAD_WIDTH = 64
MAX_KNOB = 12

NORMS = ("pre", "post")


def check_encoder(width: int, depth: int, heads: int, mlp_ratio: int, norm: str) -> None:
    """Raise ``SpecError`` naming the field unless the encoder fields are consistent.

    Raises:
        SpecError: a non-positive field, ``width`` not divisible by ``heads`` or an unknown
            ``norm``.
    """
    for field, value in (("width", width), ("depth", depth), ("heads", heads),
                         ("mlp_ratio", mlp_ratio)):
        check_positive_int(field, value)
    if width % heads:
        raise SpecError(f"width must be a multiple of heads. Received: width={width}, "
                        f"heads={heads}")
    check_choice("norm", norm, NORMS)


def encoder_block(g: GraphBuilder, x: str, *, width: int, heads: int, mlp_ratio: int,
                  norm: str, epsilon: float, dropout: float, name: str) -> str:
    """Add one encoder block after node ``x`` (a ``(length, width)`` sequence).

    Args:
        g: The builder.
        x: Input node.
        width: Model width (the input's last axis).
        heads: Attention heads (``width / heads`` each).
        mlp_ratio: MLP hidden width over ``width``.
        norm: ``pre`` or ``post``.
        epsilon: LayerNormalization epsilon.
        dropout: Dropout rate after each sub-layer (0 = none).
        name: Prefix of the block's layer names.

    Returns:
        The block's output node.
    """
    def sublayer(inp: str, which: str) -> str:
        if which == "attn":
            return g.layer("multi_head_attention", [inp, inp], name=f"{name}_attn",
                           num_heads=heads, key_dim=width // heads, value_dim=width // heads,
                           output_dim=width, use_bias=True)
        h = g.dense(inp, mlp_ratio * width, activation="gelu", name=f"{name}_mlp1")
        if dropout:
            h = g.dropout(h, dropout, name=f"{name}_mlp_hidden_dropout")
        return g.dense(h, width, name=f"{name}_mlp2")

    for i, which in enumerate(("attn", "mlp"), start=1):
        inp = g.layer_norm(x, epsilon=epsilon, name=f"{name}_ln{i}") if norm == "pre" else x
        y = sublayer(inp, which)
        if dropout:
            y = g.dropout(y, dropout, name=f"{name}_{which}_dropout")
        x = g.add([x, y], name=f"{name}_add{i}")
        if norm == "post":
            x = g.layer_norm(x, epsilon=epsilon, name=f"{name}_ln{i}")
    return x


def pool_sequence(g: GraphBuilder, x: str, pooling: str) -> str:
    """``cls``: the first position (a cropping, then reshape); ``mean``: global average."""
    if pooling == "mean":
        return g.global_avg_pool(x, name="avg_pool")
    length, width = g.shape(x)
    first = g.layer("slice", x, name="cls_select", index=((0, 1, 1),),
                    crop=((0, length - 1),))
    return g.reshape(first, (width,), name="cls_flatten")


class EncoderPlan(Plan):
    """Scaling plan of an encoder of 64-wide heads: knobs ``(blocks, heads)``, each 1-12
    (width = 64 x heads). A family sets ``bounds`` and implements ``knobs_at``, ``spec``,
    ``describe`` and ``table``."""

    axes = ("depth", "width")

    def move_names(self) -> tuple[str, ...]:
        return ("one more block", f"width + {HEAD_WIDTH} (one more head)")

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        if knobs[index] >= MAX_KNOB:
            return None
        return tuple(k + (i == index) for i, k in enumerate(knobs))

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return (int(clamp(round(knobs[0] * depth), 1, MAX_KNOB)),
                int(clamp(round(knobs[1] * width), 1, MAX_KNOB)))
