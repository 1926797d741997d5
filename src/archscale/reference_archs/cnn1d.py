"""Plain 1-D CNN family for sequences, signals and token IDs: an optional Embedding front end,
a stack of Conv1D layers and a dense head."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, PADDINGS, Graph, GraphBuilder
from archscale.reference_archs.layout_rules import (EMBEDDING_SOURCE, blocks_per_stage,
                                                    doubling_widths, downsampling_halvings,
                                                    embedding_dim_for)
from archscale.reference_archs.registry import Family, Preset, Published, ScalingFields
from archscale.reference_archs.scaling_plan import Knobs, StagedPlan, Step, stage_steps
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_positive_int,
                             check_same_length)

POOLINGS = ("flatten", "global_avg", "global_max")


@dataclass(frozen=True, kw_only=True)
class CNN1DSpec(ArchSpec):
    """A 1-D convolutional network on ``(length, channels)`` inputs, or on ``(length,)``
    integer token IDs through an Embedding front end (``vocab`` set).

    Attributes:
        filters / kernels / strides: One entry per Conv1D layer.
        padding: ``same`` or ``valid`` for every conv.
        activation: Activation after each conv.
        batch_norm: BatchNormalization after each conv (before the activation).
        pooling: How features reach the head: ``flatten``, ``global_avg`` or ``global_max``.
        dense_widths: Hidden dense layers of the head.
        dropout: Dropout rate before the output layer.
        output_activation: Activation of the output layer.
        vocab: Vocabulary size of a token-ID input (``None``: a numeric sequence); the
            Embedding front end then has ``vocab x embedding_dim`` params and no MACs.
        embedding_dim: Size of each token's vector (used only with ``vocab``).
    """

    family = "cnn1d"

    filters: tuple[int, ...] = (25, 25, 25)
    kernels: tuple[int, ...] = (5, 3, 3)
    strides: tuple[int, ...] = (2, 2, 2)
    padding: str = "same"
    activation: str = "relu"
    batch_norm: bool = False
    pooling: str = "flatten"
    dense_widths: tuple[int, ...] = ()
    dropout: float = 0.0
    output_activation: str = "softmax"
    vocab: int | None = None
    embedding_dim: int = 16

    def validate(self) -> None:
        if self.vocab is not None:
            check_positive_int("vocab", self.vocab)
            if len(self.input_shape) != 1:
                raise SpecError("input_shape must be (length,) of token IDs for family 'cnn1d' "
                                f"with vocab. Received: input_shape={self.input_shape!r}, "
                                f"vocab={self.vocab!r}")
        elif len(self.input_shape) != 2:
            raise SpecError("input_shape must be (length, channels) for family 'cnn1d' (or "
                            "(length,) of token IDs with vocab). Received: "
                            f"input_shape={self.input_shape!r}")
        check_positive_int("embedding_dim", self.embedding_dim)
        for field in ("filters", "kernels", "strides", "dense_widths"):
            values = getattr(self, field)
            if not isinstance(values, tuple):
                raise SpecError(f"{field} must be a list of positive ints. "
                                f"Received: {field}={values!r}")
            for i, v in enumerate(values):
                check_positive_int(f"{field}[{i}]", v)
        if not self.filters:
            raise SpecError("filters must name at least one conv layer. Received: filters=()")
        check_same_length({"filters": self.filters, "kernels": self.kernels,
                           "strides": self.strides})
        check_choice("padding", self.padding, PADDINGS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("batch_norm", self.batch_norm, (True, False))
        check_fraction("dropout", self.dropout)


def build_cnn1d(spec: CNN1DSpec) -> Graph:
    """Graph of a 1-D CNN: [embedding ->] (conv [-> bn] -> act) x n -> pool/flatten -> head."""
    g = GraphBuilder("cnn1d")
    x = g.input(spec.input_shape)
    if spec.vocab is not None:
        x = g.embedding(x, spec.vocab, spec.embedding_dim, name="embedding")
    layers = zip(spec.filters, spec.kernels, spec.strides)
    for i, (filters, kernel, stride) in enumerate(layers, start=1):
        if spec.batch_norm:
            x = g.conv(x, filters, kernel, stride, padding=spec.padding, use_bias=False,
                       name=f"conv{i}")
            x = g.batch_norm(x, name=f"conv{i}_bn")
            x = g.act(x, spec.activation, name=f"conv{i}_{spec.activation}")
        else:
            x = g.conv(x, filters, kernel, stride, padding=spec.padding,
                       activation=spec.activation, name=f"conv{i}")
    if spec.pooling == "flatten":
        x = g.flatten(x, name="flatten")
    elif spec.pooling == "global_avg":
        x = g.global_avg_pool(x, name="avg_pool")
    else:
        x = g.global_max_pool(x, name="max_pool")
    for i, width in enumerate(spec.dense_widths, start=1):
        x = g.dense(x, width, activation=spec.activation, name=f"fc{i}")
    if spec.dropout:
        x = g.dropout(x, spec.dropout, name="head_dropout")
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class CNN1DPlan(StagedPlan):
    """Plain 1-D CNN: per stage one stride-2 conv then stride-1 convs; flatten head. Token
    tasks get an Embedding front end (``embedding_dim_for``) and max-over-time pooling."""

    family = variant = "cnn1d"

    def __init__(self, task: Task) -> None:
        length = task.input_shape[0]
        self.vocab = task.vocab if task.modality == "tokens" else None
        self.embedding_dim = embedding_dim_for(self.vocab) if self.vocab else 16
        halvings = downsampling_halvings(length)
        stages = max(1, halvings)
        self.strided = halvings > 0
        super().__init__(task, blocks_per_stage(stages, "plain"),
                         doubling_widths(16, stages), 16, max_width_factor=32.0)
        # Capacity goes into the widths; the base depth (``blocks_per_stage``) is kept, for
        # compound scaling and the greedy fill alike. Measured in the optimal-dimensions study
        # (MNIST-1D as a 40-step sequence, 4,000 examples, 3 seeds): one block more per stage
        # lost 2.6 points (93.1 -> 90.5 %), one fewer gained 1.2, 4x the width gained 4.3.
        self.bounds["depth"] = (1.0, 1.0)
        self.max_blocks = self.base_blocks
        self.steps = stage_steps(length, halvings, stages, self.base_widths,
                                 self.base_blocks, "plain conv", "none")
        if self.vocab:
            table = self.vocab * self.embedding_dim
            self.steps.insert(0, Step(
                "embedding front end", {"vocab": self.vocab},
                {"embedding_dim": self.embedding_dim, "params": table, "macs": 0,
                 "why": f"token IDs are categories, not magnitudes: each of the {self.vocab:,} "
                        f"IDs gets a learned {self.embedding_dim}-d vector (vocab x dim = "
                        f"{table:,} params, a table lookup: 0 MACs), then the 1-D CNN "
                        "convolves the (length, dim) sequence"}, EMBEDDING_SOURCE))
            self.steps.append(Step(
                "pooling", {"modality": "tokens"}, "global max over time before the head",
                "Collobert et al. 2011; Kim 2014 (max-over-time pooling for text CNNs)"))

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        blocks, widths, _ = self.split(knobs)
        filters, kernels, strides = [], [], []
        for n, width in zip(blocks, widths):
            for b in range(n):
                filters.append(width)
                kernels.append(5 if not kernels else 3)
                strides.append(2 if b == 0 and self.strided else 1)
        return CNN1DSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                         filters=tuple(filters), kernels=tuple(kernels), strides=tuple(strides),
                         batch_norm=True, pooling="global_max" if self.vocab else "flatten",
                         dropout=dropout, output_activation=self.output_activation,
                         vocab=self.vocab, embedding_dim=self.embedding_dim)

    def describe(self, knobs: Knobs) -> str:
        blocks, widths, _ = self.split(knobs)
        front = f"embedding {self.vocab:,}x{self.embedding_dim}, then " if self.vocab else ""
        return (f"{front}1-D CNN, {sum(blocks)} convs in {self.stages} stages "
                f"({'/'.join(map(str, blocks))}), widths {'/'.join(map(str, widths))}")

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        blocks, widths, _ = self.split(knobs)
        length, rows = self.task.input_shape[0], []
        if self.vocab:
            rows.append(["embedding", "-", self.embedding_dim, f"lookup of {self.vocab:,}",
                         length])
        for s, (n, w) in enumerate(zip(blocks, widths)):
            length = math.ceil(length / 2) if self.strided else length
            rows.append([s + 1, n, w, "5" if s == 0 else "3", length])
        return ["stage", "convs", "filters", "kernel", "output length"], rows


FAMILY = Family("cnn1d", CNN1DSpec, build_cnn1d,
                "Plain 1-D CNN for sequences, signals and token IDs (Embedding front end)",
                ranks=(2,), takes_tokens=True,
                scaling=ScalingFields(width=("filters", "dense_widths"),
                                      depth=("filters", "kernels", "strides")),
                dropout_field="dropout", plan=CNN1DPlan, recipe_style="adam")

PRESETS = (
    Preset("mnist1d_cnn", CNN1DSpec(input_shape=(40, 1), classes=10),
           "MNIST-1D reference CNN: 3 x Conv1D(25) k5/3/3 s2, linear head (Greydanus 2020)",
           Published("Greydanus 2020, MNIST-1D reference CNN (5,210 parameters)",
                     params=5_210, trainable_params=5_210)),
)
