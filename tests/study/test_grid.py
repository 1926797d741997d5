"""The study's grid around a proposal, its tasks and its sweep (pure Python, no TensorFlow)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

import archscale
from archscale.errors import SpecError
from archscale.study.grid import depth_knobs, grid_entries, grid_points, grid_sweep, point_spec
from archscale.study.tasks import STUDIES, StudyTask, study_tasks


def task_named(name):
    return next(t for t in STUDIES["full"] if t.name == name)


def proposal_of(task):
    return archscale.propose(task.task())


def test_mlp_depth_adds_or_drops_hidden_layers_and_width_scales_them():
    task = task_named("mnist1d-4k")
    p = proposal_of(task)
    assert p.spec.widths == (336, 240, 168)
    assert point_spec(p, 1.0, -1).widths == (336, 240)
    assert point_spec(p, 1.0, 1).widths == (336, 240, 168, 168)
    assert point_spec(p, 2.0, 0).widths == (672, 480, 336)
    # 84 and 60 round half up to 88 and 64 (multiples of 8), 42 down to 40
    assert point_spec(p, 0.25, 0).widths == (88, 64, 40)
    assert point_spec(p, 1.0, 0) == p.spec
    one_layer = proposal_of(task_named("wine"))
    assert depth_knobs(one_layer, -1) is None           # no hidden layer left


def test_staged_depth_adds_a_block_to_every_stage():
    p = proposal_of(task_named("synthetic-easy"))
    assert p.spec.stage_blocks == (3, 3)                   # width first: ResNet-14's depth
    assert p.spec.stage_widths == (16, 24)
    assert point_spec(p, 1.0, 1).stage_blocks == (4, 4)
    assert point_spec(p, 1.0, -1).stage_blocks == (2, 2)
    assert point_spec(p, 2.0, 0).stage_widths == (32, 48)


def test_every_point_is_a_real_spec_with_exact_costs():
    task = task_named("mnist1d-1k")        # the full 2-D grid; 4 k is a cross
    points = grid_points(task, proposal_of(task))
    assert len(points) == 15 and sum(pt.is_centre for pt in points) == 1
    assert len(grid_points(task_named("mnist1d-4k"), proposal_of(task_named("mnist1d-4k")))) == 7
    for pt in points:
        widths = (40,) + pt.spec.widths + (10,)
        expected = sum(a * b + b for a, b in zip(widths, widths[1:]))
        assert archscale.profile(pt.spec).params == expected, pt.label


def test_cross_grid_is_the_width_line_plus_the_depth_line():
    task = StudyTask(name="x", dataset={"name": "mnist1d"}, input_shape=(40,), classes=10,
                     samples=4000, widths=(0.5, 1.0, 2.0), depths=(-1, 0, 1))
    assert task.points() == ((0.5, 0), (1.0, -1), (1.0, 0), (1.0, 1), (2.0, 0))
    full = StudyTask(**{**task.__dict__, "full_grid": True})
    assert len(full.points()) == 9


def test_every_task_spans_at_least_a_quarter_to_four_times_the_width():
    for task in STUDIES["full"]:
        assert min(task.widths) <= 0.25 and max(task.widths) >= 4.0, task.name
        assert {-1, 0, 1} <= set(task.depths), task.name
    hard = task_named("synthetic-hard")
    assert (4.0, 0) in hard.points()
    p = proposal_of(hard)
    assert point_spec(p, 4.0, 0).stage_widths == tuple(4 * w for w in p.spec.stage_widths)


def test_a_search_file_names_the_proposals_space_as_well(monkeypatch):
    from archscale.study.searches import proposal_key

    p = proposal_of(task_named("mnist1d-1k"))
    same = archscale.propose(task_named("mnist1d-1k").task())
    assert proposal_key(p) == proposal_key(same)
    narrower = {**p.search_space, "hyperparameters": [
        {**row, "max_value": 1.5} if row["name"] == "width_multiplier" else row
        for row in p.search_space["hyperparameters"]]}
    other = dataclasses.replace(p, search_space=narrower)
    assert other.spec == p.spec and other.recipe == p.recipe
    assert proposal_key(other) != proposal_key(p)


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_the_tabular_tasks_train_with_their_recipes_own_epochs(tmp_path, name):
    """Not capped below the recipe (docs/dimensions.md): 300 epochs, the recipe's ceiling."""
    task = task_named(name)
    p = proposal_of(task)
    sweep = grid_sweep(grid_entries(task, p, str(tmp_path)))
    recipe = sweep["arch"][0]["settings"]["accuracy"]["recipe"]
    assert recipe["epochs"] == p.recipe.epochs == 300
    assert all(e["seeds"] == [0, 1, 2, 3, 4] for e in sweep["arch"])


