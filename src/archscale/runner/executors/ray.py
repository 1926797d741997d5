"""The ``ray`` executor: each job is a Ray task in a fresh worker process, on any node of a
cluster (``archscale bench ... --executor ray [--address auto|ray://host:port]``).

Each job is one task of ``archscale_job`` with the job's resource request (``cpus_per_job``,
``gpus_per_job``: Ray places it on a node with that much free and sets
``CUDA_VISIBLE_DEVICES`` to its GPUs) and ``max_calls=1``, so every job gets a fresh worker
process (TensorFlow never gives memory back inside a process). The task runs the same
``archscale.runner.worker.run_job`` as a spawned worker and returns its result object, which
is read by the same ``outcome_of``, so rows are the same whichever executor ran the job; the
``env_*`` columns are recorded on the worker that ran it, plus ``env_ray_node_ip`` and
``env_ray_worker_pid``. A worker that dies (segfault, SIGKILL, a lost node) is retried
``MAX_RETRIES`` times by Ray and then recorded as ``crash``; a job's own Python error is a
``failed`` result at once (``run_job`` never raises, and ``retry_exceptions`` is off); a job
still running at its timeout is force-cancelled (``timeout``). The driver stores each result
as it arrives (``scheduler.run_sweep``), with as many jobs in flight as the cluster has room
for (``slots``). The driver's ``ARCHSCALE_*`` and ``TF_*`` variables travel with each task.

Ray is an optional dependency (``pip install 'archscale[ray]'``), imported only when this
executor is made; without it ``check_options`` raises a ``SpecError`` saying how to install
it. ``auto`` never picks this executor.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.runner.jobs import Job
from archscale.runner.outcome import Outcome, outcome_of

__all__ = ["EXECUTOR", "MAX_RETRIES", "RayExecutor", "RayOptions", "check_options",
           "import_ray"]

#: Times Ray re-runs a job whose worker process died before giving up (``crash``).
MAX_RETRIES = 2
#: Prefixes of the driver's environment variables that are set in every task's worker.
FORWARDED_PREFIXES = ("ARCHSCALE_", "TF_")
INSTALL_HINT = "pip install 'archscale[ray]' (or pip install 'ray>=2.9')"


@dataclass(frozen=True)
class RayOptions:
    """How the ``ray`` executor reaches its cluster and what each job asks for.

    Attributes:
        address: ``auto`` (the cluster started on this machine with ``ray start --head``),
            ``ray://host:port`` (Ray Client), ``host:port``, or None (``ray.init()``'s default:
            ``RAY_ADDRESS``, a cluster running on this machine, else a new local instance; an
            instance already started in this process is used).
        cpus_per_job: CPUs each job reserves (default 1; may be fractional).
        gpus_per_job: GPUs each job reserves (default 0; fractions share a GPU).
    """

    address: str | None = None
    cpus_per_job: float = 1.0
    gpus_per_job: float = 0.0


def _number(name: str, value: Any, low: float, strict: bool) -> float:
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value) and (value > low if strict else value >= low))
    if not ok:
        what = "a positive number" if strict else "a number >= 0"
        raise SpecError(f"{name} must be {what}. Received: {name}={value!r}")
    return float(value)


def check_options(address: str | None = None, cpus_per_job: float | None = None,
                  gpus_per_job: float | None = None) -> RayOptions:
    """Validate the executor's options and that Ray is installed (before any job runs).

    Args:
        address: See ``RayOptions.address``.
        cpus_per_job / gpus_per_job: See ``RayOptions`` (None: the default).

    Returns:
        The ``RayOptions``.

    Raises:
        SpecError: a malformed option, or Ray is not installed (the message says how to
            install it).
    """
    if address is not None and (not isinstance(address, str) or not address.strip()
                                or any(c.isspace() for c in address)):
        raise SpecError("address must be auto, ray://host:port or host:port. "
                        f"Received: address={address!r}")
    options = RayOptions(
        address=address,
        cpus_per_job=1.0 if cpus_per_job is None else _number("cpus_per_job", cpus_per_job,
                                                             0.0, True),
        gpus_per_job=0.0 if gpus_per_job is None else _number("gpus_per_job", gpus_per_job,
                                                             0.0, False))
    import_ray()
    return options


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        SpecError: Ray is not installed (one line saying how to install it).
    """
    try:
        import ray  # noqa: PLC0415 - optional and heavy: only when this executor is used
    except ImportError:
        raise SpecError(f"the ray executor needs Ray: {INSTALL_HINT}. "
                        "Received: executor='ray'") from None
    return ray


