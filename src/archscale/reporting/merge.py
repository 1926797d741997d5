"""Store rows (one per job) -> report rows (one per architecture and setting).

The store keeps one flat row per job: the ``cost`` of a spec at a batch size, its ``latency``
at a batch size (with or without XLA), its ``memory`` at a batch size, its ``accuracy`` on a
dataset for one seed. A report row is one architecture (same spec, same machine: ``spec_hash``
and ``environment_hash``) at one setting: for every batch size (and XLA flag) measured, and
every dataset trained on, the row carries the cost, memory and latency columns at that batch
size and the accuracy on that dataset (seeds aggregated by ``archscale.runner.rows``). Derived
columns: ``achieved_gflops = 2 * macs * batch_size / latency``, the machine's peak, and their
ratio.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Mapping, Sequence

from archscale.errors import ArchscaleError
from archscale.profiling import profile
from archscale.reference_archs.registry import spec_from_dict
from archscale.reporting.schema import FILTER_FIELDS, ReportError, conform
from archscale.runner.measurements import profile_columns
from archscale.runner.rows import aggregate_rows, spec_hash

PEAK_COLUMNS = ("machine_peak_gflops", "env_machine_peak_gflops")
_COST_KEYS = ("params", "trainable_params", "macs", "flops", "depth", "weight_bytes")
_ARCH_KEYS = ("name", "family", "preset", "spec_hash", "input_shape", "classes",
              "environment_hash")


def split_status(rows: Iterable[Mapping[str, Any]]) -> tuple[list[dict], list[dict]]:
    """``(ok rows, failed rows)``."""
    ok, failed = [], []
    for row in rows:
        (ok if row.get("status", "ok") == "ok" else failed).append(dict(row))
    return ok, failed


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def machine_peaks(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """``{environment_hash: machine peak GFLOP/s}`` from the rows that carry one.

    A peak comes from a ``machine_peak_gflops`` (or ``env_machine_peak_gflops``) column, or
    from a row of measurement ``peak`` (its ``gflops``). The largest value per environment wins.
    """
    peaks: dict[str, float] = {}
    for row in rows:
        values = [_number(row.get(c)) for c in PEAK_COLUMNS]
        if row.get("measurement") == "peak":
            values.append(_number(row.get("gflops")))
        found = [v for v in values if v is not None and v > 0]
        if found:
            env = str(row.get("environment_hash"))
            peaks[env] = max(peaks.get(env, 0.0), *found)
    return peaks


def environments(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{environment_hash: {env_* column: value}}``: the union over the rows of each hash
    (a value that is ``None`` in one row and known in another is kept)."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        env = out.setdefault(str(row.get("environment_hash")), {})
        for key, value in row.items():
            if key.startswith("env_") and (env.get(key) is None):
                env[key] = value
    return {h: dict(sorted(e.items())) for h, e in out.items()}


def derive(row: dict[str, Any], peak: float | None = None) -> dict[str, Any]:
    """Add ``achieved_gflops``, ``machine_peak_gflops``, ``peak_fraction`` and, when missing,
    ``samples_per_second`` to ``row`` (in place) and return it."""
    macs, batch = _number(row.get("macs")), _number(row.get("batch_size"))
    median = _number(row.get("latency_ms_median"))
    if median and median > 0 and batch:
        if row.get("samples_per_second") is None:
            row["samples_per_second"] = batch * 1000.0 / median
        if macs is not None:
            row["achieved_gflops"] = 2.0 * macs * batch / (median * 1e6)
    if row.get("machine_peak_gflops") is None and peak:
        row["machine_peak_gflops"] = peak
    achieved, top = _number(row.get("achieved_gflops")), _number(row.get("machine_peak_gflops"))
    if achieved is not None and top:
        row["peak_fraction"] = achieved / top
    return row


def retarget_overridden(rows: Sequence[Mapping[str, Any]],
                        jobs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Accuracy rows trained on a spec overridden to fit the dataset (``spec_overridden``)
    describe another architecture than their job's spec: give them that architecture's
    identity and counts, so their accuracy is never shown next to the latency of the
    un-overridden spec.

    Args:
        rows: Store rows (one per job).
        jobs: ``{job_key: Job.to_dict()}`` (for the job's spec); rows without a job keep the
            trained model's ``model_params`` / ``forward_flops_per_example`` and get no MACs.

    Returns:
        The rows, overridden accuracy rows replaced by retargeted copies.
    """
    out = []
    for row in rows:
        shape = row.get("trained_input_shape")
        if row.get("measurement") != "accuracy" or not row.get("spec_overridden") or not shape:
            out.append(dict(row))
            continue
        classes = row.get("trained_classes", row.get("classes"))
        text = "x".join(str(v) for v in shape)
        new = {**row, "input_shape": text, "classes": classes,
               "name": f"{row.get('name')} @ {text}/{classes}", "macs": None,
               "params": row.get("model_params"), "trainable_params": None,
               "flops": row.get("forward_flops_per_example"), "depth": None}
        job = jobs.get(str(row.get("job_key"))) or {}
        try:
            new.update(_trained_counts(job["spec"], tuple(shape), classes))
        except (KeyError, TypeError, ValueError, ArchscaleError):
            new["spec_hash"] = f"{row.get('spec_hash')}@{text}/{classes}"
        out.append(new)
    return out


