"""Sweep files (TOML): what to measure, on which architectures, datasets, batch sizes, seeds.

Format (every key optional except at least one ``[[arch]]``; errors name the key)::

    name = "example"                      # label stored with the run
    measure = ["cost", "latency", "memory"]   # default measurements of every [[arch]]
    batch_sizes = [1, 32]                 # cost/latency/memory: one job per batch size
    datasets = ["mnist1d"]                # accuracy: names or { name = "synthetic", ... }
    seeds = [0, 1, 2]                     # accuracy: one job per seed (default 0, 1, 2)
    timeout = 900                         # seconds per job (default 900)
    xla = false                           # latency: compile with XLA (= settings.latency.xla)
    workers = 1                           # parallel jobs for cost/memory/accuracy
                                          # (latency and peak jobs always run alone)
    executor = "auto"                     # fork: TensorFlow jobs fork from a server that
                                          # imported TF once; spawn: a fresh interpreter
                                          # per job; auto: fork on Linux without a GPU
    peak = true                           # one machine-peak job (large matmul GFLOP/s);
                                          # default: true when the sweep measures latency

    [settings.latency]                    # per-measurement settings (see measurements.py)
    min_samples = 30
    batch_sizes = [1, 32]                 # overrides the top-level batch_sizes
    [settings.memory]
    batch_sizes = [32]
    [settings.accuracy]
    recipe = { epochs = 30 }              # overrides of the dataset's default recipe

    [[arch]]
    preset = "resnet20"                   # a preset, a glob ("resnet*") or a list of them

    [[arch]]
    preset = "mobilenet_v2"
    name = "mbv2"                         # label (default: preset name + what varies)
    set = { input_shape = [96, 96, 3], classes = 10 }   # field overrides
    grid.alpha = [0.35, 0.5, 1.0]         # one variant per combination of grid values
    width = [0.5, 1.0, 2.0]               # family-aware width multipliers (scaling.py)
    measure = ["cost", "latency"]         # per-entry overrides of the top-level keys:
    batch_sizes = [1]                     #   measure, batch_sizes, datasets, seeds,
    settings.latency.min_samples = 10     #   timeout, settings

    [[arch]]
    spec = "specs/my_net.json"            # a spec file (relative to the sweep file)

Batch sizes of measurement M for an entry, most specific first: ``arch.settings.M.batch_sizes``,
``arch.batch_sizes``, ``settings.M.batch_sizes``, ``batch_sizes``, then the default (cost and
latency 1, memory 32). Every variant's graph is built while parsing, so an override that makes
the architecture invalid (bad field, input too small) is bad input, reported before any job runs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from typing import Any, Mapping

from archscale.errors import InputFileError, SpecError
from archscale.runner.dataset_entries import parse_dataset, resolve_recipe
from archscale.runner.executors import AUTO, executor_choices
from archscale.runner.measurements import (Measurement, as_bool, as_positive_float,
                                           as_positive_int, get_measurement, resolve_settings)
from archscale.runner.variants import (as_list, bases, check_keys, expand_entry, int_list,
                                       match_any, received)
from archscale.specs import ArchSpec

TOP_KEYS = ("name", "measure", "batch_sizes", "datasets", "seeds", "timeout", "xla", "workers",
            "executor", "peak", "settings", "arch")
ARCH_KEYS = ("preset", "spec", "name", "set", "grid", "width", "measure", "batch_sizes",
             "datasets", "seeds", "timeout", "settings")
DEFAULT_MEASURE = ("cost", "latency", "memory")
DEFAULT_BATCH = {"memory": (32,)}
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_TIMEOUT_S = 900.0
MAX_WORKERS = 2


@dataclass(frozen=True)
class Variant:
    """One concrete architecture of a sweep with the axes it is measured over.

    Attributes:
        label: Display name (preset + what was overridden).
        preset: The preset it came from, or ``None`` for a spec file.
        spec: The validated spec.
        measures: Measurement names, in order.
        batch_sizes: Batch sizes per batch-using measurement.
        settings: Resolved settings per measurement (without the batch size).
        datasets: Canonical dataset descriptions (accuracy).
        seeds: Seeds (accuracy).
        timeout_s: Per-job timeout.
    """

    label: str
    preset: str | None
    spec: ArchSpec
    measures: tuple[str, ...]
    batch_sizes: Mapping[str, tuple[int, ...]]
    settings: Mapping[str, Mapping[str, Any]]
    datasets: tuple[Mapping[str, Any], ...]
    seeds: tuple[int, ...]
    timeout_s: float


@dataclass(frozen=True)
class Sweep:
    """A parsed, validated sweep.

    Attributes:
        name / source: Label and origin (stored with the run).
        variants: The concrete architectures.
        workers / executor: How jobs run (``scheduler.run_sweep``; ``executors.EXECUTORS``).
        peak: Settings of the machine-peak job, or None for no such job.
        peak_timeout_s: Its timeout.
    """

    name: str
    source: str
    variants: tuple[Variant, ...]
    workers: int = 1
    executor: str = AUTO
    peak: Mapping[str, Any] | None = None
    peak_timeout_s: float = DEFAULT_TIMEOUT_S


def _measures(value: Any, key: str) -> tuple[Measurement, ...]:
    found = [get_measurement(n, f"{key}[{i}]", in_list=True)
             for i, n in enumerate(as_list(value, key))]
    return tuple({m.name: m for m in found}.values())


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load_sweep(path: str) -> Sweep:
    """Read and validate a sweep file.

    Args:
        path: A ``.toml`` file.

    Returns:
        The ``Sweep``.

    Raises:
        InputFileError: the file cannot be read or is not valid TOML.
        SpecError / ShapeError: an invalid key or value (the message names the key).
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise InputFileError(f"cannot read sweep file {path!r}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputFileError(f"sweep file {path!r} is not valid TOML: {exc}") from None
    return sweep_from_dict(data, base_dir=os.path.dirname(os.path.abspath(path)), source=path)


def sweep_from_dict(data: Mapping[str, Any], *, base_dir: str = ".",
                    source: str = "<dict>") -> Sweep:
    """Validate a sweep given as a dict (the parsed TOML).

    Args:
        data: The sweep (see the module docstring for the keys).
        base_dir: Directory that relative spec and ``npz:`` paths are relative to.
        source: Where the sweep came from (stored with the run).

    Returns:
        The ``Sweep``, one ``Variant`` per concrete architecture (in file order).

    Raises:
        SpecError / ShapeError / InputFileError: the first invalid key, naming it.
    """
    check_keys(data, TOP_KEYS, "")
    name = data.get("name", os.path.splitext(os.path.basename(source))[0])
    if not isinstance(name, str):
        raise SpecError(f"name must be a string. {received('name', name)}")
    workers = as_positive_int("workers", data.get("workers", 1))
    if workers > MAX_WORKERS:
        raise SpecError(f"workers must be at most {MAX_WORKERS}. {received('workers', workers)}")
    executor = data.get("executor", AUTO)
    if executor not in executor_choices():
        raise SpecError(f"executor must be one of {', '.join(executor_choices())}. "
                        f"{received('executor', executor)}")
    top = _level(data, "", base_dir)
    if "xla" in data:
        top["settings"].setdefault("latency", {})["xla"] = as_bool("xla", data["xla"])
    arches = data.get("arch")
    if not isinstance(arches, list) or not arches:
        raise SpecError("a sweep needs at least one [[arch]] table. "
                        f"{received('arch', arches)}")
    variants: list[Variant] = []
    for i, entry in enumerate(arches):
        where = f"arch[{i}]"
        check_keys(entry, ARCH_KEYS, where)
        variants.extend(_variants(entry, where, base_dir, top))
    wants_peak = any("latency" in v.measures for v in variants)
    if "peak" in data:
        wants_peak = as_bool("peak", data["peak"])
    peak = None
    if wants_peak:
        given = dict(top["settings"].get("peak", {}))
        given.pop("batch_sizes", None)
        peak = resolve_settings(get_measurement("peak"), given, "settings.peak")
    return Sweep(name=name, source=source, variants=tuple(variants), workers=workers,
                 executor=executor, peak=peak,
                 peak_timeout_s=top.get("timeout", DEFAULT_TIMEOUT_S))


def _level(table: Mapping[str, Any], prefix: str, base_dir: str) -> dict[str, Any]:
    """The axis keys present in the top level (``prefix`` "") or in one arch entry, validated.

    ``settings`` is always present: ``{measurement: {setting: value}}``.
    """
    key = (lambda k: f"{prefix}.{k}" if prefix else k)
    out: dict[str, Any] = {}
    if "measure" in table:
        out["measure"] = _measures(table["measure"], key("measure"))
    if "batch_sizes" in table:
        out["batch_sizes"] = int_list(table["batch_sizes"], key("batch_sizes"), low=1)
    if "datasets" in table:
        out["datasets"] = tuple(parse_dataset(d, f"{key('datasets')}[{i}]", base_dir)
                                for i, d in enumerate(as_list(table["datasets"],
                                                               key("datasets"))))
    if "seeds" in table:
        out["seeds"] = int_list(table["seeds"], key("seeds"), low=0)
    if "timeout" in table:
        out["timeout"] = as_positive_float(key("timeout"), table["timeout"])
    given = table.get("settings", {})
    if not isinstance(given, Mapping):
        raise SpecError(f"{key('settings')} must be a table. {received(key('settings'), given)}")
    settings: dict[str, dict[str, Any]] = {}
    for m_name, values in given.items():
        m_key = f"{key('settings')}.{m_name}"
        get_measurement(m_name, m_key)
        if not isinstance(values, Mapping):
            raise SpecError(f"{m_key} must be a table. {received(m_key, values)}")
        settings[m_name] = dict(values)
        if "batch_sizes" in values:
            settings[m_name]["batch_sizes"] = int_list(values["batch_sizes"],
                                                        f"{m_key}.batch_sizes", low=1)
    out["settings"] = settings
    return out


def _batch_sizes(m: Measurement, arch: dict[str, Any], top: dict[str, Any]) -> tuple[int, ...]:
    """Most specific first: arch settings, arch batch_sizes, top settings, top, default."""
    for level in (arch, top):
        if "batch_sizes" in level["settings"].get(m.name, {}):
            return level["settings"][m.name]["batch_sizes"]
        if "batch_sizes" in level:
            return level["batch_sizes"]
    return DEFAULT_BATCH.get(m.name, (1,))


def _variants(entry: Mapping[str, Any], where: str, base_dir: str,
              top: dict[str, Any]) -> list[Variant]:
    arch = _level(entry, where, base_dir)
    pick = (lambda k, default: arch.get(k, top.get(k, default)))
    measures = pick("measure", tuple(get_measurement(n) for n in DEFAULT_MEASURE))
    datasets = pick("datasets", ())
    settings, batches = {}, {}
    for m in measures:
        given = {**top["settings"].get(m.name, {}), **arch["settings"].get(m.name, {})}
        given.pop("batch_sizes", None)
        s_key = f"{where}.settings.{m.name}" if m.name in arch["settings"] \
            else f"settings.{m.name}"
        settings[m.name] = resolve_settings(m, given, s_key)
        if m.uses_batch:
            batches[m.name] = _batch_sizes(m, arch, top)
        if m.uses_dataset and not datasets:
            raise SpecError(f"{where}: measurement {m.name!r} needs datasets, such as "
                            f"datasets = [\"mnist1d\"]. Received: {where}.datasets=[]")
        for dataset in datasets if "recipe" in settings[m.name] else ():
            resolve_recipe(dataset, settings[m.name]["recipe"], f"{s_key}.recipe")
    common = dict(measures=tuple(m.name for m in measures), batch_sizes=batches,
                  settings=settings, datasets=datasets, seeds=pick("seeds", DEFAULT_SEEDS),
                  timeout_s=pick("timeout", DEFAULT_TIMEOUT_S))
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise SpecError(f"{where}.name must be a string. {received(where + '.name', name)}")
    found = bases(entry, where, base_dir)
    out = []
    for preset_name, base, base_label in found:
        if name is not None:
            base_label = name if len(found) == 1 else f"{name} {base_label}"
        for label, spec in expand_entry(base, base_label, entry, where, named=name is not None):
            out.append(Variant(label=label, preset=preset_name, spec=spec, **common))
    return out


__all__ = ["Sweep", "Variant", "load_sweep", "match_any", "sweep_from_dict"]
