"""What ``measure_accuracy`` returns: one ``SeedRun`` per seed and their ``AccuracyResult``.

Pure Python (no TensorFlow): the runner and reports read these rows without training anything.
``AccuracyResult.to_row()`` gives the flat record with the stable column names that sweeps
store (``accuracy_mean``, ``accuracy_std``, ``accuracy_per_seed``, ``train_flops``...).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from archscale.training_recipe import Recipe


@dataclass(frozen=True)
class SeedRun:
    """One seed's training run.

    Attributes:
        seed: The seed.
        test_accuracy: Fraction of test examples classified correctly (``None`` if diverged).
        best_epoch: 1-based epoch whose weights were tested: the best one on the hold-out,
            or the last one when the recipe holds nothing out (``None`` if diverged).
        epochs_run: Epochs trained before early stopping (or divergence) ended the run.
        train_seconds: Wall time of ``model.fit`` (includes tracing/compilation).
        train_flops: Analytic training FLOPs of this run (``None`` if the profile failed).
        diverged: The loss became NaN/inf or exceeded ``divergence_factor`` x its initial value.
        divergence: Why the run was declared diverged (``None`` otherwise).
        initial_loss: Loss of the initialised model on (up to 1024) training examples.
        final_train_loss: Mean training loss of the last epoch run.
        val_accuracy: Accuracy on the validation hold-out (carved from the training set) at
            ``best_epoch``, the weights that were tested; ``None`` when nothing was held out
            or the run diverged. Not part of ``AccuracyResult.to_row()``.
    """

    seed: int
    test_accuracy: float | None
    best_epoch: int | None
    epochs_run: int
    train_seconds: float
    train_flops: int | None
    diverged: bool
    divergence: str | None
    initial_loss: float
    final_train_loss: float | None
    val_accuracy: float | None = None


@dataclass(frozen=True)
class AccuracyResult:
    """Accuracy of one architecture on one dataset under one recipe, over seeds.

    Attributes:
        dataset: Dataset name.
        seeds: Seeds, in run order.
        recipe: The recipe used.
        runs: Per-seed results.
        train_examples / validation_examples / test_examples: Split sizes.
        forward_flops: Analytic forward FLOPs per example (``None`` if unavailable).
        params: Parameter count of the trained model.
        from_logits: Whether the model's output was treated as logits (linear last layer).
        spec_overridden: The spec's input_shape/classes were replaced by the dataset's.
        input_shape / classes: What the trained model takes and predicts.
        reinitialized: Every seed started from freshly initialised weights (``False`` only for
            a keras.Model that cannot be cloned: all seeds then start from its weights).
        total_seconds: Wall time of the whole measurement (all seeds, builds, evaluation).
    """

    dataset: str
    seeds: tuple[int, ...]
    recipe: Recipe
    runs: tuple[SeedRun, ...]
    train_examples: int
    validation_examples: int
    test_examples: int
    forward_flops: int | None
    params: int
    from_logits: bool
    spec_overridden: bool
    input_shape: tuple[int, ...]
    classes: int
    reinitialized: bool
    total_seconds: float

    @property
    def accuracy_per_seed(self) -> list[float | None]:
        """Test accuracy per seed; ``None`` for a diverged seed."""
        return [run.test_accuracy for run in self.runs]

    @property
    def accuracy_mean(self) -> float | None:
        """Mean test accuracy over the seeds that did not diverge (``None`` if all did)."""
        values = [a for a in self.accuracy_per_seed if a is not None]
        return statistics.fmean(values) if values else None

    @property
    def accuracy_std(self) -> float | None:
        """Sample standard deviation (n - 1) over non-diverged seeds; ``None`` below 2."""
        values = [a for a in self.accuracy_per_seed if a is not None]
        return statistics.stdev(values) if len(values) > 1 else None

    @property
    def diverged(self) -> bool:
        """Whether any seed diverged."""
        return any(run.diverged for run in self.runs)

    @property
    def train_seconds(self) -> float:
        """Mean ``fit`` wall time of one seed."""
        return statistics.fmean(run.train_seconds for run in self.runs)

    @property
    def train_flops(self) -> int | None:
        """Mean analytic training FLOPs of one seed's run."""
        flops = [run.train_flops for run in self.runs]
        return None if None in flops else round(statistics.fmean(flops))

    def to_row(self) -> dict[str, Any]:
        """Flat record: stable, unit-suffixed column names plus ``recipe_*`` fields."""
        finished = [run for run in self.runs if not run.diverged]
        flops = [run.train_flops for run in self.runs]
        row: dict[str, Any] = {
            "dataset": self.dataset,
            "seeds": list(self.seeds),
            "accuracy_mean": self.accuracy_mean,
            "accuracy_std": self.accuracy_std,
            "accuracy_per_seed": self.accuracy_per_seed,
            "best_epoch_mean": (statistics.fmean(r.best_epoch for r in finished)
                                if finished else None),
            "best_epoch_per_seed": [run.best_epoch for run in self.runs],
            "epochs_run_per_seed": [run.epochs_run for run in self.runs],
            "train_seconds": self.train_seconds,
            "train_seconds_per_seed": [run.train_seconds for run in self.runs],
            "train_seconds_total": self.total_seconds,
            "train_flops": self.train_flops,
            "train_flops_total": None if None in flops else int(sum(flops)),
            "forward_flops_per_example": self.forward_flops,
            "diverged": self.diverged,
            "diverged_seeds": [run.seed for run in self.runs if run.diverged],
            "divergence_reasons": [run.divergence for run in self.runs if run.diverged],
            "train_examples": self.train_examples,
            "validation_examples": self.validation_examples,
            "test_examples": self.test_examples,
            "model_params": self.params,
            "output_from_logits": self.from_logits,
            "spec_overridden": self.spec_overridden,
            "trained_input_shape": list(self.input_shape),
            "trained_classes": self.classes,
            "weights_reinitialized": self.reinitialized,
        }
        row.update(self.recipe.to_row())
        return row
