"""The ``Profile`` of a graph: per-op costs totalled, and memory estimates.

Conventions (also in the README):

- ``params`` = trainable + non-trainable, exactly as Keras ``count_params()`` counts them
  (BatchNorm moving mean/variance and Normalization mean/variance/count are non-trainable).
- ``macs``: multiply-accumulates of conv (any rank, grouped, dilated), depthwise conv and dense
  layers for one example (batch 1).
- ``flops`` = 2 x macs + the element-wise work listed in ``ELEMENTWISE_FLOPS_PER_ELEMENT`` and
  the per-op rules (``archscale.cost_rules``, one per op in ``archscale.ops.OP_RULES``). The
  2 x macs part equals TensorFlow's profiler for Conv2D, DepthwiseConv2dNative and MatMul
  exactly; the rest is archscale's own convention (the profiler registers no FLOPs for
  activations or FusedBatchNorm, for instance), written down in ``FLOPS_RULES_DOC``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from archscale.cost_rules import ELEMENTWISE_FLOPS_PER_ELEMENT, OpCost, int8_weights
from archscale.environment import detect_backend
from archscale.errors import SpecError
from archscale.graph import weighted_depth
from archscale.memory_model import (ALLOCATOR_OVERHEAD, OPTIMIZER_TEMPORARIES,
                                    STEP_RUNTIME_BYTES, inference_live_peak_elements,
                                    saved_elements_bytes, training_curve)
from archscale.nodes import Graph, Node
from archscale.ops import COST_RULES, FLOPS_RULES_DOC, INFERENCE_VIEW_OPS
from archscale.shapes import Shape

__all__ = ["ALIAS_OPS", "COST_RULES", "DTYPE_BYTES", "ELEMENTWISE_FLOPS_PER_ELEMENT",
           "FLOPS_RULES_DOC", "LayerRow", "OPTIMIZER_SLOTS", "OpCost", "Profile", "dtype_bytes",
           "node_cost", "ops_table", "profile_graph"]

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
        int8_params: How many of ``params`` are held in int8 (quantized kernels), whatever
            ``dtype`` the memory figures are asked for.
        notes: What the profile could not take from the analytic rules alone (frozen layers,
            held weights that differ from the rule, a fall-back to Keras), one line each.
        backend: The kernels the training-memory estimate is for (``onednn``, ``eigen``,
            ``gpu``); ``None``: the backend detected on this machine.
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
    int8_params: int = 0
    notes: tuple[str, ...] = ()
    backend: str | None = None

    @property
    def memory_backend(self) -> str:
        """The backend of the training-memory estimate: ``backend``, else the one TensorFlow
        would run here (``archscale.environment.detect_backend``)."""
        return self.backend or detect_backend()

    # -- memory ------------------------------------------------------------------------------

    def weight_bytes(self, dtype: str = "float32") -> int:
        """Bytes of all weights (trainable and not): int8 weights 1 byte, the rest ``dtype``."""
        return (self.params - self.int8_params) * dtype_bytes(dtype) + self.int8_params

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
        activations still held, the activation gradients alive, the weight gradients being
        made and applied, the optimizer's temporaries and the backend's kernel buffers
        (``memory_backend``: Eigen's convolution gradients hold im2col buffers); times
        ``ALLOCATOR_OVERHEAD`` (``archscale.memory_model`` documents every rule). Within 15 %
        of TensorFlow's measured peak for the catalogue at batch 1 and 32, oneDNN and Eigen
        (README table).

        Raises:
            SpecError: unknown optimizer, dtype, or a non-positive batch size.
        """
        if optimizer not in OPTIMIZER_SLOTS:
            raise SpecError(f"optimizer must be one of {', '.join(OPTIMIZER_SLOTS)}. "
                            f"Received: optimizer={optimizer!r}")
        _check_batch(batch_size)
        item = dtype_bytes(dtype)
        backend = self.memory_backend
        cache = self.__dict__.setdefault("_training_curves", {})
        curve = cache.get((item, optimizer, backend, batch_size))
        if curve is None:
            curve = cache[(item, optimizer, backend, batch_size)] = training_curve(
                self.graph, self._trainable_by_node(), item, OPTIMIZER_TEMPORARIES[optimizer],
                backend=backend, batch_size=batch_size)
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
            **({"int8_params": self.int8_params} if self.int8_params else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
            "layers": [row.to_dict() for row in self.layers],
        }


def node_cost(graph: Graph, node: Node) -> OpCost:
    """Cost of one node via ``COST_RULES``.

    A node that re-uses another node's weights (a Keras layer called twice, marked
    ``shared_with`` by ``from_keras``) costs MACs and FLOPs but no parameters. A node read
    from a Keras model carries what the layer holds: ``frozen`` (``trainable=False``: every
    weight non-trainable) and ``held`` (``(trainable, non_trainable)`` counted from the
    model's own weights), which win over the rule's split.
    """
    cost = COST_RULES[node.op](node, graph.input_shapes(node))
    a = node.attrs
    if a.get("shared_with"):
        return OpCost(0, 0, cost.macs, cost.flops)
    if a.get("held") is not None:
        return OpCost(a["held"][0], a["held"][1], cost.macs, cost.flops)
    if a.get("frozen"):
        return OpCost(0, cost.trainable_params + cost.non_trainable_params, cost.macs,
                      cost.flops)
    return cost


def _int8_params(graph: Graph, node: Node) -> int:
    if node.attrs.get("shared_with"):
        return 0
    held = node.attrs.get("held_int8")
    return int8_weights(node, graph.input_shapes(node)) if held is None else held


def profile_graph(graph: Graph, notes: tuple[str, ...] = ()) -> Profile:
    """Read every node's cost off ``graph`` and total them.

    Args:
        graph: A graph built by a family or by ``from_keras``.
        notes: Lines about the graph as a whole (a fall-back to Keras, ...); the nodes' own
            ``note`` attributes follow them in ``Profile.notes``.

    Returns:
        The ``Profile``.
    """
    rows = []
    for node in graph.nodes:
        cost = node_cost(graph, node)
        params = cost.trainable_params + cost.non_trainable_params
        rows.append(LayerRow(node.name, node.op, node.shape, params, cost.trainable_params,
                             cost.macs, cost.flops, node.elements))
    trainable = sum(r.trainable_params for r in rows)
    total = sum(r.params for r in rows)
    unsupported = tuple(f"{n.name} ({n.attrs['class_name']})" for n in graph.nodes
                        if n.op == "unsupported" and not n.attrs.get("output_index"))
    int8 = sum(_int8_params(graph, n) for n in graph.nodes)
    notes = tuple(notes) + tuple(n.attrs["note"] for n in graph.nodes if n.attrs.get("note"))
    return Profile(graph.name, total, trainable, total - trainable, sum(r.macs for r in rows),
                   sum(r.flops for r in rows), tuple(rows), unsupported, weighted_depth(graph),
                   graph, int8, notes)


def ops_table() -> Mapping[str, str]:
    """Human-readable table of what ``flops`` counts per op (for the README and ``--help``)."""
    return dict(FLOPS_RULES_DOC)
