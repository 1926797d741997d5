"""``to_keras``: one Keras layer per graph node, named after the node."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from archscale.errors import UnsupportedModelError
from archscale.graph import Graph
from archscale.keras_io.layers import ChannelPad

def _by_rank(spatial_rank: int, one_d: type, two_d: type) -> type:
    return one_d if spatial_rank == 1 else two_d


def _emit(node, in_rank: int) -> layers.Layer:
    """One Keras layer for ``node``; ``in_rank`` is the input's number of spatial axes."""
    a, name = node.attrs, node.name
    op = node.op
    if op == "conv":
        cls = _by_rank(in_rank, layers.Conv1D, layers.Conv2D)
        return cls(a["filters"], a["kernel"], strides=a["strides"], padding=a["padding"],
                   dilation_rate=a["dilation"], groups=a["groups"], use_bias=a["use_bias"],
                   activation=a["activation"], name=name)
    if op == "depthwise_conv":
        cls = _by_rank(in_rank, layers.DepthwiseConv1D, layers.DepthwiseConv2D)
        return cls(a["kernel"], strides=a["strides"], padding=a["padding"],
                   depth_multiplier=a["depth_multiplier"], dilation_rate=a["dilation"],
                   use_bias=a["use_bias"], activation=a["activation"], name=name)
    if op == "dense":
        return layers.Dense(a["units"], use_bias=a["use_bias"], activation=a["activation"],
                            name=name)
    if op == "batch_norm":
        return layers.BatchNormalization(epsilon=a["epsilon"], momentum=a["momentum"],
                                         center=a["center"], scale=a["scale"], name=name)
    if op == "layer_norm":
        return layers.LayerNormalization(epsilon=a["epsilon"], center=a["center"],
                                         scale=a["scale"], name=name)
    if op == "activation":
        return layers.Activation(a["fn"], name=name)
    if op in ("max_pool", "avg_pool"):
        table = {("max_pool", 1): layers.MaxPooling1D, ("max_pool", 2): layers.MaxPooling2D,
                 ("avg_pool", 1): layers.AveragePooling1D,
                 ("avg_pool", 2): layers.AveragePooling2D}
        return table[(op, in_rank)](a["pool"], strides=a["strides"], padding=a["padding"],
                                    name=name)
    if op in ("global_avg_pool", "global_max_pool"):
        table = {("global_avg_pool", 1): layers.GlobalAveragePooling1D,
                 ("global_avg_pool", 2): layers.GlobalAveragePooling2D,
                 ("global_max_pool", 1): layers.GlobalMaxPooling1D,
                 ("global_max_pool", 2): layers.GlobalMaxPooling2D}
        return table[(op, in_rank)](keepdims=a["keepdims"], name=name)
    if op == "zero_pad":
        if in_rank == 1:
            return layers.ZeroPadding1D(tuple(a["padding"][0]), name=name)
        return layers.ZeroPadding2D(tuple(tuple(p) for p in a["padding"]), name=name)
    if op == "channel_pad":
        return ChannelPad(a["before"], a["after"], name=name)
    if op == "flatten":
        return layers.Flatten(name=name)
    if op == "reshape":
        return layers.Reshape(tuple(a["target"]), name=name)
    if op == "dropout":
        return layers.Dropout(a["rate"], name=name)
    if op == "add":
        return layers.Add(name=name)
    if op == "multiply":
        return layers.Multiply(name=name)
    if op == "concat":
        return layers.Concatenate(axis=-1, name=name)
    if op == "rescaling":
        return layers.Rescaling(a["scale"], offset=a["offset"], name=name)
    if op == "normalization":
        return layers.Normalization(axis=-1, name=name)
    raise UnsupportedModelError(f"cannot emit op {op!r} as a Keras layer. Received: {name!r}")


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
