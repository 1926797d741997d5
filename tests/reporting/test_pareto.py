"""The Pareto frontier against a brute-force O(n²) definition, with ties and missing values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archscale.errors import SpecError
from archscale.pareto import front_indices, pareto_front

from .bruteforce import brute_force

COLUMNS = ("a", "b", "c", "d")


# Small integer ranges make ties and equal rows common; None/NaN/inf/strings are missing.
values = st.one_of(st.integers(0, 4), st.integers(0, 4).map(float),
                   st.sampled_from([None, math.nan, math.inf, "n/a", True]))
rows_strategy = st.lists(st.fixed_dictionaries({c: values for c in COLUMNS}), max_size=40)
objectives_strategy = st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4,
                               unique=True).flatmap(
    lambda cols: st.fixed_dictionaries({c: st.sampled_from(["max", "min"]) for c in cols}))


@settings(max_examples=400, deadline=None)
@given(rows=rows_strategy, objectives=objectives_strategy)
def test_matches_brute_force(rows, objectives):
    for i, row in enumerate(rows):
        row["name"] = f"r{i}"
    results = pareto_front(rows, objectives)
    front, dominated_by, missing = brute_force(rows, objectives)
    assert [r.index for r in results] == list(range(len(rows)))
    assert front_indices(results) == front
    assert [r.index for r in results if r.status == "missing"] == missing
    for r in results:
        if r.status == "dominated":
            assert list(r.dominated_by_index) == dominated_by[r.index]
            assert list(r.dominated_by) == [f"r{i}" for i in dominated_by[r.index]]
            assert r.dominated_by  # always dominated by at least one frontier row
        else:
            assert r.dominated_by == ()
        if r.status == "missing":
            assert r.missing and set(r.missing) <= set(objectives)


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy, objectives=objectives_strategy)
def test_order_independent_and_direction_symmetric(rows, objectives):
    """Reversing the rows reverses the result; flipping every direction and negating every
    value gives the same frontier."""
    results = pareto_front(rows, objectives)
    reverse = pareto_front(rows[::-1], objectives)
    n = len(rows)
    assert sorted(n - 1 - i for i in front_indices(reverse)) == front_indices(results)
    flipped = {c: "min" if d == "max" else "max" for c, d in objectives.items()}
    negated = [{c: (-v if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                for c, v in row.items()} for row in rows]
    assert front_indices(pareto_front(negated, flipped)) == front_indices(results)


@pytest.mark.parametrize("rows, objectives, front, statuses", [
    # Equal on every objective: neither dominates, both on the frontier.
    ([{"acc": 0.9, "macs": 10}, {"acc": 0.9, "macs": 10}, {"acc": 0.8, "macs": 10}],
     {"acc": "max", "macs": "min"}, [0, 1], ["front", "front", "dominated"]),
    # A missing value excludes the row; it does not shield or dominate anyone.
    ([{"acc": None, "macs": 1}, {"acc": 0.5, "macs": 5}, {"acc": 0.7, "macs": float("nan")}],
     {"acc": "max", "macs": "min"}, [1], ["missing", "front", "missing"]),
    # Three objectives: a trade-off on the third keeps the row on the frontier.
    ([{"a": 1, "b": 1, "c": 5}, {"a": 1, "b": 1, "c": 1}, {"a": 2, "b": 2, "c": 9}],
     {"a": "max", "b": "max", "c": "min"}, [1, 2], ["dominated", "front", "front"]),
    # One objective: the best values (ties included).
    ([{"x": 3}, {"x": 1}, {"x": 1}], {"x": "min"}, [1, 2], ["dominated", "front", "front"]),
    ([], {"x": "min"}, [], []),
])
def test_cases(rows, objectives, front, statuses):
    results = pareto_front(rows, objectives)
    assert front_indices(results) == front
    assert [r.status for r in results] == statuses


def test_dominated_rows_name_their_frontier_dominators():
    rows = [{"name": "small", "acc": 0.80, "macs": 1}, {"name": "big", "acc": 0.95, "macs": 10},
            {"name": "bad", "acc": 0.70, "macs": 20}, {"name": "missing", "macs": 3}]
    results = pareto_front(rows, {"acc": "max", "macs": "min"})
    bad = results[2]
    assert bad.status == "dominated" and bad.dominated_by == ("small", "big")
    assert results[3].missing == ("acc",) and results[3].to_dict()["status"] == "missing"
    assert [r.on_front for r in results] == [True, True, False, False]


@pytest.mark.parametrize("objectives", [{}, {"x": "maximise"}, {"x": None}, {"": "max"},
                                        [("x", "max")]])
def test_invalid_objectives_raise(objectives):
    with pytest.raises(SpecError, match="Received"):
        pareto_front([{"x": 1}], objectives)
