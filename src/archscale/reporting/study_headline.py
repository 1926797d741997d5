"""The catalogue report's headline from the optimal-dimensions study's ``results.json``.

``archscale report --headline-from reports/dimensions/results.json`` puts the study's
proposal-versus-grid table first (the study's report holds the grids, searches and plots).
Only the JSON is read (the study package sits above this layer).
"""

from __future__ import annotations

import json
import os
from typing import Any

from archscale.reporting.schema import ReportError
from archscale.reporting import writers as w
from archscale.reporting.tables import Table, count

HEADERS = ("task", "proposal params", "proposal acc %", "grid best acc %", "gap (points)",
           "knee", "proposal MACs / knee MACs", "targets met")


def load_study(path: str) -> dict[str, Any]:
    """The study's results.

    Raises:
        ReportError: the file is missing, not JSON, or not a study's ``results.json``.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ReportError(f"--headline-from cannot be read: {exc.strerror or exc}. "
                          f"Received: --headline-from={path!r}") from None
    except ValueError:
        raise ReportError("--headline-from is not JSON. Received: "
                          f"--headline-from={path!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("proposals"), dict) \
            or not isinstance(data.get("tasks"), list):
        raise ReportError("--headline-from must be the results.json of python -m "
                          f"archscale.study. Received: --headline-from={path!r}")
    return data


def verdict(score: dict[str, Any], missing: int = 0) -> str:
    """The "targets met" cell of a proposal score (``ProposalScore.to_dict()``): ``yes``,
    ``accuracy only``, ``MACs only`` or ``no``, marked provisional when ``missing`` grid
    points are not measured yet (the study's report and this headline both use it)."""
    met = "yes" if score["meets_accuracy"] and score["meets_macs"] else \
        "accuracy only" if score["meets_accuracy"] else \
        "MACs only" if score["meets_macs"] else "no"
    if missing:  # scored on part of its grid: the verdict may still change
        met += f" (provisional: {missing} grid point{'s' if missing > 1 else ''} not measured)"
    return met


def gap_cells(gap: float, allowed: float) -> tuple[str, str]:
    """The gap and allowed-gap cells (points): one decimal, or two where one decimal would
    print both alike while the verdict tells them apart (a 1.03 gap against 1.0 allowed
    reads "+1.03" / "1.00", not "+1.0" / "1.0")."""
    if f"{gap:.1f}" == f"{allowed:.1f}" and gap != allowed:
        return f"{gap:+.2f}", f"{allowed:.2f}"
    return f"{gap:+.1f}", f"{allowed:.1f}"


def _row(name: str, s: dict[str, Any] | None, missing: int = 0) -> tuple[str, ...]:
    if s is None:
        return (name, "", "", "", "", "", "", "not measured")
    return (name, count(s["proposal_params"]),
            f"{100 * s['proposal_accuracy']:.1f} ± {100 * s['proposal_std']:.1f}",
            f"{100 * s['best_accuracy']:.1f} ± {100 * s['best_std']:.1f}",
            gap_cells(s["gap_points"], s["gap_allowed_points"])[0],
            str(s["knee_label"]).split(" ", 1)[-1],
            f"{s['macs_ratio_to_knee']:.2f}x", verdict(s, missing))


def study_blocks(path: str, out: str | None) -> list[w.Block]:
    """The headline blocks: a heading, where the study's report is, and its proposal table."""
    data = load_study(path)
    report = os.path.join(os.path.dirname(os.path.abspath(path)), "report.md")
    where = os.path.relpath(report, os.path.abspath(out)) if out else report
    missing = data.get("missing") if isinstance(data.get("missing"), dict) else {}
    rows = tuple(_row(str(t.get("name")), data["proposals"].get(t.get("name")),
                      len(missing.get(t.get("name")) or ()))
                 for t in data["tasks"])
    text = ("Is the zero-shot proposal the right size? Per task, its test accuracy against the "
            "best of a grid over its family's width and depth, and its MACs against the knee "
            "(the smallest grid point within max(1 std, 0.5 points) of the best). Grids, "
            f"searches and plots: {where}.")
    return [w.Heading("Headline: optimal dimensions"), w.Text(text),
            w.TableBlock(Table("Optimal dimensions", HEADERS, rows))]
