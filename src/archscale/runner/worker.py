"""``python -m archscale.runner.worker``: run ONE job and print ONE JSON line.

Protocol: the job (``Job.payload()``) arrives as one JSON object on stdin; the worker prints
exactly one line on stdout::

    {"status": "ok", "row": {...}, "environment": {...}, "import_s": 3.1, "measure_s": 2.0}
    {"status": "failed", "error": "ShapeError: ...", "error_kind": "error", ...}

and exits 0 (ok) or 1 (a Python exception in the measurement). Anything the measurement or
TensorFlow prints on stdout is sent to stderr, so stdout carries only that line. A crash that
kills the interpreter (segfault, ``os._exit``, out-of-memory kill) leaves no line: the parent
records the exit code or signal and the last line of stderr.

On Linux the worker asks the kernel to kill it when its parent dies
(``archscale.runner.lifeline``), so a sweep killed with SIGKILL leaves no orphan measurement
running.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from typing import Any, Mapping

from archscale.environment import environment
from archscale.measure.device import record_environment
from archscale.measure.tensorflow_import import import_tensorflow
from archscale.profiling import profile
from archscale.reference_archs.registry import spec_from_dict
from archscale.runner.lifeline import die_with_parent
from archscale.runner.job_runners import prepare_environment, run_measurement
from archscale.runner.measurements import get_measurement, profile_columns


def _finite(value: Any) -> Any:
    """NaN and infinities become None (strict JSON); containers are walked."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        try:
            return _finite(value.item())
        except (TypeError, ValueError):
            return str(value)
    return value


def _import_tensorflow() -> float:
    """Import TensorFlow and Keras quietly; returns the seconds it took."""
    start = time.perf_counter()
    import_tensorflow()
    return time.perf_counter() - start


def environment_columns(job: Mapping[str, Any], needs_tf: bool) -> dict[str, Any]:
    """``env_*`` columns: ``archscale.measure.device.record_environment`` for TensorFlow jobs
    (devices, threads, RAM), else the TF-free ``environment()`` with ``env_`` prefixes."""
    settings = job.get("settings") or {}
    xla, dtype = bool(settings.get("xla", False)), str(settings.get("dtype", "float32"))
    if needs_tf:
        return dict(record_environment(xla=xla, dtype=dtype))
    env = {f"env_{k}": v for k, v in environment().items()}
    env.update({"env_xla": xla, "env_dtype": dtype})
    return env


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run one job in this process and return the result object (never raises).

    Args:
        job: ``Job.payload()``.

    Returns:
        The dict the worker prints (see the module docstring).
    """
    out: dict[str, Any] = {"import_s": 0.0, "measure_s": 0.0}
    try:
        measurement = get_measurement(job["measurement"])
        prepare_environment(measurement.name)
        if measurement.needs_tf:
            out["import_s"] = _import_tensorflow()
        spec = spec_from_dict(job["spec"]) if measurement.needs_spec else None
        start = time.perf_counter()
        row = run_measurement(spec, job)
        out["measure_s"] = time.perf_counter() - start
        if spec is not None:
            row = {**profile_columns(profile(spec)), **row}
        out.update(status="ok", row=row,
                   environment=environment_columns(job, measurement.needs_tf))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a record
        message = " ".join(str(exc).split()) or type(exc).__name__
        out.update(status="failed", error_kind="error",
                   error=f"{type(exc).__name__}: {message}"[:2000])
        if os.environ.get("ARCHSCALE_DEBUG") == "1":
            traceback.print_exc()
    return _finite(out)


def main() -> int:
    """Read the job on stdin, run it, print one JSON line on the real stdout."""
    started = time.perf_counter()
    die_with_parent()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    real_stdout = os.dup(1)
    os.dup2(2, 1)  # whatever the measurement prints goes to stderr
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    try:
        job = json.loads(sys.stdin.read())
    except ValueError as exc:
        result: dict[str, Any] = {"status": "failed", "error_kind": "error",
                                  "error": f"bad job JSON on stdin: {exc}"}
    else:
        result = run_job(job)
    result["worker_s"] = time.perf_counter() - started
    line = json.dumps(result, allow_nan=False, default=str) + "\n"
    with os.fdopen(real_stdout, "wb") as handle:
        handle.write(line.encode())
    return 0 if result.get("status") == "ok" else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown: TensorFlow's takes 1-2 s and the result is out already.
    os._exit(code)
