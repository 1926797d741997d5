"""Faults on the ``ray`` executor, on a real local Ray instance (2 CPUs, once for the module):
a native crash (SIGSEGV, retried by Ray as a dead worker, then recorded as ``crash``) and
memory exhausted under a limit the worker sets (the job's own error: recorded at once, not
retried), and a driver SIGKILLed mid-sweep then re-run: exactly one result per job, and no
finished job run again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from archscale.runner.executors.ray import MAX_RETRIES
from archscale.runner.jobs import expand
from archscale.runner.scheduler import run_sweep
from archscale.runner.store import Store
from archscale.runner.sweep import sweep_from_dict

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.serial  # a Ray cluster of 2 CPUs: alone, after the parallel pass

#: Fault kinds this module injects (read by tools/reliability.py).
FAULTS = ("segfault (ray)", "out-of-memory (ray)", "SIGKILL of the driver mid-sweep (ray)")


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def test_measurements(monkeypatch):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")


def test_a_segfault_is_retried_then_recorded_and_a_memory_error_is_not_retried(
        tmp_path, record_property):
    arch = [{"preset": "mlp", "name": mode, "measure": ["crash"],
             "settings": {"crash": {"mode": mode}}} for mode in ("segv", "memory")]
    arch.append({"preset": "mnist1d_mlp", "measure": ["cost"]})
    jobs = expand(sweep_from_dict({"timeout": 60.0, "arch": arch}))
    with Store(str(tmp_path / "f.db")) as store:
        summary = run_sweep(jobs, store, executor="ray")
        rows = {r["name"]: r for r in store.rows()}
        assert store.count() == 3
        record_property("ledger", {"expected": 3, "stored": store.count(), "unique": len(rows),
                                   "rerun": 0})
    assert (summary.ok, summary.failed) == (1, 2)
    assert rows["segv"]["error_kind"] == "crash"
    assert rows["segv"]["error"].startswith(f"worker died (WorkerCrashedError, after "
                                            f"{MAX_RETRIES} retries)")
    assert rows["memory"]["error_kind"] == "error"
    assert rows["memory"]["error"].startswith("MemoryError: out of memory: the worker's address space")


def _rows(db):
    if not os.path.exists(db):
        return {}
    try:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("SELECT job_key, row FROM results"))
    except sqlite3.Error:
        return {}


SLEEP_SWEEP = """\
measure = ["sleep"]
seeds = [0, 1, 2, 3]
timeout = 120
settings.sleep.seconds = 3
[[arch]]
preset = "mlp"
"""


def test_a_driver_killed_mid_sweep_resumes_with_one_result_per_job(tmp_path, record_property):
    sweep, db = tmp_path / "s.toml", str(tmp_path / "k.db")
    sweep.write_text(SLEEP_SWEEP)
    address = ray.get_runtime_context().gcs_address
    argv = [sys.executable, "-m", "archscale", "bench", str(sweep), "--db", db,
            "--executor", "ray", "--address", address, "--json"]
    env = {**os.environ, "ARCHSCALE_TEST_MEASUREMENTS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not _rows(db) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _rows(db)
    assert 1 <= len(before) < 4, "the driver should be killed part-way"
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    after = _rows(db)
    jobs = expand(sweep_from_dict({"measure": ["sleep"], "seeds": [0, 1, 2, 3],
                                   "timeout": 120.0, "settings": {"sleep": {"seconds": 3}},
                                   "arch": [{"preset": "mlp"}]}))
    assert sorted(after) == sorted(j.key for j in jobs)  # exactly one result per job
    assert all(after[key] == text for key, text in before.items())  # finished: not re-run
    assert f"{4 - len(before)} ok and 0 failed in this run, {len(before)} skipped" in done.stderr
    assert all(json.loads(text)["status"] == "ok" for text in after.values())
    record_property("ledger", {"expected": 4, "stored": len(after), "unique": len(set(after)),
                               "rerun": sum(after[k] != t for k, t in before.items())})
