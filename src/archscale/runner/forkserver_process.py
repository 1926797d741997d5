"""The fork server process (``python -m archscale.runner.forkserver_process``): the server side
of ``archscale.runner.forkserver``.

It imports the preload modules (TensorFlow, Keras), the worker and every family module once,
then reads one request per line on stdin and forks a child per request; the child runs
``worker.run_job``, writes the result line to the request's ``result`` file and its
stdout/stderr to ``stderr``, and leaves with ``os._exit``. The protocol is in
``archscale.runner.forkserver``. Nothing imports this module; it only runs as ``__main__``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any, Mapping, Sequence

from archscale.reference_archs import registry
from archscale.runner import worker  # and with it the measurements: the children need them
from archscale.runner.lifeline import die_with_parent


def _child(request: Mapping[str, Any], server_pid: int, protocol_fd: int) -> None:
    """In the forked child: run the job, write the result, ``os._exit``. Never returns."""
    code = 70
    try:
        os.close(protocol_fd)  # only the server talks to the runner
        os.setsid()
        die_with_parent(str(server_pid))
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
    die_with_parent()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints of imported modules go to the log, not the protocol
    start = time.perf_counter()
    for name in preload:
        importlib.import_module(name)
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
