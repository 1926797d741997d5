"""The memory model's schedules walked by hand on small graphs (branches, views, frozen
inputs), and each op's saved-tensor rule against the gradient TensorFlow registers for it.
Pure Python: no TensorFlow."""

from __future__ import annotations

import pytest

from archscale import GraphBuilder, profile
from archscale.memory_model import (inference_live_peak_elements, saved_elements_bytes,
                                    saved_for_backward, training_curve)
from archscale.nodes import Node
from archscale.saved_rules import (WORKSPACE_RULES, Saved, Workspace, eigen_conv_workspace,
                                   xla_depthwise_conv_workspace)


def _node(op, n_inputs=1, **attrs):
    return Node("n", op, tuple(f"i{k}" for k in range(n_inputs)), (4,), attrs)


@pytest.mark.parametrize("node, saved", [
    # weighted ops keep their input; a fused activation adds what it keeps
    (_node("dense", activation="linear"), Saved((0,), False, 0)),
    (_node("dense", activation="relu"), Saved((0,), True, 0)),            # relu: its output
    (_node("dense", activation="swish"), Saved((0,), False, 1)),          # + pre-activation
    (_node("dense", activation="gelu"), Saved((0,), False, 3)),           # x/sqrt2, 1+erf, x/2
    (_node("dense", activation="hard_sigmoid"), Saved((0,), False, 1)),
    (_node("conv", activation="linear", groups=1), Saved((0,), False, 0)),
    (_node("conv", activation="sigmoid", groups=2), Saved((), True, 0, private_input=1)),
    (_node("conv", activation="swish", groups=2), Saved((), False, 1, private_input=1)),
    (_node("depthwise_conv", activation="relu6", groups=4), Saved((0,), True, 0)),
    # separable: + its depthwise step's output (the input's size x multiplier / strides)
    (_node("separable_conv", activation="relu", strides=(1, 1), depth_multiplier=1),
     Saved((0,), True, 0, private_input=1)),
    (_node("separable_conv", activation="linear", strides=(2, 2), depth_multiplier=2),
     Saved((0,), False, 0, private_input=0.5)),
    # standalone activations: output or input per the table
    (_node("activation", fn="relu"), Saved((), True, 0)),
    (_node("activation", fn="swish"), Saved((0,), False, 0)),
    (_node("activation", fn="hard_swish"), Saved((0,), False, 2)),
    (_node("activation", fn="gelu"), Saved((), False, 3)),  # not its input: 3 of its own
    (_node("activation", fn="hard_sigmoid"), Saved((), False, 1)),
    (_node("activation", fn="linear"), Saved()),
    (_node("batch_norm"), Saved((0,))),
    (_node("layer_norm"), Saved((0,), private=1)),
    (_node("group_norm"), Saved((0,), private=1)),
    (_node("max_pool"), Saved((0,), True, mask_bytes=1)),
    (_node("avg_pool"), Saved()),
    (_node("global_max_pool"), Saved((0,), True)),
    (_node("unit_norm"), Saved((0,), True)),
    (_node("multiply", 3), Saved((0, 1, 2))),
    (_node("reduce", 1), Saved((0,))),
    # shape (4,): length 4; 2 heads of key_dim 3, value_dim 5: queries and keys 4 x 2 x 3
    # each, values and attended values 4 x 2 x 5 each, probabilities 2 x 4 x 4
    (Node("n", "multi_head_attention", ("i0", "i1", "i2"), (4, 8),
          {"num_heads": 2, "key_dim": 3, "value_dim": 5}),
     Saved((0, 1, 2), True, private_elements=2 * 24 + 2 * 40 + 32)),
    (_node("unsupported", 2), Saved((0, 1), True)),
    (_node("dropout", rate=0.3), Saved(mask_bytes=1)),
    (_node("dropout", rate=0.0), Saved()),
    (_node("elementwise", 2, fn="subtract"), Saved()),
    (_node("elementwise", 2, fn="maximum"), Saved((0, 1))),
    (_node("elementwise", 1, fn="negative"), Saved()),
    (_node("prelu"), Saved((0,))),
    (_node("scale"), Saved((0,))),
    (_node("add", 2), Saved()),
    (_node("concat", 2), Saved()),
])
def test_saved_rule_of_each_op(node, saved):
    assert saved_for_backward(node) == saved


