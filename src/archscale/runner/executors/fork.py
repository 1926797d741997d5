"""The ``fork`` executor: TensorFlow jobs fork from a server that imported TensorFlow once.

Each thread that runs jobs gets its own ``archscale.runner.forkserver.ForkServer`` (one child
at a time per server), started on its first TensorFlow job; jobs that do not need TensorFlow
(``cost``) are spawned, as before the executors were split out (forking them too would save
about 0.3 s a job: see ``forkserver``). If a server cannot start, the executor spawns from then
on and says so in ``note``.
Used by ``auto`` on Linux when no GPU device node exists (``forkserver.fork_supported``).
"""

from __future__ import annotations

import threading
import time
from typing import Mapping

from archscale.runner.executors.spawn import SpawnExecutor
from archscale.runner.forkserver import ForkServer, ForkServerError, fork_supported
from archscale.runner.jobs import Job
from archscale.runner.measurements import get_measurement
from archscale.runner.outcome import Outcome, outcome_of

__all__ = ["EXECUTOR", "ForkExecutor", "auto_available", "run_in_server"]


def run_in_server(job: Job, server: ForkServer) -> Outcome:
    """Run one job in a child forked by ``server``; never raises for a failing job (a dead
    server is a failed job)."""
    start = time.perf_counter()
    try:
        code, stdout, stderr, timed_out = server.run(job.payload(), job.timeout_s)
    except ForkServerError as exc:
        return Outcome("failed", error=str(exc), error_kind="crash",
                       wall_s=time.perf_counter() - start)
    return outcome_of(job, code if code is not None else -1, stdout, stderr,
                      time.perf_counter() - start, timed_out)


class ForkExecutor:
    """Forks TensorFlow jobs from per-thread fork servers; spawns the others.

    Args:
        env: Environment of the servers and spawned workers (default: this process's).
    """

    name = "fork"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env
        self.startup_s = 0.0
        self.note: str | None = None
        self._spawn = SpawnExecutor(env)
        self._forking = True
        self._local = threading.local()
        self._servers: list[ForkServer] = []
        self._lock = threading.Lock()

    def run(self, job: Job) -> Outcome:
        """Run ``job`` in its own process (forked or spawned) and return the outcome."""
        if self._forking and get_measurement(job.measurement).needs_tf:
            server = self._server()
            if server is not None:
                outcome = run_in_server(job, server)
                if not server.alive:
                    self._local.server = None
                return outcome
        return self._spawn.run(job)

    def _server(self) -> ForkServer | None:
        server = getattr(self._local, "server", None)
        if server is not None and server.alive:
            return server
        try:
            server = ForkServer(env=self.env)
        except ForkServerError as exc:
            self._forking, self.note = False, f"fork server unavailable, spawning instead: {exc}"
            return None
        with self._lock:
            self._servers.append(server)
            self.startup_s += server.start_s
        self._local.server = server
        return server

    def kill(self) -> None:
        """SIGKILL the children the servers are running and the spawned workers."""
        self._spawn.kill()
        with self._lock:
            for server in self._servers:
                server.kill_child()

    def close(self) -> None:
        """Stop every fork server."""
        with self._lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.close()


#: What ``executors.make_executor`` builds for ``fork``.
EXECUTOR = ForkExecutor


def auto_available() -> bool:
    """``auto`` forks on Linux when no NVIDIA device node exists (``fork_supported``)."""
    return fork_supported()
