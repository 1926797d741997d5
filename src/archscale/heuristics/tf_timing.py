"""TensorFlow timing used by the latency calibration and by ``propose --verify``.

The only module of ``archscale.heuristics`` that imports TensorFlow; it is imported lazily,
only when calibrating or verifying. Every timing runs the Keras model inside a
``tf.function`` (inference, ``training=False``), warms it up, then samples until both a
minimum number of samples and a minimum duration are reached, and reports the median.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

from archscale.specs import ArchSpec


def time_call(fn: Callable[[], Any], *, warmup: int = 3, min_samples: int = 10,
              min_seconds: float = 0.2, max_samples: int = 2000) -> list[float]:
    """Wall-clock seconds of ``fn()`` after ``warmup`` calls, every sample kept.

    Args:
        fn: The call to time; its result is converted with ``.numpy()`` when it has one, so
            asynchronous execution is included.
        warmup: Untimed calls first (tracing, caches, thread pools).
        min_samples: At least this many samples...
        min_seconds: ...and at least this much total sampled time.
        max_samples: Stop here regardless.

    Returns:
        The samples in seconds.
    """
    def run() -> None:
        out = fn()
        if hasattr(out, "numpy"):
            out.numpy()

    for _ in range(warmup):
        run()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < max_samples and (len(samples) < min_samples
                                          or time.perf_counter() - started < min_seconds):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
    return samples


def _median_model_seconds(model: Any, x: Any, quick: bool) -> float:
    import tensorflow as tf

    call = tf.function(lambda inputs: model(inputs, training=False))
    samples = time_call(lambda: call(x), warmup=2 if quick else 5,
                        min_samples=5 if quick else 15, min_seconds=0.05 if quick else 0.3)
    return statistics.median(samples)


def measure_rates(batch_size: int, *, quick: bool = False) -> dict[str, float]:
    """Achieved rates of the reference layers at ``batch_size``.

    Reference layers (channels-last, float32, no bias): Conv2D 64->64 3x3 on 28x28,
    DepthwiseConv2D 3x3 on 28x28x256, Dense 2048->2048, ReLU on 56x56x64, and a chain of 32
    ReLUs on an 8-element tensor for the per-layer overhead, which is subtracted from the
    others before dividing.

    Args:
        batch_size: Batch size.
        quick: Shorter timing runs.

    Returns:
        ``conv_gflops``, ``depthwise_gflops``, ``dense_gflops``, ``elementwise_gelements`` and
        ``overhead_ms``.
    """
    import keras
    import tensorflow as tf

    b = batch_size

    def seconds(layers: list[Any], shape: tuple[int, ...]) -> float:
        model = keras.Sequential([keras.Input(shape), *layers])
        x = tf.random.normal((b, *shape))
        return _median_model_seconds(model, x, quick)

    chain = 32
    overhead = seconds([keras.layers.Activation("relu") for _ in range(chain)], (8,)) / chain
    conv = seconds([keras.layers.Conv2D(64, 3, padding="same", use_bias=False)], (28, 28, 64))
    dw = seconds([keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)],
                 (28, 28, 256))
    dense = seconds([keras.layers.Dense(2048, use_bias=False)], (2048,))
    elem = seconds([keras.layers.Activation("relu")], (56, 56, 64))

    def rate(work: float, t: float) -> float:
        return work / max(t - overhead, 0.1 * t) / 1e9

    return {
        "conv_gflops": rate(2 * b * 28 * 28 * 64 * 64 * 9, conv),
        "depthwise_gflops": rate(2 * b * 28 * 28 * 256 * 9, dw),
        "dense_gflops": rate(2 * b * 2048 * 2048, dense),
        "elementwise_gelements": rate(b * 56 * 56 * 64, elem),
        "overhead_ms": overhead * 1e3,
    }


def measure_latency(spec: ArchSpec, batch_size: int, *, quick: bool = False) -> dict[str, float]:
    """Build ``spec`` with Keras and measure its inference latency at ``batch_size``.

    Args:
        spec: The architecture.
        batch_size: Batch size.
        quick: Shorter timing runs.

    Returns:
        ``median_ms``, ``min_ms``, ``p90_ms`` and ``samples``.
    """
    import keras
    import tensorflow as tf

    from archscale.profiling import build

    keras.backend.clear_session()
    model = build(spec)
    x = tf.random.normal((batch_size, *spec.input_shape))
    call = tf.function(lambda inputs: model(inputs, training=False))
    samples = time_call(lambda: call(x), warmup=3 if quick else 10,
                        min_samples=5 if quick else 20, min_seconds=0.1 if quick else 1.0)
    ordered = sorted(samples)
    return {"median_ms": statistics.median(samples) * 1e3, "min_ms": ordered[0] * 1e3,
            "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1e3,
            "samples": float(len(samples))}