def _residual():
    """input 8 -> dense a 6 (relu) -> dense b 6 -> add(a, b) -> dense out 2."""
    g = GraphBuilder("res")
    x = g.input((8,))
    a = g.dense(x, 6, activation="relu", name="a")
    b = g.dense(a, 6, name="b")
    s = g.add([a, b], name="s")
    return g.build(g.dense(s, 2, name="out"))


def test_inference_peak_with_a_branch():
    # input 8, then a 6 (14; the input is freed after a), b 6 (12), s 6 while a and b live
    # (18; both freed after the add), out 2 with s (8)
    assert inference_live_peak_elements(_residual()) == 18
    g = GraphBuilder("wide")
    x = g.input((8,))
    a = g.dense(x, 6)
    s = g.add([a, g.dense(a, 6)])
    # as above to the add (18; a and b both freed after it: 6 left), then 20 with s: 26
    assert inference_live_peak_elements(g.build(g.dense(s, 20))) == 26


def test_inference_peak_with_views_and_two_outputs():
    g = GraphBuilder("v")
    x = g.input((4, 5))
    f = g.flatten(x)                  # a view of the input: no new buffer
    d = g.dropout(g.dense(f, 7), 0.5)  # dropout is a view at inference
    out1 = g.dense(d, 3)
    out2 = g.dense(d, 9)
    graph = g.build([out1, out2])
    # input 20 (flatten shares it), dense 7 (20 + 7), then 7 + 3 (out1 lives to the end),
    # then 7 + 3 + 9 = 19 at out2
    assert inference_live_peak_elements(graph) == 27
    assert profile(graph).inference_activation_peak_bytes(2) == 27 * 2 * 4


def test_training_curve_by_hand_on_a_residual_block():
    """Elements per example at each step (x 4 bytes), weight-gradient bytes so far.

    Kept for backward: a keeps its input (the graph input, counted with the persistent part)
    and its ReLU output; b keeps its input a; the add keeps nothing; out keeps its input s.
    """
    graph = _residual()
    trainable = {"a": 8 * 6 + 6, "b": 6 * 6 + 6, "out": 6 * 2 + 2}
    wa, wb, wo = 54 * 4, 42 * 4, 14 * 4
    expected = [
        # forward: the input (not here), a 6, b 6, s 6 (b freed after it), out 2
        (0, 0), (6, 0), (12, 0), (18, 0), (6 + 6 + 2, 0),
        # backward at out: live a, s, out (14) + gradients of out (2) and s (6); s released;
        # out's weight gradient is made
        (14 + 8, wo),
        # at the add: live a, out (8) + gradients of s (6), a (6) and b (6); out's weight
        # gradient is applied (itself + 2 temporaries of its size)
        (8 + 18, 3 * wo),
        # at b: gradients of a and b (12) + a temporary for the second write into a's (6);
        # b's weight gradient is made while out's is still being applied
        (8 + 12 + 6, wb + 3 * wo),
        # at a: gradient of a (6); a's weight gradient is made while b's is applied
        (8 + 6, wa + 3 * wb),
    ]
    curve = training_curve(graph, trainable, 4, temporaries=2.0)
    assert list(curve) == [(4.0 * a, float(b)) for a, b in expected] + [
        (0.0, float(3 * wa))]  # the last update: a's gradient + 2 temporaries of its size
    p = profile(graph)
    persistent = (110 + 2 * 110 + 8) * 4 + (24 << 10)  # weights, adam slots, input, runtime
    assert p.training_peak_bytes(1) == int((persistent + 4 * 14 + wa + 3 * wb) * 1.025)


