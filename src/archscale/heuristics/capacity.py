"""Capacity from data and regularisation defaults.

These rules turn the number of training samples into a parameter range, and the final
parameters-to-samples ratio into dropout, weight decay and early-stopping patience. The
anchors are published models and their data sets; every function says which. The training
recipe's rules are in ``recipe_rules``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from archscale.errors import SpecError
from archscale.heuristics.difficulty import (check_headroom, difficulty_source,
                                             headroom_factor)
from archscale.specs import Task

#: Default body parameters (everything but the classifier head) per training sample: the
#: size the capacity rule proposes for images and token sequences when the user gives no
#: budget. An advisory default, not a ceiling: over-parameterised nets generalise (Zhang et al.
#: 2017; Nakkiran et al. 2019), and the published models span a wide range - ResNet-50 on
#: ImageNet-1k 23.5 M body / 1.28 M = 18, CIFAR ResNet-110 1.7 M / 50 k = 34, WRN-28-10
#: 36.5 M / 50 k = 730 (Zagoruyko & Komodakis 2016, the better CIFAR model). image: 25, between
#: the two standard-recipe ratios (18, 34); the optimal-dimensions study's digits knee agrees
#: (proposal 1.17x the knee's MACs). tokens: 4 (the embedding table is counted apart from the
#: body, like the head: its size follows the vocabulary, and each sample updates only the rows
#: of its own tokens). vector and sequence use ``signal_capacity`` instead (``--params-per-sample``
#: still sets a plain ratio for every modality).
PARAMS_PER_SAMPLE = {"image": 25.0, "tokens": 4.0}

#: Modalities sized by ``signal_capacity`` (the MLP and 1-D CNN families).
SIGNAL_MODALITIES = ("vector", "sequence")
#: ``signal_capacity``'s constants: body params = SCALE x class pairs x samples ** EXPONENT,
#: at most MAX_PER_SAMPLE per sample. Fitted to the knees of the optimal-dimensions study
#: (reports/dimensions, the MLP on MNIST-1D, 10 classes: 47 K params at 1,000 samples, 230 K at
#: 16,000, >= 291 K at 4,000 - slopes 0.57 and >= 0.95 in log-log, EXPONENT between them) and its
#: tabular tasks as first measured (50 epochs: wine, 3 classes, knee 1.1 K params at 124
#: samples; breast cancer, 2 classes, 1.4 K at 398: both at the 1,000 floor). A plain
#: per-sample ratio cannot hold both: a ratio that reaches MNIST-1D's knee puts the tabular
#: proposals 4-9x over theirs. At their recipes' 300 epochs the tabular knees are smaller
#: (wine 819 params; breast cancer 266, the grid's smallest point on a flat curve): the
#: floor, and breast cancer's headroom factor 1.87 (raw 535 x 1.87 = 1,002), both hold its
#: proposal at 1,058 params, 4x the knee's MACs (docs/dimensions.md).
SIGNAL_SCALE = 6.0
SIGNAL_EXPONENT = 0.75
SIGNAL_MAX_PER_SAMPLE = 64.0
#: The smallest body the capacity rule proposes (params).
MIN_BODY_PARAMS = 1000.0

#: The bottom of the range is this fraction of the top (below it, expect underfitting).
RANGE_FRACTION = 1 / 16

CAPACITY_SOURCE = ("advisory default, body parameters (the classifier head and any embedding "
                   "table counted apart): vector/sequence 6 x class pairs x samples^0.75 "
                   "(at most 64 per sample), fitted to the measured knees of archscale's "
                   "optimal-dimensions study (MNIST-1D, wine, breast cancer); images 25 per "
                   "sample: "
                   "ResNet-50/ImageNet 18 per sample, CIFAR ResNet-110 34, WRN-28-10 730 "
                   "(Zagoruyko & Komodakis 2016), MNIST-1D MLP 3.8 (Greydanus 2020); larger "
                   "nets generalise too (Zhang et al. 2017; Nakkiran et al. 2019)")


#: Modalities a headroom probe applies to (token IDs are not points in a feature space).
PROBED_MODALITIES = ("vector", "sequence", "image")


@dataclass(frozen=True)
class CapacityRule:
    """How the data-derived capacity applies (``--params-per-sample``, ``--capacity off``,
    ``--probe`` / ``--headroom``).

    Attributes:
        params_per_sample: Body parameters per training sample, for every modality (default:
            ``signal_capacity`` for vector and sequence inputs, else the modality's
            ``PARAMS_PER_SAMPLE``).
        enabled: ``False`` drops the capacity default entirely (``--capacity off``).
        headroom: The data's headroom (``archscale.heuristics.difficulty.probe_data``): the
            default capacity is multiplied by ``headroom_factor(headroom, modality)``; ``None`` (no
            probe) leaves it as it is. A user's ``params_per_sample`` is taken as given.
        scale: A fixed multiplier used instead of the headroom's factor (a positive
            number; ``None``: the probe's factor). The optimal-dimensions study anchors its
            grids with it, so that a change of the headroom rule moves the proposal, not the
            measured grid.

    Raises:
        SpecError: a headroom outside [0, 1] or a scale that is not a positive number.
    """

    params_per_sample: float | None = None
    enabled: bool = True
    headroom: float | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        if self.headroom is not None:
            object.__setattr__(self, "headroom", check_headroom(self.headroom))
        if self.scale is not None:
            ok = isinstance(self.scale, (int, float)) and not isinstance(self.scale, bool) \
                and math.isfinite(self.scale) and self.scale > 0
            if not ok:
                raise SpecError("scale must be a positive number (a multiplier of the default "
                                f"capacity). Received: scale={self.scale!r}")
            object.__setattr__(self, "scale", float(self.scale))

    def factor(self, modality: str) -> float:
        """The multiplier on this modality's default capacity: ``scale`` when given, else the
        headroom factor (1 without a probe); 1 with the user's own ratio or for token inputs."""
        if self.params_per_sample is not None or modality not in PROBED_MODALITIES:
            return 1.0
        if self.scale is not None:
            return self.scale
        return 1.0 if self.headroom is None else headroom_factor(self.headroom, modality)

    def ratio(self, modality: str) -> float | None:
        """The user's body parameters per sample, else the modality's fixed ratio, else
        ``None`` (vector and sequence: ``signal_capacity`` decides)."""
        if self.params_per_sample is not None:
            return float(self.params_per_sample)
        return None if modality in SIGNAL_MODALITIES else PARAMS_PER_SAMPLE[modality]


