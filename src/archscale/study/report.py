"""``reports/dimensions/``: the study's report (Markdown, self-contained HTML, CSV, JSON, plots).

Every file is written to a temporary directory first and moved into place only when all of
them are written, so a failed run leaves the previous report intact.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import shutil
import tempfile
from typing import Any, Sequence

from archscale.heuristics.difficulty import DataProbe
from archscale.reporting.study_headline import gap_cells, verdict
from archscale.study.analysis import GAP_TARGET, MACS_TARGET
from archscale.study.plots import data_size_plot, rule_fit_plot, task_plot
from archscale.study.results import TaskResult
from archscale.study.rule_fit_tables import RULE_FIT_TEXT, rule_fit_lines, rule_fit_table
from archscale.study.scores import POINT_COLUMNS, TRIAL_COLUMNS, build
from archscale.study.searches import SEARCH_LABELS
from archscale.study.tasks import StudyTask
from archscale.units import format_count

def write_report(tasks: Sequence[StudyTask], *, db: str, work: str, out: str,
                 study: str = "full") -> list[str]:
    """Write the report directory ``out`` (replacing it only once everything is written).

    Returns:
        The paths written.
    """
    data = build(tasks, db=db, work=work, study=study)
    results: list[TaskResult] = data.pop("results")
    plots = [p for r in results if (p := task_plot(r))]
    plots += [p for d in data["data_size"] if (p := data_size_plot(results, d["group"]))]
    plots += [p for p in (rule_fit_plot(data["rule_fit"]),) if p]
    parent = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".dimensions-")
    try:
        os.makedirs(os.path.join(staging, "plots"))
        for plot in plots:
            with open(os.path.join(staging, "plots", plot.slug + ".png"), "wb") as handle:
                handle.write(plot.png)
        _write_csv(os.path.join(staging, "results.csv"), POINT_COLUMNS, data["points"])
        _write_csv(os.path.join(staging, "searches.csv"), TRIAL_COLUMNS, data["trials"])
        with open(os.path.join(staging, "results.json"), "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, default=str)
            handle.write("\n")
        md = markdown(data, plots)
        with open(os.path.join(staging, "report.md"), "w", encoding="utf-8") as handle:
            handle.write(md)
        with open(os.path.join(staging, "report.html"), "w", encoding="utf-8") as handle:
            handle.write(html_page(data, plots))
        if os.path.exists(out):
            old = out.rstrip("/") + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    names = ["report.md", "report.html", "results.csv", "searches.csv", "results.json"]
    return [os.path.join(out, n) for n in names] + \
        [os.path.join(out, "plots", p.slug + ".png") for p in plots]


def _write_csv(path: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


# -- tables shared by Markdown and HTML --------------------------------------------------------


def proposal_table(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The headline: proposal vs grid best vs knee, per task."""
    head = ["task", "headroom (capacity x)", "proposal", "proposal acc %", "grid best acc %",
            "gap (pts)", "allowed gap", "knee", "knee acc %", "proposal MACs / knee",
            "targets met"]
    rows = []
    for task in data["tasks"]:
        s = data["proposals"].get(task["name"])
        probe = data.get("probes", {}).get(task["name"])
        headroom = "-" if probe is None else f"{probe['headroom']:.3f} (x{probe['factor']:.2f})"
        if s is None:
            rows.append([task["name"], headroom, "-", "-", "-", "-", "-", "-", "-", "-",
                         "not measured"])
            continue
        met = verdict(s, len(data["missing"].get(task["name"], ())))
        rows.append([task["name"], headroom, f"{format_count(s['proposal_params'])} params",
                     f"{100 * s['proposal_accuracy']:.1f} ± {100 * s['proposal_std']:.1f}",
                     f"{100 * s['best_accuracy']:.1f} ± {100 * s['best_std']:.1f} "
                     f"({s['best_label'].split(' ', 1)[1]})",
                     *gap_cells(s["gap_points"], s["gap_allowed_points"]),
                     s["knee_label"].split(" ", 1)[1], f"{100 * s['knee_accuracy']:.1f}",
                     f"{s['macs_ratio_to_knee']:.2f}x", met])
    return head, rows


