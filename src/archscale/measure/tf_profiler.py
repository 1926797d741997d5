"""FLOPs as TensorFlow's own profiler counts them, per op type, on the frozen inference graph.

This is the reference the analytic ``macs`` are checked against: TensorFlow registers
``2 x K x output elements`` FLOPs for Conv2D, DepthwiseConv2dNative, MatMul and BatchMatMul,
so the sum over those op types must equal ``2 x macs`` exactly. The profiler registers no FLOPs
for ``Einsum`` (Keras' attention computes its scores and weighted values with it); this module
counts an ``Einsum`` node as a batched matmul is counted, ``2 x`` the product of the sizes of all
its distinct indices, read from the graph's static shapes.

Keras runs grouped convolutions on the CPU inside an XLA-compiled function, which appears in
the frozen graph as a call node whose outputs have unknown shapes; the profiler neither descends
into called functions nor counts ops with unknown shapes, so this module inlines each call's
body into the frozen graph first (the graph is only profiled, never run).
"""

from __future__ import annotations

import math
from collections import Counter

import keras
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)
from tensorflow.python.framework.function_def_to_graph import function_def_to_graph

#: Op types whose registered FLOPs are 2 x multiply-accumulates.
MAC_OP_TYPES = ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMul", "BatchMatMulV2",
                "BatchMatMulV3", "Einsum")

_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")


def frozen_graph(model: keras.Model, batch_size: int = 1) -> tf.Graph:
    """The model's inference function at ``batch_size`` with variables folded into constants."""
    specs = [tf.TensorSpec((batch_size,) + tuple(t.shape[1:]), t.dtype) for t in model.inputs]

    @tf.function
    def forward(*inputs):
        return model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)

    concrete = forward.get_concrete_function(*specs)
    return convert_variables_to_constants_v2(concrete).graph


def _inline_calls(graph: tf.Graph) -> tf.Graph:
    """A copy of ``graph`` with every function-call node replaced by the function's body.

    Shapes then propagate through the inlined ops, so the profiler can count them.
    """
    graph_def = graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    calls = [n for n in graph_def.node if n.op in _CALL_OPS]
    if not calls:
        return graph
    out = tf.compat.v1.GraphDef()
    out.library.CopyFrom(graph_def.library)
    renamed: dict[str, str] = {}
    for node in graph_def.node:
        if node.op not in _CALL_OPS:
            out.node.add().CopyFrom(node)
            continue
        body = function_def_to_graph(library[node.attr["f"].func.name])
        prefix = f"{node.name}/inlined"
        args = [t.op.name for t in body.inputs]
        data_inputs = [i for i in node.input if not i.startswith("^")]
        for body_node in body.as_graph_def().node:
            new = out.node.add()
            new.CopyFrom(body_node)
            new.name = f"{prefix}/{body_node.name}"
            if body_node.name in args:
                new.op = "Identity"
                new.input[:] = [data_inputs[args.index(body_node.name)]]
                for key in list(new.attr):
                    if key != "T":
                        del new.attr[key]
                new.attr["T"].type = body_node.attr["dtype"].type
                continue
            new.input[:] = [("^" if i.startswith("^") else "") + f"{prefix}/{i.lstrip('^')}"
                            for i in body_node.input]
        for index, tensor in enumerate(body.outputs):
            renamed[f"{node.name}:{index}"] = f"{prefix}/{tensor.name}"
            if index == 0:
                renamed[node.name] = f"{prefix}/{tensor.name}"
                renamed[f"^{node.name}"] = f"^{prefix}/{tensor.op.name}"
    for node in out.node:
        node.input[:] = [renamed.get(i, i) for i in node.input]
    inlined = tf.Graph()
    with inlined.as_default():
        tf.graph_util.import_graph_def(out, name="")
    return _inline_calls(inlined)


def _profiler_flops_by_node(graph: tf.Graph) -> dict[str, int]:
    options = (tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
        .with_empty_output().build())
    result = tf.compat.v1.profiler.profile(graph, cmd="scope", options=options)
    flops: dict[str, int] = {}
    stack = list(result.children)
    while stack:
        node = stack.pop()
        if node.float_ops:
            flops[node.name] = int(node.float_ops)
        stack.extend(node.children)
    return flops


def profiler_flops_by_op_type(model: keras.Model, batch_size: int = 1) -> dict[str, int]:
    """Sum of ``float_ops`` per op type reported by ``tf.compat.v1.profiler`` (float_operation).

    Args:
        model: A Keras model with static input shapes.
        batch_size: Batch size of the traced graph.

    Returns:
        ``{op_type: flops}`` for every op type with registered FLOPs, plus ``Einsum``.
    """
    graph = _inline_calls(frozen_graph(model, batch_size))
    by_node = _profiler_flops_by_node(graph)
    totals: Counter = Counter()
    for op in graph.get_operations():
        if op.name in by_node:
            totals[op.type] += by_node[op.name]
        elif op.type == "Einsum":
            totals[op.type] += _einsum_flops(op)
    return dict(totals)


def _einsum_flops(op: tf.Operation) -> int:
    """``2 x`` the product of the sizes of an ``Einsum``'s distinct indices (a batched matmul's
    count; the profiler registers none for ``Einsum``)."""
    labels = op.get_attr("equation").decode().split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for names, tensor in zip(labels, op.inputs):
        sizes.update(zip(names, tensor.shape.as_list()))
    return 2 * math.prod(sizes.values())


def profiler_mac_flops(model: keras.Model, batch_size: int = 1) -> int:
    """The profiler's FLOPs of the conv/depthwise/matmul op types (2 x MACs)."""
    by_type = profiler_flops_by_op_type(model, batch_size)
    return sum(v for k, v in by_type.items() if k in MAC_OP_TYPES)
