"""Flat result rows: how a finished job becomes a row, how seeds are aggregated, tables.

Every row has the identity columns ``ROW_IDENTITY`` first, then the measurement's own columns
(unit-suffixed, from the measurement's ``to_row()``), then the job's bookkeeping
(``JOB_COLUMNS``) and the ``env_*`` columns of the environment it ran in. Failed jobs have the
identity and bookkeeping columns, ``status = "failed"``, ``error`` and ``error_kind``
(``error`` | ``crash`` | ``killed`` | ``timeout``), and no measurement columns.

Accuracy runs one job per seed; ``aggregate_rows`` merges the ok rows of one measurement
(same ``group_key``: same spec, dataset, recipe, environment) into the row that
``measure_accuracy`` would report for all the seeds at once: ``accuracy_mean`` and
``accuracy_std`` (sample, n - 1) over the seeds that did not diverge, the ``*_per_seed`` lists,
``diverged_seeds``, ``seeds`` and ``job_keys`` (instead of ``seed`` and ``job_key``).
"""

from __future__ import annotations

import hashlib
import json
import statistics
from typing import Any, Iterable, Mapping, Sequence

from archscale.runner.jobs import environment_hash
from archscale.runner.store import utc_now

ROW_IDENTITY = ("job_key", "group_key", "status", "name", "preset", "family", "measurement",
                "dataset", "batch_size", "seed", "input_shape", "classes", "spec_hash")
JOB_COLUMNS = ("error", "error_kind", "returncode", "job_wall_s", "job_overhead_s",
               "job_import_s", "job_measure_s", "timeout_s", "created_at", "run_id",
               "environment_hash")


def spec_hash(spec: Mapping[str, Any]) -> str:
    """``ArchSpec.spec_hash()`` of a ``spec.to_dict()`` (first 16 hex digits)."""
    return hashlib.sha256(json.dumps(dict(spec), sort_keys=True).encode()).hexdigest()[:16]


def make_row(job: Any, outcome: Any, run_id: int | None = None) -> dict[str, Any]:
    """The flat row of a finished job.

    Args:
        job: The ``Job``.
        outcome: The executor's ``Outcome``.
        run_id: The run that produced it.

    Returns:
        The row (see the module docstring for the column order).
    """
    row: dict[str, Any] = {
        "job_key": job.key, "group_key": job.group_key, "status": outcome.status,
        "name": job.label, "preset": job.preset, "family": job.family,
        "measurement": job.measurement, "dataset": job.dataset_name,
        "batch_size": job.batch_size, "seed": job.seed,
        "input_shape": "x".join(str(v) for v in job.spec.get("input_shape", ())) or None,
        "classes": job.spec.get("classes"),
        "spec_hash": spec_hash(job.spec) if job.spec else "",
    }
    if outcome.status == "ok":
        row.update({k: v for k, v in outcome.row.items() if k not in row})
    row.update({
        "error": outcome.error, "error_kind": outcome.error_kind,
        "returncode": outcome.returncode, "job_wall_s": round(outcome.wall_s, 4),
        "job_overhead_s": round(outcome.overhead_s, 4), "job_import_s": outcome.import_s,
        "job_measure_s": outcome.measure_s, "timeout_s": job.timeout_s,
        "created_at": utc_now(), "run_id": run_id,
        "environment_hash": environment_hash(job.environment),
    })
    row.update({k: v for k, v in (outcome.environment or {}).items() if k not in row})
    return row


# ---------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------


def _mean(values: Sequence[Any]) -> float | None:
    values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return statistics.fmean(values) if values else None


def _concat(rows: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    out: list[Any] = []
    for row in rows:
        value = row.get(key)
        out.extend(value if isinstance(value, list) else [value])
    return out


def _merge_accuracy(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One row per accuracy measurement, as ``measure_accuracy`` over all the seeds reports:
    per-seed lists concatenated, mean/std over non-diverged seeds (std with n - 1), means of
    the per-seed ``train_seconds``/``train_flops``, sums of the ``*_total`` columns."""
    rows = sorted(rows, key=lambda r: r.get("seed"))
    out = dict(rows[0])
    for key in ("job_key", "seed", "returncode", "error", "error_kind"):
        out.pop(key, None)
    for key in rows[0]:
        if key.endswith("_per_seed") or key in ("diverged_seeds", "divergence_reasons"):
            out[key] = _concat(rows, key)
    accuracies = [a for a in out.get("accuracy_per_seed", []) if a is not None]
    flops = [r.get("train_flops") for r in rows]
    flops_total = [r.get("train_flops_total") for r in rows]
    out.update({
        "seeds": [r.get("seed") for r in rows],
        "accuracy_mean": statistics.fmean(accuracies) if accuracies else None,
        "accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else None,
        "best_epoch_mean": _mean([r.get("best_epoch_mean") for r in rows]),
        "train_seconds": _mean([r.get("train_seconds") for r in rows]),
        "train_flops": None if None in flops else round(statistics.fmean(flops)),
        "diverged": any(bool(r.get("diverged")) for r in rows),
        "job_keys": [r["job_key"] for r in rows],
        "created_at": max(str(r.get("created_at")) for r in rows),
    })
    if "train_flops_total" in out:
        out["train_flops_total"] = None if None in flops_total else int(sum(flops_total))
    for key in ("train_seconds_total", "job_wall_s", "job_overhead_s", "job_measure_s",
                "job_import_s"):
        numbers = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        if numbers:
            out[key] = sum(numbers)
    return out


def aggregate_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the ok per-seed rows of each seeded measurement merged into one row.

    Failed rows and unseeded measurements pass through unchanged; merged rows take the place
    of their first seed. A merged row has ``seeds`` and ``job_keys`` and no ``seed`` or
    ``job_key``.
    """
    rows = list(rows)
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("status") == "ok" and row.get("seed") is not None:
            groups.setdefault(row["group_key"], []).append(row)
    out, emitted = [], set()
    for row in rows:
        group = row.get("group_key")
        if row.get("status") != "ok" or row.get("seed") is None:
            out.append(dict(row))
        elif group not in emitted:
            emitted.add(group)
            merge = _merge_accuracy if row.get("measurement") == "accuracy" else _merge_plain
            out.append(merge(groups[group]))
    return out


def _merge_plain(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Non-accuracy seeded rows (test-only measurements): the first row, plus seeds/job_keys."""
    out = dict(rows[0])
    out.pop("job_key", None)
    out.pop("seed", None)
    out.update(seeds=[r.get("seed") for r in rows], job_keys=[r["job_key"] for r in rows])
    return out
