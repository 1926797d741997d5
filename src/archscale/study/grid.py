"""The grid around a proposal: its family's own axes, as specs, and the sweep that trains them.

A grid point is ``(width multiplier, depth offset)``. The width multiplier goes through the
family's scaling plan (``Plan.scale``: widths times the multiplier, rounded to multiples of
8); the depth offset adds hidden layers to an MLP (a new last layer repeats the last width;
removing one drops the last) or adds blocks to every stage of a staged CNN (1-D CNN, ResNet;
at least one block per stage). A point whose spec is invalid (no layer left) is left out.

``grid_sweep`` writes each point's spec as a JSON file and returns the ``archscale bench``
sweep (a dict) that trains every point on the task's seeds with the proposal's recipe.

**The grid's centre** is the proposal made with the task's ``grid_rule`` headroom factor
(``tasks.GRID_RULE`` for the full study: the rule its committed grids were measured at, passed
as ``CapacityRule.scale``), not with whatever rule ``heuristics`` holds today. While the two
agree the centre is the proposal. When the headroom rule changes, the grid (the ground truth)
stays where it was measured, and today's proposal becomes one more entry (``<task>
proposal``), trained on the same seeds with its own recipe and scored against the grid: a rule
change costs one point per task, not a grid.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.heuristics.proposal import Proposal
from archscale.profiling import profile
from archscale.reference_archs.registry import families
from archscale.reference_archs.scaling_plan import Knobs, StagedPlan
from archscale.specs import ArchSpec
from archscale.study.tasks import StudyTask
from archscale.training_recipe import Recipe


@dataclass(frozen=True)
class GridPoint:
    """One point of a task's grid.

    Attributes:
        task: The task's name.
        width: Width multiplier.
        depth: Depth offset.
        spec: The point's spec.
    """

    task: str
    width: float
    depth: int
    spec: ArchSpec

    @property
    def label(self) -> str:
        """``<task> w<width> d<+depth>``: the sweep entry's name."""
        return f"{self.task} w{self.width:g} d{self.depth:+d}"

    @property
    def is_centre(self) -> bool:
        """The grid's centre (width 1, depth 0)."""
        return self.width == 1.0 and self.depth == 0


def depth_knobs(proposal: Proposal, offset: int) -> Knobs | None:
    """The proposal's knobs with ``offset`` layers / blocks per stage added, or ``None`` when
    that leaves no layer (an MLP with no hidden layer, a stage with no block).

    Raises:
        SpecError: a family whose plan has no depth rule here.
    """
    plan, knobs = proposal.plan, tuple(proposal.knobs)
    if isinstance(plan, StagedPlan):
        blocks, widths, stem = plan.split(knobs)
        new = tuple(b + offset for b in blocks)
        return None if min(new) < 1 else new + tuple(widths) + (stem,)
    if proposal.family == "mlp":
        if offset < 0:
            return knobs[:offset] if len(knobs) + offset >= 1 else None
        return knobs + (knobs[-1],) * offset
    raise SpecError(f"the study's depth axis covers MLPs and staged CNNs; accepted families: "
                    f"mlp, cnn1d, resnet. Received: family={proposal.family!r}")


def point_spec(proposal: Proposal, width: float, depth: int) -> ArchSpec | None:
    """The spec at ``(width, depth)``, or ``None`` when the depth leaves no layer."""
    knobs = depth_knobs(proposal, depth)
    if knobs is None:
        return None
    scaled = proposal.plan.scale(knobs, width, 1.0)
    return proposal.plan.spec(scaled, proposal.regularisation.dropout
                              if _has_dropout(proposal) else 0.0)


def _has_dropout(proposal: Proposal) -> bool:
    return families().get(proposal.family).has_dropout


def grid_points(task: StudyTask, proposal: Proposal) -> tuple[GridPoint, ...]:
    """Every valid point of ``task``'s grid around ``proposal`` (its centre; distinct specs,
    the centre always one of them)."""
    out, seen = [], set()
    for width, depth in task.points():
        spec = point_spec(proposal, width, depth)
        if spec is None:
            continue
        key = json.dumps(spec.to_dict(), sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        out.append(GridPoint(task.name, width, depth, spec))
    return tuple(out)


def study_recipe(task: StudyTask, proposal: Proposal) -> Recipe:
    """The proposal's recipe with the task's epoch cap."""
    return proposal.recipe.replace(epochs=min(proposal.recipe.epochs, task.max_epochs))


def recipe_overrides(recipe: Recipe) -> dict[str, Any]:
    """Every field of ``recipe`` as sweep overrides (``settings.accuracy.recipe``)."""
    return {k: v for k, v in recipe.to_dict().items() if v is not None}


def training_macs(task: StudyTask, proposal: Proposal, spec: ArchSpec) -> float:
    """Forward MACs x training examples x epochs (at most): the order the sweep runs in."""
    return float(profile(spec).macs) * task.samples * study_recipe(task, proposal).epochs


def proposal_label(task: StudyTask) -> str:
    """``<task> proposal``: the sweep entry of a proposal that is not the grid's centre."""
    return f"{task.name} proposal"


def proposal_on_grid(task: StudyTask, centre: Proposal, proposal: Proposal) -> bool:
    """Whether ``proposal`` is the grid's centre: the same spec and the same capped recipe."""
    return point_spec(proposal, 1.0, 0) == point_spec(centre, 1.0, 0) \
        and study_recipe(task, proposal) == study_recipe(task, centre)


def _entry(task: StudyTask, proposal: Proposal, spec: ArchSpec, name: str, path: str
           ) -> tuple[float, dict[str, Any]]:
    text = json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n"
    if not os.path.exists(path) or open(path, encoding="utf-8").read() != text:
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(path + ".tmp", path)
    overrides = recipe_overrides(study_recipe(task, proposal))
    return (training_macs(task, proposal, spec),
            {"spec": os.path.abspath(path), "name": name, "datasets": [dict(task.dataset)],
             "seeds": list(task.seeds), "settings": {"accuracy": {"recipe": overrides}}})


def grid_entries(task: StudyTask, centre: Proposal, spec_dir: str,
                 proposal: Proposal | None = None) -> list[tuple[float, dict[str, Any]]]:
    """The sweep's ``[[arch]]`` entries of one task, each with its ``training_macs``: the grid
    around ``centre`` (with the centre's recipe), then ``proposal`` with its own recipe when it
    is given and is not the centre. Each spec is written to ``spec_dir``."""
    os.makedirs(spec_dir, exist_ok=True)
    entries = [_entry(task, centre, point.spec, point.label, os.path.join(
        spec_dir, f"{task.name}_w{point.width:g}_d{point.depth:+d}.json"))
        for point in grid_points(task, centre)]
    if proposal is not None and not proposal_on_grid(task, centre, proposal):
        spec = point_spec(proposal, 1.0, 0)
        assert spec is not None  # depth offset 0 always leaves the proposal's layers
        entries.append(_entry(task, proposal, spec, proposal_label(task),
                              os.path.join(spec_dir, f"{task.name}_proposal.json")))
    return entries


def grid_sweep(entries: list[tuple[float, dict[str, Any]]], *, workers: int = 2,
               timeout_s: float = 3600.0) -> dict[str, Any]:
    """The ``archscale bench`` sweep (a dict) of the given entries, cheapest first (so a
    partial run has every task's small points): accuracy only."""
    ordered = [entry for _, entry in sorted(entries, key=lambda e: e[0])]
    return {"name": "dimensions", "measure": ["accuracy"], "workers": workers,
            "timeout": timeout_s, "peak": False, "arch": ordered}
