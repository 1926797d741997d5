"""The measurements a sweep can ask for and their settings (how a worker runs each one:
``job_runners``).

A ``Measurement`` row says which job axes apply (batch sizes, datasets, seeds), which settings
it accepts (with their defaults and validators) and whether its timings would be disturbed by a
job running next to it (``exclusive``: latency and the machine peak always run alone). Memory
is not exclusive: it counts the bytes its own process allocates, which another process running
beside it does not change, so with ``workers = 2`` it runs two at a time like cost and accuracy
(its long part is tracing the training step: 40-80 s for the deepest presets on 2 cores). The
parent process only reads this table (no TensorFlow, no ``measure`` import);
``job_runners.run_measurement`` runs a job inside the worker subprocess.

Measurements:

- ``cost``: the analytic profile (params, MACs, FLOPs, predicted memory at the batch size);
  pure Python, no TensorFlow.
- ``latency``: ``archscale.measure.latency.measure_latency`` (per batch size; XLA optional).
- ``memory``: ``archscale.measure.memory.measure_memory`` (per batch size).
- ``accuracy``: ``archscale.measure.accuracy.measure_accuracy`` with ONE seed per job (per
  dataset and seed), so an interrupted sweep loses at most one training run; reports
  aggregate the seeds (``archscale.runner.rows``).

With ``ARCHSCALE_TEST_MEASUREMENTS=1`` in the environment two test-only measurements exist,
used by the executor's tests: ``sleep`` (sleeps ``seconds``, then returns the cost row) and
``crash`` (the worker exits with ``code``, kills itself with SIGKILL or SIGSEGV, allocates past
a memory limit it sets itself, or raises).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from archscale.costs import DTYPE_BYTES, OPTIMIZER_SLOTS
from archscale.errors import SpecError
from archscale.profiling import profile

TEST_ENV = "ARCHSCALE_TEST_MEASUREMENTS"

# ---------------------------------------------------------------------------------------------
# Setting validators: each returns the canonical value or raises SpecError naming the key
# ---------------------------------------------------------------------------------------------


def _bad(key: str, expected: str, value: Any) -> SpecError:
    return SpecError(f"{key} must be {expected}. Received: {key}={value!r}")


def as_bool(key: str, value: Any) -> bool:
    """``value`` if it is a bool."""
    if not isinstance(value, bool):
        raise _bad(key, "true or false", value)
    return value


def as_positive_int(key: str, value: Any) -> int:
    """``value`` if it is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(key, "a positive int", value)
    return value


def as_non_negative_int(key: str, value: Any) -> int:
    """``value`` if it is an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(key, "an int >= 0", value)
    return value


def as_non_negative_float(key: str, value: Any) -> float:
    """``float(value)`` for a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e308:
        raise _bad(key, "a number >= 0", value)
    return float(value)


def as_positive_float(key: str, value: Any) -> float:
    """``float(value)`` for a finite number > 0."""
    if as_non_negative_float(key, value) <= 0:
        raise _bad(key, "a number > 0", value)
    return float(value)


