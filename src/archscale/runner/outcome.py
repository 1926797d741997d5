"""What one job's process produced (``Outcome``), read the same way for every executor.

A worker prints one JSON line (see ``archscale.runner.worker``). ``outcome_of`` turns that line,
or its absence, into an ``Outcome``: a Python exception in the measurement, a crash (non-zero
exit without a result), a kill by a signal (e.g. SIGKILL from the out-of-memory killer) and a
timeout all become a ``failed`` outcome with a one-line ``error``.

Per-job overhead = the job's wall time minus the measurement itself: process start, imports
(TensorFlow for TF measurements when spawned: ``import_s``), spec rebuild, environment record,
result transfer.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from typing import Any, Mapping

from archscale.runner.jobs import Job


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


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The worker's result object: the last line of ``stdout`` that is a JSON object."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def outcome_of(job: Job, code: int, stdout: str, stderr: str, wall: float,
               timed_out: bool) -> Outcome:
    """The ``Outcome`` of one finished (or killed) job process.

    Args:
        job: The job.
        code: The exit status (negative: killed by that signal).
        stdout: What carries the result line.
        stderr: The process's stderr (its last line goes into a failure's error).
        wall: Seconds from start to exit.
        timed_out: The process was killed at the job's timeout.

    Returns:
        ``ok`` with the row, or ``failed`` with a one-line error.
    """
    result = parse_result(stdout) if not timed_out else None
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
