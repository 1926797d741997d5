"""``warm_start=False``: keras-tuner's oracle draws the first trial itself (the unseeded
baseline of the optimal-dimensions study), under its own search id; a dataset table with
loader options is accepted (real training, 1 epoch)."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.tuning.space import proposal_values

pytestmark = pytest.mark.tf

TASK = archscale.Task(input_shape=(40,), classes=10, samples=1000)


@pytest.mark.parametrize("tuner", ["random", "bayesian"])
def test_unseeded_first_trial_is_drawn_not_the_proposal(tmp_path, tuner):
    proposal = archscale.propose(TASK)
    kwargs = dict(tuner=tuner, trials=1, epochs=1, db=str(tmp_path / "t.db"),
                  directory=str(tmp_path / "d"), quiet=True,
                  dataset={"name": "mnist1d", "train_samples": 1000})
    cold = archscale.tune(proposal, warm_start=False, **kwargs)
    warm = archscale.tune(proposal, **kwargs)
    assert cold.run_id != warm.run_id
    first = cold.trials[0]
    values = {k: v for k, v in first.hyperparameters.items() if not k.startswith("tuner/")}
    assert first.status == "ok" and not first.is_proposal
    assert values != proposal_values(proposal)
    assert warm.trials[0].is_proposal
    assert cold.dataset == "mnist1d"


def test_warm_start_must_be_a_bool(tmp_path):
    with pytest.raises(SpecError, match="warm_start must be True or False"):
        archscale.tune(TASK, dataset="mnist1d", warm_start="no", db=str(tmp_path / "t.db"))
    assert not (tmp_path / "t.db").exists()
