"""``to_keras``: one Keras layer per graph node, named after the node."""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import layers
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

from archscale.errors import UnsupportedModelError
from archscale.keras_io.layers import ChannelPad, ClassToken, LayerScale, PositionEmbedding
from archscale.nodes import Graph, Node

#: ``(node, number of spatial axes of its input) -> keras layer``.
Emitter = Callable[[Node, int], layers.Layer]


def _by_rank(spatial_rank: int, one_d: type, two_d: type, three_d: type | None = None) -> type:
    return {1: one_d, 2: two_d, 3: three_d}[spatial_rank] or two_d


def _emit_conv(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    cls = _by_rank(in_rank, layers.Conv1D, layers.Conv2D, layers.Conv3D)
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


def _emit_pool(one_d: type, two_d: type, three_d: type) -> Emitter:
    def emit(node: Node, in_rank: int) -> layers.Layer:
        a = node.attrs
        cls = {1: one_d, 2: two_d, 3: three_d}[in_rank]
        return cls(a["pool"], strides=a["strides"], padding=a["padding"], name=node.name)
    return emit


def _emit_global_pool(one_d: type, two_d: type, three_d: type) -> Emitter:
    def emit(node: Node, in_rank: int) -> layers.Layer:
        cls = {1: one_d, 2: two_d, 3: three_d}[in_rank]
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
    axis = node.attrs.get("axis", -1)
    return layers.Concatenate(axis=axis + 1 if axis >= 0 else axis, name=node.name)


def _emit_rescaling(node: Node, in_rank: int) -> layers.Layer:
    return layers.Rescaling(node.attrs["scale"], offset=node.attrs["offset"], name=node.name)


def _emit_normalization(node: Node, in_rank: int) -> layers.Layer:
    return layers.Normalization(axis=-1, name=node.name)


def _emit_separable(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    cls = _by_rank(in_rank, layers.SeparableConv1D, layers.SeparableConv2D)
    return cls(a["filters"], a["kernel"], strides=a["strides"], padding=a["padding"],
               dilation_rate=a["dilation"], depth_multiplier=a["depth_multiplier"],
               use_bias=a["use_bias"], activation=a["activation"], name=node.name)


def _emit_conv_transpose(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    cls = _by_rank(in_rank, layers.Conv1DTranspose, layers.Conv2DTranspose,
                   layers.Conv3DTranspose)
    return cls(a["filters"], a["kernel"], strides=a["strides"], padding=a["padding"],
               output_padding=a["output_padding"], dilation_rate=a["dilation"],
               use_bias=a["use_bias"], activation=a["activation"], name=node.name)


def _emit_embedding(node: Node, in_rank: int) -> layers.Layer:
    return layers.Embedding(node.attrs["input_dim"], node.attrs["output_dim"], name=node.name)


def _emit_einsum(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    return layers.EinsumDense(a["equation"], a["output_shape"], bias_axes=a["bias_axes"] or None,
                              activation=a["activation"], name=node.name)


def _emit_mha(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    return layers.MultiHeadAttention(a["num_heads"], a["key_dim"], value_dim=a["value_dim"],
                                     output_shape=a["output_dim"], use_bias=a["use_bias"],
                                     name=node.name)


def _emit_attention(node: Node, in_rank: int) -> layers.Layer:
    if node.attrs["score_mode"] == "dot":
        return layers.Attention(use_scale=bool(node.attrs["params"]), name=node.name)
    return layers.AdditiveAttention(use_scale=bool(node.attrs["params"]), name=node.name)


_RNN_CLASSES = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}


def _emit_rnn(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    extra = {"reset_after": a["reset_after"]} if a["cell"] == "gru" else {}
    if a["directions"] == 1:
        return _RNN_CLASSES[a["cell"]](a["units"], return_sequences=a["return_sequences"],
                                       use_bias=a["use_bias"], name=node.name, **extra)
    inner = _RNN_CLASSES[a["cell"]](a["units"], return_sequences=a["return_sequences"],
                                    use_bias=a["use_bias"], **extra)
    return layers.Bidirectional(inner, merge_mode=a["merge_mode"], name=node.name)


def _emit_prelu(node: Node, in_rank: int) -> layers.Layer:
    return layers.PReLU(shared_axes=list(node.attrs["shared_axes"]) or None, name=node.name)


def _emit_group_norm(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    return layers.GroupNormalization(a["groups"], epsilon=a["epsilon"], center=a["center"],
                                     scale=a["scale"], name=node.name)


def _emit_unit_norm(node: Node, in_rank: int) -> layers.Layer:
    return layers.UnitNormalization(name=node.name)


_MERGE_CLASSES = {"subtract": layers.Subtract, "average": layers.Average,
                  "maximum": layers.Maximum, "minimum": layers.Minimum}


def _emit_elementwise(node: Node, in_rank: int) -> layers.Layer:
    fn = node.attrs["fn"]
    if fn == "scaled_add" and "scale" in node.attrs:  # Inception-ResNet: x + scale * residual
        return CustomScaleLayer(node.attrs["scale"], name=node.name)
    if fn == "normalize" and "mean" in node.attrs:
        return _emit_fixed_normalization(node, in_rank)
    if fn not in _MERGE_CLASSES or node.attrs.get("constants"):
        raise UnsupportedModelError(f"cannot emit element-wise {fn!r} with constants as a "
                                    f"Keras layer. Received: {node.name!r}")
    return _MERGE_CLASSES[fn](name=node.name)


def _emit_upsample(node: Node, in_rank: int) -> layers.Layer:
    a = node.attrs
    if in_rank == 1:
        return layers.UpSampling1D(a["size"][0], name=node.name)
    if in_rank == 3:
        return layers.UpSampling3D(a["size"], name=node.name)
    return layers.UpSampling2D(a["size"], interpolation=a["interpolation"], name=node.name)


def _emit_transpose(node: Node, in_rank: int) -> layers.Layer:
    return layers.Permute(tuple(p + 1 for p in node.attrs["perm"]), name=node.name)


def _emit_repeat(node: Node, in_rank: int) -> layers.Layer:
    return layers.RepeatVector(node.attrs["n"], name=node.name)


def _emit_identity(node: Node, in_rank: int) -> layers.Layer:
    return layers.Identity(name=node.name)


# -- transformer front ends (issue 17, fam17b) ------------------------------------------------


def _emit_class_token(node: Node, in_rank: int) -> layers.Layer:
    return ClassToken(name=node.name)


def _emit_position_embedding(node: Node, in_rank: int) -> layers.Layer:
    return PositionEmbedding(name=node.name)


def _emit_slice(node: Node, in_rank: int) -> layers.Layer:
    """A slice of the leading axes emits only as the cropping it was made from (``crop``)."""
    crop = node.attrs.get("crop")
    if crop is None or in_rank not in (1, 2) or len(crop) != in_rank:
        raise UnsupportedModelError(f"cannot emit a slice without a cropping as a Keras "
                                    f"layer. Received: {node.name!r}")
    cls = layers.Cropping1D if in_rank == 1 else layers.Cropping2D
    return cls(tuple(crop[0]) if in_rank == 1 else tuple(tuple(p) for p in crop),
               name=node.name)
# -- issue 17 (catalogue families): LayerScale and constant-statistics Normalization --------


def _emit_scale(node: Node, in_rank: int) -> layers.Layer:
    return LayerScale(node.attrs.get("init_values", 1e-6), node.shape[-1], name=node.name)


def _emit_fixed_normalization(node: Node, in_rank: int) -> layers.Layer:
    """``Normalization`` with given (not adapted) statistics: no weights."""
    return layers.Normalization(mean=list(node.attrs["mean"]),
                                variance=list(node.attrs["variance"]), name=node.name)


#: op -> the Keras layer for a node of that op (``input`` becomes ``keras.Input`` in
#: ``to_keras``; ``unsupported`` nodes cannot be emitted).
EMITTERS: dict[str, Emitter] = {
    "conv": _emit_conv,
    "depthwise_conv": _emit_depthwise,
    "dense": _emit_dense,
    "batch_norm": _emit_batch_norm,
    "layer_norm": _emit_layer_norm,
    "activation": _emit_activation,
    "max_pool": _emit_pool(layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D),
    "avg_pool": _emit_pool(layers.AveragePooling1D, layers.AveragePooling2D,
                           layers.AveragePooling3D),
    "global_avg_pool": _emit_global_pool(layers.GlobalAveragePooling1D,
                                         layers.GlobalAveragePooling2D,
                                         layers.GlobalAveragePooling3D),
    "global_max_pool": _emit_global_pool(layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D,
                                         layers.GlobalMaxPooling3D),
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
    "separable_conv": _emit_separable,
    "conv_transpose": _emit_conv_transpose,
    "embedding": _emit_embedding,
    "einsum_dense": _emit_einsum,
    "multi_head_attention": _emit_mha,
    "attention": _emit_attention,
    "rnn": _emit_rnn,
    "prelu": _emit_prelu,
    "group_norm": _emit_group_norm,
    "unit_norm": _emit_unit_norm,
    "elementwise": _emit_elementwise,
    "upsample": _emit_upsample,
    "transpose": _emit_transpose,
    "repeat": _emit_repeat,
    "identity": _emit_identity,
    # transformer front ends (issue 17, fam17b)
    "class_token": _emit_class_token,
    "position_embedding": _emit_position_embedding,
    "slice": _emit_slice,
    # issue 17
    "scale": _emit_scale,
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
    consumers = graph.consumers()
    for node in graph.nodes:
        if node.op == "input":
            dtype = "int32" if any(graph.node(c).op == "embedding" for c in
                                   consumers[node.name]) else None
            tensors[node.name] = keras.Input(shape=node.shape, name=node.name, dtype=dtype)
            continue
        ins = [tensors[i] for i in node.inputs]
        layer = _emit(node, len(graph.node(node.inputs[0]).shape) - 1)
        if node.op == "multi_head_attention":
            tensors[node.name] = layer(*ins)
        else:
            tensors[node.name] = layer(ins if len(ins) > 1 else ins[0])
    inputs = [tensors[i] for i in graph.inputs]
    outputs = [tensors[o] for o in graph.outputs]
    return keras.Model(inputs if len(inputs) > 1 else inputs[0],
                       outputs if len(outputs) > 1 else outputs[0], name=graph.name)
