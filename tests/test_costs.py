"""Hand-derived checks of the per-op cost table and the memory estimates."""

from __future__ import annotations

import math

import pytest

from archscale import GraphBuilder, SpecError, profile
from archscale.costs import COST_RULES, ELEMENTWISE_FLOPS_PER_ELEMENT, OPTIMIZER_SLOTS
from archscale.memory_model import OPTIMIZER_TEMPORARIES

#: The memory model's constants as measured from TensorFlow's allocator (README, memory
#: section), written here, not imported: a test that imports the constant it checks cannot
#: catch a wrong one. BFC chunks: requests rounded up to 256 bytes and free chunks split only
#: at twice the request -> 1.025 overall; the step's bookkeeping (labels, loss, counters): 24 KiB.
ALLOCATOR_OVERHEAD = 1.025
STEP_RUNTIME_BYTES = 24 << 10
from archscale.graph import OPS


def _single(build) -> "object":
    """Profile of a graph input -> op; returns the op's row."""
    g = GraphBuilder("t")
    out = build(g, g.input(_single.shape))
    return profile(g.build(out)).layers[-1]


def _row(shape, build):
    _single.shape = shape
    return _single(build)


def test_every_op_has_a_cost_rule():
    assert set(OPS) == set(COST_RULES)


@pytest.mark.parametrize(
    "shape, kwargs, out_shape, params, macs",
    [
        # plain 2-D conv: 3x3, 8->16, same, stride 1 on 10x10
        ((10, 10, 8), dict(filters=16, kernel=3), (10, 10, 16), 3 * 3 * 8 * 16 + 16,
         10 * 10 * 16 * 3 * 3 * 8),
        # stride 2 valid: out = floor((11-3)/2)+1 = 5
        ((11, 11, 4), dict(filters=6, kernel=3, strides=2, padding="valid", use_bias=False),
         (5, 5, 6), 3 * 3 * 4 * 6, 5 * 5 * 6 * 3 * 3 * 4),
        # grouped: 4 groups, each 2 in -> 4 out channels
        ((7, 7, 8), dict(filters=16, kernel=3, groups=4), (7, 7, 16), 3 * 3 * 2 * 16 + 16,
         7 * 7 * 16 * 3 * 3 * 2),
        # dilated valid: effective kernel 5 -> 12 - 5 + 1 = 8
        ((12, 12, 3), dict(filters=5, kernel=3, dilation=2, padding="valid"), (8, 8, 5),
         3 * 3 * 3 * 5 + 5, 8 * 8 * 5 * 3 * 3 * 3),
        # 1-D conv, kernel 5 stride 2 same on length 40
        ((40, 1), dict(filters=25, kernel=5, strides=2), (20, 25), 5 * 1 * 25 + 25,
         20 * 25 * 5),
        # non-square kernel
        ((9, 9, 2), dict(filters=3, kernel=(1, 7)), (9, 9, 3), 7 * 2 * 3 + 3, 9 * 9 * 3 * 7 * 2),
    ],
)
def test_conv(shape, kwargs, out_shape, params, macs):
    kwargs = dict(kwargs)  # the parameter is shared between runs of the test: never mutate it
    filters = kwargs.pop("filters")
    kernel = kwargs.pop("kernel")
    row = _row(shape, lambda g, x: g.conv(x, filters, kernel, **kwargs))
    assert row.output_shape == out_shape
    assert row.params == params
    assert row.macs == macs
    bias = math.prod(out_shape) if kwargs.get("use_bias", True) else 0
    assert row.flops == 2 * macs + bias


@pytest.mark.parametrize("depth_multiplier", [1, 2])
def test_depthwise_conv(depth_multiplier):
    row = _row((8, 8, 6), lambda g, x: g.depthwise_conv(
        x, 3, 2, depth_multiplier=depth_multiplier, use_bias=False))
    c = 6 * depth_multiplier
    assert row.output_shape == (4, 4, c)
    assert row.params == 3 * 3 * c
    assert row.macs == 4 * 4 * c * 9


def test_dense_on_3d_input_applies_to_last_axis():
    row = _row((5, 7), lambda g, x: g.dense(x, 3))
    assert row.output_shape == (5, 3)
    assert row.params == 7 * 3 + 3
    assert row.macs == 5 * 3 * 7


@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
def test_pooling(op):
    row = _row((9, 9, 4), lambda g, x: getattr(g, op)(x, 3, 2))
    assert row.output_shape == (4, 4, 4)
    assert (row.params, row.macs) == (0, 0)
    assert row.flops == 9 * 4 * 4 * 4


def test_global_pool_counts_input_elements():
    row = _row((6, 6, 5), lambda g, x: g.global_avg_pool(x))
    assert row.output_shape == (5,)
    assert row.flops == 6 * 6 * 5


def test_squeeze_excitation_block():
    g = GraphBuilder("se")
    x = g.input((8, 8, 32))
    s = g.global_avg_pool(x, keepdims=True)
    s = g.conv(s, 8, 1, activation="swish")
    s = g.conv(s, 32, 1, activation="sigmoid")
    out = g.multiply([x, s])
    p = profile(g.build(out))
    assert p.params == (32 * 8 + 8) + (8 * 32 + 32)
    assert p.macs == 32 * 8 + 8 * 32
    assert p.layers[-1].output_shape == (8, 8, 32)
    assert p.layers[-1].flops == 8 * 8 * 32  # one multiply per element


