"""Training recipes: one frozen, documented ``Recipe`` per dataset (pure Python, no TF).

A recipe fixes everything about training except the architecture and the seed, so accuracy
numbers of different architectures on the same dataset are comparable. The defaults
(``DEFAULT_RECIPES``) and where they come from:

- ``mnist1d`` (the 40-vector form, what MLPs take): the protocol of Greydanus (2020),
  "Scaling down deep learning" (MNIST-1D), under which its MLP scored 68 %: Adam, learning
  rate 1e-2, constant, batch 100, 150 epochs (6000 steps over the 4000 training examples), no
  hold-out and no early stopping (``validation_split=0``): the last weights are tested. The
  reference MLP (``mnist1d_mlp``) reaches about 66 % with it; holding out 10 % for early
  stopping costs it about 1 point (64.6 %), and the sequence form's recipe about 6 points
  (59 %), measured over seeds 0-2.
- ``mnist1d_seq`` (the 40x1 sequence form, what 1-D CNNs take): the paper's recipe overfits
  Keras' reimplementation of the reference CNN (train 100 %, test 88-92 % over seeds); the
  default here trades the long constant-rate run for more gradient noise and an annealed rate:
  Adam 2e-2, batch 64, cosine decay over 40 epochs, label smoothing 0.1 (Szegedy et al. 2016),
  early stopping on validation accuracy with patience 15. The reference CNN reaches 92-95 %
  (published 94 %). A recipe belongs to a dataset name, so the two forms train differently;
  to compare an MLP and a CNN under one recipe, train both on ``mnist1d_seq`` (an MLP
  flattens it) or pass the same ``recipe`` to both.
- ``digits``: scikit-learn's 8x8 digits (1437 training images). Adam 3e-3 with cosine decay,
  batch 32, 40 epochs, patience 10; small MLPs and CNNs reach 95-98 %.
- ``synthetic``: the procedural texture task. Adam 3e-3, cosine, batch 64, 20 epochs,
  patience 5: enough for small models to separate the classes in seconds.
- ``npz``: user data, no prior knowledge: Keras' default Adam rate 1e-3, constant, batch 32
  (Keras' ``fit`` default), 50 epochs, patience 10.

Every other recipe holds out ``validation_split`` of the TRAINING set for early stopping (the
test set is only used for the final accuracy) and restores the best epoch's weights.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass
from typing import Any, Mapping

from archscale.errors import SpecError
from archscale.specs import (check_choice, check_fraction, check_positive_int,
                             check_positive_number)

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")
MONITORS = ("val_accuracy", "val_loss")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How to train a classifier.

    Attributes:
        optimizer: ``adam``, ``adamw``, ``sgd`` (momentum 0.9) or ``rmsprop``.
        learning_rate: Initial (peak) learning rate.
        schedule: ``constant`` or ``cosine`` (decay to 0 over ``epochs`` epochs).
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

    def __post_init__(self) -> None:
        for name in ("learning_rate", "weight_decay", "label_smoothing", "validation_split"):
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

    def to_dict(self) -> dict[str, Any]:
        """Field values as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def to_row(self) -> dict[str, Any]:
        """Flat record columns: every field prefixed ``recipe_``."""
        return {f"recipe_{key}": value for key, value in self.to_dict().items()}


def recipe_from_dict(data: Mapping[str, Any]) -> Recipe:
    """Build a ``Recipe`` from a mapping (e.g. a sweep file table); keys are field names.

    Raises:
        SpecError: unknown fields or invalid values.
    """
    return Recipe().replace(**dict(data))


DEFAULT_RECIPES: Mapping[str, Recipe] = types.MappingProxyType({
    "mnist1d": Recipe(optimizer="adam", learning_rate=1e-2, schedule="constant", epochs=150,
                      batch_size=100, early_stopping_patience=0, validation_split=0.0),
    "mnist1d_seq": Recipe(optimizer="adam", learning_rate=2e-2, schedule="cosine", epochs=40,
                          batch_size=64, early_stopping_patience=15, label_smoothing=0.1,
                          validation_split=0.1),
    "digits": Recipe(optimizer="adam", learning_rate=3e-3, schedule="cosine", epochs=40,
                     batch_size=32, early_stopping_patience=10, validation_split=0.1),
    "synthetic": Recipe(optimizer="adam", learning_rate=3e-3, schedule="cosine", epochs=20,
                        batch_size=64, early_stopping_patience=5, validation_split=0.1),
    "npz": Recipe(optimizer="adam", learning_rate=1e-3, schedule="constant", epochs=50,
                  batch_size=32, early_stopping_patience=10, validation_split=0.1),
})


def default_recipe(dataset: str) -> Recipe:
    """The documented default recipe for a dataset name (``npz:...`` paths share ``npz``).

    Args:
        dataset: A dataset name as accepted by ``load_dataset``.

    Returns:
        The recipe from ``DEFAULT_RECIPES``.

    Raises:
        SpecError: the dataset name is unknown.
    """
    key = "npz" if isinstance(dataset, str) and dataset.startswith("npz:") else dataset
    if key not in DEFAULT_RECIPES:
        raise SpecError(f"no default recipe for dataset; known: "
                        f"{', '.join(DEFAULT_RECIPES)}. Received: dataset={dataset!r}")
    return DEFAULT_RECIPES[key]
