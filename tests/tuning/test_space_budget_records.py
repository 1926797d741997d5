"""The pure parts of tuning: points -> specs and recipes, the budget filter, saved proposals,
selection and the Pareto front, and bad input refused before anything is written."""

from __future__ import annotations

import json
import os

import pytest

import archscale
from archscale.errors import SpecError
from archscale.heuristics.saved_proposal import proposal_from_dict
from archscale.tuning.budget import BudgetFilter
from archscale.tuning.records import OK, SKIPPED, TrialRecord, best_trial, pareto_ids
from archscale.tuning.space import (ORDER, candidate_spec, hyperparameter_rows,
                                    is_proposal_point, proposal_values, trial_recipe)

TASK = archscale.Task(input_shape=(40,), classes=10, samples=4000)
SEQ = archscale.Task(input_shape=(40, 1), classes=10, samples=4000)


@pytest.mark.parametrize("task", [TASK, SEQ])
def test_the_default_point_is_the_proposal_and_larger_points_cost_more(task):
    proposal = archscale.propose(task)
    values = proposal_values(proposal)
    assert candidate_spec(proposal, values) == proposal.spec
    assert is_proposal_point(proposal, values)
    names = [r["name"] for r in hyperparameter_rows(proposal)]
    assert names == sorted(names, key=ORDER.index) and names[-1] == "width_multiplier"
    small = archscale.profile(candidate_spec(proposal, {**values, "width_multiplier": 0.5}))
    large = archscale.profile(candidate_spec(proposal, {**values, "width_multiplier": 1.5}))
    assert small.params < archscale.profile(proposal.spec).params < large.params
    assert not is_proposal_point(proposal, {**values, "width_multiplier": 0.5})


def test_trial_recipe_takes_the_point_and_always_holds_out_a_validation_split():
    proposal = archscale.propose(TASK)
    recipe = trial_recipe(proposal.recipe, {"learning_rate": 0.002, "weight_decay": 1e-5}, 3)
    assert (recipe.learning_rate, recipe.weight_decay, recipe.epochs) == (0.002, 1e-5, 3)
    no_hold_out = proposal.recipe.replace(validation_split=0.0, early_stopping_patience=0)
    assert trial_recipe(no_hold_out, {}).validation_split == 0.1
    assert trial_recipe(proposal.recipe, {"tuner/epochs": 4}).epochs == 4


def test_budget_filter_matches_the_profile_and_names_the_broken_limit():
    proposal = archscale.propose(TASK)
    params = archscale.profile(proposal.spec).params
    tight = BudgetFilter(archscale.Budget(max_params=params), "adam")
    assert tight.check(proposal.spec).fits
    big = candidate_spec(proposal, {**proposal_values(proposal), "width_multiplier": 1.5})
    verdict = tight.check(big)
    assert not verdict.fits and verdict.costs.params == archscale.profile(big).params
    assert "max_params" in verdict.reason
    memory = archscale.profile(big).training_peak_bytes(32, optimizer="adam")
    mem_filter = BudgetFilter(archscale.Budget(max_train_memory_bytes=memory - 1, batch_size=32),
                              "adam")
    assert "max_train_memory_bytes" in mem_filter.check(big).reason


def test_a_saved_proposal_round_trips_with_its_plan():
    proposal = archscale.propose(SEQ, archscale.Budget(max_macs=200_000))
    loaded = proposal_from_dict(json.loads(proposal.to_json()))
    assert loaded.to_dict() == json.loads(proposal.to_json())
    assert loaded.respec(0.5, 0.5) == proposal.respec(0.5, 0.5)
    with pytest.raises(SpecError, match="not an archscale proposal"):
        proposal_from_dict({"spec": proposal.spec.to_dict()})
    tampered = json.loads(proposal.to_json())
    tampered["scaling"]["knobs"][0] += 1
    with pytest.raises(SpecError, match="do not rebuild its spec"):
        proposal_from_dict(tampered)


def test_selection_is_on_validation_and_the_front_is_validation_vs_macs():
    trials = [TrialRecord("0", OK, {}, macs=100, val_accuracy=0.70, test_accuracy=0.90),
              TrialRecord("1", OK, {}, macs=50, val_accuracy=0.70, test_accuracy=0.60),
              TrialRecord("2", OK, {}, macs=200, val_accuracy=0.80, test_accuracy=0.50),
              TrialRecord("3", SKIPPED, {}, macs=10, reason="over")]
    assert best_trial(trials).trial_id == "2"  # highest validation, whatever the test says
    assert pareto_ids(trials) == ["1", "2"]


@pytest.mark.parametrize("kwargs, fragment", [
    ({"tuner": "nope"}, "unknown tuner"), ({"trials": 0}, "trials"),
    ({"epochs": 0}, "epochs"), ({"dataset": "nope"}, "unknown dataset"),
    ({"dataset": "digits"}, "does not fit dataset"),
    ({"budget": archscale.Budget(max_params=100)}, "smallest"),
])
def test_bad_input_raises_and_writes_nothing(tmp_path, kwargs, fragment):
    db, folder = tmp_path / "t.db", tmp_path / "dir"
    budget = kwargs.pop("budget", None)
    with pytest.raises(archscale.ArchscaleError, match=fragment):
        archscale.tune(TASK, budget, db=str(db), directory=str(folder), **kwargs)
    assert os.listdir(tmp_path) == []


def test_a_proposal_over_the_budget_is_refused(tmp_path):
    proposal = archscale.propose(TASK)
    with pytest.raises(SpecError, match="does not meet the budget"):
        archscale.tune(proposal, archscale.Budget(max_params=1000), db=str(tmp_path / "t.db"),
                       directory=str(tmp_path / "d"))
    assert os.listdir(tmp_path) == []
