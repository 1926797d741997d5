"""The environment a measurement was taken in: CPU, cores, library versions.

Pure Python: package versions are read with ``importlib.metadata`` (installed distribution
metadata), never by importing TensorFlow, so fingerprinting is instant and TF-free. Every
measurement record (latency calibration today, benchmark rows later) carries this dict.
"""

from __future__ import annotations

import functools
import os
import platform
from importlib import metadata
from typing import Any

from archscale.version import __version__

#: Keys that must match for a calibration measured elsewhere to be reused.
FINGERPRINT_KEYS = ("cpu_model", "cpu_count", "usable_cores", "machine", "tensorflow",
                    "archscale")


def _package_version(name: str) -> str | None:
    """Installed version of distribution ``name`` or ``None`` (no import)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo`` ``model name`` on Linux, else ``platform``).

    Returns:
        e.g. ``"Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"``; ``"unknown"`` if not found.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model", "Processor"):
                    if value.strip():
                        return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity / cgroup-restricted where known)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """A flat dict describing this machine and software stack.

    Returns:
        ``cpu_model``, ``cpu_count`` (logical CPUs), ``usable_cores`` (affinity),
        ``machine`` (``x86_64``...), ``system``, ``python``, and the installed versions of
        ``tensorflow``, ``keras`` and ``archscale`` (``None`` when not installed). TensorFlow is
        not imported.
    """
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 1,
        "usable_cores": usable_cores(),
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "tensorflow": _package_version("tensorflow") or _package_version("tensorflow-cpu"),
        "keras": _package_version("keras"),
        "archscale": __version__,
    }


def fingerprint(env: dict[str, Any] | None = None) -> dict[str, Any]:
    """The subset of ``environment()`` that identifies where a measurement is valid.

    Args:
        env: An environment dict (default: this machine's).

    Returns:
        ``{key: env[key] for key in FINGERPRINT_KEYS}``.
    """
    env = environment() if env is None else env
    return {key: env.get(key) for key in FINGERPRINT_KEYS}


def fingerprint_differences(recorded: dict[str, Any],
                            current: dict[str, Any] | None = None) -> list[str]:
    """Human-readable differences between a recorded fingerprint and this machine's.

    Args:
        recorded: A fingerprint saved with a measurement.
        current: The fingerprint to compare with (default: this machine's).

    Returns:
        One ``"key: 'recorded' != 'current'"`` string per differing key (empty when equal).
    """
    current = fingerprint() if current is None else current
    return [f"{key}: {recorded.get(key)!r} != {current.get(key)!r}"
            for key in FINGERPRINT_KEYS if recorded.get(key) != current.get(key)]
