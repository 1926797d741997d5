"""Resumable benchmark runs: sweep files, jobs, the plan, executors, the SQLite store.

The flow (``archscale.bench`` / ``archscale bench`` is a thin layer over it, in ``api.py``)::

    sweep = load_sweep("bench/sweeps/catalogue.toml")      # sweep.py: TOML -> Variants
    jobs = expand(sweep)                                   # jobs.py: Variants -> keyed Jobs
    with Store("archscale.db") as store:                   # store.py: SQLite, WAL
        summary = run_sweep(jobs, store)                   # scheduler.py: plan + executor
        rows = aggregate_rows(store.rows([j.key for j in jobs]))   # rows.py: flat rows

``run_sweep`` asks ``planner.plan`` what to run (strategy) and hands each job to an executor
(``executors/``: ``spawn``, ``fork``; one table, ``executors.EXECUTORS``), which runs it in
its own process. Nothing here imports TensorFlow; the worker (``python -m
archscale.runner.worker``) does, for the measurements that need it. See ``sweep.py`` for the
sweep file format, ``store.py`` for the schema and ``measurements.py`` for the measurements
and their settings.
"""

from __future__ import annotations

from archscale.runner.api import (BenchResult, StoredResults, bench, run_bench, stored_results,
                                  sweep_of)
from archscale.runner.executors import EXECUTORS, executor_choices, resolve_executor
from archscale.runner.executors.base import Executor, make_executor
from archscale.runner.executors.spawn import run_worker
from archscale.runner.jobs import Job, expand, job_key, key_environment
from archscale.runner.measurements import MEASUREMENTS, measure_cost, measurement_names
from archscale.runner.outcome import Outcome
from archscale.runner.planner import Plan, plan
from archscale.runner.rows import aggregate_rows, make_row
from archscale.runner.scheduler import RunSummary, run_sweep
from archscale.runner.store import DEFAULT_DB, Store, open_store
from archscale.runner.sweep import Sweep, Variant, load_sweep, sweep_from_dict

__all__ = [
    "BenchResult", "DEFAULT_DB", "EXECUTORS", "Executor", "Job", "MEASUREMENTS", "Outcome",
    "Plan", "RunSummary", "Store", "StoredResults", "Sweep", "Variant", "aggregate_rows",
    "bench", "executor_choices", "expand", "job_key", "key_environment", "load_sweep",
    "make_executor", "make_row", "measure_cost", "measurement_names", "open_store", "plan",
    "resolve_executor", "run_bench", "run_sweep", "run_worker", "stored_results",
    "sweep_from_dict", "sweep_of",
]
