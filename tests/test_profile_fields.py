"""``Profile`` field by field on small graphs whose figures are counted by hand: totals, the
per-layer rows, the JSON form, the memory methods' arguments, and what a node read from Keras
carries (shared, frozen and held weights, int8 kernels, notes, unsupported layers).
Pure Python: no TensorFlow."""

from __future__ import annotations

import pytest

from archscale import GraphBuilder, SpecError, profile
from archscale.costs import dtype_bytes, node_cost, ops_table
from archscale.cost_rules import OpCost

#: Measured TensorFlow figures, written here rather than imported (README, memory section).
ALLOCATOR_OVERHEAD = 1.025
STEP_RUNTIME_BYTES = 24 << 10


def _mlp():
    """input 6 -> dense 4 (relu) -> batch norm -> dense 3: counted by hand below."""
    g = GraphBuilder("mlp")
    x = g.input((6,))
    h = g.dense(x, 4, activation="relu")
    h = g.batch_norm(h)
    return g.build(g.dense(h, 3, use_bias=False))


def test_totals_and_rows_of_a_small_mlp():
    p = profile(_mlp())
    # dense_0: 6*4 + 4; batch norm: gamma, beta (trainable) + moving mean, variance; dense_1: 4*3
    assert (p.params, p.trainable_params, p.non_trainable_params) == (28 + 16 + 12, 48, 8)
    assert (p.macs, p.depth, p.name) == (24 + 12, 2, "mlp")
    # dense_0: 2*24 + 4 bias + 4 relu; bn: 2 per element; dense_1: 2*12
    assert p.flops == 56 + 8 + 24
    assert [r.to_dict() for r in p.layers] == [
        {"name": "input", "op": "input", "output_shape": [6], "params": 0,
         "trainable_params": 0, "macs": 0, "flops": 0, "activation_elements": 6},
        {"name": "dense_0", "op": "dense", "output_shape": [4], "params": 28,
         "trainable_params": 28, "macs": 24, "flops": 56, "activation_elements": 4},
        {"name": "batch_norm_0", "op": "batch_norm", "output_shape": [4], "params": 16,
         "trainable_params": 8, "macs": 0, "flops": 8, "activation_elements": 4},
        {"name": "dense_1", "op": "dense", "output_shape": [3], "params": 12,
         "trainable_params": 12, "macs": 12, "flops": 24, "activation_elements": 3},
    ]
    assert p.unsupported == () and p.notes == () and p.int8_params == 0


def test_to_dict_of_a_small_mlp():
    p = profile(_mlp())
    d = p.to_dict(batch_size=2, dtype="float16")
    layers = d.pop("layers")
    weights = 56 * 2
    # inference live peak: input 6 + dense_0 4 (then 4 + 4, then 4 + 3): 10 per example
    inference = int((weights + 10 * 2 * 2) * ALLOCATOR_OVERHEAD)
    assert d == {"name": "mlp", "params": 56, "trainable_params": 48, "non_trainable_params": 8,
                 "macs": 36, "flops": 88, "depth": 2, "dtype": "float16", "batch_size": 2,
                 "weight_bytes": weights, "inference_activation_peak_bytes": 40,
                 "inference_peak_bytes": inference,
                 "training_peak_bytes": p.training_peak_bytes(2, "float16", "adam"),
                 "unsupported": []}
    assert [row["name"] for row in layers] == ["input", "dense_0", "batch_norm_0", "dense_1"]
    assert p.memory_summary(2, "float16") == {k: d[k] for k in (
        "batch_size", "weight_bytes", "inference_activation_peak_bytes", "inference_peak_bytes",
        "training_peak_bytes")}
    # the defaults: batch 1, float32, adam
    assert p.memory_summary() == {
        "batch_size": 1, "weight_bytes": 56 * 4, "inference_activation_peak_bytes": 10 * 4,
        "inference_peak_bytes": int((56 * 4 + 40) * ALLOCATOR_OVERHEAD),
        "training_peak_bytes": p.training_peak_bytes(1, "float32", "adam")}
    sgd = p.memory_summary(4, "float32", optimizer="sgd")["training_peak_bytes"]
    assert sgd == p.training_peak_bytes(4, "float32", "sgd") < p.training_peak_bytes(4)
    assert p.to_dict()["weight_bytes"] == 56 * 4 and p.to_dict()["batch_size"] == 1
    assert p.to_dict()["training_peak_bytes"] == p.training_peak_bytes(1, "float32", "adam")


