"""A fork server: import TensorFlow once, then fork one fresh child process per job.

Starting a Python process and importing TensorFlow and Keras takes 3.5-7 s on a 2-core
machine; paid once per job that is most of the time of a catalogue sweep. The fork server
(``python -m archscale.runner.forkserver``) imports them once, WITHOUT running any op or
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
server never creates one, but ``spawn`` is the safe default next to a GPU).
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

PRELOAD = ("tensorflow", "keras")


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
        from archscale.runner.launch import PARENT_PID_ENV

        server_env = dict(os.environ if env is None else env)
        server_env[PARENT_PID_ENV] = str(os.getpid())
        server_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self._tmp = tempfile.TemporaryDirectory(prefix="archscale-fork-")
        self._log = open(os.path.join(self._tmp.name, "server.log"), "w+b")
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "archscale.runner.forkserver", ",".join(preload)],
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


# ---------------------------------------------------------------------------------------------
# Server side
# ---------------------------------------------------------------------------------------------


def _child(request: Mapping[str, Any], server_pid: int, protocol_fd: int) -> None:
    """In the forked child: run the job, write the result, ``os._exit``. Never returns."""
    code = 70
    try:
        os.close(protocol_fd)  # only the server talks to the runner
        os.setsid()
        from archscale.runner import worker

        worker.die_with_parent(str(server_pid))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        started = time.perf_counter()
        result = worker.run_job(request["job"])
        result["worker_s"] = time.perf_counter() - started
        with open(request["result"], "w", encoding="utf-8") as handle:
            handle.write(json.dumps(result, allow_nan=False, default=str) + "\n")
        code = 0 if result.get("status") == "ok" else 1
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # noqa: BLE001 - report anything, then exit
        try:
            print(f"fork server child failed: {type(exc).__name__}: {exc}", file=sys.stderr,
                  flush=True)
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def serve(preload: Sequence[str]) -> int:
    """Server main loop: import ``preload``, then fork a child per request line."""
    from archscale.runner import worker

    worker.die_with_parent()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints of imported modules go to the log, not the protocol
    start = time.perf_counter()
    import importlib

    for name in preload:
        importlib.import_module(name)
    import archscale.runner.measurements  # noqa: F401 - the children need it
    import archscale.reference_archs.registry as registry

    registry.presets()  # import every family module once, before forking
    protocol.write(json.dumps({"ready": True, "import_s": time.perf_counter() - start}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            _child(request, server_pid, protocol.fileno())
        protocol.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        protocol.write(json.dumps({"pid": pid,
                                   "returncode": os.waitstatus_to_exitcode(status)}) + "\n")
    return 0


if __name__ == "__main__":
    modules = [m for m in (sys.argv[1] if len(sys.argv) > 1 else "").split(",") if m]
    code = serve(modules)
    os._exit(code)