def test_frozen_input_layers_keep_nothing_for_backward():
    """A layer with no trainable weights upstream needs no gradient and keeps nothing."""
    g = GraphBuilder("f")
    x = g.input((10,))
    a = g.dense(x, 6, activation="relu", name="frozen")
    out = g.dense(a, 3, name="head")
    graph = g.build(out)
    everything = saved_elements_bytes(graph, {"frozen": 66, "head": 21}, 4)
    head_only = saved_elements_bytes(graph, {"frozen": 0, "head": 21}, 4)
    assert everything == (10 + 6) * 4  # input of frozen, relu output (= head's input)
    assert head_only == 6 * 4          # head's input only


def _curve(build, trainable, temporaries=2.0):
    g = GraphBuilder("c")
    return training_curve(g.build(build(g, g.input)), trainable, 4, temporaries)


def test_training_curve_through_a_view():
    """input 6 -> d1 4 (relu) -> flatten (a view of d1) -> d2 3. The flatten's backward step
    passes d2's gradient through (d1's buffer): no new gradient, no temporary."""
    def build(g, inp):
        return g.dense(g.flatten(g.dense(inp((6,)), 4, activation="relu", name="d1"),
                                 name="f"), 3, name="d2")

    w1, w2 = (6 * 4 + 4) * 4, (4 * 3 + 3) * 4
    assert _curve(build, {"d1": 28, "d2": 15}) == tuple((4.0 * a, float(b)) for a, b in [
        (0, 0), (4, 0), (4, 0), (7, 0),        # forward: d1 4, the view adds nothing, d2 3
        (7 + 3 + 4, w2),                       # d2: live 7 + gradients of d2 and of f (= d1)
        (7 + 4, 3 * w2),                       # f: d1's gradient; d2's weights applied
        (7 + 4, w1 + 3 * w2),                  # d1: made while d2's are applied
        (0, 3 * w1)])                          # the last update: d1's + 2 temporaries


def test_training_curve_with_frozen_layers():
    """input 4 -> f 5 (frozen) -> t 3 (trainable), and a frozen head g 2 on the input, last.
    Only t needs a gradient step; f's output needs no gradient (nothing upstream trains)."""
    def build(g, inp):
        x = inp((4,))
        return [g.dense(g.dense(x, 5, name="f"), 3, name="t"), g.dense(x, 2, name="g")]

    wt = 18 * 4
    assert _curve(build, {"f": 0, "t": 18, "g": 0}) == tuple(
        (4.0 * a, float(b)) for a, b in [
            (0, 0), (5, 0), (8, 0), (10, 0),  # forward: f (kept: t's input), t, g
            (10 + 5, wt),                     # t: everything live + both outputs' gradients
            (0, wt + 2 * wt)])


def test_training_curve_sums_two_second_writes():
    """o = (p + q) + p + q: at the first add both p's and q's gradients exist already, so
    summing into each needs a temporary of its size (two, not one)."""
    def build(g, inp):
        x = inp((4,))
        p, q = g.dense(x, 5, name="p"), g.dense(x, 5, name="q")
        return g.add([g.add([g.add([p, q], name="n"), p], name="m"), q], name="o")

    w = 25 * 4
    assert _curve(build, {"p": 25, "q": 25}, temporaries=0.0) == tuple(
        (4.0 * a, float(b)) for a, b in [
            (0, 0), (5, 0), (10, 0), (15, 0), (20, 0), (15, 0),  # p, q, n, m (p, n freed), o
            (5 + 15, 0),          # o: live o + gradients of o, m, q
            (5 + 20, 0),          # m: o's freed; + n, p
            (5 + 15 + 10, 0),     # n: m's freed; p and q written again: two temporaries
            (5 + 10, w), (5 + 5, 2 * w), (0, w)])  # p made while q applied; p applied


