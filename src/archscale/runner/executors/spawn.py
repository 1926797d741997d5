"""The ``spawn`` executor: a fresh interpreter (``python -m archscale.runner.worker``) per job.

The job's JSON goes to the worker's stdin and one JSON line comes back on its stdout
(``archscale.runner.worker``); the worker runs in its own session, so a timeout or Ctrl-C
SIGKILLs its whole process group. Every job pays the interpreter start and, for TensorFlow
measurements, the TensorFlow import (3.5-7 s on 2 cores), which ``fork`` avoids.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Mapping

from archscale.runner.jobs import Job
from archscale.runner.lifeline import PARENT_PID_ENV
from archscale.runner.outcome import Outcome, outcome_of

WORKER_MODULE = "archscale.runner.worker"

_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


def run_worker(job: Job, *, python: str | None = None,
               env: Mapping[str, str] | None = None) -> Outcome:
    """Run one job in a fresh worker subprocess.

    Args:
        job: The job.
        python: Interpreter (default: this one).
        env: Environment of the worker (default: this process's).

    Returns:
        The ``Outcome``; never raises for a failing job. ``KeyboardInterrupt`` kills the
        worker and propagates.
    """
    worker_env = dict(os.environ if env is None else env)
    worker_env[PARENT_PID_ENV] = str(os.getpid())
    worker_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    proc = subprocess.Popen([python or sys.executable, "-m", WORKER_MODULE],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=worker_env,
                            start_new_session=True)
    with _running_lock:
        _running.add(proc)
    timed_out = False
    try:
        stdout, stderr = proc.communicate(json.dumps(job.payload()), timeout=job.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill(proc)
        stdout, stderr = proc.communicate()
    except BaseException:
        _kill(proc)
        proc.wait()
        raise
    finally:
        with _running_lock:
            _running.discard(proc)
    wall = time.perf_counter() - start
    return outcome_of(job, proc.returncode, stdout, stderr, wall, timed_out)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def kill_running() -> None:
    """SIGKILL every worker this process is running (used on Ctrl-C with several workers)."""
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        _kill(proc)


class SpawnExecutor:
    """Runs every job in a fresh worker interpreter (thread-safe: one process per call).

    Args:
        env: Environment of the workers (default: this process's).
    """

    name = "spawn"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env
        self.startup_s = 0.0
        self.note: str | None = None

    def run(self, job: Job) -> Outcome:
        """Run ``job`` in its own interpreter and return the outcome (never raises for it)."""
        return run_worker(job, env=self.env)

    def kill(self) -> None:
        """SIGKILL the running workers."""
        kill_running()

    def close(self) -> None:
        """Nothing to stop: each worker exits with its job."""


#: What ``executors.make_executor`` builds for ``spawn``.
EXECUTOR = SpawnExecutor


def auto_available() -> bool:
    """``auto`` can always spawn."""
    return True
