"""The Pareto frontier, as the reports use it: re-exported from ``archscale.pareto``.

The function is pure Python over flat rows, so it lives in the core layer where every layer
above (reporting, tuning) can use it; this module keeps the reporting layer's name for it.
"""

from __future__ import annotations

from archscale.pareto import (DIRECTIONS, DOMINATED, FRONT, MISSING, ParetoResult,
                              check_objectives, dominates, front_indices, objective_value,
                              pareto_front)

__all__ = ["DIRECTIONS", "DOMINATED", "FRONT", "MISSING", "ParetoResult", "check_objectives",
           "dominates", "front_indices", "objective_value", "pareto_front"]
