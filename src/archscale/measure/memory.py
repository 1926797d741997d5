"""Measured memory peaks (TensorFlow allocator statistics) next to the analytic estimates.

What is measured, per target and batch size, in the calling process (the runner starts a fresh
one for every memory job; ``measure_memory`` starts no process of its own):

- **inference**: ``model(x, training=False)`` in a ``tf.function`` (no XLA). The peak counts
  everything the allocator holds during the call: the weights, the input batch, the live
  activations and TensorFlow's kernel workspace.
- **training**: one step of ``GradientTape`` forward (``training=True``) + backward +
  ``optimizer.apply`` in a ``tf.function`` (no XLA). The optimizer's slots are created before
  the statistics are reset, so the peak counts weights + slots + input batch and labels +
  activations saved for the backward pass + gradients + the optimizer's temporaries + kernel
  workspace.

Before the model is built the measuring process grows the CPU allocator to one large region
(``reserve_allocator``), so the counted peak does not depend on the allocator's growth
history. Both modes run once to trace and warm up, then ``REPEATS`` (3) times
``tf.config.experimental.reset_memory_stats`` and a measured call; the median of the calls'
``get_memory_info(...)['peak']`` is the result. On a CPU the
measuring process sets ``TF_CPU_ALLOCATOR_USE_BFC=true`` before importing TensorFlow (see
``archscale.measure.device.MEMORY_ENV``): TensorFlow's default oneDNN CPU allocator serves
allocations under 256 KiB from ``malloc`` without counting them, which would hide most of a
small model. On a GPU the statistics come from ``GPU:0``'s allocator. Either way the peak is
the bytes of the chunks a BFC allocator hands out: requests rounded up to 256-byte multiples,
and a reused free chunk is split only when it is at least twice the request
(``archscale.memory_model.ALLOCATOR_OVERHEAD``). Measurements use no XLA; the models are built
in float32.

The estimates are for the backend TensorFlow runs in the measuring process
(``running_backend``: oneDNN or Eigen, as ``TF_ENABLE_ONEDNN_OPTS`` and the CPU decide, or the
GPU); a job keyed with another backend is refused, and every row says which
(``memory_backend``).

Run ``python tools/memory_table.py mlp resnet20 --batch-size 32`` for an error table, and
``python tools/memory_table.py --sweep bench/sweeps/catalogue.toml --sweep
bench/sweeps/families.toml`` for docs/costs.md's table of both CPU backends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from archscale.environment import check_backend, detect_backend
from archscale.errors import ArchscaleError
from archscale.measure.device import (gpu_devices, memory_device, onednn_enabled, ram_bytes,
                                      select_device)
from archscale.measure.latency import (as_model, compile_inference, compile_train_step,
                                       random_batch)
from archscale.profiling import profile

MODES = ("inference", "training")


class MemoryMeasurementError(ArchscaleError, RuntimeError):
    """The measurement cannot be trusted here (the allocator does not count every tensor)."""


@dataclass(frozen=True)
class MemoryResult:
    """Measured and predicted peaks of one target at one batch size (bytes).

    ``*_baseline_bytes_measured`` is what the allocator held when the statistics were reset
    (weights, input batch and, for training, optimizer slots). ``allocator_counts_all`` says
    the measuring process's allocator counted small tensors too (always, unless TensorFlow's
    allocator settings were overridden).
    """

    batch_size: int
    optimizer: str
    dtype: str
    device: str
    inference_peak_bytes_measured: int
    inference_peak_bytes_predicted: int
    train_peak_bytes_measured: int
    train_peak_bytes_predicted: int
    inference_baseline_bytes_measured: int = 0
    train_baseline_bytes_measured: int = 0
    allocator_counts_all: bool = True
    backend: str = "onednn"

    @property
    def inference_peak_rel_error(self) -> float:
        """``predicted / measured - 1`` for inference."""
        return _rel_error(self.inference_peak_bytes_predicted, self.inference_peak_bytes_measured)

    @property
    def train_peak_rel_error(self) -> float:
        """``predicted / measured - 1`` for the training step."""
        return _rel_error(self.train_peak_bytes_predicted, self.train_peak_bytes_measured)

    def to_row(self) -> dict[str, Any]:
        """Flat row with unit-suffixed names (``train_peak_bytes_measured``, ...)."""
        row = asdict(self)
        row["memory_device"] = row.pop("device")
        row["memory_optimizer"] = row.pop("optimizer")
        row["memory_dtype"] = row.pop("dtype")
        row["memory_allocator_counts_all"] = row.pop("allocator_counts_all")
        row["memory_backend"] = row.pop("backend")
        row["inference_peak_rel_error"] = self.inference_peak_rel_error
        row["train_peak_rel_error"] = self.train_peak_rel_error
        return row


def _rel_error(predicted: int, measured: int) -> float:
    return predicted / measured - 1.0 if measured else float("nan")


# ---------------------------------------------------------------------------------------------
# In-process measurement (needs an allocator that counts every tensor)
# ---------------------------------------------------------------------------------------------


def allocator_counts_small_tensors(device: str | None = None) -> bool:
    """Whether ``get_memory_info`` of this process counts a 4 KiB tensor.

    False on a CPU unless TensorFlow was started with ``TF_CPU_ALLOCATOR_USE_BFC=true``.
    """
    import tensorflow as tf

    device = device or select_device()
    name = memory_device(device)
    try:
        before = tf.config.experimental.get_memory_info(name)["current"]
    except ValueError:
        return False
    with tf.device(device):
        probe = tf.fill((1024,), 1.0)
    counted = tf.config.experimental.get_memory_info(name)["current"] > before
    del probe
    return counted


#: Measured calls per mode; the median peak is reported (the executor's scheduling of
#: independent ops moves a small model's peak by up to ~15 % from call to call).
REPEATS = 3


def _peak_of(fn, args, name: str) -> tuple[int, int]:
    """(median peak, baseline) of ``REPEATS`` calls of ``fn(*args)`` after a warm-up call.

    The statistics are reset before each measured call; the baseline is what the allocator
    holds at the first reset.
    """
    import gc

    import numpy as np
    import tensorflow as tf

    np.asarray(fn(*args))
    gc.collect()
    peaks, baselines = [], []
    for _ in range(REPEATS):
        tf.config.experimental.reset_memory_stats(name)
        baselines.append(tf.config.experimental.get_memory_info(name)["current"])
        np.asarray(fn(*args))
        peaks.append(tf.config.experimental.get_memory_info(name)["peak"])
    return int(np.median(peaks)), int(baselines[0])


def measure_model_in_process(model, batch_size: int = 32, *, optimizer: str = "adam",
                             modes: Sequence[str] = MODES) -> dict[str, Any]:
    """Measure the inference and/or training peak of ``model`` in this process.

    The allocator must count every tensor (see ``allocator_counts_small_tensors``);
    ``measure_memory`` checks that first.

    Args:
        model: A built ``keras.Model`` (weights already created).
        batch_size: Batch of random inputs and labels.
        optimizer: Keras optimizer name (``'adam'``, ``'sgd'``, ``'momentum'``, ...).
        modes: Any of ``'inference'``, ``'training'``; inference is measured first, before the
            optimizer exists.

    Returns:
        ``{"device", "inference_peak_bytes", "inference_baseline_bytes", "train_peak_bytes",
        "train_baseline_bytes"}`` (absent modes are missing).
    """
    import tensorflow as tf

    device = select_device()
    name = memory_device(device)
    out: dict[str, Any] = {"device": device}
    with tf.device(device):
        x, y = random_batch(model, batch_size)
        if "inference" in modes:
            infer = compile_inference(model, xla=False)
            out["inference_peak_bytes"], out["inference_baseline_bytes"] = _peak_of(
                infer, (x,), name)
        if "training" in modes:
            step = compile_train_step(model, optimizer, xla=False)
            out["train_peak_bytes"], out["train_baseline_bytes"] = _peak_of(step, (x, y), name)
    return out


def reserve_allocator(expected_peak_bytes: float) -> int:
    """Grow the CPU allocator to one region of about ``1.5 x expected_peak_bytes`` up front.

    TensorFlow's BFC allocator grows by regions of doubling size and splits a free chunk only
    when it is at least twice the request, so a tensor that makes it grow can hold up to twice
    its own size, depending on the order of earlier allocations. One large free region, made
    by allocating an uninitialised tensor (no pages touched) and freeing it, makes the counted
    peak the sum of the live tensors (rounded to 256 bytes), independent of that history, as on
    a GPU, whose allocator reserves its memory up front. No-op on a GPU.

    Args:
        expected_peak_bytes: The predicted training peak (the region is capped at half the RAM,
            at least 256 MiB).

    Returns:
        The bytes reserved (0 on a GPU).
    """
    import tensorflow as tf

    if gpu_devices():
        return 0
    cap = (ram_bytes() or 8 << 30) // 2
    mib = int(max(256 << 20, min(1.5 * expected_peak_bytes, cap))) >> 20
    with tf.device("/CPU:0"):
        block = tf.raw_ops.Empty(shape=[mib, 1 << 20], dtype=tf.uint8, init=False)
    del block
    return mib << 20


def _check_allocator() -> None:
    """Refuse to measure where the allocator would leave small tensors out of the peak."""
    if not allocator_counts_small_tensors():
        raise MemoryMeasurementError(
            "memory is measured in a process whose TensorFlow CPU allocator counts every "
            "tensor: start it with TF_CPU_ALLOCATOR_USE_BFC=true set before TensorFlow is "
            "imported (archscale.measure.device.MEMORY_ENV), as 'archscale bench --measure "
            "memory' does for every job. Received: an allocator that misses tensors under "
            "256 KiB")


def running_backend() -> str:
    """The backend TensorFlow runs in this process: ``gpu`` with a GPU, else ``onednn`` or
    ``eigen`` as TensorFlow itself reports (``IsMklEnabled``); imports TensorFlow."""
    if gpu_devices():
        return "gpu"
    enabled = onednn_enabled()
    return detect_backend() if enabled is None else ("onednn" if enabled else "eigen")


def _check_backend(backend: str | None) -> str:
    """The running backend, which must be ``backend`` when one is asked for."""
    running = running_backend()
    if backend is not None and check_backend(backend) != running:
        raise MemoryMeasurementError(
            f"backend {backend!r} was asked for, but TensorFlow runs {running!r} in this "
            f"process: TF_ENABLE_ONEDNN_OPTS (0: eigen, 1: onednn) must be set before "
            f"TensorFlow is imported. Received: backend={backend!r}")
    return running


def measure_memory(target: Any, batch_size: int = 32, *, optimizer: str = "adam",
                   dtype: str = "float32", backend: str | None = None) -> MemoryResult:
    """Measured inference and training-step peaks next to ``Profile``'s estimates.

    Measures in THIS process, which must be fresh (a process that already ran other models
    keeps their allocator history) and started with ``MEMORY_ENV`` on a CPU. The runner gives
    every memory job such a process: use ``archscale bench --measure memory`` (or
    ``archscale.bench``), or ``tools/memory_table.py`` for a table over presets.

    Args:
        target: An ``ArchSpec``, a ``Graph``, a ``keras.Model`` or a ``.keras`` path.
        batch_size: Batch size of both measurements.
        optimizer: Optimizer of the training step (a key of ``costs.OPTIMIZER_SLOTS``).
        dtype: Dtype of the estimate (the models are built in float32).
        backend: The backend the job was keyed with (``settings.backend``); default: the one
            TensorFlow runs here. The estimates are for the running backend.

    Returns:
        The ``MemoryResult``.

    Raises:
        SpecError: bad batch size, optimizer or backend name.
        MemoryMeasurementError: this process's allocator does not count every tensor, or
            TensorFlow runs another backend than ``backend``.
    """
    running = _check_backend(backend)
    prof = profile(target, backend=running)
    predicted_train = prof.training_peak_bytes(batch_size, dtype, optimizer)
    predicted_infer = prof.inference_peak_bytes(batch_size, dtype)
    _check_allocator()
    reserve_allocator(predicted_train)
    got = measure_model_in_process(as_model(target), batch_size, optimizer=optimizer)
    return MemoryResult(batch_size, optimizer, dtype, got["device"],
                        got["inference_peak_bytes"], predicted_infer,
                        got["train_peak_bytes"], predicted_train,
                        got["inference_baseline_bytes"], got["train_baseline_bytes"], True,
                        running)
