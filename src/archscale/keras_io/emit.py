"""``to_keras``: one Keras layer per graph node, named after the node."""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import layers

from archscale.errors import UnsupportedModelError
from archscale.keras_io.layers import ChannelPad
from archscale.nodes import Graph, Node

#: ``(node, number of spatial axes of its input) -> keras layer``.
Emitter = Callable[[Node, int], layers.Layer]


def _by_rank(spatial_rank: int, one_d: type, two_d: type) -> type:
    return one_d if spatial_rank == 1 else two_d


def _emit_conv(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    cls = _by_rank(in_rank, layers.Conv1D, layers.Conv2D)
    return cls(a["filters"], a["kernel"], strides=a["strides"], padding=a["padding"],
               dilation_rate=a["dilation"], groups=a["groups"], use_bias=a["use_bias"],
               activation=a["activation"], name=node.name)


def _emit_depthwise(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    cls = _by_rank(in_rank, layers.DepthwiseConv1D, layers.DepthwiseConv2D)
    return cls(a["kernel"], strides=a["strides"], padding=a["padding"],
               depth_multiplier=a["depth_multiplier"], dilation_rate=a["dilation"],
               use_bias=a["use_bias"], activation=a["activation"], name=node.name)


def _emit_dense(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    return layers.Dense(a["units"], use_bias=a["use_bias"], activation=a["activation"],
                        name=node.name)


def _emit_batch_norm(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    return layers.BatchNormalization(epsilon=a["epsilon"], momentum=a["momentum"],
                                     center=a["center"], scale=a["scale"], name=node.name)


def _emit_layer_norm(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    return layers.LayerNormalization(epsilon=a["epsilon"], center=a["center"],
                                     scale=a["scale"], name=node.name)


def _emit_activation(node: Node, in_rank: int) -> layers.Layer:
    return layers.Activation(node.attrs["fn"], name=node.name)


def _emit_pool(one_d: type, two_d: type) -> Emitter:
    def emit(node: Node, in_rank: int) -> layers.Layer:
        a = node.attrs
        cls = {1: one_d, 2: two_d}[in_rank]
        return cls(a["pool"], strides=a["strides"], padding=a["padding"], name=node.name)
    return emit


def _emit_global_pool(one_d: type, two_d: type) -> Emitter:
    def emit(node: Node, in_rank: int) -> layers.Layer:
        cls = {1: one_d, 2: two_d}[in_rank]
        return cls(keepdims=node.attrs["keepdims"], name=node.name)
    return emit


def _emit_zero_pad(node: Node, in_rank: int) -> layers.Layer:
    padding = node.attrs["padding"]
    if in_rank == 1:
        return layers.ZeroPadding1D(tuple(padding[0]), name=node.name)
    return layers.ZeroPadding2D(tuple(tuple(p) for p in padding), name=node.name)


def _emit_channel_pad(node: Node, in_rank: int) -> layers.Layer:
    return ChannelPad(node.attrs["before"], node.attrs["after"], name=node.name)


def _emit_flatten(node: Node, in_rank: int) -> layers.Layer:
    return layers.Flatten(name=node.name)


def _emit_reshape(node: Node, in_rank: int) -> layers.Layer:
    return layers.Reshape(tuple(node.attrs["target"]), name=node.name)


def _emit_dropout(node: Node, in_rank: int) -> layers.Layer:
    return layers.Dropout(node.attrs["rate"], name=node.name)


def _emit_add(node: Node, in_rank: int) -> layers.Layer:
    return layers.Add(name=node.name)


def _emit_multiply(node: Node, in_rank: int) -> layers.Layer:
    return layers.Multiply(name=node.name)


def _emit_concat(node: Node, in_rank: int) -> layers.Layer:
    return layers.Concatenate(axis=-1, name=node.name)


def _emit_rescaling(node: Node, in_rank: int) -> layers.Layer:
    return layers.Rescaling(node.attrs["scale"], offset=node.attrs["offset"], name=node.name)


def _emit_normalization(node: Node, in_rank: int) -> layers.Layer:
    return layers.Normalization(axis=-1, name=node.name)


#: op -> the Keras layer for a node of that op (``input`` becomes ``keras.Input`` in
#: ``to_keras``; ``unsupported`` nodes cannot be emitted).
EMITTERS: dict[str, Emitter] = {
    "conv": _emit_conv,
    "depthwise_conv": _emit_depthwise,
    "dense": _emit_dense,
    "batch_norm": _emit_batch_norm,
    "layer_norm": _emit_layer_norm,
    "activation": _emit_activation,
    "max_pool": _emit_pool(layers.MaxPooling1D, layers.MaxPooling2D),
    "avg_pool": _emit_pool(layers.AveragePooling1D, layers.AveragePooling2D),
    "global_avg_pool": _emit_global_pool(layers.GlobalAveragePooling1D,
                                         layers.GlobalAveragePooling2D),
    "global_max_pool": _emit_global_pool(layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D),
    "zero_pad": _emit_zero_pad,
    "channel_pad": _emit_channel_pad,
    "flatten": _emit_flatten,
    "reshape": _emit_reshape,
    "dropout": _emit_dropout,
    "add": _emit_add,
    "multiply": _emit_multiply,
    "concat": _emit_concat,
    "rescaling": _emit_rescaling,
    "normalization": _emit_normalization,
}


def _emit(node: Node, in_rank: int) -> layers.Layer:
    """One Keras layer for ``node``; ``in_rank`` is the input's number of spatial axes."""
    emitter = EMITTERS.get(node.op)
    if emitter is None:
        raise UnsupportedModelError(f"cannot emit op {node.op!r} as a Keras layer. "
                                    f"Received: {node.name!r}")
    return emitter(node, in_rank)


def to_keras(graph: Graph) -> keras.Model:
    """Emit a functional ``keras.Model`` whose layers are the graph's nodes, by name.

    Args:
        graph: A graph from a family build function or from ``from_keras``.

    Returns:
        An uncompiled functional model named after the graph.

    Raises:
        UnsupportedModelError: the graph holds ``unsupported`` nodes.
    """
    tensors: dict[str, Any] = {}
    for node in graph.nodes:
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=node.shape, name=node.name)
            continue
        ins = [tensors[i] for i in node.inputs]
        layer = _emit(node, len(graph.node(node.inputs[0]).shape) - 1)
        tensors[node.name] = layer(ins if len(ins) > 1 else ins[0])
    inputs = [tensors[i] for i in graph.inputs]
    outputs = [tensors[o] for o in graph.outputs]
    return keras.Model(inputs if len(inputs) > 1 else inputs[0],
                       outputs if len(outputs) > 1 else outputs[0], name=graph.name)
