"""Jobs: one measurement of one spec with one setting each (batch size, dataset, seed).

A job's key is the SHA-256 of the canonical JSON (sorted keys, no spaces) of::

    {"spec": spec.to_dict(), "measurement": name,
     "settings": {...every setting, incl. batch_size or the full training recipe},
     "dataset": {...} or null, "seed": int or null, "environment": key_environment()}

so the same measurement of the same architecture on the same machine and software has the
same key in every sweep, and anything that changes the number changes the key. Memory jobs
(``Measurement.uses_backend``) also carry ``settings.backend``, the kernels TensorFlow will run
(``archscale.environment.detect_backend``: ``TF_ENABLE_ONEDNN_OPTS``, else the CPU's features),
so re-running them with the other ``TF_ENABLE_ONEDNN_OPTS`` measures anew; the shared
environment part stays without it, so the keys of every other measurement are unchanged. Labels,
timeouts and the sweep's name are not part of the key. ``group_key`` is the same hash without
the seed: the jobs of one accuracy measurement over several seeds share it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from archscale.environment import detect_backend, environment, fingerprint
from archscale.runner.dataset_entries import dataset_label, resolve_recipe
from archscale.runner.measurements import MEASUREMENTS, get_measurement
from archscale.runner.sweep import Sweep

#: Fingerprint keys left out of job keys because they change between runs.
VOLATILE_MARKERS = ("time", "date", "pid", "uptime", "load", "free", "available", "host")


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys (the text that is hashed)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_hex(obj: Any) -> str:
    """SHA-256 (hex) of ``canonical_json(obj)``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _environment() -> tuple[tuple[str, Any], ...]:
    env = environment()
    merged = {**fingerprint(), "keras": env.get("keras"), "python": env.get("python")}
    return tuple(sorted((k, v) for k, v in merged.items()
                        if not any(marker in k.lower() for marker in VOLATILE_MARKERS)))


def key_environment() -> dict[str, Any]:
    """The environment part of job keys: ``archscale.environment.fingerprint()`` plus
    the Keras and Python versions, without volatile fields (times, pids, free memory)."""
    return dict(_environment())


def environment_hash(env: Mapping[str, Any] | None = None) -> str:
    """First 16 hex digits of the SHA-256 of the key environment."""
    return sha256_hex(dict(env if env is not None else key_environment()))[:16]


def recorded_environments(store: Any) -> list[dict[str, Any]]:
    """The key environments to look a job's row up under: this machine's
    (``key_environment``), then the others ``store`` records (its ``environments()``), by
    hash. A store written on another machine is read through them."""
    here = key_environment()
    others = [env for h, env in sorted(store.environments().items())
              if h != environment_hash(here)]
    return [here, *others]


