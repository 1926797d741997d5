"""The report's figures (matplotlib, Agg canvas; no pyplot, no global state), as PNG and SVG.

- ``frontier_plot``: a trade-off (accuracy vs MACs, accuracy vs latency...) with every row as a
  point coloured by family, the Pareto frontier drawn as a staircase, points labelled.
- ``latency_macs_plots``: latency vs MACs on log axes, one figure per batch size, with lines
  of constant achieved GFLOP/s and the machine's peak.

``archscale.reporting.plots_dimensions`` has the memory-vs-batch and scaling figures.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from archscale.reporting.frontiers import (Frontier, describe_group, group_slug, setting_keys,
                                           unique_labels)
from archscale.reporting.labels import LabelPoint, free_position, place_labels, point_boxes
from archscale.reporting.schema import label
from archscale.reporting.tables import count

DPI = 110
FRONT_COLOR = "#d62728"


@dataclass(frozen=True)
class Plot:
    """One rendered figure: ``plots/<slug>.png`` and ``.svg``."""

    slug: str
    title: str
    caption: str
    png: bytes
    svg: str


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches on its own Agg canvas."""
    return _figure(width, height)


def render(fig: Any, slug: str, title: str, caption: str) -> Plot:
    """Save ``fig`` as PNG and SVG (deterministic SVG ids, no dates)."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "archscale", "svg.fonttype": "path"}):
        png, svg = io.BytesIO(), io.StringIO()
        fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight",
                    metadata={"Software": None})
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    return Plot(slug, title, caption, png.getvalue(), svg.getvalue())


def palette(i: int) -> Any:
    """The i-th colour: tab10, then the light half of tab20."""
    from matplotlib import colormaps

    return colormaps["tab10"](i) if i < 10 else colormaps["tab20"](2 * ((i - 10) % 10) + 1)


def family_colors(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A fixed colour per family (tab10 order of first appearance)."""
    families = list(dict.fromkeys(str(r.get("family")) for r in rows))
    return {f: palette(i) for i, f in enumerate(families)}


def _tick_text(value: float) -> str:
    return count(value) if abs(value) >= 1000 else f"{value:g}"


