"""The study's figures: accuracy against MACs per task, knee size against training-set size.

Rendered with ``archscale.reporting.plots`` (Agg canvas, PNG + SVG, deterministic).
"""

from __future__ import annotations

from typing import Any, Sequence

from archscale.heuristics.difficulty import FactorRule
from archscale.reporting.plots import Plot, new_figure, render
from archscale.study.results import TaskResult
from archscale.study.searches import SEARCHES

DEPTH_MARKERS = {-1: "v", 0: "o", 1: "^"}
SEARCH_COLORS = dict(zip(SEARCHES, ("#7f7f7f", "#9467bd", "#8c564b", "#2ca02c")))


def task_plot(result: TaskResult) -> Plot | None:
    """Accuracy (mean with std bars) against MACs of the task's grid, the knee, the proposal
    and every search trial; ``None`` without points."""
    if not result.points:
        return None
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for trial_search in SEARCHES:
        trials = [t for t in result.trials if t.search == trial_search]
        if trials:
            ax.scatter([t.macs for t in trials], [100 * t.test_accuracy for t in trials], s=9,
                       alpha=0.35, color=SEARCH_COLORS[trial_search],
                       label=f"{trial_search} trials", zorder=1)
    for depth, marker in DEPTH_MARKERS.items():
        pts = sorted((p for p in result.points if p.depth == depth), key=lambda p: p.macs)
        if pts:
            ax.errorbar([p.macs for p in pts], [100 * p.mean for p in pts],
                        yerr=[100 * p.std for p in pts], marker=marker, capsize=3,
                        color="#1f77b4", alpha=1.0 if depth == 0 else 0.6,
                        label=f"grid, depth {depth:+d}", zorder=3)
    if result.knee is not None:
        k = result.knee.knee
        ax.scatter([k.macs], [100 * k.mean], marker="*", s=260, color="#ff7f0e",
                   edgecolor="black", label=f"knee ({k.label.split(' ', 1)[1]})", zorder=5)
        ax.axhspan(100 * (result.knee.best.mean - result.knee.tolerance),
                   100 * result.knee.best.mean, color="#ff7f0e", alpha=0.12, zorder=0)
    proposal = next((p for p in result.points if p.is_proposal), None)
    if proposal is not None and not proposal.on_grid:   # trained on its own: its spread too
        ax.errorbar([proposal.macs], [100 * proposal.mean], yerr=[100 * proposal.std],
                    capsize=3, color="#d62728", linestyle="none", zorder=6)
    if proposal is not None:
        ax.scatter([proposal.macs], [100 * proposal.mean], marker="o", s=120,
                   facecolor="none", edgecolor="#d62728", linewidth=2, label="proposal",
                   zorder=6)
    ax.set_xscale("log")
    ax.set_xlabel("MACs per example (log)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{result.task.name}: accuracy vs MACs")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    caption = (f"{result.task.name}: grid means over {len(result.task.seeds)} seeds with std "
               "bars; the shaded band is the knee tolerance below the best mean.")
    return render(fig, f"accuracy_{result.task.name}", f"{result.task.name}: accuracy vs MACs",
                  caption)


