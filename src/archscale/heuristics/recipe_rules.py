"""The training recipe's rules: batch size, epochs, optimizer and learning rate by family,
the best-epoch monitor. Every function says where its numbers come from.
"""

from __future__ import annotations

import math

from archscale.reference_archs.registry import families
from archscale.training_recipe import Recipe


def recipe_batch_size(samples: int) -> int:
    """Power of two near ``samples / 500``, clipped to [32, 256] (CIFAR-10: 128, ImageNet: 256,
    He et al. 2015; small data: 32, Masters & Luschi 2018 favour small batches)."""
    raw = max(1.0, samples / 500)
    return int(min(256, max(32, 2 ** round(math.log2(raw)))))


def recipe_epochs(samples: int) -> int:
    """``90 x (1.28 M / samples)**0.19`` clipped to [10, 300]: ImageNet 90 epochs (Goyal et
    al. 2017), CIFAR-10 ~165 (He et al. 2015: 64 k iterations of 128); the cosine schedule
    runs them to the end and the best validation epoch is kept."""
    return int(round(min(300, max(10, 90 * (1_281_167 / max(samples, 1)) ** 0.19))))


#: Below this many held-out examples the best epoch is the one of the lowest validation loss,
#: not of the highest validation accuracy: one example then moves accuracy by more than a
#: point, so it ties at its top within a few epochs and the first tied epoch (an early, barely
#: trained model) would be kept. The optimal-dimensions study measured it on wine (12
#: held-out examples, 300 epochs): the proposal kept epoch 6 and scored 88.1 +- 8.7 % over
#: five seeds by validation accuracy, 99.6 +- 0.8 % by validation loss.
MIN_ACCURACY_HOLDOUT = 100


def recipe_monitor(samples: int,
                   validation_split: float = Recipe.validation_split) -> str:
    """``val_loss`` when the hold-out (``round(validation_split x samples)`` examples, as
    ``measure.accuracy`` splits it) is smaller than ``MIN_ACCURACY_HOLDOUT``, else
    ``val_accuracy``."""
    return ("val_loss" if round(validation_split * samples) < MIN_ACCURACY_HOLDOUT
            else "val_accuracy")


def training_recipe(family: str, samples: int, *, regression: bool = False,
                    classes: int = 2, early_stopping_patience: int = 0,
                    weight_decay: float = 0.0, variant: str | None = None) -> Recipe:
    """The default recipe for a family and data-set size.

    ResNet / RegNet / Inception: SGD with Nesterov momentum 0.9, learning rate
    ``0.1 x batch / 256`` (Goyal et al. 2017 linear scaling), or ``0.1 x batch / 128`` for the
    CIFAR-style layout (He et al. 2015 Sec. 4.2: 0.1 at batch 128), cosine decay (Loshchilov &
    Hutter 2017), 5 warm-up epochs from batch 256 on. MobileNetV2 / EfficientNet: RMSprop momentum 0.9,
    ``0.016 x batch / 256`` (Tan & Le 2019: 0.256 at batch 4096), cosine. MLP / 1-D CNN: Adam
    1e-3 (Kingma & Ba 2015), cosine. Classification uses label smoothing 0.1 (Szegedy et al.
    2016) for image families, none otherwise. The best epoch is picked by validation accuracy,
    or by validation loss on a hold-out under ``MIN_ACCURACY_HOLDOUT`` examples
    (``recipe_monitor``).

    Args:
        family: The proposal's family.
        samples: Training samples.
        regression: Mean-squared-error loss instead of cross-entropy.
        classes: Output units; one class means binary cross-entropy (sigmoid output).
        early_stopping_patience: Epochs without validation improvement before stopping (the
            regularisation rule's patience, 0 under the cosine schedule); 10 % of the training
            set is held out to pick the best epoch.
        weight_decay: The regularisation rule's weight decay, applied by the optimizer
            (Keras' ``weight_decay``: decoupled and scaled by the learning rate, which for
            SGD equals an L2 penalty of the same coefficient).
        variant: The layout variant (``resnet-cifar`` gets the CIFAR learning rate).

    Returns:
        The ``Recipe`` (``archscale.training_recipe.Recipe``, the type the benchmark trains
        with), its ``source`` naming the rules.
    """
    batch = recipe_batch_size(samples)
    epochs = recipe_epochs(samples)
    style = families().get(family).recipe_style
    if style == "momentum":
        per = 128 if variant == "resnet-cifar" else 256
        optimizer, lr, momentum = "momentum", 0.1 * batch / per, 0.9
        source = ("He et al. 2015 Sec. 4.2 (CIFAR: 0.1 at batch 128)" if per == 128 else
                  "Goyal et al. 2017; He et al. 2015") + "; Loshchilov & Hutter 2017"
        smoothing = 0.1
    elif style == "rmsprop":
        optimizer, lr, momentum = "rmsprop", 0.016 * batch / 256, 0.9
        source = "Tan & Le 2019 (RMSprop 0.256 at batch 4096); Sandler et al. 2018"
        smoothing = 0.1
    else:
        optimizer, lr, momentum = "adam", 1e-3, None
        source = "Kingma & Ba 2015 (Adam defaults); Greydanus 2020 (MNIST-1D)"
        smoothing = 0.0
    if regression:
        loss, smoothing = "mean_squared_error", 0.0
    else:
        loss = "binary_crossentropy" if classes == 1 else "categorical_crossentropy"
    warmup = 5 if batch >= 256 and optimizer != "adam" else 0
    return Recipe(optimizer=optimizer, learning_rate=float(f"{lr:.3g}"),
                  optimizer_momentum=momentum,
                  batch_size=batch, epochs=epochs, schedule="cosine", warmup_epochs=warmup,
                  loss=loss, label_smoothing=smoothing,
                  early_stopping_patience=early_stopping_patience, weight_decay=weight_decay,
                  monitor=recipe_monitor(samples), source=source)
