"""Real keras-tuner searches with real training on MNIST-1D (1 epoch per trial)."""

from __future__ import annotations

import pytest

import archscale
from archscale.runner.store import Store

pytestmark = pytest.mark.tf

TASK = archscale.Task(input_shape=(40,), classes=10, samples=4000)
SEQ = archscale.Task(input_shape=(40, 1), classes=10, samples=4000)


def _tune(tmp_path, start, budget=None, **kwargs):
    kwargs.setdefault("epochs", 1)
    tmp_path.mkdir(parents=True, exist_ok=True)
    return archscale.tune(start, budget, db=str(tmp_path / "t.db"),
                          directory=str(tmp_path / "d"), quiet=True, **kwargs)


def _tune_rows(tmp_path):
    with Store(str(tmp_path / "t.db")) as store:
        return [r for r in store.rows() if "tune_run" in r]


def test_over_budget_candidates_are_skipped_and_the_search_still_trains_its_trials(tmp_path):
    # No user budget: the search space reaches 2x width and 1.5x depth. A ceiling at the
    # proposal's own size makes most of the (width, depth) grid infeasible.
    proposal = archscale.propose(SEQ)
    params = archscale.profile(proposal.spec).params
    budget = archscale.Budget(max_params=params)
    result = _tune(tmp_path, proposal, budget, tuner="random", trials=3, seed=1,
                   dataset="mnist1d_seq")
    assert result.stopped is None and result.exit_code == 0
    assert result.trained == 3 and result.skipped_over_budget >= 1
    for trial in result.trials:
        if trial.status == "skipped_over_budget":
            assert trial.params > params and "max_params" in trial.reason
            assert trial.val_accuracy is None and trial.train_seconds is None  # never trained
        else:
            assert trial.params <= params and trial.val_accuracy is not None
    rows = _tune_rows(tmp_path)
    assert len(rows) == 3 and max(r["params"] for r in rows) <= params
    assert result.to_dict()["skipped_over_budget"] == result.skipped_over_budget


def test_the_search_gives_up_after_too_many_consecutive_skips(tmp_path):
    proposal = archscale.propose(SEQ)
    budget = archscale.Budget(max_params=archscale.profile(proposal.spec).params)
    result = _tune(tmp_path, proposal, budget, tuner="random", trials=20, seed=1,
                   dataset="mnist1d_seq", max_consecutive_skips=1)
    assert result.exit_code == 1 and "gave up after 1 consecutive" in result.stopped
    assert result.trials[-1].status == "skipped_over_budget"


def test_trials_land_in_the_store_once_and_a_rerun_trains_nothing_again(tmp_path):
    proposal = archscale.propose(TASK, archscale.Budget(max_params=8000))
    first = _tune(tmp_path, proposal, tuner="random", trials=2, seed=4)
    assert first.extras["trained_now"] == 2
    rows = _tune_rows(tmp_path)
    assert sorted(r["tune_trial"] for r in rows) == ["0000", "0001"]
    assert {r["job_key"] for r in rows} == {t.job_key for t in first.trials}
    for row, trial in zip(sorted(rows, key=lambda r: r["tune_trial"]), first.trials):
        assert row["val_accuracy"] == trial.val_accuracy
        assert row["accuracy_mean"] == trial.test_accuracy and row["macs"] == trial.macs
    again = _tune(tmp_path, proposal, tuner="random", trials=2, seed=4)
    assert again.extras["trained_now"] == 0 and again.to_dict() == first.to_dict()
    more = _tune(tmp_path, proposal, tuner="random", trials=3, seed=4)
    assert more.extras["trained_now"] == 1 and more.trials[:2] == first.trials
    assert len(_tune_rows(tmp_path)) == 3


def test_the_same_seed_gives_the_same_trials(tmp_path):
    proposal = archscale.propose(TASK, archscale.Budget(max_params=8000))
    a = _tune(tmp_path / "a", proposal, tuner="bayesian", trials=2, seed=7)
    b = _tune(tmp_path / "b", proposal, tuner="bayesian", trials=2, seed=7)
    assert [t.hyperparameters for t in a.trials] == [t.hyperparameters for t in b.trials]
    for x, y in zip(a.trials, b.trials):
        assert x.val_accuracy == pytest.approx(y.val_accuracy, abs=0.01)
