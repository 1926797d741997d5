"""Advice around the architecture: input warnings, augmentation and transfer learning, and
naming a proposal after the published configuration it is.

Pure functions of the task (and, for naming, the solved plan); ``propose`` records each as a
rationale ``Step`` and the warnings on the ``Proposal``.
"""

from __future__ import annotations

from typing import Any

from archscale.reference_archs.registry import AccuracyPoint, families
from archscale.reference_archs.scaling_plan import Knobs, Plan, ResolutionPlan, Step
from archscale.specs import Task

#: A single- or two-channel sequence at least this long is treated as a raw waveform (0.25 s
#: of 16 kHz audio).
RAW_SIGNAL_MIN_LENGTH = 4000

#: Natural-image tasks with fewer training samples than this get the transfer-learning advice
#: (Kornblith et al. 2019: ImageNet pre-training helps most below ~10 k examples per task).
TRANSFER_MAX_SAMPLES = 20_000

#: A published configuration is proposed (and named) when it uses at least this fraction of
#: the binding budget: "within ~2 %" of the papers' rounded figures, which our exact counts
#: run up to 2 % below (EfficientNet-B0: 390 M published, 385.7 M counted).
NAMED_WITHIN = 0.96

#: Smallest image side (px) or sequence length a convolutional family is proposed for: a 3x3
#: (or kernel-5) convolution with stride-2 stages needs a few positions to slide over.
MIN_CONV_SIDE = 4


def raw_signal_warning(task: Task) -> str | None:
    """A warning for a long single-channel sequence (raw audio or another waveform).

    Returns:
        The warning (suggesting a log-mel / MFCC front end), or ``None``.
    """
    shape = task.input_shape
    if task.modality != "sequence" or shape[0] < RAW_SIGNAL_MIN_LENGTH or shape[-1] > 2:
        return None
    return (f"a {shape[0]}-step sequence with {shape[-1]} channel(s) looks like a raw waveform: "
            "if it is audio, a log-mel or MFCC front end is the standard input (25 ms windows, "
            "10 ms hop, 40-64 mel bands: 1 s of 16 kHz audio becomes a 98x40 sequence; Hershey "
            "et al. 2017, Warden 2018 Speech Commands); raw-waveform CNNs match it only with "
            "large data (Sainath et al. 2015). Propose on the front end's shape, e.g. --input "
            f"{max(1, shape[0] // 160 - 2)}x40; an MLP is never proposed for a sequence this long")


def too_small_to_convolve(task: Task) -> bool:
    """Whether the image side or sequence length is below ``MIN_CONV_SIDE``."""
    if task.modality == "image":
        return min(task.input_shape[:2]) < MIN_CONV_SIDE
    return task.modality == "sequence" and task.input_shape[0] < MIN_CONV_SIDE


def image_advice(task: Task) -> list[Step]:
    """Augmentation advice for images, and transfer-learning advice for small natural-image
    data (three channels, fewer than ``TRANSFER_MAX_SAMPLES`` samples)."""
    if task.modality != "image" or task.regression:
        return []
    small = min(task.input_shape[:2]) <= 64
    aug = ("random crop with 4 px padding and horizontal flip (He et al. 2015 Sec. 4.2); "
           "add Cutout / AutoAugment for long schedules (DeVries & Taylor 2017; Cubuk et al. "
           "2019)" if small else
           "random-resized crop and horizontal flip (Szegedy et al. 2015; He et al. 2015); "
           "RandAugment for EfficientNet-scale models (Cubuk et al. 2020)")
    steps = [Step("augmentation", {"side": min(task.input_shape[:2])}, aug,
                  "He et al. 2015; Szegedy et al. 2015; Cubuk et al. 2019/2020 (flip only "
                  "where mirrored images keep their label)")]
    if task.input_shape[-1] == 3 and task.samples < TRANSFER_MAX_SAMPLES:
        steps.append(Step("transfer learning", {"samples": task.samples, "channels": 3},
                          f"{task.samples:,} natural images are few: fine-tuning ImageNet "
                          "weights of the proposed family usually beats training from scratch "
                          "(archscale proposes the architecture only and downloads no weights; "
                          "keras.applications has them for the published configurations)",
                          "Kornblith et al. 2019 (Do Better ImageNet Models Transfer Better?); "
                          "Yosinski et al. 2014"))
    return steps


def points_for(plan: Plan) -> tuple[AccuracyPoint, ...]:
    """The published points of the plan's family on the dataset its layout matches."""
    dataset = "cifar10" if plan.variant == "resnet-cifar" else "imagenet"
    return tuple(p for p in families().get(plan.family).accuracy if p.dataset == dataset)


def _reproducible(plan: Plan, point: AccuracyPoint) -> Knobs | None:
    knobs = plan.knobs_for(point)
    if knobs is None:
        return None
    if not isinstance(plan, ResolutionPlan) and plan.task.input_shape[0] != point.resolution:
        return None
    return knobs


def named_point(plan: Plan, ev: Any, user_limits: bool,
                anchor: AccuracyPoint | None) -> tuple[AccuracyPoint, Knobs] | None:
    """The published configuration to propose as is, if one qualifies.

    With user budgets: the feasible point whose highest utilisation is the largest, if it is at
    least ``NAMED_WITHIN`` (within ~2 % of the binding budget). Without: the family choice's
    anchor (the most accurate published point within the capacity default), if feasible.

    Args:
        plan: The solved plan.
        ev: Its ``Evaluator``.
        user_limits: Whether the user gave any budget.
        anchor: The family choice's point.

    Returns:
        ``(point, knobs)`` or ``None``.
    """
    candidates = points_for(plan) if user_limits else (() if anchor is None else (anchor,))
    best = None
    for point in candidates:
        knobs = _reproducible(plan, point)
        costs = ev.costs(knobs) if knobs is not None else None
        if costs is None or not ev.feasible(costs):
            continue
        used = ev.worst(costs)
        if (used >= NAMED_WITHIN or not user_limits) and (best is None or used > best[0]):
            best = (used, point, knobs)
    return None if best is None else (best[1], best[2])
