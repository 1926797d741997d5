"""The Pareto frontier of result rows over any number of objectives (pure Python).

Row ``a`` *dominates* row ``b`` when ``a`` is at least as good as ``b`` on every objective and
strictly better on at least one ("good" is larger for ``"max"`` objectives, smaller for
``"min"``). Rows that no other row dominates form the frontier. Consequences:

- Ties: rows equal on every objective do not dominate each other; if nothing else dominates
  them they are all on the frontier.
- Missing values: a row whose value for some objective is missing (``None``, absent, NaN,
  infinite, or not a number) takes no part in the comparison: it is neither on the frontier nor
  dominated, and its result has ``status == "missing"`` and names the missing objectives.

Every dominated row is dominated by at least one frontier row (domination is transitive and
the set is finite); ``ParetoResult.dominated_by`` lists exactly the frontier rows that
dominate it, which answers "dominated by whom" with names a reader finds on the frontier.

The algorithm sorts the complete rows lexicographically on the objectives (turned into
minimisation); a row can only be dominated by rows before it in that order, so one pass that
compares each row with the frontier found so far finds the frontier in ``O(n·f·k)`` for ``n``
rows, ``f`` frontier rows and ``k`` objectives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from archscale.errors import SpecError

DIRECTIONS = ("max", "min")

FRONT, DOMINATED, MISSING = "front", "dominated", "missing"


@dataclass(frozen=True)
class ParetoResult:
    """Where one input row stands with respect to the frontier.

    Attributes:
        index: Position of the row in the input sequence.
        name: The row's label (``row[label_key]``, or ``"#index"`` when absent).
        status: ``"front"``, ``"dominated"`` or ``"missing"``.
        values: The row's objective values in ``objectives`` order (``None`` where missing).
        dominated_by: Names of the frontier rows that dominate this row (empty unless
            ``status == "dominated"``), in input order.
        dominated_by_index: Their input positions, same order.
        missing: Objectives whose value is missing (empty unless ``status == "missing"``).
    """

    index: int
    name: str
    status: str
    values: tuple[float | None, ...]
    dominated_by: tuple[str, ...] = ()
    dominated_by_index: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def on_front(self) -> bool:
        """Whether the row is on the frontier."""
        return self.status == FRONT

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return {"index": self.index, "name": self.name, "status": self.status,
                "values": list(self.values), "dominated_by": list(self.dominated_by),
                "dominated_by_index": list(self.dominated_by_index),
                "missing": list(self.missing)}


def check_objectives(objectives: Mapping[str, str]) -> dict[str, str]:
    """Validate ``{column: "max" | "min"}``.

    Returns:
        A plain dict copy (insertion order kept).

    Raises:
        SpecError: empty, not a mapping, a non-string column or an unknown direction.
    """
    if not isinstance(objectives, Mapping) or not objectives:
        raise SpecError("objectives must be a non-empty mapping of column -> 'max' or 'min', "
                        f"such as {{'accuracy_mean': 'max', 'macs': 'min'}}. "
                        f"Received: objectives={objectives!r}")
    for column, direction in objectives.items():
        if not isinstance(column, str) or not column:
            raise SpecError(f"objective columns must be non-empty strings. "
                            f"Received: objective={column!r}")
        if direction not in DIRECTIONS:
            raise SpecError(f"objective direction must be 'max' or 'min'. "
                            f"Received: objectives[{column!r}]={direction!r}")
    return dict(objectives)


def objective_value(row: Mapping[str, Any], column: str) -> float | None:
    """The row's value of ``column`` as a finite float, or ``None`` when missing.

    Bools, strings, NaN and infinities count as missing.
    """
    value = row.get(column)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether minimisation vector ``a`` dominates ``b`` (``a <= b`` everywhere, ``<`` once)."""
    strictly = False
    for x, y in zip(a, b):
        if x > y:
            return False
        if x < y:
            strictly = True
    return strictly


def _label(row: Mapping[str, Any], index: int, label_key: str) -> str:
    value = row.get(label_key)
    return f"#{index}" if value is None or value == "" else str(value)


def pareto_front(rows: Sequence[Mapping[str, Any]], objectives: Mapping[str, str], *,
                 label_key: str = "name") -> list[ParetoResult]:
    """Classify every row as on the frontier, dominated (and by whom), or missing a value.

    Args:
        rows: Flat rows (dicts).
        objectives: ``{column: "max" | "min"}``, one entry per objective (any number).
        label_key: Column naming a row in ``ParetoResult.name`` / ``dominated_by``.

    Returns:
        One ``ParetoResult`` per input row, in input order.

    Raises:
        SpecError: invalid ``objectives`` (see ``check_objectives``).
    """
    objectives = check_objectives(objectives)
    columns = list(objectives)
    signs = [-1.0 if objectives[c] == "max" else 1.0 for c in columns]
    values: list[tuple[float | None, ...]] = []
    complete: list[int] = []
    for i, row in enumerate(rows):
        vals = tuple(objective_value(row, c) for c in columns)
        values.append(vals)
        if all(v is not None for v in vals):
            complete.append(i)
    keys = {i: tuple(s * v for s, v in zip(signs, values[i])) for i in complete}  # type: ignore
    front: list[int] = []
    for i in sorted(complete, key=lambda j: (keys[j], j)):
        if not any(dominates(keys[j], keys[i]) for j in front):
            front.append(i)
    on_front = set(front)
    front_in_order = sorted(front)
    results = []
    for i, row in enumerate(rows):
        name = _label(row, i, label_key)
        if i not in keys:
            missing = tuple(c for c, v in zip(columns, values[i]) if v is None)
            results.append(ParetoResult(i, name, MISSING, values[i], missing=missing))
        elif i in on_front:
            results.append(ParetoResult(i, name, FRONT, values[i]))
        else:
            by = tuple(j for j in front_in_order if dominates(keys[j], keys[i]))
            results.append(ParetoResult(i, name, DOMINATED, values[i],
                                        dominated_by=tuple(_label(rows[j], j, label_key)
                                                           for j in by),
                                        dominated_by_index=by))
    return results


def front_indices(results: Sequence[ParetoResult]) -> list[int]:
    """Input positions of the frontier rows, in input order."""
    return [r.index for r in results if r.status == FRONT]
