"""The ``Executor`` protocol and ``make_executor`` (by name from ``executors.EXECUTORS``)."""

from __future__ import annotations

from typing import Any, Mapping, Protocol

from archscale.errors import SpecError
from archscale.runner.executors import AUTO, EXECUTORS, resolve_executor
from archscale.runner.jobs import Job
from archscale.runner.outcome import Outcome


class Executor(Protocol):
    """Runs one job in its own process; ``run`` may be called from two threads at once.

    Attributes:
        name: The table name (``fork``, ``spawn``).
        startup_s: One-off start-up spent so far (e.g. fork servers importing TensorFlow).
        note: A remark for the user (e.g. a fork server fell back to spawn), or None.
        slots: (optional) Jobs it can run at once (``ray``: what the cluster has room for);
            ``scheduler.run_sweep`` runs that many non-exclusive jobs at once. Default 1.
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


def check_executor(name: str = AUTO, options: Mapping[str, Any] | None = None) -> None:
    """Validate an executor name and its options without starting anything (the module's
    ``check_options``, e.g. that Ray is installed), so bad input fails before any file is
    written.

    Args:
        name: ``auto`` or a key of ``EXECUTORS``.
        options: Keyword options of the executor (``ExecutorKind.options``).

    Raises:
        ValueError: an unknown name.
        SpecError: an option the executor does not take, or a bad option value.
    """
    resolved = resolve_executor(name)
    options = dict(options or {})
    kind = EXECUTORS[resolved] if name != AUTO else None
    for key in options:
        if kind is None or key not in kind.options:
            takers = [k.name for k in EXECUTORS.values() if key in k.options]
            raise SpecError(f"{key} applies only to the executor {' or '.join(takers) or '-'}. "
                            f"Received: {key}={options[key]!r} with executor={name!r}")
    if kind is not None:
        check = getattr(kind.load(), "check_options", None)
        if check is not None:
            check(**options)


def make_executor(name: str = AUTO, env: Mapping[str, str] | None = None,
                  options: Mapping[str, Any] | None = None) -> Executor:
    """A new executor by table name (or ``auto``).

    Args:
        name: ``auto`` or a key of ``EXECUTORS``.
        env: Environment of the job processes (default: this process's).
        options: Keyword options of the executor (``ExecutorKind.options``; ``ray``:
            ``address``, ``cpus_per_job``, ``gpus_per_job``).

    Returns:
        The executor; ``close()`` it when done.

    Raises:
        ValueError: an unknown name.
        SpecError: bad options (``check_executor``).
    """
    if options:
        check_executor(name, options)
    return EXECUTORS[resolve_executor(name)].load().EXECUTOR(env, **dict(options or {}))


__all__ = ["Executor", "check_executor", "make_executor"]
