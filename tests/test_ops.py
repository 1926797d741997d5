"""The op table: every op has every rule, in one place, and the core modules form no cycle."""

from __future__ import annotations

import pytest

from archscale import costs, graph, memory_model, ops
from archscale.ops import OP_RULES, OPS

#: Ops without a shape rule, and why.
NO_SHAPE_RULE = {
    "input": "its shape is given to GraphBuilder.input, not inferred",
    "unsupported": "its shape is the one Keras reports for the untranslated layer",
}

CORE_MODULES = ("archscale.errors", "archscale.shapes", "archscale.nodes",
                "archscale.cost_rules", "archscale.saved_rules", "archscale.ops",
                "archscale.graph", "archscale.memory_model", "archscale.costs")


@pytest.mark.parametrize("op", OPS)
def test_every_op_has_every_rule(op):
    rules = OP_RULES[op]
    assert (rules.shape is None) == (op in NO_SHAPE_RULE)
    assert callable(rules.cost) and callable(rules.saved)
    assert rules.flops_doc and rules.attributes


def test_ops_defined_once_and_the_rule_views_come_from_the_table():
    assert graph.OPS is ops.OPS
    assert costs.COST_RULES is ops.COST_RULES
    assert memory_model.SAVED_RULES is ops.SAVED_RULES
    assert costs.ALIAS_OPS == memory_model.INFERENCE_VIEW_OPS == ops.INFERENCE_VIEW_OPS
    assert tuple(ops.SHAPE_RULES) == tuple(op for op in OPS if op not in NO_SHAPE_RULE)
    assert set(ops.COST_RULES) == set(ops.SAVED_RULES) == set(OPS)
    assert OPS[0] == "input" and OPS[-1] == "unsupported"


def test_views_and_weighted_ops():
    assert ops.TRAIN_VIEW_OPS == {"flatten", "reshape", "identity"}
    assert ops.INFERENCE_VIEW_OPS == {"flatten", "reshape", "dropout", "identity"}
    assert ops.WEIGHTED_OPS == {"conv", "depthwise_conv", "dense", "separable_conv",
                                "conv_transpose", "einsum_dense"}


def test_flops_doc_covers_every_op_once():
    listed = [op for key in ops.FLOPS_RULES_DOC for op in key.split(", ")]
    assert sorted(listed) == sorted(OPS)
    assert costs.ops_table() == ops.FLOPS_RULES_DOC


def test_builder_refuses_an_op_without_a_shape_rule():
    from archscale.errors import ShapeError

    g = graph.GraphBuilder("t")
    x = g.input((4,))
    with pytest.raises(ShapeError, match="unknown op. Accepted: conv, depthwise_conv"):
        g.layer("unsupported", x)


def test_core_modules_import_no_cycle():
    grimp = pytest.importorskip("grimp")
    g = grimp.build_graph("archscale")
    for a in CORE_MODULES:
        for b in CORE_MODULES:
            if a != b and g.direct_import_exists(importer=a, imported=b):
                assert not g.chain_exists(importer=b, imported=a), f"cycle {a} <-> {b}"
