"""Run a sweep's jobs, each in its own process with a timeout, and store every result.

``run_sweep`` asks ``planner.plan`` what to run (jobs stored as ``ok`` are skipped, so
re-running a killed sweep resumes it; stored ``failed`` ones run again unless
``skip_failed=True``; ``force=True`` re-measures everything), hands each job to an executor
(``archscale.runner.executors``: a spawned interpreter or a fork-server child; crashes, kills
and timeouts become ``failed`` outcomes and the sweep goes on) and writes each finished job in
its own transaction. Latency and machine-peak jobs (``Measurement.exclusive``: timings) always
run one at a time, alone; with ``workers=2`` the other jobs (cost, memory, accuracy) run two
at a time first.
"""

from __future__ import annotations

import concurrent.futures
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from archscale.runner.executors import AUTO, resolve_executor
from archscale.runner.executors.base import Executor, make_executor
from archscale.runner.jobs import Job
from archscale.runner.planner import plan
from archscale.runner.rows import make_row
from archscale.runner.store import Store

__all__ = ["ProgressSink", "RunSummary", "run_sweep"]


# ---------------------------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------------------------


class ProgressSink(Protocol):
    """What ``run_sweep`` reports to (``archscale.runner.progress`` implements it)."""

    def start(self, total: int, skipped: int, todo: Sequence[Job]) -> None: ...

    def job_started(self, job: Job) -> None: ...

    def job_finished(self, job: Job, row: Mapping[str, Any]) -> None: ...


@dataclass
class RunSummary:
    """What a sweep run did.

    Attributes:
        jobs: Every job of the sweep.
        ran: Keys of the jobs that ran in this run.
        skipped: Keys of the jobs found in the store and not run.
        ok / failed: Jobs of this run by status.
        wall_s: Wall time of the run.
        overheads_s: Per-job overhead of every job that ran.
        run_id: The store's id of this run.
        interrupted: The run stopped early (Ctrl-C).
        startup_s: One-off start-up of the fork servers (TensorFlow import), 0 with spawn.
        note: A remark for the user (e.g. a fork server fell back to spawn).
    """

    jobs: list[Job]
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    overheads_s: list[float] = field(default_factory=list)
    run_id: int | None = None
    interrupted: bool = False
    startup_s: float = 0.0
    note: str | None = None

    @property
    def overhead_s_median(self) -> float | None:
        """Median per-job overhead, or None when nothing ran."""
        return statistics.median(self.overheads_s) if self.overheads_s else None


def run_sweep(jobs: Sequence[Job], store: Store, *, name: str = "sweep", source: str = "",
              force: bool = False, skip_failed: bool = False, workers: int = 1,
              progress: ProgressSink | None = None,
              worker_env: Mapping[str, str] | None = None,
              executor: str = AUTO, executor_options: Mapping[str, Any] | None = None,
              reraise_interrupt: bool = True) -> RunSummary:
    """Run the jobs that the store does not hold yet and store each result.

    Args:
        jobs: The sweep's jobs (``jobs.expand``).
        store: Where results go.
        name: Sweep name (recorded in ``runs``).
        source: Sweep file or command line (recorded in ``runs``).
        force: Re-measure jobs that are stored already.
        skip_failed: Do not re-run jobs stored as failed (default: re-run them).
        workers: Jobs run at once (1 or 2; more where the executor has ``slots``: Ray runs
            as many as the cluster has room for); exclusive (timing) jobs always run alone.
        progress: Receives start/job events.
        worker_env: Environment of the workers (default: this process's).
        executor: ``auto`` or a name of ``executors.EXECUTORS`` (``fork``, ``spawn``, ``ray``).
        executor_options: The executor's options (``ray``: ``address``, ``cpus_per_job``,
            ``gpus_per_job``).
        reraise_interrupt: On Ctrl-C, let the ``KeyboardInterrupt`` propagate (default);
            False: return the summary with ``interrupted=True``.

    Returns:
        The ``RunSummary``. On Ctrl-C the run is closed in the store first.

    Raises:
        ValueError: an unknown executor name.
        SpecError: bad executor options, or Ray missing for ``ray``.
    """
    start = time.perf_counter()
    resolve_executor(executor)
    todo, skip = plan(jobs, store, force=force, skip_failed=skip_failed)
    # Made only when there is something to run (starting Ray takes seconds).
    runner = make_executor(executor, worker_env, executor_options) if todo else _Idle()
    workers = max(workers, int(getattr(runner, "slots", 1)))
    summary = RunSummary(jobs=list(jobs), skipped=[j.key for j in skip])
    summary.run_id = store.start_run(name, source, len(jobs), len(skip))
    if progress is not None:
        progress.start(len(jobs), len(skip), todo)

    stopping = threading.Event()
    lock = threading.Lock()

    def one(job: Job) -> None:
        if stopping.is_set():
            return
        if progress is not None:
            progress.job_started(job)
        outcome = runner.run(job)
        if stopping.is_set():  # killed because the run was interrupted: not a result
            return
        row = make_row(job, outcome, summary.run_id)
        store.put(row, job.to_dict(), job.environment)
        with lock:
            summary.ran.append(job.key)
            summary.overheads_s.append(outcome.overhead_s)
            if outcome.status == "ok":
                summary.ok += 1
            else:
                summary.failed += 1
        if progress is not None:
            progress.job_finished(job, row)

    try:
        shared = [j for j in todo if not j.exclusive] if workers > 1 else []
        if shared:
            _run_parallel(one, shared, workers, stopping, runner)
        for job in todo:
            if not shared or job.exclusive:
                one(job)
    except KeyboardInterrupt:
        summary.interrupted = True
        stopping.set()
        if reraise_interrupt:
            raise
    finally:
        runner.close()
        summary.startup_s, summary.note = runner.startup_s, runner.note
        summary.wall_s = time.perf_counter() - start
        store.finish_run(summary.run_id, ok=summary.ok, failed=summary.failed,
                         wall_s=summary.wall_s, overhead_s_median=summary.overhead_s_median)
    return summary


class _Idle:
    """The executor of a run with nothing to run."""

    startup_s = 0.0
    note: str | None = None

    def close(self) -> None:
        """Nothing to release."""


def _run_parallel(one: Any, jobs: Sequence[Job], workers: int, stopping: threading.Event,
                  runner: Executor) -> None:
    """Run ``one(job)`` for every job on ``workers`` threads (each starts its own worker)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()
    except BaseException:
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        runner.kill()
        raise
    pool.shutdown()
