"""The ``ray`` executor on a real local Ray instance (2 CPUs, started once for the module):
the same job keys and rows as the local executor, a re-run skips everything, a fresh worker
process per job, failures recorded (crashes after Ray's retries, the job's own errors at once,
timeouts), a worker SIGKILLed mid-job is retried and its job recorded once, and without Ray
installed ``--executor ray`` exits 2 with how to install it.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from archscale.cli import main
from archscale.runner.executors.ray import MAX_RETRIES
from archscale.runner.jobs import expand
from archscale.runner.scheduler import run_sweep
from archscale.runner.store import Store
from archscale.runner.sweep import sweep_from_dict

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.serial  # a Ray cluster of 2 CPUs: alone, after the parallel pass

#: Columns that differ between any two runs of the same job.
VOLATILE = ("job_wall_s", "job_overhead_s", "job_import_s", "job_measure_s", "created_at",
            "run_id", "env_ray_node_ip", "env_ray_worker_pid")


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def test_measurements(monkeypatch):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")


COST_SWEEP = {"measure": ["cost"], "batch_sizes": [1, 8],
              "arch": [{"preset": "mlp"}, {"preset": "mnist1d_mlp"}]}


def _rows(store, jobs):
    return {r["job_key"]: r for r in store.rows([j.key for j in jobs])}


def test_same_keys_and_rows_as_the_local_executor_and_a_rerun_skips_all(tmp_path):
    jobs = expand(sweep_from_dict(COST_SWEEP))
    with Store(str(tmp_path / "local.db")) as store:
        assert run_sweep(jobs, store, executor="spawn").ok == 4
        local = _rows(store, jobs)
    with Store(str(tmp_path / "ray.db")) as store:
        summary = run_sweep(jobs, store, executor="ray")
        assert (summary.ok, summary.failed, len(summary.ran)) == (4, 0, 4)
        assert summary.note.startswith("ray: 2 CPUs, 0 GPUs; 2 jobs at once")
        remote = _rows(store, jobs)
        again = run_sweep(jobs, store, executor="ray")
        assert (again.ran, sorted(again.skipped)) == ([], sorted(j.key for j in jobs))
        assert store.count() == 4
    assert sorted(remote) == sorted(local) == sorted(j.key for j in jobs)
    for key, row in remote.items():
        strip = {k: v for k, v in row.items() if k not in VOLATILE}
        assert strip == {k: v for k, v in local[key].items() if k not in VOLATILE}
        assert row["params"] > 0 and row["status"] == "ok"
    # the fingerprint was taken on the Ray worker, a fresh process for every job
    pids = {row["env_ray_worker_pid"] for row in remote.values()}
    assert len(pids) == 4 and os.getpid() not in pids


def test_failures_are_recorded_once_and_the_sweep_finishes(tmp_path):
    arch = [{"preset": "mlp", "name": f"crash-{mode}", "measure": ["crash"],
             "settings": {"crash": {"mode": mode}}} for mode in ("exit", "raise")]
    arch += [{"preset": "mlp", "name": "hang", "measure": ["sleep"], "seeds": [0],
              "settings": {"sleep": {"seconds": 120}}},
             {"preset": "mnist1d_mlp", "measure": ["cost"]}]
    # 60 s leaves a crashing job room for its retries on a loaded machine (each restarts a
    # Ray worker); the hang alone is cut at 3 s
    jobs = expand(sweep_from_dict({"timeout": 60.0, "arch": arch}))
    jobs = [j if j.label != "hang" else j.__class__(**{**j.to_dict(), "timeout_s": 3.0})
            for j in jobs]
    start = time.perf_counter()
    with Store(str(tmp_path / "f.db")) as store:
        summary = run_sweep(jobs, store, executor="ray")
        rows = {r["name"]: r for r in store.rows([j.key for j in jobs])}
        assert store.count() == 4
    assert time.perf_counter() - start < 90  # the 120 s sleep was cut at 3 s
    assert (summary.ok, summary.failed) == (1, 3)
    assert rows["mnist1d_mlp"]["status"] == "ok"
    crash = rows["crash-exit"]
    assert crash["status"] == "failed" and crash["error_kind"] == "crash"
    assert crash["error"].startswith(f"worker died (WorkerCrashedError, after {MAX_RETRIES} "
                                     "retries)")
    raised = rows["crash-raise"]  # the job's own error: recorded as it is, not retried
    assert raised["error_kind"] == "error" and raised["returncode"] == 1
    assert raised["error"] == "RuntimeError: test crash in crash-raise"
    assert rows["hang"]["error_kind"] == "timeout"
    assert rows["hang"]["error"] == "timed out after 3 s"


def _task_pids():
    pids = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as handle:
                if handle.read().startswith(b"ray::archscale_job"):
                    pids.append(int(path.split("/")[2]))
        except OSError:
            continue
    return pids


def test_a_worker_killed_mid_job_is_retried_and_recorded_once(tmp_path, record_property):
    jobs = expand(sweep_from_dict({"measure": ["sleep"], "seeds": [0], "timeout": 60.0,
                                   "settings": {"sleep": {"seconds": 4}},
                                   "arch": [{"preset": "mlp"}]}))
    store = Store(str(tmp_path / "k.db"))
    done = {}
    thread = threading.Thread(target=lambda: done.update(
        summary=run_sweep(jobs, store, executor="ray")))
    thread.start()
    deadline, victims = time.monotonic() + 30, []
    while not victims and time.monotonic() < deadline:
        time.sleep(0.1)
        victims = _task_pids()
    assert len(victims) == 1, "the job's worker should be running"
    time.sleep(0.5)
    os.kill(victims[0], signal.SIGKILL)
    thread.join(timeout=60)
    assert not thread.is_alive()
    (row,) = store.rows()
    store.close()
    record_property("ledger", {"expected": 1, "stored": 1, "unique": 1, "rerun": 0})
    assert done["summary"].ok == 1 and done["summary"].failed == 0
    assert row["status"] == "ok" and row["job_key"] == jobs[0].key
    assert row["env_ray_worker_pid"] != victims[0]  # the retry ran in a new worker
    assert row["job_wall_s"] > 4.5  # the killed attempt's time plus the full retry


def test_without_ray_executor_ray_exits_2_and_says_how_to_install(tmp_path):
    db = tmp_path / "none.db"
    script = ("import sys; sys.modules['ray'] = None\n"
              "from archscale.cli import main\n"
              f"sys.exit(main(['bench', 'mlp', '--measure', 'cost', '--db', {str(db)!r}, "
              "'--executor', 'ray']))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "archscale bench: error: the ray executor needs Ray: pip install 'archscale[ray]' "
        "(or pip install 'ray>=2.9'). Received: executor='ray'"]
    assert not db.exists()


@pytest.mark.parametrize("argv, message", [
    (["--address", "auto"], "--address needs --executor ray. Received: --address='auto'"),
    (["--executor", "ray", "--cpus-per-job", "0"],
     "--cpus-per-job must be a positive number. Received: --cpus-per-job=0"),
    (["--executor", "ray", "--gpus-per-job", "nan"], "--gpus-per-job must be a number >= 0"),
    (["--executor", "spawn", "--gpus-per-job", "1"], "--gpus-per-job needs --executor ray"),
])
def test_ray_options_are_checked_before_anything_is_written(tmp_path, capsys, argv, message):
    db = tmp_path / "x.db"
    assert main(["bench", "mlp", "--measure", "cost", "--db", str(db), *argv]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert message in line
    assert not db.exists()

