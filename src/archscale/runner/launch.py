"""Launching one job in its own process: a fresh interpreter (spawn) or a fork-server child.

``run_worker`` starts ``python -m archscale.runner.worker`` for one job (job JSON on stdin,
one JSON line on stdout); ``run_in_server`` runs it in a child of a ``ForkServer``. Either
way a Python exception in the measurement, a crash (non-zero exit without a result), a kill by
a signal (e.g. SIGKILL from the out-of-memory killer) and a timeout all become a ``failed``
``Outcome`` with a one-line ``error``. ``Launcher`` picks the way per job.

Per-job overhead = the job's wall time minus the measurement itself: process start, imports
(TensorFlow for TF measurements when spawned: ``job_import_s``), spec rebuild, environment
record, result transfer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from archscale.runner.forkserver import ForkServer, ForkServerError, fork_supported
from archscale.runner.jobs import Job
from archscale.runner.measurements import get_measurement

WORKER_MODULE = "archscale.runner.worker"
#: Environment variable carrying the parent's pid to a worker (``worker.die_with_parent``).
PARENT_PID_ENV = "ARCHSCALE_RUNNER_PARENT"

_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()


@dataclass(frozen=True)
class Outcome:
    """What one worker run produced.

    Attributes:
        status: ``"ok"`` or ``"failed"``.
        row: The measurement's row (ok only).
        environment: ``env_*`` columns reported by the worker.
        error: One-line error (failed only).
        error_kind: ``error`` (exception), ``crash`` (exit code), ``killed`` (signal),
            ``timeout``.
        returncode: The worker's exit status (negative: killed by that signal).
        wall_s: Seconds from starting the worker to its exit.
        import_s: Seconds the worker spent importing TensorFlow.
        measure_s: Seconds of the measurement itself.
    """

    status: str
    row: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    returncode: int | None = None
    wall_s: float = 0.0
    import_s: float = 0.0
    measure_s: float = 0.0

    @property
    def overhead_s(self) -> float:
        """Wall time not spent in the measurement (start-up, imports, transfer)."""
        return max(0.0, self.wall_s - self.measure_s)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


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
    return _outcome(job, proc.returncode, stdout, stderr, wall, timed_out)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def run_in_server(job: Job, server: ForkServer) -> Outcome:
    """Run one job in a child forked by ``server`` (see ``forkserver``); never raises for a
    failing job (a dead server is a failed job)."""
    start = time.perf_counter()
    try:
        code, stdout, stderr, timed_out = server.run(job.payload(), job.timeout_s)
    except ForkServerError as exc:
        return Outcome("failed", error=str(exc), error_kind="crash",
                       wall_s=time.perf_counter() - start)
    return _outcome(job, code if code is not None else -1, stdout, stderr,
                    time.perf_counter() - start, timed_out)


EXECUTORS = ("auto", "fork", "spawn")


class Launcher:
    """Starts each job in a fresh process: ``spawn`` (a new interpreter per job) or ``fork``
    (TensorFlow jobs fork from a fork server that imported TensorFlow once; one server per
    thread). ``auto`` forks where ``forkserver.fork_supported()``; jobs that do not need
    TensorFlow always spawn. If a fork server cannot start, the launcher falls back to spawn.

    Args:
        executor: ``auto``, ``fork`` or ``spawn``.
        env: Environment of workers and servers (default: this process's).
    """

    def __init__(self, executor: str = "auto", env: Mapping[str, str] | None = None) -> None:
        if executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}. "
                             f"Received: executor={executor!r}")
        self.fork = executor == "fork" or (executor == "auto" and fork_supported())
        self.env = env
        self.startup_s = 0.0
        self.note: str | None = None
        self._local = threading.local()
        self._servers: list[ForkServer] = []
        self._lock = threading.Lock()

    def run(self, job: Job) -> Outcome:
        """Run ``job`` in its own process and return the outcome."""
        if self.fork and get_measurement(job.measurement).needs_tf:
            server = self._server()
            if server is not None:
                outcome = run_in_server(job, server)
                if not server.alive:
                    self._local.server = None
                return outcome
        return run_worker(job, env=self.env)

    def _server(self) -> ForkServer | None:
        server = getattr(self._local, "server", None)
        if server is not None and server.alive:
            return server
        try:
            server = ForkServer(env=self.env)
        except ForkServerError as exc:
            self.fork, self.note = False, f"fork server unavailable, spawning instead: {exc}"
            return None
        with self._lock:
            self._servers.append(server)
            self.startup_s += server.start_s
        self._local.server = server
        return server

    def kill(self) -> None:
        """SIGKILL the children the servers are running."""
        with self._lock:
            for server in self._servers:
                server.kill_child()

    def close(self) -> None:
        """Stop every fork server."""
        with self._lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.close()


def _outcome(job: Job, code: int, stdout: str, stderr: str, wall: float,
             timed_out: bool) -> Outcome:
    result = _parse(stdout) if not timed_out else None
    timing = {"returncode": code, "wall_s": wall}
    if result is not None:
        timing.update(import_s=float(result.get("import_s") or 0.0),
                      measure_s=float(result.get("measure_s") or 0.0))
        if result.get("status") == "ok":
            return Outcome("ok", row=result.get("row") or {},
                           environment=result.get("environment") or {}, **timing)
        return Outcome("failed", error=result.get("error") or "unknown error",
                       error_kind=result.get("error_kind") or "error", **timing)
    tail = _last_line(stderr)
    if timed_out:
        error, kind = f"timed out after {job.timeout_s:g} s", "timeout"
    elif code < 0:
        error, kind = f"worker killed by {_signal_name(-code)}", "killed"
        if -code == signal.SIGKILL:
            error += " (out of memory?)"
    else:
        error, kind = f"worker exited with code {code} without a result", "crash"
    if tail:
        error += f"; last stderr line: {tail}"
    return Outcome("failed", error=error, error_kind=kind, **timing)


def kill_running() -> None:
    """SIGKILL every worker this process is running (used on Ctrl-C with several workers)."""
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        _kill(proc)
