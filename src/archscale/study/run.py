"""Running a study: the grid through ``archscale bench``, then the searches, all into one
store and resumable (a re-run trains only what is missing).

The work directory holds the grid's spec files (``specs/``), the generated sweep
(``sweep.json``, what ``archscale bench`` ran) and the keras-tuner projects (``tune/``,
``seed_random/``); the store holds every trained model.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Sequence, TextIO

from archscale.heuristics.capacity import CapacityRule
from archscale.heuristics.difficulty import DataProbe, probe_data
from archscale.heuristics.proposal import Proposal
from archscale.heuristics.propose import propose
from archscale.measure.datasets import load_dataset
from archscale.runner.api import bench
from archscale.runner.progress import make_progress
from archscale.study.grid import grid_entries, grid_sweep
from archscale.study.results import measured_seeds
from archscale.study.searches import SearchTrial, proposal_key, run_search
from archscale.study.tasks import StudyTask

DEFAULT_DB = "dimensions.db"
DEFAULT_WORK = "dimensions_work"


_PROBES: dict[str, DataProbe] = {}


def task_probe(task: StudyTask) -> DataProbe:
    """The headroom probe of ``task``'s training data (``probe_data``, seed 0; computed once
    per dataset and process)."""
    key = json.dumps(dict(task.dataset), sort_keys=True)
    if key not in _PROBES:
        options = {k: v for k, v in task.dataset.items() if k != "name"}
        data = load_dataset(task.dataset["name"], **options)
        _PROBES[key] = probe_data(data.x_train, data.y_train)
    return _PROBES[key]


def task_proposal(task: StudyTask) -> Proposal:
    """The task's zero-shot proposal: no user budget, the capacity default scaled by the
    probed headroom of its training data (what ``archscale propose --probe`` does)."""
    return propose(task.task(), capacity=CapacityRule(headroom=task_probe(task).headroom))


def task_centre(task: StudyTask) -> Proposal:
    """The centre of ``task``'s grid: its proposal made with its ``grid_rule``'s factor at the
    probed headroom (``CapacityRule.scale``), whatever the headroom rule says today; today's
    proposal for a task without a grid rule."""
    if task.grid_rule is None:
        return task_proposal(task)
    headroom = task_probe(task).headroom
    return propose(task.task(), capacity=CapacityRule(
        headroom=headroom, scale=task.grid_rule.factor(headroom)))


def proposals(tasks: Sequence[StudyTask]) -> dict[str, Proposal]:
    """The zero-shot proposal of every task (``task_proposal``)."""
    return {t.name: task_proposal(t) for t in tasks}


def centres(tasks: Sequence[StudyTask]) -> dict[str, Proposal]:
    """The grid's centre of every task (``task_centre``)."""
    return {t.name: task_centre(t) for t in tasks}


def unmeasured(entries: list[tuple[float, dict[str, Any]]], db: str
               ) -> list[tuple[float, dict[str, Any]]]:
    """``entries`` with the seeds the store already holds under any environment it records
    left out (``results.measured_seeds``), and entries with no seed left dropped: a grid
    resumed on another machine trains only what no machine has."""
    done = measured_seeds(entries, db)
    out = []
    for cost, entry in entries:
        seeds = [s for s in entry["seeds"] if s not in done.get(entry["name"], set())]
        if seeds:
            out.append((cost, {**entry, "seeds": seeds}))
    return out


def write_sweep(tasks: Sequence[StudyTask], props: dict[str, Proposal], work: str,
                workers: int, grid_centres: dict[str, Proposal] | None = None,
                db: str | None = None) -> dict[str, Any]:
    """Write every task's grid specs (around ``grid_centres``, default ``props``), today's
    proposal where it is not the centre, and the sweep (``sweep.json``) of what ``db`` (when
    given) does not hold yet (``unmeasured``); return the sweep."""
    entries: list[tuple[float, dict[str, Any]]] = []
    for task in tasks:
        centre = (grid_centres or props)[task.name]
        entries += grid_entries(task, centre, os.path.join(work, "specs"), props[task.name])
    if db is not None:
        entries = unmeasured(entries, db)
    sweep = grid_sweep(entries, workers=workers)
    path = os.path.join(work, "sweep.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(sweep, handle, indent=2)
    os.replace(path + ".tmp", path)
    return sweep


def run_grid(tasks: Sequence[StudyTask], *, db: str = DEFAULT_DB, work: str = DEFAULT_WORK,
             workers: int = 2, stream: TextIO | None = None) -> Any:
    """Train every grid point of ``tasks`` on its seeds, and today's proposal where it is not
    the grid's centre (``archscale.bench``); resumable.

    Returns:
        The ``BenchResult`` (``None`` when every seed is measured already).
    """
    os.makedirs(work, exist_ok=True)
    sweep = write_sweep(tasks, proposals(tasks), work, workers, centres(tasks), db)
    if not sweep["arch"]:
        print("grid: every seed of every point is in the store, 0 to run",
              file=stream or sys.stderr, flush=True)
        return None
    return bench(sweep, db=db, progress=make_progress(stream or sys.stderr, live=False))


def _search_job(args: tuple[StudyTask, str, int, str, str]) -> list[dict[str, Any]]:
    task, search, seed, db, work = args
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from archscale.measure.tensorflow_import import import_tensorflow

    import_tensorflow()
    started = time.perf_counter()
    proposal = task_proposal(task)
    trials = run_search(task, proposal, search, seed, db=db, work=work)
    print(f"search {task.name} {search} seed {seed}: {len(trials)} trials in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    rows = [t.to_dict() for t in trials]
    _write_json(search_file(work, task.name, search, seed, proposal_key(proposal)), rows)
    return rows


def search_file(work: str, task: str, search: str, seed: int, key: str) -> str:
    """Where one finished search's trials are written
    (``searches/<task>_<search>_<seed>_<proposal key>.json``)."""
    return os.path.join(work, "searches", f"{task}_{search}_{seed}_{key}.json")


def _write_json(path: str, obj: Any) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=1)
    os.replace(path + ".tmp", path)


def stored_searches(tasks: Sequence[StudyTask], props: dict[str, Proposal],
                    work: str) -> list[SearchTrial]:
    """The trials of every finished search of ``tasks`` made for today's proposals ``props``
    (those with a file)."""
    out: list[SearchTrial] = []
    for task in tasks:
        key = proposal_key(props[task.name])
        for search in task.searches:
            for seed in task.search_seeds:
                path = search_file(work, task.name, search, seed, key)
                if os.path.exists(path):
                    with open(path, encoding="utf-8") as handle:
                        out += [SearchTrial(**row) for row in json.load(handle)]
    return out


def run_searches(tasks: Sequence[StudyTask], *, db: str = DEFAULT_DB,
                 work: str = DEFAULT_WORK, workers: int = 2) -> list[SearchTrial]:
    """Run (or resume) every task's searches, ``workers`` at a time, each in its own process
    (TensorFlow keeps memory for the life of a process). Trials are written to ``db`` as they
    finish, and each finished search's trials to ``search_file(...)``.

    Returns:
        Every search's trials.
    """
    # search seed by search seed, so a partial run already compares every search
    jobs = [(t, s, seed, db, work) for t in tasks for seed in t.search_seeds for s in t.searches]
    out: list[SearchTrial] = []
    if jobs:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 max_tasks_per_child=1) as pool:
            for rows in pool.map(_search_job, jobs):
                out += [SearchTrial(**r) for r in rows]
    return out
