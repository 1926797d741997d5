"""How a job gets its own process: the ``Executor`` protocol and the table of executors.

``archscale.runner.planner.plan`` decides WHAT runs; an executor (the ``Executor`` protocol in
``executors.base``) decides HOW one job runs and returns its ``Outcome`` (as keras-tuner's
Oracle decides the trials and its Tuner runs them).
``archscale.runner.scheduler.run_sweep`` feeds the planned jobs to one executor, one or two at
a time, and stores the outcomes.

``EXECUTORS`` is the one table: the CLI's ``--executor`` choices, the sweep file's
``executor`` key and ``make_executor`` all read it. A row names its module; the module is
imported only when that executor is made (so an executor's own heavy import, such as Ray, costs
nothing to the others), and it provides ``EXECUTOR`` (a class or factory ``(env) -> Executor``)
and, if ``auto`` may pick it, ``auto_available() -> bool``. ``auto`` picks the first such row
whose ``auto_available()`` is true. A new executor is one module under ``executors/`` plus one
row here. This module imports no executor (the sweep file's validation reads the table).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

AUTO = "auto"


@dataclass(frozen=True)
class ExecutorKind:
    """One row of ``EXECUTORS``.

    Attributes:
        name: What ``--executor`` and the sweep's ``executor`` key accept.
        module: The module with ``EXECUTOR`` (``EXECUTOR(env) -> Executor``; ``env`` is the
            job processes' environment or None) and, for ``auto``, ``auto_available()``.
        summary: One phrase for the ``--executor`` help.
        auto: Whether ``auto`` may pick it (where its ``auto_available()`` is true).
        options: The keyword options ``EXECUTOR(env, **options)`` takes (the module's
            ``check_options(**options)`` validates them before any job runs).
    """

    name: str
    module: str
    summary: str
    auto: bool = False
    options: tuple[str, ...] = ()

    def load(self) -> ModuleType:
        """The imported module."""
        return importlib.import_module(self.module)


EXECUTORS: dict[str, ExecutorKind] = {kind.name: kind for kind in (
    ExecutorKind("fork", "archscale.runner.executors.fork",
                 "TensorFlow jobs fork from a server that imported TensorFlow once", auto=True),
    ExecutorKind("spawn", "archscale.runner.executors.spawn", "a fresh interpreter per job",
                 auto=True),
    ExecutorKind("ray", "archscale.runner.executors.ray",
                 "each job a Ray task on a local instance or a cluster (--address); "
                 "pip install 'archscale[ray]'",
                 options=("address", "cpus_per_job", "gpus_per_job")),
)}


def executor_choices() -> tuple[str, ...]:
    """Every accepted name: ``auto`` first, then the table's (read when called)."""
    return (AUTO, *EXECUTORS)


#: What ``auto`` means, for help texts.
AUTO_SUMMARY = "fork on Linux without a GPU"


def resolve_executor(name: str) -> str:
    """The table name ``name`` stands for (``auto``: the first ``auto`` row whose module's
    ``auto_available()`` is true).

    Raises:
        ValueError: ``name`` is not in ``executor_choices()``.
    """
    if name not in executor_choices():
        raise ValueError(f"executor must be one of {', '.join(executor_choices())}. "
                         f"Received: executor={name!r}")
    if name != AUTO:
        return name
    return next(k.name for k in EXECUTORS.values() if k.auto and k.load().auto_available())


def executor_help() -> str:
    """The ``--executor`` help text, from the table."""
    ways = ", ".join(f"{k.name} ({k.summary})" for k in EXECUTORS.values())
    return f"how each job gets its own process: {ways}; default {AUTO} = {AUTO_SUMMARY}"


__all__ = ["AUTO", "AUTO_SUMMARY", "EXECUTORS", "ExecutorKind", "executor_choices",
           "executor_help", "resolve_executor"]
