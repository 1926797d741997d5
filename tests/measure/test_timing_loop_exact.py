"""The timing loop's control logic, exactly, on a clock that only the calls advance.

``archscale.measure.latency`` reads ``time.perf_counter``; here it reads a clock that moves
only when the timed call runs, by a duration the test chooses (multiples of 1/256 s, so every
difference and every millisecond figure is exact in floating point). The block sizes, window
sizes, stopping rules and sample counts then follow from the documented protocol and are
checked as numbers. (``test_latency_plausibility`` checks the loop against the real clock.)
No TensorFlow.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from archscale import SpecError
from archscale.measure import latency
from archscale.measure.latency import (LatencyResult, Timing, TimingStats, collect_samples,
                                       median_ci, summarize, time_calls, warm_up)

TICK = 1 / 256  # seconds; TICK * 1e3 = 3.90625 ms exactly
MS = TICK * 1e3


class Clock:
    """``perf_counter`` that advances only inside ``call``, by the next scheduled duration."""

    def __init__(self, durations):
        self.now = 1024.0  # not 0: a sum in place of a difference must show
        self.durations = durations  # a function of the call's index (0-based)
        self.calls = 0

    def perf_counter(self):
        return self.now

    def call(self):
        self.now += self.durations(self.calls)
        self.calls += 1


@pytest.fixture
def clock(monkeypatch):
    def install(durations):
        c = Clock(durations)
        monkeypatch.setattr(latency, "time", SimpleNamespace(perf_counter=c.perf_counter))
        return c
    return install


def test_timed_block_gives_each_call_in_milliseconds(clock):
    c = clock(lambda i: (i + 1) * TICK)
    assert latency._timed_block(c.call, 3) == [MS, 2 * MS, 3 * MS]
    assert latency._timed_block(c.call, 0) == [] and c.calls == 3


def test_warm_up_stops_when_two_windows_agree_within_the_tolerance(clock):
    # first call 8 ticks (31 ms) -> window int(0.05 / 0.03125) = 1 -> at least 3 calls;
    # window medians 8, 5, 4 ticks: |5 - 8| = 3 > 0.25 * 8, then |4 - 5| = 1 <= 0.25 * 5: stop
    medians = [8, 5, 4]
    c = clock(lambda i: 8 * TICK if i == 0 else medians[min((i - 1) // 3, 2)] * TICK)
    iterations, seconds = warm_up(c.call, drift_tolerance=0.25)
    assert iterations == 1 + 3 * 3 and c.calls == 10
    assert seconds == (8 + 3 * (8 + 5 + 4)) * TICK


def test_warm_up_tolerance_boundary_is_inclusive(clock):
    # windows of 4 ticks then 5 ticks: |5 - 4| = 1 == 0.25 * 4 -> stop at the second window
    c = clock(lambda i: 4 * TICK if i <= 3 else 5 * TICK)
    assert warm_up(c.call, drift_tolerance=0.25, window=3)[0] == 1 + 2 * 3
    # just outside the tolerance: a third window is needed
    c = clock(lambda i: 4 * TICK if i <= 3 else 5 * TICK)
    assert warm_up(c.call, drift_tolerance=0.2, window=3)[0] == 1 + 3 * 3


@pytest.mark.parametrize("first_s, window", [
    (0.01, 5),         # 50 ms / 10 ms
    (0.0001, 50),      # capped at 50 calls
    (1.0, 3),          # at least 3 calls
    (0.0, 50),         # a call too fast to time: the 1 us floor, then the cap
    (0.05 / 7, 7),     # 7.0 calls' worth, rounded down
    (0.05 / 6.995, 6),  # 6.995 calls' worth: rounded down, not up
])
def test_warm_up_window_is_sized_to_about_50_ms(clock, first_s, window):
    c = clock(lambda i: first_s if i == 0 else TICK)  # then constant: stops at window 2
    assert warm_up(c.call)[0] == 1 + 2 * window


def test_warm_up_gives_up_after_max_warmup_s(clock):
    c = clock(lambda i: (i + 1) * TICK)  # every call slower than the last: never settles
    iterations, seconds = warm_up(c.call, max_warmup_s=64 * TICK, window=3)
    # after the first call (1 tick) windows of 3 calls: 1, +9, +18, +27, +36 ... ticks;
    # the clock reads 1 + 9 + 18 + 27 = 55 ticks < 64, then 55 + 36 = 91 >= 64: stop
    assert iterations == 1 + 4 * 3 and seconds == 91 * TICK
    c = clock(lambda i: TICK)
    assert warm_up(c.call, max_warmup_s=0.0, window=3) == (1, TICK)


def test_warm_up_stops_at_max_warmup_s_exactly(clock):
    # 1 tick, then a window of 3 x 3 ticks: the clock reads max_warmup_s (10 ticks): stop
    c = clock(lambda i: TICK if i == 0 else 3 * TICK)
    assert warm_up(c.call, max_warmup_s=10 * TICK, window=3) == (4, 10 * TICK)


def _alternating(i):
    """Windows of 12 calls (the first call: 1 tick) alternating 1 and 2 ticks: never settles."""
    return TICK if i == 0 or ((i - 1) // 12) % 2 == 0 else 2 * TICK


def test_warm_up_default_bound_is_10_s(clock):
    iterations, seconds = warm_up(clock(_alternating).call)
    assert 10.0 <= seconds < 10.0 + 24 * TICK and (iterations - 1) % 12 == 0


def test_time_calls_defaults(clock):
    """30 samples and 1 s at least; warm-up bounded by 10 s."""
    c = clock(lambda i: TICK)
    timing = time_calls(c.call)
    # warm-up: window 12, two windows; samples: 10, then blocks of int(0.1 * 256) = 25 up to
    # 1 s = 256 calls: 260
    assert (timing.warmup_iterations, len(timing.samples_ms)) == (25, 260)
    slow = time_calls(clock(lambda i: 64 * TICK).call)  # 0.25 s a call: 30 samples bind
    assert len(slow.samples_ms) == 30
    timing = time_calls(clock(lambda i: TICK if i == 0 else _alternating(i - 1)).call)
    assert 10.0 <= timing.warmup_seconds < 10.0 + 24 * TICK


def test_collect_samples_defaults(clock):
    assert len(collect_samples(clock(lambda i: TICK).call)) == 260  # as in time_calls
    assert len(collect_samples(clock(lambda i: 64 * TICK).call)) == 30


def test_collect_samples_duration_boundary_is_inclusive(clock):
    c = clock(lambda i: TICK)
    assert len(collect_samples(c.call, min_samples=3, min_duration_s=3 * TICK)) == 3


def test_collect_samples_first_block_is_at_most_10(clock):
    # 10 first (not 11), then blocks of int(0.1 * 100) = 10 up to 100 ticks
    c = clock(lambda i: TICK)
    assert len(collect_samples(c.call, min_samples=11, min_duration_s=100 * TICK)) == 100


def test_collect_samples_of_a_slow_call_goes_one_call_at_a_time(clock):
    # a tenth of the duration is under one call: blocks of one call (at least one)
    c = clock(lambda i: TICK)
    assert len(collect_samples(c.call, min_samples=1, min_duration_s=4 * TICK)) == 4


def test_collect_samples_stops_at_a_million(clock):
    c = clock(lambda i: 0.0)  # never reaches min_duration_s
    assert len(collect_samples(c.call, min_samples=1, min_duration_s=1.0)) == 1_000_000


def test_collect_samples_meets_both_minimums_exactly(clock):
    c = clock(lambda i: TICK)
    samples = collect_samples(c.call, min_samples=30, min_duration_s=0.5)
    # blocks: 10, then 20 (to 30 samples), then 12 per block (a tenth of 0.5 s / 3.9 ms,
    # rounded down) until 0.5 s = 128 calls: 30, 42, ..., 126, 138
    assert len(samples) == 138 and samples == [MS] * 138


def test_collect_samples_stops_at_max_samples(clock):
    c = clock(lambda i: TICK)
    assert len(collect_samples(c.call, min_samples=30, min_duration_s=10.0,
                               max_samples=35)) == 35  # 10, then the 25 left
    c = clock(lambda i: TICK)
    assert len(collect_samples(c.call, min_samples=3, min_duration_s=0.0)) == 3  # one block


def test_collect_samples_blocks_follow_the_duration(clock):
    # min_samples 1: the first block is one call; then blocks of a tenth of min_duration_s
    c = clock(lambda i: TICK)
    assert len(collect_samples(c.call, min_samples=1, min_duration_s=40 * TICK)) == 41
    # 1, then int(0.1 * 40) = 4 per block: 5, 9, ..., 41 (>= 40 ticks)


def test_collect_samples_of_a_call_too_fast_to_time(clock):
    c = clock(lambda i: 0.0)  # per-call time 0: the 1e-7 s floor bounds the block
    assert len(collect_samples(c.call, min_samples=2, min_duration_s=1e-5,
                               max_samples=500)) == 500  # 2, then min(498, 10) ... to 500
    assert c.calls == 500


def test_time_calls_times_trace_warm_up_and_samples(clock):
    c = clock(lambda i: 100 * TICK if i == 0 else TICK)
    timing = time_calls(c.call, min_samples=5, min_duration_s=0.0, max_warmup_s=10.0)
    # trace 100 ticks; warm-up: first call 1 tick -> window int(0.05 * 256) = 12, two
    # windows (constant) -> 25 calls; samples: one block of 5
    assert timing == Timing(100 * MS, 25, 25 * TICK, (MS,) * 5)
    assert c.calls == 1 + 25 + 5


def test_time_calls_passes_its_settings_on(clock):
    c = clock(lambda i: TICK)
    timing = time_calls(c.call, min_samples=3, min_duration_s=64 * TICK, max_warmup_s=0.0)
    assert timing.warmup_iterations == 1  # max_warmup_s=0: the first call only
    assert len(timing.samples_ms) == 69  # 3 samples, then blocks of int(6.4) = 6 to >= 64

    def durations(i):  # trace, first warm-up call, a window of 4 ticks, then 5 ticks
        return TICK if i <= 1 else 4 * TICK if i <= 13 else 5 * TICK

    # windows of 12 calls: 4 then 5 ticks agree within 0.25, not within the default 0.03
    loose = time_calls(clock(durations).call, min_samples=1, min_duration_s=0.0,
                       drift_tolerance=0.25)
    strict = time_calls(clock(durations).call, min_samples=1, min_duration_s=0.0)
    assert (loose.warmup_iterations, strict.warmup_iterations) == (1 + 2 * 12, 1 + 3 * 12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_samples=0), "min_samples must be a positive int. Received: min_samples=0"),
    (dict(min_samples=True), "min_samples must be a positive int. Received: min_samples=True"),
    (dict(min_samples=2.0), "min_samples must be a positive int. Received: min_samples=2.0"),
    (dict(min_duration_s=-1.0),
     "min_duration_s must be a non-negative number. Received: min_duration_s=-1.0"),
    (dict(max_warmup_s="x"),
     "max_warmup_s must be a non-negative number. Received: max_warmup_s='x'"),
    (dict(max_warmup_s=False),
     "max_warmup_s must be a non-negative number. Received: max_warmup_s=False"),
])
def test_time_calls_messages(kwargs, message):
    with pytest.raises(SpecError) as info:
        time_calls(lambda: None, **kwargs)
    assert str(info.value) == message


def test_time_calls_accepts_zero_durations_and_ints(clock):
    c = clock(lambda i: TICK)
    timing = time_calls(c.call, min_samples=1, min_duration_s=0, max_warmup_s=0)
    assert (timing.warmup_iterations, len(timing.samples_ms)) == (1, 1)


# -- statistics --------------------------------------------------------------------------------


def test_summarize_by_hand():
    stats = summarize([4.0, 1.0, 3.0, 2.0, 10.0])
    # numpy's linear percentiles of 1, 2, 3, 4, 10: p25 2, p50 3, p75 4, p90 7.6, p99 9.76
    assert (stats.min, stats.median, stats.mean, stats.iqr) == (1.0, 3.0, 4.0, 2.0)
    assert stats.p90 == pytest.approx(7.6) and stats.p99 == pytest.approx(9.76)
    assert stats.median_ci_low <= 3.0 <= stats.median_ci_high
    with pytest.raises(ValueError) as info:
        summarize([])
    assert str(info.value) == "cannot summarise zero timing samples"


def test_median_ci_of_constant_and_single_samples():
    assert median_ci(np.array([2.5, 2.5, 2.5])) == (2.5, 2.5)
    assert median_ci(np.array([7.0])) == (7.0, 7.0)
    low, high = median_ci(np.array([1.0, 2.0]))
    assert (low, high) == (1.0, 2.0)  # every resample's median is 1, 1.5 or 2


def test_median_ci_is_the_bootstrap_percentile_interval():
    """Against scipy's percentile bootstrap run here with the same seed and resamples."""
    from scipy import stats

    # an even count (medians between two samples) and a spread where the percentile interval
    # differs from scipy's default BCa one
    samples = np.random.default_rng(0).lognormal(0.0, 0.8, 40)
    expected = stats.bootstrap((samples,), np.median, n_resamples=2000, confidence_level=0.9,
                               method="percentile", rng=np.random.default_rng(0)
                               ).confidence_interval
    assert median_ci(samples, 0.9) == (float(expected.low), float(expected.high))
    assert median_ci(samples) == median_ci(samples, 0.95)
    wide, narrow = median_ci(samples, 0.99), median_ci(samples, 0.5)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