def archscale_job(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The Ray task (runs on a worker): run one job with ``worker.run_job`` and add where it
    ran (``env_ray_node_ip``, ``env_ray_worker_pid``)."""
    import ray  # noqa: PLC0415 - the worker has Ray

    from archscale.runner.worker import run_job  # noqa: PLC0415 - worker side only

    result = run_job(payload)
    where = {"env_ray_node_ip": ray.util.get_node_ip_address(), "env_ray_worker_pid": os.getpid()}
    if result.get("status") == "ok":
        result["environment"] = {**(result.get("environment") or {}), **where}
    return result


def forwarded_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The variables of ``env`` (default: this process's) that travel with each task."""
    source = os.environ if env is None else env
    return {k: str(v) for k, v in source.items() if k.startswith(FORWARDED_PREFIXES)}


class RayExecutor:
    """Runs every job as a Ray task (thread-safe: ``run`` blocks on its own task).

    Args:
        env: Environment whose ``ARCHSCALE_*`` / ``TF_*`` variables the tasks get (default:
            this process's).
        address / cpus_per_job / gpus_per_job: See ``RayOptions``.

    Raises:
        SpecError: bad options or Ray not installed (``check_options``).
    """

    name = "ray"

    def __init__(self, env: Mapping[str, str] | None = None, **options: Any) -> None:
        self.options = check_options(**options)
        self._ray = ray = import_ray()
        start = time.perf_counter()
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=self.options.address, log_to_driver=False,
                     include_dashboard=False, logging_level="WARNING")
        self.startup_s = time.perf_counter() - start
        self._env = {"TF_CPP_MIN_LOG_LEVEL": "2", **forwarded_env(env)}
        self._remote = ray.remote(max_calls=1, max_retries=MAX_RETRIES,
                                  retry_exceptions=False)(archscale_job)
        resources = ray.cluster_resources()
        self.slots = self._slots(resources)
        self.note = (f"ray: {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs; "
                     f"{self.slots} jobs at once ({self.options.cpus_per_job:g} CPU, "
                     f"{self.options.gpus_per_job:g} GPU each)")
        self._running: set[Any] = set()
        self._lock = threading.Lock()

    def _slots(self, resources: Mapping[str, float]) -> int:
        """Jobs that fit on the cluster at once (at least 1)."""
        fits = resources.get("CPU", 0.0) // self.options.cpus_per_job
        if self.options.gpus_per_job:
            fits = min(fits, resources.get("GPU", 0.0) // self.options.gpus_per_job)
        return max(1, int(fits))

    def run(self, job: Job) -> Outcome:
        """Run ``job`` as a Ray task and return its outcome (never raises for a failing job;
        ``KeyboardInterrupt`` cancels the task and propagates)."""
        ray = self._ray
        start = time.perf_counter()
        ref = self._remote.options(
            num_cpus=self.options.cpus_per_job, num_gpus=self.options.gpus_per_job,
            runtime_env={"env_vars": self._env}).remote(job.payload())
        with self._lock:
            self._running.add(ref)
        try:
            result = ray.get(ref, timeout=job.timeout_s)
        except ray.exceptions.GetTimeoutError:
            ray.cancel(ref, force=True)
            return Outcome("failed", error=f"timed out after {job.timeout_s:g} s",
                           error_kind="timeout", wall_s=time.perf_counter() - start)
        except ray.exceptions.RayError as exc:
            return self._failure(exc, time.perf_counter() - start)
        except BaseException:
            ray.cancel(ref, force=True)
            raise
        finally:
            with self._lock:
                self._running.discard(ref)
        wall = time.perf_counter() - start
        ok = result.get("status") == "ok"
        return outcome_of(job, 0 if ok else 1, json.dumps(result), "", wall, False)

    def _failure(self, exc: Exception, wall: float) -> Outcome:
        """A task that Ray gave up on: its worker died (after the retries), ran out of
        memory, or raised outside ``run_job`` (e.g. archscale missing on that node)."""
        exceptions = self._ray.exceptions
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()),
                     type(exc).__name__)[:500]
        if isinstance(exc, exceptions.OutOfMemoryError):
            kind, error = "killed", f"worker killed by Ray (out of memory): {first}"
        elif isinstance(exc, exceptions.RayTaskError):
            kind, error = "error", f"{type(exc.cause).__name__}: {exc.cause}"[:2000]
        else:
            kind = "crash"
            error = (f"worker died ({type(exc).__name__}, after {MAX_RETRIES} retries): "
                     f"{first}")
        return Outcome("failed", error=error, error_kind=kind, wall_s=wall)

    def kill(self) -> None:
        """Force-cancel every task running now."""
        with self._lock:
            refs = list(self._running)
        for ref in refs:
            self._ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect from Ray if this executor called ``ray.init`` (a local instance it
        started stops; a cluster stays up); an instance the caller started stays."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


#: What ``executors.make_executor`` builds for ``ray``.
EXECUTOR = RayExecutor
