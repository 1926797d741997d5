"""Where report rows come from: the SQLite result store, or a pytest-benchmark JSON file.

The store is read through ``archscale.runner.store.open_reader``: it is never created or
changed by a report, and no SQL lives here.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from archscale.reporting.predictions import refresh_memory_predictions
from archscale.reporting.schema import ReportError
from archscale.runner.store import StoreReadError, open_reader


@dataclass
class Source:
    """Raw input of a report.

    Attributes:
        kind: ``"store"`` or ``"pytest-benchmark"``.
        path: The database or JSON file.
        rows: Flat rows, one per job (store) or per benchmark.
        jobs: ``{job_key: Job.to_dict()}`` (store only), used to write the reproducing sweep.
        runs: Rows of the store's ``runs`` table (oldest first).
        meta: Extra information (pytest-benchmark: ``machine_info``, ``commit_info``...).
    """

    kind: str
    path: str
    rows: list[dict[str, Any]]
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def load_store(path: str) -> Source:
    """Read every result of a store (without writing to it); memory rows get their predicted
    peaks from the current memory model (``predictions.refresh_memory_predictions``).

    Raises:
        ReportError: no such file, not an archscale store, or no results at all.
    """
    if not os.path.isfile(path):
        raise ReportError(f"no result store at {path!r}; run 'archscale bench' first or pass "
                          f"--db. Received: --db={path!r}")
    try:
        with open_reader(path) as reader:
            pairs = reader.results()
            runs = reader.runs()
    except StoreReadError as exc:
        raise ReportError(str(exc)) from None
    if not pairs:
        raise ReportError(f"the result store {path!r} is empty; run 'archscale bench' first. "
                          f"Received: --db={path!r}")
    rows, jobs = [], {}
    for row, job in pairs:
        rows.append(row)
        if job is not None and isinstance(row, dict) and "job_key" in row:
            jobs[row["job_key"]] = job
    return Source("store", path, refresh_memory_predictions(rows, jobs), jobs, runs)


# ---------------------------------------------------------------------------------------------
# pytest-benchmark
# ---------------------------------------------------------------------------------------------

#: ``extra_info`` keys a benchmark may set that map onto report columns as they are.
_EXTRA_ALLOWED = ("family", "preset", "input_shape", "classes", "batch_size", "xla", "dataset",
                  "params", "trainable_params", "macs", "flops", "depth", "spec_hash",
                  "samples_per_second", "machine_peak_gflops", "accuracy_mean",
                  "accuracy_std")


def _percentile(data: list[float], q: float) -> float:
    ordered = sorted(data)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _benchmark_env(doc: Mapping[str, Any]) -> dict[str, Any]:
    info = doc.get("machine_info") or {}
    cpu = info.get("cpu") or {}
    env = {
        "env_cpu_model": cpu.get("brand_raw") or info.get("processor"),
        "env_cpu_count": cpu.get("count"),
        "env_machine": info.get("machine"),
        "env_system": info.get("system"),
        "env_python": info.get("python_version"),
        "env_python_implementation": info.get("python_implementation"),
        "env_pytest_benchmark": doc.get("version"),
        "env_datetime": doc.get("datetime"),
    }
    commit = doc.get("commit_info") or {}
    if commit.get("id"):
        env["env_commit"] = f"{commit.get('id')}{' (dirty)' if commit.get('dirty') else ''}"
    return {k: v for k, v in env.items() if v is not None}


def benchmark_row(bench: Mapping[str, Any], env: Mapping[str, Any],
                  env_hash: str) -> dict[str, Any]:
    """The flat row of one pytest-benchmark entry (times converted from seconds to ms).

    Raises:
        ReportError: the entry has no ``stats`` with a median.
    """
    stats = bench.get("stats") or {}
    if not isinstance(stats.get("median"), (int, float)):
        raise ReportError(f"pytest-benchmark entry without stats.median. "
                          f"Received: name={bench.get('name')!r}")
    ms = (lambda key: stats[key] * 1e3 if isinstance(stats.get(key), (int, float)) else None)
    extra = bench.get("extra_info") or {}
    row: dict[str, Any] = {
        "name": bench.get("name") or bench.get("fullname"), "family": "pytest-benchmark",
        "benchmark_group": bench.get("group"), "measurement": "latency", "status": "ok",
        "environment_hash": env_hash, "batch_size": 1,
        "latency_ms_min": ms("min"), "latency_ms_median": ms("median"),
        "latency_ms_mean": ms("mean"), "latency_ms_iqr": ms("iqr"),
        "latency_sample_count": stats.get("rounds"),
        "samples_per_second": None,
    }
    data = stats.get("data")
    if isinstance(data, list) and data and all(isinstance(v, (int, float)) for v in data):
        row["latency_ms_p90"] = _percentile(data, 0.90) * 1e3
        row["latency_ms_p99"] = _percentile(data, 0.99) * 1e3
    row.update({k: extra[k] for k in _EXTRA_ALLOWED if extra.get(k) is not None})
    if row["samples_per_second"] is None and row["latency_ms_median"]:
        row["samples_per_second"] = row["batch_size"] * 1e3 / row["latency_ms_median"]
    row.update(env)
    return row


def load_pytest_benchmark(path: str) -> Source:
    """Rows from a ``pytest --benchmark-json`` file, one per benchmark.

    ``extra_info`` keys that are report columns (``macs``, ``params``, ``batch_size``,
    ``family``...) are copied, so a benchmark that records them gets the derived columns
    (achieved GFLOP/s) and plots too.

    Raises:
        ReportError: unreadable file, not JSON, or no benchmarks in it.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise ReportError(f"cannot read pytest-benchmark file {path!r}: {exc.strerror}. "
                          f"Received: --from-pytest-benchmark={path!r}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ReportError(f"{path!r} is not valid JSON ({exc}). "
                          f"Received: --from-pytest-benchmark={path!r}") from None
    benches = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(benches, list) or not benches:
        raise ReportError(f"{path!r} holds no pytest-benchmark results (no 'benchmarks' list). "
                          f"Received: --from-pytest-benchmark={path!r}")
    env = _benchmark_env(doc)
    env_hash = hashlib.sha256(json.dumps(env, sort_keys=True, default=str).encode()
                              ).hexdigest()[:16]
    rows = [benchmark_row(b, env, env_hash) for b in benches]
    meta = {k: doc.get(k) for k in ("machine_info", "commit_info", "datetime", "version")}
    meta["fullnames"] = [b.get("fullname") for b in benches]
    return Source("pytest-benchmark", path, rows, meta=meta)
