"""Per-op cost rules (one dispatch table), the ``Profile`` and memory estimates.

Conventions (also in the README):

- ``params`` = trainable + non-trainable, exactly as Keras ``count_params()`` counts them
  (BatchNorm moving mean/variance and Normalization mean/variance/count are non-trainable).
- ``macs``: multiply-accumulates of conv (any rank, grouped, dilated), depthwise conv and dense
  layers for one example (batch 1).
- ``flops`` = 2 x macs + the element-wise work listed in ``ELEMENTWISE_FLOPS_PER_ELEMENT`` and
  the per-op rules below. The 2 x macs part equals TensorFlow's profiler for Conv2D,
  DepthwiseConv2dNative and MatMul exactly; the rest is archscale's own convention (the profiler
  registers no FLOPs for activations or FusedBatchNorm, for instance), written down in
  ``FLOPS_RULES_DOC``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from archscale.errors import SpecError
from archscale.graph import Graph, Node, Shape
from archscale.memory_model import (ALLOCATOR_OVERHEAD, INFERENCE_VIEW_OPS,
                                    OPTIMIZER_TEMPORARIES, STEP_RUNTIME_BYTES,
                                    inference_live_peak_elements, saved_elements_bytes,
                                    training_curve)

# ---------------------------------------------------------------------------------------------
# Per-op rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpCost:
    """Costs of one node for one example."""

    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0
    flops: int = 0


#: FLOPs per output element of each activation function (element-wise primitive ops the graph
#: runs: swish = sigmoid + multiply, softmax = exp + sum + divide, ...).
ELEMENTWISE_FLOPS_PER_ELEMENT: dict[str, int] = {
    "linear": 0, "relu": 1, "relu6": 1, "leaky_relu": 1, "elu": 1, "selu": 2, "tanh": 1,
    "sigmoid": 1, "hard_sigmoid": 3, "swish": 2, "silu": 2, "hard_swish": 4, "gelu": 8,
    "softmax": 3,
}

FLOPS_RULES_DOC: dict[str, str] = {
    "conv": "2*macs + 1 per output element for the bias + activation table",
    "depthwise_conv": "2*macs + 1 per output element for the bias + activation table",
    "dense": "2*macs + 1 per output element for the bias + activation table",
    "batch_norm": "2 per element (inference: one scale and one shift)",
    "layer_norm": "5 per element (mean, variance, normalise, scale, shift)",
    "activation": "activation table per element",
    "max_pool / avg_pool": "pool window size per output element",
    "global_avg_pool / global_max_pool": "1 per input element",
    "add / multiply": "(inputs - 1) per output element",
    "rescaling": "1 per element, 2 with a non-zero offset",
    "normalization": "2 per element (subtract mean, divide by std)",
    "input, zero_pad, channel_pad, flatten, reshape, dropout, concat": "0 (data movement)",
}


def _activation_flops(fn: str, elements: int) -> int:
    return ELEMENTWISE_FLOPS_PER_ELEMENT[fn] * elements


def _cost_conv(node: Node, ins: list[Shape]) -> OpCost:
    a = node.attrs
    c_in = ins[0][-1]
    per_output = math.prod(a["kernel"]) * (c_in // a["groups"])
    macs = node.elements * per_output
    weights = per_output * a["filters"] + (a["filters"] if a["use_bias"] else 0)
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    return OpCost(weights, 0, macs, flops + _activation_flops(a["activation"], node.elements))


def _cost_depthwise(node: Node, ins: list[Shape]) -> OpCost:
    a = node.attrs
    c_out = ins[0][-1] * a["depth_multiplier"]
    kernel = math.prod(a["kernel"])
    macs = node.elements * kernel
    weights = kernel * c_out + (c_out if a["use_bias"] else 0)
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    return OpCost(weights, 0, macs, flops + _activation_flops(a["activation"], node.elements))


def _cost_dense(node: Node, ins: list[Shape]) -> OpCost:
    a = node.attrs
    k = ins[0][-1]
    macs = node.elements * k
    weights = k * a["units"] + (a["units"] if a["use_bias"] else 0)
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    return OpCost(weights, 0, macs, flops + _activation_flops(a["activation"], node.elements))


def _cost_batch_norm(node: Node, ins: list[Shape]) -> OpCost:
    c = node.shape[-1]
    trainable = c * (int(node.attrs["center"]) + int(node.attrs["scale"]))
    return OpCost(trainable, 2 * c, 0, 2 * node.elements)


def _cost_layer_norm(node: Node, ins: list[Shape]) -> OpCost:
    c = node.shape[-1]
    trainable = c * (int(node.attrs["center"]) + int(node.attrs["scale"]))
    return OpCost(trainable, 0, 0, 5 * node.elements)


def _cost_activation(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost(flops=_activation_flops(node.attrs["fn"], node.elements))


def _cost_pool(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost(flops=math.prod(node.attrs["pool"]) * node.elements)


def _cost_global_pool(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost(flops=math.prod(ins[0]))


def _cost_elementwise(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost(flops=(len(ins) - 1) * node.elements)


def _cost_rescaling(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost(flops=(2 if node.attrs["offset"] else 1) * node.elements)


def _cost_normalization(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost(0, 2 * node.shape[-1] + 1, 0, 2 * node.elements)


def _cost_free(node: Node, ins: list[Shape]) -> OpCost:
    return OpCost()


def _cost_unsupported(node: Node, ins: list[Shape]) -> OpCost:
    trainable = node.attrs["trainable_params"]
    return OpCost(trainable, node.attrs["params"] - trainable, 0, 0)


COST_RULES: dict[str, Callable[[Node, list[Shape]], OpCost]] = {
    "input": _cost_free,
    "conv": _cost_conv,
    "depthwise_conv": _cost_depthwise,
    "dense": _cost_dense,
    "batch_norm": _cost_batch_norm,
    "layer_norm": _cost_layer_norm,
    "activation": _cost_activation,
    "max_pool": _cost_pool,
    "avg_pool": _cost_pool,
    "global_avg_pool": _cost_global_pool,
    "global_max_pool": _cost_global_pool,
    "zero_pad": _cost_free,
    "channel_pad": _cost_free,
    "flatten": _cost_free,
    "reshape": _cost_free,
    "dropout": _cost_free,
    "concat": _cost_free,
    "add": _cost_elementwise,
    "multiply": _cost_elementwise,
    "rescaling": _cost_rescaling,
    "normalization": _cost_normalization,
    "unsupported": _cost_unsupported,
}

#: Ops whose output is a view of their input at inference (no new buffer).
ALIAS_OPS = INFERENCE_VIEW_OPS

# ---------------------------------------------------------------------------------------------
# Memory conventions
# ---------------------------------------------------------------------------------------------

DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}

#: Optimizer state tensors kept per trainable weight.
OPTIMIZER_SLOTS: dict[str, int] = {
    "sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2, "adamw": 2, "nadam": 2,
    "adamax": 2,
}


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of ``dtype``.

    Raises:
        SpecError: unknown dtype.
    """
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPE_BYTES)}. Received: dtype={dtype!r}")
    return DTYPE_BYTES[dtype]


