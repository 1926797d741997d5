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
    if padding in ("same", "causal"):  # causal: left-padded by dilation x (kernel - 1)
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
    """Concatenation on ``axis`` (default: the channel axis; counted without the batch)."""
    first = ins[0]
    axis = a.get("axis", -1) % len(first)
    if any(len(s) != len(first) or s[:axis] + s[axis + 1:] != first[:axis] + first[axis + 1:]
           for s in ins):
        raise ShapeError(f"layer {name!r}: concat inputs differ off the concatenation axis. "
                         f"Received: {ins}")
    return first[:axis] + (sum(s[axis] for s in ins),) + first[axis + 1:]


def shape_separable(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Separable convolution: the depthwise step's spatial axes, ``filters`` channels."""
    (x,) = ins
    return _spatial(name, "separable_conv", x, a["kernel"], a["strides"], a["padding"],
                    a["dilation"]) + (a["filters"],)


def _deconv_out(size: int, kernel: int, stride: int, padding: str, out_pad: int | None,
                dilation: int) -> int:
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if out_pad is None:
        return size * stride + (max(kernel - stride, 0) if padding == "valid" else 0)
    pad = kernel // 2 if padding == "same" else 0
    return (size - 1) * stride + kernel - 2 * pad + out_pad


def shape_conv_transpose(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Transposed convolution: Keras' ``deconv_output_length`` per spatial axis."""
    (x,) = ins
    pads = a["output_padding"] or (None,) * len(a["kernel"])
    out = tuple(_deconv_out(s, k, st, a["padding"], p, d) for s, k, st, p, d in
                zip(x[:-1], a["kernel"], a["strides"], pads, a["dilation"]))
    if any(o <= 0 for o in out):
        raise ShapeError(f"layer {name!r} (conv_transpose) would produce an empty output. "
                         f"Received: input {x}")
    return out + (a["filters"],)


def shape_embedding(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Embedding: one ``output_dim`` vector per input index."""
    return ins[0] + (a["output_dim"],)


def shape_upsample(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Up-sampling: each spatial axis times its ``size``."""
    (x,) = ins
    return tuple(s * f for s, f in zip(x[:-1], a["size"])) + (x[-1],)


def shape_slice(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Slicing (cropping, ``x[...]``): ``index`` holds, per leading axis (batch excluded), an
    int (the axis is dropped), a ``(start, stop, step)`` or ``None`` (a new size-1 axis);
    the other axes are kept."""
    (x,) = ins
    index = tuple(a["index"])
    if sum(k is not None for k in index) > len(x):
        raise ShapeError(f"layer {name!r}: too many indices for shape {x}. Received: {index}")
    out, axis = [], 0
    for key in index:
        if key is None:
            out.append(1)
            continue
        size = x[axis]
        axis += 1
        if isinstance(key, int):
            if not -size <= key < size:
                raise ShapeError(f"layer {name!r}: index {key} out of range for size {size}")
            continue
        length = len(range(size)[slice(*key)])
        if length <= 0:
            raise ShapeError(f"layer {name!r} would produce an empty output. Received: {key}")
        out.append(length)
    return tuple(out) + x[axis:]


def shape_transpose(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Transpose (Keras ``Permute``): ``perm`` over the non-batch axes, 0-based."""
    (x,) = ins
    perm = tuple(a["perm"])
    if sorted(perm) != list(range(len(x))):
        raise ShapeError(f"layer {name!r}: perm must reorder {len(x)} axes. Received: {perm}")
    return tuple(x[p] for p in perm)


def shape_repeat(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """RepeatVector: ``(n,) + input``."""
    return (a["n"],) + ins[0]


def shape_broadcast(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Element-wise op of one or more tensors (plus scalar constants), NumPy broadcasting."""
    rank = max(len(s) for s in ins)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in ins]
    out = []
    for dims in zip(*padded):
        big = set(d for d in dims if d != 1) or {1}
        if len(big) > 1:
            raise ShapeError(f"layer {name!r}: input shapes do not broadcast. Received: {ins}")
        out.append(big.pop())
    return tuple(out)


def shape_reduce(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Reduction (mean, sum, any, ...) over ``axes`` (non-batch, 0-based)."""
    (x,) = ins
    axes = set(a["axes"])
    if a["keepdims"]:
        return tuple(1 if i in axes else s for i, s in enumerate(x))
    return tuple(s for i, s in enumerate(x) if i not in axes)


def shape_attention(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Attention: one output per query position, ``output_dim`` (default: value's) wide."""
    query, value = ins[0], ins[1]
    if len(query) != 2 or len(value) != 2:
        raise ShapeError(f"layer {name!r}: attention over one sequence axis only. "
                         f"Received: {ins}")
    return query[:-1] + (a.get("output_dim") or value[-1],)


def shape_rnn(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """Recurrent layer over (steps, features): the last state, or every step's."""
    x = ins[0]
    if len(x) != 2:
        raise ShapeError(f"layer {name!r}: recurrent input must be (steps, features). "
                         f"Received: {x}")
    width = a["units"] * (2 if a["directions"] == 2 and a["merge_mode"] == "concat" else 1)
    return (x[0], width) if a["return_sequences"] else (width,)



def einsum_letters(name: str, a: Mapping[str, Any], x: Shape) -> tuple[str, str, str,
                                                                        dict[str, int]]:
    """EinsumDense's ``equation`` as (input, kernel, output) letters (``...`` expanded) and the
    size of every letter except the input's first (the batch), from the input shape and
    ``output_shape`` (Keras: the output without the batch axis, ``None`` where it is the
    input's)."""
    lhs, out = a["equation"].replace(" ", "").split("->")
    inp, ker = lhs.split(",")
    if "..." in inp:
        fill = "".join(chr(ord("A") + i) for i in range(len(x) + 1 - (len(inp) - 3)))
        inp, out = inp.replace("...", fill), out.replace("...", fill)
    target = tuple(a["output_shape"])
    if len(inp) != len(x) + 1 or len(out) != len(target) + 1:
        raise ShapeError(f"layer {name!r}: equation {a['equation']!r} does not fit input {x} "
                         f"and output_shape {target}")
    sizes = dict(zip(inp[1:], x))
    for letter, size in zip(out[1:], target):
        if letter in sizes and size not in (None, sizes[letter]):
            raise ShapeError(f"layer {name!r}: output_shape {target} disagrees with input {x}")
        sizes.setdefault(letter, size)
    if any(sizes.get(k) is None for k in ker) or any(sizes.get(k) is None for k in out[1:]):
        raise ShapeError(f"layer {name!r}: cannot size equation {a['equation']!r}")
    return inp, ker, out, sizes


def shape_einsum(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """EinsumDense: the output letters' sizes."""
    _, _, out, sizes = einsum_letters(name, a, ins[0])
    return tuple(sizes[k] for k in out[1:])


# ---------------------------------------------------------------------------------------------
# Transformer front ends (issue 17, fam17b)
# ---------------------------------------------------------------------------------------------


def shape_class_token(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """A learned token prepended to a ``(length, dim)`` sequence: ``(length + 1, dim)``."""
    (x,) = ins
    if len(x) != 2:
        raise ShapeError(f"layer {name!r} needs a (length, dim) input. Received: {x}")
    return (x[0] + 1, x[1])


def shape_position_embedding(name: str, a: Mapping[str, Any], ins: list[Shape]) -> Shape:
    """A learned ``(length, dim)`` tensor added to a ``(length, dim)`` sequence."""
    (x,) = ins
    if len(x) != 2:
        raise ShapeError(f"layer {name!r} needs a (length, dim) input. Received: {x}")
    return x
