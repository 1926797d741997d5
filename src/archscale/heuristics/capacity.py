"""Capacity from data, regularisation defaults and the training recipe.

These rules turn the number of training samples into a parameter range, and the final
parameters-to-samples ratio into dropout, weight decay and early-stopping patience. The
anchors are published models and their data sets; every function says which.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from archscale.reference_archs.registry import families
from archscale.training_recipe import Recipe

#: Parameters per training sample at the top of the capacity range, per modality.
#: image: ResNet-50 / ImageNet-1k = 25.6 M / 1.28 M = 20; CIFAR ResNet-110 / CIFAR-10 =
#: 1.7 M / 50 k = 34 -> 25. vector and sequence: MNIST-1D (Greydanus 2020) MLP 15 K / 4000 = 3.8
#: and CNN 5 K / 4000 = 1.3 -> 4.
PARAMS_PER_SAMPLE = {"vector": 4.0, "sequence": 4.0, "image": 25.0}

#: The bottom of the range is this fraction of the top (below it, expect underfitting).
RANGE_FRACTION = 1 / 16

CAPACITY_SOURCE = ("Baum & Haussler 1989 (samples needed grow linearly with weights); "
                   "anchored on published ratios: ResNet-50/ImageNet 20 params per sample, "
                   "CIFAR ResNet-110 34, MNIST-1D MLP 3.8 (Greydanus 2020)")


def capacity_range(samples: int, modality: str, classes: int = 1) -> tuple[int, int]:
    """Target parameter range from the number of training samples.

    ``high = PARAMS_PER_SAMPLE[modality] x samples`` (at least 1,000 + 10 per class, so a
    classifier head always fits), ``low = high / 16``. Budgets clamp ``high``; the solver fills
    up to it, so with no budget a proposal lands near ``high``.

    Args:
        samples: Training samples.
        modality: ``vector``, ``sequence`` or ``image``.
        classes: Output units.

    Returns:
        ``(low, high)`` parameter counts.
    """
    high = max(1000 + 10 * classes, PARAMS_PER_SAMPLE[modality] * samples)
    return int(round(high * RANGE_FRACTION)), int(round(high))


# ---------------------------------------------------------------------------------------------
# Regularisation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Regularisation:
    """Dropout, weight decay and early-stopping patience for a parameters/samples ratio."""

    params_per_sample: float
    dropout: float
    weight_decay: float
    early_stopping_patience: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


REGULARISATION_SOURCE = (
    "dropout: Srivastava et al. 2014 (0.5 for large nets, less for small), anchored at "
    "EfficientNet-B0 0.2 (4 params/sample) .. B7 0.5; weight decay: Tan & Le 2019 1e-5 "
    "(B0, 4 params/sample), He et al. 2015 1e-4 (ResNet-50, 20), Zagoruyko & Komodakis 2016 "
    "5e-4 (WRN on CIFAR, 700); patience: Prechelt 1998, longer when over-parameterised "
    "(epoch-wise double descent, Nakkiran et al. 2019)")


def regularisation(params: int, samples: int) -> Regularisation:
    """Regularisation defaults from the parameters-to-samples ratio ``rho``.

    - dropout ``= clip(0.2 + 0.15 log10(rho / 4), 0, 0.5)``, rounded to 0.05;
    - weight decay ``= clip(1e-4 (rho / 20)**0.7, 1e-5, 5e-4)``, 2 significant digits;
    - patience ``= clip(10 + 5 log10(rho), 5, 30)`` epochs.

    Args:
        params: Parameters of the proposal.
        samples: Training samples.

    Returns:
        The ``Regularisation``.
    """
    rho = max(params, 1) / max(samples, 1)
    dropout = min(0.5, max(0.0, 0.2 + 0.15 * math.log10(rho / 4)))
    dropout = round(round(dropout / 0.05) * 0.05, 2)
    decay = min(5e-4, max(1e-5, 1e-4 * (rho / 20) ** 0.7))
    decay = float(f"{decay:.2g}")
    patience = int(round(min(30.0, max(5.0, 10 + 5 * math.log10(rho)))))
    return Regularisation(round(rho, 4), dropout, decay, patience)


# ---------------------------------------------------------------------------------------------
# Training recipe
# ---------------------------------------------------------------------------------------------


def recipe_batch_size(samples: int) -> int:
    """Power of two near ``samples / 500``, clipped to [32, 256] (CIFAR-10: 128, ImageNet: 256,
    He et al. 2015; small data: 32, Masters & Luschi 2018 favour small batches)."""
    raw = max(1.0, samples / 500)
    return int(min(256, max(32, 2 ** round(math.log2(raw)))))


def recipe_epochs(samples: int) -> int:
    """``90 x (1.28 M / samples)**0.19`` clipped to [10, 300]: ImageNet 90 epochs (Goyal et
    al. 2017), CIFAR-10 ~165 (He et al. 2015: 64 k iterations of 128); early stopping cuts
    the long small-data runs short."""
    return int(round(min(300, max(10, 90 * (1_281_167 / max(samples, 1)) ** 0.19))))


def training_recipe(family: str, samples: int, *, regression: bool = False,
                    classes: int = 2, early_stopping_patience: int = 10,
                    weight_decay: float = 0.0) -> Recipe:
    """The default recipe for a family and data-set size.

    ResNet / RegNet / Inception: SGD with Nesterov momentum 0.9, learning rate
    ``0.1 x batch / 256`` (Goyal et al. 2017 linear scaling), cosine decay (Loshchilov & Hutter
    2017), 5 warm-up epochs from batch 256 on. MobileNetV2 / EfficientNet: RMSprop momentum 0.9,
    ``0.016 x batch / 256`` (Tan & Le 2019: 0.256 at batch 4096), cosine. MLP / 1-D CNN: Adam
    1e-3 (Kingma & Ba 2015), cosine. Classification uses label smoothing 0.1 (Szegedy et al.
    2016) for image families, none otherwise.

    Args:
        family: The proposal's family.
        samples: Training samples.
        regression: Mean-squared-error loss instead of cross-entropy.
        classes: Output units; one class means binary cross-entropy (sigmoid output).
        early_stopping_patience: Epochs without validation improvement before stopping (the
            regularisation rule's patience); 10 % of the training set is held out for it.
        weight_decay: The regularisation rule's weight decay, applied by the optimizer
            (Keras' ``weight_decay``: decoupled and scaled by the learning rate, which for
            SGD equals an L2 penalty of the same coefficient).

    Returns:
        The ``Recipe`` (``archscale.training_recipe.Recipe``, the type the benchmark trains
        with), its ``source`` naming the rules.
    """
    batch = recipe_batch_size(samples)
    epochs = recipe_epochs(samples)
    style = families().get(family).recipe_style
    if style == "momentum":
        optimizer, lr, momentum = "momentum", 0.1 * batch / 256, 0.9
        source = "Goyal et al. 2017; He et al. 2015; Loshchilov & Hutter 2017"
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
                  source=source)
