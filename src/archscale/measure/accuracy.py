"""Test accuracy of an architecture under a documented recipe, over several seeds.

``measure_accuracy(target, dataset)`` trains a fresh model per seed with ``keras.Model.fit``:

1. ``keras.utils.set_random_seed(seed)`` seeds Python, NumPy and the backend (initial weights,
   dropout, shuffling); the seed also picks which ``recipe.validation_split`` of the TRAINING
   set is held out for early stopping. The test set is used once, after training.
2. Training stops early after ``recipe.early_stopping_patience`` epochs without improvement of
   ``recipe.monitor``; the best epoch's weights are restored before testing. A recipe with
   ``validation_split=0`` (and patience 0) holds nothing out: it trains on the whole training
   set for ``recipe.epochs`` epochs and tests the last epoch's weights.
3. A seed whose training loss becomes NaN/inf, or rises above ``divergence_factor`` (default
   5) times the loss of the freshly initialised model (measured on up to 1024 training
   examples, floored at ln(classes)), is stopped and recorded as diverged: it has no accuracy
   and is left out of the mean and std. Checked after every chunk of steps (``fit`` runs up to
   32 steps per call, Keras' ``steps_per_execution``, to cut per-step overhead) and at every
   epoch end.
4. Test accuracy = fraction of test examples whose argmax prediction equals the label.
   ``accuracy_std`` is the sample standard deviation (n - 1) over the non-diverged seeds.

Compilation follows Keras' ``jit_compile="auto"`` unless told otherwise: XLA on GPU, none on
CPU-only machines.

Training FLOPs (an analytic estimate, not a measurement) =
``3 x forward FLOPs per example x training examples x epochs run``: the backward pass costs
about twice the forward pass (gradients with respect to activations and to weights), the
convention of Kaplan et al. (2020, "C = 6N per token") and OpenAI's "AI and Compute". Forward
FLOPs are ``archscale.profile(...).flops`` (2 x MACs + element-wise work, per example);
"training examples" excludes the validation hold-out, and "epochs run" includes the epochs
after the best one that early stopping waited through (a diverged run counts the epochs it
started). Validation and test passes are not counted. When the profile cannot cost every
layer (a keras.Model with unsupported layers) the FLOPs are ``None`` rather than too low.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from archscale.errors import ArchscaleError, SpecError
from archscale.measure.accuracy_result import AccuracyResult, SeedRun
from archscale.measure.datasets import Dataset, load_dataset
from archscale.measure.dataset_recipes import default_recipe
from archscale.specs import ArchSpec
from archscale.profiling import build, profile
from archscale.training_recipe import Recipe

if TYPE_CHECKING:  # pragma: no cover
    import keras

INITIAL_LOSS_EXAMPLES = 1024


# ---------------------------------------------------------------------------------------------
# Preparing the target
# ---------------------------------------------------------------------------------------------


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    seeds = tuple(seeds) if not isinstance(seeds, int) else (seeds,)
    ok = bool(seeds) and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                             for s in seeds)
    if not ok or len(set(seeds)) != len(seeds):
        raise SpecError(f"seeds must be a non-empty list of distinct non-negative ints. "
                        f"Received: seeds={seeds!r}")
    return seeds


def fit_spec_to_dataset(spec: ArchSpec, dataset: Dataset) -> tuple[ArchSpec, bool]:
    """Give ``spec`` the dataset's input shape and class count.

    Returns:
        The (possibly replaced) spec and whether anything changed.

    Raises:
        SpecError: the family cannot take the dataset's input shape.
    """
    if spec.input_shape == dataset.input_shape and spec.classes == dataset.classes:
        return spec, False
    try:
        return spec.replace(input_shape=dataset.input_shape, classes=dataset.classes), True
    except SpecError as exc:
        raise SpecError(f"family {spec.family!r} cannot train on dataset {dataset.name!r} "
                        f"(input_shape={dataset.input_shape}, classes={dataset.classes}): "
                        f"{exc}") from None


def _check_model_fits(model: "keras.Model", dataset: Dataset) -> None:
    """Raise ``SpecError`` unless ``model`` maps the dataset's examples to ``classes`` scores.

    Functional and Sequential models are checked from their declared input and output;
    subclassed models (no declared inputs) by calling them on two training examples.
    """
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):  # subclassed model: nothing declared
        inputs = outputs = None
    if inputs and outputs:
        if len(inputs) != 1 or len(outputs) != 1:
            raise SpecError("measure_accuracy needs a model with one input and one output. "
                            f"Received: {len(inputs)} inputs, {len(outputs)} outputs")
        want = tuple(inputs[0].shape[1:])
        if len(want) != len(dataset.input_shape) or any(
                w is not None and w != d for w, d in zip(want, dataset.input_shape)):
            raise SpecError(f"the model's input shape does not match dataset "
                            f"{dataset.name!r}. Received: model input_shape={want}, "
                            f"dataset input_shape={dataset.input_shape}")
        out_shape = tuple(outputs[0].shape)
    else:
        try:
            out_shape = tuple(np.shape(model(dataset.x_train[:2], training=False)))
        except Exception as exc:  # noqa: BLE001 - any failure means it cannot take the data
            raise SpecError(f"the model cannot take dataset {dataset.name!r} inputs of shape "
                            f"{dataset.input_shape}: {type(exc).__name__}. "
                            f"Received: {type(model).__name__}") from None
    if len(out_shape) != 2 or out_shape[-1] != dataset.classes:
        raise SpecError(f"the model must output (batch, {dataset.classes}) class scores for "
                        f"dataset {dataset.name!r}. Received: output shape={out_shape}")


def outputs_are_logits(model: "keras.Model", sample: np.ndarray) -> bool:
    """Whether ``model`` ends in a linear layer (logits) rather than a softmax.

    The last layer decides when it is a ``Softmax`` layer or has a ``softmax``/``linear``
    activation; otherwise the outputs on ``sample`` decide (probabilities are non-negative and
    sum to 1 per example).
    """
    import keras

    last = model.layers[-1] if model.layers else None
    if isinstance(last, keras.layers.Softmax):
        return False
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if activation in ("softmax", "linear"):
        return activation == "linear"
    out = np.asarray(model(sample[:8], training=False))
    return not ((out >= 0).all() and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3))


def _forward_flops(target: Any) -> int | None:
    """Analytic forward FLOPs per example; ``None`` when the profile fails or is incomplete
    (layers it cannot cost would make the training-FLOPs estimate silently low)."""
    try:
        prof = profile(target)
    except ArchscaleError:
        return None
    return None if prof.unsupported else int(prof.flops)


# ---------------------------------------------------------------------------------------------
# Training one seed
# ---------------------------------------------------------------------------------------------


def _divergence_guard(initial_loss: float, factor: float, classes: int) -> Any:
    """A Keras callback that stops training on a non-finite or exploding loss.

    The reference is the initial loss, but never less than ``ln(classes)`` (the loss of a
    uniform guess), so that an already-trained starting point does not make any loss look
    like an explosion.
    """
    import keras

    reference = max(initial_loss, math.log(classes)) if math.isfinite(initial_loss) else math.inf

    class DivergenceGuard(keras.callbacks.Callback):
        reason: str | None = None

        def _check(self, loss: Any, where: str) -> None:
            if loss is None or self.reason:
                return
            loss = float(loss)
            if not math.isfinite(loss):
                self.reason = f"non-finite training loss ({loss}) {where}"
            elif loss > factor * reference:
                self.reason = (f"training loss {loss:.4g} > {factor:g} x initial loss "
                               f"{reference:.4g} {where}")
            if self.reason:
                self.model.stop_training = True

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self._check((logs or {}).get("loss"), f"at step {batch + 1}")

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self._check((logs or {}).get("loss"), f"in epoch {epoch + 1}")

    return DivergenceGuard()


def _learning_rate(recipe: Recipe, steps_per_epoch: int) -> Any:
    """The recipe's rate: constant, or cosine decay to 0 after an optional linear warm-up."""
    import keras

    if recipe.schedule != "cosine":
        return recipe.learning_rate
    if not recipe.warmup_epochs:
        return keras.optimizers.schedules.CosineDecay(
            recipe.learning_rate, decay_steps=recipe.epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=(recipe.epochs - recipe.warmup_epochs) * steps_per_epoch,
        warmup_target=recipe.learning_rate, warmup_steps=recipe.warmup_epochs * steps_per_epoch)


