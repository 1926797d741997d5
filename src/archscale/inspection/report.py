"""The inspection report: ``inspect.md``, a self-contained ``inspect.html``, ``inspect.json``
and ``plots/`` (PNG and SVG), written atomically with ``reporting.writers``."""

from __future__ import annotations

import json
from typing import Any, Union

from archscale.inspection.pictures import curves_plot, dimension_plot, layer_pictures
from archscale.reporting.tables import Table
from archscale.reporting.writers import (Figure, Heading, TableBlock, Text, html_page, markdown,
                                         preflight, write_directory)
from archscale.inspection.result import Inspection
from archscale.units import format_count

__all__ = ["report_blocks", "report_files", "stats_rows", "write_report"]

STATS_HEADERS = ("layer", "class", "output", "units", "mean", "std", "dead %", "zeros %",
                 "PR", "dim 90 %", "dim 95 %", "dim 99 %", "spatial conc.")
ADVICE_HEADERS = ("layer", "width", "dim 99 %", "recommended", "spec field", "params saved",
                  "MACs saved")


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def stats_rows(result: Inspection) -> list[tuple[str, ...]]:
    """The statistics table's rows (display strings)."""
    rows = []
    for la in result.layers:
        s = la.stats
        conc = "" if s.spatial_concentration is None else \
            f"{s.spatial_concentration:.2f}" + (" localised" if s.localised else "")
        rows.append((la.name, la.class_name, "x".join(map(str, la.output_shape)), str(s.units),
                     f"{s.mean:.3g}", f"{s.std:.3g}", _pct(s.dead_fraction), _pct(s.sparsity),
                     f"{s.participation_ratio:.1f}", str(s.dims[0.9]), str(s.dims[0.95]),
                     str(s.dims[0.99]), conc))
    return rows


def _advice_rows(result: Inspection) -> list[tuple[str, ...]]:
    rows = []
    for a in result.advice.layers:
        mark = "" if a.exact else " (est.)"
        rows.append((a.layer, str(a.width), str(a.dim99), str(a.recommended), a.carrier or "",
                     f"{a.params_saved:,}{mark}", f"{a.macs_saved:,}{mark}"))
    return rows


def _summary(result: Inspection) -> str:
    what = {"preset": "preset", "spec": "spec file", "model": "saved model",
            "ArchSpec": "spec", "keras.Model": "Keras model"}[result.kind]
    trained = (f"trained here for {result.epochs_run} epochs with the {result.dataset} recipe "
               f"(seed {result.seed})" if result.recipe is not None else "used as saved")
    return (f"{what} {result.source}, {trained}; activations of {result.samples} training "
            f"examples of {result.dataset}, read in batches.")


def _advice_text(result: Inspection) -> str:
    adv = result.advice
    if adv.shrunk is None:
        return ("A saved model is not rewritten: the table gives each layer's recommended width; "
                "saved figures are estimates (the layer and the next layer reading it, scaled "
                "by the fraction of units removed).")
    if adv.shrunk == adv.spec:
        return (f"No width field changes: every inspected layer already fits within 25 % of its "
                f"99 % dimension. Params {adv.params:,}, MACs {adv.macs:,}.")
    changed = [f"{name}: {getattr(adv.spec, name)} -> {getattr(adv.shrunk, name)}"
               for name in adv.spec.to_dict() if getattr(adv.spec, name) !=
               getattr(adv.shrunk, name)]
    dropped = (f" The shrunk spec no longer has layers {', '.join(adv.dropped)} (they need the "
               f"widths they had)." if adv.dropped else "")
    return (f"Shrunk spec ({'; '.join(changed)}): params {adv.params:,} -> "
            f"{adv.shrunk_params:,} ({100 * adv.params_cut:.1f} % fewer), MACs "
            f"{format_count(adv.macs)} -> {format_count(adv.shrunk_macs)}. Write it with "
            f"--apply FILE.json; 'archscale profile', 'bench' and 'tune' accept it.{dropped}")


def _signals_text(result: Inspection) -> list[str]:
    s = result.signals
    lines = [f"Train accuracy {100 * s.train_accuracy:.1f} % vs test {100 * s.test_accuracy:.1f} % "
             f"(dropout off): gap {s.gap_points:.1f} points, {s.verdict}."]
    if s.max_gap_points is not None:
        against = {"val_accuracy": "validation hold-out",
                   "test_accuracy": "test set (monitoring only)"}[s.heldout_curve]
        lines.append(f"Largest per-epoch gap between the running training accuracy and the "
                     f"{against}: "
                     f"{s.max_gap_points:.1f} points at epoch {s.max_gap_epoch}.")
    if s.defaults is not None:
        lines.append(f"The proposal's regularisation rule for {result.advice.params:,} params "
                     f"on these training samples ({s.defaults.params_per_sample:.3g} params per "
                     f"sample) gives dropout {s.defaults.dropout:g}, weight decay "
                     f"{s.defaults.weight_decay:g}, patience {s.defaults.early_stopping_patience}"
                     f": " + "; ".join(s.changes) + ".")
    return lines


def report_blocks(result: Inspection) -> tuple[list[Any], list[Any]]:
    """The document blocks and the plots they show."""
    recommended = {a.layer: a.recommended for a in result.advice.layers}
    dims = dimension_plot(result.layers, recommended)
    pictures = layer_pictures(result.layers)
    curves = curves_plot(result.signals.curves)
    blocks: list[Any] = [Heading(f"archscale inspect: {result.source} on {result.dataset}", 1),
                         Text(_summary(result)),
                         Heading("Layer statistics"),
                         TableBlock(Table("Layer statistics", STATS_HEADERS,
                                          tuple(stats_rows(result)),
                                          "PR: participation ratio of the covariance "
                                          "eigenvalues; dim q %: principal components for q % "
                                          "of the variance (conv layers: channels, with spatial "
                                          "positions as samples); dead: units zero on every "
                                          "sample; spatial conc.: 1 - normalised entropy of "
                                          "the activation mass over positions (> 0.8 = "
                                          "localised).")),
                         Heading("Width advice"),
                         TableBlock(Table("Width advice", ADVICE_HEADERS,
                                          tuple(_advice_rows(result)),
                                          "recommended = 1.25 x dim 99 %, rounded up to a "
                                          "multiple of 8, at most the width; saved: that "
                                          "layer's change alone.")),
                         Text(_advice_text(result)), Figure(dims),
                         Heading("Regularisation signals"),
                         *[Text(line) for line in _signals_text(result)]]
    if curves is not None:
        blocks.append(Figure(curves))
    blocks.append(Heading("Feature maps and activations"))
    blocks += [Figure(plot) for plot in pictures]
    plots = [dims, *([curves] if curves else []), *pictures]
    return blocks, plots


def report_files(result: Inspection) -> dict[str, Union[str, bytes]]:
    """``{relative path: content}`` of the report directory."""
    blocks, plots = report_blocks(result)
    files: dict[str, Union[str, bytes]] = {
        "inspect.md": markdown(blocks),
        "inspect.html": html_page(blocks, f"archscale inspect: {result.source}"),
        "inspect.json": json.dumps(result.to_dict(), indent=2) + "\n",
    }
    for plot in plots:
        files[f"plots/{plot.slug}.png"] = plot.png
        files[f"plots/{plot.slug}.svg"] = plot.svg
    return files


def write_report(result: Inspection, out: str) -> list[str]:
    """Write the report directory ``out`` atomically.

    Returns:
        The written paths.

    Raises:
        ReportError: ``out`` cannot be written (nothing is left behind).
    """
    preflight(out)  # before rendering anything
    return write_directory(out, report_files(result))
