"""Readers of Keras' sequence layers: Embedding, EinsumDense, MultiHeadAttention, Attention,
AdditiveAttention, LSTM/GRU/SimpleRNN, Bidirectional and TimeDistributed (of a Dense).

Recurrent layers count MACs per time step times the steps (and the directions); the
convention is in ``archscale.cost_rules.cost_rnn``.
"""

from __future__ import annotations

from archscale.graph import GraphBuilder
from archscale.keras_io.config_values import (TensorArg, Untranslatable, activation_name,
                                              adaptations)
from archscale.keras_io.layer_readers import read_dense, with_activation

_CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}


def read_embedding(g: GraphBuilder, c, ins, name, rank, call):
    return g.layer("embedding", ins[0], name=name, input_dim=int(c["input_dim"]),
                   output_dim=int(c["output_dim"]), **adaptations(c))


def read_einsum_dense(g: GraphBuilder, c, ins, name, rank, call):
    target = c["output_shape"]
    target = (target,) if isinstance(target, int) else tuple(target)
    try:
        fn = activation_name(c.get("activation"))
    except Untranslatable:
        fn = "linear"
    ref = g.layer("einsum_dense", ins[0], name=name, equation=c["equation"],
                  output_shape=target, bias_axes=c.get("bias_axes") or "", activation=fn,
                  **adaptations(c))
    return with_activation(g, ref, c.get("activation"), name)


def _tensor(call, position: int, keyword: str) -> str | None:
    if len(call.args) > position and isinstance(call.args[position], TensorArg):
        return call.args[position].ref
    value = call.kwargs.get(keyword)
    return value.ref if isinstance(value, TensorArg) else None


def read_mha(g: GraphBuilder, c, ins, name, rank, call):
    if c.get("attention_axes") not in (None, [1], (1,), 1, [-2]):
        raise Untranslatable(f"attention_axes {c.get('attention_axes')}")
    if call.kwargs.get("return_attention_scores"):
        raise Untranslatable("return_attention_scores")
    query, value = _tensor(call, 0, "query"), _tensor(call, 1, "value")
    key = _tensor(call, 2, "key")
    if query is None or value is None:
        raise Untranslatable("query/value not found")
    out = c.get("output_shape")
    if isinstance(out, (list, tuple)):
        if len(out) != 1:
            raise Untranslatable(f"output_shape {out}")
        out = out[0]
    key_dim = int(c["key_dim"])
    return g.layer("multi_head_attention", [query, value] + ([key] if key else []), name=name,
                   num_heads=int(c["num_heads"]), key_dim=key_dim,
                   value_dim=int(c.get("value_dim") or key_dim),
                   output_dim=int(out or g.shape(query)[-1]),
                   use_bias=bool(c.get("use_bias", True)))


def read_attention(additive: bool):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        if call.kwargs.get("return_attention_scores") or len(ins) not in (2, 3):
            raise Untranslatable("attention call")
        dim = g.shape(ins[0])[-1]
        if additive:
            mode, params = "additive", dim if c.get("use_scale", True) else 0
        else:
            mode = "dot" if c.get("score_mode", "dot") == "dot" else "additive"
            params = int(bool(c.get("use_scale"))) + int(mode == "additive")
        return g.layer("attention", ins, name=name, score_mode=mode, params=params)
    return read


def _rnn_attrs(class_name: str, c) -> dict:
    if class_name not in _CELLS:
        raise Untranslatable(f"recurrent layer {class_name}")
    if c.get("return_state"):
        raise Untranslatable("return_state")
    return {"cell": _CELLS[class_name], "units": int(c["units"]),
            "return_sequences": bool(c.get("return_sequences", False)),
            "use_bias": bool(c.get("use_bias", True)),
            "reset_after": bool(c.get("reset_after", True))}


def read_rnn(class_name: str):
    def read(g: GraphBuilder, c, ins, name, rank, call):
        return g.layer("rnn", ins[0], name=name, directions=1, merge_mode="concat",
                       **_rnn_attrs(class_name, c))
    return read


def read_bidirectional(g: GraphBuilder, c, ins, name, rank, call):
    inner = c["layer"]
    attrs = _rnn_attrs(inner["class_name"], inner["config"])
    back = c.get("backward_layer")
    if back is not None and _rnn_attrs(back["class_name"], back["config"]) != attrs:
        raise Untranslatable("backward layer differs from the forward one")
    mode = c.get("merge_mode", "concat")
    if mode not in ("concat", "sum", "ave", "mul"):
        raise Untranslatable(f"merge_mode {mode!r}")
    return g.layer("rnn", ins[0], name=name, directions=2, merge_mode=mode, **attrs)


def read_time_distributed(g: GraphBuilder, c, ins, name, rank, call):
    inner = c["layer"]
    if inner["class_name"] != "Dense":
        raise Untranslatable(f"TimeDistributed({inner['class_name']})")
    return read_dense(g, inner["config"], ins, name, rank, call)