def _trained_counts(spec: Mapping[str, Any], shape: tuple, classes: Any) -> dict[str, Any]:
    trained = spec_from_dict(dict(spec)).replace(input_shape=shape, classes=classes)
    return {**profile_columns(profile(trained)),
            "spec_hash": spec_hash(trained.to_dict())}


def _arch_key(row: Mapping[str, Any]) -> tuple[str, str]:
    spec = row.get("spec_hash") or f"name:{row.get('name')}"
    return str(row.get("environment_hash")), str(spec)


def _xla(row: Mapping[str, Any]) -> bool:
    value = row.get("xla", row.get("env_xla"))
    return bool(value)


def _first(rows: Sequence[Mapping[str, Any]], prefer: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first row matching every ``prefer`` item, else the first row."""
    for row in rows:
        if all(row.get(k) == v for k, v in prefer.items()):
            return row
    return rows[0]


def _arch_rows(group: Sequence[Mapping[str, Any]], peak: float | None) -> list[dict[str, Any]]:
    by_measure: dict[str, list[Mapping[str, Any]]] = {}
    for row in group:
        by_measure.setdefault(str(row.get("measurement")), []).append(row)
    base = {k: next((r.get(k) for r in group if r.get(k) is not None), None)
            for k in (*_ARCH_KEYS, *_COST_KEYS)}
    batches = sorted({int(r["batch_size"]) for m in ("cost", "latency", "memory")
                      for r in by_measure.get(m, []) if r.get("batch_size") is not None})
    accuracy = by_measure.get("accuracy", [])
    datasets = list(dict.fromkeys(r.get("dataset") for r in accuracy)) or [None]
    measured = [m for m in ("cost", "latency", "memory", "accuracy") if m in by_measure]
    out = []
    for batch in batches or [None]:
        at = {m: [r for r in by_measure.get(m, []) if r.get("batch_size") == batch]
              for m in ("cost", "latency", "memory")}
        latencies = sorted(at["latency"], key=_xla) or [None]
        for latency, memory in _settings(latencies, _per_backend(at["memory"])):
            for dataset in datasets:
                row: dict[str, Any] = dict(base)
                row["batch_size"] = batch
                if at["cost"]:
                    row.update(_pick(_first(at["cost"], {"dtype": "float32",
                                                         "optimizer": "adam"})))
                if memory is not None:
                    row.update(_pick(memory))
                if latency is not None:
                    row.update(_pick(latency))
                    row["xla"] = _xla(latency)
                    samples = latency.get("latency_samples")
                    if row.get("latency_sample_count") is None and isinstance(samples, list):
                        row["latency_sample_count"] = len(samples)
                if dataset is not None or accuracy:
                    match = [r for r in accuracy if r.get("dataset") == dataset]
                    if match:
                        row.update(_pick(match[0]))
                        if isinstance(row.get("diverged_seeds"), list):  # one seed's row
                            row["diverged_seeds"] = len(row["diverged_seeds"])
                row["dataset"] = dataset
                row["measurements"] = ",".join(measured)
                row.update({k: base[k] for k in _ARCH_KEYS if base[k] is not None})
                row["batch_size"] = batch
                out.append(conform(derive(row, peak)))
    return out


def memory_backend(row: Mapping[str, Any]) -> str | None:
    """The backend of a memory row: ``memory_backend``, or for rows stored before it existed,
    ``env_tf_onednn`` (``True``: onednn, ``False``: eigen; a GPU device: gpu)."""
    if row.get("memory_backend"):
        return str(row["memory_backend"])
    if str(row.get("memory_device") or row.get("env_device") or "").startswith("/GPU"):
        return "gpu"
    onednn = row.get("env_tf_onednn")
    return None if onednn is None else ("onednn" if onednn else "eigen")


def _per_backend(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One memory row per backend (Adam preferred), each with ``memory_backend`` set."""
    by_backend: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_backend.setdefault(memory_backend(row), []).append(row)
    return [{**_first(group, {"optimizer": "adam"}), "memory_backend": backend}
            for backend, group in sorted(by_backend.items(), key=lambda kv: str(kv[0]))]


def _settings(latencies: Sequence[Any], memories: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Report rows of one batch size: one per latency row (XLA or not) and one per memory
    backend, paired in order (the first latency row carries the first backend's memory); a
    single backend's memory goes with every latency row."""
    if len(memories) <= 1:
        return [(latency, memories[0] if memories else None) for latency in latencies]
    count = max(len(latencies), len(memories), 1)
    pad = [None] * count
    return list(zip((list(latencies) + pad)[:count], (list(memories) + pad)[:count]))


def _pick(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's measurement columns (not ``None``), without bookkeeping and ``env_*``."""
    skip = {"job_key", "group_key", "status", "measurement", "seed", "created_at", "run_id",
            "error", "error_kind", "returncode", "job_keys"}
    return {k: v for k, v in row.items()
            if v is not None and k not in skip and not k.startswith(("env_", "job_"))}


def merge_rows(rows: Iterable[Mapping[str, Any]],
               peaks: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Merge ok store rows into report rows (see the module docstring).

    Args:
        rows: Store rows (failed rows are ignored; accuracy seeds may be separate rows).
        peaks: ``{environment_hash: GFLOP/s}``; default: ``machine_peaks(rows)``.

    Returns:
        Report rows (``schema.COLUMN_NAMES``), architectures in order of first appearance,
        then by batch size, XLA off before on, datasets in order of appearance.
    """
    ok, _ = split_status(rows)
    peaks = dict(machine_peaks(ok) if peaks is None else peaks)
    ok = [r for r in ok if r.get("measurement") != "peak"]
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in aggregate_rows(ok):
        groups.setdefault(_arch_key(row), []).append(row)
    out: list[dict[str, Any]] = []
    for (env, _), group in groups.items():
        out.extend(_arch_rows(group, peaks.get(env)))
    return out


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


def parse_filters(items: Sequence[str] | None) -> dict[str, list[str]]:
    """``["family=resnet", "batch_size=1,32"]`` -> ``{"family": ["resnet"], ...}``.

    Values are comma-separated alternatives and may be globs (``name=resnet*``); a field
    given twice accumulates alternatives.

    Raises:
        ReportError: no ``=``, or a field that is not in ``schema.FILTER_FIELDS``.
    """
    out: dict[str, list[str]] = {}
    for item in items or ():
        field, sep, value = str(item).partition("=")
        field = field.strip()
        if not sep or not field:
            raise ReportError(f"--filter expects field=value, such as family=resnet. "
                              f"Received: --filter={item!r}")
        if field not in FILTER_FIELDS:
            raise ReportError(f"unknown filter field {field!r}; accepted: "
                              f"{', '.join(FILTER_FIELDS)}. Received: --filter={item!r}")
        out.setdefault(field, []).extend(v.strip() for v in value.split(","))
    return out


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matches(row: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``row`` passes every filter (case-insensitive globs; fields absent from the row
    count as empty)."""
    for field, patterns in filters.items():
        text = _cell_text(row.get(field)).lower()
        if not any(fnmatch.fnmatchcase(text, p.lower()) for p in patterns):
            return False
    return True


def apply_filters(rows: Iterable[Mapping[str, Any]],
                  filters: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """The rows that pass ``filters`` (all rows when there are none)."""
    return [dict(r) for r in rows if not filters or matches(r, filters)]
