"""Sizing rules: small pure functions, each with the source it follows.

Every rule returns plain values; ``propose`` records each application as a ``Step`` (rule,
inputs, result, source) so the rationale of a proposal is the list of rules it applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from archscale.errors import SpecError
from archscale.specs import Task

#: Width quantum: every channel count / hidden width is a multiple of this.
QUANTUM = 8

#: Images up to this many pixels on their shorter side get a CIFAR-style network.
SMALL_IMAGE_MAX_SIDE = 64

#: Sequences up to this length get a plain 1-D CNN; longer ones a 1-D ResNet.
PLAIN_CNN_MAX_LENGTH = 128

#: MAC budgets (normalised to a 224x224 input) below which a mobile family is chosen...
MOBILE_MAX_MACS_224 = 450e6
#: ... and below which EfficientNet is chosen rather than ResNet.
EFFICIENT_MAX_MACS_224 = 2.0e9
#: The same boundaries for a parameter-only budget.
MOBILE_MAX_PARAMS = 4.5e6
EFFICIENT_MAX_PARAMS = 15e6

#: Which families can take which input ranks (vector inputs are flattened by the MLP).
FAMILY_RANKS: dict[str, tuple[int, ...]] = {
    "mlp": (1, 2, 3), "cnn1d": (2,), "resnet": (2, 3), "mobilenet_v2": (3,),
    "efficientnet": (3,), "regnet": (3,), "inception": (3,),
}


@dataclass(frozen=True)
class Step:
    """One rationale entry: which rule ran, on what, with what result, citing what."""

    rule: str
    inputs: dict[str, Any]
    result: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"rule": self.rule, "inputs": _jsonable(self.inputs),
                "result": _jsonable(self.result), "source": self.source}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


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
    """The layout variant a family uses for a task's input.

    Args:
        family: A family name.
        task: The task.

    Returns:
        ``family`` itself, except for ResNet: ``resnet-1d`` (sequences), ``resnet-cifar``
        (images up to 64 px) or ``resnet-imagenet``.
    """
    if family != "resnet":
        return family
    if len(task.input_shape) == 2:
        return "resnet-1d"
    return "resnet-cifar" if min(task.input_shape[:2]) <= SMALL_IMAGE_MAX_SIDE \
        else "resnet-imagenet"


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
    ranks = FAMILY_RANKS.get(family, (len(task.input_shape),))
    if len(task.input_shape) not in ranks:
        kinds = {1: "vector", 2: "sequence (length x channels)", 3: "image (H x W x C)"}
        accepted = " or ".join(kinds[r] for r in ranks)
        raise SpecError(f"family {family!r} needs a {accepted} input. "
                        f"Received: input_shape={task.input_shape!r}, family={family!r}")
    if task.modality == "vector" and len(task.input_shape) > 1 and family != "mlp":
        raise SpecError(f"modality 'vector' flattens the input, which only family 'mlp' "
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


# ---------------------------------------------------------------------------------------------
# MLP shape
# ---------------------------------------------------------------------------------------------


def mlp_depth(target_params: float) -> int:
    """Number of hidden layers from the parameter target.

    One hidden layer for targets under 5 K parameters, two up to 1 M, three up to 20 M, four
    beyond: one layer approximates any continuous map, two any decision boundary (Heaton 2008,
    "Introduction to Neural Networks for Java", ch. 5); more only pays with a lot of data.

    Args:
        target_params: The capacity target, clamped by the budget.

    Returns:
        1 to 4.
    """
    for depth, limit in ((1, 5e3), (2, 1e6), (3, 20e6)):
        if target_params < limit:
            return depth
    return 4


def mlp_taper(n_in: int, n_out: int, depth: int) -> tuple[float, ...]:
    """Unscaled hidden widths tapering geometrically from the input size to the output size.

    The geometric-pyramid rule (Masters 1993, "Practical Neural Network Recipes in C++"):
    ``h_i = n_out * r**(depth + 1 - i)`` with ``r = (n_in / n_out)**(1 / (depth + 1))``, which
    also keeps every width between the input and output sizes (Heaton 2008's
    between-input-and-output rule). Capacity later scales all widths by one factor.

    Args:
        n_in: Input features (flattened).
        n_out: Output units.
        depth: Hidden layers.

    Returns:
        ``depth`` positive floats, input side first.
    """
    ratio = (max(n_in, 1) / max(n_out, 1)) ** (1.0 / (depth + 1))
    return tuple(n_out * ratio ** (depth + 1 - i) for i in range(1, depth + 1))


def round_width(value: float, quantum: int = QUANTUM) -> int:
    """Round a width to the nearest multiple of ``quantum``, halves up (at least ``quantum``)."""
    return max(quantum, int(value / quantum + 0.5) * quantum)


# ---------------------------------------------------------------------------------------------
# CNN shape
# ---------------------------------------------------------------------------------------------


def downsampling_halvings(size: int, stop: int = 8) -> int:
    """Stride-2 stages needed to bring a resolution down to roughly 4-8.

    Halve (rounding up, as ``same`` padding does) while the size exceeds ``stop``: 32 -> 2
    (8), 40 -> 3 (5), 56 -> 3 (7), 224 -> 5 (7). Classification nets end at a 4-8 feature map
    (ResNet: 7x7 at 224, CIFAR ResNet: 8x8 at 32; Simonyan & Zisserman 2014, He et al. 2015).

    Args:
        size: Input side (after any stem downsampling).
        stop: Largest acceptable final size.

    Returns:
        The number of halvings (>= 0).
    """
    halvings = 0
    while size > stop:
        size = math.ceil(size / 2)
        halvings += 1
    return halvings


def doubling_widths(base: int, stages: int, cap: int = 512) -> tuple[int, ...]:
    """Stage widths that double whenever the resolution halves, capped.

    Keeps the per-layer compute roughly constant across stages (Simonyan & Zisserman 2014;
    He et al. 2015 Sec. 3.3: "if the feature map size is halved, the number of filters is
    doubled").

    Args:
        base: Width of the first stage.
        stages: Number of stages.
        cap: Largest width.

    Returns:
        ``stages`` widths.
    """
    return tuple(min(cap, base * 2**s) for s in range(stages))


def blocks_per_stage(stages: int, kind: str) -> tuple[int, ...]:
    """Base number of blocks in each stage (before depth scaling).

    ``bottleneck``: ResNet-50's (3, 4, 6, 3) pattern, most blocks at the second-to-last stage
    (He et al. 2015 Table 1), generalised to other stage counts; ``basic``: 3 per stage, the
    CIFAR ResNet-20 (He et al. 2015 Sec. 4.2); ``plain``: 2 convs per stage (VGG-style pairs,
    Simonyan & Zisserman 2014).

    Args:
        stages: Number of stages.
        kind: ``bottleneck``, ``basic`` or ``plain``.

    Returns:
        ``stages`` block counts.
    """
    if kind == "basic":
        return (3,) * stages
    if kind == "plain":
        return (2,) * stages
    if stages == 1:
        return (3,)
    middle = [4, 6, 6, 6, 6, 6][:max(0, stages - 2)]
    if stages == 3:
        middle = [6]
    return (3, *middle, 3)
