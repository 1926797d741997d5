"""Channel, depth and stride-2 padding arithmetic shared by MobileNetV2 and EfficientNet.

The rule (Sandler et al. 2018, MobileNetV2; Tan & Le 2019, EfficientNet; identical code in
``keras.applications.mobilenet_v2._make_divisible`` and in the ``round_filters`` /
``round_repeats`` closures of ``keras.applications.efficientnet.EfficientNet``):

- filters are rounded to the nearest multiple of the divisor (8), never below the divisor and
  never below 90 % of the unrounded value (one more divisor is added when rounding down lost
  more than 10 %);
- repeats are scaled and rounded up: ``ceil(depth x repeats)``;
- a stride-2 layer is preceded by explicit zero padding (``imagenet_utils.correct_pad``) and
  run with ``valid`` padding, which rounds the output size up (``ceil(size / 2)``) as ``same``
  would, but pads one pixel less at the top/left when the size is even.

The arithmetic is written exactly as Keras writes it (same float operations in the same order),
so the rounded values agree with Keras for every multiplier, not only the published ones.
"""

from __future__ import annotations

import math


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor`` that is at least 90 % of ``value``.

    Args:
        value: Unrounded channel count (``filters * multiplier``), >= 0.
        divisor: The multiple to round to.
        min_value: Lower bound of the result; defaults to ``divisor``.

    Returns:
        ``max(min_value, round-half-up(value / divisor) * divisor)``, plus one ``divisor`` when
        that is below ``0.9 * value``.

    Example::

        make_divisible(32 * 0.35) == 16      # 11.2 -> 8 would lose > 10 %, so 16
        make_divisible(1280 * 1.3) == 1664
    """
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def round_filters(filters: int, width_coefficient: float, divisor: int = 8) -> int:
    """EfficientNet's width scaling: ``make_divisible(filters * width_coefficient, divisor)``.

    Args:
        filters: Base (B0) channel count.
        width_coefficient: Width multiplier of the variant.
        divisor: The multiple to round to (EfficientNet's ``depth_divisor``).

    Returns:
        The scaled, rounded channel count.
    """
    return make_divisible(filters * width_coefficient, divisor)


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """EfficientNet's depth scaling: ``ceil(depth_coefficient * repeats)``.

    Args:
        repeats: Base (B0) number of blocks in a stage.
        depth_coefficient: Depth multiplier of the variant.

    Returns:
        The scaled number of blocks, rounded up.
    """
    return int(math.ceil(depth_coefficient * repeats))


def correct_pad(spatial: tuple[int, ...], kernel: int) -> tuple[tuple[int, int], ...]:
    """Zero padding Keras puts before a stride-2 ``valid`` conv (``imagenet_utils.correct_pad``).

    Args:
        spatial: Spatial size of the padded tensor, ``(height, width)``.
        kernel: Square kernel size of the following conv.

    Returns:
        ``((top, bottom), (left, right))``: ``kernel // 2`` on each side, one less at the
        top/left of an even-sized axis.
    """
    half = kernel // 2
    return tuple((half - (1 - size % 2), half) for size in spatial)