def test_memory_defaults_and_dtypes():
    p = profile(_mlp())
    assert [dtype_bytes(d) for d in ("float32", "float16", "bfloat16", "float64")] == [4, 2, 2, 8]
    assert p.activation_bytes() == {"input": 24, "dense_0": 16, "batch_norm_0": 16,
                                    "dense_1": 12}
    assert p.activation_bytes(3, "float64") == {"input": 144, "dense_0": 96,
                                                "batch_norm_0": 96, "dense_1": 72}
    assert p.inference_activation_peak_bytes() == 10 * 4
    assert p.inference_peak_bytes() == int((56 * 4 + 40) * ALLOCATOR_OVERHEAD)
    assert p.inference_peak_bytes(4, "float64") == int((56 * 8 + 10 * 4 * 8) * ALLOCATOR_OVERHEAD)
    assert p.training_peak_bytes() == p.training_peak_bytes(32, "float32", "adam")
    # kept for backward: dense_0's input (6), relu's output = bn input (4), dense_1's input (4)
    assert p.saved_activation_bytes() == (6 + 4 + 4) * 4
    assert p.saved_activation_bytes(3, "float16") == (6 + 4 + 4) * 3 * 2


@pytest.mark.parametrize("optimizer, slots", [
    ("sgd", 0), ("momentum", 1), ("rmsprop", 1), ("adagrad", 1), ("adam", 2), ("adamw", 2),
    ("nadam", 2), ("adamax", 2)])
def test_optimizer_slots_per_trainable_weight(optimizer, slots):
    """Keras keeps per trainable weight: SGD nothing, momentum/RMSprop/Adagrad one tensor,
    Adam/AdamW/Nadam/Adamax two (m and v or u). Doubling a graph's trainable weights with no
    change to activations moves the persistent part by (1 + slots) x weight bytes."""
    def peak(units):
        g = GraphBuilder("w")
        return profile(g.build(g.dense(g.input((units,)), 1, use_bias=False)))

    small, big = peak(2000), peak(4000)
    # weights 2000 -> 4000 floats; activations change too, so compare the persistent part by
    # subtracting the same graph's sgd figure (0 slots, 0 temporaries) at batch 1
    def persistent_growth(opt):
        return big.training_peak_bytes(1, optimizer=opt) - small.training_peak_bytes(
            1, optimizer=opt)

    growth = persistent_growth(optimizer) - persistent_growth("sgd")
    temporaries = {"sgd": 0, "momentum": 1, "rmsprop": 2.5, "adagrad": 1.5, "adam": 2,
                   "adamw": 2, "nadam": 2.5, "adamax": 3}[optimizer]
    assert growth == pytest.approx(ALLOCATOR_OVERHEAD * (slots + temporaries) * 2000 * 4, abs=2)


def test_bad_memory_arguments_are_named():
    p = profile(_mlp())
    with pytest.raises(SpecError) as info:
        p.weight_bytes("int4")
    assert str(info.value) == ("dtype must be one of float32, float16, bfloat16, float64. "
                               "Received: dtype='int4'")
    for bad in (0, -1, True, 2.0, "8"):
        with pytest.raises(SpecError) as info:
            p.activation_bytes(bad)
        assert str(info.value) == f"batch_size must be a positive int. Received: batch_size={bad!r}"
    for method in (p.inference_activation_peak_bytes, p.saved_activation_bytes,
                   p.training_peak_bytes, p.inference_peak_bytes):
        with pytest.raises(SpecError, match="batch_size"):
            method(0)
    with pytest.raises(SpecError) as info:
        p.training_peak_bytes(optimizer="lion")
    assert str(info.value) == ("optimizer must be one of sgd, momentum, rmsprop, adagrad, adam, "
                               "adamw, nadam, adamax. Received: optimizer='lion'")