def test_a_single_trainable_weight_needs_a_gradient():
    g = GraphBuilder("one")
    graph = g.build(g.dense(g.input((1,)), 1, use_bias=False, name="d"))
    assert saved_elements_bytes(graph, {"d": 1}, 4) == 4  # its input, for the kernel gradient


def test_a_weighted_node_without_inputs():
    """An untranslated layer that holds weights but reads no tensor keeps its output."""
    g = GraphBuilder("src")
    u = g.unsupported([], (4,), name="w", class_name="Weights", params=4, trainable_params=4)
    graph = g.build(g.dense(u, 2, name="d"))
    assert saved_elements_bytes(graph, {"w": 4, "d": 10}, 4) == 4 * 4  # w's output = d's input


# ConvNeXt's depthwise grouped conv (its XLA call's buffer) and GELU


def _grouped(channels: int, width: int, kernel: int = 7):
    g = GraphBuilder("g")
    x = g.dense(g.input((2, 2, channels)), channels, name="stem")
    out = g.conv(x, channels, kernel, groups=channels // width, name="gconv")
    return g.build(g.dense(g.global_avg_pool(out), 10, name="head")), out


def test_depthwise_grouped_conv_holds_two_dense_filters():
    graph, out = _grouped(96, 1)
    node = graph.node(out)
    # 2 x (7 x 7 x 96 x 96) floats, whatever the batch and the backend's conv kernels
    expected = Workspace(0.0, 2 * 7 * 7 * 96 * 96 * 4)
    assert xla_depthwise_conv_workspace(node, (2, 2, 96), 32, 4, 2) == expected
    assert xla_depthwise_conv_workspace(node, (2, 2, 96), 1, 4, 2) == expected
    assert eigen_conv_workspace(node, (2, 2, 96), 32, 4, 2) == expected
    assert WORKSPACE_RULES["onednn"]["conv"] is xla_depthwise_conv_workspace
    assert "conv" not in WORKSPACE_RULES["gpu"]
    # 8 (and 2, 4) channels per group: measured nothing; an ungrouped conv neither on oneDNN
    wide, wide_out = _grouped(96, 8)
    assert xla_depthwise_conv_workspace(wide.node(wide_out), (2, 2, 96), 32, 4, 2) == Workspace()
    g = GraphBuilder("c")
    plain = g.conv(g.input((8, 8, 16)), 16, 3)
    assert xla_depthwise_conv_workspace(g.build(plain).node(plain), (8, 8, 16), 32, 4,
                                        2) == Workspace()


def test_the_buffer_counts_once_at_the_grouped_convs_backward_step():
    graph, _ = _grouped(64, 1)
    trainable = {n.name: 1 for n in graph.nodes if n.op in ("dense", "conv")}
    cpu = training_curve(graph, trainable, 4, 2.0, backend="onednn", batch_size=8)
    gpu = training_curve(graph, trainable, 4, 2.0, backend="gpu", batch_size=8)
    extra = [c[1] - g[1] for c, g in zip(cpu, gpu) if c != g]
    assert extra == [2 * 7 * 7 * 64 * 64 * 4]
    assert [c[0] for c in cpu] == [g[0] for g in gpu]  # per-example activations unchanged


def test_gelu_keeps_three_tensors_of_its_size_not_its_input():
    g = GraphBuilder("m")
    h = g.dense(g.input((16,)), 32, name="h")
    act = g.act(h, "gelu", name="act")
    graph = g.build(g.dense(act, 4, name="out"))
    prof = profile(graph)
    # per example, float32: the input (dense h reads it) 16, h is not kept (GELU does not read
    # it, its own three are private), 3 x 32 for GELU, its output 32 (dense out reads it)
    assert prof.saved_activation_bytes(1) == 4 * (16 + 3 * 32 + 32)