def searches_table(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per task, search and budget: means over the search seeds."""
    head = ["task", "search", "trials (run)", "selected test acc %", "best test acc %",
            "trials to knee (per seed)", "training FLOPs", "training s"]
    rows = []
    for name, summary in data["searches"].items():
        for r in summary:
            reach = ", ".join("-" if v is None else str(v) for v in r["trials_to_knee"])
            ran = sorted(set(r.get("trials_run") or [r["trials"]]))
            trials = str(r["trials"]) + ("" if ran == [r["trials"]] else
                                         f" ({'/'.join(map(str, ran))})")
            rows.append([name, r["search"], trials, _pct(r["selected_test_accuracy"]),
                         _pct(r["best_test_accuracy"]), reach,
                         format_count(r["train_flops_total"] or 0),
                         f"{r['train_seconds_total'] or 0:.0f}"])
    return head, rows


def grid_table(data: dict[str, Any], task: str) -> tuple[list[str], list[list[str]]]:
    """One task's grid points."""
    head = ["width", "depth", "params", "MACs", "acc % (mean ± std)", "training FLOPs/seed",
            "training s/seed", ""]
    rows = []
    for p in (p for p in data["points"] if p["task"] == task):
        marks = " ".join(m for m, on in (("proposal", p["is_proposal"]), ("knee", p["is_knee"]),
                                         ("best", p["is_best"])) if on)
        on_grid = p.get("on_grid", True)
        rows.append([f"{p['width_multiplier']:g}x" if on_grid else "off the grid",
                     f"{p['depth_offset']:+d}" if on_grid else "-",
                     format_count(p["params"]), format_count(p["macs"]),
                     f"{p['accuracy_mean_pct']:.1f} ± {p['accuracy_std_pct']:.1f}",
                     format_count(p["train_flops_per_seed"]),
                     f"{p['train_seconds_per_seed']:.1f}", marks])
    return head, rows


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(head)] + [list(r) for r in rows]
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    lines.insert(1, "|" + "---|" * len(head))
    return "\n".join(lines) + "\n"


def _verdict_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for name, verdicts in data["seeded"].items():
        for v in verdicts:
            lines.append(f"- {name}, {v['trials']} trials: the seeded search reaches the knee in "
                         f"fewer trials than every unseeded search: "
                         f"{'yes' if v['fewer_trials'] else 'no'}; selects at least as good a "
                         f"model: {'yes' if v['at_least_as_good'] else 'no'}.")
    for d in data["data_size"]:
        rho = "-" if d["spearman"] is None else f"{d['spearman']:.2f}"
        sizes = ", ".join(f"{n:,}" for n in d["samples"])
        partial = d.get("partial") or []
        left = (f" Not counted (grids incomplete): {', '.join(f'{n:,}' for n in partial)}."
                if partial else "")
        if not d["samples"]:
            lines.append(f"- {d['group']}: no training-set size with a complete grid yet.{left}")
            continue
        lines.append(f"- {d['group']} at {sizes} training examples: knee params "
                     f"{', '.join(format_count(v) for v in d['knee_params'])}; proposal params "
                     f"{', '.join(format_count(v) for v in d['proposal_params'])}; Spearman rho "
                     f"{rho} (target 1).{left}")
    return lines


def _seeds_text(data: dict[str, Any]) -> str:
    """`` Search seeds counted: ...`` for a task whose searches have not all finished."""
    parts = [f"{name}: {', '.join(map(str, s['counted'])) or 'none'} (of "
             f"{', '.join(map(str, s['of']))})"
             for name, s in data.get("search_seeds", {}).items() if s["counted"] != s["of"]]
    return (" Search seeds counted (those at which every search has finished): "
            + "; ".join(parts) + ".") if parts else ""


