"""What each task's grid asks of the capacity rule, read off the measured grids (pure
functions, no TensorFlow, no training).

The proposal's size is the capacity default times ``headroom_factor(headroom)``. Along a
task's width line (the grid points at the depth of the grid's centre, the proposal the grid
was made around), a multiplier ``c`` of the centre's params has an estimated mean accuracy
and MACs: both are interpolated linearly in
``log(params)`` between the neighbouring grid points (MACs in log-log), and they are exact at
the grid points. ``c`` *meets the targets* when that accuracy is within the allowed gap of
the grid's best mean (``max(1 point, the best point's std)``) and those MACs are at most 2x
the knee's. The multipliers that meet them, within the grid's span, form ``FactorRange``'s
intervals; times the factor the centre was made with, they are the factors the rule should
have given that task.

At ``c = 1`` (the centre itself) the estimate is the measurement, so ``meets(1)`` is the
report's verdict while the proposal is the centre. Elsewhere it is an estimate: a proposal of
another size would also get its own recipe (weight decay follows params) and possibly another
depth from the solver, so a rule chosen with this screen is still trained and scored on the
grids (``study.grid``: a proposal off its grid's centre is one more entry).

``best_power_laws`` scores rules of the current form, ``clip((h / reference) ** exponent,
floor, cap)``, by how many tasks' ranges they fall in. Each range carries the group of the
rule that sizes its task's modality (``heuristics.difficulty.HEADROOM_RULE_GROUP``: vector and
sequence inputs share ``signal``, images have ``image``), and each group's rule is screened
over its own tasks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from archscale.heuristics.difficulty import HEADROOM_RULES, FactorRule
from archscale.study.analysis import GAP_TARGET, MACS_TARGET, Knee, PointResult

#: The floor every candidate rule keeps (the rules' common floor today).
FLOOR = 1 / 8


@dataclass(frozen=True)
class FactorRange:
    """The multipliers of the grid centre's params that meet both targets on one task.

    Attributes:
        task: The task.
        headroom: Its probed headroom.
        rule_factor: The factor the grid's centre was made with.
        intervals: ``(low, high)`` multipliers of the centre's params meeting both targets
            (empty: none on the width line).
        span: The smallest and largest multiplier the width line measures.
        group: The headroom rule's group that sizes the task (``HEADROOM_RULES``' key).
    """

    task: str
    headroom: float
    rule_factor: float
    intervals: tuple[tuple[float, float], ...]
    span: tuple[float, float]
    group: str = "signal"

    def meets(self, multiplier: float) -> bool:
        """Whether ``multiplier`` x the centre's params meets both targets (estimated)."""
        return any(lo * (1 - 1e-9) <= multiplier <= hi * (1 + 1e-9)
                   for lo, hi in self.intervals)

    def meets_factor(self, factor: float) -> bool:
        """Whether a rule giving this task ``factor`` would meet both targets (estimated)."""
        return self.meets(factor / self.rule_factor)

    def factors(self) -> tuple[tuple[float, float], ...]:
        """``intervals`` as factors of the capacity default (times ``rule_factor``)."""
        return tuple((lo * self.rule_factor, hi * self.rule_factor) for lo, hi in self.intervals)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (factor ranges included)."""
        return {"task": self.task, "group": self.group, "headroom": self.headroom,
                "rule_factor": self.rule_factor,
                "multipliers": [list(i) for i in self.intervals], "span": list(self.span),
                "factors": [list(i) for i in self.factors()],
                "meets_at_proposal": self.meets(1.0)}


def grid_centre(points: Sequence[PointResult]) -> PointResult | None:
    """The grid's centre (width 1, depth 0), the proposal the grid was made around."""
    return next((p for p in points if p.on_grid and p.width == 1.0 and p.depth == 0), None)


def width_line(points: Sequence[PointResult]) -> list[PointResult]:
    """The grid points at the centre's depth, by params (empty without the centre); a
    proposal off the grid is not on it."""
    centre = grid_centre(points)
    if centre is None:
        return []
    return sorted((p for p in points if p.on_grid and p.depth == centre.depth),
                  key=lambda p: p.params)


def _segment_interval(x0: float, x1: float, a0: float, a1: float, y0: float, y1: float,
                      threshold: float, limit: float) -> tuple[float, float] | None:
    """The part of ``[x0, x1]`` where the linear accuracy ``a`` is >= ``threshold`` and the
    linear log-MACs ``y`` is <= ``limit`` (``None`` if empty)."""
    lo, hi = x0, x1
    for v0, v1, bound, at_least in ((a0, a1, threshold, True), (y0, y1, limit, False)):
        ok0 = v0 >= bound if at_least else v0 <= bound
        ok1 = v1 >= bound if at_least else v1 <= bound
        if not ok0 and not ok1:
            return None
        if ok0 != ok1:
            cross = x0 + (bound - v0) / (v1 - v0) * (x1 - x0)
            lo, hi = (lo, min(hi, cross)) if ok0 else (max(lo, cross), hi)
    return (lo, hi) if lo <= hi else None


