"""Per-class Keras layer readers: ``READERS`` maps a Keras layer class name to the graph op it
becomes and the function that reads its settings into a ``GraphBuilder`` call.

A reader raises ``Untranslatable`` for settings the op cannot express (channels-first, an
unknown activation, ...); ``archscale.keras_io.read`` then records the layer as unsupported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from keras import layers

from archscale.graph import ACTIVATIONS, GraphBuilder

_ACTIVATION_ALIASES = {"hard_silu": "hard_swish", "silu": "swish"}


class Untranslatable(Exception):
    """A layer (or one of its settings) has no graph op; it is recorded as unsupported."""


def _activation_name(fn: Callable | str | None) -> str:
    if fn is None:
        return "linear"
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))
    name = _ACTIVATION_ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise Untranslatable(f"activation {name!r}")
    return name


def _channels_last(layer: layers.Layer) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise Untranslatable("channels_first")


def _last_axis(layer: layers.Layer, rank: int) -> None:
    axis = layer.axis
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if axes not in ([-1], [rank - 1]):
        raise Untranslatable(f"axis {axis}")


def _padding(layer: layers.Layer) -> str:
    padding = layer.padding.lower()
    if padding not in ("same", "valid"):
        raise Untranslatable(f"padding {padding!r}")
    return padding


def _read_conv(g: GraphBuilder, layer, ins, name, rank):
    _channels_last(layer)
    if rank not in (3, 4):
        raise Untranslatable(f"rank {rank}")
    return g.conv(ins[0], layer.filters, layer.kernel_size, layer.strides,
                  padding=_padding(layer), dilation=layer.dilation_rate, groups=layer.groups,
                  use_bias=layer.use_bias, activation=_activation_name(layer.activation),
                  name=name)


def _read_depthwise(g: GraphBuilder, layer, ins, name, rank):
    _channels_last(layer)
    return g.depthwise_conv(ins[0], layer.kernel_size, layer.strides, padding=_padding(layer),
                            dilation=layer.dilation_rate, depth_multiplier=layer.depth_multiplier,
                            use_bias=layer.use_bias,
                            activation=_activation_name(layer.activation), name=name)


def _read_dense(g, layer, ins, name, rank):
    return g.dense(ins[0], layer.units, use_bias=layer.use_bias,
                   activation=_activation_name(layer.activation), name=name)


def _read_batch_norm(g, layer, ins, name, rank):
    _last_axis(layer, rank)
    return g.batch_norm(ins[0], epsilon=layer.epsilon, momentum=layer.momentum,
                        center=layer.center, scale=layer.scale, name=name)


def _read_layer_norm(g, layer, ins, name, rank):
    _last_axis(layer, rank)
    if getattr(layer, "rms_scaling", False):
        raise Untranslatable("rms_scaling")
    return g.layer_norm(ins[0], epsilon=layer.epsilon, center=layer.center, scale=layer.scale,
                        name=name)


def _read_activation(g, layer, ins, name, rank):
    return g.act(ins[0], _activation_name(layer.activation), name=name)


def _read_relu(g, layer, ins, name, rank):
    slope = float(getattr(layer, "negative_slope", 0.0) or 0.0)
    threshold = float(getattr(layer, "threshold", 0.0) or 0.0)
    max_value = layer.max_value
    if slope or threshold or max_value not in (None, 6, 6.0):
        raise Untranslatable("relu settings")
    return g.act(ins[0], "relu6" if max_value is not None else "relu", name=name)


def _read_softmax(g, layer, ins, name, rank):
    _last_axis(layer, rank)
    return g.act(ins[0], "softmax", name=name)


def _read_pool(op: str):
    def read(g, layer, ins, name, rank):
        _channels_last(layer)
        method = g.max_pool if op == "max_pool" else g.avg_pool
        return method(ins[0], layer.pool_size, layer.strides, padding=layer.padding, name=name)
    return read


def _read_global_pool(op: str):
    def read(g, layer, ins, name, rank):
        _channels_last(layer)
        method = g.global_avg_pool if op == "global_avg_pool" else g.global_max_pool
        return method(ins[0], keepdims=bool(layer.keepdims), name=name)
    return read


def _read_zero_pad(g, layer, ins, name, rank):
    _channels_last(layer)
    padding = layer.padding
    pairs = (tuple(padding),) if rank == 3 else tuple(tuple(p) for p in padding)
    return g.zero_pad(ins[0], pairs, name=name)


def _read_reshape(g, layer, ins, name, rank):
    target = tuple(layer.target_shape)
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target = tuple(math.prod(g.shape(ins[0])) // known if d == -1 else d for d in target)
    return g.reshape(ins[0], target, name=name)


def _read_dropout(g, layer, ins, name, rank):
    return g.dropout(ins[0], float(layer.rate), name=name)


def _read_concat(g, layer, ins, name, rank):
    if layer.axis not in (-1, rank - 1):
        raise Untranslatable(f"axis {layer.axis}")
    return g.concat(ins, name=name)


def _read_rescaling(g, layer, ins, name, rank):
    scale, offset = layer.scale, layer.offset
    if not all(isinstance(v, (int, float)) for v in (scale, offset)):
        raise Untranslatable("non-scalar rescaling")
    return g.rescaling(ins[0], float(scale), float(offset), name=name)


def _read_normalization(g, layer, ins, name, rank):
    _last_axis(layer, rank)
    if len(layer.weights) != 3:
        raise Untranslatable("normalization with constant statistics")
    return g.normalization(ins[0], name=name)


def _read_channel_pad(g, layer, ins, name, rank):
    return g.channel_pad(ins[0], layer.before, layer.after, name=name)


def _read_flatten(g, layer, ins, name, rank):
    return g.flatten(ins[0], name=name)


def _read_add(g, layer, ins, name, rank):
    return g.add(ins, name=name)


def _read_multiply(g, layer, ins, name, rank):
    return g.multiply(ins, name=name)


@dataclass(frozen=True)
class LayerReader:
    """How one Keras layer class becomes a graph node.

    Attributes:
        op: The graph op the reader produces (a name in ``archscale.ops.OPS``).
        read: ``(builder, layer, input node names, node name, input rank with batch) -> node
            name``; raises ``Untranslatable`` (or ``ShapeError``) for settings it cannot
            express.
    """

    op: str
    read: Callable[..., str]


#: Keras layer class name -> its reader and the op it produces.
READERS: dict[str, LayerReader] = {
    "Conv1D": LayerReader("conv", _read_conv),
    "Conv2D": LayerReader("conv", _read_conv),
    "DepthwiseConv1D": LayerReader("depthwise_conv", _read_depthwise),
    "DepthwiseConv2D": LayerReader("depthwise_conv", _read_depthwise),
    "Dense": LayerReader("dense", _read_dense),
    "BatchNormalization": LayerReader("batch_norm", _read_batch_norm),
    "LayerNormalization": LayerReader("layer_norm", _read_layer_norm),
    "Activation": LayerReader("activation", _read_activation),
    "ReLU": LayerReader("activation", _read_relu),
    "Softmax": LayerReader("activation", _read_softmax),
    "MaxPooling1D": LayerReader("max_pool", _read_pool("max_pool")),
    "MaxPooling2D": LayerReader("max_pool", _read_pool("max_pool")),
    "AveragePooling1D": LayerReader("avg_pool", _read_pool("avg_pool")),
    "AveragePooling2D": LayerReader("avg_pool", _read_pool("avg_pool")),
    "GlobalAveragePooling1D": LayerReader("global_avg_pool", _read_global_pool("global_avg_pool")),
    "GlobalAveragePooling2D": LayerReader("global_avg_pool", _read_global_pool("global_avg_pool")),
    "GlobalMaxPooling1D": LayerReader("global_max_pool", _read_global_pool("global_max_pool")),
    "GlobalMaxPooling2D": LayerReader("global_max_pool", _read_global_pool("global_max_pool")),
    "ZeroPadding1D": LayerReader("zero_pad", _read_zero_pad),
    "ZeroPadding2D": LayerReader("zero_pad", _read_zero_pad),
    "ChannelPad": LayerReader("channel_pad", _read_channel_pad),
    "Flatten": LayerReader("flatten", _read_flatten),
    "Reshape": LayerReader("reshape", _read_reshape),
    "Dropout": LayerReader("dropout", _read_dropout),
    "SpatialDropout1D": LayerReader("dropout", _read_dropout),
    "SpatialDropout2D": LayerReader("dropout", _read_dropout),
    "Add": LayerReader("add", _read_add),
    "Multiply": LayerReader("multiply", _read_multiply),
    "Concatenate": LayerReader("concat", _read_concat),
    "Rescaling": LayerReader("rescaling", _read_rescaling),
    "Normalization": LayerReader("normalization", _read_normalization),
}
