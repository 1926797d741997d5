"""The study's numbers from its measurements (pure functions, no TensorFlow).

Definitions (the README's "Optimal dimensions" section states them too):

- A grid point's accuracy is the mean of its seeds' test accuracies; its spread is their
  sample standard deviation (``ddof=1``; 0 with one seed).
- **The knee** of a task is the grid point with the fewest MACs whose mean accuracy is within
  ``max(1 std, 0.5 points)`` of the best mean on the grid, the std being the best point's.
- **Proposal gap**: best mean minus the proposal's mean (points); the target is at most
  ``max(1 point, the best point's std)``, at no more than 2x the knee's MACs.
- A search's **selected** trial after ``n`` trials is the one with the best validation
  accuracy among its first ``n``; its test accuracy is reported (never used to choose).
  **Trials to the knee**: the first trial whose test accuracy reaches the knee's mean minus
  the knee's tolerance (``None``: never within the trials run).
- **Rank correlation**: Spearman's rho (average ranks for ties) between the knee's params
  and the proposal's params across the training-set sizes of one series.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Sequence

#: The knee's tolerance floor and the proposal's accuracy target, in accuracy units (0-1).
KNEE_FLOOR = 0.005
GAP_TARGET = 0.01
#: The proposal's MACs may be at most this multiple of the knee's.
MACS_TARGET = 2.0


@dataclass(frozen=True)
class PointResult:
    """One grid point, aggregated over its seeds, or the proposal when it is not one of them
    (``on_grid`` False, ``width`` and ``depth`` ``None``: made by today's rules, trained on its
    own, scored against the grid but never part of its best or knee)."""

    task: str
    width: float | None
    depth: int | None
    label: str
    params: int
    macs: int
    accuracies: tuple[float, ...]
    train_flops: float
    train_seconds: float
    is_proposal: bool
    on_grid: bool = True

    @property
    def mean(self) -> float:
        """Mean test accuracy over the seeds."""
        return statistics.fmean(self.accuracies)

    @property
    def std(self) -> float:
        """Sample standard deviation over the seeds (0 with one seed)."""
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0


@dataclass(frozen=True)
class Knee:
    """The grid's best point, its knee and the tolerance that defines it."""

    best: PointResult
    knee: PointResult
    tolerance: float


def knee_of(points: Sequence[PointResult]) -> Knee | None:
    """The best point and the knee of a task's grid (``None`` without grid points; a proposal
    off the grid is left out).

    Ties in mean accuracy go to the smaller MACs; ties in MACs to the higher mean.
    """
    points = [p for p in points if p.on_grid]
    if not points:
        return None
    best = max(points, key=lambda p: (p.mean, -p.macs))
    tolerance = max(best.std, KNEE_FLOOR)
    near = [p for p in points if p.mean >= best.mean - tolerance - 1e-12]
    knee = min(near, key=lambda p: (p.macs, -p.mean))
    return Knee(best, knee, tolerance)


@dataclass(frozen=True)
class ProposalScore:
    """How the zero-shot proposal scores on its task's grid."""

    task: str
    proposal_accuracy: float
    proposal_std: float
    best_accuracy: float
    best_std: float
    knee_accuracy: float
    gap_points: float
    gap_allowed_points: float
    macs_ratio_to_knee: float
    proposal_macs: int
    knee_macs: int
    proposal_params: int
    knee_params: int
    knee_label: str
    best_label: str
    meets_accuracy: bool
    meets_macs: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def score_proposal(points: Sequence[PointResult]) -> ProposalScore | None:
    """The proposal's score (the ``is_proposal`` point, on the grid or off it), or ``None``
    when the grid or the proposal is missing."""
    found = knee_of(points)
    proposal = next((p for p in points if p.is_proposal), None)
    if found is None or proposal is None:
        return None
    gap = found.best.mean - proposal.mean
    allowed = max(GAP_TARGET, found.best.std)
    ratio = proposal.macs / found.knee.macs if found.knee.macs else math.inf
    return ProposalScore(
        task=proposal.task, proposal_accuracy=proposal.mean, proposal_std=proposal.std,
        best_accuracy=found.best.mean, best_std=found.best.std,
        knee_accuracy=found.knee.mean, gap_points=100 * gap,
        gap_allowed_points=100 * allowed, macs_ratio_to_knee=ratio,
        proposal_macs=proposal.macs, knee_macs=found.knee.macs,
        proposal_params=proposal.params, knee_params=found.knee.params,
        knee_label=found.knee.label, best_label=found.best.label,
        meets_accuracy=gap <= allowed + 1e-12, meets_macs=ratio <= MACS_TARGET + 1e-12)


@dataclass(frozen=True)
class SearchScore:
    """One search run (one search seed), truncated to its first ``trials`` trials."""

    task: str
    search: str
    search_seed: int
    trials: int
    trials_run: int
    selected_test_accuracy: float | None
    selected_val_accuracy: float | None
    selected_macs: int | None
    best_test_accuracy: float | None
    trials_to_knee: int | None
    train_flops_total: float
    train_seconds_total: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def score_search(trials: Sequence[Any], n: int, knee: Knee | None) -> SearchScore | None:
    """The score of one search run's first ``n`` trials (``SearchTrial`` rows in order).

    Returns:
        ``None`` when the run has no trial.
    """
    ordered = sorted(trials, key=lambda t: t.trial)[:n]
    if not ordered:
        return None
    first = ordered[0]
    selected = max(ordered, key=lambda t: (t.val_accuracy, -t.macs))
    reach = None
    if knee is not None:
        target = knee.knee.mean - knee.tolerance - 1e-12
        reach = next((i + 1 for i, t in enumerate(ordered) if t.test_accuracy >= target), None)
    return SearchScore(
        task=first.task, search=first.search, search_seed=first.search_seed, trials=n,
        trials_run=len(ordered), selected_test_accuracy=selected.test_accuracy,
        selected_val_accuracy=selected.val_accuracy, selected_macs=selected.macs,
        best_test_accuracy=max(t.test_accuracy for t in ordered), trials_to_knee=reach,
        train_flops_total=sum(t.train_flops for t in ordered),
        train_seconds_total=sum(t.train_seconds for t in ordered))


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); ``None`` with fewer than two
    pairs or a constant series."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if not sxx or not syy:
        return None
    return sxy / math.sqrt(sxx * syy)
