"""The study's derived tables as data: flat rows, search scores per budget, the targets'
verdicts and the data-size series (what ``report`` renders and ``results.json`` holds)."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict
from typing import Any, Sequence

from archscale.study.analysis import SearchScore, score_search, spearman
from archscale.study.grid import proposal_on_grid, study_recipe
from archscale.study.results import TaskResult, collect
from archscale.heuristics.difficulty import HEADROOM_RULE_GROUP, HEADROOM_RULES, headroom_rule
from archscale.study.rule_fit import (FactorRange, best_power_laws, factor_range, group_rules_met,
                                      groups_of)
from archscale.study.run import centres, proposals, stored_searches, task_probe
from archscale.study.searches import SEARCHES, SearchTrial
from archscale.study.tasks import StudyTask

BUDGETS = (10, 30)
POINT_COLUMNS = ("task", "width_multiplier", "depth_offset", "on_grid", "is_proposal",
                 "is_knee", "is_best", "params", "macs", "seeds", "accuracy_mean_pct",
                 "accuracy_std_pct", "train_flops_per_seed", "train_seconds_per_seed")
TRIAL_COLUMNS = ("task", "search", "search_seed", "trial", "params", "macs",
                 "val_accuracy_pct", "test_accuracy_pct", "train_flops", "train_seconds",
                 "is_proposal", "hyperparameters")


def point_rows(results: Sequence[TaskResult]) -> list[dict[str, Any]]:
    """Flat rows of every measured grid point and of a proposal off the grid (``on_grid``
    False, no width or depth; units in the column names)."""
    out = []
    for r in results:
        for p in sorted(r.points, key=lambda p: p.macs):
            out.append({"task": r.task.name, "width_multiplier": p.width,
                        "depth_offset": p.depth, "on_grid": p.on_grid,
                        "is_proposal": p.is_proposal,
                        "is_knee": r.knee is not None and p is r.knee.knee,
                        "is_best": r.knee is not None and p is r.knee.best,
                        "params": p.params, "macs": p.macs, "seeds": len(p.accuracies),
                        "accuracy_mean_pct": round(100 * p.mean, 3),
                        "accuracy_std_pct": round(100 * p.std, 3),
                        "train_flops_per_seed": p.train_flops,
                        "train_seconds_per_seed": round(p.train_seconds, 2)})
    return out


def trial_rows(results: Sequence[TaskResult]) -> list[dict[str, Any]]:
    """Flat rows of every search trial."""
    out = []
    for r in results:
        for t in r.trials:
            out.append({"task": t.task, "search": t.search, "search_seed": t.search_seed,
                        "trial": t.trial, "params": t.params, "macs": t.macs,
                        "val_accuracy_pct": round(100 * t.val_accuracy, 3),
                        "test_accuracy_pct": round(100 * t.test_accuracy, 3),
                        "train_flops": t.train_flops,
                        "train_seconds": round(t.train_seconds, 2),
                        "is_proposal": t.is_proposal, "hyperparameters": t.hyperparameters})
    return out


def budgets(task: StudyTask) -> tuple[int, ...]:
    """The trial budgets a task's searches are scored at: ``BUDGETS`` up to its trials."""
    return tuple(sorted({min(n, task.search_trials) for n in BUDGETS}))


def search_scores(result: TaskResult) -> list[SearchScore]:
    """Every search run of the task scored at every budget."""
    out = []
    for search in SEARCHES:
        for seed in sorted({t.search_seed for t in result.trials if t.search == search}):
            trials = [t for t in result.trials if t.search == search and t.search_seed == seed]
            for n in budgets(result.task):
                score = score_search(trials, n, result.knee)
                # a finished search that ran fewer trials (its space is exhausted: the
                # seed-style search has 16 distinct points) is scored on what it ran
                if score is not None:
                    out.append(score)
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def search_summary(result: TaskResult) -> list[dict[str, Any]]:
    """Per search and budget: means over search seeds."""
    scores = search_scores(result)
    out = []
    for search in SEARCHES:
        for n in budgets(result.task):
            runs = [s for s in scores if s.search == search and s.trials == n]
            if not runs:
                continue
            reach = [s.trials_to_knee for s in runs]
            out.append({"task": result.task.name, "search": search, "trials": n,
                        "search_seeds": len(runs),
                        "trials_run": [s.trials_run for s in runs],
                        "selected_test_accuracy": _mean([s.selected_test_accuracy
                                                         for s in runs]),
                        "best_test_accuracy": _mean([s.best_test_accuracy for s in runs]),
                        "trials_to_knee": reach,
                        "trials_to_knee_mean": _mean([n + 1 if r is None else r
                                                      for r in reach]),
                        "train_flops_total": _mean([s.train_flops_total for s in runs]),
                        "train_seconds_total": _mean([s.train_seconds_total for s in runs])})
    return out


