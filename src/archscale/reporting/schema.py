"""The report's flat row schema: stable column names (units in the names), types, directions.

A *report row* is one architecture in one setting (batch size, XLA flag, dataset) with the
columns of every measurement of it merged (see ``archscale.reporting.merge``). ``results.csv``
and ``results.json`` hold exactly these columns, in this order; ``write_csv``/``read_csv``
round-trip them (lists are JSON inside a CSV cell, ``None`` is an empty cell; ``conform`` turns
empty strings into ``None`` so that the round trip is exact).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from archscale.errors import ArchscaleError, InputFileError


class ReportError(ArchscaleError, ValueError):
    """A report cannot be made from this input (empty store, unknown field, bad --out...)."""


@dataclass(frozen=True)
class Column:
    """One report column.

    Attributes:
        name: The stable column name (units in the name: ``_ms``, ``_bytes``, ``_gflops``).
        type: ``"str"``, ``"int"``, ``"float"``, ``"bool"`` or ``"list"``.
        description: What it is (the README's report section lists every column).
        identity: Whether it describes the architecture/setting (``--filter`` accepts it).
    """

    name: str
    type: str
    description: str
    identity: bool = False


def _c(name: str, type_: str, description: str, identity: bool = False) -> Column:
    return Column(name, type_, description, identity)


COLUMNS: tuple[Column, ...] = (
    _c("name", "str", "architecture label (preset name plus overrides, or the sweep's name)", True),
    _c("family", "str", "architecture family", True),
    _c("preset", "str", "preset the spec came from (empty for spec files)", True),
    _c("spec_hash", "str", "hash of the spec (first 16 hex digits)", True),
    _c("input_shape", "str", "input shape without the batch axis, e.g. 32x32x3", True),
    _c("classes", "int", "number of classes", True),
    _c("batch_size", "int", "batch size of latency, throughput and memory", True),
    _c("xla", "bool", "latency compiled with XLA", True),
    _c("dataset", "str", "dataset of the accuracy columns", True),
    _c("environment_hash", "str", "hash of the machine/software fingerprint", True),
    _c("measurements", "str", "measurements merged into this row (cost,latency,memory,accuracy)"),
    _c("params", "int", "parameters, trainable + non-trainable (Keras count_params)"),
    _c("trainable_params", "int", "trainable parameters"),
    _c("macs", "int", "multiply-accumulates per example (conv, depthwise, dense)"),
    _c("flops", "int", "FLOPs per example: 2 x MACs plus element-wise work"),
    _c("depth", "int", "conv/dense layers on the longest path"),
    _c("weight_bytes", "int", "bytes of the weights"),
    _c("inference_peak_bytes_predicted", "int", "analytic inference peak at batch_size"),
    _c("inference_peak_bytes_measured", "int", "allocator peak of one inference at batch_size"),
    _c("inference_peak_rel_error", "float", "predicted / measured - 1 (inference)"),
    _c("train_peak_bytes_predicted", "int", "analytic training-step peak at batch_size"),
    _c("train_peak_bytes_measured", "int", "allocator peak of one training step at batch_size"),
    _c("train_peak_rel_error", "float", "predicted / measured - 1 (training)"),
    _c("memory_backend", "str", "kernels the memory columns are for: onednn, eigen or gpu",
       True),
    _c("memory_predicted_by", "str", "the predicted peaks: the current rules (recomputed from "
       "the spec when the report is made) or the rules at run time (no spec)"),
    _c("latency_ms_min", "float", "fastest inference of a batch, ms"),
    _c("latency_ms_median", "float", "median inference latency of a batch, ms"),
    _c("latency_ms_mean", "float", "mean inference latency, ms"),
    _c("latency_ms_p90", "float", "90th percentile latency, ms"),
    _c("latency_ms_p99", "float", "99th percentile latency, ms"),
    _c("latency_ms_iqr", "float", "interquartile range of the latency, ms"),
    _c("latency_ms_median_ci_low", "float", "bootstrap 95% CI of the median, low end, ms"),
    _c("latency_ms_median_ci_high", "float", "bootstrap 95% CI of the median, high end, ms"),
    _c("latency_sample_count", "int", "number of timed samples"),
    _c("trace_ms", "float", "tracing/compilation time, ms"),
    _c("train_step_ms_median", "float", "median training-step time, ms (when measured)"),
    _c("samples_per_second", "float", "throughput: examples per second at batch_size"),
    _c("achieved_gflops", "float", "2 x macs x batch_size / latency_ms_median, in GFLOP/s"),
    _c("machine_peak_gflops", "float", "this machine's matmul peak, GFLOP/s (peak probe)"),
    _c("peak_fraction", "float", "achieved_gflops / machine_peak_gflops"),
    _c("accuracy_mean", "float", "mean test accuracy over seeds (0..1; diverged seeds excluded)"),
    _c("accuracy_std", "float", "sample std of the test accuracy over seeds (None for one seed)"),
    _c("accuracy_per_seed", "list", "test accuracy of each seed (null: diverged)"),
    _c("seeds", "list", "seeds trained"),
    _c("diverged_seeds", "int", "seeds whose loss became NaN or diverged"),
    _c("best_epoch_mean", "float", "mean best epoch (early stopping)"),
    _c("train_seconds", "float",
       "training wall time per seed (mean over seeds), s; the sum is train_seconds_total"),
    _c("train_flops", "float",
       "analytic training FLOPs per seed (mean over seeds); the sum is train_flops_total"),
    _c("benchmark_group", "str", "pytest-benchmark group (pytest-benchmark input only)"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
COLUMN_TYPES: dict[str, str] = {c.name: c.type for c in COLUMNS}
FILTER_FIELDS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.identity)
NUMERIC_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.type in ("int", "float"))

#: Metrics where larger is better; every other numeric column is better smaller.
MAXIMISE = frozenset({"accuracy_mean", "samples_per_second", "achieved_gflops", "peak_fraction"})

#: Short names accepted by ``--x`` / ``--y``.
AXIS_ALIASES: dict[str, str] = {
    "accuracy": "accuracy_mean", "latency": "latency_ms_median", "p90": "latency_ms_p90",
    "throughput": "samples_per_second", "memory": "train_peak_bytes_measured",
    "train_memory": "train_peak_bytes_measured", "inference_memory":
    "inference_peak_bytes_measured", "gflops": "achieved_gflops",
}

#: Human labels of the columns used as plot axes.
LABELS: dict[str, str] = {
    "params": "parameters", "macs": "MACs per example", "flops": "FLOPs per example",
    "accuracy_mean": "test accuracy", "latency_ms_median": "median latency (ms)",
    "latency_ms_p90": "p90 latency (ms)", "samples_per_second": "throughput (examples/s)",
    "train_peak_bytes_measured": "training peak, measured (bytes)",
    "inference_peak_bytes_measured": "inference peak, measured (bytes)",
    "achieved_gflops": "achieved GFLOP/s",
}


def direction(column: str) -> str:
    """``"max"`` for columns where larger is better, else ``"min"``."""
    return "max" if column in MAXIMISE else "min"


def label(column: str) -> str:
    """Axis label of a column."""
    return LABELS.get(column, column.replace("_", " "))


def resolve_axis(name: str, option: str = "--x") -> str:
    """The column an axis name refers to (aliases such as ``accuracy``, ``latency``).

    Raises:
        ReportError: not a numeric report column or alias (the message lists them).
    """
    column = AXIS_ALIASES.get(name, name)
    if column not in NUMERIC_COLUMNS:
        accepted = ", ".join([*AXIS_ALIASES, *NUMERIC_COLUMNS])
        raise ReportError(f"unknown axis {name!r}; accepted: {accepted}. "
                             f"Received: {option}={name!r}")
    return column


def conform(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` restricted to ``COLUMN_NAMES`` (in order; absent columns and empty strings
    become ``None``, as a CSV cell cannot tell them apart)."""
    return {name: None if row.get(name) == "" else row.get(name) for name in COLUMN_NAMES}


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def _encode(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)


def _decode(text: str, type_: str, column: str) -> Any:
    if text == "":
        return None
    try:
        if type_ == "int":
            return int(text)
        if type_ == "float":
            return float(text)
        if type_ == "bool":
            return {"true": True, "false": False}[text]
        if type_ == "list":
            return json.loads(text)
    except (ValueError, KeyError):
        raise InputFileError(f"results CSV column {column!r} must be {type_}. "
                             f"Received: {column}={text!r}") from None
    return text


def rows_to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV text of the rows (header ``COLUMN_NAMES``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    for row in rows:
        writer.writerow([_encode(row.get(name)) for name in COLUMN_NAMES])
    return buffer.getvalue()


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """Parse ``rows_to_csv`` output back into typed rows.

    Raises:
        InputFileError: unknown columns or a cell of the wrong type.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None) or []
    unknown = [h for h in header if h not in COLUMN_TYPES]
    if unknown:
        raise InputFileError(f"not an archscale results CSV: unknown column {unknown[0]!r}. "
                             f"Received: header={header[:5]}...")
    return [{h: _decode(cell, COLUMN_TYPES[h], h) for h, cell in zip(header, cells)}
            for cells in reader]


def json_ready(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with non-finite floats as ``None`` (strict JSON) and tuples as lists."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value
    return [{k: clean(v) for k, v in row.items()} for row in rows]