def data_size_plot(results: Sequence[TaskResult], group: str) -> Plot | None:
    """The knee's params and the proposal's params against training-set size for the tasks
    of ``group`` (``None`` with fewer than two measured sizes)."""
    scored = sorted((r for r in results if r.task.group == group and r.score is not None),
                    key=lambda r: r.task.samples)
    if len(scored) < 2:
        return None
    fig = new_figure(5.6, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    done = [r for r in scored if not r.missing]
    ax.plot([r.task.samples for r in done], [r.score.knee_params for r in done], marker="*",
            markersize=12, color="#ff7f0e", label="knee of the grid")
    partial = [r for r in scored if r.missing]
    if partial:
        ax.plot([r.task.samples for r in partial], [r.score.knee_params for r in partial],
                linestyle="none", marker="*", markersize=12, markerfacecolor="none",
                color="#ff7f0e", label="knee so far (grid incomplete)")
    ax.plot([r.task.samples for r in scored], [r.score.proposal_params for r in scored],
            marker="o", color="#d62728", label="zero-shot proposal")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training examples (log)")
    ax.set_ylabel("params (log)")
    ax.set_title(f"{group}: right size vs data size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return render(fig, f"data_size_{group}", f"{group}: knee and proposal params vs training "
                  "examples", "Params of the grid's knee and of the proposal per training-set "
                  "size.")


def _rule_curve(rule: dict[str, float], top: float) -> tuple[list[float], list[float]]:
    """A rule of ``FactorRule``'s form, sampled densely over headroom 0..``top``."""
    form = FactorRule(rule["reference"], rule["exponent"], rule["floor"], rule["cap"])
    hs = [top * i / 400 for i in range(401)]
    return hs, [form.factor(h) for h in hs]


def _spread(headrooms: Sequence[float], near: float = 0.02, step: float = 0.014) -> list[float]:
    """x positions: each headroom, with those within ``near`` of a neighbour set side by side
    ``step`` apart (so their bars do not hide each other)."""
    order = sorted(range(len(headrooms)), key=lambda i: headrooms[i])
    clusters: list[list[int]] = []
    for i in order:
        if clusters and headrooms[i] - headrooms[clusters[-1][-1]] < near:
            clusters[-1].append(i)
        else:
            clusters.append([i])
    xs = list(headrooms)
    for group in clusters:
        centre = sum(headrooms[i] for i in group) / len(group)
        for k, i in enumerate(group):
            xs[i] = centre + (k - (len(group) - 1) / 2) * step
    return xs


#: The rule groups' colours in the rule-screen plot (bars and today's rule alike).
GROUP_COLOURS = {"signal": "#1f77b4", "image": "#9467bd"}


def rule_fit_plot(fit: dict[str, Any]) -> Plot | None:
    """Per task, the headroom factors meeting both targets on its grid (bars, coloured by
    the rule group that sizes it) against its headroom, with the factor the grid's centre was
    made with (green: the centre meets both, measured), the grids' rule, today's rule and the
    best rule of the same form for each group; ``None`` without ranges."""
    ranges = fit["ranges"]
    if not ranges:
        return None
    fig = new_figure(6.4, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    xs = _spread([r["headroom"] for r in ranges])
    for x, r in zip(xs, ranges):
        for lo, hi in r["factors"]:
            ax.plot([x] * 2, [lo, hi], color=GROUP_COLOURS.get(r["group"], "#1f77b4"),
                    linewidth=5, alpha=0.45, solid_capstyle="butt", zorder=2)
        met = r["task"] in fit["centres"]["meets"]
        ax.scatter([x], [r["rule_factor"]], s=40, zorder=4,
                   color="#2ca02c" if met else "#d62728", marker="o" if met else "x")
        seen = fit["measured"].get(r["task"])
        today = fit["current"]["factors"][r["task"]]
        if seen is not None and not seen["on_grid"]:   # today's proposal, trained on its own
            ax.scatter([x], [today], s=46, zorder=5, marker="s", facecolor="none",
                       edgecolor="#2ca02c" if seen["met"] else "#d62728", linewidth=1.6)
        top = max([hi for _, hi in r["factors"]] + [r["rule_factor"], today])
        ax.annotate(r["task"], (x, top), fontsize=6, rotation=90, ha="center", va="bottom",
                    xytext=(0, 3), textcoords="offset points")
    top = 1.05 * max(r["headroom"] for r in ranges) or 1.0
    for form, label in zip(fit["centres"]["forms"], fit["centres"]["rules"]):
        ax.plot(*_rule_curve(form, top), color="#7f7f7f", linewidth=1, linestyle=":",
                label=f"grids' rule {label}")
    for name, group in fit["current"]["groups"].items():
        colour = GROUP_COLOURS.get(name, "#d62728")
        ax.plot(*_rule_curve(group["form"], top), color=colour, linewidth=1.2,
                label=f"today's {name} rule {group['rule']}")
        best = fit["best"].get(name)
        if best and best[0]["rule"] != group["rule"]:
            ax.plot(*_rule_curve(best[0]["form"], top), color=colour, linestyle="--",
                    linewidth=1, label=f"screen's first {name} rule {best[0]['rule']}")
    ax.plot([], [], color="#7f7f7f", linewidth=5, alpha=0.45,
            label="factors meeting both targets (grid, estimated; colour: the task's rule)")
    ax.scatter([], [], marker="o", color="#7f7f7f", s=30, label="grid centre (measured)")
    ax.scatter([], [], marker="s", facecolor="none", edgecolor="#7f7f7f", s=40,
               label="today's proposal (measured)")
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 4)
    ax.set_xlabel("probed headroom (tasks with nearly the same headroom set side by side)")
    ax.set_ylabel("headroom factor (x capacity default, log)")
    ax.set_title("What the grids ask of the headroom rule")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return render(fig, "rule_fit", "What the grids ask of the headroom rule",
                  "Bars: the factors whose interpolated accuracy and MACs meet both targets on "
                  "each task's width line; dots: the factor each grid's centre was made with, "
                  "squares: today's proposal where it is off its grid (green: meets both "
                  "targets as measured, red: misses); lines: the grids' rule, today's rule for "
                  "vector and sequence inputs (blue) and for images (purple), and the screen's "
                  "first rule of its form for each where it differs (dashed; the screen "
                  "ranks by estimate, today's rule is the one the trained proposals bore "
                  "out).")
