"""Per-op cost rules: ``(node, input shapes) -> OpCost`` for one example (batch 1).

Which op uses which rule, and what each counts as FLOPs, is ``archscale.ops.OP_RULES``; the
conventions are in ``archscale.costs``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from archscale.nodes import Node
from archscale.shapes import Shape, einsum_letters


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
    "softmax": 3, "softplus": 2, "softsign": 2, "mish": 5, "exponential": 1, "hard_tanh": 2,
    "log_softmax": 3,
}

#: Per unit and time step, the element-wise work of a recurrent cell beyond its matmuls
#: (bias adds, gate activations, products and sums).
RNN_CELL_FLOPS: dict[str, int] = {"lstm": 13, "gru": 14, "simple_rnn": 3}
#: Matmul pairs (input and recurrent kernel) per recurrent cell.
RNN_GATES: dict[str, int] = {"lstm": 4, "gru": 3, "simple_rnn": 1}


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
    """Dense on the last axis: input features MACs per output element.

    With LoRA (``lora_rank`` r) the kernel is frozen, the two factors (k x r, r x units) are
    trainable, and each call merges them into the kernel (k x r x units MACs, once per call).
    Quantized (``quantized``: int8), the kernel is held in int8 plus one scale per unit.
    """
    a = node.attrs
    k, units = ins[0][-1], a["units"]
    macs = node.elements * k
    bias = units if a["use_bias"] else 0
    flops = 2 * macs + (node.elements if a["use_bias"] else 0)
    flops += _activation_flops(a["activation"], node.elements)
    return _adapted(a, k * units, bias, macs, flops, k, units, units)


def _adapted(a, kernel: int, bias: int, macs: int, flops: int, k: int, n: int,
             scales: int) -> OpCost:
    """A kernel of ``kernel`` weights (``k`` in, ``n`` out) plus its LoRA or int8 form."""
    rank = a.get("lora_rank") or 0
    if rank:
        return OpCost(rank * (k + n) + bias, kernel, macs + k * rank * n,
                      flops + 2 * k * rank * n)
    if a.get("quantized"):
        return OpCost(bias, kernel + scales, macs, flops)
    return OpCost(kernel + bias, 0, macs, flops)


def int8_weights(node: Node, ins: list[Shape]) -> int:
    """How many of the node's weights are held in int8 (its quantized kernel), else 0."""
    if not node.attrs.get("quantized"):
        return 0
    if node.op == "dense":
        return ins[0][-1] * node.attrs["units"]
    if node.op == "embedding":
        return node.attrs["input_dim"] * node.attrs["output_dim"]
    if node.op == "einsum_dense":
        return _einsum_parts(node, ins)[0]
    return 0


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


def cost_separable(node: Node, ins: list[Shape]) -> OpCost:
    """Separable conv: a depthwise step (kernel MACs per intermediate element) then a 1x1
    conv (intermediate channels MACs per output element)."""
    a = node.attrs
    mid = ins[0][-1] * a["depth_multiplier"]
    kernel = math.prod(a["kernel"])
    spatial = node.elements // a["filters"]
    macs = spatial * mid * kernel + node.elements * mid
    bias = a["filters"] if a["use_bias"] else 0
    flops = 2 * macs + (node.elements if bias else 0)
    return OpCost(kernel * mid + mid * a["filters"] + bias, 0, macs,
                  flops + _activation_flops(a["activation"], node.elements))


def cost_conv_transpose(node: Node, ins: list[Shape]) -> OpCost:
    """Transposed conv: every input element meets kernel x filters weights."""
    a = node.attrs
    c_in = ins[0][-1]
    kernel = math.prod(a["kernel"]) * c_in * a["filters"]
    macs = math.prod(ins[0][:-1]) * kernel
    bias = a["filters"] if a["use_bias"] else 0
    flops = 2 * macs + (node.elements if bias else 0)
    return OpCost(kernel + bias, 0, macs,
                  flops + _activation_flops(a["activation"], node.elements))


def cost_embedding(node: Node, ins: list[Shape]) -> OpCost:
    """Embedding: a table lookup, no MACs (int8: the table plus one scale per row)."""
    a = node.attrs
    table = a["input_dim"] * a["output_dim"]
    if a.get("lora_rank"):
        r = a["lora_rank"]
        return OpCost(r * (a["input_dim"] + a["output_dim"]), table, 0, 0)
    if a.get("quantized"):
        return OpCost(0, table + a["input_dim"], 0, 0)
    return OpCost(table, 0, 0, 0)


def _einsum_parts(node: Node, ins: list[Shape]) -> tuple[int, int, int, int, int]:
    inp, ker, out, sizes = einsum_letters(node.name, node.attrs, ins[0])
    kernel = math.prod(sizes[k] for k in ker)
    bias = math.prod(sizes[k] for k in node.attrs.get("bias_axes") or "") if \
        node.attrs.get("bias_axes") else 0
    macs = math.prod(sizes[k] for k in set(inp[1:] + ker + out[1:]))
    k = math.prod(sizes[c] for c in ker if c in inp)
    return kernel, bias, macs, k, kernel // k


def cost_einsum(node: Node, ins: list[Shape]) -> OpCost:
    """EinsumDense: the product of every index size in its equation (the batch excepted)."""
    kernel, bias, macs, k, n = _einsum_parts(node, ins)
    flops = 2 * macs + (node.elements if bias else 0)
    flops += _activation_flops(node.attrs.get("activation", "linear"), node.elements)
    return _adapted(node.attrs, kernel, bias, macs, flops, k, n, n)


