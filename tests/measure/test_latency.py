"""Latency harness, statistics, machine-peak probe and environment record.

Timings on a shared machine are noisy, so nothing here asserts an absolute time; only the
protocol (sample counts, durations as lower bounds, ordering of the statistics, stable keys).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import archscale
from archscale import SpecError
from archscale.measure.latency import collect_samples, median_ci, summarize, time_calls

ROW_KEYS = {
    "batch_size", "xla", "latency_ms_min", "latency_ms_median", "latency_ms_mean",
    "latency_ms_p90", "latency_ms_p99", "latency_ms_iqr", "latency_ms_median_ci_low",
    "latency_ms_median_ci_high", "samples_per_second", "trace_ms", "warmup_iterations",
    "latency_samples", "train_step_ms_median",
}


@pytest.mark.parametrize("samples", [
    [1.0, 2.0, 3.0, 4.0, 100.0],
    list(np.random.default_rng(1).lognormal(0.0, 0.3, 500)),
    [2.5] * 7,
])
def test_summarize_matches_numpy(samples):
    stats = summarize(samples)
    arr = np.asarray(samples)
    assert stats.min == arr.min() and stats.mean == pytest.approx(arr.mean())
    assert stats.median == np.median(arr)
    assert stats.p90 == pytest.approx(np.percentile(arr, 90))
    assert stats.p99 == pytest.approx(np.percentile(arr, 99))
    assert stats.iqr == pytest.approx(np.percentile(arr, 75) - np.percentile(arr, 25))
    assert stats.median_ci_low <= stats.median <= stats.median_ci_high
    assert summarize(samples) == stats  # seeded bootstrap: reproducible


def test_median_ci_narrows_with_more_samples():
    rng = np.random.default_rng(0)
    small, large = rng.normal(10, 1, 50), rng.normal(10, 1, 5000)
    width = [np.subtract(*median_ci(s)[::-1]) for s in (small, large)]
    assert width[1] < width[0]
    assert median_ci(np.array([3.0])) == (3.0, 3.0)


def test_summarize_rejects_empty():
    with pytest.raises(ValueError, match="zero"):
        summarize([])


@pytest.mark.parametrize("min_samples, min_duration_s", [(25, 0.0), (3, 0.05)])
def test_collect_samples_meets_both_minimums(min_samples, min_duration_s):
    start = time.perf_counter()
    samples = collect_samples(lambda: time.sleep(0.001), min_samples=min_samples,
                              min_duration_s=min_duration_s)
    assert len(samples) >= min_samples
    assert time.perf_counter() - start >= min_duration_s
    assert all(s >= 1.0 for s in samples)  # ms; sleep(1 ms) never takes less


def test_time_calls_times_the_first_call_separately():
    calls = []

    def call():
        calls.append(1)
        time.sleep(0.05 if len(calls) == 1 else 0.0005)

    timing = time_calls(call, min_samples=10, min_duration_s=0.0, max_warmup_s=1.0)
    assert timing.trace_ms >= 50.0
    assert len(timing.samples_ms) >= 10
    assert len(calls) == 1 + timing.warmup_iterations + len(timing.samples_ms)
    assert max(timing.samples_ms) < timing.trace_ms


@pytest.mark.parametrize("kwargs, field", [
    (dict(min_samples=0), "min_samples"), (dict(min_duration_s=-1.0), "min_duration_s"),
    (dict(max_warmup_s="x"), "max_warmup_s"),
])
def test_time_calls_rejects_bad_settings(kwargs, field):
    with pytest.raises(SpecError, match=field):
        time_calls(lambda: None, **kwargs)


@pytest.mark.tf
@pytest.mark.parametrize("batch_size, xla, training_step", [
    (1, False, False), (8, True, True),
])
def test_measure_latency_on_a_spec(batch_size, xla, training_step):
    from archscale.measure.latency import measure_latency

    result = measure_latency(archscale.preset("mnist1d_cnn"), batch_size, xla=xla,
                             min_samples=20, min_duration_s=0.2, max_warmup_s=1.0,
                             training_step=training_step)
    row = result.to_row()
    assert ROW_KEYS <= set(row)
    assert (row["batch_size"], row["xla"], row["latency_device"]) == (batch_size, xla,
                                                                       "/CPU:0")
    assert len(row["latency_samples"]) == row["latency_sample_count"] >= 20
    assert row["latency_ms_min"] <= row["latency_ms_median"] <= row["latency_ms_p90"] \
        <= row["latency_ms_p99"]
    assert row["latency_ms_median_ci_low"] <= row["latency_ms_median"] \
        <= row["latency_ms_median_ci_high"]
    assert row["samples_per_second"] == pytest.approx(
        batch_size * 1e3 / row["latency_ms_median"])
    assert row["trace_ms"] > 0 and row["warmup_iterations"] >= 1
    assert (row["train_step_ms_median"] is not None) == training_step


@pytest.mark.tf
def test_measure_latency_on_a_keras_model_and_bad_batch():
    import keras

    from archscale.measure.latency import measure_latency

    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    row = measure_latency(model, 2, min_samples=5, min_duration_s=0.0, max_warmup_s=0.2,
                          training_step=True).to_row()
    assert row["latency_sample_count"] >= 5 and row["train_step_ms_median"] > 0
    with pytest.raises(SpecError, match="batch_size"):
        measure_latency(model, 0)
    with pytest.raises(SpecError, match="optimizer"):
        measure_latency(model, 1, min_samples=1, min_duration_s=0.0, max_warmup_s=0.0,
                        training_step=True, optimizer="lbfgs")


@pytest.mark.tf
def test_machine_peak_probe():
    from archscale.measure.peak import machine_peak_gflops

    row = machine_peak_gflops(256, repeats=2)
    assert row["machine_peak_gflops"] > 0 and row["machine_peak_matmul_size"] == 256
    assert row["machine_peak_gflops"] == pytest.approx(
        2 * 256 ** 3 / row["machine_peak_seconds"] / 1e9)
    with pytest.raises(SpecError, match="size"):
        machine_peak_gflops(0)


@pytest.mark.tf
def test_record_environment_and_device():
    from archscale.measure.device import ram_bytes, record_environment, select_device

    env = record_environment(xla=True, dtype="float32")
    assert all(key.startswith("env_") for key in env)
    assert {"env_cpu_model", "env_usable_cores", "env_tensorflow", "env_keras",
            "env_archscale", "env_ram_bytes", "env_gpu_name", "env_tf_intra_op_threads",
            "env_tf_inter_op_threads"} <= set(env)
    assert env["env_xla"] is True and env["env_dtype"] == "float32"
    assert env["env_ram_bytes"] == ram_bytes() > 0
    assert select_device() == "/CPU:0" and env["env_gpu_name"] is None  # no GPU in tests
