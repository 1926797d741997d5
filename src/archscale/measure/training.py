"""Train one model with a dataset's recipe and keep it: ``train_model``.

``measure_accuracy`` trains a fresh model per seed and keeps only the numbers; inspecting what
a trained network's layers produce needs the trained model itself and its per-epoch history.
``train_model`` runs exactly the same training code (``accuracy._train_seed``: same recipe
semantics, seeding, hold-out split, early stopping with best weights restored, divergence
guard, test accuracy) for one seed and returns the model with its history.

The history has, per epoch: ``accuracy`` (Keras' running training accuracy over the epoch's
batches, dropout active), ``val_accuracy`` when the recipe holds out part of the training set,
and, with ``monitor_test=True``, ``test_accuracy`` measured at every epoch end. The test curve
is for monitoring only: nothing (no early stopping, no choice of weights) reads it, so it does
not leak into training. It is what shows a train/held-out gap for recipes such as ``mnist1d``'s
that hold nothing out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from archscale.errors import SpecError
from archscale.measure.accuracy import (_check_model_fits, _check_seeds, _forward_flops,
                                        _train_seed, fit_spec_to_dataset, outputs_are_logits)
from archscale.measure.accuracy_result import SeedRun
from archscale.measure.dataset_recipes import default_recipe
from archscale.measure.datasets import Dataset, load_dataset
from archscale.profiling import build
from archscale.specs import ArchSpec, check_positive_int
from archscale.training_recipe import Recipe

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = ["TrainedModel", "train_model"]


@dataclass(frozen=True)
class TrainedModel:
    """A model trained by ``train_model``.

    Attributes:
        model: The trained ``keras.Model`` (best epoch's weights when the recipe holds out).
        run: The seed's ``SeedRun`` (test accuracy, epochs run, best epoch...).
        history: Per-epoch curves: ``accuracy``, ``val_accuracy`` (with a hold-out),
            ``test_accuracy`` (with ``monitor_test``); each a tuple of floats.
        recipe: The recipe trained with (``epochs`` overridden if asked).
        dataset: The ``Dataset`` trained on.
        spec: The spec built (with the dataset's input shape and classes), or ``None``.
    """

    model: Any
    run: SeedRun
    history: Mapping[str, tuple[float, ...]]
    recipe: Recipe
    dataset: Dataset
    spec: ArchSpec | None


def _history_recorder(dataset: Dataset, monitor_test: bool, batch_size: int) -> Any:
    import keras

    class HistoryRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.curves: dict[str, list[float]] = {}

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = dict(logs or {})
            if monitor_test:
                scores = self.model.predict(dataset.x_test, batch_size=max(batch_size, 256),
                                            verbose=0)
                logs["test_accuracy"] = float(np.mean(np.argmax(scores, axis=-1)
                                                      == dataset.y_test))
            for key in ("accuracy", "val_accuracy", "test_accuracy"):
                if key in logs:
                    self.curves.setdefault(key, []).append(float(logs[key]))

    return HistoryRecorder()


def train_model(target: "ArchSpec | keras.Model", dataset: "str | Dataset", *, seed: int = 0,
                recipe: Recipe | None = None, epochs: int | None = None,
                monitor_test: bool = True, jit_compile: bool | str = "auto",
                verbose: int = 0) -> TrainedModel:
    """Train ``target`` on ``dataset`` once (one seed) and return the trained model.

    Args:
        target: An ``ArchSpec`` (built with ``archscale.build``; its input_shape/classes are
            replaced by the dataset's when they differ) or a ``keras.Model`` with one input and
            one output (trained in place from its current weights).
        dataset: A ``Dataset`` or a name for ``load_dataset``.
        seed: The seed (initial weights, dropout, shuffling, hold-out split).
        recipe: Training recipe; default ``default_recipe(dataset name)``.
        epochs: Override the recipe's epochs (a cosine schedule decays over these).
        monitor_test: Record test accuracy at every epoch end (monitoring only).
        jit_compile: Passed to ``Model.compile``.
        verbose: Keras ``fit`` verbosity.

    Returns:
        A ``TrainedModel``.

    Raises:
        SpecError: invalid seed or epochs; the target cannot take the dataset's inputs; the
            recipe's loss is not a classification cross-entropy.
    """
    import keras

    (seed,) = _check_seeds((seed,))
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    recipe = recipe if recipe is not None else default_recipe(data.name)
    if epochs is not None:
        check_positive_int("epochs", epochs)
        recipe = recipe.replace(epochs=epochs)
    if recipe.loss != "categorical_crossentropy":
        raise SpecError("train_model trains classifiers; the recipe's loss must be "
                        f"'categorical_crossentropy'. Received: loss={recipe.loss!r}")
    spec = None
    if isinstance(target, ArchSpec):
        spec, _ = fit_spec_to_dataset(target, data)
        keras.utils.set_random_seed(seed)
        model = build(spec)
    elif isinstance(target, keras.Model):
        _check_model_fits(target, data)
        keras.utils.set_random_seed(seed)
        model = target
    else:
        raise SpecError("train_model accepts an ArchSpec or a keras.Model. "
                        f"Received: {type(target).__name__}")
    recorder = _history_recorder(data, monitor_test, recipe.batch_size)
    run = _train_seed(model, data, recipe, seed, outputs_are_logits(model, data.x_train),
                      _forward_flops(spec if spec is not None else model), 5.0, jit_compile,
                      verbose, extra_callbacks=(recorder,))
    history = {key: tuple(values) for key, values in recorder.curves.items()}
    return TrainedModel(model=model, run=run, history=history, recipe=recipe, dataset=data,
                        spec=spec)