def test_batch_norm_params_follow_keras():
    row = _row((4, 4, 10), lambda g, x: g.batch_norm(x, scale=False))
    assert row.params == 10 * 3 and row.trainable_params == 10


def test_normalization_has_mean_variance_and_count():
    row = _row((4, 4, 3), lambda g, x: g.normalization(x))
    assert row.params == 7 and row.trainable_params == 0


def test_activation_table_covers_every_activation():
    from archscale.graph import ACTIVATIONS

    assert set(ACTIVATIONS) == set(ELEMENTWISE_FLOPS_PER_ELEMENT)


def test_memory_estimates_by_hand():
    g = GraphBuilder("m")
    x = g.input((100,))
    h = g.dense(x, 50)
    h = g.dropout(h, 0.5)
    out = g.dense(h, 10)
    p = profile(g.build(out))
    params = 100 * 50 + 50 + 50 * 10 + 10
    assert p.weight_bytes() == 4 * params
    assert p.weight_bytes("float16") == 2 * params
    # live: input(100) + h(50) at the first dense; then h(50)+out(10): peak 150 per example
    assert p.inference_activation_peak_bytes(batch_size=8) == 150 * 8 * 4
    assert p.inference_peak_bytes(8) == int((4 * params + 150 * 8 * 4) * ALLOCATOR_OVERHEAD)
    # kept for backward: dense_0's input (100), dense_1's input = the dropout output (50, a new
    # tensor in training) and dropout's 1-byte mask (50); the linear outputs are not kept
    assert p.saved_activation_bytes(32) == (100 + 50) * 32 * 4 + 50 * 32


@pytest.mark.parametrize("optimizer, slots, temporaries", [("adam", 2, 2), ("sgd", 0, 0)])
def test_memory_training_peak_by_hand(optimizer, slots, temporaries):
    """Walk the schedule of ``archscale.memory_model`` by hand (bytes per example x 32)."""
    g = GraphBuilder("m")
    h = g.dropout(g.dense(g.input((100,)), 50), 0.5)
    p = profile(g.build(g.dense(h, 10)))
    assert OPTIMIZER_TEMPORARIES[optimizer] == temporaries
    params, w0, w1 = 5560, 5050 * 4, 510 * 4
    persistent = (params + slots * params + 100 * 32) * 4 + STEP_RUNTIME_BYTES
    candidates = [
        (200 + 200 + 50) * 32,  # forward at dropout: dense_0 out, dropout out, mask
        # backward at dense_1: saved (dropout out 200, mask 50, dense_1 out 40) + gradients of
        # the output (40) and of the dropout output (200) + its weight gradient
        (290 + 240) * 32 + w1,
        # at dropout: dense_0's gradient joins; mask + output left; dense_1's weight gradient
        # is being applied, with the optimizer's temporaries
        (90 + 400) * 32 + w1 * (1 + temporaries),
        (40 + 200) * 32 + w0 + w1 * (1 + temporaries),  # at dense_0
        w0 * (1 + temporaries),  # the last update: dense_0's gradient + temporaries
    ]
    expected = int((persistent + max(candidates)) * ALLOCATOR_OVERHEAD)
    assert p.training_peak_bytes(32, optimizer=optimizer) == expected


@pytest.mark.parametrize("block, kept", [
    ("conv_relu", 1),        # ReLU output (= next conv input)
    ("conv_bn_relu", 2),     # + batch-norm input
    ("conv_bn_swish", 3),    # + swish input (the batch-norm output)
    ("conv_swish", 2),       # conv input + fused pre-activation
    ("res_conv_bn_add_relu", 2),  # the add keeps nothing
    ("gconv_bn_relu", 3),    # grouped conv: private copy of its input
    ("conv_maxpool", 2.25),  # max pool keeps input, output and a 1-byte argmax workspace
])
def test_memory_saved_tensors_per_block(block, kept):
    """Tensors kept per repeated block, as measured on TF 2.21 (8 vs 16 blocks)."""
    def build(n):
        g = GraphBuilder("b")
        x = g.input((8, 8, 16))
        for _ in range(n):
            y = g.conv(x, 16, 3, activation="relu" if block == "conv_relu" else
                       "swish" if block == "conv_swish" else "linear",
                       groups=4 if block.startswith("g") else 1, use_bias=False)
            if block.startswith("res"):
                y = g.act(g.add([x, g.batch_norm(y)]), "relu")
            elif "bn" in block:
                y = g.act(g.batch_norm(y), "swish" if "swish" in block else "relu")
            if block == "conv_maxpool":
                y = g.max_pool(y, 3, 1, padding="same")
            x = y
        return profile(g.build(g.global_avg_pool(x)))

    tensor = 8 * 8 * 16 * 4
    assert (build(16).saved_activation_bytes(1) - build(8).saved_activation_bytes(1)
            == int(8 * kept * tensor))


def test_memory_rejects_bad_arguments():
    g = GraphBuilder("m")
    p = profile(g.build(g.dense(g.input((3,)), 2)))
    with pytest.raises(SpecError, match="optimizer"):
        p.training_peak_bytes(optimizer="lbfgs")
    with pytest.raises(SpecError, match="batch_size"):
        p.inference_peak_bytes(batch_size=0)
    with pytest.raises(SpecError, match="dtype"):
        p.weight_bytes("int3")
    assert set(OPTIMIZER_SLOTS) >= {"sgd", "adam"}
    assert set(OPTIMIZER_TEMPORARIES) == set(OPTIMIZER_SLOTS)
