"""Inference latency and throughput of a compiled ``tf.function``, every sample kept.

Protocol (``measure_latency``):

1. Build the model (a spec goes through ``archscale.build``) and a fixed random input batch
   on the measuring device (``/GPU:0`` when TensorFlow sees a GPU, else ``/CPU:0``).
2. Wrap ``model(x, training=False)`` in ``tf.function(jit_compile=xla)``; the function
   returns the sum of each output, so every output element is computed, and each timed call
   fetches that scalar to the host (``.numpy()``), which synchronises a GPU.
3. ``trace_ms`` is the wall time of the first call: tracing, graph optimisation or XLA
   compilation, and one execution.
4. Warm-up: windows of calls until the median of a window is within ``drift_tolerance`` of
   the previous window's (timings stopped drifting), or ``max_warmup_s`` has passed.
5. Samples: one ``time.perf_counter`` pair around each call, nothing else in the loop, until
   at least ``min_samples`` samples AND ``min_duration_s`` seconds.
6. Statistics with numpy; the 95 % confidence interval of the median is a percentile
   bootstrap (``scipy.stats.bootstrap``, fixed seed, so a result is reproducible from its
   samples).

The optional training step (``training_step=True``) times one compiled
``GradientTape`` forward + backward + ``optimizer.apply`` on random labels the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from archscale.errors import SpecError
from archscale.graph import Graph
from archscale.measure.device import select_device
from archscale.profiling import build
from archscale.specs import ArchSpec

#: Seed of the bootstrap and of the random input batch.
SEED = 0
#: Bootstrap resamples for the confidence interval of the median.
BOOTSTRAP_RESAMPLES = 2000


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimingStats:
    """Summary of timing samples in milliseconds."""

    min: float
    median: float
    mean: float
    p90: float
    p99: float
    iqr: float
    median_ci_low: float
    median_ci_high: float


def median_ci(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median (seeded, reproducible).

    Args:
        samples: 1-D array of timings.
        confidence: Confidence level.

    Returns:
        ``(low, high)``; both equal the sample when there is only one.
    """
    from scipy import stats

    if samples.size < 2 or np.all(samples == samples[0]):
        return float(samples[0]), float(samples[0])
    batch = max(1, int(2_000_000 // samples.size))  # bound the resample matrix (memory)
    kwargs: dict[str, Any] = dict(n_resamples=BOOTSTRAP_RESAMPLES, batch=batch,
                                  confidence_level=confidence, method="percentile",
                                  vectorized=True)
    try:
        res = stats.bootstrap((samples,), np.median, rng=np.random.default_rng(SEED), **kwargs)
    except TypeError:  # scipy < 1.15 names the seed random_state
        res = stats.bootstrap((samples,), np.median, random_state=SEED, **kwargs)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(samples_ms: Sequence[float]) -> TimingStats:
    """Min, median, mean, p90, p99, IQR and the bootstrap CI of the median.

    Raises:
        ValueError: no samples.
    """
    arr = np.asarray(samples_ms, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("cannot summarise zero timing samples")
    q25, q50, q75, q90, q99 = np.percentile(arr, [25, 50, 75, 90, 99])
    low, high = median_ci(arr)
    return TimingStats(float(arr.min()), float(q50), float(arr.mean()), float(q90), float(q99),
                       float(q75 - q25), low, high)


# ---------------------------------------------------------------------------------------------
# Timing loop
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Raw result of ``time_calls``: trace time, warm-up count and every sample (ms)."""

    trace_ms: float
    warmup_iterations: int
    warmup_seconds: float
    samples_ms: tuple[float, ...] = field(repr=False)


def _timed_block(call: Callable[[], Any], n: int) -> list[float]:
    """``n`` timed calls; a perf_counter pair per call and nothing else in the loop."""
    clock = time.perf_counter
    starts = [0.0] * n
    ends = [0.0] * n
    for i in range(n):
        starts[i] = clock()
        call()
        ends[i] = clock()
    return [(e - s) * 1e3 for s, e in zip(starts, ends)]


def warm_up(call: Callable[[], Any], *, max_warmup_s: float = 10.0,
            drift_tolerance: float = 0.03, window: int | None = None) -> tuple[int, float]:
    """Call until the median of a window of calls is within ``drift_tolerance`` of the last.

    Args:
        call: The synchronised call (already traced).
        max_warmup_s: Upper bound on the warm-up time.
        drift_tolerance: Relative change of the window median counted as "stopped drifting".
        window: Calls per window; default sized to ~50 ms of calls (3 to 50 calls).

    Returns:
        ``(iterations, seconds)`` spent warming up.
    """
    t0 = time.perf_counter()
    first = _timed_block(call, 1)[0] / 1e3
    iterations = 1
    if window is None:
        window = int(min(50, max(3, 0.05 / max(first, 1e-6))))
    previous = None
    while time.perf_counter() - t0 < max_warmup_s:
        current = float(np.median(_timed_block(call, window)))
        iterations += window
        if previous is not None and abs(current - previous) <= drift_tolerance * previous:
            break
        previous = current
    return iterations, time.perf_counter() - t0


def collect_samples(call: Callable[[], Any], *, min_samples: int = 30,
                    min_duration_s: float = 1.0, max_samples: int = 1_000_000) -> list[float]:
    """Time ``call`` until at least ``min_samples`` samples and ``min_duration_s`` seconds.

    Calls run in blocks (about a tenth of ``min_duration_s`` each) so the stopping test
    stays out of the timed loop.

    Returns:
        Every sample in milliseconds, in call order.
    """
    samples: list[float] = []
    t0 = time.perf_counter()
    block = max(1, min(min_samples, 10))
    while len(samples) < max_samples:
        samples.extend(_timed_block(call, block))
        elapsed = time.perf_counter() - t0
        if len(samples) >= min_samples and elapsed >= min_duration_s:
            break
        per_call = elapsed / len(samples)
        by_time = int(0.1 * min_duration_s / max(per_call, 1e-7))
        block = min(max_samples - len(samples), max(1, min_samples - len(samples), by_time))
    return samples


def time_calls(call: Callable[[], Any], *, min_samples: int = 30, min_duration_s: float = 1.0,
               max_warmup_s: float = 10.0, drift_tolerance: float = 0.03) -> Timing:
    """First call (trace) timed alone, then ``warm_up``, then ``collect_samples``.

    Raises:
        SpecError: ``min_samples`` < 1 or a negative duration.
    """
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise SpecError("min_samples must be a positive int. "
                        f"Received: min_samples={min_samples!r}")
    for name, value in (("min_duration_s", min_duration_s), ("max_warmup_s", max_warmup_s)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise SpecError(f"{name} must be a non-negative number. Received: {name}={value!r}")
    t0 = time.perf_counter()
    call()
    trace_ms = (time.perf_counter() - t0) * 1e3
    iterations, warm_s = warm_up(call, max_warmup_s=max_warmup_s,
                                 drift_tolerance=drift_tolerance)
    samples = collect_samples(call, min_samples=min_samples, min_duration_s=min_duration_s)
    return Timing(trace_ms, iterations, warm_s, tuple(samples))


# ---------------------------------------------------------------------------------------------
# Compiled functions
# ---------------------------------------------------------------------------------------------


def as_model(target: Any):
    """A ``keras.Model`` from a spec, a graph, a ``.keras`` path or a model (returned as is)."""
    if isinstance(target, (ArchSpec, Graph)):
        return build(target)
    if isinstance(target, str) or hasattr(target, "__fspath__"):
        from archscale.keras_io import load_model

        return load_model(target)
    return target


def token_limit(model) -> int:
    """The smallest ``input_dim`` of the model's embedding tables (2 without one): integer
    inputs are drawn below it, so every ID is a valid row."""
    dims = [layer.input_dim for layer in model.layers
            if isinstance(getattr(layer, "input_dim", None), int)]
    return min(dims) if dims else 2


def random_batch(model, batch_size: int, seed: int = SEED):
    """A fixed random input batch for ``model`` and random integer labels.

    Returns:
        ``(x, y)``: ``x`` a tensor (a list for several inputs; integer inputs hold IDs below
        ``token_limit``), ``y`` int32 labels in
        ``[0, classes)`` where ``classes`` is the last axis of the first output.
    """
    import tensorflow as tf

    gen = tf.random.Generator.from_seed(seed)
    xs = []
    for t in model.inputs:
        shape, dtype = (batch_size,) + tuple(t.shape[1:]), tf.as_dtype(t.dtype)
        if dtype.is_integer:  # token IDs: valid rows of every embedding table
            xs.append(gen.uniform(shape, maxval=token_limit(model), dtype=dtype))
        else:
            xs.append(gen.uniform(shape, dtype=dtype))
    classes = int(model.outputs[0].shape[-1] or 1)
    y = gen.uniform((batch_size,), maxval=classes, dtype=tf.int32)
    return (xs if len(xs) > 1 else xs[0]), y


def compile_inference(model, *, xla: bool = False) -> Callable:
    """``tf.function(jit_compile=xla)`` returning the sum of every output (a scalar)."""
    import tensorflow as tf

    @tf.function(jit_compile=xla)
    def infer(x):
        outputs = tf.nest.flatten(model(x, training=False))
        return tf.add_n([tf.reduce_sum(tf.cast(o, tf.float32)) for o in outputs])

    return infer


def make_optimizer(name: str):
    """A Keras optimizer by name (``'momentum'`` is SGD with momentum 0.9).

    Raises:
        SpecError: Keras has no optimizer of that name.
    """
    import keras

    key, kwargs = {"momentum": ("sgd", {"momentum": 0.9})}.get(name, (name, {}))
    try:
        return keras.optimizers.get({"class_name": key, "config": kwargs})
    except ValueError:
        raise SpecError(f"optimizer {name!r} is not a Keras optimizer. "
                        f"Received: optimizer={name!r}") from None


def compile_train_step(model, optimizer: str = "adam", *, xla: bool = False) -> Callable:
    """One compiled training step ``step(x, y) -> loss`` (slots created beforehand).

    The loss is sparse categorical cross-entropy for one rank-2 output (probabilities when the
    model ends in softmax, else logits), otherwise the mean square of the outputs.
    """
    import keras
    import tensorflow as tf

    opt = make_optimizer(optimizer)
    opt.build(model.trainable_variables)
    outputs = model.outputs
    if len(outputs) == 1 and len(outputs[0].shape) == 2:
        last = model.layers[-1]
        logits = getattr(getattr(last, "activation", None), "__name__", "") != "softmax"
        sce = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)

        def loss_fn(y, out):
            return sce(y, out)
    else:
        def loss_fn(y, out):
            return tf.add_n([tf.reduce_mean(tf.square(o)) for o in tf.nest.flatten(out)])

    @tf.function(jit_compile=xla)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply(grads, model.trainable_variables)
        return loss

    return step


# ---------------------------------------------------------------------------------------------
# Result and entry point
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyResult:
    """Latency of one model at one batch size; ``stats`` in milliseconds per batch."""

    batch_size: int
    xla: bool
    device: str
    timing: Timing
    stats: TimingStats
    train_timing: Timing | None = None
    train_stats: TimingStats | None = None

    @property
    def samples_per_second(self) -> float:
        """Examples per second at the median latency."""
        return self.batch_size / (self.stats.median / 1e3)

    def to_row(self) -> dict[str, Any]:
        """Flat row: ``latency_ms_*``, ``samples_per_second``, ``trace_ms``, samples, ..."""
        s, t = self.stats, self.timing
        row: dict[str, Any] = {
            "batch_size": self.batch_size, "xla": self.xla, "latency_device": self.device,
            "latency_ms_min": s.min, "latency_ms_median": s.median, "latency_ms_mean": s.mean,
            "latency_ms_p90": s.p90, "latency_ms_p99": s.p99, "latency_ms_iqr": s.iqr,
            "latency_ms_median_ci_low": s.median_ci_low,
            "latency_ms_median_ci_high": s.median_ci_high,
            "samples_per_second": self.samples_per_second, "trace_ms": t.trace_ms,
            "warmup_iterations": t.warmup_iterations, "warmup_s": t.warmup_seconds,
            "latency_sample_count": len(t.samples_ms), "latency_samples": list(t.samples_ms),
            "train_step_ms_median": None, "train_step_ms_min": None,
            "train_step_ms_iqr": None, "train_step_trace_ms": None,
        }
        if self.train_stats is not None and self.train_timing is not None:
            row.update({"train_step_ms_median": self.train_stats.median,
                        "train_step_ms_min": self.train_stats.min,
                        "train_step_ms_iqr": self.train_stats.iqr,
                        "train_step_trace_ms": self.train_timing.trace_ms})
        return row


def _check_batch(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SpecError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")


def measure_latency(target: Any, batch_size: int = 1, *, xla: bool = False,
                    min_samples: int = 30, min_duration_s: float = 1.0,
                    max_warmup_s: float = 10.0, training_step: bool = False,
                    optimizer: str = "adam", drift_tolerance: float = 0.03) -> LatencyResult:
    """Latency of compiled inference (and optionally of a training step) at ``batch_size``.

    Args:
        target: An ``ArchSpec``, a ``Graph``, a ``keras.Model`` or a ``.keras`` file path.
        batch_size: Examples per call.
        xla: Compile with XLA (``jit_compile=True``).
        min_samples: Minimum number of timed calls.
        min_duration_s: Minimum total sampling time.
        max_warmup_s: Upper bound on the warm-up.
        training_step: Also time one training step per sample.
        optimizer: Optimizer of the training step.
        drift_tolerance: Relative change of the window median that ends the warm-up.

    Returns:
        The ``LatencyResult`` (``.to_row()`` for a flat record).

    Raises:
        SpecError: invalid batch size, sample settings or optimizer.
    """
    import tensorflow as tf

    _check_batch(batch_size)
    device = select_device()
    model = as_model(target)
    with tf.device(device):
        x, y = random_batch(model, batch_size)
        infer = compile_inference(model, xla=xla)
        timing = time_calls(lambda: infer(x).numpy(), min_samples=min_samples,
                            min_duration_s=min_duration_s, max_warmup_s=max_warmup_s,
                            drift_tolerance=drift_tolerance)
        train_timing = None
        if training_step:
            step = compile_train_step(model, optimizer, xla=xla)
            train_timing = time_calls(lambda: step(x, y).numpy(), min_samples=min_samples,
                                      min_duration_s=min_duration_s,
                                      max_warmup_s=max_warmup_s, drift_tolerance=drift_tolerance)
    return LatencyResult(batch_size, bool(xla), device, timing, summarize(timing.samples_ms),
                         train_timing,
                         summarize(train_timing.samples_ms) if train_timing else None)

