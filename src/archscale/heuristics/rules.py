"""Family choice: which family and layout a task gets, and whether a requested one fits.

Every rule returns plain values; ``propose`` records each application as a ``Step`` (rule,
inputs, result, source) so the rationale of a proposal is the list of rules it applied. The
facts of each family (the input ranks it takes, its layout variants) come from its metadata
(``archscale.reference_archs.registry.Family``); the base-structure rules the family plans
start from are in ``archscale.reference_archs.layout_rules``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from archscale.errors import SpecError
from archscale.reference_archs.layout_rules import (SMALL_IMAGE_MAX_SIDE,
                                                    downsampling_halvings)
from archscale.heuristics.family_table import FamilyChoice, image_choice
from archscale.reference_archs.registry import RANKS, families
from archscale.reference_archs.tcn import TCNPlan, levels_for
from archscale.reference_archs.scaling_plan import Step
from archscale.specs import Task

#: ``Step`` (the rationale row, defined with the plans that emit it) and
#: ``SMALL_IMAGE_MAX_SIDE`` (the layout rule the ResNet plan shares) are re-exported.
__all__ = ["PLAIN_CNN_MAX_LENGTH", "SMALL_IMAGE_MAX_SIDE", "TCN_MIN_LENGTH", "FamilyChoice", "Step",
           "check_family_fits_task", "choose_family", "variant_for"]

#: Sequences up to this length get a plain 1-D CNN; longer ones a 1-D ResNet.
PLAIN_CNN_MAX_LENGTH = 128

#: Sequences of at least this many steps get a TCN (Bai et al. 2018) before a 1-D ResNet.
TCN_MIN_LENGTH = 256

# ---------------------------------------------------------------------------------------------
# Family choice
# ---------------------------------------------------------------------------------------------

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
    if task.modality == "tokens":
        if not meta.takes_tokens:
            names = [repr(n) for n in registry if registry.get(n).takes_tokens]
            takers = (f"family {names[0]} has" if len(names) == 1 else
                      f"families {' or '.join(names)} have")
            raise SpecError(f"modality 'tokens' (integer IDs) needs an Embedding front end, "
                            f"which only {takers}. Received: modality='tokens', "
                            f"family={family!r}")
        return
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


def _sequence_stages(length: int) -> int:
    """Downsampling stages the 1-D ResNet builds (after its stride-4 stem from 512 steps)."""
    after = math.ceil(math.ceil(length / 2) / 2) if length >= 512 else length
    return downsampling_halvings(after) + 1


def _tcn_choice(length: int) -> FamilyChoice:
    """A TCN for a long sequence: dilated causal convs see the whole sequence in
    ``log2(length)`` levels at full resolution (Bai et al. 2018)."""
    return FamilyChoice(
        "tcn", "tcn", f"a sequence of {length} steps is long: dilated causal convolutions "
        f"double their reach per level, so a TCN sees all {length} steps in about "
        f"{levels_for(length, TCNPlan.kernel)} residual levels without downsampling",
        (("resnet", "downsamples the sequence to reach it; TCNs match or beat recurrent and "
                    "strided baselines on long sequences (Bai et al. 2018)"),
         ("cnn1d", "a plain stack deep enough to see the sequence degrades"),
         ("mlp", f"never over {length} steps: it ignores temporal locality")),
        ("resnet-1d", "cnn1d"), "Bai et al. 2018 (generic TCN vs recurrent networks on long "
        "sequences); Oord et al. 2016 (WaveNet: dilated causal convolutions)",
        {"modality": "sequence", "length": length})


def choose_family(task: Task, macs_limit: float | None, params_limit: float | None,
                  max_resolution: int | None = None) -> FamilyChoice:
    """Family from modality, input size and the published accuracy-vs-cost table.

    Rules: vectors -> MLP. Token IDs -> Embedding front end then a plain 1-D CNN with
    max-over-time pooling, at any length (Kim 2014; shallow word-level CNNs match deep ones,
    Le et al. 2018). Sequences -> plain 1-D CNN up to 128 steps, 1-D ResNet beyond
    (plain stacks deeper than ~10 layers degrade, He et al. 2015), TCN from 256 steps
    (dilated causal residual blocks see the whole sequence, Bai et al. 2018). Images up to 64 px ->
    CIFAR-style ResNet (He et al. 2015 Sec. 4.2) - the shorter side counts, as it is the one
    that runs out under downsampling. Larger images: the family of the most accurate published
    ImageNet point (``accuracy_table``: each family's ``Family.accuracy``) that fits the MAC
    budget (else the parameter budget) at a resolution the input allows (see
    ``image_choice``).

    Args:
        task: The task (``task.family`` is handled by the caller).
        macs_limit: The MAC ceiling (or its latency equivalent), ``None`` if unconstrained.
        params_limit: The parameter ceiling (the user's, else the capacity default), ``None``
            if unconstrained.
        max_resolution: Largest input side the proposal may use (default: the input's).

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
    if task.modality == "tokens":
        return FamilyChoice(
            "cnn1d", "cnn1d", f"{shape[0]} integer token IDs over a vocabulary of "
            f"{task.vocab:,} are categories, not a numeric signal: an Embedding front end maps "
            "each to a learned vector, then a 1-D CNN with max-over-time pooling classifies "
            "the sequence", (
                ("resnet", "a 1-D ResNet over raw IDs treats them as magnitudes; word-level "
                           "text CNNs need no depth (Le et al. 2018)"),
                ("mlp", "an MLP over raw IDs treats them as magnitudes and ignores word order")),
            (), "Kim 2014 (CNN for sentence classification); Le et al. 2018 (shallow word-level "
            "CNNs match deep ones)", {"modality": "tokens", "length": shape[0],
                                      "vocab": task.vocab})
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
        if length >= TCN_MIN_LENGTH:
            return _tcn_choice(length)
        stages = _sequence_stages(length)
        stem = " after a stride-4 stem" if length >= 512 else ""
        return FamilyChoice(
            "resnet", "resnet-1d", f"a sequence of {length} steps needs {stages} stages"
            f"{stem} to reach 4-8 steps: deep enough that residual connections are needed",
            (("cnn1d", "a plain stack this deep degrades"),
             ("mlp", f"never over {length} steps: it ignores temporal locality and its first "
                     "layer alone costs inputs x width")),
            ("cnn1d",), "He et al. 2015 (degradation of deep plain networks); Wang et "
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
    return image_choice(task, macs_limit, params_limit, max_resolution)
