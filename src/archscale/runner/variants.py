"""Sweep entries -> concrete architectures: presets or spec files, overrides, grids, widths.

Shared by ``archscale.runner.sweep``: the small validators that name the offending key, and
the expansion of one ``[[arch]]`` entry into labelled, validated specs (each variant's graph
is built, so an invalid override or an input too small for the architecture is bad input
before any job runs).
"""

from __future__ import annotations

import difflib
import fnmatch
import itertools
import os
from typing import Any, Mapping, Sequence

from archscale.errors import ArchscaleError, SpecError
from archscale.profiling import load_spec
from archscale.reference_archs.registry import build_graph, list_presets, preset
from archscale.runner.scaling import width_overrides
from archscale.specs import ArchSpec


def received(key: str, value: Any) -> str:
    return f"Received: {key}={value!r}"


def check_keys(table: Any, accepted: Sequence[str], where: str) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise SpecError(f"{where} must be a table. {received(where, table)}")
    for key in table:
        if key not in accepted:
            name = f"{where}.{key}" if where else key
            raise SpecError(f"unknown key {name!r}; accepted: {', '.join(accepted)}. "
                            f"{received(name, table[key])}")
    return table


def as_list(value: Any, key: str) -> list[Any]:
    items = [value] if isinstance(value, (str, int, float, Mapping)) else value
    if not isinstance(items, list) or not items:
        raise SpecError(f"{key} must be a non-empty list. {received(key, value)}")
    return items


def int_list(value: Any, key: str, *, low: int) -> tuple[int, ...]:
    out = []
    for i, item in enumerate(as_list(value, key)):
        if isinstance(item, bool) or not isinstance(item, int) or item < low:
            what = "positive ints" if low >= 1 else "ints >= 0"
            raise SpecError(f"{key} must be a list of {what}. {received(f'{key}[{i}]', item)}")
        out.append(item)
    return tuple(dict.fromkeys(out))


def bases(entry: Mapping[str, Any], where: str,
           base_dir: str) -> list[tuple[str | None, ArchSpec, str]]:
    """``(preset name or None, spec, label)`` for the entry's preset(s) or spec file."""
    if ("preset" in entry) == ("spec" in entry):
        raise SpecError(f"{where} needs exactly one of 'preset' or 'spec'. Received: "
                        f"{where} keys={sorted(entry)}")
    if "spec" in entry:
        path = entry["spec"]
        if not isinstance(path, str):
            raise SpecError(f"{where}.spec must be a path. {received(where + '.spec', path)}")
        full = os.path.join(base_dir, os.path.expanduser(path))
        stem = os.path.splitext(os.path.basename(path))[0]
        return [(None, load_spec(full), stem)]
    out = []
    for i, pattern in enumerate(as_list(entry["preset"], f"{where}.preset")):
        key = f"{where}.preset"
        if not isinstance(pattern, str):
            raise SpecError(f"{key} must be a preset name or glob. {received(key, pattern)}")
        names = list_presets(pattern) if any(c in pattern for c in "*?[") else [pattern]
        if not names:
            raise SpecError(f"{key}: the pattern matches no preset. {received(key, pattern)}")
        for name in names:
            try:
                out.append((name, preset(name), name))
            except SpecError as exc:
                raise SpecError(f"{key}: {_unknown_preset(name, exc)}") from None
    return out


def _unknown_preset(name: str, exc: Exception) -> str:
    close = difflib.get_close_matches(name, list_presets(), n=3)
    if not close:
        return str(exc)
    return f"unknown preset {name!r}; did you mean {', '.join(close)}? Received: preset={name!r}"


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value) and value:
        return "x".join(str(v) for v in value)
    return str(value).replace(" ", "")


def expand_entry(base: ArchSpec, base_label: str, entry: Mapping[str, Any], where: str, *,
                  named: bool = False) -> list[tuple[str, ArchSpec]]:
    """Apply ``set``, every ``grid`` combination and every ``width`` to ``base``.

    Labels list the ``set`` overrides (unless the entry is ``named``), grid values and width.
    """
    overrides = entry.get("set", {})
    if not isinstance(overrides, Mapping):
        raise SpecError(f"{where}.set must be a table of field overrides. "
                        f"{received(where + '.set', overrides)}")
    grid = entry.get("grid", {})
    if not isinstance(grid, Mapping):
        raise SpecError(f"{where}.grid must be a table of lists. {received(where + '.grid', grid)}")
    axes = {k: as_list(None if isinstance(v, Mapping) else v, f"{where}.grid.{k}")
            for k, v in grid.items()}
    widths = as_list(entry["width"], f"{where}.width") if "width" in entry else [None]
    labels_fixed = [] if named else [f"{k}={_fmt(v)}" for k, v in overrides.items()]
    out = []
    for combo in itertools.product(*axes.values()):
        fields = {**overrides, **dict(zip(axes, combo))}
        parts = labels_fixed + [f"{k}={_fmt(v)}" for k, v in zip(axes, combo)]
        for width in widths:
            label = " ".join([base_label, *parts] + ([f"width={width}"] if width is not None
                                                     else []))
            out.append((label, _build(base, fields, width, where, label)))
    return out


def _build(base: ArchSpec, fields: dict[str, Any], width: Any, where: str,
           label: str) -> ArchSpec:
    """The variant's spec, validated by building its graph (a ShapeError is bad input)."""
    try:
        spec = base.replace(**fields) if fields else base
        if width is not None:
            spec = spec.replace(**width_overrides(spec, width))
        build_graph(spec)
    except ArchscaleError as exc:
        raise type(exc)(f"{where} ({label}): {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise SpecError(f"{where} ({label}): invalid override ({type(exc).__name__}: {exc}). "
                        f"Received: {fields}") from None
    return spec


def match_any(patterns: Sequence[str], name: str) -> bool:
    """Case-insensitive glob match of ``name`` against any of ``patterns``."""
    return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)
