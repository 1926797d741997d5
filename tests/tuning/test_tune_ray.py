"""``tune(..., executor="ray")`` on a real local Ray instance (2 CPUs, started once for the
module): each trial trains in a fresh Ray worker, the oracle stays on the driver, rows land in
the same store with the same job keys as a local search (so a local re-run trains nothing), a
worker SIGKILLed mid-trial is retried and its trial recorded once, and the executor's options
are checked before anything is written."""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

import archscale
from archscale.cli import main
from archscale.errors import SpecError
from archscale.runner.store import Store

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.tf, pytest.mark.serial]  # a Ray cluster of 2 CPUs: alone

TASK = archscale.Task(input_shape=(40,), classes=10, samples=4000)


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    yield
    ray.shutdown()


def _tune(tmp_path, folder="d", **kwargs):
    proposal = archscale.propose(TASK, archscale.Budget(max_params=8000))
    kwargs.setdefault("epochs", 1)
    return archscale.tune(proposal, db=str(tmp_path / "t.db"), directory=str(tmp_path / folder),
                          quiet=True, tuner="random", seed=4, **kwargs)


def _rows(tmp_path):
    with Store(str(tmp_path / "t.db")) as store:
        return {r["job_key"]: r for r in store.rows() if "tune_run" in r}


def test_three_trials_on_ray_then_a_local_rerun_trains_nothing(tmp_path, record_property):
    result = _tune(tmp_path, trials=3, executor="ray")
    assert result.exit_code == 0 and result.extras == {"trained_now": 3, "executor": "ray"}
    assert [t.status for t in result.trials] == ["ok"] * 3 and result.trials[0].is_proposal
    rows = _rows(tmp_path)
    assert sorted(rows) == sorted(t.job_key for t in result.trials)
    pids = {row["env_ray_worker_pid"] for row in rows.values()}
    assert len(pids) == 3 and os.getpid() not in pids  # a fresh worker per trial
    for trial in result.trials:
        row = rows[trial.job_key]
        assert row["val_accuracy"] == trial.val_accuracy > 0.1  # better than chance
        assert row["accuracy_mean"] == trial.test_accuracy and row["params"] <= 8000
    # the same search run locally (a new keras-tuner project) finds every trial stored
    local = _tune(tmp_path, folder="local", trials=3)
    assert local.extras == {"trained_now": 0, "executor": "local"}
    assert local.to_dict() == result.to_dict()
    assert len(_rows(tmp_path)) == 3
    record_property("ledger", {"expected": 3, "stored": len(_rows(tmp_path)), "unique": 3,
                               "rerun": local.extras["trained_now"]})


def _trial_pids():
    pids = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as handle:
                if handle.read().startswith(b"ray::train_trial"):
                    pids.append(int(path.split("/")[2]))
        except OSError:
            continue
    return pids


def test_a_worker_killed_mid_trial_is_retried_and_the_trial_recorded_once(tmp_path,
                                                                          record_property):
    done = {}
    thread = threading.Thread(target=lambda: done.update(
        result=_tune(tmp_path, trials=1, epochs=2, executor="ray")))
    thread.start()
    deadline, victims = time.monotonic() + 120, []
    while not victims and time.monotonic() < deadline:
        time.sleep(0.1)
        victims = _trial_pids()
    assert len(victims) == 1, "the trial's worker should be running"
    time.sleep(1.0)
    os.kill(victims[0], signal.SIGKILL)
    thread.join(timeout=240)
    assert not thread.is_alive()
    (trial,) = done["result"].trials
    assert trial.status == "ok" and done["result"].extras["trained_now"] == 1
    (row,) = _rows(tmp_path).values()
    assert row["env_ray_worker_pid"] != victims[0]  # the retry ran in a new worker
    record_property("ledger", {"expected": 1, "stored": len(_rows(tmp_path)), "unique": 1,
                               "rerun": 0})


@pytest.mark.parametrize("kwargs, fragment", [
    ({"executor": "dask"}, "executor must be one of local, ray. Received: executor='dask'"),
    ({"executor_options": {"address": "auto"}}, "executor_options need executor='ray'"),
    ({"executor": "ray", "executor_options": {"cpus": 1}},
     "executor_options takes address, cpus_per_job, gpus_per_job. Received: 'cpus'"),
    ({"executor": "ray", "executor_options": {"cpus_per_job": 0}},
     "cpus_per_job must be a positive number. Received: cpus_per_job=0"),
    ({"executor": "ray", "executor_options": {"gpus_per_job": float("nan")}},
     "gpus_per_job must be a number >= 0"),
])
def test_bad_executor_options_raise_before_anything_is_written(tmp_path, kwargs, fragment):
    with pytest.raises(SpecError, match="^" + re.escape(fragment)):
        _tune(tmp_path, trials=1, **kwargs)
    assert os.listdir(tmp_path) == []


def test_cli_options_and_no_ray_installed_exit_2(tmp_path, capsys):
    db = tmp_path / "x.db"
    base = ["tune", "--trials", "1", "--epochs", "1", "--db", str(db), "--dir", str(tmp_path)]
    assert main([*base, "--address", "auto"]) == 2
    assert "--address needs --executor ray. Received: --address='auto'" in capsys.readouterr().err
    assert main([*base, "--executor", "ray", "--cpus-per-job", "-1"]) == 2
    assert "--cpus-per-job must be a positive number" in capsys.readouterr().err
    script = ("import sys; sys.modules['ray'] = None\n"
              "from archscale.cli import main\n"
              f"sys.exit(main({[*base, '--executor', 'ray']!r}))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "archscale tune: error: the ray executor needs Ray: pip install 'archscale[ray]' "
        "(or pip install 'ray>=2.9'). Received: executor='ray'"]
    assert os.listdir(tmp_path) == []
