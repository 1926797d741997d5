"""The report's tables as (headers, rows of display strings), rendered with tabulate or HTML.

Tables hold display strings (``25.6M``, ``86.3 MiB``, ``1.23 [1.20, 1.27]``); the exact
numbers are in ``results.csv`` / ``results.json``. A column empty in every row is dropped.
``render`` turns a table into any tabulate format, escaping cells for Markdown formats (tabulate
escapes its own html and latex formats); ``html_table`` writes an escaped HTML table.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from archscale.reporting.frontiers import Frontier
from archscale.reporting.schema import label
from archscale.units import format_bytes, format_count

_MARKDOWN_FORMATS = ("github", "pipe", "orgtbl", "jira", "presto", "pretty", "psql", "rst",
                     "grid", "simple_grid", "rounded_grid", "heavy_grid", "mixed_grid",
                     "double_grid", "fancy_grid", "outline", "simple_outline", "rounded_outline",
                     "heavy_outline", "mixed_outline", "double_outline", "fancy_outline")


@dataclass(frozen=True)
class Table:
    """A titled table of display strings."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def count(value: Any) -> str:
    """``25636712`` -> ``"25.6M"`` (``archscale.units.format_count``); empty for missing."""
    v = _num(value)
    return "" if v is None else format_count(value)


def size(value: Any) -> str:
    """Bytes with binary units: ``1288490189`` -> ``"1.2 GiB"`` (``archscale.units.format_bytes``);
    empty for missing values."""
    v = _num(value)
    return "" if v is None else format_bytes(value)


def decimal(value: Any, digits: int = 3) -> str:
    """Significant digits (``1.234``, ``12.3``, ``1.23e+04`` avoided for < 1e6)."""
    v = _num(value)
    if v is None:
        return ""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def percent(value: Any, digits: int = 1) -> str:
    """``0.931`` -> ``"93.1%"``."""
    v = _num(value)
    return "" if v is None else f"{100 * v:.{digits}f}%"


def memory_pair(row: Mapping[str, Any], kind: str) -> str:
    """``"86.3 MiB / 91.2 MiB (-5.4%)"``: predicted / measured (relative error)."""
    pred, meas = row.get(f"{kind}_peak_bytes_predicted"), row.get(f"{kind}_peak_bytes_measured")
    if pred is None and meas is None:
        return ""
    text = f"{size(pred) or '-'} / {size(meas) or '-'}"
    error = _num(row.get(f"{kind}_peak_rel_error"))
    if error is None and _num(pred) is not None and _num(meas):
        error = float(pred) / float(meas) - 1
    return text + (f" ({100 * error:+.1f}%)" if error is not None else "")


def latency_cell(row: Mapping[str, Any]) -> str:
    """``"1.23 [1.20, 1.27]"``: median and its 95% CI, ms."""
    median = decimal(row.get("latency_ms_median"))
    low, high = row.get("latency_ms_median_ci_low"), row.get("latency_ms_median_ci_high")
    if median and _num(low) is not None and _num(high) is not None:
        return f"{median} [{decimal(low)}, {decimal(high)}]"
    return median


def gflops_cell(row: Mapping[str, Any]) -> str:
    """``"12.3 (4.1% of peak)"``."""
    achieved = decimal(row.get("achieved_gflops"))
    fraction = row.get("peak_fraction")
    return f"{achieved} ({percent(fraction)})" if achieved and _num(fraction) else achieved


def accuracy_cell(row: Mapping[str, Any], *, where: bool = True) -> str:
    """``"93.1% ± 0.4 (mnist1d, 3 seeds)"`` (without the parenthesis if not ``where``)."""
    mean = _num(row.get("accuracy_mean"))
    if mean is None:
        return "diverged" if row.get("diverged_seeds") else ""
    std = _num(row.get("accuracy_std")) or 0.0
    seeds = row.get("seeds") or []
    place = ", ".join(p for p in (str(row.get("dataset") or ""),
                                  f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
                                  if seeds else "") if p)
    spread = f" ± {100 * std:.1f}" if len(seeds) > 1 else ""
    return f"{100 * mean:.1f}%{spread}" + (f" ({place})" if place and where else "")


