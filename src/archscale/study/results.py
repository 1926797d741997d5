"""Collecting a study's measurements: grid points from the store, searches from their files.

Grid rows are found by their job keys (``runner.jobs.expand`` of the same sweep the grid ran),
so a row is the exact measurement of its point whatever else the store holds.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import Any, Sequence

from archscale.heuristics.proposal import Proposal
from archscale.runner.api import sweep_of
from archscale.runner.jobs import expand
from archscale.runner.store import StoreReader, open_reader
from archscale.study.analysis import Knee, PointResult, ProposalScore, knee_of, score_proposal
from archscale.study.grid import grid_entries, grid_points, grid_sweep
from archscale.study.searches import SearchTrial
from archscale.study.tasks import StudyTask


@dataclass
class TaskResult:
    """Everything measured on one task."""

    task: StudyTask
    proposal: Proposal
    points: list[PointResult]
    missing: list[str]
    knee: Knee | None
    score: ProposalScore | None
    trials: list[SearchTrial] = field(default_factory=list)


def collect_points(task: StudyTask, proposal: Proposal, store: StoreReader,
                   work: str) -> tuple[list[PointResult], list[str]]:
    """The task's grid points with every seed measured, and the labels of the others."""
    entries = grid_entries(task, proposal, os.path.join(work, "specs"))
    jobs = expand(sweep_of(grid_sweep(entries)))
    by_label: dict[str, list[Any]] = {}
    for job in jobs:
        by_label.setdefault(job.label, []).append(job)
    points, missing = [], []
    for point in grid_points(task, proposal):
        label_jobs = by_label.get(point.label, [])
        rows = [r for r in store.rows([j.key for j in label_jobs]) if r.get("status") == "ok"
                and r.get("accuracy_mean") is not None]
        if len(rows) < len(task.seeds):
            missing.append(f"{point.label} ({len(rows)} of {len(task.seeds)} seeds)")
            continue
        points.append(PointResult(
            task=task.name, width=point.width, depth=point.depth, label=point.label,
            params=int(rows[0]["params"]), macs=int(rows[0]["macs"]),
            accuracies=tuple(float(r["accuracy_mean"]) for r in rows),
            train_flops=statistics.fmean(float(r.get("train_flops") or 0) for r in rows),
            train_seconds=statistics.fmean(float(r.get("train_seconds") or 0) for r in rows),
            is_proposal=point.is_proposal))
    return points, missing


def collect(tasks: Sequence[StudyTask], proposals: dict[str, Proposal], db: str, work: str,
            trials: Sequence[SearchTrial]) -> list[TaskResult]:
    """One ``TaskResult`` per task, read from ``db`` without changing it (a committed store
    stays byte-identical).

    Raises:
        StoreReadError: ``db`` does not exist or is not a result store.
    """
    out = []
    with open_reader(db) as store:
        for task in tasks:
            points, missing = collect_points(task, proposals[task.name], store, work)
            out.append(TaskResult(task, proposals[task.name], points, missing, knee_of(points),
                                  score_proposal(points),
                                  [t for t in trials if t.task == task.name]))
    return out
