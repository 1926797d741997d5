"""The op vocabulary of the graph: one ``OpRules`` per op, in one table.

Every fact archscale's pure-Python core knows about an op is found here: its attributes, its
shape rule (``archscale.shapes``), its cost rule (``archscale.cost_rules``), what it keeps for
the backward pass (``archscale.saved_rules``), what its ``flops`` count, and whether its output
is a view of its input. The Keras emitter and readers of each op live in ``archscale.keras_io``,
keyed by the same names; ``tests/test_ops.py`` checks that every op has every rule.

To add an op: write its rule functions in the three rule modules, add one ``OpRules`` line
below (and a ``GraphBuilder`` method if families build it), then its emitter in
``keras_io/emit.py`` and a reader in ``keras_io/readers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from archscale.cost_rules import (CostRule, cost_activation, cost_attention, cost_batch_norm,
                                  cost_broadcast, cost_conv, cost_conv_transpose, cost_dense,
                                  cost_depthwise, cost_einsum, cost_elementwise, cost_embedding,
                                  cost_free, cost_global_pool, cost_group_norm, cost_layer_norm,
                                  cost_mha, cost_normalization, cost_pool, cost_prelu,
                                  cost_reduce, cost_rescaling, cost_rnn, cost_scale, cost_separable,
                                  cost_unit_norm, cost_unsupported, cost_upsample)
from archscale.cost_rules import cost_class_token, cost_position_embedding
from archscale.saved_rules import (SavedRule, saved_activation, saved_all_inputs,
                                   saved_all_inputs_and_output, saved_broadcast,
                                   saved_dropout_mask, saved_input, saved_input_and_output,
                                   saved_layer_norm, saved_max_pool,
                                   saved_multi_head_attention, saved_nothing, saved_separable,
                                   saved_weighted)
from archscale.shapes import (ShapeRule, shape_attention, shape_broadcast, shape_channel_pad,
                              shape_concat, shape_conv, shape_conv_transpose, shape_dense,
                              shape_depthwise, shape_einsum, shape_elementwise,
                              shape_embedding, shape_flatten, shape_global_pool, shape_pool,
                              shape_reduce, shape_repeat, shape_reshape, shape_rnn, shape_same,
                              shape_separable, shape_slice, shape_transpose, shape_upsample,
                              shape_zero_pad)
from archscale.shapes import shape_class_token, shape_position_embedding

_WEIGHTED_FLOPS = "2*macs + 1 per output element for the bias + activation table"
_DATA_MOVEMENT = "0 (data movement)"


@dataclass(frozen=True)
class OpRules:
    """Everything the pure-Python core knows about one op.

    Attributes:
        attributes: The node attributes the op reads (documentation).
        shape: Shape rule, or ``None`` where the shape is given rather than inferred
            (``input``: by the builder; ``unsupported``: by Keras).
        cost: Cost rule (params, MACs, FLOPs of one example).
        saved: What a training step keeps for the op's backward pass.
        flops_doc: What the op's ``flops`` count (``FLOPS_RULES_DOC``).
        view_at_inference: Its output shares its input's buffer at inference.
        view_in_training: Its output shares its input's buffer in a training step.
        weighted: Counts towards ``weighted_depth`` (conv, depthwise conv, dense).
    """

    attributes: str
    shape: ShapeRule | None
    cost: CostRule
    saved: SavedRule
    flops_doc: str
    view_at_inference: bool = False
    view_in_training: bool = False
    weighted: bool = False


#: The ops, in the order ``OPS`` lists them (``GraphBuilder`` error messages use it).
OP_RULES: Mapping[str, OpRules] = {
    "input": OpRules(
        "(shape given to the builder)",
        None, cost_free, saved_nothing, _DATA_MOVEMENT),
    "conv": OpRules(
        "filters, kernel, strides, padding ('same'|'valid'), dilation, groups, use_bias, "
        "activation (1-D input (L, C) or 2-D input (H, W, C))",
        shape_conv, cost_conv, saved_weighted, _WEIGHTED_FLOPS, weighted=True),
    "depthwise_conv": OpRules(
        "kernel, strides, padding, dilation, depth_multiplier, use_bias, activation",
        shape_depthwise, cost_depthwise, saved_weighted, _WEIGHTED_FLOPS, weighted=True),
    "dense": OpRules(
        "units, use_bias, activation (applies to the last axis of any rank)",
        shape_dense, cost_dense, saved_weighted, _WEIGHTED_FLOPS, weighted=True),
    "batch_norm": OpRules(
        "epsilon, momentum, center, scale",
        shape_same, cost_batch_norm, saved_input,
        "2 per element (inference: one scale and one shift)"),
    "layer_norm": OpRules(
        "epsilon, center, scale",
        shape_same, cost_layer_norm, saved_layer_norm,
        "5 per element (mean, variance, normalise, scale, shift)"),
    "activation": OpRules(
        "fn (one of ``archscale.graph.ACTIVATIONS``)",
        shape_same, cost_activation, saved_activation, "activation table per element"),
    "max_pool": OpRules(
        "pool, strides, padding",
        shape_pool, cost_pool, saved_max_pool, "pool window size per output element"),
    "avg_pool": OpRules(
        "pool, strides, padding",
        shape_pool, cost_pool, saved_nothing, "pool window size per output element"),
    "global_avg_pool": OpRules(
        "keepdims",
        shape_global_pool, cost_global_pool, saved_nothing, "1 per input element"),
    "global_max_pool": OpRules(
        "keepdims",
        shape_global_pool, cost_global_pool, saved_input_and_output, "1 per input element"),
    "zero_pad": OpRules(
        "padding: ((lo, hi), ...) per spatial axis",
        shape_zero_pad, cost_free, saved_nothing, _DATA_MOVEMENT),
    "channel_pad": OpRules(
        "before, after: zeros added on the channel axis (CIFAR ResNet option-A shortcut)",
        shape_channel_pad, cost_free, saved_nothing, _DATA_MOVEMENT),
    "flatten": OpRules(
        "-",
        shape_flatten, cost_free, saved_nothing, _DATA_MOVEMENT,
        view_at_inference=True, view_in_training=True),
    "reshape": OpRules(
        "target",
        shape_reshape, cost_free, saved_nothing, _DATA_MOVEMENT,
        view_at_inference=True, view_in_training=True),
    "dropout": OpRules(
        "rate",
        shape_same, cost_free, saved_dropout_mask, _DATA_MOVEMENT, view_at_inference=True),
    "add": OpRules(
        "- (two or more inputs)",
        shape_elementwise, cost_elementwise, saved_nothing, "(inputs - 1) per output element"),
    "multiply": OpRules(
        "- (two or more inputs; broadcasts size-1 axes, as in squeeze-excitation)",
        shape_elementwise, cost_elementwise, saved_all_inputs,
        "(inputs - 1) per output element"),
    "concat": OpRules(
        "(channel axis)",
        shape_concat, cost_free, saved_nothing, _DATA_MOVEMENT),
    "rescaling": OpRules(
        "scale, offset",
        shape_same, cost_rescaling, saved_nothing, "1 per element, 2 with a non-zero offset"),
    "normalization": OpRules(
        "(per-channel mean and variance, non-trainable; Keras ``Normalization``)",
        shape_same, cost_normalization, saved_nothing,
        "2 per element (subtract mean, divide by std)"),
    "separable_conv": OpRules(
        "filters, kernel, strides, padding, dilation, depth_multiplier, use_bias, activation",
        shape_separable, cost_separable, saved_separable, _WEIGHTED_FLOPS, weighted=True),
    "conv_transpose": OpRules(
        "filters, kernel, strides, padding, output_padding, dilation, use_bias, activation",
        shape_conv_transpose, cost_conv_transpose, saved_weighted, _WEIGHTED_FLOPS,
        weighted=True),
    "embedding": OpRules(
        "input_dim, output_dim (lora_rank, quantized)",
        shape_embedding, cost_embedding, saved_nothing, "0 (a table lookup)"),
    "einsum_dense": OpRules(
        "equation, output_shape, bias_axes, activation (lora_rank, quantized)",
        shape_einsum, cost_einsum, saved_weighted, _WEIGHTED_FLOPS, weighted=True),
    "multi_head_attention": OpRules(
        "num_heads, key_dim, value_dim, output_dim, use_bias (inputs: query, value[, key])",
        shape_attention, cost_mha, saved_multi_head_attention,
        "2*macs (projections, scores, values) + biases + query scaling + 3 per score "
        "(softmax)"),
    "attention": OpRules(
        "score_mode ('dot'|'additive'), params (inputs: query, value[, key])",
        shape_attention, cost_attention, saved_all_inputs_and_output,
        "2*macs (scores for dot, values) + 3 per score (softmax); additive: + 3 per score "
        "element"),
    "rnn": OpRules(
        "cell ('lstm'|'gru'|'simple_rnn'), units, return_sequences, use_bias, reset_after, "
        "directions (1|2), merge_mode",
        shape_rnn, cost_rnn, saved_all_inputs_and_output,
        "2*macs + RNN_CELL_FLOPS per unit per step"),
    "prelu": OpRules(
        "shared_axes (Keras, 1-based with the batch)",
        shape_same, cost_prelu, saved_input, "2 per element"),
    "scale": OpRules(
        "- (one learned weight per channel: LayerScale)",
        shape_same, cost_scale, saved_input, "1 per element"),
    "group_norm": OpRules(
        "groups, epsilon, center, scale",
        shape_same, cost_group_norm, saved_layer_norm,
        "5 per element (mean, variance, normalise, scale, shift)"),
    "unit_norm": OpRules(
        "-", shape_same, cost_unit_norm, saved_input_and_output, "3 per element"),
    "elementwise": OpRules(
        "fn, constants (scalar operands; tensors broadcast NumPy-style)",
        shape_broadcast, cost_broadcast, saved_broadcast,
        "(operands - 1) per output element, at least 1; average + 1"),
    "reduce": OpRules(
        "fn, axes (non-batch, 0-based), keepdims",
        shape_reduce, cost_reduce, saved_all_inputs, "1 per input element"),
    "upsample": OpRules(
        "size, interpolation",
        shape_upsample, cost_upsample, saved_nothing,
        "0 (nearest); 4 per output element otherwise"),
    "slice": OpRules(
        "index: per leading axis an int (dropped) or (start, stop, step)",
        shape_slice, cost_free, saved_nothing, _DATA_MOVEMENT),
    "transpose": OpRules(
        "perm (non-batch axes, 0-based)",
        shape_transpose, cost_free, saved_nothing, _DATA_MOVEMENT),
    "repeat": OpRules(
        "n", shape_repeat, cost_free, saved_nothing, _DATA_MOVEMENT),
    "identity": OpRules(
        "- (Identity, and the Random* augmentation and noise layers at inference)",
        shape_same, cost_free, saved_nothing, _DATA_MOVEMENT,
        view_at_inference=True, view_in_training=True),
    # -- transformer front ends (issue 17, fam17b) ------------------------------------------
    "class_token": OpRules(
        "- (one learned vector prepended to a (length, dim) sequence: ViT's [class] token)",
        shape_class_token, cost_class_token, saved_nothing, _DATA_MOVEMENT),
    "position_embedding": OpRules(
        "- (a learned (length, dim) tensor added to the sequence)",
        shape_position_embedding, cost_position_embedding, saved_nothing, "1 per element"),
    "unsupported": OpRules(
        "class_name, params, trainable_params (from ``from_keras`` only)",
        None, cost_unsupported, saved_all_inputs_and_output,
        "0 (not counted; listed in ``Profile.unsupported``)"),
}

OPS: tuple[str, ...] = tuple(OP_RULES)

# Views of the table, keyed by op name, for the code that needs one rule kind.
SHAPE_RULES: dict[str, ShapeRule] = {op: r.shape for op, r in OP_RULES.items()
                                     if r.shape is not None}
COST_RULES: dict[str, CostRule] = {op: r.cost for op, r in OP_RULES.items()}
SAVED_RULES: dict[str, SavedRule] = {op: r.saved for op, r in OP_RULES.items()}
INFERENCE_VIEW_OPS = frozenset(op for op, r in OP_RULES.items() if r.view_at_inference)
TRAIN_VIEW_OPS = frozenset(op for op, r in OP_RULES.items() if r.view_in_training)
WEIGHTED_OPS = frozenset(op for op, r in OP_RULES.items() if r.weighted)


def _flops_doc() -> dict[str, str]:
    groups: dict[str, list[str]] = {}
    for op, rules in OP_RULES.items():
        groups.setdefault(rules.flops_doc, []).append(op)
    return {", ".join(ops): doc for doc, ops in groups.items()}


#: What ``flops`` counts per op (ops with the same rule share a row).
FLOPS_RULES_DOC: dict[str, str] = _flops_doc()
