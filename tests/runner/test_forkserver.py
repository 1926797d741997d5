"""The fork server: a child per job with the same failure handling as a spawned worker, and
no process left behind when the runner is killed.

These tests start the server without preloading TensorFlow (``preload=()``) so they stay fast;
the real TensorFlow path is exercised in ``test_tf_jobs.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from archscale.runner.forkserver import ForkServer
from archscale.runner.jobs import expand
from archscale.runner.executors.fork import run_in_server
from archscale.runner.sweep import sweep_from_dict


@pytest.fixture(autouse=True)
def test_measurements(monkeypatch):
    monkeypatch.setenv("ARCHSCALE_TEST_MEASUREMENTS", "1")


@pytest.fixture
def server():
    srv = ForkServer(preload=())
    yield srv
    srv.close()


def jobs_of(arch, **top):
    return expand(sweep_from_dict({**top, "arch": arch}))


def test_children_run_jobs_and_failures_become_outcomes(server):
    arch = [{"preset": "mlp", "name": f"crash-{m}", "measure": ["crash"],
             "settings": {"crash": {"mode": m}}} for m in ("exit", "signal", "raise")]
    arch.append({"preset": "mnist1d_mlp", "measure": ["cost"]})
    cost, exit_job, kill_job, raise_job = jobs_of(arch)
    ok = run_in_server(cost, server)
    assert ok.status == "ok" and ok.row["params"] == 15210 and ok.returncode == 0
    assert ok.overhead_s < ok.wall_s
    exited = run_in_server(exit_job, server)
    assert (exited.error_kind, exited.returncode) == ("crash", 3)
    assert exited.error.endswith("last stderr line: test crash: about to die")
    killed = run_in_server(kill_job, server)
    assert (killed.error_kind, killed.returncode) == ("killed", -signal.SIGKILL)
    raised = run_in_server(raise_job, server)
    assert (raised.error_kind, raised.error) == ("error", "RuntimeError: test crash in crash-raise")
    assert server.alive and run_in_server(cost, server).status == "ok"  # still serving


def test_timeout_kills_the_child_not_the_server(server):
    (job,) = jobs_of([{"preset": "mlp"}], measure=["sleep"], seeds=[0], timeout=1.0,
                     settings={"sleep": {"seconds": 60}})
    start = time.perf_counter()
    outcome = run_in_server(job, server)
    assert time.perf_counter() - start < 50
    assert (outcome.error_kind, outcome.error) == ("timeout", "timed out after 1 s")
    assert server.alive


def test_dead_server_is_a_failed_job(server):
    (job,) = jobs_of([{"preset": "mlp"}], measure=["cost"])
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    outcome = run_in_server(job, server)
    assert outcome.status == "failed" and "fork server died" in outcome.error


ORPHAN_SCRIPT = textwrap.dedent("""
    import os, sys, threading, time
    os.environ["ARCHSCALE_TEST_MEASUREMENTS"] = "1"
    from archscale.runner.forkserver import ForkServer
    from archscale.runner.jobs import expand
    from archscale.runner.sweep import sweep_from_dict
    (job,) = expand(sweep_from_dict({"measure": ["sleep"], "seeds": [0],
                                     "settings": {"sleep": {"seconds": 120}},
                                     "arch": [{"preset": "mlp"}]}))
    server = ForkServer(preload=())
    def report():
        while server.child is None:
            time.sleep(0.02)
        time.sleep(0.3)
        print(server.proc.pid, server.child, flush=True)
    threading.Thread(target=report, daemon=True).start()
    server.run(job.payload(), 300)
""")


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_killing_the_runner_leaves_no_orphans():
    proc = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE,
                            text=True)
    server_pid, child_pid = map(int, proc.stdout.readline().split())
    assert _alive(server_pid) and _alive(child_pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while (_alive(server_pid) or _alive(child_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid) and not _alive(child_pid)
