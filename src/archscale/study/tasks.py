"""The study's tasks: what is trained, on which grid, with which seeds and epoch cap.

A ``StudyTask`` names a dataset (a sweep dataset entry), the task description the proposal is
made for (input shape, classes, training samples), the grid's axes, the training seeds and the
epoch cap. The cap keeps the study on 2 cores: the proposal's recipe (cosine decay, best
validation epoch restored) is used as proposed except that its epoch count is
``min(recipe.epochs, max_epochs)``, the same for every grid point, the proposal and every
search trial of the task, so the comparison stays fair.

``STUDIES`` holds the full study and the tiny one CI runs (one task, two grid points, one
seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.heuristics.difficulty import FactorRule
from archscale.specs import Task

#: Width multipliers of the grid (a log scale, 0.25x .. 4x).
WIDTHS = (0.25, 0.5, 1.0, 2.0, 4.0)
#: The sequence CNN's grid reaches further down: a 1-D CNN's translation-shared filters solve
#: MNIST-1D with far fewer parameters than an MLP (Greydanus 2020: ~94 % at 4 k examples
#: with a three-layer, 25-channel CNN), so its knee may lie below 0.25x of a proposal sized
#: by the MLP-fitted capacity rule.
SEQUENCE_WIDTHS = (0.0625, 0.125) + WIDTHS
#: Epoch caps: MNIST-1D up to 4 k examples, the 16 k and 64 k sets, digits, the synthetic
#: images. The MNIST-1D caps hold the optimizer steps near the 4 k set's (100 epochs of 113
#: batches of 32 = 11.3 k steps): 16 k at 30 epochs of 450 batches = 13.5 k, 64 k at 30 epochs
#: of 450 batches of 128 = 13.5 k.
MNIST1D_EPOCHS = 100
MNIST1D_LARGE_EPOCHS = 30
#: The tabular tasks are not capped below their recipes' own count (300 epochs for both, the
#: recipe's ceiling: 1.2 k optimizer steps for wine's 112 training examples, 3.6 k for breast
#: cancer's 358); a training takes seconds. Their first grids were capped at 50 (200 and 600
#: steps). The epochs alone were not what spread wine's seeds by up to 10 points: selecting
#: the best epoch by validation accuracy on its 12 held-out examples kept epoch 6 at 50
#: epochs or 300 alike (``heuristics.recipe_rules.MIN_ACCURACY_HOLDOUT``).
TABULAR_EPOCHS = 300
DIGITS_EPOCHS = 30
IMAGE_EPOCHS = 15
#: Depth offsets: hidden layers (MLP) or blocks per stage (staged CNNs) added to the proposal.
DEPTHS = (-1, 0, 1)
#: The headroom rule the full study's grids are centred on (``grid``'s module docstring):
#: ``clip((h / 0.03) ** 0.6, 1/8, 8)``, the rule every committed grid of
#: ``bench/results/dimensions`` was measured at. Change it only to measure new grids.
GRID_RULE = FactorRule(reference=0.03, exponent=0.6, floor=1 / 8, cap=8.0)
#: The searches compared on a task (see ``searches.SEARCHES``).
ALL_SEARCHES = ("archscale", "seed_random", "bayesian_unseeded", "hyperband_unseeded")


@dataclass(frozen=True)
class StudyTask:
    """One task of the study.

    Attributes:
        name: Short label (``mnist1d-4k``), used in file names and tables.
        dataset: The sweep dataset entry (``{"name": ..., **options}``).
        input_shape / classes / samples: The task the proposal is made for (``samples`` =
            training examples, before the recipe's validation hold-out).
        seeds: Training seeds of every grid point.
        widths / depths: The grid's axes.
        full_grid: Every (width, depth) pair; otherwise the width line at depth 0 plus the
            depth line at width 1 (a cross).
        max_epochs: The epoch cap (see the module docstring).
        searches: Searches run on this task (names of ``ALL_SEARCHES``).
        search_trials / search_seeds: Trials per search and the searches' seeds.
        group: ``mnist1d`` for the data-size series, else the task's kind.
        grid_rule: The headroom rule the grid is centred on (``None``: today's proposal is
            the centre).
    """

    name: str
    dataset: Mapping[str, Any]
    input_shape: tuple[int, ...]
    classes: int
    samples: int
    seeds: tuple[int, ...] = (0, 1, 2)
    widths: tuple[float, ...] = WIDTHS
    depths: tuple[int, ...] = DEPTHS
    full_grid: bool = False
    max_epochs: int = 30
    searches: tuple[str, ...] = ()
    search_trials: int = 30
    search_seeds: tuple[int, ...] = (0, 1, 2)
    group: str = ""
    notes: str = ""
    grid_rule: FactorRule | None = None

    def task(self) -> Task:
        """The ``archscale.Task`` the proposal is made for."""
        return Task(input_shape=self.input_shape, classes=self.classes, samples=self.samples)

    def points(self) -> tuple[tuple[float, int], ...]:
        """The grid's ``(width multiplier, depth offset)`` points, smallest first."""
        if self.full_grid:
            pts = [(w, d) for d in self.depths for w in self.widths]
        else:
            pts = [(w, 0) for w in self.widths] + [(1.0, d) for d in self.depths if d]
        return tuple(sorted(set(pts), key=lambda p: (p[0], p[1])))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for the report)."""
        return {"name": self.name, "dataset": dict(self.dataset),
                "input_shape": list(self.input_shape), "classes": self.classes,
                "samples": self.samples, "seeds": list(self.seeds),
                "widths": list(self.widths), "depths": list(self.depths),
                "full_grid": self.full_grid, "max_epochs": self.max_epochs,
                "searches": list(self.searches), "search_trials": self.search_trials,
                "search_seeds": list(self.search_seeds), "group": self.group,
                "notes": self.notes,
                "grid_rule": None if self.grid_rule is None else self.grid_rule.label()}


def _mnist1d(size: int, *, sequence: bool = False, max_epochs: int = MNIST1D_EPOCHS,
             **kw: Any) -> StudyTask:
    label = f"{size // 1000}k"
    name = "mnist1d_seq" if sequence else "mnist1d"
    return StudyTask(name=f"{name}-{label}", dataset={"name": name, "train_samples": size},
                     input_shape=(40, 1) if sequence else (40,), classes=10, samples=size,
                     max_epochs=max_epochs, group=name, grid_rule=GRID_RULE, **kw)


def _synthetic(name: str, noise: float, notes: str) -> StudyTask:
    return StudyTask(name=name, dataset={"name": "synthetic", "resolution": 16, "channels": 3,
                                         "classes": 10, "samples": 2000,
                                         "test_samples": 1000, "noise": noise},
                     input_shape=(16, 16, 3), classes=10, samples=2000,
                     max_epochs=IMAGE_EPOCHS, group="image", notes=notes, grid_rule=GRID_RULE)


def _tabular(name: str, shape: int, classes: int, samples: int, **kw: Any) -> StudyTask:
    return StudyTask(name=name, dataset={"name": name}, input_shape=(shape,), classes=classes,
                     samples=samples, seeds=(0, 1, 2, 3, 4), full_grid=True,
                     max_epochs=TABULAR_EPOCHS,
                     group="tabular", grid_rule=GRID_RULE, **kw)


FULL = (
    _tabular("wine", 13, 3, 124),
    _tabular("breast_cancer", 30, 2, 398),
    _mnist1d(1000, full_grid=True, searches=ALL_SEARCHES),
    _mnist1d(4000),
    _mnist1d(4000, sequence=True, widths=SEQUENCE_WIDTHS),
    _mnist1d(16000, max_epochs=MNIST1D_LARGE_EPOCHS),
    StudyTask(name="digits", dataset={"name": "digits"}, input_shape=(8, 8, 1), classes=10,
              samples=1437, max_epochs=DIGITS_EPOCHS, group="image", grid_rule=GRID_RULE),
    _synthetic("synthetic-easy", 1.0, "16x16x3 textures, noise std 1"),
    _synthetic("synthetic-medium", 2.0, "16x16x3 textures, noise std 2 (not used to fit the "
               "first headroom factor: a check of it)"),
    _synthetic("synthetic-hard", 3.0, "16x16x3 textures, noise std 3"),
    _mnist1d(64000, max_epochs=MNIST1D_LARGE_EPOCHS),
)

#: Tasks the grid trains before the searches run (the rest, the costliest, after them).
FIRST_PHASE = ("wine", "breast_cancer", "mnist1d-1k", "mnist1d-4k", "digits")

TINY = (
    StudyTask(name="wine", dataset={"name": "wine"}, input_shape=(13,), classes=3,
              samples=124, seeds=(0,), widths=(0.5, 1.0), depths=(0,), max_epochs=3,
              searches=("seed_random", "archscale"), search_trials=2, search_seeds=(0,),
              group="tabular"),
)

STUDIES: Mapping[str, tuple[StudyTask, ...]] = {"full": FULL, "tiny": TINY}


def study_tasks(name: str, only: tuple[str, ...] = ()) -> tuple[StudyTask, ...]:
    """The tasks of study ``name``, optionally only those named in ``only``.

    Raises:
        SpecError: an unknown study or task name.
    """
    if name not in STUDIES:
        raise SpecError(f"unknown study; accepted: {', '.join(STUDIES)}. Received: "
                        f"study={name!r}")
    tasks = STUDIES[name]
    names = [t.name for t in tasks]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise SpecError(f"unknown task of study {name!r}; accepted: {', '.join(names)}. "
                        f"Received: task={unknown[0]!r}")
    return tuple(t for t in tasks if not only or t.name in only)
