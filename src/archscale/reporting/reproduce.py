"""Exact commands to reproduce a report: a sweep file that re-creates every stored job.

``sweep_toml(jobs)`` writes one ``[[arch]]`` entry per architecture variant (a preset with
``set`` overrides, or a spec file when the spec cannot be expressed as overrides), with its
measurements, per-measurement batch sizes and non-default settings, datasets and seeds. Loading
that file with ``archscale.runner.sweep.load_sweep`` on the same machine expands to the same
job keys as the stored jobs, so ``archscale bench sweep.toml`` re-runs nothing already stored
and measures exactly the same jobs elsewhere.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, Iterable, Mapping, Sequence

from archscale.errors import ArchscaleError
from archscale.reference_archs.registry import preset
from archscale.runner.measurements import MEASUREMENTS
from archscale.runner.rows import spec_hash

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class NotToml(ValueError):
    """A value TOML cannot express (``None``)."""


def toml_value(value: Any) -> str:
    """A TOML literal for a JSON-like value.

    Raises:
        NotToml: ``value`` is or contains ``None`` (TOML has no null).
    """
    if value is None:
        raise NotToml("TOML has no null")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value else "nan"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise NotToml(f"cannot write {type(value).__name__} as TOML")


def toml_key(key: str) -> str:
    """A bare key when possible, else a quoted one."""
    return key if _BARE_KEY.match(key) else toml_value(str(key))


def _defaults(measurement: str) -> dict[str, Any]:
    m = MEASUREMENTS.get(measurement)
    return {k: s.default for k, s in (m.settings.items() if m else ())}


def _overrides(job: Mapping[str, Any]) -> dict[str, Any] | None:
    """``set`` overrides turning the job's preset into its spec, or ``None`` if impossible."""
    name = job.get("preset")
    if not name:
        return None
    try:
        base = preset(name).to_dict()
    except ArchscaleError:
        return None
    spec = dict(job["spec"])
    diff = {k: v for k, v in spec.items() if base.get(k) != v}
    if set(spec) != set(base) or any(v is None for v in diff.values()):
        return None
    return diff


def _variant_key(job: Mapping[str, Any]) -> str:
    return json.dumps([job.get("label"), job.get("preset"), job["spec"]], sort_keys=True)


def _arch_entries(jobs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``[[arch]]`` tables of one variant's jobs (one table when the axes allow)."""
    parts: dict[str, dict[str, Any]] = {}
    for job in jobs:
        settings = dict(job.get("settings") or {})
        batch = settings.pop("batch_size", None)
        settings.pop("backend", None)  # derived when the sweep is expanded (TF_ENABLE_ONEDNN_OPTS)
        part = parts.setdefault(json.dumps([job["measurement"], settings, job.get("dataset")],
                                           sort_keys=True, default=str),
                                {"measurement": job["measurement"], "settings": settings,
                                 "dataset": job.get("dataset"), "batches": [], "seeds": [],
                                 "timeout": job.get("timeout_s")})
        if batch is not None and batch not in part["batches"]:
            part["batches"].append(batch)
        if job.get("seed") is not None and job["seed"] not in part["seeds"]:
            part["seeds"].append(job["seed"])
    groups = list(parts.values())
    measures = [g["measurement"] for g in groups]
    seeds = {json.dumps(sorted(g["seeds"])) for g in groups if g["dataset"] is not None}
    timeouts = {g["timeout"] for g in groups}
    if len(set(measures)) == len(measures) and len(seeds) <= 1 and len(timeouts) == 1:
        return [_entry(groups)]
    # Several settings of one measurement, datasets with different seeds: one table each.
    return [_entry([g]) for g in groups]


def _entry(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"measure": list(dict.fromkeys(g["measurement"] for g in groups))}
    settings: dict[str, dict[str, Any]] = {}
    datasets: list[Any] = []
    for g in groups:
        defaults = _defaults(g["measurement"])
        own = {k: v for k, v in g["settings"].items() if defaults.get(k, object()) != v}
        if g["batches"]:
            own["batch_sizes"] = sorted(g["batches"])
        if own:
            settings.setdefault(g["measurement"], {}).update(own)
        if g["dataset"] is not None and g["dataset"] not in datasets:
            datasets.append(g["dataset"])
        if g["seeds"]:
            entry["seeds"] = sorted(g["seeds"])
    if datasets:
        entry["datasets"] = [_dataset_entry(d) for d in datasets]
    if groups[0].get("timeout") is not None:
        entry["timeout"] = float(groups[0]["timeout"])
    if settings:
        entry["settings"] = settings
    return entry


def _dataset_entry(desc: Mapping[str, Any]) -> Any:
    options = dict(desc.get("options") or {})
    return {"name": desc["name"], **options} if options else desc["name"]


def sweep_toml(jobs: Iterable[Mapping[str, Any]], *, name: str,
               spec_dir: str = "specs") -> tuple[str, dict[str, str]]:
    """A sweep file re-creating ``jobs`` (``Job.to_dict()`` dicts from the store).

    Args:
        jobs: Stored jobs.
        name: The sweep's ``name``.
        spec_dir: Directory (relative to the sweep file) of the spec files it refers to.

    Returns:
        ``(toml text, {relative spec path: spec JSON})``: spec files to write next to it for
        variants that are not a preset plus overrides. A ``peak`` job (the machine probe)
        becomes the top-level ``peak = true`` (with its settings); only the first one is
        kept, as a sweep has at most one.
    """
    variants: dict[str, list[Mapping[str, Any]]] = {}
    peaks: list[Mapping[str, Any]] = []
    for job in jobs:
        if job.get("measurement") == "peak":
            peaks.append(job)
        else:
            variants.setdefault(_variant_key(job), []).append(job)
    lines = ["# Re-creates the jobs of this report: archscale bench sweep.toml --db archscale.db",
             f"name = {toml_value(name)}",
             f"peak = {toml_value(bool(peaks))}  # the machine-peak job (large matmul GFLOP/s)"]
    if peaks:
        if peaks[0].get("timeout_s") is not None:
            lines.append(f"timeout = {toml_value(float(peaks[0]['timeout_s']))}")
        defaults = _defaults("peak")
        own = {k: v for k, v in dict(peaks[0].get("settings") or {}).items()
               if defaults.get(k, object()) != v}
        if own:
            lines.append(f"settings.peak = {toml_value(own)}")
    lines.append("")
    specs: dict[str, str] = {}
    for group in variants.values():
        first = group[0]
        overrides = _overrides(first)
        head: dict[str, Any] = {}
        if overrides is None:

            path = f"{spec_dir}/{spec_hash(first['spec'])}.json"
            specs[path] = json.dumps(first["spec"], indent=2, sort_keys=True) + "\n"
            head["spec"] = path
        else:
            head["preset"] = first["preset"]
        head["name"] = str(first.get("label") or first.get("preset") or "spec")
        if overrides:
            head["set"] = overrides
        for entry in _arch_entries(group):
            lines.append("[[arch]]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in {**head, **entry}.items())
            lines.append("")
    return "\n".join(lines), specs


def command(argv: Sequence[str]) -> str:
    """A shell command line with each argument quoted as needed."""
    return " ".join(shlex.quote(str(a)) for a in argv)