def class_pairs(classes: int) -> int:
    """Pairs of classes a classifier separates: ``classes x (classes - 1) / 2``, at least 1."""
    return max(1, classes * (classes - 1) // 2)


def signal_capacity(samples: int, classes: int, factor: float = 1.0) -> float:
    """Body parameters for a vector or sequence task (MLP, 1-D CNN) without a budget.

    ``SIGNAL_SCALE x class_pairs(classes) x samples ** SIGNAL_EXPONENT``, at most
    ``SIGNAL_MAX_PER_SAMPLE x samples`` and at least ``MIN_BODY_PARAMS``: the knee of the
    accuracy-versus-size curve grows more slowly than the data (MNIST-1D's from 47 per sample at
    1,000 examples to 14 at 16,000) and much faster with the number of classes than with the
    number of examples (two- and three-class tabular sets level off below 1,000 params). The
    constants' sources are in ``SIGNAL_SCALE``'s comment.

    Args:
        samples: Training samples.
        classes: Output classes (1 for regression).
        factor: The headroom factor (``headroom_factor``), applied after the per-sample
            ceiling and before the floor.

    Returns:
        Body parameters (a float, before rounding).
    """
    raw = SIGNAL_SCALE * class_pairs(classes) * max(samples, 1) ** SIGNAL_EXPONENT
    return max(MIN_BODY_PARAMS, min(raw, SIGNAL_MAX_PER_SAMPLE * samples) * factor)


def capacity_range(samples: int, modality: str, classes: int = 1,
                   params_per_sample: float | None = None,
                   headroom: float | None = None, scale: float | None = None) -> tuple[int, int]:
    """Suggested body-parameter range from the number of training samples.

    ``high = params_per_sample x samples`` (default: ``signal_capacity`` for vector and
    sequence inputs, ``PARAMS_PER_SAMPLE[modality]`` per sample otherwise, times the headroom
    factor when the data were probed; at least 1,000), ``low = high / 16``. It counts the body
    only: the classifier head (the last dense layer,
    ``classes x (features + 1)``) comes on top, so a 10,000-class head does not eat the body's
    share. It is advisory: ``propose`` uses ``high`` as the ceiling only when the user gives no
    budget of their own.

    Args:
        samples: Training samples.
        modality: ``vector``, ``sequence``, ``image`` or ``tokens``.
        classes: Output units (the vector/sequence rule grows with the class pairs).
        params_per_sample: Override of the ratio (``--params-per-sample``; the headroom
            does not scale it).
        headroom: The probed data's headroom (``--probe`` / ``--headroom``), or ``None``.
        scale: ``CapacityRule.scale``: a fixed multiplier instead of the headroom's factor.

    Returns:
        ``(low, high)`` body-parameter counts.

    Raises:
        SpecError: a headroom outside [0, 1] or a scale that is not a positive number.
    """
    rule = CapacityRule(params_per_sample, headroom=headroom, scale=scale)
    ratio = rule.ratio(modality)
    factor = rule.factor(modality)
    high = signal_capacity(samples, classes, factor) if ratio is None \
        else max(MIN_BODY_PARAMS, ratio * factor * samples)
    return int(round(high * RANGE_FRACTION)), int(round(high))


def capacity_inputs(task: Task, rule: CapacityRule) -> dict[str, Any]:
    """The capacity step's inputs (a proposal's rationale): the samples, the ratio or the
    vector/sequence rule, and the probed headroom with its factor."""
    ratio = rule.ratio(task.modality)
    inputs: dict[str, Any] = {"samples": task.samples, "modality": task.modality}
    if rule.headroom is not None:
        inputs["headroom"] = rule.headroom
    if rule.headroom is not None or rule.scale is not None:
        inputs["headroom_factor"] = round(rule.factor(task.modality), 4)
    if ratio is not None:
        return {**inputs, "body_params_per_sample": ratio}
    return {**inputs, "classes": task.classes,
            "rule": f"{SIGNAL_SCALE:g} x class pairs x samples^{SIGNAL_EXPONENT:g}, "
                    f"at most {SIGNAL_MAX_PER_SAMPLE:g} per sample"
                    + (" x headroom factor" if rule.headroom is not None
                       or rule.scale is not None else "")}


def capacity_source(rule: CapacityRule, modality: str) -> str:
    """The capacity step's sources (the probe's too, with ``modality``'s rule, when the data
    were probed; a fixed ``scale`` is named as such)."""
    if rule.scale is not None:
        return f"{CAPACITY_SOURCE}; a fixed scale x{rule.scale:g} instead of the headroom's factor"
    if rule.headroom is None or modality not in PROBED_MODALITIES:
        return CAPACITY_SOURCE
    return f"{CAPACITY_SOURCE}; {difficulty_source(modality)}"


# ---------------------------------------------------------------------------------------------
# Regularisation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Regularisation:
    """Dropout, weight decay and early-stopping patience for a parameters/samples ratio.

    ``weight_decay_kind`` says how the coefficient is meant: ``l2`` (a coupled L2 penalty: the
    SGD and RMSprop recipes of the anchors; Keras' decoupled ``weight_decay`` on plain SGD is
    the same update) or ``decoupled`` (AdamW, Loshchilov & Hutter 2019, for Adam recipes).
    ``early_stopping_patience`` is 0 under a cosine schedule (the schedule is the budget; the
    best epoch on the validation split is still kept).
    """

    params_per_sample: float
    dropout: float
    weight_decay: float
    early_stopping_patience: int
    weight_decay_kind: str = "l2"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


IMAGENET_SAMPLES = 1_281_167
#: Anchors (params / samples, value), each from a published model and its recipe:
#: dropout: EfficientNet-B0 5,330,571 params on ImageNet -> 0.2, B7 66,658,687 -> 0.5
#: (Tan & Le 2019). L2 weight decay of SGD recipes: ResNet-50 25,557,032 trainable on ImageNet
#: -> 1e-4 (He et al. 2015), WRN-28-10 36.5 M on CIFAR-10's 50,000 -> 5e-4 (Zagoruyko &
#: Komodakis 2016). RMSprop recipes: 1e-5 for every EfficientNet (Tan & Le 2019).
DROPOUT_ANCHORS = ((5_330_571 / IMAGENET_SAMPLES, 0.2), (66_658_687 / IMAGENET_SAMPLES, 0.5))
DECAY_ANCHORS = ((25_557_032 / IMAGENET_SAMPLES, 1e-4), (36.5e6 / 50_000, 5e-4))
RMSPROP_DECAY = 1e-5

REGULARISATION_SOURCE = (
    "dropout: Srivastava et al. 2014 (0.5 for large nets, less for small), log-linear through "
    "EfficientNet-B0 0.2 (4.2 params/sample) and B7 0.5 (52); weight decay (L2): SGD "
    "log-linear through He et al. 2015 1e-4 (ResNet-50, 20) and Zagoruyko & Komodakis 2016 "
    "5e-4 (WRN-28-10 on CIFAR, 730); RMSprop 1e-5 (Tan & Le 2019); Adam: the SGD value as "
    "decoupled decay (AdamW, Loshchilov & Hutter 2019); CIFAR SGD recipe 5e-4; patience: Prechelt 1998, longer when "
    "over-parameterised (Nakkiran et al. 2019), 0 under a cosine schedule")


def _log_linear(rho: float, anchors: tuple[tuple[float, float], ...]) -> float:
    """The value at ``rho`` on the line through two anchors in (log rho, value) space."""
    (x0, y0), (x1, y1) = anchors
    return y0 + (y1 - y0) * math.log(rho / x0) / math.log(x1 / x0)


def _log_log(rho: float, anchors: tuple[tuple[float, float], ...]) -> float:
    """The value at ``rho`` on the power law through two anchors."""
    (x0, y0), (x1, y1) = anchors
    return y0 * (rho / x0) ** (math.log(y1 / y0) / math.log(x1 / x0))


#: The CIFAR-class SGD recipe's weight decay (Zagoruyko & Komodakis 2016; DeVries & Taylor 2017).
CIFAR_DECAY = 5e-4


def regularisation(params: int, samples: int, recipe_style: str = "momentum",
                   schedule: str = "cosine", variant: str | None = None) -> Regularisation:
    """Regularisation defaults from the parameters-to-samples ratio ``rho``.

    - dropout: log-linear through ``DROPOUT_ANCHORS`` (B0 0.2, B7 0.5), clipped to [0, 0.5],
      rounded to 0.05 - both anchors come out exactly;
    - weight decay: ``momentum`` (SGD) and ``adam`` the power law through ``DECAY_ANCHORS``
      (ResNet-50 1e-4, WRN-28-10 5e-4), clipped to [1e-5, 5e-4], 2 significant digits, L2 for
      SGD and decoupled (AdamW) for Adam; ``rmsprop`` 1e-5 (every EfficientNet); the
      CIFAR-style ResNet (``variant="resnet-cifar"``) 5e-4, the CIFAR SGD recipe;
    - patience ``= clip(10 + 5 log10(rho), 5, 30)`` epochs with a constant schedule; 0 under
      ``cosine`` (stopping early would cut the decay short; the best epoch is still kept).

    Args:
        params: Parameters of the proposal.
        samples: Training samples.
        recipe_style: The family's recipe style (``momentum``, ``rmsprop``, ``adam``).
        schedule: The recipe's learning-rate schedule.
        variant: The layout variant (``resnet-cifar`` gets ``CIFAR_DECAY``).

    Returns:
        The ``Regularisation``.
    """
    rho = max(params, 1) / max(samples, 1)
    dropout = min(0.5, max(0.0, _log_linear(rho, DROPOUT_ANCHORS)))
    dropout = round(round(dropout / 0.05 + 1e-9) * 0.05, 2)
    if recipe_style == "rmsprop":
        decay = RMSPROP_DECAY
    elif variant == "resnet-cifar":
        decay = CIFAR_DECAY
    else:
        decay = float(f"{min(5e-4, max(1e-5, _log_log(rho, DECAY_ANCHORS))):.2g}")
    patience = 0 if schedule == "cosine" else \
        int(round(min(30.0, max(5.0, 10 + 5 * math.log10(rho)))))
    return Regularisation(round(rho, 4), dropout, decay, patience,
                          "decoupled" if recipe_style == "adam" else "l2")
