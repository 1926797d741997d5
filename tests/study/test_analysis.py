"""The study's definitions on hand-made grids whose answers are known (no TensorFlow)."""

from __future__ import annotations

import math

import pytest

from archscale.study.analysis import (KNEE_FLOOR, PointResult, knee_of, score_proposal,
                                      score_search, spearman)
from archscale.study.searches import SearchTrial


def point(width, macs, accs, *, depth=0, proposal=False):
    return PointResult(task="t", width=width, depth=depth, label=f"t w{width:g} d{depth:+d}",
                       params=macs + 10, macs=macs, accuracies=tuple(accs), train_flops=0.0,
                       train_seconds=0.0, is_proposal=proposal)


def test_mean_and_sample_std():
    p = point(1, 100, (0.60, 0.64, 0.68))
    assert p.mean == pytest.approx(0.64)
    assert p.std == pytest.approx(0.04)  # ddof=1: sqrt((0.0016 + 0 + 0.0016) / 2)
    assert point(1, 100, (0.5,)).std == 0.0


def test_knee_is_the_smallest_point_within_one_std_of_the_best():
    grid = [point(0.25, 100, (0.50, 0.52, 0.54)),
            point(0.5, 200, (0.60, 0.62, 0.64)),   # 0.62: 3 pts below the best
            point(1, 400, (0.62, 0.65, 0.68)),     # 0.65: within the best's std (3 pts)
            point(2, 800, (0.64, 0.68, 0.72))]     # best 0.68, std 0.04
    found = knee_of(grid)
    assert found.best.macs == 800
    assert found.tolerance == pytest.approx(0.04)
    assert found.knee.macs == 400


def test_knee_tolerance_has_a_half_point_floor():
    grid = [point(0.5, 100, (0.900, 0.900)), point(1, 200, (0.906, 0.906)),
            point(2, 400, (0.910, 0.910))]
    found = knee_of(grid)
    assert found.tolerance == KNEE_FLOOR
    assert found.knee.macs == 200  # 0.906 >= 0.910 - 0.005; 0.900 is not
    assert knee_of([]) is None


def test_proposal_score_gap_and_macs_ratio():
    grid = [point(0.5, 100, (0.70, 0.70)), point(1, 400, (0.79, 0.81), proposal=True),
            point(2, 1600, (0.80, 0.82))]
    score = score_proposal(grid)
    assert score.gap_points == pytest.approx(1.0)      # 81 - 80
    assert score.gap_allowed_points == pytest.approx(100 * math.sqrt(2e-4))  # best's std
    assert score.knee_macs == 400 and score.macs_ratio_to_knee == pytest.approx(1.0)
    assert score.meets_accuracy and score.meets_macs
    worse = [point(0.5, 100, (0.80, 0.80), proposal=True), point(1, 400, (0.85, 0.85)),
             point(2, 1600, (0.85, 0.85))]
    score = score_proposal(worse)   # 5 points short; knee 400 MACs: ratio 0.25
    assert score.gap_points == pytest.approx(5.0) and not score.meets_accuracy
    assert score.macs_ratio_to_knee == pytest.approx(0.25) and score.meets_macs
    big = [point(0.5, 100, (0.85, 0.85)), point(4, 1600, (0.85, 0.85), proposal=True)]
    score = score_proposal(big)     # as good, 16x the knee's MACs
    assert score.meets_accuracy and not score.meets_macs
    assert score_proposal([point(1, 1, (0.5,))]) is None  # no proposal point


def trial(n, val, test, macs=10, flops=1.0):
    return SearchTrial(task="t", search="s", search_seed=0, trial=n, params=macs, macs=macs,
                       val_accuracy=val, test_accuracy=test, train_flops=flops,
                       train_seconds=2.0, is_proposal=n == 1, hyperparameters="")


def test_search_score_selects_on_validation_and_counts_trials_to_the_knee():
    knee = knee_of([point(1, 100, (0.708, 0.708)), point(2, 200, (0.71, 0.71))])
    assert knee.knee.macs == 100    # target: 0.708 - 0.005 = 0.703
    trials = [trial(1, 0.60, 0.55), trial(2, 0.75, 0.62), trial(3, 0.70, 0.705),
              trial(4, 0.65, 0.72)]
    score = score_search(trials, 3, knee)
    assert score.trials_run == 3
    assert score.selected_val_accuracy == 0.75 and score.selected_test_accuracy == 0.62
    assert score.best_test_accuracy == 0.705
    assert score.trials_to_knee == 3
    assert score.train_flops_total == 3.0 and score.train_seconds_total == 6.0
    assert score_search(trials, 2, knee).trials_to_knee is None
    assert score_search([], 10, knee) is None