def _probe_text(data: dict[str, Any], name: str) -> str:
    p = data.get("probes", {}).get(name)
    if p is None:
        return ""
    probe = DataProbe(**{k: v for k, v in p.items() if k != "factor"})
    return f" Headroom probe ({probe.holdout} held-out training examples): {probe.summary()}."


def _off_grid_text(data: dict[str, Any], name: str) -> str:
    off = data.get("off_grid", {}).get(name)
    if off is None:
        return ""
    return (f" The grid is centred where it was measured (headroom factor "
            f"x{off['grid_factor']:.2f}); today's rules propose another model, trained on the "
            f"same seeds with its own weight decay {off['recipe']['weight_decay']} and scored "
            "against the grid (the row 'off the grid').")


def _time_line(data: dict[str, Any]) -> str:
    t = data["time"]
    if not t["phases"]:
        return "Study time: not recorded."
    parts = ", ".join(f"{p['phase']} {p['seconds'] / 60:.1f} min" for p in t["phases"])
    return f"Study wall time as run: {t['seconds'] / 60:.1f} min ({parts})."


def markdown(data: dict[str, Any], plots: Sequence[Any]) -> str:
    """The Markdown report."""
    out = ["# Optimal dimensions: where accuracy stops paying for size\n\n",
           "Each task's zero-shot proposal (`archscale propose --probe`, no budget: the "
           "capacity default scaled by the training data's headroom, the share of the "
           "learnable accuracy a ridge linear classifier and a 5-nearest-neighbour vote leave "
           "unsolved) is scaled over its "
           "family's own axes (width multiplier; depth = hidden layers of an MLP or blocks per "
           "stage of a CNN), every grid point is trained on several seeds with the proposal's "
           "recipe (its epochs capped per task, the same cap for grid and searches), and the "
           "knee is the smallest-MACs point whose mean test accuracy is within max(1 std of "
           "the best point, 0.5 points) of the best mean. Targets: proposal within "
           f"max({100 * GAP_TARGET:.0f} point, best std) of the best at no more than "
           f"{MACS_TARGET:g}x the knee's MACs.\n\n",
           "## Proposal vs grid\n\n", _md_table(*proposal_table(data))]
    if any(data["searches"].values()):
        out += ["\n## Searches on the same task and recipe\n\n",
                "\n".join(f"- `{k}`: {v}" for k, v in SEARCH_LABELS.items()) + "\n\n"
                "Selected = best validation accuracy among the trials (its test accuracy is "
                "shown); trials to knee = first trial whose test accuracy reaches the knee's "
                "mean minus its tolerance ('-': not within the trials); the 10-trial rows are "
                "the first 10 trials of the 30-trial runs; means over the search seeds."
                + _seeds_text(data) + "\n\n",
                _md_table(*searches_table(data))]
    lines = _verdict_lines(data)
    if lines:
        out += ["\n## Targets\n\n", "\n".join(lines) + "\n"]
    slugs = {p.slug for p in plots}
    if data["rule_fit"]["ranges"]:
        out += ["\n## What the grids ask of the headroom rule\n\n", RULE_FIT_TEXT + "\n\n",
                _md_table(*rule_fit_table(data)), "\n" + "\n".join(rule_fit_lines(data)) + "\n"]
        if "rule_fit" in slugs:
            out.append("\n![rule fit](plots/rule_fit.png)\n")
    for task in data["tasks"]:
        name = task["name"]
        out.append(f"\n## {name}\n\n")
        recipe = data["recipes"][name]
        out.append(f"Dataset `{json.dumps(task['dataset'])}`, {task['samples']:,} training "
                   f"examples, seeds {task['seeds']}; recipe {recipe['optimizer']} lr "
                   f"{recipe['learning_rate']}, {recipe['schedule']}, {recipe['epochs']} "
                   f"epochs, batch {recipe['batch_size']}, weight decay "
                   f"{recipe['weight_decay']}, label smoothing {recipe['label_smoothing']}."
                   f"{_probe_text(data, name)}{_off_grid_text(data, name)}\n")
        if f"accuracy_{name}" in slugs:
            out.append(f"\n![{name}](plots/accuracy_{name}.png)\n")
        out.append("\n" + _md_table(*grid_table(data, name)))
        if name in data["missing"]:
            out.append("\nNot measured yet: " + "; ".join(data["missing"][name]) + "\n")
    for d in data["data_size"]:
        if f"data_size_{d['group']}" in slugs:
            out.append(f"\n## {d['group']}: right size vs data size\n\n"
                       f"![data size](plots/data_size_{d['group']}.png)\n")
    out.append("\n" + _time_line(data) + "\n\nRegenerate: `make dimensions` "
               "(`python -m archscale.study run`; resumable through its store).\n")
    return "".join(out)


