"""Which Pareto frontiers a report shows, and over which comparable rows.

Rows are only compared within one *setting*: accuracy on one dataset; latency at one batch
size, XLA flag and machine. Columns that do not depend on the setting (params, MACs) are
compared once per architecture (rows repeated for several batch sizes are deduplicated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from archscale.pareto import ParetoResult, pareto_front
from archscale.reporting.schema import direction, label

#: Columns whose value depends on the batch size / XLA flag / machine.
_SETTING_PREFIXES = ("latency_", "samples_per_second", "achieved_gflops", "peak_fraction",
                     "inference_peak_bytes", "train_peak_bytes", "train_step_ms", "trace_ms",
                     "machine_peak_gflops")
_DATASET_COLUMNS = ("accuracy_", "best_epoch", "train_seconds", "train_flops",
                    "diverged_seeds")

#: The standard frontiers: (x column, y column).
STANDARD = (("macs", "accuracy_mean"), ("latency_ms_median", "accuracy_mean"),
            ("params", "accuracy_mean"))


@dataclass
class Frontier:
    """One Pareto frontier over one group of comparable rows.

    Attributes:
        x: Column on the x axis (an objective).
        y: Column on the y axis (an objective).
        objectives: ``{column: "max" | "min"}``.
        group: The setting the rows share (``{"dataset": "mnist1d", "batch_size": 1}``).
        rows: The compared rows, with a unique display ``label`` each.
        results: ``pareto_front`` of ``rows`` (same order).
    """

    x: str
    y: str
    objectives: dict[str, str]
    group: dict[str, Any]
    rows: list[dict[str, Any]]
    results: list[ParetoResult] = field(default_factory=list)

    @property
    def title(self) -> str:
        """``"test accuracy vs MACs per example (dataset mnist1d)"``."""
        return f"{label(self.y)} vs {label(self.x)}{describe_group(self.group)}"

    @property
    def slug(self) -> str:
        """A file-name-safe identifier."""
        short = {"accuracy_mean": "accuracy", "latency_ms_median": "latency"}
        return slugify(f"{short.get(self.y, self.y)}_vs_{short.get(self.x, self.x)}") + \
            group_slug(self.group)

    def front(self) -> list[dict[str, Any]]:
        """The frontier rows, ordered by the x column."""
        rows = [self.rows[r.index] for r in self.results if r.on_front]
        return sorted(rows, key=lambda r: (r[self.x], r[self.y]))


def slugify(text: str) -> str:
    """Lower-case letters, digits, ``-`` and ``_`` only (for file names)."""
    out = "".join(c if c.isalnum() and c.isascii() or c in "-_" else "-" for c in str(text))
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-").lower()[:120] or "plot"


def group_slug(group: Mapping[str, Any]) -> str:
    """``"_b1_xla_mnist1d_m9dff99"``: a short file-name part for a setting."""
    parts = []
    for key, value in group.items():
        if key == "batch_size" and value is not None:
            parts.append(f"b{value}")
        elif key == "xla" and value:
            parts.append("xla")
        elif key == "dataset" and value:
            parts.append(slugify(str(value))[:40])
        elif key == "environment_hash" and value:
            parts.append(f"m{str(value)[:6]}")
    return "".join(f"_{p}" for p in parts)


def describe_group(group: Mapping[str, Any]) -> str:
    """``" (dataset mnist1d, batch 1)"`` or ``""``."""
    names = {"batch_size": "batch", "xla": "XLA", "environment_hash": "machine"}
    parts = []
    for key, value in group.items():
        if key == "xla":
            if value:
                parts.append("XLA")
            continue
        if key == "environment_hash":
            continue
        parts.append(f"{names.get(key, key)} {value}")
    return f" ({', '.join(parts)})" if parts else ""


def setting_keys(columns: Sequence[str]) -> list[str]:
    """The columns that rows must share to be compared on ``columns``."""
    keys = []
    if any(c.startswith(_DATASET_COLUMNS) for c in columns):
        keys.append("dataset")
    if any(c.startswith(_SETTING_PREFIXES) for c in columns):
        keys += ["batch_size", "xla", "environment_hash"]
    return keys


#: Label tokens left out of plot labels (the input and classes are in the tables).
_PLOT_DROPPED = ("input_shape=", "classes=")


def short_name(name: str) -> str:
    """A sweep label without its ``input_shape=``/``classes=`` overrides (for plots)."""
    kept = [t for t in str(name).split(" ") if not t.startswith(_PLOT_DROPPED)]
    return " ".join(kept) or str(name)


def unique_labels(rows: Sequence[Mapping[str, Any]], *, short: bool = False) -> list[str]:
    """Row names, made unique with the spec hash (then a counter) where names repeat.

    Args:
        rows: Rows with ``name`` (and ``spec_hash``).
        short: Drop ``input_shape=``/``classes=`` tokens (``short_name``) where that keeps
            the names distinct.
    """
    names = [str(r.get("name") or r.get("spec_hash") or "?") for r in rows]
    if short:
        origins: dict[str, set[str]] = {}
        for name in names:
            origins.setdefault(short_name(name), set()).add(name)
        names = [short_name(n) if len(origins[short_name(n)]) == 1 else n for n in names]
    seen: dict[str, int] = {}
    out = []
    for name, row in zip(names, rows):
        label_ = name
        if names.count(name) > 1 and row.get("spec_hash"):
            label_ = f"{name} [{str(row['spec_hash'])[:6]}]"
        seen[label_] = seen.get(label_, 0) + 1
        out.append(label_ if seen[label_] == 1 else f"{label_} #{seen[label_]}")
    return out


def frontier(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> list[Frontier]:
    """The frontiers of ``y`` against ``x`` (directions from ``schema.direction``), one per
    setting group; groups where no row has both values are left out.

    Args:
        rows: Report rows.
        x: Column of the x axis.
        y: Column of the y axis.

    Returns:
        Frontiers, in order of first appearance of their group.
    """
    keys = setting_keys((x, y))
    identity = ["environment_hash", "spec_hash", "name"] + keys
    groups: dict[tuple, dict[tuple, dict[str, Any]]] = {}
    for row in rows:
        if row.get(x) is None and row.get(y) is None:
            continue
        group = tuple(row.get(k) for k in keys)
        ident = tuple(row.get(k) for k in identity)
        groups.setdefault(group, {}).setdefault(ident, dict(row))
    objectives = {y: direction(y), x: direction(x)} if x != y else {y: direction(y)}
    out = []
    for group, members in groups.items():
        chosen = list(members.values())
        if not any(r.get(x) is not None and r.get(y) is not None for r in chosen):
            continue
        for row, name in zip(chosen, unique_labels(chosen)):
            row["label"] = name
        results = pareto_front(chosen, objectives, label_key="label")
        out.append(Frontier(x, y, objectives, dict(zip(keys, group)), chosen, results))
    return out


def standard_frontiers(rows: Sequence[Mapping[str, Any]],
                       extra: Sequence[tuple[str, str]] = ()) -> list[Frontier]:
    """The report's frontiers: ``extra`` (from ``--x``/``--y``) first, then ``STANDARD``."""
    pairs = list(dict.fromkeys([*extra, *STANDARD]))
    return [f for x, y in pairs for f in frontier(rows, x, y)]
