"""Where measurements run (CPU or the first GPU) and the environment every record carries.

``select_device`` picks ``/GPU:0`` when TensorFlow sees a GPU, else ``/CPU:0``; the latency and
memory measurements run under that device and read allocator statistics from it.
``record_environment`` merges ``archscale.environment.fingerprint()`` (CPU model,
cores, library versions) with what only a running TensorFlow knows: RAM, GPU name, thread
settings, and the run's XLA flag and dtype.
"""

from __future__ import annotations

import os
from typing import Any

from archscale.environment import environment, fingerprint

#: Environment variables a memory-measuring process needs before TensorFlow is imported.
#: Without ``TF_CPU_ALLOCATOR_USE_BFC`` the default oneDNN CPU allocator serves allocations
#: under 256 KiB from ``malloc`` and leaves them out of ``get_memory_info('CPU:0')``.
MEMORY_ENV: dict[str, str] = {"TF_CPU_ALLOCATOR_USE_BFC": "true"}


def gpu_devices() -> list[Any]:
    """TensorFlow's physical GPU devices (empty on a CPU-only machine)."""
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def select_device() -> str:
    """``'/GPU:0'`` when TensorFlow sees a GPU, else ``'/CPU:0'``."""
    return "/GPU:0" if gpu_devices() else "/CPU:0"


def memory_device(device: str | None = None) -> str:
    """The allocator name for ``get_memory_info`` (``'GPU:0'`` / ``'CPU:0'``) of ``device``."""
    device = device or select_device()
    return device.lstrip("/")


def gpu_name() -> str | None:
    """Name of the first GPU (``'NVIDIA H100 80GB HBM3'``), or ``None`` without one."""
    gpus = gpu_devices()
    if not gpus:
        return None
    import tensorflow as tf

    try:
        details = tf.config.experimental.get_device_details(gpus[0])
    except (ValueError, RuntimeError):  # pragma: no cover - depends on the driver
        details = {}
    return str(details.get("device_name") or gpus[0].name)


def ram_bytes() -> int | None:
    """Total physical memory in bytes (``/proc/meminfo``, else ``os.sysconf``), or ``None``."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return None


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (``None``: unknown).

    ``TF_ENABLE_ONEDNN_OPTS`` decides when set; otherwise TensorFlow's default, which on x86
    turns oneDNN on only for CPUs with AVX-512 VNNI/BF16 or AMX. The kernels differ in speed
    and in the working memory their convolution gradients take (see the README's memory
    section), so every TensorFlow record carries this flag.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    probe = getattr(_pywrap_util_port, "IsMklEnabled", None)
    return bool(probe()) if probe is not None else None


def _fingerprint() -> dict[str, Any]:
    """``environment.environment()`` (CPU, cores, Python, TF/Keras/archscale versions) with
    ``environment.fingerprint()``'s keys on top."""
    return {**environment(), **fingerprint()}


def _prefixed(data: dict[str, Any]) -> dict[str, Any]:
    return {k if k.startswith("env_") else f"env_{k}": v for k, v in data.items()}


def record_environment(*, xla: bool, dtype: str) -> dict[str, Any]:
    """The environment fingerprint plus RAM, GPU, thread settings, XLA flag and dtype.

    Args:
        xla: Whether the measurement compiled with XLA (``jit_compile=True``).
        dtype: Compute dtype of the measurement (``'float32'``, ...).

    Returns:
        A flat dict whose keys all start with ``env_``: the keys of
        ``archscale.environment.environment()`` and ``fingerprint()`` (CPU model,
        logical and usable cores, machine, system, Python, TensorFlow, Keras and archscale
        versions; prefixed),
        ``env_ram_bytes``, ``env_gpu_name`` (``None`` without a GPU), ``env_device``,
        ``env_tf_intra_op_threads`` / ``env_tf_inter_op_threads`` (0 = TensorFlow's default,
        one per core), ``env_tf_cpu_allocator_bfc``, ``env_tf_onednn`` (``onednn_enabled``),
        ``env_xla`` and ``env_dtype``.
    """
    import tensorflow as tf

    row = _prefixed(_fingerprint())
    row.update({
        "env_ram_bytes": ram_bytes(),
        "env_gpu_name": gpu_name(),
        "env_device": select_device(),
        "env_tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "env_tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "env_tf_cpu_allocator_bfc":
            os.environ.get("TF_CPU_ALLOCATOR_USE_BFC", "").lower() in ("1", "true"),
        "env_tf_onednn": onednn_enabled(),
        "env_xla": bool(xla),
        "env_dtype": str(dtype),
    })
    return row