def plain_log_ticks(ax: Any, axis: str = "both") -> None:
    """Log-axis tick labels as plain numbers (``0.5``, ``2``, ``10K``, ``1G``), with the 2 and
    5 minor ticks labelled when the axis spans less than two decades."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for name in ("x", "y") if axis == "both" else (axis,):
        target = ax.xaxis if name == "x" else ax.yaxis
        if (ax.get_xscale() if name == "x" else ax.get_yscale()) != "log":
            continue
        low, high = sorted(ax.get_xlim() if name == "x" else ax.get_ylim())
        target.set_major_formatter(FuncFormatter(lambda v, _: _tick_text(v)))
        if low > 0 and math.log10(high / low) < 2:
            target.set_minor_formatter(FuncFormatter(
                lambda v, _: _tick_text(v) if round(v / 10 ** math.floor(math.log10(v)), 6)
                in (2.0, 5.0) else ""))
        else:
            target.set_minor_formatter(NullFormatter())


def _wants_log(values: Sequence[float]) -> bool:
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) and bool(values) and max(values) / min(values) > 20


def _style_axis(ax: Any, column: str, values: Sequence[float], axis: str) -> None:
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    if _wants_log(values):
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label(column))
    target = ax.xaxis if axis == "x" else ax.yaxis
    if column.startswith("accuracy") or column == "peak_fraction":
        target.set_major_formatter(PercentFormatter(1.0))
    elif not _wants_log(values):
        target.set_major_formatter(FuncFormatter(lambda v, _: _tick_text(v)))


def _pad_limits(ax: Any, xs: Sequence[float], ys: Sequence[float]) -> None:
    """Room around the points for labels (in log or linear units)."""
    for values, scale, setter in ((xs, ax.get_xscale(), ax.set_xlim),
                                  (ys, ax.get_yscale(), ax.set_ylim)):
        low, high = min(values), max(values)
        if scale == "log":
            span = max(math.log10(high / low), 0.5)
            setter(low / 10 ** (0.12 * span), high * 10 ** (0.12 * span))
        else:
            span = (high - low) or abs(high) or 1.0
            setter(low - 0.12 * span, high + 0.12 * span)


def _omitted(n: int) -> str:
    return (f" {n} label{'s' if n > 1 else ''} left out for lack of room (see the tables)."
            if n > 0 else "")


def _legend(ax: Any, handles: Sequence[Any] | None = None) -> None:
    kwargs = {"handles": handles} if handles is not None else {}
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              borderaxespad=0.0, **kwargs)


def frontier_plot(fr: Frontier, colors: Mapping[str, Any]) -> Plot | None:
    """Scatter of ``fr.y`` against ``fr.x`` with the frontier and labels (None: no points)."""
    from matplotlib.lines import Line2D

    points = [(r, res) for r, res in zip(fr.rows, fr.results)
              if res.status != "missing"]
    if not points:
        return None
    fig = _figure(8.0, 5.2)
    ax = fig.add_subplot()
    xs = [float(r[fr.x]) for r, _ in points]
    ys = [float(r[fr.y]) for r, _ in points]
    _style_axis(ax, fr.x, xs, "x")
    _style_axis(ax, fr.y, ys, "y")
    for (row, res), x, y in zip(points, xs, ys):
        ax.scatter([x], [y], s=46 if res.on_front else 28, color=colors.get(str(row["family"])),
                   edgecolors="black" if res.on_front else "none", linewidths=0.9, zorder=3)
    front = fr.front()
    if front:
        fx, fy = [float(r[fr.x]) for r in front], [float(r[fr.y]) for r in front]
        ax.step(fx, fy, where="post", color=FRONT_COLOR, lw=1.4, zorder=2, alpha=0.85)
    _pad_limits(ax, xs, ys)
    plain_log_ticks(ax)
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(fr.title, fontsize=10)
    handles = [Line2D([], [], ls="", marker="o", color=c, label=f)
               for f, c in colors.items() if any(str(r["family"]) == f for r, _ in points)]
    handles.append(Line2D([], [], color=FRONT_COLOR, lw=1.4, label="Pareto frontier"))
    _legend(ax, handles)
    fig.tight_layout()
    names = unique_labels([r for r, _ in points], short=True)
    placed = place_labels(ax, [LabelPoint(x, y, name, must=res.on_front)
                               for (_, res), x, y, name in zip(points, xs, ys, names)])
    on = sum(1 for _, res in points if res.on_front)
    wants = " and ".join(f"{'higher' if d == 'max' else 'lower'} {label(c)}"
                         for c, d in fr.objectives.items())
    caption = (f"{len(points)} architectures; {on} on the Pareto frontier (black-edged points "
               f"joined by the red staircase): no other architecture has both {wants}."
               + _omitted(len(points) - len(placed)))
    return render(fig, fr.slug, fr.title, caption)


# ---------------------------------------------------------------------------------------------
# Latency vs MACs
# ---------------------------------------------------------------------------------------------


def _groups(rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
            needed: Sequence[str]) -> dict[tuple, list[Mapping[str, Any]]]:
    out: dict[tuple, dict[tuple, Mapping[str, Any]]] = {}
    for row in rows:
        if any(row.get(c) is None for c in needed):
            continue
        ident = (row.get("spec_hash"), row.get("name"))
        out.setdefault(tuple(row.get(k) for k in keys), {}).setdefault(ident, row)
    return {k: list(v.values()) for k, v in out.items()}


def _decades(low: float, high: float) -> list[float]:
    return [10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def latency_macs_plots(rows: Sequence[Mapping[str, Any]], colors: Mapping[str, Any]
                       ) -> list[Plot]:
    """Latency vs MACs per example (log-log), one figure per batch size / XLA / machine."""
    from matplotlib.lines import Line2D

    keys = setting_keys(("latency_ms_median",))
    plots = []
    for group, members in _groups(rows, keys, ("macs", "latency_ms_median")).items():
        members = [r for r in members if r["macs"] > 0 and r["latency_ms_median"] > 0]
        if not members:
            continue
        setting = dict(zip(keys, group))
        batch = int(setting.get("batch_size") or 1)
        fig = _figure(8.0, 5.2)
        ax = fig.add_subplot()
        ax.set_xscale("log")
        ax.set_yscale("log")
        xs = [float(r["macs"]) for r in members]
        ys = [float(r["latency_ms_median"]) for r in members]
        for row, x, y in zip(members, xs, ys):
            ax.scatter([x], [y], s=30, color=colors.get(str(row["family"])), zorder=3)
        _pad_limits(ax, xs, ys)
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        # latency_ms = 2 * macs * batch / (G * 1e6)  <=>  G = 2 * macs * batch / (ms * 1e6)
        gmin = 2 * x0 * batch / (y1 * 1e6)
        gmax = 2 * x1 * batch / (y0 * 1e6)
        line_x = [x0, x1]
        decades = _decades(gmin, gmax)
        for g in decades:
            line_y = [2 * x * batch / (g * 1e6) for x in line_x]
            ax.plot(line_x, line_y, color="0.6", lw=0.7, ls="--", zorder=1)
        peak = next((r.get("machine_peak_gflops") for r in members
                     if r.get("machine_peak_gflops")), None)
        handles = [Line2D([], [], ls="", marker="o", color=c, label=f) for f, c in colors.items()
                   if any(str(r["family"]) == f for r in members)]
        handles.append(Line2D([], [], color="0.6", ls="--", lw=0.7,
                              label="constant achieved GFLOP/s"))
        if peak:
            ax.plot(line_x, [2 * x * batch / (peak * 1e6) for x in line_x], color=FRONT_COLOR,
                    lw=1.5, zorder=2)
            handles.append(Line2D([], [], color=FRONT_COLOR, lw=1.5,
                                  label=f"machine peak {peak:.3g} GFLOP/s"))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        plain_log_ticks(ax)
        ax.set_xlabel(label("macs"))
        ax.set_ylabel(f"median latency of a batch of {batch} (ms)")
        title = f"latency vs MACs{describe_group(setting)}"
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="major", alpha=0.25)
        _legend(ax, handles)
        fig.tight_layout()
        line_texts = _line_labels(ax, decades, batch, list(zip(xs, ys)))
        names = unique_labels(members, short=True)
        placed = place_labels(ax, [LabelPoint(x, y, n) for x, y, n in zip(xs, ys, names)],
                              avoid=line_texts)
        caption = ("Dashed lines: constant achieved throughput (2 x MACs x batch / latency); "
                   "points below-right of a line run faster than it. "
                   + ("Red: this machine's measured matmul peak." if peak else
                      "The machine peak was not measured.") + _omitted(len(xs) - len(placed)))
        plots.append(render(fig, "latency_vs_macs" + group_slug(setting), title, caption))
    return plots


def _line_labels(ax: Any, gflops: Sequence[float], batch: int,
                 points: Sequence[tuple[float, float]]) -> list[Any]:
    """Label each constant-GFLOP/s line where the text covers no point and no other label."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    boxes = point_boxes(ax, points, marker_px=14)
    placed = []
    for g in gflops:
        candidates = []
        for fraction in (0.9, 0.75, 0.6, 0.45, 0.3, 0.15):
            y = y0 * (y1 / y0) ** fraction
            x = y * g * 1e6 / (2 * batch)
            if x0 < x < x1:
                candidates.append((x, y))
        text = ax.text(0, 0, f"{g:g} GFLOP/s", fontsize=6.5, color="0.4", ha="right",
                       va="center", zorder=1, bbox={"boxstyle": "round,pad=0.1", "fc": "white",
                                                   "ec": "none", "alpha": 0.85})
        if free_position(ax, text, candidates, boxes):
            placed.append(text)
            boxes.append(text.get_window_extent(ax.figure.canvas.get_renderer()).padded(2))
    return placed