@dataclass(frozen=True)
class Job:
    """One unit of work run by one worker subprocess.

    Attributes:
        key: Hex SHA-256 identifying the result (see the module docstring).
        group_key: The key without the seed (seeds of one measurement share it).
        label: Display name of the architecture variant.
        preset: The preset the spec came from (None for spec files).
        family: The spec's family.
        spec: ``spec.to_dict()``.
        measurement: Measurement name.
        settings: Resolved settings, with ``batch_size`` for batch-using measurements.
        dataset: Canonical dataset description (accuracy) or None.
        seed: Seed (accuracy) or None.
        timeout_s: Wall-clock limit of the worker.
        exclusive: Runs alone (timings).
        environment: The environment hashed into the key.
    """

    key: str
    group_key: str
    label: str
    preset: str | None
    family: str
    spec: Mapping[str, Any]
    measurement: str
    settings: Mapping[str, Any]
    dataset: Mapping[str, Any] | None
    seed: int | None
    timeout_s: float
    exclusive: bool
    environment: Mapping[str, Any]

    @property
    def batch_size(self) -> int | None:
        """The batch size of batch-using measurements, else None."""
        return self.settings.get("batch_size")

    @property
    def dataset_name(self) -> str | None:
        """Short dataset label or None."""
        return dataset_label(self.dataset)

    def describe(self) -> str:
        """One-line description: ``resnet20 latency batch=1``, ``mlp accuracy mnist1d seed=0``."""
        parts = [self.label, self.measurement]
        if self.batch_size is not None:
            parts.append(f"batch={self.batch_size}")
        if self.dataset is not None:
            parts.append(self.dataset_name or "")
        if self.seed is not None and get_measurement(self.measurement).uses_seed:
            parts.append(f"seed={self.seed}")
        return " ".join(parts)

    def payload(self) -> dict[str, Any]:
        """The JSON object sent to the worker on stdin."""
        return {"key": self.key, "label": self.label, "spec": dict(self.spec),
                "measurement": self.measurement, "settings": dict(self.settings),
                "dataset": self.dataset, "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (stored with the result)."""
        return asdict(self)


def job_key(spec: Mapping[str, Any], measurement: str, settings: Mapping[str, Any],
            dataset: Mapping[str, Any] | None, seed: int | None,
            environment: Mapping[str, Any]) -> str:
    """The hex SHA-256 key of one job (see the module docstring)."""
    return sha256_hex({"spec": dict(spec), "measurement": measurement,
                       "settings": dict(settings), "dataset": dataset, "seed": seed,
                       "environment": dict(environment)})


def expand(sweep: Sweep, environment: Mapping[str, Any] | None = None,
           backend: str | None = None) -> list[Job]:
    """All jobs of a sweep, without duplicates (same key), measurement by measurement.

    Jobs are ordered by measurement (cost, the machine peak, latency, memory, accuracy: quick
    results first), then in sweep order. Accuracy jobs are one per (dataset, seed); latency,
    memory and cost jobs one per batch size; the seed of non-seeded measurements is None. With
    ``sweep.peak`` set, one ``peak`` job (spec ``{}``, family ``machine``) measures the machine.

    Args:
        sweep: A validated sweep.
        environment: The key environment (default: ``key_environment()``).
        backend: The backend of ``uses_backend`` measurements (default: ``detect_backend()``).

    Returns:
        The jobs.
    """
    env = dict(environment if environment is not None else key_environment())
    backend = backend or detect_backend()
    order = {name: i for i, name in enumerate(MEASUREMENTS)}
    jobs: dict[str, Job] = {}
    for variant in sweep.variants:
        spec = variant.spec.to_dict()
        for name in variant.measures:
            m = get_measurement(name)
            batches = variant.batch_sizes.get(name, (None,)) if m.uses_batch else (None,)
            datasets = variant.datasets if m.uses_dataset else (None,)
            seeds = variant.seeds if m.uses_seed else (None,)
            for batch in batches:
                settings = dict(variant.settings[name])
                if batch is not None:
                    settings["batch_size"] = batch
                if m.uses_backend:
                    settings["backend"] = backend
                for dataset in datasets:
                    if dataset is not None and "recipe" in settings:
                        settings = {**settings, "recipe": resolve_recipe(
                            dataset, variant.settings[name]["recipe"])}
                    group = job_key(spec, name, settings, dataset, None, env)
                    for seed in seeds:
                        key = job_key(spec, name, settings, dataset, seed, env)
                        jobs.setdefault(key, Job(
                            key=key, group_key=group, label=variant.label,
                            preset=variant.preset, family=variant.spec.family, spec=spec,
                            measurement=name, settings=settings, dataset=dataset, seed=seed,
                            timeout_s=variant.timeout_s, exclusive=m.exclusive,
                            environment=env))
    if sweep.peak is not None:
        settings = dict(sweep.peak)
        key = job_key({}, "peak", settings, None, None, env)
        jobs[key] = Job(key=key, group_key=key, label="machine", preset=None,
                        family="machine", spec={}, measurement="peak", settings=settings,
                        dataset=None, seed=None, timeout_s=sweep.peak_timeout_s, exclusive=True,
                        environment=env)
    return sorted(jobs.values(), key=lambda job: order[job.measurement])