def batch_cell(row: Mapping[str, Any]) -> str:
    """``"32"`` or ``"32 XLA"``."""
    batch = row.get("batch_size")
    text = "" if batch is None else str(batch)
    return f"{text} XLA" if row.get("xla") else text


RESULT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("architecture", lambda r: str(r.get("name") or "")),
    ("family", lambda r: str(r.get("family") or "")),
    ("input", lambda r: str(r.get("input_shape") or "")),
    ("batch", batch_cell),
    ("params", lambda r: count(r.get("params"))),
    ("MACs", lambda r: count(r.get("macs"))),
    ("FLOPs", lambda r: count(r.get("flops"))),
    ("memory kernels", lambda r: str(r.get("memory_backend") or "")),
    ("train memory pred / meas", lambda r: memory_pair(r, "train")),
    ("inference memory pred / meas", lambda r: memory_pair(r, "inference")),
    ("train memory (predicted)", lambda r: size(r.get("train_peak_bytes_predicted"))),
    ("inference memory (predicted)", lambda r: size(r.get("inference_peak_bytes_predicted"))),
    ("latency ms median [95% CI]", latency_cell),
    ("p90 ms", lambda r: decimal(r.get("latency_ms_p90"))),
    ("examples/s", lambda r: decimal(r.get("samples_per_second"))),
    ("GFLOP/s (of peak)", gflops_cell),
    ("dataset", lambda r: str(r.get("dataset") or "") if r.get("accuracy_mean") is not None
     or r.get("diverged_seeds") else ""),
    ("accuracy mean ± std", lambda r: accuracy_cell(r, where=False)),
)


