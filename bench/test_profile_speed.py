"""Analytic profiling against building the Keras model and against TensorFlow's profiler.

Run with ``make bench``. The three benchmarks share the group ``resnet50-params`` so
pytest-benchmark prints them side by side; ``test_report_ratios`` prints the ratios the README
quotes (analytic target: under 5 ms and at least 100x faster than building the model).
"""

from __future__ import annotations

import statistics
import time

import pytest

import archscale

SPEC = archscale.preset("resnet50")


def _analytic():
    return archscale.profile(SPEC).params


def _keras_build_and_count():
    import keras

    keras.backend.clear_session()
    return archscale.build(SPEC).count_params()


def _tf_profiler():
    import keras

    from archscale.measure.tf_profiler import profiler_mac_flops

    keras.backend.clear_session()
    return profiler_mac_flops(archscale.build(SPEC))


@pytest.mark.benchmark(group="resnet50-params")
def test_analytic_profile(benchmark):
    assert benchmark(_analytic) == 25_636_712


@pytest.mark.benchmark(group="resnet50-params")
def test_keras_build_count_params(benchmark):
    assert benchmark.pedantic(_keras_build_and_count, rounds=3, iterations=1) == 25_636_712


@pytest.mark.benchmark(group="resnet50-params")
def test_tensorflow_profiler(benchmark):
    flops = benchmark.pedantic(_tf_profiler, rounds=2, iterations=1)
    assert flops == 2 * archscale.profile(SPEC).macs


def _median_seconds(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def test_report_ratios(capsys):
    """Interleaved in one process: prints medians and ratios (no timing assertion)."""
    _keras_build_and_count()  # warm TensorFlow import and tracing caches
    analytic = _median_seconds(_analytic, 50)
    keras_build = _median_seconds(_keras_build_and_count, 3)
    profiler = _median_seconds(_tf_profiler, 2)
    with capsys.disabled():
        print(f"\nresnet50 analytic profile: {analytic * 1e3:.2f} ms; "
              f"Keras build + count_params: {keras_build * 1e3:.0f} ms "
              f"({keras_build / analytic:.0f}x); TF profiler: {profiler * 1e3:.0f} ms "
              f"({profiler / analytic:.0f}x)")
