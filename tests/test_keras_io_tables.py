"""keras_io's emitter and reader tables are keyed by the op names of ``archscale.ops``: every op
is emitted and read back, and every reader produces the op its table entry declares."""

from __future__ import annotations

import pytest

from archscale.ops import OPS

pytestmark = pytest.mark.tf

#: Ops without a Keras emitter or reader, and why.
NOT_EMITTED = {
    "input": "to_keras makes it with keras.Input, not a layer",
    "reduce": "read from keras.ops reductions (mean, any, ...); no family builds it",
    "unsupported": "it stands for a Keras layer archscale cannot translate",
}
NOT_READ = {
    "reduce": "read from Keras operations (OPERATION_READERS), not from a layer class",
    "input": "from_keras makes it from the model's input tensors, not from a layer",
    "unsupported": "the fallback for every layer without a reader",
}


#: Constructor calls of the READERS classes that need arguments (the rest take none).
_ARGS = {
    "Conv": (3, 3), "DepthwiseConv": (3,), "SeparableConv": (3, 3), "Dense": (3,),
    "EinsumDense": ("ab,bc->ac", 3), "Embedding": (10, 3), "MultiHeadAttention": (2, 3),
    "LSTM": (3,), "GRU": (3,), "SimpleRNN": (3,), "Activation": ("relu",), "MaxPooling": (2,),
    "AveragePooling": (2,), "ZeroPadding": (1,), "Cropping": (1,), "UpSampling": (2,),
    "Reshape": ((2, -1),), "Permute": ((2, 1),), "RepeatVector": (2,), "Dropout": (0.5,),
    "GaussianDropout": (0.5,), "AlphaDropout": (0.5,), "SpatialDropout": (0.5,),
    "GaussianNoise": (0.1,), "Rescaling": (0.5,), "GroupNormalization": (2,),
    "RandomRotation": (0.1,), "RandomZoom": (0.1,), "RandomContrast": (0.1,),
    "RandomTranslation": (0.1, 0.1), "RandomBrightness": (0.1,), "RandomHue": (0.1, (0, 1)),
    "RandomSaturation": (0.1,), "RandomSharpness": (0.1,), "RandomShear": (0.1,),
    "RandomGaussianBlur": (0.1,), "RandomColorDegeneration": (0.1,),
    "RandomPosterization": ((1, 8),), "RandomErasing": (0.1,), "RandomPerspective": (0.1,),
}
#: Input shapes by the class's rank suffix; image layers otherwise.
_RANK_SHAPES = {"1D": (8, 4), "2D": (6, 6, 4), "3D": (4, 4, 4, 2)}
_IMAGE = (6, 6, 3)
_SEQUENCE = ("Dense", "EinsumDense", "LSTM", "GRU", "SimpleRNN", "Bidirectional",
             "TimeDistributed", "MultiHeadAttention", "Attention", "AdditiveAttention",
             "LayerNormalization", "Softmax", "Masking", "Permute", "Reshape", "Activation",
             "UnitNormalization", "GroupNormalization", "PReLU", "LeakyReLU", "ELU", "ReLU", "Dropout",
             "GaussianDropout", "AlphaDropout", "GaussianNoise", "ActivityRegularization",
             "Identity", "Add", "Multiply", "Subtract", "Average", "Maximum", "Minimum",
             "Concatenate", "Rescaling", "Normalization", "Flatten")


