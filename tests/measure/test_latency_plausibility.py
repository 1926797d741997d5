"""Latency values that are plausible, not only well-formed.

A harness that times nothing, or times the wrong thing, passes every protocol test in
``test_latency.py``; these fail it. Bounds are ratios and bands measured on 2-core machines,
wide enough for a loaded machine, and each says where it comes from:

- the timing loop reports what the call takes: a 3 ms sleep is timed at 3 ms or a little more;
- at batch 8, resnet20 (40.6 M MACs) takes more than 5x the time of the mlp (0.23 M MACs):
  172x the work, but the mlp's call is dominated by the ~0.4 ms fixed cost of a call, measured
  16-27x apart (oneDNN and Eigen kernels);
- resnet20's achieved rate (analytic FLOPs x batch / median latency) lies between 1 GFLOP/s
  and twice the machine's matmul peak (58-90 GFLOP/s measured against a 210 GFLOP/s peak;
  Winograd convolutions may beat the direct-convolution count, hence 2x, not 1x);
- the latency model's prediction from a (quick) calibration is within 0.4x-2.5x of the measured
  median for conv nets of 10 M+ MACs (measured 0.77-0.98x). It is NOT checked for tiny models:
  the model has no term for the fixed per-call cost, so it predicts the mlp at ~0.09 ms against
  ~0.45 ms measured.
"""

from __future__ import annotations

import statistics
import time

import pytest

import archscale
from archscale.measure.latency import time_calls

pytestmark = pytest.mark.serial  # ratios and bands of real timings: alone, after the parallel pass

BATCH = 8


def test_the_timing_loop_times_the_call():
    timing = time_calls(lambda: time.sleep(0.003), min_samples=15, min_duration_s=0.0,
                        max_warmup_s=0.2)
    median = statistics.median(timing.samples_ms)
    assert 3.0 <= median <= 9.0, median


def test_the_timing_loop_sees_the_difference_between_two_calls():
    fast = time_calls(lambda: time.sleep(0.001), min_samples=15, min_duration_s=0.0,
                      max_warmup_s=0.2)
    slow = time_calls(lambda: time.sleep(0.006), min_samples=15, min_duration_s=0.0,
                      max_warmup_s=0.2)
    assert statistics.median(slow.samples_ms) > 2.5 * statistics.median(fast.samples_ms)


@pytest.fixture(scope="module")
def latencies():
    from archscale.measure.latency import measure_latency

    specs = {"mlp": archscale.preset("mlp"), "resnet20": archscale.preset("resnet20"),
             "mobilenet_v2": archscale.preset("mobilenet_v2", input_shape=(64, 64, 3),
                                              classes=10)}
    return {name: measure_latency(spec, BATCH, min_samples=15, min_duration_s=0.3,
                                  max_warmup_s=2.0).stats.median
            for name, spec in specs.items()}


@pytest.mark.tf
def test_a_heavier_model_is_slower(latencies):
    assert latencies["resnet20"] > 5 * latencies["mlp"], latencies


@pytest.mark.tf
def test_achieved_rate_lies_between_a_floor_and_the_machine_peak(latencies):
    from archscale.measure.peak import machine_peak_gflops

    peak = machine_peak_gflops(repeats=3)["machine_peak_gflops"]
    flops = archscale.profile(archscale.preset("resnet20")).flops
    achieved = flops * BATCH / (latencies["resnet20"] / 1e3) / 1e9
    assert 1.0 <= achieved <= 2 * peak, (achieved, peak)


@pytest.mark.tf
def test_the_calibrated_latency_model_predicts_conv_nets_within_a_band(latencies):
    from archscale.heuristics.calibration import LatencyModel
    from archscale.measure.latency_calibration import run_calibration

    model = LatencyModel(run_calibration(BATCH, quick=True))
    for name, spec in (("resnet20", archscale.preset("resnet20")),
                       ("mobilenet_v2", archscale.preset("mobilenet_v2",
                                                         input_shape=(64, 64, 3),
                                                         classes=10))):
        ratio = model.predict_ms(archscale.profile(spec), BATCH) / latencies[name]
        assert 0.4 <= ratio <= 2.5, (name, ratio, latencies[name])