def _choice(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(key: str, value: Any) -> str:
        if value not in choices:
            raise _bad(key, f"one of {', '.join(choices)}", value)
        return value
    return check


def as_table(key: str, value: Any) -> dict[str, Any]:
    """A TOML table (dict) with string keys, copied."""
    if not isinstance(value, Mapping):
        raise _bad(key, "a table such as { epochs = 10 }", value)
    return dict(value)


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One accepted setting: its default and validator ``(key, value) -> canonical value``."""
    default: Any
    check: Callable[[str, Any], Any]


@dataclass(frozen=True)
class Measurement:
    """What a measurement needs from a sweep and how the worker runs it.

    Attributes:
        name: The name used in sweep files and ``--measure``.
        uses_batch: One job per batch size (the batch size is a setting).
        uses_dataset: One job per dataset (required).
        uses_seed: One job per seed.
        exclusive: Timing-sensitive: never runs next to another job.
        needs_tf: The worker imports TensorFlow (counted in the per-job overhead).
        settings: Accepted settings (besides ``batch_size``) with defaults.
        headline: Row columns shown in tables.
        test_only: Exists only with ``ARCHSCALE_TEST_MEASUREMENTS=1``.
        needs_spec: Measures an architecture (``peak`` measures the machine: one job per
            sweep, asked for with the sweep's ``peak`` key, not in ``measure`` lists).
        uses_backend: Its number depends on which kernels TensorFlow runs (memory: oneDNN's
            and Eigen's convolutions hold different working buffers), so its jobs carry the
            backend (``archscale.environment.detect_backend``) in their settings and key.
    """
    name: str
    uses_batch: bool
    uses_dataset: bool
    uses_seed: bool
    exclusive: bool
    needs_tf: bool
    settings: Mapping[str, Setting] = field(default_factory=dict)
    headline: tuple[str, ...] = ()
    test_only: bool = False
    needs_spec: bool = True
    uses_backend: bool = False


_OPTIMIZER = Setting("adam", _choice(tuple(OPTIMIZER_SLOTS)))

MEASUREMENTS: dict[str, Measurement] = {m.name: m for m in (
    Measurement("cost", uses_batch=True, uses_dataset=False, uses_seed=False, exclusive=False,
                needs_tf=False,
                settings={"dtype": Setting("float32", _choice(tuple(DTYPE_BYTES))),
                          "optimizer": _OPTIMIZER},
                headline=("params", "macs", "train_peak_bytes_predicted")),
    Measurement("peak", uses_batch=False, uses_dataset=False, uses_seed=False, exclusive=True,
                needs_tf=True, needs_spec=False,
                settings={"dtype": Setting("float32", _choice(tuple(DTYPE_BYTES))),
                          "size": Setting(0, as_non_negative_int),
                          "repeats": Setting(5, as_positive_int)},
                headline=("machine_peak_gflops", "machine_peak_matmul_size")),
    Measurement("latency", uses_batch=True, uses_dataset=False, uses_seed=False, exclusive=True,
                needs_tf=True,
                settings={"xla": Setting(False, as_bool),
                          "min_samples": Setting(30, as_positive_int),
                          "min_duration_s": Setting(1.0, as_positive_float),
                          "max_warmup_s": Setting(10.0, as_non_negative_float),
                          "training_step": Setting(False, as_bool)},
                headline=("latency_ms_median", "latency_ms_p90", "samples_per_second")),
    Measurement("memory", uses_batch=True, uses_dataset=False, uses_seed=False, exclusive=False,
                needs_tf=True, settings={"optimizer": _OPTIMIZER},
                headline=("train_peak_bytes_measured", "train_peak_rel_error"),
                uses_backend=True),
    Measurement("accuracy", uses_batch=False, uses_dataset=True, uses_seed=True,
                exclusive=False, needs_tf=True, settings={"recipe": Setting({}, as_table)},
                headline=("accuracy_mean", "accuracy_std", "train_seconds")),
    Measurement("sleep", uses_batch=True, uses_dataset=False, uses_seed=True, exclusive=False,
                needs_tf=False, settings={"seconds": Setting(0.0, as_non_negative_float)},
                headline=("params",), test_only=True),
    Measurement("crash", uses_batch=False, uses_dataset=False, uses_seed=False,
                exclusive=False, needs_tf=False,
                settings={"mode": Setting("exit", _choice(("exit", "signal", "segv", "memory",
                                                         "raise"))),
                          "code": Setting(3, as_positive_int)},
                test_only=True),
)}


def test_measurements_enabled() -> bool:
    """Whether the test-only measurements are on (``ARCHSCALE_TEST_MEASUREMENTS=1``)."""
    return os.environ.get(TEST_ENV) == "1"


def measurement_names() -> list[str]:
    """The names accepted in ``measure`` lists and ``--measure`` (not ``peak``, which has its
    own sweep key; test-only ones only when enabled)."""
    enabled = test_measurements_enabled()
    return [n for n, m in MEASUREMENTS.items()
            if (enabled or not m.test_only) and m.needs_spec]


def get_measurement(name: Any, key: str = "measure", *, in_list: bool = False) -> Measurement:
    """The measurement called ``name``.

    Args:
        name: The name.
        key: Where it was given, for error messages.
        in_list: ``name`` comes from a ``measure`` list or ``--measure`` (where ``peak``, which
            measures the machine rather than an architecture, is not accepted).

    Raises:
        SpecError: unknown name (the message lists the accepted ones and names ``key``).
    """
    if in_list and name == "peak":
        raise SpecError(f"peak measures the machine, not an architecture: set peak = true at "
                        f"the top of the sweep (--peak on the command line). "
                        f"Received: {key}={name!r}")
    names = measurement_names()
    if isinstance(name, str) and (name in names or name == "peak"):
        return MEASUREMENTS[name]
    raise SpecError(f"unknown measurement {name!r}; accepted: {', '.join(names)}. "
                    f"Received: {key}={name!r}")


def resolve_settings(measurement: Measurement, given: Mapping[str, Any],
                     key: str = "settings") -> dict[str, Any]:
    """Defaults of ``measurement`` overridden by ``given``, each value validated.

    Args:
        measurement: The measurement.
        given: Settings from the sweep (``batch_sizes`` must already be removed).
        key: Key prefix used in error messages (``settings.latency``).

    Returns:
        Every accepted setting with its canonical value (sorted keys).

    Raises:
        SpecError: an unknown setting or an invalid value.
    """
    unknown = sorted(set(given) - set(measurement.settings))
    if unknown:
        accepted = ", ".join(["batch_sizes", *measurement.settings]) if measurement.uses_batch \
            else ", ".join(measurement.settings) or "none"
        raise SpecError(f"unknown setting {unknown[0]!r} for measurement {measurement.name!r}; "
                        f"accepted: {accepted}. Received: {key}.{unknown[0]}="
                        f"{given[unknown[0]]!r}")
    out = {}
    for name, setting in sorted(measurement.settings.items()):
        value = given.get(name, setting.default)
        out[name] = setting.check(f"{key}.{name}", value)
    return out


# ---------------------------------------------------------------------------------------------
# The analytic cost row (pure Python; the worker runs the others: ``job_runners``)
# ---------------------------------------------------------------------------------------------


def measure_cost(spec: Any, batch_size: int = 1, *, dtype: str = "float32",
                 optimizer: str = "adam") -> dict[str, Any]:
    """The analytic ``cost`` row of a spec: counts and predicted memory (no TensorFlow).

    Args:
        spec: An ``ArchSpec``.
        batch_size: Batch size of the memory predictions.
        dtype: Weight/activation dtype.
        optimizer: Optimizer whose slots count in the training peak.

    Returns:
        Flat row: params, trainable_params, non_trainable_params, macs, flops (per example),
        depth, unsupported_layers, batch_size, dtype, optimizer, weight_bytes,
        inference_peak_bytes_predicted, train_peak_bytes_predicted and memory_backend (the
        backend of the training estimate: the one detected where the job runs).

    Raises:
        ShapeError / SpecError: the spec cannot be built or a setting is invalid.
    """
    prof = profile(spec)
    return {
        **profile_columns(prof),
        "batch_size": batch_size, "dtype": dtype, "optimizer": optimizer,
        "weight_bytes": prof.weight_bytes(dtype),
        "inference_peak_bytes_predicted": prof.inference_peak_bytes(batch_size, dtype),
        "train_peak_bytes_predicted": prof.training_peak_bytes(batch_size, dtype, optimizer),
        "memory_backend": prof.memory_backend,
    }


def profile_columns(prof: Any) -> dict[str, Any]:
    """The batch-independent counts every row carries (params, macs, flops, depth...)."""
    return {"params": prof.params, "trainable_params": prof.trainable_params,
            "non_trainable_params": prof.non_trainable_params, "macs": prof.macs,
            "flops": prof.flops, "depth": prof.depth,
            "unsupported_layers": len(prof.unsupported)}
