"""Progress of a sweep: a live ``rich`` display on a terminal, plain lines otherwise.

Both show jobs done / failed / left, the ETA (mean time per finished job times the jobs
left) and the current job. ``make_progress`` picks the live display only when the stream is a
terminal; in a pipe, a log file or CI every finished job prints one line::

    [ 3/12] ok      1.9s  resnet20 latency batch=1  latency_ms_median=2.41
    [ 4/12] FAILED  0.4s  mlp crash  worker exited with code 3 without a result
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Mapping, Sequence, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from archscale.runner.jobs import Job
from archscale.runner.measurements import MEASUREMENTS
from archscale.units import format_seconds


def headline(row: Mapping[str, Any]) -> str:
    """The measurement's main numbers as ``key=value`` text (or the error of a failed row)."""
    if row.get("status") != "ok":
        return str(row.get("error") or "")
    measurement = MEASUREMENTS.get(str(row.get("measurement")))
    parts = []
    for key in measurement.headline if measurement else ():
        value = row.get(key)
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}={value}")
    return "  ".join(parts)


class _Counts:
    """Counters and the ETA: the jobs left, each costed at the mean wall time of the finished
    jobs of its measurement (a measurement with none finished yet: the slowest mean seen)."""

    def __init__(self) -> None:
        self.total = self.skipped = self.todo = self.done = self.failed = 0
        self.started = time.perf_counter()
        self.lock = threading.Lock()
        self.left: dict[str, int] = {}
        self.seconds: dict[str, list[float]] = {}

    def begin(self, total: int, skipped: int, todo: Sequence[Job]) -> None:
        self.total, self.skipped, self.todo = total, skipped, len(todo)
        self.started = time.perf_counter()
        for job in todo:
            self.left[job.measurement] = self.left.get(job.measurement, 0) + 1

    def finish(self, job: Job, row: Mapping[str, Any]) -> None:
        if row.get("status") == "ok":
            self.done += 1
        else:
            self.failed += 1
        self.left[job.measurement] = max(0, self.left.get(job.measurement, 1) - 1)
        wall = row.get("job_wall_s")
        if isinstance(wall, (int, float)):
            self.seconds.setdefault(job.measurement, []).append(float(wall))

    def eta(self) -> float | None:
        means = {m: sum(v) / len(v) for m, v in self.seconds.items() if v}
        if not means:
            return None
        fallback = max(means.values())
        return sum(n * means.get(m, fallback) for m, n in self.left.items())


class PlainProgress:
    """One line per finished job on ``stream`` (for pipes, logs, CI)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.counts = _Counts()

    def start(self, total: int, skipped: int, todo: Sequence[Job]) -> None:
        self.counts.begin(total, skipped, todo)
        print(f"{total} jobs: {skipped} already in the store (skipped), {len(todo)} to run",
              file=self.stream, flush=True)

    def job_started(self, job: Job) -> None:
        """Plain output prints nothing when a job starts."""

    def job_finished(self, job: Job, row: Mapping[str, Any]) -> None:
        c = self.counts
        with c.lock:
            c.finish(job, row)
            n = c.done + c.failed
            width = len(str(c.todo))
            status = "ok" if row.get("status") == "ok" else "FAILED"
            print(f"[{n:>{width}}/{c.todo}] {status:<7}{row.get('job_wall_s', 0):6.1f}s  "
                  f"{job.describe()}  {headline(row)}  (eta {format_seconds(c.eta())})",
                  file=self.stream, flush=True)

    def close(self) -> None:
        """Nothing to tear down."""


class RichProgress:
    """A live ``rich`` progress bar: done/failed/left, ETA and the current job."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.counts = _Counts()
        self.console = Console(file=stream or sys.stdout)
        self.progress = Progress(
            TextColumn("[bold]bench[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
            TextColumn("eta {task.fields[eta]}"), TextColumn("[cyan]{task.fields[current]}"),
            console=self.console, transient=False)
        self.task: Any = None

    def _fields(self, current: str) -> dict[str, str]:
        c = self.counts
        left = c.todo - c.done - c.failed
        stats = f"[green]{c.done} ok[/] [red]{c.failed} failed[/] {left} left"
        return {"stats": stats, "eta": format_seconds(c.eta()), "current": current}

    def start(self, total: int, skipped: int, todo: Sequence[Job]) -> None:
        self.counts.begin(total, skipped, todo)
        self.console.print(f"{total} jobs: {skipped} already in the store (skipped), "
                           f"{len(todo)} to run")
        self.progress.start()
        self.task = self.progress.add_task("bench", total=len(todo), **self._fields(""))

    def job_started(self, job: Job) -> None:
        with self.counts.lock:
            self.progress.update(self.task, **self._fields(job.describe()))

    def job_finished(self, job: Job, row: Mapping[str, Any]) -> None:
        c = self.counts
        with c.lock:
            c.finish(job, row)
            if row.get("status") != "ok":
                self.progress.console.print(f"[red]FAILED[/] {job.describe()}: "
                                            f"{row.get('error')}")
            self.progress.update(self.task, advance=1, **self._fields(""))

    def close(self) -> None:
        """Stop the live display."""
        if self.task is not None:
            self.progress.stop()


def make_progress(stream: TextIO | None = None, *, live: bool | None = None) -> Any:
    """``RichProgress`` when ``stream`` is a terminal (or ``live=True``), else ``PlainProgress``."""
    stream = stream or sys.stdout
    if live is None:
        live = hasattr(stream, "isatty") and stream.isatty()
    return RichProgress(stream) if live else PlainProgress(stream)
