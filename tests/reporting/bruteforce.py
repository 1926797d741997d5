"""The Pareto frontier straight from its definition (every pair compared), for tests."""

from __future__ import annotations

import math


def value(row, col):
    """The row's value as a finite float, else None (missing)."""
    v = row.get(col)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def brute_force(rows, objectives):
    """``(front indices, {dominated index: frontier dominators}, missing indices)``."""
    complete = [i for i, r in enumerate(rows)
                if all(value(r, c) is not None for c in objectives)]

    def at_least(x, y, col):
        return x >= y if objectives[col] == "max" else x <= y

    def better(x, y, col):
        return x > y if objectives[col] == "max" else x < y

    def dom(i, j):
        return all(at_least(value(rows[i], c), value(rows[j], c), c) for c in objectives) \
            and any(better(value(rows[i], c), value(rows[j], c), c) for c in objectives)

    front = [j for j in complete if not any(dom(i, j) for i in complete if i != j)]
    dominated_by = {j: [i for i in front if dom(i, j)] for j in complete if j not in front}
    missing = [i for i in range(len(rows)) if i not in complete]
    return front, dominated_by, missing
