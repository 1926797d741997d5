"""Dense MLP family: any depth, per-layer widths and dropout, optional identity shortcuts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.reference_archs.layout_rules import (head_min_width, mlp_depth, mlp_taper,
                                                    round_width)
from archscale.reference_archs.registry import Family, Preset, Published, ScalingFields
from archscale.reference_archs.scaling_plan import QUANTUM, Knobs, Plan, Step
from archscale.specs import (ArchSpec, Task, check_choice, check_fraction, check_positive_int,
                             check_same_length)

#: Widest hidden layer a plan proposes.
MLP_MAX_WIDTH = 16384


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


# ---------------------------------------------------------------------------------------------
# Scaling plan (the heuristics size it)
# ---------------------------------------------------------------------------------------------


class MLPPlan(Plan):
    """Dense layers with a geometric taper; depth fixed by the capacity target, width scaled."""

    family = variant = "mlp"
    axes = ("width",)

    @classmethod
    def for_task(cls, task: Task, variant: str, target_params: float, *,
                 max_resolution: int | None = None, anchor: Any = None) -> "MLPPlan":
        return cls(task, target_params)

    def __init__(self, task: Task, target_params: float) -> None:
        super().__init__(task)
        self.n_in = math.prod(task.input_shape)
        rule_depth = mlp_depth(target_params)
        self.depth = rule_depth
        self.taper = mlp_taper(self.n_in, task.classes, self.depth)
        while self.depth > 1 and self._last_width(target_params) < QUANTUM:
            self.depth -= 1
            self.taper = mlp_taper(self.n_in, task.classes, self.depth)
        self.decreasing = self.n_in >= task.classes
        self.floor = head_min_width(task.classes)
        self.bounds["width"] = (QUANTUM / max(self.taper) / 2, MLP_MAX_WIDTH / min(self.taper))
        self.steps = [
            Step("mlp depth", {"target_params": round(target_params), "rule_depth": rule_depth},
                 self.depth,
                 "Heaton 2008 ch. 5 (one hidden layer for continuous maps, two for arbitrary "
                 "decision boundaries); deeper only for > 1 M parameter targets, and never so "
                 "deep that the tapered last layer would be narrower than 8 units"),
            Step("mlp taper", {"inputs": self.n_in, "outputs": task.classes,
                               "depth": self.depth},
                 [round(t, 2) for t in self.taper],
                 "Masters 1993 geometric pyramid; Heaton 2008 (hidden sizes between the input "
                 "and output sizes); widths then scaled together and rounded to multiples of 8"),
            Step("head width", {"classes": task.classes}, {"min_hidden_width": self.floor},
                 "every hidden layer at least 2 sqrt(classes) wide: Yang et al. 2018 (softmax "
                 "bottleneck); DeepID (Sun et al. 2014: 10,000 classes on 160 features)"),
        ]

    def _last_width(self, target_params: float) -> float:
        """Unrounded last hidden width when the taper is scaled to ``target_params``."""
        def params(w: float) -> float:
            sizes = (self.n_in, *(w * t for t in self.taper), self.task.classes)
            return sum(a * b + b for a, b in zip(sizes, sizes[1:]))

        low, high = 1e-6, MLP_MAX_WIDTH / min(self.taper)
        for _ in range(60):
            mid = math.sqrt(low * high)
            low, high = (mid, high) if params(mid) < target_params else (low, mid)
        return low * self.taper[-1]

    def knobs_at(self, d: float, w: float, r: float) -> Knobs:
        return tuple(min(MLP_MAX_WIDTH, max(self.floor, round_width(w * t))) for t in self.taper)

    def spec(self, knobs: Knobs, dropout: float = 0.0) -> ArchSpec:
        return MLPSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                       widths=tuple(knobs), dropout=(dropout,) * len(knobs),
                       output_activation=self.output_activation)

    def move_names(self) -> tuple[str, ...]:
        return tuple(f"widen fc{i + 1} by {QUANTUM}" for i in range(self.depth))

    def move(self, knobs: Knobs, index: int) -> Knobs | None:
        """Widen one layer by 8 while the taper keeps its direction (no layer wider than the
        one before it when tapering down; no narrower when tapering up)."""
        width = knobs[index] + QUANTUM
        neighbour = index - 1 if self.decreasing else index + 1
        if width > MLP_MAX_WIDTH or (0 <= neighbour < len(knobs) and width > knobs[neighbour]):
            return None
        return knobs[:index] + (width,) + knobs[index + 1:]

    def scale(self, knobs: Knobs, width: float, depth: float) -> Knobs:
        return tuple(min(MLP_MAX_WIDTH, max(self.floor, round_width(k * width))) for k in knobs)

    def describe(self, knobs: Knobs) -> str:
        return f"MLP {self.n_in}-" + "-".join(map(str, knobs)) + f"-{self.task.classes}"

    def table(self, knobs: Knobs) -> tuple[list[str], list[list[Any]]]:
        rows = [[f"fc{i + 1}", "dense", k] for i, k in enumerate(knobs)]
        rows.append(["predictions", "dense", self.task.classes])
        return ["layer", "op", "units"], rows


FAMILY = Family("mlp", MLPSpec, build_mlp, "Dense multi-layer perceptron",
                ranks=(1, 2, 3), scaling=ScalingFields(width=("widths",)),
                dropout_field="dropout", plan=MLPPlan, recipe_style="adam",
                flattens_input=True)

PRESETS = (
    Preset("mlp", MLPSpec(input_shape=(784,), classes=10, widths=(256, 128), dropout=(0.5, 0.3)),
           "Classic MNIST MLP 784-256-128-10 with dropout 0.5/0.3",
           Published("784 x 256 + 256 x 128 + 128 x 10 weights plus biases (the classic MNIST "
                     "MLP layout)", params=235_146, trainable_params=235_146)),
    Preset("mnist1d_mlp", MLPSpec(input_shape=(40,), classes=10, widths=(100, 100),
                                  dropout=(0.0, 0.0), residual=True),
           "MNIST-1D reference MLP 40-100-100-10, shortcut around the second layer "
           "(Greydanus 2020)",
           Published("Greydanus 2020, MNIST-1D reference MLP (15,210 parameters)",
                     params=15_210, trainable_params=15_210)),
)
