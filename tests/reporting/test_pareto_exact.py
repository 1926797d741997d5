"""Exact outputs of the Pareto front: labels, values, the JSON form and the error messages
(the cases the brute-force comparison in test_pareto leaves unchecked)."""

from __future__ import annotations

import sys

import pytest

from archscale.errors import SpecError
from archscale.pareto import dominates, pareto_front


def test_results_carry_labels_and_values_of_every_status():
    rows = [{"name": "a", "acc": 0.9, "macs": 5}, {"name": "b", "acc": 0.8, "macs": 9},
            {"name": "c", "acc": None, "macs": 1}]
    front, dominated, missing = pareto_front(rows, {"acc": "max", "macs": "min"})
    assert (front.name, front.status, front.values) == ("a", "front", (0.9, 5.0))
    assert (dominated.name, dominated.status, dominated.values) == ("b", "dominated", (0.8, 9.0))
    assert (missing.name, missing.status, missing.values) == ("c", "missing", (None, 1.0))


def test_to_dict_names_every_field():
    rows = [{"name": "a", "acc": 0.9, "macs": 5}, {"name": "b", "acc": 0.8, "macs": 9},
            {"name": "c", "macs": 1}]
    results = pareto_front(rows, {"acc": "max", "macs": "min"})
    assert [r.to_dict() for r in results] == [
        {"index": 0, "name": "a", "status": "front", "values": [0.9, 5.0],
         "dominated_by": [], "dominated_by_index": [], "missing": []},
        {"index": 1, "name": "b", "status": "dominated", "values": [0.8, 9.0],
         "dominated_by": ["a"], "dominated_by_index": [0], "missing": []},
        {"index": 2, "name": "c", "status": "missing", "values": [None, 1.0],
         "dominated_by": [], "dominated_by_index": [], "missing": ["acc"]},
    ]


def test_rows_without_a_label_are_named_by_position():
    """An absent or empty label becomes ``#index`` (in ``name`` and in ``dominated_by``)."""
    rows = [{"x": 1}, {"name": "", "x": 2}, {"name": 0, "x": 3}, {"x": None}]
    results = pareto_front(rows, {"x": "min"})
    assert [r.name for r in results] == ["#0", "#1", "0", "#3"]
    assert results[1].dominated_by == ("#0",) and results[2].dominated_by == ("#0",)


def test_label_key_picks_the_column():
    rows = [{"name": "n0", "arch": "small", "x": 1}, {"name": "n1", "arch": "big", "x": 2}]
    results = pareto_front(rows, {"x": "min"}, label_key="arch")
    assert [r.name for r in results] == ["small", "big"]
    assert results[1].dominated_by == ("small",)


def test_values_near_the_float_limit_still_compare():
    """Rows whose values are finite but near ``float`` max keep their order (turning them into
    minimisation keys must not overflow them into ties at infinity)."""
    top = sys.float_info.max
    for direction, better, worse in (("max", top, top * 0.75), ("min", top * 0.75, top)):
        results = pareto_front([{"x": worse}, {"x": better}], {"x": direction})
        assert [r.status for r in results] == ["dominated", "front"], direction


def test_dominates_is_a_strict_bool():
    assert dominates((1.0, 2.0), (1.0, 2.0)) is False
    assert dominates((1.0, 2.0), (1.0, 3.0)) is True
    assert dominates((1.0, 4.0), (1.0, 3.0)) is False


@pytest.mark.parametrize("objectives, message", [
    ({}, "objectives must be a non-empty mapping of column -> 'max' or 'min', such as "
         "{'accuracy_mean': 'max', 'macs': 'min'}. Received: objectives={}"),
    ([("x", "max")], "objectives must be a non-empty mapping of column -> 'max' or 'min', "
                     "such as {'accuracy_mean': 'max', 'macs': 'min'}. "
                     "Received: objectives=[('x', 'max')]"),
    ({"": "max"}, "objective columns must be non-empty strings. Received: objective=''"),
    ({3: "max"}, "objective columns must be non-empty strings. Received: objective=3"),
    ({"x": "up"}, "objective direction must be 'max' or 'min'. Received: objectives['x']='up'"),
])
def test_invalid_objectives_messages(objectives, message):
    with pytest.raises(SpecError) as info:
        pareto_front([{"x": 1}], objectives)
    assert str(info.value) == message
