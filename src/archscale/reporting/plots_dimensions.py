"""Figures of dimensions: memory vs batch size and how a family scales (matplotlib, Agg).

- ``memory_plot``: predicted and measured memory (training and inference peaks) vs batch size.
- ``scaling_plot``: one family's params/MACs/activations vs width multiplier and input size.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from archscale.reporting.frontiers import short_name, slugify
from archscale.reporting.plots import Plot, _figure, palette, render


# ---------------------------------------------------------------------------------------------
# Memory vs batch size
# ---------------------------------------------------------------------------------------------


_KINDS = {"train": "training-step", "inference": "inference"}


def _memory_archs(rows: Sequence[Mapping[str, Any]], kind: str
                  ) -> dict[str, list[tuple[str, list[Mapping[str, Any]]]]]:
    """``{family: [(label, rows of one architecture), ...]}`` with a ``kind`` memory figure."""
    from archscale.reporting.frontiers import unique_labels

    archs: dict[tuple, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("batch_size") and (row.get(f"{kind}_peak_bytes_predicted") is not None
                                      or row.get(f"{kind}_peak_bytes_measured") is not None):
            archs.setdefault((row.get("environment_hash"), row.get("spec_hash"),
                              row.get("name")), []).append(row)
    names = unique_labels([members[0] for members in archs.values()], short=True)
    families: dict[str, list[tuple[str, list[Mapping[str, Any]]]]] = {}
    for name, members in zip(names, archs.values()):
        families.setdefault(str(members[0].get("family")), []).append((name, members))
    return families


def _dense_log2_ticks(ax: Any) -> None:
    """On a log-2 y axis spanning under three doublings, add ticks at 1.5 x 2^k."""
    import math

    from matplotlib.ticker import LogLocator

    low, high = ax.get_ylim()
    if low > 0 and math.log2(high / low) < 3:
        ax.yaxis.set_major_locator(LogLocator(base=2, subs=(1.0, 1.5)))


def memory_plot(rows: Sequence[Mapping[str, Any]], curves: Mapping[str, Mapping[str, Any]],
                kind: str = "train") -> Plot | None:
    """Peak memory vs batch size, one panel per family: predicted (dashed) and measured
    (points).

    Args:
        rows: Report rows (the measured points and, without ``curves``, predicted points).
        curves: ``{spec_hash: {"batches": [...], "train": [...], "inference": [...]}}``:
            analytic predictions at more batch sizes (may be empty).
        kind: ``"train"`` (one training step) or ``"inference"``.

    Returns:
        The plot, or ``None`` when no row has a memory figure of that kind.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    from archscale.reporting.tables import size

    families = _memory_archs(rows, kind)
    if not families:
        return None
    cols = min(4, len(families))
    nrows = -(-len(families) // cols)
    fig = _figure(3.6 * cols, 3.1 * nrows + 0.4)
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    measured_any = False
    for ax, (family, archs) in zip(axes, families.items()):
        handles = []
        for i, (name, members) in enumerate(archs):
            color = palette(i)
            curve = curves.get(str(members[0].get("spec_hash"))) or {}
            by_batch = sorted({int(r["batch_size"]): r for r in members}.items())
            predicted = list(zip(curve["batches"], curve[kind])) if curve.get("batches") else \
                [(b, r[f"{kind}_peak_bytes_predicted"]) for b, r in by_batch
                 if r.get(f"{kind}_peak_bytes_predicted") is not None]
            if predicted:
                ax.plot(*zip(*predicted), color=color, lw=1.1, ls="--")
            measured = [(b, r[f"{kind}_peak_bytes_measured"]) for b, r in by_batch
                        if r.get(f"{kind}_peak_bytes_measured") is not None]
            if measured:
                measured_any = True
                ax.plot(*zip(*measured), color=color, ls="", marker="o", ms=4.5)
            handles.append(Line2D([], [], color=color, lw=1.1, ls="--",
                                  marker="o" if measured else "", ms=4, label=name))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: size(v)))
        ax.set_title(family, fontsize=9.5)
        ax.set_xlabel("batch size", fontsize=8.5)
        ax.tick_params(labelsize=7.5)
        ax.grid(True, which="major", alpha=0.3)
        _dense_log2_ticks(ax)
        ax.legend(handles=handles, fontsize=6.5, loc="best", framealpha=0.85,
                  edgecolor="none")
    for ax in axes[len(families):]:
        ax.set_visible(False)
    title = f"{_KINDS[kind]} peak memory vs batch size"
    fig.suptitle(title, fontsize=10.5)
    fig.tight_layout()
    caption = ("Dashed: the analytic estimate (Adam, float32 for training); points: "
               "TensorFlow's allocator peak"
               + ("." if measured_any else " (no memory measurement in this report)."))
    return render(fig, f"memory_{kind}_vs_batch", title, caption)


# ---------------------------------------------------------------------------------------------
# Scaling
# ---------------------------------------------------------------------------------------------


def scaling_plot(table: Any) -> Plot | None:
    """One family: quantities relative to the base vs width multiplier and input size."""
    from matplotlib.ticker import FuncFormatter

    from archscale.reporting.dimensions import QUANTITIES, QUANTITY_LABELS

    fig = _figure(10.0, 4.0)
    axes = fig.subplots(1, 2)
    drawn = False
    for ax, axis, data in ((axes[0], "width", table.width), (axes[1], "size", table.size)):
        base = data.get(1.0) or {}
        for quantity, marker in zip(QUANTITIES, ("o", "s", "^")):
            pts = [(k, v[quantity] / base[quantity]) for k, v in sorted(data.items())
                   if v.get(quantity) and base.get(quantity)]
            if len(pts) < 2:
                continue
            drawn = True
            slope = table.exponent(axis, quantity)
            ax.plot(*zip(*pts), marker=marker, ms=4, lw=1.2,
                    label=f"{QUANTITY_LABELS[quantity]} \u221d x^{slope:.2f}")
        ks = sorted(data)
        for power in (1, 2):
            ax.plot(ks, [k ** power for k in ks], color="0.75", lw=0.8, ls=":", zorder=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper left", frameon=False)
        ax.set_ylabel("relative to the base (x1)")
    if not drawn:
        return None
    axes[0].set_xlabel("width multiplier")
    shapes = "; ".join(f"x{k:g}: {'x'.join(map(str, s))}" for k, s in table.size_shapes.items())
    axes[1].set_xlabel("input size factor")
    title = (f"{table.family}: scaling of {short_name(table.base)} "
             f"(input {'x'.join(map(str, table.input_shape))})")
    axes[0].set_title("vs width multiplier", fontsize=9.5)
    axes[1].set_title("vs input size", fontsize=9.5)
    fig.suptitle(title, fontsize=10.5)
    fig.tight_layout()
    caption = (f"Analytic (no measurement): quantities divided by the base's; dotted guides "
               f"are x^1 and x^2. Input shapes: {shapes}.")
    return render(fig, slugify(f"scaling_{table.family}"), title, caption)
