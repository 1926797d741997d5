"""The rule screen on hand-made grids whose answers are worked out by hand (no TensorFlow)."""

from __future__ import annotations

import dataclasses

import pytest

from archscale.heuristics.difficulty import headroom_factor
from archscale.study.analysis import PointResult, knee_of, score_proposal
from archscale.study.rule_fit import (CURRENT_RULE, FactorRange, FactorRule, best_power_laws,
                                      candidate_rules, factor_range, rules_met)


def point(width, params, macs, accs, *, depth=0, proposal=False, on_grid=True):
    return PointResult(task="t", width=width, depth=depth, label=f"t w{width} d{depth}",
                       params=params, macs=macs, accuracies=tuple(accs), train_flops=0.0,
                       train_seconds=0.0, is_proposal=proposal, on_grid=on_grid)


def grid_rising():
    """A width line whose accuracy rises to a plateau at 4x params: best 0.90 (std 0), the
    allowed gap 1 point, so the threshold is 0.89; the knee is the 4x point (0.895 is within
    0.5 points of 0.90), so the MACs limit is 2 x 400 = 800."""
    return [point(0.5, 25, 25, (0.80, 0.80)), point(1, 100, 100, (0.85, 0.85), proposal=True),
            point(2, 400, 400, (0.895, 0.895)), point(4, 1600, 1600, (0.90, 0.90)),
            point(1, 150, 150, (0.86, 0.86), depth=1)]


def test_the_range_is_interpolated_in_log_params_between_grid_points():
    grid = grid_rising()
    fr = factor_range("t", grid, knee_of(grid), headroom=0.5, rule_factor=2.0)
    (lo, hi), = fr.intervals
    # accuracy: 0.85 at x=log 1, 0.895 at x=log 4; 0.89 is 40/45 of the way: 4 ** (8/9)
    assert lo == pytest.approx(4 ** (8 / 9))
    # MACs: log-log between 400 (4x) and 1600 (16x); 800 is half way: 4 * 2 = 8
    assert hi == pytest.approx(8.0)
    assert fr.span == pytest.approx((0.25, 16.0))
    assert fr.factors()[0] == pytest.approx((2 * 4 ** (8 / 9), 16.0))
    assert not fr.meets(1.0) and fr.meets(4.0) and fr.meets(8.0) and not fr.meets(8.1)
    assert fr.meets_factor(8.0) and not fr.meets_factor(2.0)


def test_at_the_proposal_the_screen_is_the_measured_verdict():
    for grid in (grid_rising(),
                 [point(0.5, 25, 25, (0.89, 0.89)), point(1, 100, 100, (0.90, 0.90),
                                                          proposal=True),
                  point(2, 400, 400, (0.90, 0.90))],
                 [point(0.5, 25, 25, (0.90, 0.90)), point(1, 100, 100, (0.90, 0.90),
                                                          proposal=True)]):
        score = score_proposal(grid)
        fr = factor_range("t", grid, knee_of(grid), headroom=0.1, rule_factor=1.0)
        assert fr.meets(1.0) == (score.meets_accuracy and score.meets_macs)


def test_a_dip_splits_the_range_and_a_line_short_of_the_best_has_none():
    grid = [point(0.5, 25, 25, (0.90, 0.90)), point(1, 100, 100, (0.80, 0.80), proposal=True),
            point(2, 400, 400, (0.90, 0.90))]
    fr = factor_range("t", grid, knee_of(grid), headroom=0.1, rule_factor=1.0)
    # best 0.90 at 25 MACs (the smaller tie), threshold 0.89, MACs limit 50. Left segment:
    # accuracy falls to 0.89 a tenth of the way from 0.25x to 1x (0.25 ** 0.9), MACs reach 50
    # half way (0.5x); the right segment rises back to 0.90 but is past the MACs limit
    (lo, hi), = fr.intervals
    assert lo == pytest.approx(0.25) and hi == pytest.approx(0.25 ** 0.9)
    deeper_best = grid_rising() + [point(1, 200, 200, (0.99, 0.99), depth=2)]
    fr = factor_range("t", deeper_best, knee_of(deeper_best), headroom=0.1, rule_factor=1.0)
    assert fr.intervals == ()
    assert not fr.meets(1.0)
    assert factor_range("t", [p for p in grid if p.width != 1], knee_of(grid),
                        headroom=0.1, rule_factor=1.0) is None


def test_a_proposal_off_the_grid_is_neither_on_the_width_line_nor_its_reference():
    grid = [dataclasses.replace(p, is_proposal=False) for p in grid_rising()]
    off = point(None, 300, 300, (0.99, 0.99), depth=None, proposal=True, on_grid=False)
    fr = factor_range("t", grid + [off], knee_of(grid + [off]), headroom=0.5, rule_factor=2.0)
    assert fr == factor_range("t", grid_rising(), knee_of(grid_rising()), headroom=0.5,
                              rule_factor=2.0)
    assert knee_of(grid + [off]).best.macs == 1600   # the 0.99 off the grid is not its best


def test_the_current_rule_is_headroom_factor():
    for h in (0.0, 0.001, 0.008, 0.03, 0.1, 0.35, 0.68, 1.0):
        assert CURRENT_RULE.factor(h) == pytest.approx(headroom_factor(h))
    assert FactorRule(0.03, 0.6, 1 / 8, 8.0).label() == "clip((h / 0.03)^0.6, 1/8, 8)"
    assert FactorRule(0.05, 1.0, 1 / 8, 16.0).label() == "clip(h / 0.05, 1/8, 16)"


def test_best_power_laws_count_the_tasks_each_rule_meets():
    # task a wants 1-2 at headroom 0.03; task b wants 10-20 at 0.3: exponent 1 through
    # (0.03, 1) meets both; clip((h / 0.03)^0.6, 1/8, 8) (x3.98 at 0.3) meets only a
    a = FactorRange("a", 0.03, 1.0, ((1.0, 2.0),), (0.25, 16.0))
    b = FactorRange("b", 0.3, 4.0, ((2.5, 5.0),), (0.25, 16.0))
    assert rules_met(FactorRule(0.03, 0.6, 1 / 8, 8.0), [a, b]) == ("a",)
    one = FactorRule(0.03, 1.0, 1 / 8, 64.0)
    assert rules_met(one, [a, b]) == ("a", "b")
    (rule, met), = best_power_laws([a, b], keep=1)
    assert met == ("a", "b")
    assert 1.0 <= rule.factor(0.03) <= 2.0 and 10.0 <= rule.factor(0.3) <= 20.0
    assert len(candidate_rules()) == 14 * 19 * 4
    # a cap that never binds gives the same factors: those rules count once
    same = best_power_laws([a, b], rules=[FactorRule(0.03, 1.0, 1 / 8, c) for c in (64, 16, 32)],
                           keep=3)
    assert [r.cap for r, _ in same] == [16]
