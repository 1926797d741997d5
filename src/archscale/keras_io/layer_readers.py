"""Readers of Keras' convolution, pooling, normalisation, activation, shape and merge layers:
``(builder, layer config, input node names, node name, input rank with the batch, call) ->
node name``. Each reads the serialised config only (no Keras import) and raises
``Untranslatable`` for settings its op cannot express.
"""

from __future__ import annotations

import math

from archscale.errors import ShapeError
from archscale.graph import GraphBuilder
from archscale.keras_io.config_values import (Untranslatable, activation_name, adaptations,
                                              channels_last, ints, last_axis, padding)


def with_activation(g: GraphBuilder, ref: str, value, name: str) -> str:
    """A weighted node's activation: fused if archscale knows it; otherwise the node is kept
    (its MACs count) and only the activation is listed as unsupported."""
    try:
        activation_name(value)
        return ref
    except Untranslatable:
        fn = value if isinstance(value, str) else str((value or {}).get("config", value))
        return g.unsupported([ref], g.shape(ref), name=f"{name}.activation",
                             class_name=f"activation {fn}", params=0, trainable_params=0)


def _fused(value) -> str:
    try:
        return activation_name(value)
    except Untranslatable:
        return "linear"


def read_conv(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    n = rank - 2
    pad = padding(c, ("same", "valid", "causal") if n == 1 else ("same", "valid"))
    ref = g.conv(ins[0], c["filters"], ints(c["kernel_size"], n), ints(c["strides"], n),
                 padding=pad, dilation=ints(c.get("dilation_rate", 1), n),
                 groups=c.get("groups", 1), use_bias=c["use_bias"],
                 activation=_fused(c.get("activation")), name=name)
    return with_activation(g, ref, c.get("activation"), name)


def read_depthwise(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    n = rank - 2
    ref = g.depthwise_conv(ins[0], ints(c["kernel_size"], n), ints(c["strides"], n),
                           padding=padding(c), dilation=ints(c.get("dilation_rate", 1), n),
                           depth_multiplier=c.get("depth_multiplier", 1),
                           use_bias=c["use_bias"], activation=_fused(c.get("activation")),
                           name=name)
    return with_activation(g, ref, c.get("activation"), name)


def read_separable(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    n = rank - 2
    ref = g.layer("separable_conv", ins[0], name=name, filters=c["filters"],
                  kernel=ints(c["kernel_size"], n), strides=ints(c["strides"], n),
                  padding=padding(c), dilation=ints(c.get("dilation_rate", 1), n),
                  depth_multiplier=c.get("depth_multiplier", 1), use_bias=c["use_bias"],
                  activation=_fused(c.get("activation")))
    return with_activation(g, ref, c.get("activation"), name)


def read_conv_transpose(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    n = rank - 2
    out_pad = c.get("output_padding")
    ref = g.layer("conv_transpose", ins[0], name=name, filters=c["filters"],
                  kernel=ints(c["kernel_size"], n), strides=ints(c["strides"], n),
                  padding=padding(c), dilation=ints(c.get("dilation_rate", 1), n),
                  output_padding=None if out_pad is None else ints(out_pad, n),
                  use_bias=c["use_bias"], activation=_fused(c.get("activation")))
    if any(d != 1 for d in ints(c.get("dilation_rate", 1), n)):
        raise Untranslatable("dilated transposed convolution")
    return with_activation(g, ref, c.get("activation"), name)


def read_dense(g: GraphBuilder, c, ins, name, rank, call):
    ref = g.layer("dense", ins[0], name=name, units=c["units"], use_bias=c["use_bias"],
                  activation=_fused(c.get("activation")), **adaptations(c))
    return with_activation(g, ref, c.get("activation"), name)


def read_batch_norm(g: GraphBuilder, c, ins, name, rank, call):
    last_axis(c, rank)
    return g.batch_norm(ins[0], epsilon=c["epsilon"], momentum=c["momentum"],
                        center=c["center"], scale=c["scale"], name=name)


def read_layer_norm(g: GraphBuilder, c, ins, name, rank, call):
    last_axis(c, rank)
    if c.get("rms_scaling"):
        raise Untranslatable("rms_scaling")
    return g.layer_norm(ins[0], epsilon=c["epsilon"], center=c.get("center", True),
                        scale=c.get("scale", True), name=name)


def read_group_norm(g: GraphBuilder, c, ins, name, rank, call):
    last_axis(c, rank)
    return g.layer("group_norm", ins[0], name=name, groups=c["groups"], epsilon=c["epsilon"],
                   center=c.get("center", True), scale=c.get("scale", True))


def read_unit_norm(g: GraphBuilder, c, ins, name, rank, call):
    last_axis(c, rank)
    return g.layer("unit_norm", ins[0], name=name)


def read_activation(g: GraphBuilder, c, ins, name, rank, call):
    return g.act(ins[0], activation_name(c.get("activation")), name=name)


def read_relu(g: GraphBuilder, c, ins, name, rank, call):
    slope = float(c.get("negative_slope") or 0.0)
    if float(c.get("threshold") or 0.0) or c.get("max_value") not in (None, 6, 6.0):
        raise Untranslatable("relu settings")
    if slope:
        if c.get("max_value") is not None:
            raise Untranslatable("relu settings")
        return g.act(ins[0], "leaky_relu", name=name)
    return g.act(ins[0], "relu6" if c.get("max_value") is not None else "relu", name=name)


def read_named_activation(fn: str):
    """A layer that is one activation whatever its settings' values (LeakyReLU, ELU)."""
    def read(g: GraphBuilder, c, ins, name, rank, call):
        return g.act(ins[0], fn, name=name)
    return read


def read_softmax(g: GraphBuilder, c, ins, name, rank, call):
    last_axis(c, rank)
    return g.act(ins[0], "softmax", name=name)


def read_prelu(g: GraphBuilder, c, ins, name, rank, call):
    shared = c.get("shared_axes") or ()
    shared = (shared,) if isinstance(shared, int) else tuple(shared)
    return g.layer("prelu", ins[0], name=name, shared_axes=tuple(int(a) for a in shared))


def read_pool(op: str):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        channels_last(c)
        n = rank - 2
        pool = ints(c["pool_size"], n)
        strides = pool if c.get("strides") is None else ints(c["strides"], n)
        return g.layer(op, ins[0], name=name, pool=pool, strides=strides, padding=padding(c))
    return read


def read_global_pool(op: str):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        channels_last(c)
        return g.layer(op, ins[0], name=name, keepdims=bool(c.get("keepdims", False)))
    return read


def _pairs(value, n: int) -> tuple[tuple[int, int], ...]:
    if isinstance(value, int):
        return ((value, value),) * n
    items = tuple(value)
    if n == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        return (tuple(items),)
    pairs = tuple((p, p) if isinstance(p, int) else tuple(p) for p in items)
    if len(pairs) != n:
        raise Untranslatable(f"padding {value}")
    return pairs


def read_zero_pad(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    return g.zero_pad(ins[0], _pairs(c["padding"], rank - 2), name=name)


def read_cropping(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    shape = g.shape(ins[0])
    pairs = _pairs(c["cropping"], rank - 2)
    index = tuple((lo, size - hi, 1) for (lo, hi), size in zip(pairs, shape))
    return g.layer("slice", ins[0], name=name, index=index, crop=tuple(map(tuple, pairs)))


def read_upsample(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    n = rank - 2
    size = ints(c.get("size", 2) if "size" in c else c.get("length", 2), n)
    return g.layer("upsample", ins[0], name=name, size=size,
                   interpolation=c.get("interpolation", "nearest"))


def read_reshape(g: GraphBuilder, c, ins, name, rank, call):
    return reshape_to(g, ins[0], tuple(c["target_shape"]), name)


def reshape_to(g: GraphBuilder, x: str, target: tuple, name: str) -> str:
    """A reshape node, ``-1`` (at most one) resolved from the input's size."""
    if list(target).count(-1) > 1 or any(d is None for d in target):
        raise Untranslatable(f"reshape target {target}")
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target = tuple(math.prod(g.shape(x)) // known if d == -1 else d for d in target)
    return g.reshape(x, target, name=name)


def read_permute(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("transpose", ins[0], name=name, perm=tuple(int(d) - 1 for d in c["dims"]))


def read_repeat(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("repeat", ins[0], name=name, n=int(c["n"]))


def read_identity(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("identity", ins[0], name=name)


def read_dropout(g: GraphBuilder, c, ins, name, rank, call):
    return g.dropout(ins[0], float(c["rate"]), name=name)


def read_concat(g: GraphBuilder, c, ins, name, rank, call):
    axis = c.get("axis", -1)
    if axis == 0:
        raise Untranslatable("concatenation on the batch axis")
    return g.layer("concat", ins, name=name, **({} if axis in (-1, rank - 1) else
                                                {"axis": axis - 1 if axis > 0 else axis}))


def read_rescaling(g: GraphBuilder, c, ins, name, rank, call):
    scale, offset = c.get("scale", 1.0), c.get("offset", 0.0)
    if not all(isinstance(v, (int, float)) for v in (scale, offset)):
        raise Untranslatable("non-scalar rescaling")
    return g.rescaling(ins[0], float(scale), float(offset), name=name)


def read_normalization(g: GraphBuilder, c, ins, name, rank, call):
    last_axis(c, rank)
    if c.get("invert"):
        raise Untranslatable("inverted normalization")
    if c.get("mean") is not None or c.get("variance") is not None:
        # constant statistics (ConvNeXt's pre-stem): no weights, subtract and divide
        return g.layer("elementwise", ins, name=name, fn="normalize", constants=2,
                       mean=_floats(c.get("mean")), variance=_floats(c.get("variance")))
    return g.normalization(ins[0], name=name)


def _floats(value) -> tuple[float, ...]:
    """A serialised statistic (a number or a list of them) as a tuple of floats."""
    if isinstance(value, (int, float)):
        return (float(value),)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float))
                                                       for v in value):
        raise Untranslatable(f"normalization statistics {value!r}")
    return tuple(float(v) for v in value)


def read_channel_pad(g: GraphBuilder, c, ins, name, rank, call):
    return g.channel_pad(ins[0], c["before"], c["after"], name=name)


def read_flatten(g: GraphBuilder, c, ins, name, rank, call):
    channels_last(c)
    return g.flatten(ins[0], name=name)


def read_merge(fn: str):
    """Merge layers: ``add``/``multiply`` keep their ops; the others are ``elementwise``."""
    def read(g: GraphBuilder, c, ins, name, rank, call):
        if fn in ("add", "multiply"):
            return g.layer(fn, ins, name=name)
        return g.layer("elementwise", ins, name=name, fn=fn, constants=0)
    return read


def read_masking(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("elementwise", ins, name=name, fn="masking", constants=1)


def read_layer_scale(g: GraphBuilder, c, ins, name, rank, call):
    if g.shape(ins[0])[-1] != c.get("projection_dim", g.shape(ins[0])[-1]):
        raise ShapeError(f"layer {name!r}: projection_dim differs from the channels")
    return g.layer("scale", ins[0], name=name)


def read_custom_scale(g: GraphBuilder, c, ins, name, rank, call):
    """InceptionResNetV2's ``CustomScaleLayer``: ``inputs[0] + inputs[1] * scale``."""
    if len(ins) != 2 or not isinstance(c.get("scale"), (int, float)):
        raise Untranslatable("CustomScaleLayer call")
    return g.layer("elementwise", ins, name=name, fn="scaled_add", constants=1,
                   scale=c["scale"])


# -- transformer front ends (issue 17, fam17b) ------------------------------------------------


def read_class_token(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("class_token", ins[0], name=name)


def read_position_embedding(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("position_embedding", ins[0], name=name)
