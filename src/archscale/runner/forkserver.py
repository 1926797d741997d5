"""A fork server: import TensorFlow once, then fork one fresh child process per job.

Starting a Python process and importing TensorFlow and Keras takes 3.5-7 s on a 2-core
machine; paid once per job that is most of the time of a catalogue sweep. The fork server
(``python -m archscale.runner.forkserver_process``) imports them once, WITHOUT running any op or
touching a device (so no TensorFlow runtime, thread pool, allocator or CUDA context exists
yet), and then forks a child for every job. Each child is still its own process with its own
timeout, crash and out-of-memory isolation: it creates the TensorFlow runtime itself, runs
``worker.run_job`` and exits with ``os._exit``. Environment variables a measurement needs are
set in the child before its first op (the CPU allocator is created lazily, so
``TF_CPU_ALLOCATOR_USE_BFC`` still applies).

Protocol on the server's stdin/stdout (one JSON object per line)::

    server -> runner   {"ready": true, "import_s": 4.1}
    runner -> server   {"job": {...}, "result": "/tmp/.../out", "stderr": "/tmp/.../err"}
    server -> runner   {"pid": 1234}                       # the child is running
    server -> runner   {"pid": 1234, "returncode": 0}      # the child exited (negative: signal)

The child writes the worker's result line to ``result`` and its stdout/stderr to ``stderr``.
Used on Linux when no GPU device node exists (a CUDA context must never be forked; the
server never creates one, but ``spawn`` is the safe default next to a GPU). The server side is
``archscale.runner.forkserver_process``.

Why not the standard library's (measured with ``bench/fork_executors.py`` on the shared 2-core
dev machine, 4 runs of 3-5 jobs each, TensorFlow and Keras preloaded): start-up is the same
within the noise (this server 2.5-5.9 s, ``multiprocessing.get_context("forkserver")`` with
``set_forkserver_preload`` 2.5-3.7 s; 2.5 s each on a quiet run); per-job overhead is 2-4x
lower here (cost job 0.01-0.03 s, tiny latency job 0.02-0.03 s, against 0.04-0.09 s for a
stdlib ``Process`` per job and for ``ProcessPoolExecutor(max_tasks_per_child=1)``; a spawned
worker: 0.18-0.35 s and 2.6-4.1 s). A job hung past its timeout, or a TensorFlow job killed at
its timeout while holding 80-350 MB, is gone within 0.03 s with its memory back (within the
noise) for a stdlib ``Process`` as here, but the pool cannot stop one task: ``cancel()``
returns False for a running task, and killing its worker breaks the pool
(``BrokenProcessPool``), which must be rebuilt. The stdlib server also writes TensorFlow's
start-up log to the user's terminal (it inherits stderr) and ignores a preload module that
fails to import, where this one keeps a log and reports it.
"""

from __future__ import annotations

import glob
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Mapping, Sequence

from archscale.runner.lifeline import PARENT_PID_ENV

PRELOAD = ("tensorflow", "keras")
#: The server process's module (``python -m``).
SERVER_MODULE = "archscale.runner.forkserver_process"


def fork_supported() -> bool:
    """Whether ``executor = "auto"`` uses the fork server: Linux, and no NVIDIA device node."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") \
        and not glob.glob("/dev/nvidia[0-9]*")


# ---------------------------------------------------------------------------------------------
# Runner side
# ---------------------------------------------------------------------------------------------


class ForkServerError(RuntimeError):
    """The fork server could not start or died."""


class ForkServer:
    """A running fork server (one job at a time).

    Args:
        preload: Modules the server imports before forking (default TensorFlow and Keras).
        env: Environment of the server (default: this process's).
        start_timeout_s: Limit for the server's imports.

    Raises:
        ForkServerError: the server did not become ready.
    """

    def __init__(self, preload: Sequence[str] = PRELOAD, env: Mapping[str, str] | None = None,
                 start_timeout_s: float = 300.0) -> None:
        server_env = dict(os.environ if env is None else env)
        server_env[PARENT_PID_ENV] = str(os.getpid())
        server_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self._tmp = tempfile.TemporaryDirectory(prefix="archscale-fork-")
        self._log = open(os.path.join(self._tmp.name, "server.log"), "w+b")
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, ",".join(preload)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=server_env,
            start_new_session=True)
        self._buffer = b""
        self.child: int | None = None
        self._count = 0
        ready = self._read(start_timeout_s)
        if not ready or not ready.get("ready"):
            self.close()
            raise ForkServerError(f"the fork server did not start: {self._log_tail()}")
        self.start_s = time.perf_counter() - start
        self.import_s = float(ready.get("import_s") or 0.0)

    def _log_tail(self) -> str:
        self._log.flush()
        self._log.seek(0)
        lines = [ln.strip() for ln in self._log.read().decode(errors="replace").splitlines()
                 if ln.strip()]
        return lines[-1][:300] if lines else "no output"

    def _read(self, timeout: float | None) -> dict[str, Any] | None:
        """The next JSON line, or None on timeout / end of stream."""
        deadline = None if timeout is None else time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    @property
    def alive(self) -> bool:
        """Whether the server process is running."""
        return self.proc.poll() is None

    def run(self, payload: Mapping[str, Any],
            timeout_s: float) -> tuple[int | None, str, str, bool]:
        """Run one job in a forked child.

        Args:
            payload: ``Job.payload()``.
            timeout_s: Wall-clock limit of the child.

        Returns:
            ``(returncode, result text, stderr text, timed_out)``.

        Raises:
            ForkServerError: the server died (the job's result is unknown).
        """
        self._count += 1
        out = os.path.join(self._tmp.name, f"{self._count}.out")
        err = os.path.join(self._tmp.name, f"{self._count}.err")
        request = {"job": dict(payload), "result": out, "stderr": err}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ForkServerError(f"the fork server died: {self._log_tail()}") from None
        started = self._read(30.0)
        if not started or "pid" not in started:
            raise ForkServerError(f"the fork server did not fork: {self._log_tail()}")
        self.child = int(started["pid"])
        start = time.monotonic()
        timed_out = False
        try:
            done = self._read(timeout_s)
            if done is None and self.alive:
                timed_out = True
                self.kill_child()
                done = self._read(30.0)
        except BaseException:
            self.kill_child()
            raise
        finally:
            self.child = None
        if done is None:
            raise ForkServerError(f"the fork server died while running a job "
                                  f"(after {time.monotonic() - start:.1f} s): {self._log_tail()}")
        return done.get("returncode"), _read_text(out), _read_text(err), timed_out

    def kill_child(self) -> None:
        """SIGKILL the running child (and its process group)."""
        if self.child is None:
            return
        for kill in (lambda: os.killpg(self.child, signal.SIGKILL),
                     lambda: os.kill(self.child, signal.SIGKILL)):
            try:
                kill()
                return
            except (ProcessLookupError, PermissionError):
                continue

    def close(self) -> None:
        """Stop the server (its stdin closes; SIGKILL if it does not exit)."""
        self.kill_child()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()
        self._log.close()
        self._tmp.cleanup()


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""