def seeded_verdict(summary: Sequence[dict[str, Any]], trials: int) -> dict[str, Any] | None:
    """Whether the seeded search reaches the knee in fewer trials (mean, a miss counting as
    ``trials + 1``) than every unseeded search and selects at least as good a model."""
    rows = {r["search"]: r for r in summary if r["trials"] == trials}
    if "archscale" not in rows or len(rows) < 2:
        return None
    ours = rows["archscale"]
    others = [r for s, r in rows.items() if s != "archscale"]
    fewer = all(ours["trials_to_knee_mean"] < r["trials_to_knee_mean"] for r in others)
    better = all((ours["selected_test_accuracy"] or 0) >= (r["selected_test_accuracy"] or 0)
                 for r in others)
    return {"trials": trials, "fewer_trials": fewer, "at_least_as_good": better}


def data_size_series(results: Sequence[TaskResult], group: str) -> dict[str, Any] | None:
    """Knee and proposal params across the group's training-set sizes whose grids are
    complete, and their rho; sizes whose grids are still partial are listed apart
    (``partial``: a knee on part of a grid is provisional, so it does not enter rho)."""
    scored = [r for r in results if r.task.group == group and r.score is not None]
    rows = sorted(((r.task.samples, r.score) for r in scored if not r.missing),
                  key=lambda t: t[0])
    partial = sorted(r.task.samples for r in scored if r.missing)
    if not rows and not partial:
        return None
    knee = [s.knee_params for _, s in rows]
    prop = [s.proposal_params for _, s in rows]
    return {"group": group, "samples": [n for n, _ in rows], "knee_params": knee,
            "proposal_params": prop, "spearman": spearman(knee, prop), "partial": partial}


def centre_factor(task: StudyTask, headroom: float) -> float:
    """The headroom factor ``task``'s grid centre is made with: its ``grid_rule``'s, else
    today's rule for its modality, at ``headroom``."""
    return (task.grid_rule or headroom_rule(task.task().modality)).factor(headroom)


def _rule_entry(rule: Any, ranges: Sequence[FactorRange], met: Sequence[str]) -> dict[str, Any]:
    return {"rule": rule.label(), "form": asdict(rule), "meets": list(met),
            "factors": {fr.task: rule.factor(fr.headroom) for fr in ranges}}


