"""The memory model's schedules walked by hand on small graphs (branches, views, frozen
inputs), and each op's saved-tensor rule against the gradient TensorFlow registers for it.
Pure Python: no TensorFlow."""

from __future__ import annotations

import pytest

from archscale import GraphBuilder, profile
from archscale.memory_model import (inference_live_peak_elements, saved_elements_bytes,
                                    saved_for_backward, training_curve)
from archscale.nodes import Node
from archscale.saved_rules import Saved


def _node(op, n_inputs=1, **attrs):
    return Node("n", op, tuple(f"i{k}" for k in range(n_inputs)), (4,), attrs)


@pytest.mark.parametrize("node, saved", [
    # weighted ops keep their input; a fused activation adds what it keeps
    (_node("dense", activation="linear"), Saved((0,), False, 0)),
    (_node("dense", activation="relu"), Saved((0,), True, 0)),            # relu: its output
    (_node("dense", activation="swish"), Saved((0,), False, 1)),          # + pre-activation
    (_node("dense", activation="gelu"), Saved((0,), False, 2)),           # + 1 more tensor
    (_node("dense", activation="hard_sigmoid"), Saved((0,), False, 1)),
    (_node("conv", activation="linear", groups=1), Saved((0,), False, 0)),
    (_node("conv", activation="sigmoid", groups=2), Saved((), True, 0, private_input=1)),
    (_node("depthwise_conv", activation="relu6", groups=4), Saved((0,), True, 0)),
    # standalone activations: output or input per the table
    (_node("activation", fn="relu"), Saved((), True, 0)),
    (_node("activation", fn="swish"), Saved((0,), False, 0)),
    (_node("activation", fn="hard_swish"), Saved((0,), False, 2)),
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
    (_node("multi_head_attention", 3), Saved((0, 1, 2), True)),
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
        # backward at out: live a, s, out (14) + gradients of out (2) and s (6); s released
        (14 + 8, wo),
        # at the add: live a, out (8) + gradients of s (6), a (6) and b (6)
        (8 + 18, wo),
        # at b: gradients of a and b (12) + a temporary for the second write into a's (6)
        (8 + 12 + 6, wo + wb),
        # at a: gradient of a (6); its input is the graph input, which needs none
        (8 + 6, wo + wb + wa),
    ]
    curve = training_curve(graph, trainable, 4, temporaries=2.0)
    assert list(curve) == [(4.0 * a, float(b)) for a, b in expected] + [
        (0.0, float(wo + wb + wa + 2.0 * wa))]  # the update: every gradient + 2 x largest
    p = profile(graph)
    persistent = (110 + 2 * 110 + 8) * 4 + (24 << 10)  # weights, adam slots, input, runtime
    assert p.training_peak_bytes(1) == int((persistent + 2.0 * wa + wa + wb + wo) * 1.025)


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
