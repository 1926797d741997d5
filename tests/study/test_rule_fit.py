"""The rule screen on hand-made grids whose answers are worked out by hand (no TensorFlow)."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from archscale.errors import SpecError

from archscale.heuristics.difficulty import HEADROOM_RULES, headroom_factor
from archscale.study.analysis import PointResult, knee_of, score_proposal
from archscale.study.rule_fit import (REFERENCES, FactorRange, FactorRule, best_power_laws,
                                      candidate_rules, factor_range, group_rules_met, groups_of,
                                      margin, rules_met)


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


def test_the_current_rules_are_headroom_factor():
    for h in (0.0, 0.001, 0.008, 0.03, 0.1, 0.35, 0.68, 1.0):
        assert HEADROOM_RULES["signal"].factor(h) == headroom_factor(h, "vector")
        assert HEADROOM_RULES["image"].factor(h) == headroom_factor(h, "image")
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


def test_bounds_are_inclusive_as_the_measured_verdict_is():
    # a centre at exactly 2x the knee's MACs (the knee one block deeper) meets, as measured
    at_limit = [point(1, 100, 200, (0.99, 0.99), proposal=True),
                point(1, 90, 100, (0.99, 0.99), depth=1)]
    assert score_proposal(at_limit).meets_macs
    fr = factor_range("t", at_limit, knee_of(at_limit), 0.1, 1.0)
    assert fr.intervals == ((1.0, 1.0),) and fr.span == (1.0, 1.0)
    # a centre exactly 1 point below the best (0.89 against 0.90) meets, as measured
    at_gap = [point(1, 100, 100, (0.89, 0.89), proposal=True),
              point(1, 90, 100, (0.90, 0.90), depth=1)]
    assert score_proposal(at_gap).meets_accuracy
    assert factor_range("t", at_gap, knee_of(at_gap), 0.1, 1.0).intervals == ((1.0, 1.0),)
    # just outside either bound, the one point meets nothing
    for grid in ([point(1, 100, 201, (0.99, 0.99), proposal=True),
                  point(1, 90, 100, (0.99, 0.99), depth=1)],
                 [point(1, 100, 100, (0.889, 0.889), proposal=True),
                  point(1, 90, 100, (0.90, 0.90), depth=1)]):
        assert factor_range("t", grid, knee_of(grid), 0.1, 1.0).intervals == ()
    # along a line, the range ends at the grid point that sits on both bounds
    line = [point(1, 100, 100, (0.90, 0.90), proposal=True),
            point(2, 200, 200, (0.89, 0.89)), point(4, 400, 400, (0.89, 0.89))]
    (lo, hi), = factor_range("t", line, knee_of(line), 0.1, 1.0).intervals
    assert lo == 1.0 and hi == pytest.approx(2.0)


def test_a_segment_can_meet_accuracy_and_macs_in_parts_that_do_not_overlap():
    # best 0.95 at 100 MACs (the knee), threshold 0.94, limit 200 MACs. The line's segment from
    # 1x (0.80, 100 MACs) to 4x (0.95, 1,600 MACs) is accurate enough only past 3.6x and cheap
    # enough only up to 1.41x (log-log): no multiplier meets both
    grid = [point(1, 100, 100, (0.80, 0.80), proposal=True), point(4, 400, 1600, (0.95, 0.95)),
            point(1, 120, 100, (0.95, 0.95), depth=1)]
    fr = factor_range("t", grid, knee_of(grid), headroom=0.1, rule_factor=1.0)
    assert fr.intervals == ()


def test_two_close_ranges_stay_apart_and_the_range_reports_its_task():
    # accuracy 0.90, 0.80, 0.90, 0.80, 0.90 at 1x..16x params (MACs = params, the knee at
    # 1x: limit 200 MACs): meets up to 1.07x (0.89 a tenth into the dip) ... nothing else
    # within the MACs limit, so take a line with a flat MACs axis instead
    grid = [point(1, 100, 100, (0.90, 0.90), proposal=True),
            point(1.5, 150, 100, (0.80, 0.80)), point(2, 200, 100, (0.90, 0.90))]
    fr = factor_range("t", grid, knee_of(grid), headroom=0.2, rule_factor=3.0)
    (a_lo, a_hi), (b_lo, b_hi) = fr.intervals   # 0.36 apart in log params: still two
    assert (a_lo, b_hi) == (pytest.approx(1.0), pytest.approx(2.0))
    assert a_hi == pytest.approx(1.5 ** 0.1) and b_lo == pytest.approx(2 / (2 / 1.5) ** 0.1)
    assert fr.meets(1.02) and not fr.meets(1.5) and fr.meets(1.95)
    assert (fr.task, fr.headroom, fr.rule_factor) == ("t", 0.2, 3.0)
    d = fr.to_dict()
    assert d["task"] == "t" and d["headroom"] == 0.2 and d["meets_at_proposal"] is True
    assert d["rule_factor"] == 3.0
    assert d["multipliers"] == [list(i) for i in fr.intervals]
    assert d["factors"] == [[3 * a_lo, 3 * a_hi], [3 * b_lo, 3 * b_hi]] == \
        [list(i) for i in fr.factors()]
    assert d["span"] == [1.0, 2.0]


@pytest.mark.parametrize("fields, fragment", [
    ((0.0, 1.0, 0.125, 8.0), "reference must be positive. Received: reference=0.0"),
    ((0.1, 0.0, 0.125, 8.0), "exponent must be positive"),
    ((0.1, 1.0, -1.0, 8.0), "floor must be positive"),
    ((0.1, 1.0, 0.125, float("nan")), "cap must be positive"),
    ((0.1, 1.0, 9.0, 8.0), "floor must not exceed its cap. Received: floor=9.0, cap=8.0")])
def test_a_rule_with_a_bad_constant_is_refused(fields, fragment):
    with pytest.raises(SpecError, match=re.escape(fragment)):
        FactorRule(*fields)


def test_a_rule_may_be_a_constant():
    assert FactorRule(0.1, 1.0, 2.0, 2.0).factor(0.7) == 2.0


def test_labels_floors_and_zero_headroom():
    assert FactorRule(0.1, 0.5, 2.0, 8.0).label() == "clip((h / 0.1)^0.5, 2, 8)"
    assert FactorRule(0.1, 0.5, 1.0, 8.0).label() == "clip((h / 0.1)^0.5, 1, 8)"
    assert FactorRule(0.1, 0.5, 0.5, 8.0).label() == "clip((h / 0.1)^0.5, 1/2, 8)"
    assert FactorRule(0.1, 0.5, 1 / 8, 8.0).factor(0.0) == 1 / 8
    assert FactorRule(0.1, 2.0, 1 / 8, 8.0).factor(0.2) == pytest.approx(4.0)
    assert FactorRule(0.1, 2.0, 1 / 8, 3.0).factor(0.2) == 3.0


def test_the_candidate_pool_and_its_ranking():
    pool = candidate_rules()
    assert sorted({r.reference for r in pool}) == list(REFERENCES)
    assert sorted({r.exponent for r in pool}) == [round(0.2 + 0.1 * i, 2) for i in range(19)]
    assert {r.cap for r in pool} == {8.0, 16.0, 32.0, 64.0}
    assert {r.floor for r in pool} == {1 / 8}
    mine = candidate_rules(references=[0.5], exponents=[1.5], caps=(4.0,), floor=0.25)
    assert mine == [FactorRule(0.5, 1.5, 0.25, 4.0)]
    a = FactorRange("a", 0.1, 2.0, ((0.25, 5.0),), (0.25, 16.0))
    # both meet a range 0.5-8 at headroom 0.1: x2 is log 4 from its nearer bound, x1 log 2;
    # the wider margin ranks first
    wide = FactorRange("a", 0.1, 1.0, ((0.5, 8.0),), (0.25, 16.0))
    near, far = FactorRule(0.05, 1.0, 1 / 8, 64.0), FactorRule(0.1, 1.0, 1 / 8, 64.0)
    assert margin(near, [wide]) == pytest.approx(math.log(4.0))
    assert margin(far, [wide]) == pytest.approx(math.log(2.0))
    assert [r for r, _ in best_power_laws([wide], rules=[far, near])] == [near, far]
    # equal margins (x2 and x8 in the factors 1-16, multipliers 0.5-8 of a centre made with
    # x2; each log 2 from its nearer bound): the one nearer the centre's factor (x2) first
    even = FactorRange("a", 0.1, 2.0, ((0.5, 8.0),), (0.25, 16.0))
    eight = FactorRule(0.0125, 1.0, 1 / 8, 64.0)
    assert margin(near, [even]) == pytest.approx(margin(eight, [even]))
    assert [r for r, _ in best_power_laws([even], rules=[eight, near])] == [near, eight]
    # rules whose factors differ by less than a unit are still told apart
    close = [FactorRule(0.1, 1.0, 1 / 8, 64.0), FactorRule(0.08, 1.0, 1 / 8, 64.0)]
    assert len(best_power_laws([a], rules=close)) == 2
    assert len(best_power_laws([a])) == 3


def test_the_margin_is_the_nearest_bound_over_the_ranges_met():
    a = FactorRange("a", 0.1, 1.0, ((1.0, 4.0),), (0.25, 16.0))
    b = FactorRange("b", 0.4, 1.0, ((2.0, 16.0), (20.0, 40.0)), (0.25, 64.0))
    c = FactorRange("c", 0.2, 1.0, (), (0.25, 16.0))
    rule = FactorRule(0.05, 1.0, 1 / 8, 64.0)         # a x2, b x8, c x4 (c meets nothing)
    assert rules_met(rule, [a, b, c]) == ("a", "b")
    assert margin(rule, [a, b, c]) == pytest.approx(math.log(2.0))   # a: 2 from 1 and 4
    assert margin(rule, [b]) == pytest.approx(math.log(2.0))          # b: 8 from 16
    assert margin(FactorRule(0.016, 1.0, 1 / 8, 64.0), [b]) == pytest.approx(math.log(1.25))
    assert margin(rule, [c]) == 0.0 and margin(rule, []) == 0.0
    at_bound = FactorRange("d", 0.1, 1.0, ((2.0, 3.0),), (0.25, 16.0))
    assert margin(rule, [at_bound]) == 0.0                             # x2 on the bound


def test_each_group_is_scored_by_its_own_rule():
    sig = FactorRange("s", 0.1, 1.0, ((1.5, 2.5),), (0.25, 16.0), "signal")
    img = FactorRange("i", 0.1, 1.0, ((10.0, 20.0),), (0.25, 16.0), "image")
    other = FactorRange("o", 0.1, 1.0, ((1.5, 2.5),), (0.25, 16.0), "zeta")
    rules = {"signal": FactorRule(0.05, 1.0, 1 / 8, 64.0),     # x2 at 0.1
             "image": FactorRule(0.007, 1.0, 1 / 8, 64.0),     # x14.3 at 0.1
             "zeta": FactorRule(0.007, 1.0, 1 / 8, 64.0)}
    assert group_rules_met(rules, [sig, img, other]) == ("s", "i")
    assert group_rules_met({**rules, "image": rules["signal"]}, [sig, img]) == ("s",)
    assert groups_of([other, img, sig]) == {"signal": [sig], "image": [img], "zeta": [other]}
    assert groups_of([img]) == {"image": [img]} and groups_of([]) == {}
    assert sig.to_dict()["group"] == "signal" and img.to_dict()["group"] == "image"
    assert FactorRange("x", 0.1, 1.0, (), (1.0, 1.0)).group == "signal"


def test_a_range_keeps_its_group_and_a_factor_on_an_end_has_no_margin():
    line = grid_rising()
    knee = knee_of(line)
    assert factor_range("t", line, knee, 0.1, 1.0).group == "signal"
    assert factor_range("t", line, knee, 0.1, 1.0, "image").group == "image"
    rule = FactorRule(0.05, 1.0, 1 / 8, 64.0)                # x2 at headroom 0.1, x4 at 0.2
    roomy = FactorRange("a", 0.1, 1.0, ((1.0, 4.0),), (0.25, 16.0))   # x2: log 2 each side
    low_end = FactorRange("l", 0.2, 1.0, ((4.0, 16.0),), (0.25, 16.0))
    high_end = FactorRange("h", 0.2, 1.0, ((1.0, 4.0),), (0.25, 16.0))
    assert margin(rule, [roomy]) == pytest.approx(math.log(2.0))
    assert margin(rule, [roomy, low_end]) == 0.0 and margin(rule, [roomy, high_end]) == 0.0
    assert rules_met(rule, [low_end, high_end]) == ("l", "h")
    centre_only = FactorRange("c", 0.1, 1.0, ((0.5, 1.5),), (0.25, 4.0))
    assert centre_only.to_dict()["meets_at_proposal"] is True        # multiplier 1, not 2


def test_rules_that_meet_nothing_rank_by_their_distance_to_the_centres_factors():
    empty = FactorRange("e", 0.1, 4.0, (), (0.25, 16.0))    # the centre was made with x4
    at_centre, quarter = FactorRule(0.025, 1.0, 1 / 8, 64.0), FactorRule(0.4, 1.0, 1 / 8, 64.0)
    assert (at_centre.factor(0.1), quarter.factor(0.1)) == (4.0, 0.25)
    ranked = best_power_laws([empty], rules=[quarter, at_centre])
    assert ranked == [(at_centre, ()), (quarter, ())]