def _sample(class_name):
    """(input shape, input dtype, layer) for one READERS class."""
    from keras import layers

    from archscale.keras_io.layers import ChannelPad

    if class_name == "ChannelPad":
        return (4, 4, 2), None, ChannelPad(1, 1)
    if class_name == "LayerScale":
        from keras.src.applications.convnext import LayerScale
        return (4, 4, 2), None, LayerScale(1e-6, 2)
    if class_name in ("ClassToken", "PositionEmbedding"):  # fam17b: transformer front ends
        from archscale.keras_io import layers as own
        return (6, 4), None, getattr(own, class_name)()
    if class_name == "CustomScaleLayer":
        from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
        return (4, 4, 2), None, CustomScaleLayer(0.17)
    if class_name == "Bidirectional":
        return (8, 4), None, layers.Bidirectional(layers.LSTM(3))
    if class_name == "TimeDistributed":
        return (8, 4), None, layers.TimeDistributed(layers.Dense(3))
    if class_name == "Embedding":
        return (8,), "int32", layers.Embedding(10, 3)
    if class_name == "EinsumDense":
        return (8, 4), None, layers.EinsumDense("abc,cd->abd", (8, 3), bias_axes="d")
    if class_name == "RepeatVector":
        return (4,), None, layers.RepeatVector(2)
    stem = class_name.rstrip("D").rstrip("123") if class_name[-2:] in _RANK_SHAPES else \
        class_name
    stem = stem.replace("Transpose", "")
    args = _ARGS.get(class_name, _ARGS.get(stem, ()))
    if class_name.startswith("Conv") and "Transpose" in class_name:
        args = (3, 3)
    shape = _RANK_SHAPES.get(class_name[-2:]) or _RANK_SHAPES.get(class_name[-11:-9]) or \
        ((8, 4) if class_name in _SEQUENCE else _IMAGE)
    return shape, None, getattr(layers, class_name)(*args)


_MULTI_INPUT = ("CustomScaleLayer", "Add", "Multiply", "Subtract", "Average", "Maximum", "Minimum", "Concatenate",
                "Attention", "AdditiveAttention")


def test_every_op_has_an_emitter_and_a_reader():
    from archscale.keras_io.emit import EMITTERS
    from archscale.keras_io.readers import READERS

    assert set(EMITTERS) <= set(OPS)
    assert {r.op for r in READERS.values()} <= set(OPS)
    for op in OPS:
        assert (op in EMITTERS) != (op in NOT_EMITTED), op
        assert any(r.op == op for r in READERS.values()) != (op in NOT_READ), op


def test_every_reader_produces_the_op_it_declares():
    import keras

    from archscale.keras_io import from_keras
    from archscale.keras_io.readers import READERS

    for class_name in READERS:
        shape, dtype, layer = _sample(class_name)
        x = keras.Input(shape, dtype=dtype)
        if class_name in _MULTI_INPUT:
            y = layer([x, x])
        elif class_name == "MultiHeadAttention":
            y = layer(x, x)
        else:
            y = layer(x)
        graph = from_keras(keras.Model(x, y))
        node = graph.node(layer.name)
        assert node.op == READERS[class_name].op, class_name


