"""The training recipe: one frozen, validated ``Recipe`` for every layer (pure Python, no TF).

A recipe fixes everything about training except the architecture and the seed. The same type
is proposed by ``archscale.heuristics`` (``Proposal.recipe``), trained by
``archscale.measure.accuracy`` and keyed by the runner, so the recipe a proposal prints is the
one the benchmark trains with: ``measure_accuracy(build(p.spec), "digits", recipe=p.recipe)``.

Fields that a benchmark job is keyed by (``to_dict``): the ten original fields always, and the
fields added with the proposal's recipe (``optimizer_momentum``, ``warmup_epochs``, ``loss``) only when
they differ from their defaults, so job keys stored before they existed stay valid. ``source``
(where the values come from) is documentation, never part of a key; records (``to_row``) carry
every field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.specs import (check_choice, check_fraction, check_positive_int,
                             check_positive_number)

#: ``sgd``: SGD with momentum (``optimizer_momentum``, default 0.9); ``momentum``: SGD with
#: Nesterov momentum (``optimizer_momentum``, default 0.9), the ImageNet ResNet recipe.
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum", "rmsprop")
SCHEDULES = ("constant", "cosine")
MONITORS = ("val_accuracy", "val_loss")
LOSSES = ("categorical_crossentropy", "binary_crossentropy", "mean_squared_error")

#: Fields added after the first stored records: written by ``to_dict`` only when not default.
_OPTIONAL_FIELDS = ("optimizer_momentum", "warmup_epochs", "loss")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How to train a model.

    Attributes:
        optimizer: ``adam``, ``adamw``, ``sgd`` (momentum), ``momentum`` (Nesterov momentum) or
            ``rmsprop``.
        learning_rate: Initial (peak) learning rate.
        schedule: ``constant`` or ``cosine`` (decay to 0 over the epochs after warm-up).
        epochs: Maximum number of epochs.
        batch_size: Examples per step.
        early_stopping_patience: Epochs without improvement of ``monitor`` before stopping;
            0 disables early stopping (the best epoch's weights are still restored).
        weight_decay: Decoupled weight decay passed to the Keras optimizer (0 = none).
        label_smoothing: Label smoothing of the cross-entropy (0 = none).
        validation_split: Fraction of the training set held out for early stopping and for
            choosing the best epoch. 0 (only with ``early_stopping_patience=0``) trains on
            the whole training set for ``epochs`` epochs and keeps the last weights, as papers
            with a fixed step budget do.
        monitor: ``val_accuracy`` or ``val_loss``: what early stopping and "best epoch" track.
        optimizer_momentum: Momentum of ``sgd``, ``momentum`` and ``rmsprop``; ``None`` means the
            optimizer's default (0.9 for the SGD variants, Keras' 0.0 for RMSprop).
        warmup_epochs: Linear warm-up from 0 to ``learning_rate`` (cosine schedule only).
        loss: ``categorical_crossentropy`` (classification), ``binary_crossentropy`` (one
            sigmoid output) or ``mean_squared_error`` (regression).
        source: Where the values come from (citations); not part of ``to_dict``.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    epochs: int = 50
    batch_size: int = 32
    early_stopping_patience: int = 10
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    validation_split: float = 0.1
    monitor: str = "val_accuracy"
    optimizer_momentum: float | None = None
    warmup_epochs: int = 0
    loss: str = "categorical_crossentropy"
    source: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("learning_rate", "weight_decay", "label_smoothing", "validation_split",
                     "optimizer_momentum"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_positive_number("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_positive_int("epochs", self.epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("early_stopping_patience", self.early_stopping_patience,
                           allow_zero=True)
        if self.weight_decay:
            check_positive_number("weight_decay", self.weight_decay)
        check_fraction("label_smoothing", self.label_smoothing)
        check_fraction("validation_split", self.validation_split)
        if not self.validation_split and self.early_stopping_patience:
            raise SpecError("validation_split=0 trains on the whole training set and keeps the "
                            "last epoch's weights, so it needs early_stopping_patience=0 "
                            "(early stopping needs a held-out part of the training set). "
                            f"Received: validation_split=0.0, early_stopping_patience="
                            f"{self.early_stopping_patience}")
        check_choice("monitor", self.monitor, MONITORS)
        if self.optimizer_momentum is not None:
            check_fraction("optimizer_momentum", self.optimizer_momentum)
        self._check_warmup()
        check_choice("loss", self.loss, LOSSES)
        if not isinstance(self.source, str):
            raise SpecError(f"source must be a string. Received: source={self.source!r}")

    def _check_warmup(self) -> None:
        check_positive_int("warmup_epochs", self.warmup_epochs, allow_zero=True)
        if self.warmup_epochs and self.schedule != "cosine":
            raise SpecError("warmup_epochs needs schedule='cosine' (warm-up, then cosine decay). "
                            f"Received: warmup_epochs={self.warmup_epochs}, "
                            f"schedule={self.schedule!r}")
        if self.warmup_epochs >= self.epochs:
            raise SpecError("warmup_epochs must be below epochs. Received: "
                            f"warmup_epochs={self.warmup_epochs}, epochs={self.epochs}")

    @property
    def momentum_used(self) -> float:
        """The momentum the optimizer runs with (``optimizer_momentum``, else its default)."""
        if self.optimizer_momentum is not None:
            return self.optimizer_momentum
        return 0.9 if self.optimizer in ("sgd", "momentum") else 0.0

    def replace(self, **overrides: Any) -> "Recipe":
        """A copy with ``overrides`` applied and validated.

        Raises:
            SpecError: an unknown field or an invalid value.
        """
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise SpecError(f"unknown recipe field {unknown[0]!r}; accepted fields: "
                            f"{', '.join(names)}. Received: {unknown[0]}="
                            f"{overrides[unknown[0]]!r}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self, *, complete: bool = False) -> dict[str, Any]:
        """The fields that define the training run, as a JSON-ready dict.

        Args:
            complete: Every field, ``source`` included (for display, e.g. a proposal's JSON);
                job keys and records use the default form.

        Returns:
            Every original field, plus ``optimizer_momentum`` / ``warmup_epochs`` / ``loss`` where they
            differ from their defaults (see the module docstring); with ``complete``, all.
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if complete:
            return out
        del out["source"]
        for name in _OPTIONAL_FIELDS:
            if out[name] == _DEFAULTS[name]:
                del out[name]
        return out

    def to_row(self) -> dict[str, Any]:
        """Flat record columns: every field (``source`` too) prefixed ``recipe_``."""
        return {f"recipe_{key}": value for key, value in self.to_dict(complete=True).items()}


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Recipe)}


def recipe_from_dict(data: Mapping[str, Any]) -> Recipe:
    """Build a ``Recipe`` from a mapping (a sweep file table, a saved proposal's recipe).

    Raises:
        SpecError: unknown fields or invalid values.
    """
    return Recipe().replace(**dict(data))
