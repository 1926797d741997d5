"""The report's rule-screen section as data: its table, its lines and its text
(``study.rule_fit`` computes what they show; ``study.report`` renders them)."""

from __future__ import annotations

import math
from typing import Any

def _range_text(fr: dict[str, Any]) -> str:
    if not fr["factors"]:
        return "none on the width line"
    lo_edge, hi_edge = (fr["span"][0], fr["span"][1])
    parts = []
    for (lo, hi), (mlo, mhi) in zip(fr["factors"], fr["multipliers"]):
        star_lo = "*" if math.isclose(mlo, lo_edge, rel_tol=1e-6) else ""
        star_hi = "*" if math.isclose(mhi, hi_edge, rel_tol=1e-6) else ""
        parts.append(f"{lo:.3g}{star_lo}-{hi:.3g}{star_hi}")
    return " or ".join(parts)


def _measured(fit: dict[str, Any], name: str) -> str:
    seen = fit.get("measured", {}).get(name)
    if seen is None:
        return "not measured"
    return ("meets" if seen["met"] else "misses") + ("" if seen["on_grid"] else " (off the grid)")


def rule_fit_table(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per task: its rule's group, its headroom, the factor its grid's centre was made with,
    the factors meeting both targets on its grid, and what today's rule for its group and the
    screen's first rule of its form for that group give it (estimated)."""
    fit = data["rule_fit"]
    best = {g: entries[0] for g, entries in fit["best"].items() if entries}
    head = ["task", "rule", "headroom", "grid centre's factor",
            "factors meeting both targets (estimated)", "today's rule (estimated)",
            "today's proposal (measured)"]
    if best:
        head.append("the screen's first rule of its form (estimated)")
    rows = []
    for fr in fit["ranges"]:
        name = fr["task"]
        row = [name, fr["group"], f"{fr['headroom']:.3f}", f"{fr['rule_factor']:.2f}",
               _range_text(fr), f"x{fit['current']['factors'][name]:.2f}: "
               + ("meets" if name in fit["current"]["meets"] else "-"), _measured(fit, name)]
        if best:
            top = best.get(fr["group"])
            row.append("-" if top is None else f"x{top['factors'][name]:.2f}: "
                       + ("meets" if name in top["meets"] else "-"))
        rows.append(row)
    return head, rows


RULE_FIT_TEXT = (
    "A proposal's params are the capacity default times the headroom factor. Along each "
    "task's width line (its grid at the depth of the grid's centre, the proposal the grid was "
    "made around), accuracy and MACs are interpolated in log params between the grid points; "
    "the multipliers of the centre's params that meet both targets, times the factor the "
    "centre was made with, are the factors the rule should give the task. At the centre the "
    "estimate is the measurement; elsewhere it is an estimate (a model of another size also "
    "gets its own weight decay and perhaps another depth), which is why a proposal off its "
    "grid's centre is trained and scored in the first table. Vector and sequence inputs "
    "share one rule (group signal), images have their own (group image); each group's rule is "
    "screened over its own tasks. * marks a bound at the grid's edge (beyond it is not "
    "measured).")


def rule_fit_lines(data: dict[str, Any]) -> list[str]:
    """The section's lines: the centres' measured count, today's rules' estimated count,
    and per rule group its own count and its best rules' (estimated)."""
    fit = data["rule_fit"]
    n = len(fit["ranges"])
    lines = []
    centres = fit.get("centres", {})
    if centres.get("rules"):
        lines.append(f"- The grids' centres (made with "
                     f"{', '.join(f'`{r}`' for r in centres['rules'])}) meet "
                     f"{len(centres['meets'])} of {n} (measured).")
    groups = fit["current"]["groups"]
    lines.append("- Today's rules meet an estimated "
                 f"{len(fit['current']['meets'])} of {n}: "
                 + "; ".join(f"{', '.join(g['modalities'])} `{g['rule']}` "
                             f"{len(g['meets'])} of {len(g['tasks'])}"
                             for g in groups.values()) + ".")
    for name, entries in fit["best"].items():
        if not entries:
            continue
        top = len(entries[0]["meets"])
        lines.append(f"- The best {name} rules of this form (reference 0.002-0.2, exponent "
                     f"0.2-2, cap 8-64) meet an estimated {top} of "
                     f"{len(groups[name]['tasks'])}: "
                     + "; ".join(f"`{b['rule']}` ({', '.join(b['meets'])})"
                                 for b in entries if len(b["meets"]) == top) + ".")
    return lines
