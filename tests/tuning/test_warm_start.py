"""The proposal is the first trial of each of keras-tuner's four oracles (real training,
1 epoch on MNIST-1D)."""

from __future__ import annotations

import pytest

import archscale
from archscale.tuning.space import proposal_values

pytestmark = pytest.mark.tf

TASK = archscale.Task(input_shape=(40,), classes=10, samples=4000)


def _tune(tmp_path, start, budget=None, **kwargs):
    return archscale.tune(start, budget, db=str(tmp_path / "t.db"), epochs=1,
                          directory=str(tmp_path / "d"), quiet=True, **kwargs)


@pytest.mark.parametrize("tuner", ["random", "grid", "bayesian", "hyperband"])
def test_the_first_trial_of_every_tuner_is_the_proposal(tmp_path, tuner):
    proposal = archscale.propose(TASK, archscale.Budget(max_params=8000))
    result = _tune(tmp_path, proposal, tuner=tuner, trials=1, dataset="mnist1d")
    first = result.trials[0]
    assert first.is_proposal and first.status == "ok"
    values = {k: v for k, v in first.hyperparameters.items() if not k.startswith("tuner/")}
    assert values == proposal_values(proposal)
    assert first.spec == proposal.spec.to_dict()
    assert first.params == archscale.profile(proposal.spec).params
