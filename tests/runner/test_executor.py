"""The executor with real worker subprocesses: failures are recorded and the sweep goes on,
timeouts, a SIGKILLed sweep resumes without losing or duplicating anything, --force.

The test-only measurements ``sleep`` and ``crash`` (``ARCHSCALE_TEST_MEASUREMENTS=1``) exercise
the executor, not a measurement: ``crash`` exits with a code, dies by SIGKILL as an
out-of-memory kill would, or raises; ``sleep`` sleeps, then returns the analytic cost row.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from archscale.runner.executors.spawn import run_worker
from archscale.runner.lifeline import PARENT_PID_ENV
from archscale.runner.scheduler import run_sweep
from archscale.runner.jobs import expand
from archscale.runner.store import Store
from archscale.runner.sweep import load_sweep, sweep_from_dict


@pytest.fixture(autouse=True)
def test_measurements(monkeypatch):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")


def crash_jobs(*modes, timeout=60.0):
    arch = [{"preset": "mlp", "name": f"crash-{mode}", "measure": ["crash"],
             "settings": {"crash": {"mode": mode}}} for mode in modes]
    arch.insert(1, {"preset": "mnist1d_mlp", "measure": ["cost"]})
    return expand(sweep_from_dict({"timeout": timeout, "arch": arch}))


def test_worker_protocol_on_the_command_line():
    job = crash_jobs("raise")[0]
    assert job.measurement == "cost"
    env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}
    proc = subprocess.run([sys.executable, "-m", "archscale.runner.worker"],
                          input=json.dumps(job.payload()), capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0
    (line,) = proc.stdout.splitlines()
    result = json.loads(line)
    assert result["status"] == "ok" and result["row"]["params"] == 15210
    bad = subprocess.run([sys.executable, "-m", "archscale.runner.worker"], input="{oops",
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "bad job JSON" in json.loads(bad.stdout)["error"]


def test_failures_are_recorded_and_the_sweep_continues(tmp_path):
    jobs = crash_jobs("exit", "signal", "raise")
    assert [j.measurement for j in jobs] == ["cost", "crash", "crash", "crash"]
    with Store(str(tmp_path / "s.db")) as store:
        summary = run_sweep(jobs, store)
        rows = {r["name"]: r for r in store.rows([j.key for j in jobs])}
    assert summary.ok == 1 and summary.failed == 3 and len(summary.overheads_s) == 4
    assert rows["mnist1d_mlp"]["status"] == "ok"
    exit_row, kill_row, raise_row = (rows[f"crash-{m}"] for m in ("exit", "signal", "raise"))
    assert exit_row["error_kind"] == "crash" and exit_row["returncode"] == 3
    assert exit_row["error"] == ("worker exited with code 3 without a result; last stderr "
                                 "line: test crash: about to die")
    assert kill_row["error_kind"] == "killed" and kill_row["returncode"] == -signal.SIGKILL
    assert kill_row["error"].startswith("worker killed by SIGKILL (out of memory?)")
    # stdout noise printed by the measurement does not break the one-line protocol
    assert raise_row["error_kind"] == "error" and raise_row["returncode"] == 1
    assert raise_row["error"] == "RuntimeError: test crash in crash-raise"
    for row in rows.values():
        assert row["job_wall_s"] >= row["job_overhead_s"] >= 0


def test_timeout_kills_the_worker(tmp_path):
    sweep = sweep_from_dict({"measure": ["sleep"], "seeds": [0], "timeout": 1.0,
                             "settings": {"sleep": {"seconds": 60}},
                             "arch": [{"preset": "mlp"}]})
    (job,) = expand(sweep)
    start = time.perf_counter()
    outcome = run_worker(job)
    assert time.perf_counter() - start < 50  # far below the 60 s sleep
    assert outcome.status == "failed" and outcome.error_kind == "timeout"
    assert outcome.error == "timed out after 1 s"


def test_two_workers_run_everything_once(tmp_path):
    sweep = sweep_from_dict({"measure": ["sleep"], "seeds": [0, 1, 2], "workers": 2,
                             "arch": [{"preset": "mlp"}]})
    jobs = expand(sweep)
    with Store(str(tmp_path / "w.db")) as store:
        summary = run_sweep(jobs, store, workers=sweep.workers)
        assert summary.ok == 3 and store.count() == 3


SWEEP = """
name = "resume"
measure = ["sleep"]
seeds = [0, 1, 2, 3, 4, 5, 6, 7]
[settings.sleep]
seconds = 0.4
[[arch]]
preset = "mlp"
"""


def _ok_rows(db):
    try:
        con = sqlite3.connect(db, timeout=10)
        try:
            return con.execute("SELECT COUNT(*) FROM results WHERE status='ok'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # the table does not exist yet
        return 0


def test_sigkill_part_way_then_resume(tmp_path, record_property):
    sweep_path = tmp_path / "resume.toml"
    sweep_path.write_text(textwrap.dedent(SWEEP))
    db = str(tmp_path / "resume.db")
    cmd = [sys.executable, "-m", "archscale", "bench", str(sweep_path), "--db", db]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while _ok_rows(db) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = _ok_rows(db)
    assert 3 <= done_before < 8, "the sweep should be killed part-way"

    rerun = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"8 jobs: {done_before} already in the store (skipped), {8 - done_before} to run" \
        in rerun.stderr
    rows = json.loads(rerun.stdout)
    jobs = expand(load_sweep(str(sweep_path)))
    assert len(rows) == 1 and sorted(rows[0]["job_keys"]) == sorted(j.key for j in jobs)
    con = sqlite3.connect(db)
    keys = [k for (k,) in con.execute("SELECT job_key FROM results WHERE status='ok'")]
    assert sorted(keys) == sorted(j.key for j in jobs)  # exactly one ok result per job
    assert con.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 8
    runs = con.execute("SELECT skipped, ok, failed FROM runs ORDER BY run_id").fetchall()
    assert runs[-1] == (done_before, 8 - done_before, 0)
    record_property("ledger", {"expected": 8, "stored": 8, "unique": len(set(keys)),
                               "rerun": runs[-1][1] - (8 - done_before)})


def test_force_remeasures(tmp_path):
    sweep = sweep_from_dict({"measure": ["cost"], "arch": [{"preset": "mlp"}]})
    jobs = expand(sweep)
    with Store(str(tmp_path / "f.db")) as store:
        first = run_sweep(jobs, store)
        again = run_sweep(jobs, store)
        forced = run_sweep(jobs, store, force=True)
        (row,) = store.rows([j.key for j in jobs])
        assert store.count() == 1
    assert (first.ok, len(first.skipped)) == (1, 0)
    assert (again.ok, len(again.skipped)) == (0, 1)
    assert (forced.ok, len(forced.skipped)) == (1, 0)
    assert row["run_id"] == forced.run_id


#: Jobs long enough (1 s each) that a loaded machine cannot finish the sweep between the
#: second stored row and the interrupt.
INTERRUPT_SWEEP = SWEEP.replace("seconds = 0.4", "seconds = 1.0")
WORKERS_SWEEP = INTERRUPT_SWEEP.replace('measure = ["sleep"]', 'measure = ["sleep"]\nworkers = 2')


def _interrupt_when(proc: subprocess.Popen, db: str, rows: int) -> None:
    """Ctrl-C as a terminal sends it, once ``rows`` results are stored."""
    deadline = time.monotonic() + 90
    while _ok_rows(db) < rows and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)


def _default_sigint() -> None:
    """The child takes Ctrl-C as a terminal user's process does, whatever the test runner's
    own disposition of SIGINT is (an ignored signal would be inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130_then_resume_with_two_workers(tmp_path):
    sweep_path = tmp_path / "workers.toml"
    sweep_path.write_text(textwrap.dedent(WORKERS_SWEEP))
    db = str(tmp_path / "workers.db")
    cmd = [sys.executable, "-m", "archscale", "bench", str(sweep_path), "--db", db]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    _interrupt_when(proc, db, 2)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "archscale bench: interrupted"
    done_before = _ok_rows(db)
    assert 2 <= done_before < 8, "the sweep should be interrupted part-way"
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM results").fetchone()[0] == done_before  # no partial
    con.close()

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"8 jobs: {done_before} already in the store (skipped), {8 - done_before} to run" \
        in rerun.stdout
    jobs = expand(load_sweep(str(sweep_path)))
    con = sqlite3.connect(db)
    keys = sorted(k for (k,) in con.execute("SELECT job_key FROM results WHERE status='ok'"))
    assert keys == sorted(j.key for j in jobs)  # one ok result per job, none twice
    assert con.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 8


def test_ctrl_c_in_the_python_api_returns_an_interrupted_result(tmp_path):
    sweep_path = tmp_path / "api.toml"
    sweep_path.write_text(textwrap.dedent(INTERRUPT_SWEEP))
    db = str(tmp_path / "api.db")
    code = ("import json, sys, archscale\n"
            f"r = archscale.bench({str(sweep_path)!r}, db={db!r})\n"
            "print(json.dumps({'interrupted': r.interrupted, 'ok': r.ok, "
            "'rows': len(r.job_rows), 'exit_code': r.exit_code}))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    _interrupt_when(proc, db, 2)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    got = json.loads(stdout.strip().splitlines()[-1])
    assert got["interrupted"] is True and 2 <= got["ok"] < 8
    assert got["ok"] == _ok_rows(db)
