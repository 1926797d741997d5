"""The ``Executor`` protocol and ``make_executor`` (by name from ``executors.EXECUTORS``)."""

from __future__ import annotations

from typing import Mapping, Protocol

from archscale.runner.executors import AUTO, EXECUTORS, resolve_executor
from archscale.runner.jobs import Job
from archscale.runner.outcome import Outcome


class Executor(Protocol):
    """Runs one job in its own process; ``run`` may be called from two threads at once.

    Attributes:
        name: The table name (``fork``, ``spawn``).
        startup_s: One-off start-up spent so far (e.g. fork servers importing TensorFlow).
        note: A remark for the user (e.g. a fork server fell back to spawn), or None.
    """

    name: str
    startup_s: float
    note: str | None

    def run(self, job: Job) -> Outcome:
        """Run ``job`` with its timeout; a failing job is a ``failed`` outcome, not an
        exception. ``KeyboardInterrupt`` kills the job's process and propagates."""
        ...

    def kill(self) -> None:
        """SIGKILL every job process running now (Ctrl-C with several workers)."""
        ...

    def close(self) -> None:
        """Release what the executor holds (servers, pools)."""
        ...


def make_executor(name: str = AUTO, env: Mapping[str, str] | None = None) -> Executor:
    """A new executor by table name (or ``auto``).

    Args:
        name: ``auto`` or a key of ``EXECUTORS``.
        env: Environment of the job processes (default: this process's).

    Returns:
        The executor; ``close()`` it when done.

    Raises:
        ValueError: an unknown name.
    """
    return EXECUTORS[resolve_executor(name)].load().EXECUTOR(env)


__all__ = ["Executor", "make_executor"]
