"""How the worker runs each measurement (worker side only: imports the ``measure`` layer).

``run_measurement`` is called inside a job's process (``archscale.runner.worker``); the parent
reads only the table in ``archscale.runner.measurements``, so it never imports ``measure``
(or numpy). ``prepare_environment`` sets what a measurement needs before TensorFlow loads.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any, Callable, Mapping

from archscale.errors import InputFileError
from archscale.measure.accuracy import measure_accuracy
from archscale.measure.datasets import load_dataset
from archscale.measure.device import MEMORY_ENV
from archscale.measure.latency import measure_latency
from archscale.measure.memory import measure_memory
from archscale.measure.peak import machine_peak_gflops
from archscale.runner.dataset_entries import NPZ_PREFIX, file_sha256
from archscale.runner.measurements import get_measurement, measure_cost
from archscale.training_recipe import recipe_from_dict


def open_dataset(desc: Mapping[str, Any]) -> Any:
    """Load a dataset described by ``dataset_entries.parse_dataset``.

    Raises:
        InputFileError: the ``npz`` file changed since the sweep was expanded.
        ArchscaleError: whatever ``load_dataset`` raises for bad options or data.
    """
    name = desc["name"]
    if "sha256" in desc and file_sha256(name[len(NPZ_PREFIX):]) != desc["sha256"]:
        raise InputFileError(f"dataset file changed while the sweep ran. Received: {name!r}")
    return load_dataset(name, **dict(desc.get("options") or {}))


def recipe_for(settings: Mapping[str, Any]) -> Any:
    """The ``Recipe`` of an accuracy job (its settings carry every field; worker side)."""
    return recipe_from_dict(settings["recipe"])


def _run_latency(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    return measure_latency(spec, batch_size=settings["batch_size"], xla=settings["xla"],
                           min_samples=settings["min_samples"],
                           min_duration_s=settings["min_duration_s"],
                           max_warmup_s=settings["max_warmup_s"],
                           training_step=settings["training_step"]).to_row()


def _run_peak(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    return dict(machine_peak_gflops(settings["size"] or None, dtype=settings["dtype"],
                                    repeats=settings["repeats"]))


def _run_memory(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    # The worker is a fresh process started with the allocator settings that memory
    # statistics need (prepare_environment): measure_memory measures in it.
    return measure_memory(spec, batch_size=settings["batch_size"],
                          optimizer=settings["optimizer"],
                          backend=settings.get("backend")).to_row()


def _run_accuracy(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    return measure_accuracy(spec, open_dataset(job["dataset"]), seeds=(job["seed"],),
                            recipe=recipe_for(settings)).to_row()


def _run_cost(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    return measure_cost(spec, settings["batch_size"], dtype=settings["dtype"],
                        optimizer=settings["optimizer"])


def _run_sleep(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    time.sleep(settings["seconds"])
    return {**measure_cost(spec, settings["batch_size"]), "slept_s": settings["seconds"]}


#: Address space the test-only ``memory`` crash may grow by before allocations fail.
CRASH_MEMORY_LIMIT_BYTES = 256 * 2**20


def _exceed_memory() -> None:
    """Cap this process's address space (``RLIMIT_AS``) at its size now plus
    ``CRASH_MEMORY_LIMIT_BYTES``, then allocate 64 MiB blocks until an allocation fails."""
    import resource  # noqa: PLC0415 - POSIX only, test-only path

    with open("/proc/self/statm", encoding="ascii") as handle:
        size = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + CRASH_MEMORY_LIMIT_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    blocks = []
    try:
        while True:
            blocks.append(bytearray(64 * 2**20))
    except MemoryError:
        blocks.clear()
        raise MemoryError(f"out of memory: the worker's address space is limited to "
                          f"{CRASH_MEMORY_LIMIT_BYTES >> 20} MiB more than at its start") from None


def _run_crash(spec: Any, settings: dict[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    """Test-only: print noise on stdout and stderr, then exit with ``code`` (mode ``exit``),
    die by SIGKILL as the out-of-memory killer would (``signal``), by SIGSEGV as a native
    crash would (``segv``; no core file), raise (``raise``) or allocate past a memory limit
    set in the worker (``memory``: ``MemoryError``)."""
    print("noise on stdout that must not break the protocol", flush=True)
    print("test crash: about to die", file=sys.stderr, flush=True)
    mode = settings["mode"]
    if mode == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "segv":
        import resource  # noqa: PLC0415 - POSIX only, test-only path

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "memory":
        _exceed_memory()
    if mode == "raise":
        raise RuntimeError(f"test crash in {job.get('label')}")
    os._exit(settings["code"])


RUNNERS: dict[str, Callable[[Any, dict[str, Any], Mapping[str, Any]], dict[str, Any]]] = {
    "cost": _run_cost, "latency": _run_latency, "memory": _run_memory, "peak": _run_peak,
    "accuracy": _run_accuracy, "sleep": _run_sleep, "crash": _run_crash,
}


def prepare_environment(name: str) -> None:
    """Set the environment variables measurement ``name`` needs before TensorFlow is imported
    (memory: ``archscale.measure.device.MEMORY_ENV``, the BFC allocator on CPU, so that
    ``get_memory_info`` counts every tensor). Called by the worker first thing."""
    if name != "memory":
        return
    os.environ.update(MEMORY_ENV)


def run_measurement(spec: Any, job: Mapping[str, Any]) -> dict[str, Any]:
    """Run the job's measurement on ``spec`` and return its flat row (worker side).

    Raises:
        SpecError: the measurement is unknown or test-only and not enabled.
        Exception: whatever the measurement raises (the worker records it as the error).
    """
    measurement = get_measurement(job["measurement"])
    return RUNNERS[measurement.name](spec, dict(job["settings"]), job)
