"""Default training recipes: one documented ``Recipe`` per dataset (pure Python, no TF).

The ``Recipe`` type itself is ``archscale.training_recipe.Recipe``, shared with the proposals.

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
- ``breast_cancer`` / ``wine``: scikit-learn's small tabular sets (398 / 124 training rows,
  standardised). Adam 1e-3, cosine, batch 32, 100 epochs, patience 20: small MLPs reach
  95-98 % on both.
- ``npz``: user data, no prior knowledge: Keras' default Adam rate 1e-3, constant, batch 32
  (Keras' ``fit`` default), 50 epochs, patience 10.

Every other recipe holds out ``validation_split`` of the TRAINING set for early stopping (the
test set is only used for the final accuracy) and restores the best epoch's weights.
"""

from __future__ import annotations

import types
from typing import Mapping

from archscale.errors import SpecError
from archscale.training_recipe import Recipe

__all__ = ["DEFAULT_RECIPES", "default_recipe"]


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
    "breast_cancer": Recipe(optimizer="adam", learning_rate=1e-3, schedule="cosine",
                            epochs=100, batch_size=32, early_stopping_patience=20,
                            validation_split=0.1),
    "wine": Recipe(optimizer="adam", learning_rate=1e-3, schedule="cosine", epochs=100,
                   batch_size=32, early_stopping_patience=20, validation_split=0.1),
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