def test_spearman_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    cases = [([1, 2, 3, 4], [10, 20, 30, 40]), ([1, 2, 3, 4], [40, 30, 20, 10]),
             ([1, 2, 2, 4], [3, 1, 2, 5]), ([5, 1, 4, 2, 3], [2, 1, 5, 3, 4])]
    for xs, ys in cases:
        assert spearman(xs, ys) == pytest.approx(stats.spearmanr(xs, ys).statistic)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1], [1]) is None


def _task_result(samples, knee_params, proposal_params, missing=()):
    from archscale.study.results import TaskResult
    from archscale.study.tasks import StudyTask

    grid = [point(0.5, knee_params - 10, (0.80, 0.80)),
            point(1, proposal_params - 10, (0.80, 0.80), proposal=True)]
    if knee_params > proposal_params:
        grid = [point(1, proposal_params - 10, (0.70, 0.70), proposal=True),
                point(2, knee_params - 10, (0.80, 0.80))]
    task = StudyTask(name=f"m-{samples}", dataset={"name": "mnist1d"}, input_shape=(40,),
                     classes=10, samples=samples, group="mnist1d")
    return TaskResult(task=task, proposal=None, points=grid, missing=list(missing),
                      knee=knee_of(grid), score=score_proposal(grid))


def test_data_size_series_leaves_partial_grids_out_of_rho():
    from archscale.study.scores import data_size_series

    results = [_task_result(1000, 500, 300), _task_result(4000, 900, 700),
               _task_result(16000, 1500, 1700, missing=["m-16000 w2 d+0 (0 of 3 seeds)"])]
    series = data_size_series(results, "mnist1d")
    assert series["samples"] == [1000, 4000] and series["partial"] == [16000]
    assert series["knee_params"] == [500, 900] and series["proposal_params"] == [300, 700]
    assert series["spearman"] == pytest.approx(1.0)
    # a provisional knee smaller than the 4 k one would make rho 0.5 if it were counted
    results[2] = _task_result(16000, 600, 1700, missing=["m-16000 w2 d+0 (0 of 3 seeds)"])
    assert data_size_series(results, "mnist1d")["spearman"] == pytest.approx(1.0)
    only_partial = data_size_series(results[2:], "mnist1d")
    assert only_partial["samples"] == [] and only_partial["partial"] == [16000]
    assert only_partial["spearman"] is None


def test_a_partial_grid_verdict_is_marked_provisional():
    from archscale.study.report import proposal_table

    score = _task_result(1000, 500, 300).score.to_dict()
    data = {"tasks": [{"name": "a"}, {"name": "b"}], "proposals": {"a": score, "b": score},
            "probes": {}, "missing": {"b": ["b w2 d+0 (0 of 3 seeds)", "b w4 d+0 (1 of 3 seeds)"]}}
    _, rows = proposal_table(data)
    assert rows[0][-1] == "MACs only"
    assert rows[1][-1] == "MACs only (provisional: 2 grid points not measured)"
    from archscale.study.report import _verdict_lines

    lines = _verdict_lines({"seeded": {}, "data_size": [
        {"group": "g", "samples": [], "knee_params": [], "proposal_params": [],
         "spearman": None, "partial": [4000]}]})
    assert lines == ["- g: no training-set size with a complete grid yet. Not counted (grids "
                     "incomplete): 4,000."]


def test_a_search_seed_counts_once_every_search_of_it_has_finished():
    import dataclasses

    from archscale.study.scores import complete_search_seeds
    from archscale.study.tasks import TINY

    task = dataclasses.replace(TINY[0], searches=("archscale", "seed_random"),
                               search_seeds=(0, 1, 2))
    other = dataclasses.replace(task, name="other", searches=())

    def finished(search, seed, n=1):
        return SearchTrial(task="wine", search=search, search_seed=seed, trial=n, params=1,
                           macs=1, val_accuracy=0.5, test_accuracy=0.5, train_flops=1.0,
                           train_seconds=1.0, is_proposal=False, hyperparameters="")

    trials = [finished("archscale", 0), finished("seed_random", 0),
              finished("seed_random", 0, 2), finished("archscale", 1),
              finished("seed_random", 2), finished("archscale", 2)]
    kept, seeds = complete_search_seeds([task, other], trials)
    assert seeds == {"wine": {"counted": [0, 2], "of": [0, 1, 2]}}   # seed 1: one search left
    assert sorted((t.search, t.search_seed, t.trial) for t in kept) == [
        ("archscale", 0, 1), ("archscale", 2, 1), ("seed_random", 0, 1), ("seed_random", 0, 2),
        ("seed_random", 2, 1)]