def test_sweep_runs_the_cheapest_points_first_with_the_capped_recipe(tmp_path):
    task = task_named("mnist1d-4k")
    p = proposal_of(task)
    entries = grid_entries(task, p, str(tmp_path))
    sweep = grid_sweep(entries)
    macs = [archscale.profile(archscale.load_spec(e["spec"])).macs for e in sweep["arch"]]
    assert macs == sorted(macs)
    recipe = sweep["arch"][0]["settings"]["accuracy"]["recipe"]
    assert recipe["epochs"] == min(p.recipe.epochs, task.max_epochs) == 100
    assert recipe["learning_rate"] == p.recipe.learning_rate
    assert sweep["measure"] == ["accuracy"]
    assert all(e["seeds"] == [0, 1, 2] for e in sweep["arch"])
    assert all(e["datasets"] == [{"name": "mnist1d", "train_samples": 4000}]
               for e in sweep["arch"])


def test_the_grid_is_centred_by_the_grid_rule_and_a_moved_proposal_is_one_more_entry(
        tmp_path, monkeypatch):
    from archscale.heuristics import difficulty
    from archscale.study.grid import proposal_on_grid
    from archscale.study.tasks import GRID_RULE

    task, headroom = task_named("mnist1d-4k"), 0.513
    # the rule the grids were measured at
    monkeypatch.setitem(difficulty.HEADROOM_RULES, "signal", GRID_RULE)
    centre = archscale.propose(task.task(), capacity=archscale.CapacityRule(
        headroom=headroom, scale=GRID_RULE.factor(headroom)))
    today = archscale.propose(task.task(), capacity=archscale.CapacityRule(headroom=headroom))
    assert proposal_on_grid(task, centre, today)
    grid = grid_entries(task, centre, str(tmp_path / "a"), today)
    assert [e["name"] for _, e in grid] == [pt.label for pt in grid_points(task, centre)]

    monkeypatch.setitem(difficulty.HEADROOM_RULES, "signal",
                        dataclasses.replace(GRID_RULE, exponent=1.0))
    moved = archscale.propose(task.task(), capacity=archscale.CapacityRule(headroom=headroom))
    again = archscale.propose(task.task(), capacity=archscale.CapacityRule(
        headroom=headroom, scale=GRID_RULE.factor(headroom)))
    assert again.spec == centre.spec and not proposal_on_grid(task, centre, moved)
    entries = grid_entries(task, again, str(tmp_path / "b"), moved)
    assert [e for _, e in entries[:-1]] == [
        {**e, "spec": e["spec"].replace("/a/", "/b/")} for _, e in grid]
    extra = entries[-1][1]
    assert extra["name"] == "mnist1d-4k proposal" and extra["seeds"] == [0, 1, 2]
    assert archscale.load_spec(extra["spec"]) == moved.spec
    # x17.1 capped at 8 against x5.49: 1.46x the body
    assert archscale.profile(moved.spec).params > 1.4 * archscale.profile(centre.spec).params
    assert extra["settings"]["accuracy"]["recipe"]["weight_decay"] == \
        moved.recipe.weight_decay != centre.recipe.weight_decay


def test_study_tasks_refuse_unknown_names():
    with pytest.raises(SpecError, match="unknown study; accepted: full, tiny"):
        study_tasks("huge")
    with pytest.raises(SpecError, match="Received: task='nope'"):
        study_tasks("full", ("nope",))
    assert [t.name for t in study_tasks("full", ("digits",))] == ["digits"]


def test_grid_needs_no_tensorflow():
    code = ("import sys; from archscale.study.tasks import study_tasks; "
            "from archscale.study.grid import grid_points; import archscale; "
            "[grid_points(t, archscale.propose(t.task())) for t in study_tasks('full')]; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
