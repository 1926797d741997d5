"""Resumable benchmark runs: sweep files, jobs, the worker subprocess, the SQLite store.

The flow (``archscale bench`` is a thin layer over it)::

    sweep = load_sweep("bench/sweeps/catalogue.toml")      # sweep.py: TOML -> Variants
    jobs = expand(sweep)                                   # jobs.py: Variants -> keyed Jobs
    with Store("archscale.db") as store:                   # store.py: SQLite, WAL
        summary = run_sweep(jobs, store)                   # executor.py: one subprocess a job
        rows = aggregate_rows(store.rows([j.key for j in jobs]))   # rows.py: flat rows

Nothing here imports TensorFlow; the worker (``python -m archscale.runner.worker``) does, for
the measurements that need it. See ``sweep.py`` for the sweep file format, ``store.py`` for the
schema and ``measurements.py`` for the measurements and their settings.
"""

from __future__ import annotations

from archscale.runner.executor import Outcome, RunSummary, plan, run_sweep, run_worker
from archscale.runner.jobs import Job, expand, job_key, key_environment
from archscale.runner.measurements import MEASUREMENTS, measure_cost, measurement_names
from archscale.runner.rows import aggregate_rows, make_row
from archscale.runner.store import DEFAULT_DB, Store, open_store
from archscale.runner.sweep import Sweep, Variant, load_sweep, sweep_from_dict

__all__ = [
    "DEFAULT_DB", "Job", "MEASUREMENTS", "Outcome", "RunSummary", "Store", "Sweep", "Variant",
    "aggregate_rows", "expand", "job_key", "key_environment", "load_sweep", "make_row",
    "measure_cost", "measurement_names", "open_store", "plan", "run_sweep", "run_worker",
    "sweep_from_dict",
]
