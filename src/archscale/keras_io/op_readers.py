"""Readers of Keras *operations* applied to symbolic tensors in a functional model (``x + 3.0``,
``x[:, 0]``, ``keras.ops.transpose``, the ``NotEqual`` mask op of ``Embedding(mask_zero=True)``):
they are ``keras.src.ops`` classes, not layers, and carry no weights.

``OPERATION_READERS`` maps an operation's class name to its reader; an operation without one
becomes an ``unsupported`` node with no weights.
"""

from __future__ import annotations

from typing import Any, Mapping

from archscale.graph import GraphBuilder
from archscale.keras_io.config_values import TensorArg, Untranslatable
from archscale.keras_io.layer_readers import reshape_to

#: Element-wise operations: class name -> fn.
ELEMENTWISE_OPS = {
    name: name.lower() for name in (
        "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power",
        "NotEqual", "Equal", "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalAnd",
        "LogicalOr", "LogicalNot", "Negative", "Abs", "Absolute", "Sqrt", "Square", "Exp",
        "Log", "Reciprocal", "Sign", "Clip", "Where")
}

#: Activation operations (``keras.ops.relu`` and ``keras.activations`` on tensors): class
#: name -> archscale activation.
ACTIVATION_OPS = {
    "Relu": "relu", "Relu6": "relu6", "Sigmoid": "sigmoid", "Tanh": "tanh", "Silu": "swish",
    "Swish": "swish", "HardSigmoid": "hard_sigmoid", "HardSilu": "hard_swish",
    "HardSwish": "hard_swish", "Gelu": "gelu", "Softmax": "softmax", "Softplus": "softplus",
    "Softsign": "softsign", "Elu": "elu", "Selu": "selu", "LeakyRelu": "leaky_relu",
    "Mish": "mish", "LogSoftmax": "log_softmax", "HardTanh": "hard_tanh",
}


def _elementwise(fn: str):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        if not ins:
            raise Untranslatable("no tensor operand")
        constants = sum(1 for a in call.args if isinstance(a, (int, float, bool)))
        if fn == "clip":
            constants = 0
        return g.layer("elementwise", ins, name=name, fn=fn, constants=constants)
    return read


def _activation(fn: str):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        axis = c.get("axis", call.kwargs.get("axis", -1))
        if fn in ("softmax", "log_softmax") and axis not in (-1, rank - 1, None):
            raise Untranslatable(f"axis {axis}")
        return g.act(ins[0], fn, name=name)
    return read


def _axis(c: Mapping[str, Any], call, position: int, default: Any) -> Any:
    if "axis" in c:
        return c["axis"]
    if len(call.args) > position and not isinstance(call.args[position], TensorArg):
        return call.args[position]
    return call.kwargs.get("axis", default)


def read_concatenate(g: GraphBuilder, c, ins, name, rank, call):
    axis = _axis(c, call, 1, 0)
    if axis == 0 or (axis < 0 and axis + rank == 0):
        raise Untranslatable("concatenation on the batch axis")
    attrs = {} if axis in (-1, rank - 1) else {"axis": axis - 1 if axis > 0 else axis}
    return g.layer("concat", ins, name=name, **attrs)


def read_reshape(g: GraphBuilder, c, ins, name, rank, call):
    shape = c.get("newshape", c.get("new_shape"))
    if shape is None and len(call.args) > 1:
        shape = call.args[1]
    shape = tuple(shape)
    if not shape or shape[0] not in (-1, None):
        raise Untranslatable(f"reshape of the batch axis: {shape}")
    return reshape_to(g, ins[0], shape[1:], name)


def read_expand_dims(g: GraphBuilder, c, ins, name, rank, call):
    axis = _axis(c, call, 1, None)
    if not isinstance(axis, int):
        raise Untranslatable(f"axis {axis}")
    shape = list(g.shape(ins[0]))
    position = axis if axis >= 0 else rank + 1 + axis
    if position == 0:
        raise Untranslatable("expand_dims at the batch axis")
    shape.insert(position - 1, 1)
    return g.reshape(ins[0], tuple(shape), name=name)


def read_squeeze(g: GraphBuilder, c, ins, name, rank, call):
    axis = _axis(c, call, 1, None)
    shape = list(g.shape(ins[0]))
    axes = range(len(shape)) if axis is None else \
        [(a if a >= 0 else rank + a) - 1 for a in ((axis,) if isinstance(axis, int) else axis)]
    if any(a < 0 or shape[a] != 1 for a in axes):
        raise Untranslatable(f"squeeze axis {axis}")
    return g.reshape(ins[0], tuple(s for i, s in enumerate(shape) if i not in set(axes)),
                     name=name)


def read_transpose(g: GraphBuilder, c, ins, name, rank, call):
    axes = c.get("axes")
    if axes is None and len(call.args) > 1:
        axes = call.args[1]
    axes = tuple(range(rank))[::-1] if axes is None else tuple(a % rank for a in axes)
    if axes[0] != 0:
        raise Untranslatable("transpose of the batch axis")
    return g.layer("transpose", ins[0], name=name, perm=tuple(a - 1 for a in axes[1:]))


def _index_key(key: Any) -> tuple:
    items = key if isinstance(key, (list, tuple)) else [key]
    out = []
    for item in items:
        if isinstance(item, Mapping) and item.get("class_name") == "__slice__":
            conf = item["config"]
            out.append((conf.get("start"), conf.get("stop"), conf.get("step")))
        elif item is None:
            out.append(None)
        elif isinstance(item, bool) or not isinstance(item, int):
            raise Untranslatable(f"index {item!r}")
        else:
            out.append(item)
    return tuple(out)


def read_get_item(g: GraphBuilder, c, ins, name, rank, call):
    if len(call.args) < 2:
        raise Untranslatable("no index")
    key = _index_key(call.args[1])
    if not key or key[0] != (None, None, None):
        raise Untranslatable("indexing the batch axis")
    return g.layer("slice", ins[0], name=name, index=key[1:])


def _reduce(fn: str):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        axis = _axis(c, call, 1, None)
        axes = range(1, rank) if axis is None else \
            ((axis,) if isinstance(axis, int) else tuple(axis))
        axes = tuple(a % rank for a in axes)
        if 0 in axes:
            raise Untranslatable("reduction over the batch axis")
        keepdims = bool(c.get("keepdims", call.kwargs.get("keepdims", False)))
        return g.layer("reduce", ins[0], name=name, fn=fn, axes=tuple(a - 1 for a in axes),
                       keepdims=keepdims)
    return read


#: Keras operation class name -> reader.
OPERATION_READERS = {
    **{name: _elementwise(fn) for name, fn in ELEMENTWISE_OPS.items()},
    **{name: _activation(fn) for name, fn in ACTIVATION_OPS.items()},
    "Concatenate": read_concatenate,
    "Reshape": read_reshape,
    "ExpandDims": read_expand_dims,
    "Squeeze": read_squeeze,
    "Transpose": read_transpose,
    "GetItem": read_get_item,
    **{name: _reduce(name.lower()) for name in ("Any", "All", "Mean", "Sum", "Max", "Min",
                                                 "Prod")},
}
