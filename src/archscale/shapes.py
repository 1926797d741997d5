"""Shape inference: one function per op, ``(layer name, attributes, input shapes) -> shape``.

Shapes exclude the batch axis and are channels-last. A layer that would produce an empty or
negative size raises ``ShapeError`` naming the layer.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

from archscale.errors import ShapeError

Shape = tuple[int, ...]


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


def _shape_conv(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    if x[-1] % a["groups"] or a["filters"] % a["groups"]:
        raise ShapeError(
            f"layer {name!r}: input channels ({x[-1]}) and filters ({a['filters']}) must be "
            f"divisible by groups. Received: groups={a['groups']}"
        )
    return _spatial(name, "conv", x, a["kernel"], a["strides"], a["padding"], a["dilation"]) + (
        a["filters"],
    )


def _shape_depthwise(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    sp = _spatial(name, "depthwise_conv", x, a["kernel"], a["strides"], a["padding"],
                  a["dilation"])
    return sp + (x[-1] * a["depth_multiplier"],)


def _shape_pool(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    ones = (1,) * len(a["pool"])
    return _spatial(name, "pool", x, a["pool"], a["strides"], a["padding"], ones) + (x[-1],)


def _shape_global_pool(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    return (1,) * (len(x) - 1) + (x[-1],) if a.get("keepdims") else (x[-1],)


def _shape_zero_pad(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    return tuple(s + lo + hi for s, (lo, hi) in zip(x[:-1], a["padding"])) + (x[-1],)


def _shape_channel_pad(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    return x[:-1] + (x[-1] + a["before"] + a["after"],)


def _shape_dense(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    (x,) = ins
    return x[:-1] + (a["units"],)


def _shape_same(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    return ins[0]


def _shape_flatten(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    return (math.prod(ins[0]),)


def _shape_reshape(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    target = tuple(a["target"])
    if math.prod(target) != math.prod(ins[0]):
        raise ShapeError(
            f"layer {name!r}: cannot reshape {ins[0]} to {target}. Received: target={target}"
        )
    return target


def _shape_elementwise(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
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


def _shape_concat(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    first = ins[0]
    if any(s[:-1] != first[:-1] for s in ins):
        raise ShapeError(f"layer {name!r}: concat inputs differ off the channel axis. "
                         f"Received: {ins}")
    return first[:-1] + (sum(s[-1] for s in ins),)


SHAPE_RULES: dict[str, Callable[[str, Mapping[str, Any], list[Shape]], Shape]] = {
    "conv": _shape_conv,
    "depthwise_conv": _shape_depthwise,
    "dense": _shape_dense,
    "batch_norm": _shape_same,
    "layer_norm": _shape_same,
    "activation": _shape_same,
    "max_pool": _shape_pool,
    "avg_pool": _shape_pool,
    "global_avg_pool": _shape_global_pool,
    "global_max_pool": _shape_global_pool,
    "zero_pad": _shape_zero_pad,
    "channel_pad": _shape_channel_pad,
    "flatten": _shape_flatten,
    "reshape": _shape_reshape,
    "dropout": _shape_same,
    "add": _shape_elementwise,
    "multiply": _shape_elementwise,
    "concat": _shape_concat,
    "rescaling": _shape_same,
    "normalization": _shape_same,
}

OPS = ("input",) + tuple(SHAPE_RULES) + ("unsupported",)
