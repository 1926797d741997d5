"""The environment a measurement was taken in: CPU, cores, library versions.

Pure Python: package versions are read with ``importlib.metadata`` (installed distribution
metadata), never by importing TensorFlow, so fingerprinting is instant and TF-free. Every
measurement record (latency calibration today, benchmark rows later) carries this dict.
``detect_backend`` says which kernels TensorFlow would run (oneDNN, Eigen or a GPU), decided as
TensorFlow decides, for the memory estimates and the keys of memory jobs.
"""

from __future__ import annotations

import functools
import glob
import os
import platform
import sys
from importlib import metadata
from typing import Any, Mapping

from archscale.errors import SpecError
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


# ---------------------------------------------------------------------------------------------
# Which kernels TensorFlow runs: the backend of the memory estimates
# ---------------------------------------------------------------------------------------------

#: The backends the memory model has rules for: TensorFlow's oneDNN CPU kernels, its Eigen CPU
#: kernels, and a GPU (the oneDNN rules, which model the saved tensors only, as the GPU's
#: allocator also counts them).
BACKENDS = ("onednn", "eigen", "gpu")

#: x86 CPU flags (``/proc/cpuinfo``) for which TensorFlow's Linux builds turn oneDNN on by
#: default: ``DefaultOneDnnPolicy`` in ``tensorflow/core/util/port.cc`` (AVX512_VNNI,
#: AVX512_BF16, AVX_VNNI, AMX_TILE, AMX_INT8, AMX_BF16).
ONEDNN_X86_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8",
                              "amx_bf16"})

#: ``CPU part`` of Arm Neoverse V1, the one Arm core with oneDNN on by default (same function).
NEOVERSE_V1_PART = "0xd40"

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def check_backend(value: Any, key: str = "backend") -> str:
    """``value`` lower-cased if it names a backend of ``BACKENDS``.

    Args:
        value: The name (``"oneDNN"``, ``"eigen"``, ``"gpu"``; case does not matter).
        key: Where the value was given, for the message (``--backend``).

    Returns:
        The canonical name.

    Raises:
        SpecError: anything else (the message names ``key`` and the accepted values).
    """
    name = value.lower() if isinstance(value, str) else value
    if name not in BACKENDS:
        raise SpecError(f"{key} must be one of {', '.join(BACKENDS)}. "
                        f"Received: {key}={value!r}")
    return name


@functools.lru_cache(maxsize=1)
def _cpu_fields() -> dict[str, str]:
    """The first processor's ``key: value`` lines of ``/proc/cpuinfo`` (empty off Linux)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def onednn_default(cpu: Mapping[str, str] | None = None, system: str | None = None,
                   machine: str | None = None) -> bool:
    """Whether TensorFlow's pip builds turn oneDNN on when ``TF_ENABLE_ONEDNN_OPTS`` is unset.

    TensorFlow's rule (``DefaultOneDnnPolicy``, ``tensorflow/core/util/port.cc``): on Linux,
    only CPUs with neural-network instructions (``ONEDNN_X86_FLAGS``, or an Arm Neoverse V1);
    on Windows x86, always; elsewhere (macOS), never.

    Args:
        cpu: ``/proc/cpuinfo`` fields of one processor (default: this machine's).
        system: ``platform.system()`` (default: this machine's).
        machine: ``platform.machine()`` (default: this machine's).
    """
    system = platform.system() if system is None else system
    machine = (platform.machine() if machine is None else machine).lower()
    if system == "Windows":
        return machine in ("amd64", "x86_64", "x86")
    if system != "Linux":
        return False
    cpu = dict(_cpu_fields()) if cpu is None else cpu
    flags = set(cpu.get("flags", "").split())
    return bool(flags & ONEDNN_X86_FLAGS) or cpu.get("CPU part", "").lower() == NEOVERSE_V1_PART


def onednn_from_env(env: Mapping[str, str] | None = None) -> bool | None:
    """What ``TF_ENABLE_ONEDNN_OPTS`` decides: ``True`` / ``False``, or ``None`` when unset or
    not one of ``0``, ``false``, ``1``, ``true`` (TensorFlow then keeps its default)."""
    value = (os.environ if env is None else env).get(ONEDNN_ENV, "").strip().lower()
    return {"1": True, "true": True, "0": False, "false": False}.get(value)


@functools.lru_cache(maxsize=1)
def gpu_present() -> bool:
    """Whether an NVIDIA device node exists (TensorFlow would then run on the GPU)."""
    return sys.platform.startswith("linux") and bool(glob.glob("/dev/nvidia[0-9]*"))


def detect_backend(env: Mapping[str, str] | None = None, *, gpu: bool | None = None,
                   cpu: Mapping[str, str] | None = None) -> str:
    """The backend TensorFlow would run here, decided as TensorFlow decides, without it.

    ``"gpu"`` when an NVIDIA device node exists; otherwise ``TF_ENABLE_ONEDNN_OPTS`` when it is
    ``0``/``false``/``1``/``true``, else ``onednn_default`` (the CPU's features).

    Args:
        env: Environment variables (default: ``os.environ``).
        gpu: Whether a GPU is present (default: ``gpu_present()``).
        cpu: ``/proc/cpuinfo`` fields (default: this machine's).

    Returns:
        ``"onednn"``, ``"eigen"`` or ``"gpu"``.
    """
    if gpu_present() if gpu is None else gpu:
        return "gpu"
    forced = onednn_from_env(env)
    on = onednn_default(cpu) if forced is None else forced
    return "onednn" if on else "eigen"