#: One small graph per emitted op: (input shape, GraphBuilder call on the input node).
_SAMPLE_NODES = {
    "conv": ((6, 6, 2), lambda g, x: g.conv(x, 4, 3, 2, groups=2, activation="swish")),
    "depthwise_conv": ((10, 2), lambda g, x: g.depthwise_conv(x, 3, depth_multiplier=2)),
    "dense": ((3, 4), lambda g, x: g.dense(x, 5, use_bias=False)),
    "batch_norm": ((4, 4, 2), lambda g, x: g.batch_norm(x, scale=False)),
    "layer_norm": ((4, 2), lambda g, x: g.layer_norm(x)),
    "activation": ((4,), lambda g, x: g.act(x, "hard_swish")),
    "max_pool": ((8, 2), lambda g, x: g.max_pool(x, 3, 2, padding="same")),
    "avg_pool": ((4, 4, 2), lambda g, x: g.avg_pool(x)),
    "global_avg_pool": ((4, 4, 2), lambda g, x: g.global_avg_pool(x, keepdims=True)),
    "global_max_pool": ((8, 2), lambda g, x: g.global_max_pool(x)),
    "zero_pad": ((4, 4, 2), lambda g, x: g.zero_pad(x, ((1, 0), (0, 2)))),
    "channel_pad": ((4, 4, 2), lambda g, x: g.channel_pad(x, 1, 3)),
    "flatten": ((4, 4, 2), lambda g, x: g.flatten(x)),
    "reshape": ((4, 4, 2), lambda g, x: g.reshape(x, (8, 4))),
    "dropout": ((4,), lambda g, x: g.dropout(x, 0.25)),
    "add": ((4,), lambda g, x: g.add([x, x])),
    "multiply": ((4,), lambda g, x: g.multiply([x, x])),
    "concat": ((4,), lambda g, x: g.concat([x, x])),
    "rescaling": ((4,), lambda g, x: g.rescaling(x, 0.5, 1.0)),
    "normalization": ((4,), lambda g, x: g.normalization(x)),
    "separable_conv": ((6, 6, 2), lambda g, x: g.layer(
        "separable_conv", x, filters=4, kernel=(3, 3), strides=(2, 2), padding="same",
        dilation=(1, 1), depth_multiplier=2, use_bias=True, activation="relu")),
    "conv_transpose": ((5, 5, 2), lambda g, x: g.layer(
        "conv_transpose", x, filters=3, kernel=(3, 3), strides=(2, 2), padding="valid",
        output_padding=None, dilation=(1, 1), use_bias=True, activation="linear")),
    "embedding": ((6,), lambda g, x: g.layer("embedding", x, input_dim=20, output_dim=4)),
    "einsum_dense": ((5, 4), lambda g, x: g.layer(
        "einsum_dense", x, equation="abc,cd->abd", output_shape=(5, 3), bias_axes="d",
        activation="linear")),
    "multi_head_attention": ((6, 4), lambda g, x: g.layer(
        "multi_head_attention", [x, x], num_heads=2, key_dim=3, value_dim=3, output_dim=4,
        use_bias=True)),
    "attention": ((6, 4), lambda g, x: g.layer("attention", [x, x], score_mode="dot",
                                               params=0)),
    "rnn": ((6, 4), lambda g, x: g.layer(
        "rnn", x, cell="gru", units=3, return_sequences=True, use_bias=True, reset_after=True,
        directions=2, merge_mode="concat")),
    "prelu": ((4, 4, 2), lambda g, x: g.layer("prelu", x, shared_axes=(1, 2))),
    "group_norm": ((4, 4), lambda g, x: g.layer("group_norm", x, groups=2, epsilon=1e-3,
                                                center=True, scale=True)),
    "unit_norm": ((4,), lambda g, x: g.layer("unit_norm", x)),
    "elementwise": ((4,), lambda g, x: g.layer("elementwise", [x, x], fn="subtract",
                                               constants=0)),
    "upsample": ((4, 4, 2), lambda g, x: g.layer("upsample", x, size=(2, 3),
                                                 interpolation="nearest")),
    "transpose": ((4, 3), lambda g, x: g.layer("transpose", x, perm=(1, 0))),
    "repeat": ((4,), lambda g, x: g.layer("repeat", x, n=3)),
    "identity": ((4,), lambda g, x: g.layer("identity", x)),
    # fam17b: transformer front ends, and a slice made from a cropping
    "class_token": ((6, 4), lambda g, x: g.layer("class_token", x)),
    "position_embedding": ((6, 4), lambda g, x: g.layer("position_embedding", x)),
    "slice": ((6, 4), lambda g, x: g.layer("slice", x, index=((1, 5, 1),), crop=((1, 1),))),
    # ConvNeXt's LayerScale (emitted as archscale's LayerScale, read back as ``scale``)
    "scale": ((4, 4, 3), lambda g, x: g.layer("scale", x, init_values=1e-6)),
}


@pytest.mark.parametrize("op", sorted(_SAMPLE_NODES))
def test_every_emitted_op_reads_back_as_itself(op):
    from archscale.costs import profile_graph
    from archscale.graph import GraphBuilder
    from archscale.keras_io import from_keras, to_keras
    from archscale.keras_io.emit import EMITTERS

    assert set(_SAMPLE_NODES) == set(EMITTERS)
    shape, build = _SAMPLE_NODES[op]
    g = GraphBuilder(op)
    graph = g.build(build(g, g.input(shape)))
    back = from_keras(to_keras(graph))
    assert [(n.op, n.shape) for n in back.nodes] == [(n.op, n.shape) for n in graph.nodes]
    assert profile_graph(back).to_dict(4) == profile_graph(graph).to_dict(4)
