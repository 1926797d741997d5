"""Collecting a study's measurements: grid points from the store, searches from their files.

Grid rows are found by their job keys (``runner.jobs.expand`` of the same sweep the grid ran),
so a row is the exact measurement of its point whatever else the store holds. A job key holds
the machine's environment (CPU model, cores, TensorFlow, Keras, Python, archscale), so a
committed store read on another machine would find none of its rows: each seed's row is
looked up under this machine's environment first, then under every environment the store
records (``recorded_environments``), and the first found is used. A trained model's accuracy
is the study's measurement wherever it ran (its row keeps its own environment, and its
training seconds are that machine's); ``measured_seeds`` lets a resumed grid skip the seeds
another machine trained. The grid is the one around its centre (the task's ``grid_rule``); a
proposal that is not the centre is collected from its own entry (``grid.proposal_label``).
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import Any, Sequence

from archscale.heuristics.proposal import Proposal
from archscale.runner.api import sweep_of
from archscale.runner.jobs import Job, expand, recorded_environments
from archscale.runner.store_reader import StoreReader, open_reader
from archscale.study.analysis import Knee, PointResult, ProposalScore, knee_of, score_proposal
from archscale.study.grid import (grid_entries, grid_points, grid_sweep, proposal_label,
                                  proposal_on_grid)
from archscale.study.searches import SearchTrial
from archscale.study.tasks import StudyTask


@dataclass
class TaskResult:
    """Everything measured on one task (``proposal``: today's; ``centre``: the grid's)."""

    task: StudyTask
    proposal: Proposal
    points: list[PointResult]
    missing: list[str]
    knee: Knee | None
    score: ProposalScore | None
    trials: list[SearchTrial] = field(default_factory=list)
    centre: Proposal | None = None


def _point(task: StudyTask, label: str, rows: list[dict[str, Any]], *, width: float | None,
           depth: int | None, is_proposal: bool, on_grid: bool) -> PointResult:
    return PointResult(
        task=task.name, width=width, depth=depth, label=label,
        params=int(rows[0]["params"]), macs=int(rows[0]["macs"]),
        accuracies=tuple(float(r["accuracy_mean"]) for r in rows),
        train_flops=statistics.fmean(float(r.get("train_flops") or 0) for r in rows),
        train_seconds=statistics.fmean(float(r.get("train_seconds") or 0) for r in rows),
        is_proposal=is_proposal, on_grid=on_grid)


def _ok(row: dict[str, Any]) -> bool:
    return row.get("status") == "ok" and row.get("accuracy_mean") is not None


def stored_rows(entries: list[tuple[float, dict[str, Any]]], store: StoreReader
                ) -> dict[str, dict[int, dict[str, Any]]]:
    """Per entry label, ``{seed: row}`` of the seeds measured (status ok) under any of the
    ``recorded_environments``, this machine's first."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    sweep = sweep_of(grid_sweep(entries))
    for env in recorded_environments(store):
        jobs: list[Job] = expand(sweep, env)
        present = {r["job_key"]: r for r in store.rows([j.key for j in jobs]) if _ok(r)}
        for job in jobs:
            if job.key in present and job.seed is not None:
                found.setdefault(job.label, {}).setdefault(job.seed, present[job.key])
    return found


def measured_seeds(entries: list[tuple[float, dict[str, Any]]], db: str
                   ) -> dict[str, set[int]]:
    """Per entry label, the seeds a store already holds under any recorded environment
    (empty when ``db`` does not exist yet)."""
    if not os.path.exists(db):
        return {}
    with open_reader(db) as store:
        return {label: set(rows) for label, rows in stored_rows(entries, store).items()}


def collect_points(task: StudyTask, centre: Proposal, store: StoreReader, work: str,
                   proposal: Proposal | None = None) -> tuple[list[PointResult], list[str]]:
    """The task's grid points (around ``centre``) with every seed measured, then today's
    ``proposal`` when it is not the centre (default: it is), and the labels of the others."""
    proposal = centre if proposal is None else proposal
    on_grid = proposal_on_grid(task, centre, proposal)
    entries = grid_entries(task, centre, os.path.join(work, "specs"), proposal)
    found = stored_rows(entries, store)
    wanted: list[tuple[str, dict[str, Any]]] = [
        (point.label, {"width": point.width, "depth": point.depth,
                       "is_proposal": on_grid and point.is_centre, "on_grid": True})
        for point in grid_points(task, centre)]
    if not on_grid:
        wanted.append((proposal_label(task), {"width": None, "depth": None,
                                              "is_proposal": True, "on_grid": False}))
    points, missing = [], []
    for label, where in wanted:
        rows = [found[label][seed] for seed in task.seeds if seed in found.get(label, {})]
        if len(rows) < len(task.seeds):
            missing.append(f"{label} ({len(rows)} of {len(task.seeds)} seeds)")
            continue
        points.append(_point(task, label, rows, **where))
    return points, missing


def collect(tasks: Sequence[StudyTask], proposals: dict[str, Proposal], db: str, work: str,
            trials: Sequence[SearchTrial],
            centres: dict[str, Proposal] | None = None) -> list[TaskResult]:
    """One ``TaskResult`` per task, read from ``db`` without changing it (a committed store
    stays byte-identical). ``centres``: the grids' centres (default: the proposals).

    Raises:
        StoreReadError: ``db`` does not exist or is not a result store.
    """
    out = []
    with open_reader(db) as store:
        for task in tasks:
            centre = (centres or proposals)[task.name]
            points, missing = collect_points(task, centre, store, work, proposals[task.name])
            out.append(TaskResult(task, proposals[task.name], points, missing, knee_of(points),
                                  score_proposal(points),
                                  [t for t in trials if t.task == task.name], centre))
    return out