def _drop_empty(headers: Sequence[str], rows: Sequence[Sequence[str]]
                ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    keep = [i for i in range(len(headers)) if any(r[i] for r in rows)] or list(range(len(headers)))
    return (tuple(headers[i] for i in keep),
            tuple(tuple(r[i] for i in keep) for r in rows))


def results_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """One line per architecture and setting (batch size, XLA, dataset)."""
    measured = {k: any(r.get(f"{k}_peak_bytes_measured") is not None for r in rows)
                for k in ("train", "inference")}
    columns = [(h, fn) for h, fn in RESULT_COLUMNS
               if not (h.endswith("pred / meas") and not measured[h.split()[0]])
               and not (h.endswith("(predicted)") and measured[h.split()[0]])]
    body = [[fn(r) for _, fn in columns] for r in rows]
    headers, cells = _drop_empty([h for h, _ in columns], body)
    note = ("Memory: analytic prediction / allocator measurement (relative error of the "
            "prediction), for the TensorFlow kernels in 'memory kernels' (onednn, eigen: "
            "TF_ENABLE_ONEDNN_OPTS=1 / 0; gpu). Latency: median of one batch, bootstrap 95% "
            "confidence interval. GFLOP/s = 2 x MACs x batch / median latency.")
    return Table("Results", headers, cells, note)


def accuracy_table(rows: Sequence[Mapping[str, Any]]) -> Table | None:
    """Per architecture and dataset: per-seed accuracies, training time and FLOPs."""
    seen, body = set(), []
    for r in rows:
        key = (r.get("environment_hash"), r.get("spec_hash"), r.get("name"), r.get("dataset"))
        if key in seen or (r.get("accuracy_mean") is None and not r.get("diverged_seeds")):
            continue
        seen.add(key)
        per_seed = ", ".join("diverged" if v is None else percent(v)
                             for v in r.get("accuracy_per_seed") or [])
        body.append([str(r.get("name") or ""), str(r.get("dataset") or ""), accuracy_cell(r),
                     per_seed, decimal(r.get("best_epoch_mean")),
                     decimal(r.get("train_seconds")), count(r.get("train_flops")),
                     str(r.get("diverged_seeds") or 0)])
    if not body:
        return None
    headers = ("architecture", "dataset", "accuracy", "per seed", "best epoch (mean)",
               "train s (all seeds)", "train FLOPs", "diverged seeds")
    return Table("Accuracy", *_drop_empty(headers, body))


def _value(column: str, value: Any) -> str:
    if column.startswith("accuracy") or column == "peak_fraction":
        return percent(value)
    if "bytes" in column:
        return size(value)
    if column in ("params", "trainable_params", "macs", "flops", "train_flops"):
        return count(value)
    return decimal(value)


def pareto_table(fr: Frontier) -> Table:
    """The frontier rows (by the x column), then the dominated ones and those missing values."""
    order = {"front": 0, "dominated": 1, "missing": 2}
    results = sorted(fr.results, key=lambda r: (order[r.status],
                                                r.values[-1] if r.values[-1] is not None
                                                else math.inf, r.index))
    body = []
    for res in results:
        row = fr.rows[res.index]
        if res.status == "front":
            status = "on the frontier"
        elif res.status == "dominated":
            status = "dominated by " + ", ".join(res.dominated_by)
        else:
            status = "no " + ", ".join(label(m) for m in res.missing)
        body.append((str(row.get("label")), _value(fr.x, row.get(fr.x)),
                     _value(fr.y, row.get(fr.y)), status))
    return Table(fr.title, ("architecture", label(fr.x), label(fr.y), "Pareto status"),
                 tuple(body))


def failed_table(rows: Sequence[Mapping[str, Any]]) -> Table | None:
    """Failed jobs with their error (first 200 characters)."""
    if not rows:
        return None
    body = [(str(r.get("name") or ""), str(r.get("measurement") or ""),
             "" if r.get("batch_size") is None else str(r["batch_size"]),
             str(r.get("dataset") or ""), "" if r.get("seed") is None else str(r["seed"]),
             str(r.get("error_kind") or ""), str(r.get("error") or "")[:200]) for r in rows]
    return Table("Failed jobs", *_drop_empty(("architecture", "measurement", "batch", "dataset",
                                              "seed", "kind", "error"), body))


def environment_table(env: Mapping[str, Any], title: str) -> Table:
    """``env_*`` fields of one environment, one line each (bytes shown with units)."""
    body = []
    for key, value in env.items():
        name = key[4:] if key.startswith("env_") else key
        text = size(value) if name.endswith("bytes") and _num(value) else \
            ("" if value is None else str(value))
        body.append((name, text))
    return Table(title, ("field", "value"), tuple(body))


def scaling_table(tables: Sequence[Any]) -> Table | None:
    """Fitted exponents of params, MACs and activations vs width and input size."""
    if not tables:
        return None
    body = []
    for t in tables:
        fmt = (lambda a, q: "" if t.exponent(a, q) is None else f"{t.exponent(a, q):.2f}")
        body.append((t.family, t.base, "x".join(map(str, t.input_shape)),
                     fmt("width", "params"), fmt("width", "macs"),
                     fmt("width", "activation_bytes"), fmt("size", "params"),
                     fmt("size", "macs"), fmt("size", "activation_bytes")))
    headers = ("family", "base", "input", "params ~ width^", "MACs ~ width^",
               "activations ~ width^", "params ~ size^", "MACs ~ size^", "activations ~ size^")
    return Table("How dimensions scale (fitted exponents)", headers, tuple(body))


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def markdown_escape(text: str) -> str:
    """Escape a cell for GitHub Markdown: backslash escapes and entities for ``<>&``."""
    out = html.escape(str(text), quote=False)
    for char in "\\`*_[]|":
        out = out.replace(char, "\\" + char)
    return out


def render(table: Table, tablefmt: str = "github") -> str:
    """The table in a tabulate format (Markdown-like formats get escaped cells)."""
    from tabulate import tabulate

    rows = table.rows
    headers = table.headers
    if tablefmt in ("github", "pipe"):
        rows = tuple(tuple(markdown_escape(c) for c in r) for r in rows)
        headers = tuple(markdown_escape(h) for h in headers)
    elif tablefmt in _MARKDOWN_FORMATS:
        rows = tuple(tuple(c.replace("|", "\\|") for c in r) for r in rows)
    return tabulate([list(r) for r in rows], headers=list(headers), tablefmt=tablefmt,
                    disable_numparse=True)


def html_table(table: Table) -> str:
    """An escaped ``<table>`` (every cell and header through ``html.escape``)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    def cell(text: str) -> str:
        wrap = ' class="wrap"' if len(text) > 48 else ""
        return f"<td{wrap}>{html.escape(text)}</td>"

    body = "\n".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in table.rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
