"""keras_io's emitter and reader tables are keyed by the op names of ``archscale.ops``: every op
is emitted and read back, and every reader produces the op its table entry declares."""

from __future__ import annotations

import pytest

from archscale.ops import OPS

pytestmark = pytest.mark.tf

#: Ops without a Keras emitter or reader, and why.
NOT_EMITTED = {
    "input": "to_keras makes it with keras.Input, not a layer",
    "unsupported": "it stands for a Keras layer archscale cannot translate",
}
NOT_READ = {
    "input": "from_keras makes it from the model's input tensors, not from a layer",
    "unsupported": "the fallback for every layer without a reader",
}


def _sample_layers():
    """One small instance of every Keras class in READERS, with its input shape."""
    from keras import layers

    from archscale.keras_io.layers import ChannelPad

    return {
        "Conv1D": ((10, 2), layers.Conv1D(3, 3)),
        "Conv2D": ((6, 6, 2), layers.Conv2D(3, 3)),
        "DepthwiseConv1D": ((10, 2), layers.DepthwiseConv1D(3)),
        "DepthwiseConv2D": ((6, 6, 2), layers.DepthwiseConv2D(3)),
        "Dense": ((4,), layers.Dense(3)),
        "BatchNormalization": ((4, 4, 2), layers.BatchNormalization()),
        "LayerNormalization": ((4, 2), layers.LayerNormalization()),
        "Activation": ((4,), layers.Activation("relu")),
        "ReLU": ((4,), layers.ReLU()),
        "Softmax": ((4,), layers.Softmax()),
        "MaxPooling1D": ((8, 2), layers.MaxPooling1D(2)),
        "MaxPooling2D": ((4, 4, 2), layers.MaxPooling2D(2)),
        "AveragePooling1D": ((8, 2), layers.AveragePooling1D(2)),
        "AveragePooling2D": ((4, 4, 2), layers.AveragePooling2D(2)),
        "GlobalAveragePooling1D": ((8, 2), layers.GlobalAveragePooling1D()),
        "GlobalAveragePooling2D": ((4, 4, 2), layers.GlobalAveragePooling2D()),
        "GlobalMaxPooling1D": ((8, 2), layers.GlobalMaxPooling1D()),
        "GlobalMaxPooling2D": ((4, 4, 2), layers.GlobalMaxPooling2D()),
        "ZeroPadding1D": ((8, 2), layers.ZeroPadding1D(1)),
        "ZeroPadding2D": ((4, 4, 2), layers.ZeroPadding2D(1)),
        "ChannelPad": ((4, 4, 2), ChannelPad(1, 1)),
        "Flatten": ((4, 4, 2), layers.Flatten()),
        "Reshape": ((4, 4, 2), layers.Reshape((16, 2))),
        "Dropout": ((4,), layers.Dropout(0.5)),
        "SpatialDropout1D": ((8, 2), layers.SpatialDropout1D(0.5)),
        "SpatialDropout2D": ((4, 4, 2), layers.SpatialDropout2D(0.5)),
        "Add": ((4,), layers.Add()),
        "Multiply": ((4,), layers.Multiply()),
        "Concatenate": ((4,), layers.Concatenate()),
        "Rescaling": ((4,), layers.Rescaling(0.5)),
        "Normalization": ((4,), layers.Normalization()),
    }


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

    samples = _sample_layers()
    assert set(samples) == set(READERS)
    for class_name, (shape, layer) in samples.items():
        x = keras.Input(shape)
        y = layer([x, x]) if class_name in ("Add", "Multiply", "Concatenate") else layer(x)
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