def cost_mha(node: Node, ins: list[Shape]) -> OpCost:
    """MultiHeadAttention: query/key/value projections, the scores (h x Lq x Lk x key_dim),
    the weighted values (h x Lq x Lk x value_dim) and the output projection."""
    a = node.attrs
    (lq, dq), (lv, dv) = ins[0], ins[1]
    lk, dk = ins[2] if len(ins) > 2 else ins[1]
    h, kd, vd, do = a["num_heads"], a["key_dim"], a["value_dim"], node.shape[-1]
    weights = (dq + dk) * h * kd + dv * h * vd + h * vd * do
    biases = (2 * h * kd + h * vd + do) if a["use_bias"] else 0
    macs = (lq * dq + lk * dk) * h * kd + lv * dv * h * vd + h * lq * lk * (kd + vd) \
        + lq * h * vd * do
    bias_flops = ((lq + lk) * h * kd + lv * h * vd + lq * do) if a["use_bias"] else 0
    flops = 2 * macs + bias_flops + lq * h * kd + 3 * h * lq * lk
    return OpCost(weights + biases, 0, macs, flops)


def cost_attention(node: Node, ins: list[Shape]) -> OpCost:
    """Attention / AdditiveAttention (no projections): the value product (Lq x Lk x dv),
    plus the dot-product scores (Lq x Lk x d) for ``score_mode`` dot."""
    a = node.attrs
    (lq, d), (lk, dv) = ins[0], ins[1]
    dot = a["score_mode"] == "dot"
    macs = lq * lk * dv + (lq * lk * d if dot else 0)
    extra = 0 if dot else 3 * lq * lk * d  # additive: add, tanh, scale-and-sum per pair
    return OpCost(a["params"], 0, macs, 2 * macs + extra + 3 * lq * lk)


def cost_rnn(node: Node, ins: list[Shape]) -> OpCost:
    """Recurrent layers: per step, gates x units x (inputs + units) MACs, times the steps and
    directions. FLOPs: 2 x MACs plus ``RNN_CELL_FLOPS`` per unit and step."""
    a = node.attrs
    steps, features = ins[0]
    u, gates, dirs = a["units"], RNN_GATES[a["cell"]], a["directions"]
    kernels = gates * u * (features + u)
    bias = (2 if a["cell"] == "gru" and a["reset_after"] else 1) * gates * u if a["use_bias"] \
        else 0
    macs = kernels * steps * dirs
    return OpCost((kernels + bias) * dirs, 0, macs,
                  2 * macs + RNN_CELL_FLOPS[a["cell"]] * u * steps * dirs)


def cost_prelu(node: Node, ins: list[Shape]) -> OpCost:
    """PReLU: one learned slope per element of the axes not shared; 2 FLOPs per element."""
    shared = set(node.attrs["shared_axes"])
    alphas = math.prod(1 if i + 1 in shared else s for i, s in enumerate(node.shape))
    return OpCost(alphas, 0, 0, 2 * node.elements)


def cost_scale(node: Node, ins: list[Shape]) -> OpCost:
    """Learned per-channel scale (ConvNeXt's LayerScale): one weight per channel."""
    return OpCost(node.shape[-1], 0, 0, node.elements)


def cost_group_norm(node: Node, ins: list[Shape]) -> OpCost:
    """Group norm: gamma/beta per channel; 5 FLOPs per element, as layer norm."""
    return cost_layer_norm(node, ins)


def cost_unit_norm(node: Node, ins: list[Shape]) -> OpCost:
    """Unit normalisation: square, sum and divide, 3 FLOPs per element."""
    return OpCost(flops=3 * node.elements)


def cost_broadcast(node: Node, ins: list[Shape]) -> OpCost:
    """Element-wise op of tensors and scalar constants: one FLOP per operand pair per output
    element (at least one; average one more for the division)."""
    operands = len(ins) + node.attrs.get("constants", 0)
    per = max(operands - 1, 1) + (1 if node.attrs["fn"] == "average" else 0)
    return OpCost(flops=per * node.elements)


def cost_reduce(node: Node, ins: list[Shape]) -> OpCost:
    """Reduction: 1 FLOP per input element."""
    return OpCost(flops=math.prod(ins[0]))


def cost_upsample(node: Node, ins: list[Shape]) -> OpCost:
    """Up-sampling: nearest copies (0 FLOPs); other interpolations 4 per output element."""
    return OpCost(flops=0 if node.attrs["interpolation"] == "nearest" else 4 * node.elements)


def cost_free(node: Node, ins: list[Shape]) -> OpCost:
    """Data movement: nothing."""
    return OpCost()


def cost_unsupported(node: Node, ins: list[Shape]) -> OpCost:
    """An untranslated layer: the parameters Keras reports, no MACs or FLOPs."""
    trainable = node.attrs["trainable_params"]
    return OpCost(trainable, node.attrs["params"] - trainable, 0, 0)


#: ``(node, input shapes) -> OpCost``.
CostRule = Callable[[Node, list[Shape]], OpCost]



# ---------------------------------------------------------------------------------------------
# Transformer front ends (issue 17, fam17b)
# ---------------------------------------------------------------------------------------------


def cost_class_token(node: Node, ins: list[Shape]) -> OpCost:
    """ViT's class token: one learned ``dim`` vector, prepended (data movement, no FLOPs)."""
    return OpCost(node.shape[-1], 0, 0, 0)


def cost_position_embedding(node: Node, ins: list[Shape]) -> OpCost:
    """Learned position embedding: ``length x dim`` weights, one add per element."""
    return OpCost(node.elements, 0, 0, node.elements)
