"""Shape inference: one function per op, ``(layer name, attributes, input shapes) -> shape``.

Shapes exclude the batch axis and are channels-last. A layer that would produce an empty or
negative size raises ``ShapeError`` naming the layer. Which op uses which rule is
``archscale.ops.OP_RULES``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

from archscale.errors import ShapeError

Shape = tuple[int, ...]

#: ``(layer name, attributes, input shapes) -> output shape``; raises ``ShapeError``.
ShapeRule = Callable[[str, Mapping[str, Any], list[Shape]], Shape]


def _conv_out(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    effective = dilation * (kernel - 1) + 1
    return (size - effective) // stride + 1


def _spatial(name: str, op: str, in_shape: Shape, kernel: Sequence[int], strides: Sequence[int],
             padding: str, dilation: Sequence[int]) -> tuple[int, ...]:
    out = tuple(
        _conv_out(s, k, st, padding, d)
        for s, k, st, d in zip(in_shape[:-1], kernel, strides, dilation)
    )
    if any(o <= 0 for o in out):
        raise ShapeError(
            f"layer {name!r} ({op}) would produce an empty output: input {in_shape} is too small "
            f"for kernel {tuple(kernel)}, strides {tuple(strides)}, padding {padding!r}. "
            f"Received: input spatial size {in_shape[:-1]}"
        )
    return out


def shape_conv(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Convolution: spatial axes from kernel/strides/padding/dilation, ``filters`` channels."""
    (x,) = ins
    if x[-1] % a["groups"] or a["filters"] % a["groups"]:
        raise ShapeError(
            f"layer {name!r}: input channels ({x[-1]}) and filters ({a['filters']}) must be "
            f"divisible by groups. Received: groups={a['groups']}"
        )
    return _spatial(name, "conv", x, a["kernel"], a["strides"], a["padding"], a["dilation"]) + (
        a["filters"],
    )


def shape_depthwise(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Depthwise convolution: channels times ``depth_multiplier``."""
    (x,) = ins
    sp = _spatial(name, "depthwise_conv", x, a["kernel"], a["strides"], a["padding"],
                  a["dilation"])
    return sp + (x[-1] * a["depth_multiplier"],)


def shape_pool(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Max/average pooling: spatial axes from pool/strides/padding, channels kept."""
    (x,) = ins
    ones = (1,) * len(a["pool"])
    return _spatial(name, "pool", x, a["pool"], a["strides"], a["padding"], ones) + (x[-1],)


def shape_global_pool(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Global pooling: the channels, with size-1 spatial axes if ``keepdims``."""
    (x,) = ins
    return (1,) * (len(x) - 1) + (x[-1],) if a.get("keepdims") else (x[-1],)


def shape_zero_pad(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Zero padding: each spatial axis grows by its (lo, hi)."""
    (x,) = ins
    return tuple(s + lo + hi for s, (lo, hi) in zip(x[:-1], a["padding"])) + (x[-1],)


def shape_channel_pad(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Channel padding: the channel axis grows by ``before + after``."""
    (x,) = ins
    return x[:-1] + (x[-1] + a["before"] + a["after"],)


def shape_dense(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Dense: the last axis becomes ``units``."""
    (x,) = ins
    return x[:-1] + (a["units"],)


def shape_same(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Shape-preserving ops (normalisation, activation, dropout, rescaling)."""
    return ins[0]


def shape_flatten(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Flatten: one axis of all elements."""
    return (math.prod(ins[0]),)


def shape_reshape(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Reshape to ``target`` (same number of elements)."""
    target = tuple(a["target"])
    if math.prod(target) != math.prod(ins[0]):
        raise ShapeError(
            f"layer {name!r}: cannot reshape {ins[0]} to {target}. Received: target={target}"
        )
    return target


def shape_elementwise(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Element-wise add/multiply of two or more inputs, broadcasting size-1 axes."""
    if len(ins) < 2:
        raise ShapeError(f"layer {name!r} needs at least two inputs. Received: {len(ins)}")
    rank = len(ins[0])
    if any(len(s) != rank for s in ins):
        raise ShapeError(f"layer {name!r}: inputs must have equal rank. Received: {ins}")
    out = []
    for dims in zip(*ins):
        big = set(d for d in dims if d != 1) or {1}
        if len(big) > 1:
            raise ShapeError(f"layer {name!r}: input shapes do not match. Received: {ins}")
        out.append(big.pop())
    return tuple(out)


def shape_concat(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Concatenation on the channel axis."""
    first = ins[0]
    if any(s[:-1] != first[:-1] for s in ins):
        raise ShapeError(f"layer {name!r}: concat inputs differ off the channel axis. "
                         f"Received: {ins}")
    return first[:-1] + (sum(s[-1] for s in ins),)

