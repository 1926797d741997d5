"""Every per-op cost rule against counts written out by hand from the layer's definition.

Each case states, for one layer, its trainable and non-trainable weights (as Keras counts them:
the weight tensors the layer creates), its multiply-accumulates and its FLOPs under the
convention of ``archscale.ops.FLOPS_RULES_DOC``, as plain arithmetic on the layer's sizes.
The sizes are chosen unequal (and groups, multipliers, ranks > 1) so that a rule using the
wrong size, operator or branch gives a different number. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import pytest

from archscale import GraphBuilder, profile
from archscale.cost_rules import OpCost
from archscale.costs import node_cost


def _cost(shapes, op, **attrs) -> OpCost:
    """OpCost of one ``op`` node reading inputs of ``shapes``; also checks every field is an
    int (a rule that divides with ``/`` gives floats)."""
    g = GraphBuilder("t")
    ins = [g.input(s, name=f"in{i}") for i, s in enumerate(shapes)]
    ref = g.layer(op, ins, name="n", **attrs)
    graph = g.build(ref)
    cost = node_cost(graph, graph.node("n"))
    assert all(type(v) is int for v in (cost.trainable_params, cost.non_trainable_params,
                                        cost.macs, cost.flops)), cost
    return cost


def _conv_attrs(rank, filters, kernel, *, groups=1, use_bias=True, activation="linear",
                strides=None, padding="valid"):
    return dict(filters=filters, kernel=kernel, strides=strides or (1,) * rank,
                padding=padding, dilation=(1,) * rank, groups=groups, use_bias=use_bias,
                activation=activation)


# -- weighted layers ---------------------------------------------------------------------------


def test_conv_grouped_with_bias_and_relu():
    # 6x5x8 input, 2x3 kernel, valid -> 5x3 spatial, 12 filters in 4 groups (2 in per group)
    c = _cost([(6, 5, 8)], "conv", **_conv_attrs(2, 12, (2, 3), groups=4, activation="relu"))
    out = 5 * 3 * 12
    macs = out * (2 * 3 * 2)
    assert c == OpCost(2 * 3 * 2 * 12 + 12, 0, macs, 2 * macs + out + out)  # + bias + relu


def test_conv_1d_without_bias_with_swish():
    # length 9, 3 channels, kernel 4, valid -> 6 steps, 5 filters; swish = 2 FLOPs per element
    c = _cost([(9, 3)], "conv", **_conv_attrs(1, 5, (4,), use_bias=False, activation="swish"))
    out = 6 * 5
    assert c == OpCost(4 * 3 * 5, 0, out * 4 * 3, 2 * out * 4 * 3 + 2 * out)


def test_depthwise_with_multiplier_bias_and_gelu():
    # 7x6x3 input, 3x2 kernel, valid -> 5x5, multiplier 2 -> 6 channels; gelu = 8 per element
    c = _cost([(7, 6, 3)], "depthwise_conv", kernel=(3, 2), strides=(1, 1), padding="valid",
              dilation=(1, 1), depth_multiplier=2, use_bias=True, activation="gelu")
    out = 5 * 5 * 6
    assert c == OpCost(3 * 2 * 6 + 6, 0, out * 6, 2 * out * 6 + out + 8 * out)


def test_depthwise_without_bias():
    c = _cost([(4, 4, 5)], "depthwise_conv", kernel=(3, 3), strides=(1, 1), padding="same",
              dilation=(1, 1), depth_multiplier=1, use_bias=False, activation="linear")
    out = 4 * 4 * 5
    assert c == OpCost(9 * 5, 0, out * 9, 2 * out * 9)


@pytest.mark.parametrize("use_bias, activation, act_flops", [
    (True, "tanh", 1), (False, "hard_swish", 4), (True, "linear", 0)])
def test_dense_on_a_sequence(use_bias, activation, act_flops):
    # (4, 6) -> (4, 5): 6 MACs per output element, bias over 5 units
    c = _cost([(4, 6)], "dense", units=5, use_bias=use_bias, activation=activation)
    out = 4 * 5
    bias = 5 if use_bias else 0
    assert c == OpCost(6 * 5 + bias, 0, out * 6,
                       2 * out * 6 + (out if use_bias else 0) + act_flops * out)


def test_dense_with_lora():
    """Keras LoRA: the 6x5 kernel frozen, factors A (6 x 3) and B (3 x 5) trained, merged into
    the kernel once per call (6*3*5 MACs)."""
    c = _cost([(4, 6)], "dense", units=5, use_bias=True, activation="linear", lora_rank=3)
    out = 4 * 5
    merge = 6 * 3 * 5
    assert c == OpCost(6 * 3 + 3 * 5 + 5, 6 * 5, out * 6 + merge,
                       2 * out * 6 + out + 2 * merge)


def test_dense_int8():
    """Keras int8 Dense: the kernel (int8) and one float scale per unit are non-trainable; the
    bias still trains."""
    c = _cost([(6,)], "dense", units=5, use_bias=True, activation="linear", quantized=True)
    assert c == OpCost(5, 6 * 5 + 5, 30, 2 * 30 + 5)
    g = GraphBuilder("q")
    x = g.input((6,))
    p = profile(g.build(g.layer("dense", x, units=5, use_bias=True, activation="linear",
                                quantized=True)))
    assert p.int8_params == 30
    # 30 int8 bytes + the 5 scales and 5 biases at 4 bytes (2 in float16)
    assert p.weight_bytes() == 30 + 10 * 4 and p.weight_bytes("float16") == 30 + 10 * 2


def test_separable_conv():
    # 6x6x4, 3x3 depthwise (multiplier 2 -> 8 channels), valid -> 4x4, then 1x1 to 7 filters
    c = _cost([(6, 6, 4)], "separable_conv", filters=7, kernel=(3, 3), strides=(1, 1),
              padding="valid", dilation=(1, 1), depth_multiplier=2, use_bias=True,
              activation="sigmoid")
    spatial, out = 4 * 4, 4 * 4 * 7
    macs = spatial * 8 * 9 + out * 8
    assert c == OpCost(9 * 8 + 8 * 7 + 7, 0, macs, 2 * macs + out + out)


def test_separable_conv_without_bias():
    c = _cost([(5, 4)], "separable_conv", filters=3, kernel=(2,), strides=(1,),
              padding="valid", dilation=(1,), depth_multiplier=1, use_bias=False,
              activation="linear")
    macs = 4 * 4 * 2 + 4 * 3 * 4  # depthwise: 4 steps x 4 ch x 2 taps; pointwise: 12 x 4
    assert c == OpCost(2 * 4 + 4 * 3, 0, macs, 2 * macs)


def test_conv_transpose():
    # 3x4x5 input, 2x2 kernel stride 2 valid -> 6x8, 6 filters: each input element meets 2*2*6
    c = _cost([(3, 4, 5)], "conv_transpose", filters=6, kernel=(2, 2), strides=(2, 2),
              padding="valid", output_padding=None, dilation=(1, 1), use_bias=True,
              activation="relu")
    out = 6 * 8 * 6
    macs = 3 * 4 * (2 * 2 * 5 * 6)
    assert c == OpCost(2 * 2 * 5 * 6 + 6, 0, macs, 2 * macs + out + out)


def test_conv_transpose_without_bias():
    c = _cost([(3, 2)], "conv_transpose", filters=4, kernel=(3,), strides=(1,),
              padding="valid", output_padding=None, dilation=(1,), use_bias=False,
              activation="linear")
    macs = 3 * (3 * 2 * 4)
    assert c == OpCost(3 * 2 * 4, 0, macs, 2 * macs)


def test_einsum_dense_with_bias_axes_and_activation():
    # "abc,cde->abde": input (4, 6), kernel 6 x 3 x 2, output (4, 3, 2), bias over "de"
    c = _cost([(4, 6)], "einsum_dense", equation="abc,cde->abde", output_shape=(4, 3, 2),
              bias_axes="de", activation="relu")
    out = 4 * 3 * 2
    macs = 4 * 6 * 3 * 2
    assert c == OpCost(6 * 3 * 2 + 3 * 2, 0, macs, 2 * macs + out + out)


def test_einsum_dense_summing_an_input_axis():
    """"abc,cd->ad": b is summed away with c; every (b, c, d) triple is one MAC."""
    c = _cost([(3, 4)], "einsum_dense", equation="abc,cd->ad", output_shape=(5,),
              bias_axes="d")
    assert c == OpCost(4 * 5 + 5, 0, 3 * 4 * 5, 2 * 3 * 4 * 5 + 5)


def test_einsum_dense_that_does_not_fit_names_the_layer():
    """A graph made without the builder's shape check: the cost rule's error names the layer."""
    from archscale.errors import ShapeError
    from archscale.nodes import Graph, Node

    graph = Graph("g", (Node("in0", "input", (), (4,)),
                        Node("proj", "einsum_dense", ("in0",), (5,),
                             {"equation": "abc,cd->ad", "output_shape": (5,)})), ("in0",),
                  ("proj",))
    with pytest.raises(ShapeError, match="layer 'proj': equation 'abc,cd->ad' does not fit"):
        node_cost(graph, graph.node("proj"))


def test_einsum_dense_without_bias_lora_and_int8():
    attrs = dict(equation="ab,bc->ac", output_shape=(5,), bias_axes=None)
    assert _cost([(6,)], "einsum_dense", **attrs) == OpCost(30, 0, 30, 60)
    # LoRA rank 2: factors 6x2 and 2x5 train, the 6x5 kernel is frozen; merge 6*2*5 MACs
    assert _cost([(6,)], "einsum_dense", lora_rank=2, **attrs) == OpCost(
        2 * (6 + 5), 30, 30 + 60, 60 + 120)
    # int8: kernel + one scale per output unit, all non-trainable
    assert _cost([(6,)], "einsum_dense", quantized=True, **attrs) == OpCost(0, 35, 30, 60)
    g = GraphBuilder("q")
    x = g.input((6,))
    p = profile(g.build(g.layer("einsum_dense", x, quantized=True, **attrs)))
    assert p.int8_params == 30


def test_embedding_plain_lora_and_int8():
    attrs = dict(input_dim=11, output_dim=4)
    assert _cost([(7,)], "embedding", **attrs) == OpCost(44, 0, 0, 0)
    assert _cost([(7,)], "embedding", lora_rank=2, **attrs) == OpCost(2 * (11 + 4), 44, 0, 0)
    assert _cost([(7,)], "embedding", quantized=True, **attrs) == OpCost(0, 44 + 11, 0, 0)
    g = GraphBuilder("q")
    x = g.input((7,))
    e = g.layer("embedding", x, quantized=True, **attrs)
    p = profile(g.build(g.layer("dense", e, units=2, use_bias=True, activation="linear")))
    assert p.int8_params == 44  # the table only; the float dense holds none


def test_quantized_flag_on_an_op_without_an_int8_form_holds_no_int8():
    g = GraphBuilder("q")
    x = g.input((4, 4, 2))
    p = profile(g.build(g.layer("conv", x, quantized=True, **_conv_attrs(2, 3, (1, 1)))))
    assert p.int8_params == 0 and p.params == 2 * 3 + 3


# -- attention and recurrent layers ------------------------------------------------------------


def test_multi_head_attention_with_bias_and_key():
    """query (5, 8), value (6, 4), key (6, 3); 2 heads, key_dim 3, value_dim 2, output 7."""
    c = _cost([(5, 8), (6, 4), (6, 3)], "multi_head_attention", num_heads=2, key_dim=3,
              value_dim=2, output_dim=7, use_bias=True)
    weights = 8 * 2 * 3 + 3 * 2 * 3 + 4 * 2 * 2 + 2 * 2 * 7  # q, k, v, output kernels
    biases = 2 * 3 + 2 * 3 + 2 * 2 + 7
    q, k, v = 5 * 8 * 2 * 3, 6 * 3 * 2 * 3, 6 * 4 * 2 * 2  # projection MACs
    scores, mix, proj = 2 * 5 * 6 * 3, 2 * 5 * 6 * 2, 5 * 2 * 2 * 7
    macs = q + k + v + scores + mix + proj
    bias_flops = 5 * 2 * 3 + 6 * 2 * 3 + 6 * 2 * 2 + 5 * 7
    scale, softmax = 5 * 2 * 3, 3 * 2 * 5 * 6
    assert c == OpCost(weights + biases, 0, macs, 2 * macs + bias_flops + scale + softmax)


def test_multi_head_attention_without_bias_key_is_value():
    c = _cost([(5, 8), (6, 4)], "multi_head_attention", num_heads=3, key_dim=2, value_dim=5,
              use_bias=False)  # output_dim defaults to the query's... value's width: 4
    weights = 8 * 3 * 2 + 4 * 3 * 2 + 4 * 3 * 5 + 3 * 5 * 4
    macs = (5 * 8 + 6 * 4) * 3 * 2 + 6 * 4 * 3 * 5 + 3 * 5 * 6 * (2 + 5) + 5 * 3 * 5 * 4
    assert c == OpCost(weights, 0, macs, 2 * macs + 5 * 3 * 2 + 3 * 3 * 5 * 6)


def test_dot_attention():
    # query (5, 3), value (4, 3): scores 5x4 of 3-long dots, then 5x4 weights times 3 values
    c = _cost([(5, 3), (4, 3)], "attention", score_mode="dot", params=1)
    macs = 5 * 4 * 3 + 5 * 4 * 3
    assert c == OpCost(1, 0, macs, 2 * macs + 3 * 5 * 4)


def test_additive_attention():
    # query (5, 3), value (4, 2): no score MACs; add, tanh, scale-and-sum per score element
    c = _cost([(5, 3), (4, 2)], "attention", score_mode="additive", params=3)
    macs = 5 * 4 * 2
    assert c == OpCost(3, 0, macs, 2 * macs + 3 * 5 * 4 * 3 + 3 * 5 * 4)


def _rnn(cell, *, use_bias=True, reset_after=False, directions=1):
    # 7 steps of 5 features, 3 units
    return _cost([(7, 5)], "rnn", cell=cell, units=3, return_sequences=False,
                 use_bias=use_bias, reset_after=reset_after, directions=directions,
                 merge_mode="concat")


def test_lstm():
    kernels = 4 * 3 * (5 + 3)  # 4 gates: input kernel 5x3 and recurrent kernel 3x3 each
    assert _rnn("lstm") == OpCost(kernels + 4 * 3, 0, kernels * 7,
                                  2 * kernels * 7 + 13 * 3 * 7)


def test_bidirectional_lstm_without_bias():
    kernels = 4 * 3 * 8
    assert _rnn("lstm", use_bias=False, directions=2) == OpCost(
        2 * kernels, 0, 2 * kernels * 7, 2 * 2 * kernels * 7 + 13 * 3 * 7 * 2)


@pytest.mark.parametrize("reset_after, bias", [(True, 2 * 3 * 3), (False, 3 * 3)])
def test_gru(reset_after, bias):
    """Keras GRU: reset_after=True keeps two bias vectors (input and recurrent) per gate."""
    kernels = 3 * 3 * 8
    assert _rnn("gru", reset_after=reset_after) == OpCost(kernels + bias, 0, kernels * 7,
                                                          2 * kernels * 7 + 14 * 3 * 7)


def test_simple_rnn_reset_after_is_ignored():
    kernels = 3 * 8
    expected = OpCost(kernels + 3, 0, kernels * 7, 2 * kernels * 7 + 3 * 3 * 7)
    assert _rnn("simple_rnn") == expected == _rnn("simple_rnn", reset_after=True)


# -- normalisation, activations, element-wise --------------------------------------------------


@pytest.mark.parametrize("center, scale, trainable", [(True, True, 2), (True, False, 1),
                                                      (False, True, 1), (False, False, 0)])
def test_batch_and_layer_norm(center, scale, trainable):
    shape = (3, 2, 5)
    bn = _cost([shape], "batch_norm", epsilon=1e-3, momentum=0.99, center=center, scale=scale)
    assert bn == OpCost(5 * trainable, 2 * 5, 0, 2 * 30)
    ln = _cost([shape], "layer_norm", epsilon=1e-3, center=center, scale=scale)
    assert ln == OpCost(5 * trainable, 0, 0, 5 * 30)
    gn = _cost([shape], "group_norm", groups=5, epsilon=1e-3, center=center, scale=scale)
    assert gn == ln


@pytest.mark.parametrize("fn, per", [("relu", 1), ("selu", 2), ("hard_sigmoid", 3),
                                     ("gelu", 8), ("mish", 5), ("linear", 0)])
def test_standalone_activation(fn, per):
    assert _cost([(3, 4)], "activation", fn=fn) == OpCost(0, 0, 0, per * 12)


def test_pooling_windows():
    # 7x6x2 input, 3x2 window stride 2 valid -> 3x3x2 output, 6 FLOPs each
    for op in ("max_pool", "avg_pool"):
        c = _cost([(7, 6, 2)], op, pool=(3, 2), strides=(2, 2), padding="valid")
        assert c == OpCost(0, 0, 0, 6 * 3 * 3 * 2)
    for op in ("global_avg_pool", "global_max_pool"):
        assert _cost([(7, 6, 2)], op, keepdims=False) == OpCost(flops=7 * 6 * 2)


def test_add_and_multiply_of_three():
    assert _cost([(3, 4)] * 3, "add") == OpCost(flops=2 * 12)
    assert _cost([(3, 4), (3, 4)], "multiply") == OpCost(flops=12)


@pytest.mark.parametrize("offset, per", [(0.0, 1), (0.5, 2), (-1.0, 2)])
def test_rescaling(offset, per):
    assert _cost([(3, 5)], "rescaling", scale=2.0, offset=offset) == OpCost(flops=per * 15)


def test_normalization():
    # mean and variance per channel (4) plus one count, non-trainable; 2 FLOPs per element
    assert _cost([(3, 4)], "normalization") == OpCost(0, 2 * 4 + 1, 0, 2 * 12)


def test_prelu_shared_axes():
    # (3, 4, 5): axes 1 and 2 shared (1-based with the batch) -> one slope per channel
    assert _cost([(3, 4, 5)], "prelu", shared_axes=(1, 2)) == OpCost(5, 0, 0, 2 * 60)
    assert _cost([(3, 4, 5)], "prelu", shared_axes=(3,)) == OpCost(12, 0, 0, 2 * 60)
    assert _cost([(3, 4, 5)], "prelu", shared_axes=()) == OpCost(60, 0, 0, 2 * 60)


def test_scale_and_unit_norm():
    assert _cost([(3, 4)], "scale") == OpCost(4, 0, 0, 12)
    assert _cost([(2, 3, 4)], "scale") == OpCost(4, 0, 0, 24)  # per channel (last axis)
    assert _cost([(3, 4)], "unit_norm") == OpCost(flops=3 * 12)


@pytest.mark.parametrize("shapes, attrs, per", [
    ([(3, 4), (3, 4)], dict(fn="subtract"), 1),
    ([(3, 4), (3, 4), (3, 4)], dict(fn="maximum"), 2),
    ([(3, 4), (3, 4)], dict(fn="average"), 2),          # sum + divide
    ([(3, 4)], dict(fn="multiply", constants=1), 1),    # x * c
    ([(3, 4)], dict(fn="multiply", constants=2), 2),    # x * c1 + c2
    ([(3, 4)], dict(fn="negative"), 1),                 # one operand: still 1 per element
])
def test_broadcast_elementwise(shapes, attrs, per):
    assert _cost(shapes, "elementwise", **attrs) == OpCost(flops=per * 12)


def test_reduce_counts_input_elements():
    assert _cost([(3, 4, 5)], "reduce", fn="sum", axes=(1,), keepdims=False) == OpCost(
        flops=60)


@pytest.mark.parametrize("interpolation, per", [("nearest", 0), ("bilinear", 4)])
def test_upsample(interpolation, per):
    # 3x2x5 up by (2, 3) -> 6x6x5
    assert _cost([(3, 2, 5)], "upsample", size=(2, 3), interpolation=interpolation) == \
        OpCost(flops=per * 6 * 6 * 5)


@pytest.mark.parametrize("op, attrs", [
    ("flatten", {}), ("reshape", dict(target=(12,))), ("dropout", dict(rate=0.5)),
    ("identity", {}), ("transpose", dict(perm=(1, 0))), ("repeat", dict(n=2)),
    ("zero_pad", dict(padding=((1, 1),))), ("channel_pad", dict(before=1, after=2)),
])
def test_data_movement_costs_nothing(op, attrs):
    assert _cost([(3, 4)], op, **attrs) == OpCost()


def test_concat_costs_nothing():
    assert _cost([(3, 4), (3, 2)], "concat") == OpCost()
