"""Transformer encoder for token or numeric sequences (Vaswani et al. 2017; BERT, Devlin et
al. 2019): a front end to ``width`` (an Embedding of ``vocab`` token IDs, or a Dense input
projection of numeric channels), a learned position embedding, ``depth`` encoder blocks
(``archscale.reference_archs.encoder``), pooling (``mean`` over positions, or the first
position, ``cls``) and a dense classifier.

The ``transformer_tiny`` preset is a small encoder for numeric sequences of 128 steps x 16
channels: width 128, 2 blocks of 2 heads, MLP ratio 4, pre-norm, mean pooling, epsilon 1e-6
(BERT-Tiny's encoder shape, Turc et al. 2019: L = 2, H = 128, A = 2); 416,650 params with 10
classes. The ``bert_tiny`` preset is BERT-Tiny's encoder on token IDs (vocabulary 30,522, 512
positions, post-norm, epsilon 1e-12, [CLS] pooling), without the token-type embedding and the
pooler (16,768 params); it has 4.37 M params against the published 4.4 M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.encoder import (EncoderPlan, check_encoder, encoder_block,
                                               pool_sequence)
from archscale.reference_archs.layout_rules import EMBEDDING_SOURCE
from archscale.reference_archs.registry import Family, Preset, Published, ScalingFields
from archscale.reference_archs.scaling_plan import Knobs, Step, clamp
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_positive_int,
                             check_positive_number)

POOLINGS = ("mean", "cls")


@dataclass(frozen=True, kw_only=True)
class TransformerSpec(ArchSpec):
    """A Transformer encoder on ``(length, channels)`` numeric sequences, or on ``(length,)``
    token IDs when ``vocab`` is set.

    Attributes:
        vocab: Vocabulary of a token-ID input (``None``: numeric channels, projected by a Dense
            layer to ``width``).
        width: Model width (embedding size).
        depth: Encoder blocks.
        heads: Attention heads (``width`` must be a multiple).
        mlp_ratio: MLP hidden width over ``width``.
        norm: ``pre`` (LayerNorm before each sub-layer, plus a final one) or ``post`` (after
            each residual addition, plus one after the embedding, as BERT).
        pooling: ``mean`` over positions or ``cls`` (the first position).
        epsilon: LayerNormalization epsilon.
        dropout: Dropout after each sub-layer and before the classifier (0 = none).
        output_activation: Activation of the classifier.
    """

    family = "transformer"

    vocab: int | None = None
    width: int = 128
    depth: int = 2
    heads: int = 2
    mlp_ratio: int = 4
    norm: str = "pre"
    pooling: str = "mean"
    epsilon: float = 1e-6
    dropout: float = 0.0
    output_activation: str = "softmax"

    def validate(self) -> None:
        if self.vocab is not None:
            check_positive_int("vocab", self.vocab)
            if len(self.input_shape) != 1:
                raise SpecError("input_shape must be (length,) of token IDs for family "
                                "'transformer' with vocab. Received: "
                                f"input_shape={self.input_shape!r}, vocab={self.vocab!r}")
        elif len(self.input_shape) != 2:
            raise SpecError("input_shape must be (length, channels) for family 'transformer' "
                            "(or (length,) of token IDs with vocab). Received: "
                            f"input_shape={self.input_shape!r}")
        check_encoder(self.width, self.depth, self.heads, self.mlp_ratio, self.norm)
        check_choice("pooling", self.pooling, POOLINGS)
        check_positive_number("epsilon", self.epsilon)
        check_fraction("dropout", self.dropout)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)


def build_transformer(spec: TransformerSpec) -> Graph:
    """Graph of the encoder: front end -> position embedding -> blocks -> pool -> classifier.

    Args:
        spec: The ``TransformerSpec``.

    Returns:
        The graph, named ``transformer``.
    """
    g = GraphBuilder("transformer")
    x = g.input(spec.input_shape)
    if spec.vocab is not None:
        x = g.embedding(x, spec.vocab, spec.width, name="token_embedding")
    else:
        x = g.dense(x, spec.width, name="input_projection")
    x = g.layer("position_embedding", x, name="position_embedding")
    if spec.norm == "post":
        x = g.layer_norm(x, epsilon=spec.epsilon, name="embedding_ln")
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name="embedding_dropout")
    for i in range(1, spec.depth + 1):
        x = encoder_block(g, x, width=spec.width, heads=spec.heads, mlp_ratio=spec.mlp_ratio,
                          norm=spec.norm, epsilon=spec.epsilon, dropout=spec.dropout,
                          name=f"block{i}")
    if spec.norm == "pre":
        x = g.layer_norm(x, epsilon=spec.epsilon, name="final_ln")
    x = pool_sequence(g, x, spec.pooling)
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name="head_dropout")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


class TransformerPlan(EncoderPlan):
    """A pre-norm encoder with 64-wide heads; knobs: blocks (1-12) and width (64-768 in
    steps of 64, heads = width / 64). Token tasks get an Embedding front end."""

    family = variant = "transformer"

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.vocab = task.vocab if task.modality == "tokens" else None
        self.bounds["depth"] = (1.0, 6.0)
        self.bounds["width"] = (1.0, 6.0)
        self.steps = [Step("transformer layout", {"modality": task.modality},
                           "pre-norm encoder, 64 channels per head, MLP ratio 4, mean pooling",
                           "Vaswani et al. 2017; Xiong et al. 2020 (pre-norm trains without "
                           "warm-up sensitivity)" + (f"; {EMBEDDING_SOURCE}" if self.vocab
                                                     else ""))]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return (int(clamp(round(2 * d), 1, 12)), int(clamp(round(2 * w), 1, 12)))

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        width = 64 * knobs[1]
        return TransformerSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                               vocab=self.vocab, width=width, depth=knobs[0],
                               heads=knobs[1], dropout=dropout,
                               output_activation=self.output_activation)

    def describe(self, knobs: Knobs) -> str:
        front = f"embedding of {self.vocab:,} tokens, " if self.vocab else ""
        return (f"{front}Transformer encoder, {knobs[0]} blocks, width {64 * knobs[1]}, "
                f"{knobs[1]} heads")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        return (["blocks", "width", "heads", "MLP width"],
                [[knobs[0], 64 * knobs[1], knobs[1], 256 * knobs[1]]])


FAMILY = Family("transformer", TransformerSpec, build_transformer,
                "Transformer encoder for token or numeric sequences (position embedding, "
                "self-attention blocks)", ranks=(2,), takes_tokens=True,
                scaling=ScalingFields(width=("width",), depth=("depth",)),
                dropout_field="dropout", plan=TransformerPlan, recipe_style="adam")

PRESETS = (
    Preset("transformer_tiny",
           TransformerSpec(input_shape=(128, 16), classes=10),
           "Small encoder for numeric sequences: 128 x 16 input, width 128, 2 blocks of 2 "
           "heads, MLP ratio 4, pre-norm, mean pooling (BERT-Tiny's encoder shape)"),
    Preset("bert_tiny",
           TransformerSpec(input_shape=(512,), classes=2, vocab=30_522, norm="post",
                           pooling="cls", epsilon=1e-12),
           "BERT-Tiny's encoder (Turc et al. 2019: L=2, H=128, A=2) on 512 token IDs, [CLS] "
           "pooling, no token-type embedding or pooler",
           Published("Turc et al. 2019 (BERT-Tiny, 4.4 M params)", paper_params=4.4e6,
                     rel_tol=0.01)),
)
