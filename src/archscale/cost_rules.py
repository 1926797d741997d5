"""Per-op cost rules: ``(node, input shapes) -> OpCost`` for one example (batch 1).

Which op uses which rule, and what each counts as FLOPs, is ``archscale.ops.OP_RULES``; the
conventions are in ``archscale.costs``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from archscale.nodes import Node
from archscale.shapes import Shape


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


def _activation_flops(fn: str, elements: int) -> int:
    return ELEMENTWISE_FLOPS_PER_ELEMENT[fn] * elements


def cost_conv(node: Node, ins: list[Shape]) -> OpCost:
    """Convolution (any rank, grouped, dilated): kernel x channels per group MACs per output."""
    a = node.attrs
    c_in = ins[0][-1]
    per_output = math.prod(a["kernel"]) * (c_in // a["groups"])
    macs = node.elements * per_output
    weights = per_output * a["filters"] + (a["filters"] if a["use_bias"] else 0)
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    return OpCost(weights, 0, macs, flops + _activation_flops(a["activation"], node.elements))


def cost_depthwise(node: Node, ins: list[Shape]) -> OpCost:
    """Depthwise convolution: kernel MACs per output element."""
    a = node.attrs
    c_out = ins[0][-1] * a["depth_multiplier"]
    kernel = math.prod(a["kernel"])
    macs = node.elements * kernel
    weights = kernel * c_out + (c_out if a["use_bias"] else 0)
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    return OpCost(weights, 0, macs, flops + _activation_flops(a["activation"], node.elements))


def cost_dense(node: Node, ins: list[Shape]) -> OpCost:
    """Dense on the last axis: input features MACs per output element."""
    a = node.attrs
    k = ins[0][-1]
    macs = node.elements * k
    weights = k * a["units"] + (a["units"] if a["use_bias"] else 0)
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    return OpCost(weights, 0, macs, flops + _activation_flops(a["activation"], node.elements))


def cost_batch_norm(node: Node, ins: list[Shape]) -> OpCost:
    """Batch norm: gamma/beta trainable, moving mean/variance non-trainable; 2 FLOPs each."""
    c = node.shape[-1]
    trainable = c * (int(node.attrs["center"]) + int(node.attrs["scale"]))
    return OpCost(trainable, 2 * c, 0, 2 * node.elements)


def cost_layer_norm(node: Node, ins: list[Shape]) -> OpCost:
    """Layer norm: gamma/beta trainable; 5 FLOPs per element."""
    c = node.shape[-1]
    trainable = c * (int(node.attrs["center"]) + int(node.attrs["scale"]))
    return OpCost(trainable, 0, 0, 5 * node.elements)


def cost_activation(node: Node, ins: list[Shape]) -> OpCost:
    """Standalone activation: the activation table per element."""
    return OpCost(flops=_activation_flops(node.attrs["fn"], node.elements))


def cost_pool(node: Node, ins: list[Shape]) -> OpCost:
    """Max/average pooling: the pool window per output element."""
    return OpCost(flops=math.prod(node.attrs["pool"]) * node.elements)


def cost_global_pool(node: Node, ins: list[Shape]) -> OpCost:
    """Global pooling: 1 FLOP per input element."""
    return OpCost(flops=math.prod(ins[0]))


def cost_elementwise(node: Node, ins: list[Shape]) -> OpCost:
    """Add/multiply: (inputs - 1) FLOPs per output element."""
    return OpCost(flops=(len(ins) - 1) * node.elements)


def cost_rescaling(node: Node, ins: list[Shape]) -> OpCost:
    """Rescaling: 1 FLOP per element, 2 with a non-zero offset."""
    return OpCost(flops=(2 if node.attrs["offset"] else 1) * node.elements)


def cost_normalization(node: Node, ins: list[Shape]) -> OpCost:
    """Keras Normalization: mean, variance (per channel) and count, non-trainable."""
    return OpCost(0, 2 * node.shape[-1] + 1, 0, 2 * node.elements)


def cost_free(node: Node, ins: list[Shape]) -> OpCost:
    """Data movement: nothing."""
    return OpCost()


def cost_unsupported(node: Node, ins: list[Shape]) -> OpCost:
    """An untranslated layer: the parameters Keras reports, no MACs or FLOPs."""
    trainable = node.attrs["trainable_params"]
    return OpCost(trainable, node.attrs["params"] - trainable, 0, 0)


#: ``(node, input shapes) -> OpCost``.
CostRule = Callable[[Node, list[Shape]], OpCost]