def dimensions_markdown(data: dict[str, Any]) -> str:
    """The README's block: the proposal table, the searches table and the targets' lines."""
    parts = [_md_table(*proposal_table(data))]
    if any(data["searches"].values()):
        parts.append("\n" + _md_table(*searches_table(data)))
    lines = _verdict_lines(data)
    if lines:
        parts.append("\n" + "\n".join(lines) + "\n")
    return "".join(parts).rstrip("\n")


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    esc = html.escape
    return ("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>")


def _code(text: str) -> str:
    """Markdown's `code` spans of an escaped line as <code> elements."""
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _img(plot: Any) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (f'<figure><img alt="{html.escape(plot.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(plot.caption)}</figcaption></figure>")


def html_page(data: dict[str, Any], plots: Sequence[Any]) -> str:
    """The self-contained HTML report (plots inlined)."""
    esc = html.escape
    by_slug = {p.slug: p for p in plots}
    body = ["<h1>Optimal dimensions: where accuracy stops paying for size</h1>",
            "<h2>Proposal vs grid</h2>", _html_table(*proposal_table(data))]
    if any(data["searches"].values()):
        body += ["<h2>Searches on the same task and recipe</h2><ul>"
                 + "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>"
                           for k, v in SEARCH_LABELS.items()) + "</ul>",
                 _html_table(*searches_table(data))]
        if _seeds_text(data):
            body.append(f"<p>{esc(_seeds_text(data).strip())}</p>")
    lines = _verdict_lines(data)
    if lines:
        body.append("<h2>Targets</h2><ul>" + "".join(f"<li>{esc(l[2:])}</li>" for l in lines)
                    + "</ul>")
    if data["rule_fit"]["ranges"]:
        body += ["<h2>What the grids ask of the headroom rule</h2>",
                 f"<p>{esc(RULE_FIT_TEXT)}</p>", _html_table(*rule_fit_table(data)),
                 "<ul>" + "".join(f"<li>{_code(esc(l[2:]))}</li>" for l in rule_fit_lines(data))
                 + "</ul>"]
        if "rule_fit" in by_slug:
            body.append(_img(by_slug["rule_fit"]))
    for task in data["tasks"]:
        name = task["name"]
        body.append(f"<h2>{esc(name)}</h2>")
        if f"accuracy_{name}" in by_slug:
            body.append(_img(by_slug[f"accuracy_{name}"]))
        body.append(_html_table(*grid_table(data, name)))
        if name in data["missing"]:
            body.append("<p>Not measured yet: " + esc("; ".join(data["missing"][name])) + "</p>")
    for d in data["data_size"]:
        if f"data_size_{d['group']}" in by_slug:
            body.append(f"<h2>{esc(d['group'])}: right size vs data size</h2>"
                        + _img(by_slug[f"data_size_{d['group']}"]))
    body.append(f"<p>{esc(_time_line(data))}</p>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
             "img{max-width:100%}figcaption{font-size:12px;color:#555}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>archscale: optimal dimensions</title><style>" + style
            + "</style></head><body>" + "\n".join(body) + "</body></html>\n")