def factor_range(task: str, points: Sequence[PointResult], knee: Knee | None,
                 headroom: float, rule_factor: float, group: str = "signal"
                 ) -> FactorRange | None:
    """The task's ``FactorRange`` around the grid's centre, made with ``rule_factor``, for
    the rule ``group`` (``None`` without a knee or a centre)."""
    line = width_line(points)
    proposal = grid_centre(line)
    if knee is None or proposal is None:
        return None
    threshold = knee.best.mean - max(GAP_TARGET, knee.best.std) - 1e-12
    limit = math.log(MACS_TARGET * knee.knee.macs) + 1e-12
    xs = [math.log(p.params / proposal.params) for p in line]
    accs = [p.mean for p in line]
    logs = [math.log(p.macs) for p in line]
    pieces: list[tuple[float, float]] = []
    if len(line) == 1:
        if accs[0] >= threshold and logs[0] <= limit:
            pieces.append((xs[0], xs[0]))
    for i in range(len(line) - 1):
        part = _segment_interval(xs[i], xs[i + 1], accs[i], accs[i + 1], logs[i],
                                 logs[i + 1], threshold, limit)
        if part is not None:
            pieces.append(part)
    merged: list[list[float]] = []
    for lo, hi in pieces:
        if merged and lo <= merged[-1][1] + 1e-12:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    intervals = tuple((math.exp(lo), math.exp(hi)) for lo, hi in merged)
    return FactorRange(task, headroom, rule_factor, intervals,
                       (math.exp(xs[0]), math.exp(xs[-1])), group)


def rules_met(rule: FactorRule, ranges: Sequence[FactorRange]) -> tuple[str, ...]:
    """The tasks whose range the factor ``rule`` gives them falls in."""
    return tuple(r.task for r in ranges if r.meets_factor(rule.factor(r.headroom)))


def group_rules_met(rules: Mapping[str, FactorRule],
                    ranges: Sequence[FactorRange]) -> tuple[str, ...]:
    """The tasks whose range the rule of their group (``rules[range.group]``; today's:
    ``HEADROOM_RULES``) gives them falls in."""
    return tuple(r.task for r in ranges
                 if r.meets_factor(rules[r.group].factor(r.headroom)))


def groups_of(ranges: Sequence[FactorRange]) -> dict[str, list[FactorRange]]:
    """``ranges`` by rule group, the groups in ``HEADROOM_RULES``' order (others after)."""
    order = list(HEADROOM_RULES) + sorted({r.group for r in ranges} - set(HEADROOM_RULES))
    return {g: [r for r in ranges if r.group == g] for g in order
            if any(r.group == g for r in ranges)}


#: The references ``candidate_rules`` tries (a rounded log scale, 0.002-0.2).
REFERENCES = (0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15,
              0.2)


def candidate_rules(references: Iterable[float] | None = None,
                    exponents: Iterable[float] | None = None,
                    caps: Iterable[float] = (8.0, 16.0, 32.0, 64.0),
                    floor: float = FLOOR) -> list[FactorRule]:
    """Rules of the current form over ``REFERENCES`` and exponents 0.2-2.0 (steps of 0.1),
    with the rules' floor."""
    refs = list(references) if references is not None else list(REFERENCES)
    exps = list(exponents) if exponents is not None else [round(0.2 + 0.1 * i, 2)
                                                          for i in range(19)]
    return [FactorRule(r, e, floor, c) for r in refs for e in exps for c in caps]


def margin(rule: FactorRule, ranges: Sequence[FactorRange]) -> float:
    """The rule's worst-case margin over the ranges it meets: the smallest distance, in
    log-factor, from the factor it gives a task to the nearer bound of the interval holding
    it (0 when it meets none)."""
    gaps = []
    for r in ranges:
        factor = rule.factor(r.headroom)
        for lo, hi in r.factors():
            if lo * (1 - 1e-9) <= factor <= hi * (1 + 1e-9):
                gaps.append(max(0.0, min(math.log(factor / lo), math.log(hi / factor))))
    return min(gaps) if gaps else 0.0


def best_power_laws(ranges: Sequence[FactorRange], rules: Sequence[FactorRule] | None = None,
                    keep: int = 3) -> list[tuple[FactorRule, tuple[str, ...]]]:
    """The ``keep`` rules meeting the most tasks' ranges, each with the tasks it meets (pass
    one group's ranges to screen that group's rule). Ties: the widest ``margin`` first, then
    the closest, in log-factor over the tasks, to the factors their grids' centres were made
    with. Rules giving every task the same factors count once (the first in ``rules``: with
    the default pool, the lowest cap).
    """
    pool = list(rules) if rules is not None else candidate_rules()

    def distance(rule: FactorRule) -> float:
        return sum(abs(math.log(rule.factor(r.headroom) / r.rule_factor)) for r in ranges)

    seen: set[tuple[float, ...]] = set()
    scored = []
    for rule in sorted(pool, key=lambda r: r.cap):
        key = tuple(round(rule.factor(r.headroom), 9) for r in ranges)
        if key not in seen:
            seen.add(key)
            scored.append((rule, rules_met(rule, ranges)))
    scored.sort(key=lambda item: (-len(item[1]), -round(margin(item[0], ranges), 9),
                                  distance(item[0])))
    return scored[:keep]
