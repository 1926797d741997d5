"""Family choice: which family and layout a task gets, and whether a requested one fits.

Every rule returns plain values; ``propose`` records each application as a ``Step`` (rule,
inputs, result, source) so the rationale of a proposal is the list of rules it applied. The
facts of each family (the input ranks it takes, its layout variants) come from its metadata
(``archscale.reference_archs.registry.Family``); the base-structure rules the family plans
start from are in ``archscale.reference_archs.layout_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscale.errors import SpecError
from archscale.reference_archs.layout_rules import (SMALL_IMAGE_MAX_SIDE,
                                                    downsampling_halvings)
from archscale.reference_archs.registry import RANKS, families
from archscale.reference_archs.scaling_plan import Step
from archscale.specs import Task

#: ``Step`` (the rationale row, defined with the plans that emit it) and
#: ``SMALL_IMAGE_MAX_SIDE`` (the layout rule the ResNet plan shares) are re-exported.
__all__ = ["EFFICIENT_MAX_MACS_224", "EFFICIENT_MAX_PARAMS", "MOBILE_MAX_MACS_224",
           "MOBILE_MAX_PARAMS", "PLAIN_CNN_MAX_LENGTH", "SMALL_IMAGE_MAX_SIDE", "FamilyChoice",
           "Step", "check_family_fits_task", "choose_family", "variant_for"]

#: Sequences up to this length get a plain 1-D CNN; longer ones a 1-D ResNet.
PLAIN_CNN_MAX_LENGTH = 128

#: MAC budgets (normalised to a 224x224 input) below which a mobile family is chosen...
MOBILE_MAX_MACS_224 = 450e6
#: ... and below which EfficientNet is chosen rather than ResNet.
EFFICIENT_MAX_MACS_224 = 2.0e9
#: The same boundaries for a parameter-only budget.
MOBILE_MAX_PARAMS = 4.5e6
EFFICIENT_MAX_PARAMS = 15e6


@dataclass(frozen=True)
class FamilyChoice:
    """The family a task gets, the variant of its layout, why, and what else was considered.

    Attributes:
        family: Registry family name.
        variant: Layout within the family (``resnet-cifar``, ``resnet-imagenet``, ...).
        reason: One sentence explaining the choice.
        alternatives: ``(family, why not)`` pairs.
        fallbacks: Variants to try, in order, if the chosen one cannot fit the budget.
        source: Citation.
    """

    family: str
    variant: str
    reason: str
    alternatives: tuple[tuple[str, str], ...] = ()
    fallbacks: tuple[str, ...] = ()
    source: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Family choice
# ---------------------------------------------------------------------------------------------

_SOURCES_IMAGE = ("He et al. 2015 (ResNet-50: 4.1 GMACs, 76 % top-1); Sandler et al. 2018 "
                  "(MobileNetV2 1.0: 300 MMACs, 72 %); Tan & Le 2019 Table 2 (EfficientNet-B0 "
                  "390 MMACs, 77.1 %; B3 1.8 G, 81.6 %); Bello et al. 2021 'Revisiting ResNets' "
                  "(ResNets match EfficientNets at GMAC budgets and train faster per MAC)")


def variant_for(family: str, task: Task) -> str:
    """The layout variant a family uses for a task's input (its plan's ``variant_for``).

    Args:
        family: A registered family name.
        task: The task.

    Returns:
        ``family`` itself, except for ResNet: ``resnet-1d`` (sequences), ``resnet-cifar``
        (images up to 64 px) or ``resnet-imagenet``.

    Raises:
        SpecError: unknown family.
    """
    return families().get(family).variant_for(task)


def check_family_fits_task(family: str, task: Task, known: tuple[str, ...]) -> None:
    """Raise ``SpecError`` unless ``family`` exists and accepts the task's input rank.

    Args:
        family: The requested family (``--family``).
        task: The task.
        known: Registered family names.

    Raises:
        SpecError: unknown family, or an input rank the family cannot take.
    """
    if family not in known:
        raise SpecError(f"unknown family {family!r}; accepted: {', '.join(known)}. "
                        f"Received: family={family!r}")
    registry = families()
    meta = registry.get(family)
    if len(task.input_shape) not in meta.ranks:
        kinds = dict(zip(RANKS, ("vector", "sequence (length x channels)",
                                 "image (H x W x C)")))
        accepted = " or ".join(kinds[r] for r in meta.ranks)
        raise SpecError(f"family {family!r} needs a {accepted} input. "
                        f"Received: input_shape={task.input_shape!r}, family={family!r}")
    if task.modality == "vector" and len(task.input_shape) > 1 and not meta.flattens_input:
        takers = " or ".join(repr(n) for n in registry if registry.get(n).flattens_input)
        raise SpecError(f"modality 'vector' flattens the input, which only family {takers} "
                        f"takes. Received: modality='vector', family={family!r}")


def choose_family(task: Task, macs_limit: float | None, params_limit: float | None) -> \
        FamilyChoice:
    """Family from modality, input size and how tight the compute budget is.

    Rules: vectors -> MLP. Sequences -> plain 1-D CNN up to 128 steps, 1-D ResNet beyond
    (plain stacks deeper than ~10 layers degrade, He et al. 2015). Images up to 64 px ->
    CIFAR-style ResNet (He et al. 2015 Sec. 4.2) - the shorter side counts, as it is the one
    that runs out under downsampling. Larger images -> by the MAC budget
    normalised to 224x224: below 450 M MobileNetV2, below 2 G EfficientNet, else ResNet; with
    only a parameter budget: below 4.5 M MobileNetV2, below 15 M EfficientNet, else ResNet.

    Args:
        task: The task (``task.family`` is handled by the caller).
        macs_limit: The MAC ceiling (or its latency equivalent), ``None`` if unconstrained.
        params_limit: The parameter ceiling (the user's, clamped by the data-derived
            capacity), ``None`` if unconstrained.

    Returns:
        The ``FamilyChoice``.
    """
    shape = task.input_shape
    if task.modality == "vector":
        return FamilyChoice(
            "mlp", "mlp", f"a {len(shape)}-D vector input has no spatial or temporal axis "
            "for convolutions to exploit, so a dense MLP is the baseline",
            (("cnn1d", "needs a sequence axis: give the shape as LENGTHx1 to try it"),
             ("resnet", "needs a sequence or image input")),
            (), "Goodfellow et al. 2016, Deep Learning, ch. 6 and 9 (convolution needs grid "
            "structure)", {"modality": "vector", "input_shape": shape})
    if task.modality == "sequence":
        length = shape[0]
        if length <= PLAIN_CNN_MAX_LENGTH:
            return FamilyChoice(
                "cnn1d", "cnn1d", f"a sequence of {length} steps needs only "
                f"{downsampling_halvings(length)} stride-2 stages to reach 4-8 steps, shallow "
                "enough for a plain 1-D CNN", (
                    ("resnet", f"residual blocks pay off past ~10 layers; "
                     f"{length} steps do not need that depth"),
                    ("mlp", "ignores the temporal locality a convolution exploits")),
                ("resnet-1d", "mlp"), "Greydanus 2020 (MNIST-1D: CNN 94 % vs MLP 68 %); He et "
                "al. 2015 (plain stacks degrade past ~20 layers)",
                {"modality": "sequence", "length": length})
        return FamilyChoice(
            "resnet", "resnet-1d", f"a sequence of {length} steps needs "
            f"{downsampling_halvings(length)} downsampling stages: deep enough that residual "
            "connections are needed", (("cnn1d", "a plain stack this deep degrades"),
                                       ("mlp", "ignores temporal locality")),
            ("cnn1d", "mlp"), "He et al. 2015 (degradation of deep plain networks); Wang et "
            "al. 2017 (ResNet baseline for time series)", {"modality": "sequence",
                                                          "length": length})
    side = min(shape[:2])
    if side <= SMALL_IMAGE_MAX_SIDE:
        return FamilyChoice(
            "resnet", "resnet-cifar", f"images of {shape[0]}x{shape[1]} px are small: a "
            "CIFAR-style ResNet (3x3 stem, no early pooling) keeps the resolution the "
            "ImageNet stems would throw away", (
                ("mobilenet_v2", "downsamples 32x: a <=64 px side ends at 2 px or less"),
                ("efficientnet", "downsamples 32x, tuned for >=224 px"),
                ("mlp", "ignores spatial structure")),
            (), "He et al. 2015 Sec. 4.2 (CIFAR ResNets); Zagoruyko & Komodakis 2016 "
            "(Wide ResNets)", {"modality": "image", "side": side})
    pixels = shape[0] * shape[1]
    inputs: dict[str, Any] = {"modality": "image", "side": side}
    if macs_limit is not None:
        norm = macs_limit * 224 * 224 / pixels
        inputs["macs_budget_at_224"] = round(norm)
        tight = "mobilenet_v2" if norm < MOBILE_MAX_MACS_224 else \
            "efficientnet" if norm < EFFICIENT_MAX_MACS_224 else "resnet"
        basis = f"a MAC budget of {norm / 1e6:.0f} M at 224x224"
    elif params_limit is not None:
        inputs["params_budget"] = round(params_limit)
        tight = "mobilenet_v2" if params_limit < MOBILE_MAX_PARAMS else \
            "efficientnet" if params_limit < EFFICIENT_MAX_PARAMS else "resnet"
        basis = f"a parameter budget of {params_limit / 1e6:.1f} M"
    else:  # pragma: no cover - propose always passes the capacity ceiling
        tight = "resnet"
        basis = "no compute budget"
    why = {
        "mobilenet_v2": f"{basis} is mobile-sized (< {MOBILE_MAX_MACS_224 / 1e6:.0f} M): "
                        "MobileNetV2's inverted residuals are the simplest family built for it",
        "efficientnet": f"{basis} lies between mobile and ResNet-50 class: EfficientNet's "
                        "compound scaling gives the best accuracy per MAC there",
        "resnet": f"{basis} affords ResNet-50-class networks, which are the standard there and "
                  "train faster per MAC than depthwise-convolution families",
    }
    why_not = {
        "mobilenet_v2": "MobileNetV2 is built for <0.5 GMACs; widened beyond that it is "
                        "dominated by EfficientNet",
        "efficientnet": ("EfficientNet-B0 (390 M MACs at 224) is the smallest published "
                         "member; below it MobileNetV2 is simpler" if tight == "mobilenet_v2"
                         else "at GMAC budgets its depthwise convs and swish train slower "
                              "than ResNet's dense convs for similar accuracy"),
        "resnet": "ResNet-18 already needs 1.8 GMACs; narrowed to fit it loses to "
                  "mobile families",
    }
    order = ("resnet", "efficientnet", "mobilenet_v2")
    fallbacks = tuple(v for v in ("mobilenet_v2", "resnet-imagenet", "efficientnet")
                      if not v.startswith(tight))
    alternatives = tuple((f, why_not[f]) for f in order if f != tight)
    variant = "resnet-imagenet" if tight == "resnet" else tight
    return FamilyChoice(tight, variant, why[tight], alternatives, fallbacks, _SOURCES_IMAGE,
                        inputs)