def _optimizer(recipe: Recipe, steps_per_epoch: int) -> Any:
    import keras

    rate = _learning_rate(recipe, steps_per_epoch)
    decay = recipe.weight_decay or None
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(rate, weight_decay=decay)
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=recipe.weight_decay)
    if recipe.optimizer in ("sgd", "momentum"):
        return keras.optimizers.SGD(rate, momentum=recipe.momentum_used,
                                    nesterov=recipe.optimizer == "momentum", weight_decay=decay)
    return keras.optimizers.RMSprop(rate, momentum=recipe.momentum_used, weight_decay=decay)


def compile_with_recipe(model: "keras.Model", recipe: Recipe, from_logits: bool,
                        steps_per_epoch: int, jit_compile: bool | str) -> None:
    """Compile ``model`` with the recipe's optimizer, schedule, loss and accuracy metric."""
    import keras

    if recipe.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits,
                                                    label_smoothing=recipe.label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=_optimizer(recipe, steps_per_epoch), loss=loss, metrics=[metric],
                  steps_per_execution=max(1, min(steps_per_epoch, 32)),
                  jit_compile=jit_compile)


def _split(dataset: Dataset, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fit part and of the validation hold-out of the training set."""
    n = len(dataset.y_train)
    if not fraction:  # no hold-out: train on everything, keep the last epoch
        return np.arange(n), np.arange(0)
    n_val = min(n - 1, max(1, round(fraction * n)))
    if n_val < 1:
        raise SpecError(f"dataset {dataset.name!r} has too few training examples to hold out a "
                        f"validation split. Received: train examples={n}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _train_seed(model: "keras.Model", dataset: Dataset, recipe: Recipe, seed: int,
                from_logits: bool, forward_flops: int | None, divergence_factor: float,
                jit_compile: bool | str, verbose: int,
                extra_callbacks: Sequence[Any] = ()) -> SeedRun:
    import keras

    fit_idx, val_idx = _split(dataset, recipe.validation_split, seed)
    labels = dataset.y_train
    if recipe.label_smoothing:
        labels = keras.utils.to_categorical(labels, dataset.classes)
    x_fit, y_fit = dataset.x_train[fit_idx], labels[fit_idx]
    x_val, y_val = dataset.x_train[val_idx], labels[val_idx]
    steps = math.ceil(len(fit_idx) / recipe.batch_size)
    compile_with_recipe(model, recipe, from_logits, steps, jit_compile)
    probe = slice(0, INITIAL_LOSS_EXAMPLES)
    initial_loss = float(model.evaluate(x_fit[probe], y_fit[probe], batch_size=recipe.batch_size,
                                        verbose=0, return_dict=True)["loss"])
    guard = _divergence_guard(initial_loss, divergence_factor, dataset.classes)
    callbacks, validation = [guard, *extra_callbacks], None
    if len(val_idx):
        patience = recipe.early_stopping_patience or recipe.epochs
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=recipe.monitor, patience=patience, restore_best_weights=True))
        validation = (x_val, y_val)
    start = time.perf_counter()
    history = model.fit(x_fit, y_fit, batch_size=recipe.batch_size, epochs=recipe.epochs,
                        validation_data=validation, callbacks=callbacks,
                        shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - start
    losses = history.history.get("loss", [])
    epochs_run = len(losses)
    if guard.reason is None and not all(math.isfinite(v) for v in losses):
        guard.reason = "non-finite training loss"
    flops = (None if forward_flops is None
             else 3 * forward_flops * len(fit_idx) * epochs_run)
    common = {"seed": seed, "epochs_run": epochs_run, "train_seconds": seconds,
              "train_flops": flops, "initial_loss": initial_loss,
              "final_train_loss": float(losses[-1]) if losses else None}
    if guard.reason is not None:
        return SeedRun(test_accuracy=None, best_epoch=None, diverged=True,
                       divergence=guard.reason, **common)
    monitored = np.asarray(history.history.get(recipe.monitor, [np.nan]), dtype=float)
    if np.isnan(monitored).all():  # no hold-out, or it never scored: the last weights were kept
        best = epochs_run - 1
    elif recipe.monitor == "val_accuracy":
        best = np.nanargmax(monitored)
    else:
        best = np.nanargmin(monitored)
    predictions = model.predict(dataset.x_test, batch_size=max(recipe.batch_size, 256),
                                verbose=0)
    accuracy = float(np.mean(np.argmax(predictions, axis=-1) == dataset.y_test))
    held_out = history.history.get("val_accuracy") or []  # at the tested (best) epoch
    return SeedRun(test_accuracy=accuracy, best_epoch=int(best) + 1, diverged=False,
                   divergence=None, val_accuracy=float(held_out[best]) if best < len(held_out)
                   else None, **common)


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def measure_accuracy(target: "ArchSpec | keras.Model", dataset: "str | Dataset", *,
                     seeds: Sequence[int] = (0, 1, 2), recipe: Recipe | None = None,
                     divergence_factor: float = 5.0, jit_compile: bool | str = "auto",
                     verbose: int = 0) -> AccuracyResult:
    """Train ``target`` on ``dataset`` once per seed and report test accuracy.

    Args:
        target: An ``ArchSpec`` (built fresh per seed with ``archscale.build``; its
            input_shape/classes are replaced by the dataset's when they differ) or a
            ``keras.Model`` with one input and one output (cloned per seed, which
            re-initialises its weights; a model that cannot be cloned, e.g. a subclassed one
            without ``get_config``, is trained in place from its current weights for every
            seed and given them back at the end, recompiled).
        dataset: A ``Dataset`` or a name for ``load_dataset``.
        seeds: Seeds, one training run each.
        recipe: Training recipe; default ``default_recipe(dataset name)``.
        divergence_factor: A training loss above this multiple of the initial loss counts
            as divergence (NaN/inf always does).
        jit_compile: Passed to ``Model.compile`` (Keras' ``"auto"`` uses XLA when possible).
        verbose: Keras ``fit`` verbosity.

    Returns:
        An ``AccuracyResult`` (``.to_row()`` for a flat record).

    Raises:
        SpecError: invalid seeds or factor; the target cannot take the dataset's inputs; the
            recipe's loss is not a classification cross-entropy.
        InputFileError: an ``npz:`` dataset file is invalid.
    """
    import keras

    start = time.perf_counter()
    seeds = _check_seeds(seeds)
    if (isinstance(divergence_factor, bool) or not isinstance(divergence_factor, (int, float))
            or not divergence_factor > 1):
        raise SpecError(f"divergence_factor must be a number > 1. "
                        f"Received: divergence_factor={divergence_factor!r}")
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    recipe = recipe if recipe is not None else default_recipe(data.name)
    if recipe.loss != "categorical_crossentropy":
        raise SpecError("measure_accuracy trains classifiers with cross-entropy over the "
                        "dataset's classes; the recipe's loss must be "
                        f"'categorical_crossentropy'. Received: loss={recipe.loss!r}")
    overridden = False
    if isinstance(target, ArchSpec):
        target, overridden = fit_spec_to_dataset(target, data)
        make_model = lambda: build(target)  # noqa: E731
    elif isinstance(target, keras.Model):
        _check_model_fits(target, data)
        make_model = _model_factory(target)
    else:
        raise SpecError("measure_accuracy accepts an ArchSpec or a keras.Model. "
                        f"Received: {type(target).__name__}")
    forward_flops = _forward_flops(target)
    runs, reinitialized = [], getattr(make_model, "reinitializes", True)
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = make_model()
        from_logits = outputs_are_logits(model, data.x_train)
        runs.append(_train_seed(model, data, recipe, seed, from_logits, forward_flops,
                                float(divergence_factor), jit_compile, verbose))
        params = int(model.count_params())
        del model
    if hasattr(make_model, "restore"):
        make_model.restore()  # leave a model trained in place with its starting weights
    fit_idx, val_idx = _split(data, recipe.validation_split, seeds[0])
    return AccuracyResult(
        dataset=data.name, seeds=seeds, recipe=recipe, runs=tuple(runs),
        train_examples=len(fit_idx), validation_examples=len(val_idx),
        test_examples=len(data.y_test), forward_flops=forward_flops, params=params,
        from_logits=from_logits, spec_overridden=overridden, input_shape=data.input_shape,
        classes=data.classes, reinitialized=reinitialized,
        total_seconds=time.perf_counter() - start)


def _model_factory(model: "keras.Model") -> Any:
    """Fresh copies of a user model per seed (re-initialised by ``clone_model``), or, when it
    cannot be cloned, the model itself reset to its starting weights each time."""
    import keras

    try:
        keras.models.clone_model(model)
    except Exception:  # noqa: BLE001 - subclassed models without get_config, custom layers
        initial = model.get_weights()

        def reset() -> "keras.Model":
            model.set_weights(initial)
            return model

        reset.reinitializes = False  # type: ignore[attr-defined]
        reset.restore = lambda: model.set_weights(initial)  # type: ignore[attr-defined]
        return reset
    return lambda: keras.models.clone_model(model)
