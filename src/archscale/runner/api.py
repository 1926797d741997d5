"""``archscale.bench(...)``: build a sweep, expand it, open the store, run, aggregate.

The orchestration behind ``archscale bench``; the CLI verb only parses its options into these
arguments and prints the ``BenchResult``. ``sweep_of`` builds the sweep (a sweep file, or
presets / globs / spec files with options), ``run_bench`` runs one, ``bench`` does both, and
``stored_results`` reads what a store holds (``archscale bench --list``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from archscale.errors import InputFileError, SpecError
from archscale.reference_archs.registry import list_presets
from archscale.runner.dataset_entries import check_dataset_files
from archscale.runner.executors import executor_choices
from archscale.runner.executors.base import check_executor
from archscale.runner.jobs import expand
from archscale.runner.measurements import MEASUREMENTS, resolve_settings
from archscale.runner.rows import aggregate_rows
from archscale.runner.scheduler import ProgressSink, run_sweep
from archscale.runner.store import DEFAULT_DB, open_store
from archscale.runner.sweep import MAX_WORKERS, Sweep, load_sweep, match_any, sweep_from_dict

_GLOB = "*?["
#: Options that belong in a sweep file and cannot be given next to one.
SWEEP_FILE_CONFLICTS = ("measure", "batch_sizes", "datasets", "seeds", "xla", "overrides")


@dataclass(frozen=True)
class BenchResult:
    """What ``bench`` / ``run_bench`` did.

    Attributes:
        rows: The sweep's results as flat rows, accuracy seeds aggregated into one row
            (one row per job with ``per_seed=True``).
        job_rows: One stored row per job of the sweep.
        jobs: Number of jobs in the sweep.
        ok / failed: Jobs of this run by status.
        skipped: Jobs found in the store and not run.
        failed_total: Jobs of the sweep stored as failed (this run's and earlier ones).
        wall_s: Wall time of the run.
        overhead_s_median: Median per-job overhead (process start, imports), None if none ran.
        startup_s: One-off start-up of the fork servers (0 with spawn).
        note: A remark for the user (e.g. a fork server fell back to spawn), or None.
        store_path: The store's file.
        run_id: The store's id of this run.
        interrupted: Ctrl-C stopped the run; the rows are those stored until then.
    """

    rows: list[dict[str, Any]]
    job_rows: list[dict[str, Any]]
    jobs: int
    ok: int
    failed: int
    skipped: int
    failed_total: int
    wall_s: float
    overhead_s_median: float | None
    startup_s: float
    note: str | None
    store_path: str
    run_id: int | None
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 1 when a job of the sweep is stored as failed, else 0."""
        return 1 if self.failed_total else 0


def arch_entry(target: str, overrides: Mapping[str, Any] | None = None,
               key: str = "TARGET") -> dict[str, Any]:
    """The ``[[arch]]`` table of one target: a preset, a preset glob or a ``.json`` spec file.

    Raises:
        SpecError: a sweep file among several targets, or an existing file that is not a
            ``.json`` spec (e.g. a saved Keras model).
    """
    lowered = target.lower()
    if any(c in target for c in _GLOB):
        entry: dict[str, Any] = {"preset": target}
    elif lowered.endswith(".toml"):
        raise SpecError("give one sweep file alone, without presets or spec files. "
                        f"Received: {key}={target!r}")
    elif lowered.endswith(".json"):
        entry = {"spec": os.path.abspath(target)}
    elif target not in list_presets() and os.path.isfile(target):
        raise SpecError("bench measures presets and spec files (.json), not saved Keras "
                        f"models; use archscale.measure from Python. Received: {key}={target!r}")
    else:
        entry = {"preset": target}
    if overrides:
        entry["set"] = dict(overrides)
    return entry


def _given(value: Any) -> bool:
    """An option was given: not None, not False, not an empty list or table."""
    return value is not None and value is not False and value != [] and value != {}


def _is_sweep_file(targets: Any) -> bool:
    return isinstance(targets, str) and targets.lower().endswith(".toml")


def sweep_of(targets: str | Sequence[str] | Mapping[str, Any] | Sweep, *,
             measure: Sequence[str] | None = None, batch_sizes: Sequence[int] | None = None,
             datasets: Sequence[Any] | None = None, seeds: Sequence[int] | None = None,
             timeout_s: float | None = None, xla: bool = False,
             overrides: Mapping[str, Any] | None = None, peak: bool | None = None,
             workers: int | None = None, executor: str | None = None) -> Sweep:
    """The sweep that ``bench`` runs.

    Args:
        targets: A sweep file (``.toml``), a list of presets / preset globs / ``.json`` spec
            files (one string is a list of one), a sweep as a dict (the parsed TOML), or a
            ``Sweep``.
        measure: Measurements of the presets (default ``cost``, ``latency``, ``memory``).
        batch_sizes / datasets / seeds: Axes of the presets (see ``sweep.py``).
        timeout_s: Wall-clock limit per job (overrides a sweep file's).
        xla: Latency compiled with XLA.
        overrides: Spec field overrides of every preset (``{"classes": 10}``).
        peak: Add (True) or drop (False) the machine-peak job; default: when latency runs.
        workers: Jobs at once (1 or 2; latency and peak jobs always run alone).
        executor: ``auto`` or a name of ``executors.EXECUTORS``.

    Returns:
        The validated ``Sweep``.

    Raises:
        SpecError / ShapeError / InputFileError: bad options, unknown presets, invalid
            overrides or sweep file (the message names the option or key).
    """
    if timeout_s is not None and not timeout_s > 0:
        raise SpecError(f"timeout_s must be a positive number of seconds. "
                        f"Received: timeout_s={timeout_s!r}")
    given = {"measure": measure, "batch_sizes": batch_sizes, "datasets": datasets,
             "seeds": seeds, "xla": xla, "overrides": overrides}
    if isinstance(targets, Sweep) or _is_sweep_file(targets) or isinstance(targets, Mapping):
        conflict = next((k for k in SWEEP_FILE_CONFLICTS if _given(given[k])), None)
        if conflict is not None:
            raise SpecError(f"{conflict} cannot be combined with a sweep; put it in the sweep. "
                            f"Received: {conflict}={given[conflict]!r}")
        if isinstance(targets, Sweep):
            sweep = targets
        elif isinstance(targets, Mapping):
            sweep = sweep_from_dict(targets, base_dir=os.getcwd())
        else:
            sweep = load_sweep(targets)
        sweep = _override_sweep(sweep, peak, timeout_s)
    else:
        names = [targets] if isinstance(targets, str) else list(targets)
        data: dict[str, Any] = {"name": "command line",
                                "arch": [arch_entry(t, overrides, f"targets[{i}]")
                                         for i, t in enumerate(names)]}
        for key, value in (("measure", measure), ("batch_sizes", batch_sizes),
                           ("seeds", seeds), ("datasets", datasets)):
            if value is not None:
                data[key] = list(value)
        if timeout_s is not None:
            data["timeout"] = float(timeout_s)
        if xla:
            data["xla"] = True
        if peak is not None:
            data["peak"] = peak
        sweep = sweep_from_dict(data, base_dir=os.getcwd(), source="command line")
    if workers is not None:
        if isinstance(workers, bool) or workers not in range(1, MAX_WORKERS + 1):
            raise SpecError(f"workers must be 1 or {MAX_WORKERS}. Received: workers={workers!r}")
        sweep = dataclasses.replace(sweep, workers=workers)
    if executor is not None:
        if executor not in executor_choices():
            raise SpecError(f"executor must be one of {', '.join(executor_choices())}. "
                            f"Received: executor={executor!r}")
        sweep = dataclasses.replace(sweep, executor=executor)
    return sweep


def _override_sweep(sweep: Sweep, peak: bool | None, timeout_s: float | None) -> Sweep:
    """A sweep file's sweep with ``peak`` and ``timeout_s`` given next to it."""
    if peak is False:
        sweep = dataclasses.replace(sweep, peak=None)
    elif peak and sweep.peak is None:
        sweep = dataclasses.replace(sweep, peak=resolve_settings(MEASUREMENTS["peak"], {}))
    if timeout_s is not None:
        sweep = dataclasses.replace(sweep, peak_timeout_s=float(timeout_s), variants=tuple(
            dataclasses.replace(v, timeout_s=float(timeout_s)) for v in sweep.variants))
    return sweep


def run_bench(sweep: Sweep, *, db: str | None = None, force: bool = False,
              skip_failed: bool = False, per_seed: bool = False,
              progress: ProgressSink | None = None,
              executor_options: Mapping[str, Any] | None = None) -> BenchResult:
    """Run a sweep into a store and read back its rows.

    Args:
        sweep: The sweep (``sweep_of``, ``sweep.load_sweep``).
        db: The store's file (default ``archscale.db`` in the working directory).
        force: Re-measure jobs that are already stored.
        skip_failed: Do not retry jobs stored as failed.
        per_seed: One row per seed instead of seeds aggregated (accuracy).
        progress: Receives start/job events (``progress.make_progress``); None: silent.
        executor_options: Options of the sweep's executor (``ray``: ``address``,
            ``cpus_per_job``, ``gpus_per_job``; see ``executors.ray.RayOptions``).

    Returns:
        The ``BenchResult``. Ctrl-C stops the run: the result then has ``interrupted=True``.

    Raises:
        InputFileError: an unusable ``db``, or an ``npz:`` dataset file that is not a valid
            dataset (wrong keys, shapes or labels).
        SpecError: bad executor options, or ``ray`` without Ray installed (before the store
            is opened).
    """
    check_executor(sweep.executor, executor_options)
    jobs = expand(sweep)
    check_dataset_files(j.dataset for j in jobs if j.dataset)
    interrupted = False
    with open_store(db) as store:
        try:
            summary = run_sweep(jobs, store, name=sweep.name, source=sweep.source, force=force,
                                skip_failed=skip_failed, workers=sweep.workers,
                                progress=progress, executor=sweep.executor,
                                executor_options=executor_options, reraise_interrupt=False)
        finally:
            if progress is not None:
                progress.close()
        interrupted = summary.interrupted
        job_rows = store.rows([j.key for j in jobs])
    return BenchResult(
        rows=job_rows if per_seed else aggregate_rows(job_rows), job_rows=job_rows,
        jobs=len(jobs), ok=summary.ok, failed=summary.failed, skipped=len(summary.skipped),
        failed_total=sum(1 for r in job_rows if r.get("status") != "ok"),
        wall_s=summary.wall_s, overhead_s_median=summary.overhead_s_median,
        startup_s=summary.startup_s, note=summary.note, store_path=store.path,
        run_id=summary.run_id, interrupted=interrupted)


def bench(targets: str | Sequence[str] | Mapping[str, Any] | Sweep, *,
          measure: Sequence[str] | None = None, batch_sizes: Sequence[int] | None = None,
          datasets: Sequence[Any] | None = None, seeds: Sequence[int] | None = None,
          timeout_s: float | None = None, xla: bool = False,
          overrides: Mapping[str, Any] | None = None, peak: bool | None = None,
          workers: int | None = None, executor: str | None = None, db: str | None = None,
          force: bool = False, skip_failed: bool = False, per_seed: bool = False,
          progress: ProgressSink | None = None,
          executor_options: Mapping[str, Any] | None = None) -> BenchResult:
    """Benchmark architectures, each job in its own process, and keep every result.

    The Python face of ``archscale bench``. Each job (one measurement of one architecture at
    one batch size / dataset / seed) runs in its own subprocess with a timeout; a crash,
    out-of-memory kill or timeout is a failed job and the sweep goes on. A job stored as ok
    in ``db`` is skipped, so calling ``bench`` again after an interruption resumes it.

    Args:
        targets: A sweep file (``.toml``), presets / preset globs / ``.json`` spec files, a
            sweep dict or a ``Sweep`` (see ``sweep_of``).
        measure / batch_sizes / datasets / seeds / timeout_s / xla / overrides / peak /
            workers / executor: How the targets are measured (see ``sweep_of``); with a sweep
            file only ``timeout_s``, ``peak``, ``workers`` and ``executor`` may be given.
        db: The store's file (default ``archscale.db`` in the working directory).
        force: Re-measure jobs that are already stored.
        skip_failed: Do not retry jobs stored as failed (default: retry them).
        per_seed: One row per seed instead of seeds aggregated (accuracy).
        progress: Receives start/job events (``archscale.runner.progress.make_progress``);
            None runs silently.
        executor_options: Options of the executor; ``executor="ray"`` takes ``address``
            (``auto``, ``ray://host:port``), ``cpus_per_job`` and ``gpus_per_job``.

    Returns:
        A ``BenchResult``: ``rows`` (flat result rows), counts of ``ok`` / ``failed`` /
        ``skipped`` jobs, ``failed_total``, ``wall_s``, ``store_path``, ``interrupted``...

    Raises:
        SpecError / ShapeError / InputFileError: bad options, unknown presets, an invalid
            sweep file or an unusable ``db`` (before any job runs).

    Example:

    ```python
    import archscale
    result = archscale.bench(["resnet20", "mlp"], measure=["cost"], db="results.db")
    print(result.ok, result.skipped, result.rows[0]["params"])
    ```
    """
    sweep = sweep_of(targets, measure=measure, batch_sizes=batch_sizes, datasets=datasets,
                     seeds=seeds, timeout_s=timeout_s, xla=xla, overrides=overrides, peak=peak,
                     workers=workers, executor=executor)
    return run_bench(sweep, db=db, force=force, skip_failed=skip_failed, per_seed=per_seed,
                     progress=progress, executor_options=executor_options)


@dataclass(frozen=True)
class StoredResults:
    """What a store holds (``archscale bench --list``).

    Attributes:
        path: The store's file.
        rows: Flat rows (seeds aggregated unless ``per_seed``).
        runs: The store's runs, oldest first.
    """

    path: str
    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]]