def rule_fit(results: Sequence[TaskResult], probes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the grids ask of the headroom factor (``rule_fit``): each task's factor range
    (with the group of the rule that sizes its modality), the tasks today's rules meet, and
    per group the best rules of its form over that group's tasks (the factor each grid's
    centre was made with is its task's ``grid_rule``, else today's, at the probed headroom,
    unrounded)."""
    ranges: list[FactorRange] = []
    for r in results:
        headroom = probes[r.task.name]["headroom"]
        fr = factor_range(r.task.name, r.points, r.knee, headroom, centre_factor(r.task, headroom),
                          HEADROOM_RULE_GROUP[r.task.task().modality])
        if fr is not None:
            ranges.append(fr)
    groups = groups_of(ranges)
    grid_rules = sorted({r.task.grid_rule for r in results if r.task.grid_rule},
                        key=lambda rule: rule.label())
    measured = {r.task.name: {"met": r.score.meets_accuracy and r.score.meets_macs,
                              "on_grid": next(p for p in r.points if p.is_proposal).on_grid}
                for r in results if r.score is not None}
    return {"ranges": [fr.to_dict() for fr in ranges], "measured": measured,
            "centres": {"rules": [rule.label() for rule in grid_rules],
                        "forms": [asdict(rule) for rule in grid_rules],
                        "meets": [fr.task for fr in ranges if fr.meets(1.0)]},
            "current": {"meets": list(group_rules_met(HEADROOM_RULES, ranges)),
                        "factors": {fr.task: HEADROOM_RULES[fr.group].factor(fr.headroom)
                                    for fr in ranges},
                        "groups": {g: {**_rule_entry(HEADROOM_RULES[g], members,
                                                     group_rules_met(HEADROOM_RULES, members)),
                                       "modalities": [m for m, k in HEADROOM_RULE_GROUP.items()
                                                      if k == g],
                                       "tasks": [fr.task for fr in members]}
                                   for g, members in groups.items()}},
            "best": {g: [_rule_entry(rule, members, met)
                         for rule, met in best_power_laws(members)]
                     for g, members in groups.items()}}


def complete_search_seeds(tasks: Sequence[StudyTask], trials: Sequence[SearchTrial]
                          ) -> tuple[list[SearchTrial], dict[str, dict[str, list[int]]]]:
    """The trials of the search seeds at which every search of the task has finished (a seed
    with some searches still to run is left out, so that every search is averaged over the
    same seeds), and per task with searches the seeds counted and the seeds it runs."""
    kept: list[SearchTrial] = []
    seeds: dict[str, dict[str, list[int]]] = {}
    for task in tasks:
        if not task.searches:
            continue
        own = [t for t in trials if t.task == task.name]
        done = {(t.search, t.search_seed) for t in own}
        counted = [s for s in task.search_seeds
                   if all((search, s) in done for search in task.searches)]
        kept += [t for t in own if t.search_seed in counted]
        seeds[task.name] = {"counted": counted, "of": list(task.search_seeds)}
    return kept, seeds


def _study_time(work: str) -> dict[str, Any]:
    path = os.path.join(work, "phases.jsonl")
    phases = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            phases = [json.loads(line) for line in handle if line.strip()]
    return {"phases": phases, "seconds": sum(p["seconds"] for p in phases)}


def build(tasks: Sequence[StudyTask], *, db: str, work: str, study: str) -> dict[str, Any]:
    """Everything the report shows, as one JSON-ready dict (plus the ``TaskResult`` list)."""
    props, grid_centres = proposals(tasks), centres(tasks)
    trials, seeds = complete_search_seeds(tasks, stored_searches(tasks, props, work))
    results = collect(tasks, props, db, work, trials, grid_centres)
    summaries = {r.task.name: search_summary(r) for r in results}
    groups = sorted({t.group for t in tasks if t.group.startswith("mnist1d")})
    probes = {t.name: task_probe(t).to_dict() for t in tasks}
    return {"study": study, "results": results, "points": point_rows(results),
            "trials": trial_rows(results),
            "proposals": {r.task.name: (r.score.to_dict() if r.score else None)
                          for r in results},
            "missing": {r.task.name: r.missing for r in results if r.missing},
            "tasks": [t.to_dict() for t in tasks],
            "probes": probes,
            "recipes": {t.name: study_recipe(t, grid_centres[t.name]).to_dict() for t in tasks},
            "off_grid": {r.task.name: {"recipe": study_recipe(r.task, r.proposal).to_dict(),
                                       "grid_factor": centre_factor(
                                           r.task, probes[r.task.name]["headroom"])}
                         for r in results
                         if not proposal_on_grid(r.task, r.centre or r.proposal, r.proposal)},
            "searches": summaries,
            "seeded": {r.task.name: [v for n in budgets(r.task)
                                     if (v := seeded_verdict(summaries[r.task.name], n))]
                       for r in results if summaries[r.task.name]},
            "data_size": [d for g in groups if (d := data_size_series(results, g))],
            "rule_fit": rule_fit(results, probes),
            "search_seeds": seeds, "time": _study_time(work)}
