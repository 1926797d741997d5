"""Machine-peak probe: the GFLOP/s of a large dense matmul on the measuring device.

Reports divide a model's achieved FLOP/s (``flops x batch / latency``) by this number to show
what fraction of the machine a model uses. The probe runs a chain of ``chain`` matmuls of
``size x size`` matrices inside one ``tf.function`` (a chain, not repeats of one product, so no
graph optimisation can merge them; the matrix is scaled by ``1/sqrt(size)`` so values stay
bounded), takes the best of ``repeats`` timed calls after one warm-up call, and counts
``2 x size**3`` FLOPs per matmul.
"""

from __future__ import annotations

import time
from typing import Any

from archscale.errors import SpecError
from archscale.measure.device import select_device

#: Defaults per device kind: (matmul size, matmuls per call).
DEFAULTS = {"CPU": (2048, 1), "GPU": (8192, 8)}


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{name} must be a positive int. Received: {name}={value!r}")


def machine_peak_gflops(size: int | None = None, *, dtype: str = "float32", repeats: int = 5,
                        chain: int | None = None) -> dict[str, Any]:
    """Best-of-``repeats`` GFLOP/s of ``size x size`` matmuls on ``select_device()``.

    Args:
        size: Matrix side (default 2048 on a CPU, 8192 on a GPU).
        dtype: ``'float32'`` (default), ``'float16'``, ``'bfloat16'`` or ``'float64'``.
        repeats: Timed calls; the fastest counts.
        chain: Matmuls per call (default 1 on a CPU, 8 on a GPU, to hide launch overhead).

    Returns:
        ``{"machine_peak_gflops", "machine_peak_matmul_size", "machine_peak_dtype",
        "machine_peak_seconds" (best seconds per matmul), "machine_peak_chain",
        "machine_peak_device"}``.

    Raises:
        SpecError: non-positive size, repeats or chain, or an unknown dtype.
    """
    import tensorflow as tf

    device = select_device()
    default_size, default_chain = DEFAULTS["GPU" if "GPU" in device else "CPU"]
    size = default_size if size is None else size
    chain = default_chain if chain is None else chain
    for name, value in (("size", size), ("repeats", repeats), ("chain", chain)):
        _check_positive(name, value)
    if dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise SpecError("dtype must be one of float16, bfloat16, float32, float64. "
                        f"Received: dtype={dtype!r}")
    with tf.device(device):
        gen = tf.random.Generator.from_seed(0)
        a = tf.cast(gen.normal((size, size)) / size ** 0.5, dtype)
        b = tf.cast(gen.normal((size, size)), dtype)

        @tf.function
        def product(a, b):
            c = b
            for _ in range(chain):
                c = tf.matmul(a, c)
            return tf.reduce_sum(tf.cast(c[:1, :1], tf.float32))

        product(a, b).numpy()  # trace and warm up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            product(a, b).numpy()
            best = min(best, time.perf_counter() - start)
    per_matmul = best / chain
    return {
        "machine_peak_gflops": 2.0 * size ** 3 / per_matmul / 1e9,
        "machine_peak_matmul_size": size,
        "machine_peak_dtype": dtype,
        "machine_peak_seconds": per_matmul,
        "machine_peak_chain": chain,
        "machine_peak_device": device,
    }
