"""``tune`` from a Task probes its dataset's headroom (as ``propose --probe`` does) unless
``probe=False``; a given Proposal is used as it is."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.heuristics.capacity import CapacityRule
from archscale.heuristics.difficulty import probe_data
from archscale.measure.datasets import load_dataset
from archscale.tuning.api import _prepare

TASK = archscale.Task(input_shape=(40,), classes=10, samples=1000)
DATA = {"name": "mnist1d", "train_samples": 1000}


def _data():
    return load_dataset("mnist1d", train_samples=1000)


def test_a_task_is_proposed_with_its_datasets_headroom():
    data = _data()
    headroom = probe_data(data.x_train, data.y_train).headroom
    probed, _ = _prepare(TASK, None, data)
    assert probed.rationale[1].inputs["headroom"] == headroom
    assert probed.spec == archscale.propose(TASK, capacity=CapacityRule(headroom=headroom)).spec
    plain, _ = _prepare(TASK, None, data, probe=False)
    assert plain.spec == archscale.propose(TASK).spec
    assert archscale.profile(probed.spec).params > 3 * archscale.profile(plain.spec).params


def test_a_given_proposal_is_not_re_proposed():
    proposal = archscale.propose(TASK)
    used, _ = _prepare(proposal, None, _data())
    assert used is proposal


def test_probe_must_be_a_bool(tmp_path):
    with pytest.raises(SpecError, match="probe must be True or False"):
        archscale.tune(TASK, dataset=DATA, probe="yes", db=str(tmp_path / "t.db"))
    assert not (tmp_path / "t.db").exists()
