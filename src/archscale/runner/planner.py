"""What runs: ``plan`` splits a sweep's jobs into those to run and those the store holds.

The strategy half of the runner (keras-tuner's Oracle); how each job runs is an executor's
business (``archscale.runner.executors``). Re-running a sweep after a crash or Ctrl-C resumes
it because ``plan`` skips the jobs stored as ``ok``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from archscale.runner.jobs import Job
from archscale.runner.store import Store


class Plan(NamedTuple):
    """The jobs to run and those to skip, each in sweep order (unpacks as ``todo, skip``).

    Attributes:
        todo: Jobs that run in this run.
        skip: Jobs the store already holds (and that are not re-run).
    """

    todo: list[Job]
    skip: list[Job]


def plan(jobs: Sequence[Job], store: Store, *, force: bool = False,
         skip_failed: bool = False) -> Plan:
    """Split jobs into ``(to run, to skip)`` by what the store holds.

    A job stored as ``ok`` is skipped; one stored as ``failed`` is run again unless
    ``skip_failed``; ``force`` runs every job (replacing stored results).

    Args:
        jobs: The sweep's jobs (``jobs.expand``).
        store: The store.
        force: Run every job.
        skip_failed: Do not re-run jobs whose stored result is ``failed``.

    Returns:
        The ``Plan``.
    """
    stored = {} if force else store.statuses(j.key for j in jobs)
    todo, skip = [], []
    for job in jobs:
        status = stored.get(job.key)
        if status is None or (status == "failed" and not skip_failed):
            todo.append(job)
        else:
            skip.append(job)
    return Plan(todo, skip)
