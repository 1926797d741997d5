"""``from_keras``: any Keras 3 model (functional, Sequential, nested) to a ``Graph``.

Each supported layer class has a reader in ``READERS``; a layer without one, or with settings a
reader cannot express (channels-first, causal padding, ...), becomes an ``unsupported`` node
carrying the parameter counts Keras reports. A translation whose shape disagrees with Keras'
output shape is discarded the same way: archscale never guesses.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import keras
from keras import layers

from archscale.errors import InputFileError, ShapeError, UnsupportedModelError
from archscale.graph import ACTIVATIONS, Graph, GraphBuilder
from archscale.keras_io.layers import ChannelPad  # noqa: F401 - registers it for load_model

_ACTIVATION_ALIASES = {"hard_silu": "hard_swish", "silu": "swish"}


class _Untranslatable(Exception):
    """A layer (or one of its settings) has no graph op; it is recorded as unsupported."""


def _activation_name(fn: Callable | str | None) -> str:
    if fn is None:
        return "linear"
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))
    name = _ACTIVATION_ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise _Untranslatable(f"activation {name!r}")
    return name


def _channels_last(layer: layers.Layer) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise _Untranslatable("channels_first")


def _last_axis(layer: layers.Layer, rank: int) -> None:
    axis = layer.axis
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if axes not in ([-1], [rank - 1]):
        raise _Untranslatable(f"axis {axis}")


def _padding(layer: layers.Layer) -> str:
    padding = layer.padding.lower()
    if padding not in ("same", "valid"):
        raise _Untranslatable(f"padding {padding!r}")
    return padding


def _read_conv(g: GraphBuilder, layer, ins, name, rank):
    _channels_last(layer)
    if rank not in (3, 4):
        raise _Untranslatable(f"rank {rank}")
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
        raise _Untranslatable("rms_scaling")
    return g.layer_norm(ins[0], epsilon=layer.epsilon, center=layer.center, scale=layer.scale,
                        name=name)


def _read_activation(g, layer, ins, name, rank):
    return g.act(ins[0], _activation_name(layer.activation), name=name)


def _read_relu(g, layer, ins, name, rank):
    slope = float(getattr(layer, "negative_slope", 0.0) or 0.0)
    threshold = float(getattr(layer, "threshold", 0.0) or 0.0)
    max_value = layer.max_value
    if slope or threshold or max_value not in (None, 6, 6.0):
        raise _Untranslatable("relu settings")
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
        raise _Untranslatable(f"axis {layer.axis}")
    return g.concat(ins, name=name)


def _read_rescaling(g, layer, ins, name, rank):
    scale, offset = layer.scale, layer.offset
    if not all(isinstance(v, (int, float)) for v in (scale, offset)):
        raise _Untranslatable("non-scalar rescaling")
    return g.rescaling(ins[0], float(scale), float(offset), name=name)


def _read_normalization(g, layer, ins, name, rank):
    _last_axis(layer, rank)
    if len(layer.weights) != 3:
        raise _Untranslatable("normalization with constant statistics")
    return g.normalization(ins[0], name=name)


READERS: dict[str, Callable[..., str]] = {
    "Conv1D": _read_conv, "Conv2D": _read_conv,
    "DepthwiseConv1D": _read_depthwise, "DepthwiseConv2D": _read_depthwise,
    "Dense": _read_dense,
    "BatchNormalization": _read_batch_norm,
    "LayerNormalization": _read_layer_norm,
    "Activation": _read_activation, "ReLU": _read_relu, "Softmax": _read_softmax,
    "MaxPooling1D": _read_pool("max_pool"), "MaxPooling2D": _read_pool("max_pool"),
    "AveragePooling1D": _read_pool("avg_pool"), "AveragePooling2D": _read_pool("avg_pool"),
    "GlobalAveragePooling1D": _read_global_pool("global_avg_pool"),
    "GlobalAveragePooling2D": _read_global_pool("global_avg_pool"),
    "GlobalMaxPooling1D": _read_global_pool("global_max_pool"),
    "GlobalMaxPooling2D": _read_global_pool("global_max_pool"),
    "ZeroPadding1D": _read_zero_pad, "ZeroPadding2D": _read_zero_pad,
    "ChannelPad": lambda g, layer, ins, name, rank: g.channel_pad(ins[0], layer.before,
                                                                   layer.after, name=name),
    "Flatten": lambda g, layer, ins, name, rank: g.flatten(ins[0], name=name),
    "Reshape": _read_reshape,
    "Dropout": _read_dropout, "SpatialDropout1D": _read_dropout,
    "SpatialDropout2D": _read_dropout,
    "Add": lambda g, layer, ins, name, rank: g.add(ins, name=name),
    "Multiply": lambda g, layer, ins, name, rank: g.multiply(ins, name=name),
    "Concatenate": _read_concat,
    "Rescaling": _read_rescaling,
    "Normalization": _read_normalization,
}


def _static_shape(tensor: Any, what: str) -> tuple[int, ...]:
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape):
        raise UnsupportedModelError(
            f"{what} has unknown dimensions; archscale profiles static shapes only. "
            f"Received: shape={(None,) + shape}"
        )
    return tuple(int(d) for d in shape)


class _Reader:
    """Walks a (possibly nested) Keras model into one GraphBuilder."""

    def __init__(self, name: str) -> None:
        self.g = GraphBuilder(name)
        self.calls: dict[int, str] = {}  # id(layer) -> first node name (weight sharing)

    def unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.g._nodes:  # noqa: SLF001 - same package, builder internals
            candidate = f"{name}_{n}"
            n += 1
        return candidate

    def layer(self, layer: layers.Layer, ins: list[str], outputs: list[Any], prefix: str
              ) -> list[str]:
        if isinstance(layer, keras.Model):
            return self.model(layer, ins, prefix=f"{prefix}{layer.name}.")
        name = self.unique(prefix + layer.name)
        rank = len(self.g.shape(ins[0])) + 1 if ins else 0
        reader = READERS.get(type(layer).__name__)
        ref = None
        if reader is not None and len(outputs) == 1:
            try:
                ref = reader(self.g, layer, ins, name, rank)
            except (_Untranslatable, ShapeError, KeyError):
                ref = None
            if ref is not None and self.g.shape(ref) != _static_shape(outputs[0], name):
                self.g._nodes.pop(ref)  # noqa: SLF001 - disagreeing translation: do not guess
                ref = None
        if ref is not None:
            first = self.calls.setdefault(id(layer), ref)
            if first != ref:
                self.g._nodes[ref].attrs["shared_with"] = first  # noqa: SLF001
            return [ref]
        return self.unsupported(layer, ins, outputs, name)

    def unsupported(self, layer, ins, outputs, name) -> list[str]:
        first_call = id(layer) not in self.calls
        params = sum(math.prod(w.shape) for w in layer.weights) if first_call else 0
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights) if first_call else 0
        refs = []
        for i, out in enumerate(outputs):
            ref = self.g.unsupported(ins, _static_shape(out, name),
                                     name=name if i == 0 else self.unique(f"{name}:{i}"),
                                     class_name=type(layer).__name__,
                                     params=int(params) if i == 0 else 0,
                                     trainable_params=int(trainable) if i == 0 else 0)
            refs.append(ref)
        self.calls.setdefault(id(layer), refs[0])
        return refs

    def model(self, model: keras.Model, ins: list[str] | None, prefix: str = "") -> list[str]:
        functional = getattr(model, "_functional", None) or model
        if not hasattr(functional, "_nodes_by_depth") or not getattr(functional, "inputs", None):
            if ins is None:
                raise UnsupportedModelError(
                    f"model {model.name!r} is not a functional or built Sequential model; "
                    "subclassed models cannot be read layer by layer. Received: "
                    f"{type(model).__name__}")
            outputs = [model.output] if hasattr(model, "output") else []
            return self.unsupported(model, ins, outputs, self.unique(prefix.rstrip(".")))
        refs: dict[int, str] = {}
        for i, tensor in enumerate(functional.inputs):
            if ins is None:
                shape = _static_shape(tensor, f"input {tensor.name!r}")
                history = getattr(tensor, "_keras_history", None)
                name = history.operation.name if history else f"input_{i}"
                refs[id(tensor)] = self.g.input(shape, name=self.unique(name))
            else:
                refs[id(tensor)] = ins[i]
        for depth in sorted(functional._nodes_by_depth, reverse=True):  # noqa: SLF001
            for node in functional._nodes_by_depth[depth]:  # noqa: SLF001
                if node.is_input or node.operation is None:
                    continue
                if any(id(t) not in refs for t in node.input_tensors):
                    continue
                node_ins = [refs[id(t)] for t in node.input_tensors]
                out_refs = self.layer(node.operation, node_ins, list(node.outputs), prefix)
                for tensor, ref in zip(node.outputs, out_refs):
                    refs[id(tensor)] = ref
        return [refs[id(t)] for t in functional.outputs]


def from_keras(model: keras.Model) -> Graph:
    """Translate a Keras 3 model (functional, Sequential, nested) into a ``Graph``.

    Layers archscale cannot translate become ``unsupported`` nodes carrying the parameter
    counts Keras reports for them; their MACs and FLOPs are not guessed.

    Args:
        model: A built Keras model with static input shapes.

    Returns:
        The graph, named after the model.

    Raises:
        UnsupportedModelError: not a Keras model, not built, subclassed, or dynamic shapes.
    """
    if not isinstance(model, keras.Model):
        raise UnsupportedModelError(f"from_keras expects a keras.Model. Received: "
                                    f"{type(model).__name__}")
    if not model.built:
        raise UnsupportedModelError(f"model {model.name!r} is not built; call it on data or "
                                    "give it an Input first")
    reader = _Reader(model.name)
    outputs = reader.model(model, None)
    return reader.g.build(outputs)


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` (or legacy ``.h5``) model without compiling it.

    Raises:
        InputFileError: missing, unreadable or invalid model file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputFileError(f"model file not found or not a file. Received: {path!r}")
    if not path.endswith((".keras", ".h5", ".hdf5")):
        raise InputFileError(f"model files must end in .keras, .h5 or .hdf5. Received: {path!r}")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a corrupt file
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"cannot load model file {path!r}: {message}") from None