def _matches(row: Mapping[str, Any], patterns: Sequence[str]) -> bool:
    names = [str(row.get(k)) for k in ("name", "preset", "family") if row.get(k)]
    return not patterns or any(match_any(patterns, n) for n in names)


def stored_results(db: str | None = None, *, patterns: Sequence[str] = (),
                   measures: Sequence[str] = (), per_seed: bool = False) -> StoredResults:
    """The rows of an existing store, filtered.

    Args:
        db: The store's file (default ``archscale.db``).
        patterns: Globs matched against name, preset and family (none: every row).
        measures: Only these measurements (none: every one).
        per_seed: One row per seed instead of seeds aggregated.

    Raises:
        InputFileError: no store at ``db``.
    """
    path = db or DEFAULT_DB
    if not os.path.exists(path):
        raise InputFileError(f"no result store at {path!r}; run a sweep first or pass --db. "
                             f"Received: --db={path!r}")
    with open_store(path) as store:
        rows = [r for r in store.rows() if _matches(r, patterns)
                and (not measures or r.get("measurement") in measures)]
        runs = store.runs()
    return StoredResults(path, rows if per_seed else aggregate_rows(rows), runs)


__all__ = ["BenchResult", "StoredResults", "arch_entry", "bench", "run_bench",
           "stored_results", "sweep_of"]
