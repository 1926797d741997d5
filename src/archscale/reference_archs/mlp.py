"""Dense MLP family: any depth, per-layer widths and dropout, optional identity shortcuts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.registry import Family, Preset
from archscale.specs import (ArchSpec, check_choice, check_fraction, check_positive_int,
                             check_same_length)


@dataclass(frozen=True, kw_only=True)
class MLPSpec(ArchSpec):
    """A multi-layer perceptron.

    Attributes:
        widths: Hidden layer widths, input side first.
        dropout: Dropout rate after each hidden layer (same length as ``widths``; 0 = none).
        activation: Hidden activation.
        batch_norm: BatchNormalization after each hidden dense layer (before the activation).
        output_activation: Activation of the output layer.
        residual: Identity shortcut around every hidden layer whose input has its width:
            ``h = h + dropout(act([bn](dense(h))))``, as in the MNIST-1D reference MLP
            (Greydanus 2020, ``h = h + relu(linear2(h))``). Layers that change the width
            have no shortcut. Adds no parameters and no MACs (an add is not a MAC).
    """

    family = "mlp"

    widths: tuple[int, ...] = (256, 128)
    dropout: tuple[float, ...] = (0.0, 0.0)
    activation: str = "relu"
    batch_norm: bool = False
    output_activation: str = "softmax"
    residual: bool = False

    def validate(self) -> None:
        if not isinstance(self.widths, tuple):
            raise SpecError(f"widths must be a list of positive ints. Received: "
                            f"widths={self.widths!r}")
        for i, w in enumerate(self.widths):
            check_positive_int(f"widths[{i}]", w)
        if not isinstance(self.dropout, tuple):
            raise SpecError(f"dropout must be a list of rates, one per width. Received: "
                            f"dropout={self.dropout!r}")
        for i, r in enumerate(self.dropout):
            check_fraction(f"dropout[{i}]", r)
        check_same_length({"widths": self.widths, "dropout": self.dropout})
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("output_activation", self.output_activation, ACTIVATIONS)
        check_choice("batch_norm", self.batch_norm, (True, False))
        check_choice("residual", self.residual, (True, False))


def _hidden_layer(g: GraphBuilder, x: str, spec: MLPSpec, index: int, width: int,
                  rate: float) -> str:
    """dense [-> bn -> act] [-> dropout], named ``fc{index}...``."""
    if spec.batch_norm:
        x = g.dense(x, width, use_bias=False, name=f"fc{index}")
        x = g.batch_norm(x, name=f"fc{index}_bn")
        x = g.act(x, spec.activation, name=f"fc{index}_{spec.activation}")
    else:
        x = g.dense(x, width, activation=spec.activation, name=f"fc{index}")
    if rate:
        x = g.dropout(x, rate, name=f"fc{index}_dropout")
    return x


def build_mlp(spec: MLPSpec) -> Graph:
    """Graph of an MLP: [flatten] -> hidden layers [+ identity shortcuts] -> dense."""
    g = GraphBuilder("mlp")
    x = g.input(spec.input_shape)
    if len(spec.input_shape) > 1:
        x = g.flatten(x, name="flatten")
    width_in = math.prod(spec.input_shape)
    for i, (width, rate) in enumerate(zip(spec.widths, spec.dropout), start=1):
        h = _hidden_layer(g, x, spec, i, width, rate)
        x = g.add([x, h], name=f"fc{i}_add") if spec.residual and width == width_in else h
        width_in = width
    x = g.dense(x, spec.classes, activation=spec.output_activation, name="predictions")
    return g.build(x)


FAMILY = Family("mlp", MLPSpec, build_mlp, "Dense multi-layer perceptron")

PRESETS = (
    Preset("mlp", MLPSpec(input_shape=(784,), classes=10, widths=(256, 128), dropout=(0.5, 0.3)),
           "Classic MNIST MLP 784-256-128-10 with dropout 0.5/0.3"),
    Preset("mnist1d_mlp", MLPSpec(input_shape=(40,), classes=10, widths=(100, 100),
                                  dropout=(0.0, 0.0), residual=True),
           "MNIST-1D reference MLP 40-100-100-10, shortcut around the second layer "
           "(Greydanus 2020)"),
)
