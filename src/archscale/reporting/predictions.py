"""A report's memory predictions, from the memory model as it is now.

A memory job stores, beside the measured peaks, what the memory model predicted when the job
ran. A report recomputes the prediction from the job's own spec with the current rules, for
the row's backend, batch size, optimizer and dtype, so a rule change shows in the predicted
columns and their errors without re-measuring anything. Rows whose job has no spec (a saved
Keras model) keep the stored prediction; every row says which in ``memory_predicted_by``
(``current rules`` or ``rules at run time``).
"""

from __future__ import annotations

from typing import Any, Mapping

from archscale.errors import ArchscaleError
from archscale.profiling import Profile, profile
from archscale.reference_archs.registry import spec_from_dict

CURRENT, AT_RUN = "current rules", "rules at run time"


def _profile_of(job: Mapping[str, Any] | None, backend: Any,
                cache: dict[tuple[str, Any], Profile | None]) -> Profile | None:
    spec = (job or {}).get("spec")
    if not isinstance(spec, Mapping):
        return None
    key = (repr(sorted(spec.items())), backend)
    if key not in cache:
        try:
            cache[key] = profile(spec_from_dict(spec), backend=backend)
        except (ArchscaleError, TypeError, ValueError):
            cache[key] = None
    return cache[key]


def _error(predicted: int, measured: Any) -> float | None:
    return predicted / measured - 1.0 if isinstance(measured, (int, float)) and measured else None


def refresh_memory_predictions(rows: list[dict[str, Any]],
                               jobs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with every ok memory row's predicted peaks (and errors) recomputed.

    Args:
        rows: Store rows (one per job).
        jobs: ``{job_key: job dict}`` of the store.

    Returns:
        New rows; other rows unchanged.
    """
    cache: dict[tuple[str, Any], Profile | None] = {}
    out = []
    for row in rows:
        if not isinstance(row, dict) or row.get("measurement") != "memory" \
                or row.get("status") != "ok" or not row.get("batch_size"):
            out.append(row)
            continue
        prof = _profile_of(jobs.get(row.get("job_key", "")), row.get("memory_backend"), cache)
        if prof is None:
            out.append({**row, "memory_predicted_by": AT_RUN})
            continue
        batch, dtype = int(row["batch_size"]), row.get("memory_dtype") or "float32"
        train = prof.training_peak_bytes(batch, dtype, row.get("memory_optimizer") or "adam")
        infer = prof.inference_peak_bytes(batch, dtype)
        out.append({**row, "memory_predicted_by": CURRENT,
                    "train_peak_bytes_predicted": train,
                    "inference_peak_bytes_predicted": infer,
                    "train_peak_rel_error": _error(train, row.get("train_peak_bytes_measured")),
                    "inference_peak_rel_error":
                        _error(infer, row.get("inference_peak_bytes_measured"))})
    return out