# -- the result row ----------------------------------------------------------------------------


def _stats(median):
    return TimingStats(1.0, median, 2.5, 4.0, 5.0, 0.5, median - 0.1, median + 0.1)


def test_latency_result_row():
    timing = Timing(12.0, 7, 0.25, (1.0, 2.0, 3.0))
    result = LatencyResult(8, False, "/CPU:0", timing, _stats(2.0))
    assert result.samples_per_second == 8 / 0.002
    assert result.to_row() == {
        "batch_size": 8, "xla": False, "latency_device": "/CPU:0", "latency_ms_min": 1.0,
        "latency_ms_median": 2.0, "latency_ms_mean": 2.5, "latency_ms_p90": 4.0,
        "latency_ms_p99": 5.0, "latency_ms_iqr": 0.5, "latency_ms_median_ci_low": 1.9,
        "latency_ms_median_ci_high": 2.1, "samples_per_second": 4000.0, "trace_ms": 12.0,
        "warmup_iterations": 7, "warmup_s": 0.25, "latency_sample_count": 3,
        "latency_samples": [1.0, 2.0, 3.0], "train_step_ms_median": None,
        "train_step_ms_min": None, "train_step_ms_iqr": None, "train_step_trace_ms": None}
    trained = LatencyResult(8, True, "/GPU:0", timing, _stats(2.0),
                            Timing(30.0, 3, 0.1, (9.0,)), _stats(9.0))
    row = trained.to_row()
    assert (row["train_step_ms_median"], row["train_step_ms_min"], row["train_step_ms_iqr"],
            row["train_step_trace_ms"]) == (9.0, 1.0, 0.5, 30.0)
    # stats without the timing they came from are not reported
    half = LatencyResult(8, True, "/GPU:0", timing, _stats(2.0), None, _stats(9.0))
    assert half.to_row()["train_step_ms_median"] is None


def test_batch_size_one_is_valid():
    assert latency._check_batch(1) is None and latency._check_batch(2) is None


@pytest.mark.parametrize("bad", [0, -2, True, 1.0, "4"])
def test_bad_batch_size_message(bad):
    with pytest.raises(SpecError) as info:
        latency._check_batch(bad)
    assert str(info.value) == f"batch_size must be a positive int. Received: batch_size={bad!r}"
