"""Regularisation signals beside the width advice (pure Python).

The train/held-out gap: the trained model's accuracy on the training set and on the test set
(evaluated after training, dropout off), and, when the model was trained here, the per-epoch
curves (Keras' running training accuracy against the hold-out's, or the test set's when the
recipe holds nothing out; see ``archscale.measure.training``). A final gap above
``OVERFIT_POINTS`` reads as overfitting, above ``MILD_POINTS`` as mild.

Beside it, what the proposal's defaults would change: ``archscale.heuristics.capacity
.regularisation(params, training samples)`` is the rule ``archscale propose`` uses for its
dropout and weight decay; the signals list how they differ from the spec's dropout field
(``Family.dropout_field``) and the recipe's weight decay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from archscale.heuristics.capacity import Regularisation, regularisation
from archscale.reference_archs.registry import families
from archscale.specs import ArchSpec
from archscale.training_recipe import Recipe

OVERFIT_POINTS = 10.0
MILD_POINTS = 3.0

__all__ = ["MILD_POINTS", "OVERFIT_POINTS", "RegularisationSignals", "regularisation_signals"]


@dataclass(frozen=True)
class RegularisationSignals:
    """The gap and the defaults' changes.

    Attributes:
        train_accuracy / test_accuracy: Of the inspected model (dropout off).
        gap_points: ``100 * (train - test)``.
        verdict: ``overfitting``, ``mild overfitting`` or ``no sign of overfitting``.
        curves: Per-epoch accuracies (``accuracy``, ``val_accuracy``, ``test_accuracy``).
        heldout_curve: Which curve the per-epoch gap is taken against, or ``None``.
        max_gap_points / max_gap_epoch: Largest per-epoch gap and its 1-based epoch.
        defaults: The proposal rule's ``Regularisation`` for these params and samples.
        changes: What the defaults would change, one sentence each.
    """

    train_accuracy: float
    test_accuracy: float
    gap_points: float
    verdict: str
    curves: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    heldout_curve: str | None = None
    max_gap_points: float | None = None
    max_gap_epoch: int | None = None
    defaults: Regularisation | None = None
    changes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (curves as lists)."""
        out = dict(self.__dict__)
        out["curves"] = {k: list(v) for k, v in self.curves.items()}
        out["defaults"] = self.defaults.to_dict() if self.defaults is not None else None
        out["changes"] = list(self.changes)
        return out


def _verdict(gap: float) -> str:
    if gap > OVERFIT_POINTS:
        return "overfitting"
    return "mild overfitting" if gap > MILD_POINTS else "no sign of overfitting"


def _dropout_now(spec: ArchSpec, name: str) -> float:
    value = getattr(spec, name)
    values = value if isinstance(value, tuple) else (value,)
    return max((float(v) for v in values), default=0.0)


def _changes(defaults: Regularisation, spec: ArchSpec | None,
             recipe: Recipe | None) -> tuple[str, ...]:
    out = []
    if spec is not None:
        name = families().get(spec.family).dropout_field
        if name is None:
            out.append(f"family {spec.family!r} has no dropout layer; dropout "
                       f"{defaults.dropout:g} does not apply")
        else:
            now = _dropout_now(spec, name)
            verb = "keep" if abs(now - defaults.dropout) < 1e-9 else \
                ("raise" if defaults.dropout > now else "lower")
            out.append(f"{verb} dropout: spec field {name} is {now:g}, the default "
                       f"{defaults.dropout:g}")
    if recipe is not None:
        now = recipe.weight_decay
        verb = "keep" if abs(now - defaults.weight_decay) < 1e-12 else \
            ("add" if not now else ("raise" if defaults.weight_decay > now else "lower"))
        out.append(f"{verb} weight decay: the recipe has {now:g}, the default "
                   f"{defaults.weight_decay:g}")
        if recipe.early_stopping_patience:
            out.append(f"early-stopping patience: the recipe has "
                       f"{recipe.early_stopping_patience}, the default "
                       f"{defaults.early_stopping_patience}")
    return tuple(out)


def regularisation_signals(train_accuracy: float, test_accuracy: float, *, params: int,
                           samples: int, spec: ArchSpec | None = None,
                           recipe: Recipe | None = None,
                           curves: Mapping[str, Sequence[float]] | None = None
                           ) -> RegularisationSignals:
    """The signals of one inspected model.

    Args:
        train_accuracy / test_accuracy: Accuracies of the trained model (fractions).
        params: Its parameter count.
        samples: Training examples of the dataset.
        spec: The spec (for its dropout field), if any.
        recipe: The recipe trained with (for its weight decay), if known.
        curves: Per-epoch accuracy curves from training, if trained here.

    Returns:
        The ``RegularisationSignals``.
    """
    curves = {k: tuple(float(x) for x in v) for k, v in (curves or {}).items() if v}
    heldout = next((k for k in ("val_accuracy", "test_accuracy") if k in curves), None)
    max_gap = max_epoch = None
    if heldout and "accuracy" in curves:
        gaps = [100 * (a - b) for a, b in zip(curves["accuracy"], curves[heldout])]
        if gaps:
            max_epoch = max(range(len(gaps)), key=gaps.__getitem__) + 1
            max_gap = gaps[max_epoch - 1]
    gap = 100 * (train_accuracy - test_accuracy)
    defaults = regularisation(int(params), int(samples))
    return RegularisationSignals(
        train_accuracy=float(train_accuracy), test_accuracy=float(test_accuracy),
        gap_points=gap, verdict=_verdict(gap), curves=curves, heldout_curve=heldout,
        max_gap_points=max_gap, max_gap_epoch=max_epoch, defaults=defaults,
        changes=_changes(defaults, spec, recipe))