def _check_batch(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SpecError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")


# ---------------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerRow:
    """One per-layer row of a profile (one example)."""

    name: str
    op: str
    output_shape: Shape
    params: int
    trainable_params: int
    macs: int
    flops: int
    activation_elements: int

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready dict."""
        return {
            "name": self.name, "op": self.op, "output_shape": list(self.output_shape),
            "params": self.params, "trainable_params": self.trainable_params,
            "macs": self.macs, "flops": self.flops,
            "activation_elements": self.activation_elements,
        }


@dataclass(frozen=True)
class Profile:
    """Exact static costs of a graph plus memory estimates as functions of batch and dtype.

    Attributes:
        name: Graph name.
        params / trainable_params / non_trainable_params: Keras convention.
        macs: Multiply-accumulates per example.
        flops: FLOPs per example (see ``FLOPS_RULES_DOC``).
        layers: Per-layer rows in topological order.
        unsupported: ``"name (ClassName)"`` of layers whose MACs/FLOPs are unknown.
        depth: Longest chain of conv/dense layers.
        graph: The graph the profile was read from.
    """

    name: str
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    flops: int
    layers: tuple[LayerRow, ...]
    unsupported: tuple[str, ...]
    depth: int
    graph: Graph

    # -- memory ------------------------------------------------------------------------------

    def weight_bytes(self, dtype: str = "float32") -> int:
        """Bytes of all weights (trainable and not)."""
        return self.params * dtype_bytes(dtype)

    def activation_bytes(self, batch_size: int = 1, dtype: str = "float32") -> dict[str, int]:
        """Bytes of each layer's output tensor at ``batch_size``, keyed by layer name."""
        _check_batch(batch_size)
        size = dtype_bytes(dtype) * batch_size
        return {row.name: row.activation_elements * size for row in self.layers}

    def inference_activation_peak_bytes(self, batch_size: int = 1,
                                        dtype: str = "float32") -> int:
        """Peak of simultaneously live activations when running the graph in order.

        A tensor lives from the layer that produces it to its last reader; graph outputs live
        to the end; flatten/reshape/dropout are views of their input; the input batch counts.
        """
        _check_batch(batch_size)
        return inference_live_peak_elements(self.graph) * batch_size * dtype_bytes(dtype)

    def inference_peak_bytes(self, batch_size: int = 1, dtype: str = "float32") -> int:
        """(Weights + the inference activation peak) x ``ALLOCATOR_OVERHEAD``.

        This is what TensorFlow's allocator statistics report for a ``tf.function`` forward
        pass (typically within 25 % on the catalogue; see ``archscale.memory_model``).
        """
        raw = self.weight_bytes(dtype) + self.inference_activation_peak_bytes(batch_size, dtype)
        return int(raw * ALLOCATOR_OVERHEAD)

    def _trainable_by_node(self) -> dict[str, int]:
        return {row.name: row.trainable_params for row in self.layers}

    def saved_activation_bytes(self, batch_size: int = 1, dtype: str = "float32") -> int:
        """Bytes of the tensors a training step keeps for its backward pass, input included.

        Which tensors each op keeps is ``archscale.memory_model.SAVED_RULES`` (a conv keeps its
        input, batch norm its input, ReLU its output, swish its input, dropout a 1-byte mask,
        ...); a tensor kept by several ops counts once.
        """
        _check_batch(batch_size)
        item = dtype_bytes(dtype)
        per_example = saved_elements_bytes(self.graph, self._trainable_by_node(), item)
        return int(round(per_example * batch_size))

    def training_peak_bytes(self, batch_size: int = 32, dtype: str = "float32",
                            optimizer: str = "adam") -> int:
        """Peak bytes of one training step (forward, backward, optimizer update).

        Weights + optimizer slots + the input batch + ``STEP_RUNTIME_BYTES``, plus the largest,
        over a forward and a backward walk of the graph and the optimizer update, of the saved
        activations still held, the activation gradients alive, the weight gradients so far and
        the optimizer's temporaries; times
        ``ALLOCATOR_OVERHEAD`` (``archscale.memory_model`` documents every rule). Within 15 %
        of TensorFlow's measured peak for the catalogue at batch 32 (README table).

        Raises:
            SpecError: unknown optimizer, dtype, or a non-positive batch size.
        """
        if optimizer not in OPTIMIZER_SLOTS:
            raise SpecError(f"optimizer must be one of {', '.join(OPTIMIZER_SLOTS)}. "
                            f"Received: optimizer={optimizer!r}")
        _check_batch(batch_size)
        item = dtype_bytes(dtype)
        cache = self.__dict__.setdefault("_training_curves", {})
        curve = cache.get((item, optimizer))
        if curve is None:
            curve = cache[(item, optimizer)] = training_curve(
                self.graph, self._trainable_by_node(), item, OPTIMIZER_TEMPORARIES[optimizer])
        inputs = sum(self.graph.node(name).elements for name in self.graph.inputs)
        persistent = (self.params + OPTIMIZER_SLOTS[optimizer] * self.trainable_params
                      + inputs * batch_size) * item + STEP_RUNTIME_BYTES
        transient = max(a * batch_size + b for a, b in curve)
        return int((persistent + transient) * ALLOCATOR_OVERHEAD)

    def memory_summary(self, batch_size: int = 1, dtype: str = "float32",
                       optimizer: str = "adam") -> dict[str, int]:
        """The memory figures under stable, unit-suffixed names."""
        return {
            "batch_size": batch_size,
            "weight_bytes": self.weight_bytes(dtype),
            "inference_activation_peak_bytes":
                self.inference_activation_peak_bytes(batch_size, dtype),
            "inference_peak_bytes": self.inference_peak_bytes(batch_size, dtype),
            "training_peak_bytes": self.training_peak_bytes(batch_size, dtype, optimizer),
        }

    def to_dict(self, batch_size: int = 1, dtype: str = "float32") -> dict[str, Any]:
        """Totals, memory figures, ``unsupported`` and the per-layer rows as one JSON object."""
        return {
            "name": self.name,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "flops": self.flops,
            "depth": self.depth,
            "dtype": dtype,
            **self.memory_summary(batch_size, dtype),
            "unsupported": list(self.unsupported),
            "layers": [row.to_dict() for row in self.layers],
        }


def node_cost(graph: Graph, node: Node) -> OpCost:
    """Cost of one node via ``COST_RULES``.

    A node that re-uses another node's weights (a Keras layer called twice, marked
    ``shared_with`` by ``from_keras``) costs MACs and FLOPs but no parameters.
    """
    cost = COST_RULES[node.op](node, graph.input_shapes(node))
    if node.attrs.get("shared_with"):
        return OpCost(0, 0, cost.macs, cost.flops)
    return cost


def profile_graph(graph: Graph) -> Profile:
    """Read every node's cost off ``graph`` and total them.

    Args:
        graph: A graph built by a family or by ``from_keras``.

    Returns:
        The ``Profile``.
    """
    from archscale.graph import weighted_depth

    rows = []
    for node in graph.nodes:
        cost = node_cost(graph, node)
        params = cost.trainable_params + cost.non_trainable_params
        rows.append(LayerRow(node.name, node.op, node.shape, params, cost.trainable_params,
                             cost.macs, cost.flops, node.elements))
    trainable = sum(r.trainable_params for r in rows)
    total = sum(r.params for r in rows)
    unsupported = tuple(f"{n.name} ({n.attrs['class_name']})" for n in graph.nodes
                        if n.op == "unsupported")
    return Profile(graph.name, total, trainable, total - trainable, sum(r.macs for r in rows),
                   sum(r.flops for r in rows), tuple(rows), unsupported, weighted_depth(graph),
                   graph)


def ops_table() -> Mapping[str, str]:
    """Human-readable table of what ``flops`` counts per op (for the README and ``--help``)."""
    return dict(FLOPS_RULES_DOC)