def test_training_peak_is_cached_per_dtype_and_optimizer():
    p = profile(_mlp())
    first = [p.training_peak_bytes(8, d, o) for d in ("float32", "float16")
             for o in ("sgd", "adam")]
    assert first == [p.training_peak_bytes(8, d, o) for d in ("float32", "float16")
                     for o in ("sgd", "adam")]
    assert len(set(first)) == 4


# -- what a node read from Keras carries ---------------------------------------------------------


def _dense_graph(**extra):
    g = GraphBuilder("k")
    x = g.input((5,))
    d = g.layer("dense", x, name="d", units=3, use_bias=True, activation="linear", **extra)
    return g.build(d)


def test_shared_frozen_and_held_weights():
    base = OpCost(18, 0, 15, 33)
    graph = _dense_graph()
    assert node_cost(graph, graph.node("d")) == base
    graph = _dense_graph(shared_with="other")
    assert node_cost(graph, graph.node("d")) == OpCost(0, 0, 15, 33)
    graph = _dense_graph(frozen=True)
    assert node_cost(graph, graph.node("d")) == OpCost(0, 18, 15, 33)
    graph = _dense_graph(held=(7, 4), frozen=True)  # held wins over frozen and the rule
    assert node_cost(graph, graph.node("d")) == OpCost(7, 4, 15, 33)
    g = GraphBuilder("bn")  # a frozen layer with non-trainable weights of its own
    b = g.batch_norm(g.input((3, 5)), name="bn")
    graph = g.build(b)
    assert node_cost(graph, graph.node("bn")) == OpCost(10, 10, 0, 30)
    graph.node("bn").attrs["frozen"] = True
    assert node_cost(graph, graph.node("bn")) == OpCost(0, 20, 0, 30)
    graph = _dense_graph(held=(0, 0))
    assert node_cost(graph, graph.node("d")) == OpCost(0, 0, 15, 33)
    p = profile(_dense_graph(held=(7, 4)))
    assert (p.params, p.trainable_params, p.non_trainable_params) == (11, 7, 4)


def test_int8_weights_held_and_shared():
    assert profile(_dense_graph(quantized=True)).int8_params == 15
    assert profile(_dense_graph(quantized=True, held_int8=9)).int8_params == 9
    assert profile(_dense_graph(quantized=True, held_int8=0)).int8_params == 0
    assert profile(_dense_graph(quantized=True, shared_with="other")).int8_params == 0
    p = profile(_dense_graph(quantized=True))
    assert p.to_dict()["int8_params"] == 15 and "int8_params" not in profile(
        _dense_graph()).to_dict()


def test_notes_and_unsupported_layers():
    g = GraphBuilder("u")
    x = g.input((4,))
    u = g.unsupported([x], (4,), name="weird", class_name="MyLayer", params=10,
                      trainable_params=6)
    second = g.unsupported([x], (4,), name="weird_1", class_name="MyLayer", params=0,
                           trainable_params=0)
    d = g.layer("dense", [u], name="d", units=2, use_bias=False, activation="linear",
                note="d (Dense): a note")
    graph = g.build([d, second])
    graph.node("weird_1").attrs["output_index"] = 1  # the second output of one Keras layer
    p = profile(graph)
    assert p.unsupported == ("weird (MyLayer)",)
    assert (p.params, p.trainable_params) == (10 + 8, 6 + 8)
    assert p.layers[1].params == 10 and p.layers[1].macs == 0 and p.layers[1].flops == 0
    assert p.notes == ("d (Dense): a note",)
    from archscale.costs import profile_graph

    q = profile_graph(graph, notes=("read through Keras",))
    assert q.notes == ("read through Keras", "d (Dense): a note")
    assert q.to_dict()["notes"] == ["read through Keras", "d (Dense): a note"]
    assert q.to_dict()["unsupported"] == ["weird (MyLayer)"]
    assert "notes" not in profile(_mlp()).to_dict()


def test_ops_table_is_a_copy_of_the_flops_doc():
    from archscale.ops import FLOPS_RULES_DOC

    table = ops_table()
    assert table == FLOPS_RULES_DOC and table is not FLOPS_RULES_DOC
    assert table["batch_norm"] == "2 per element (inference: one scale and one shift)"
