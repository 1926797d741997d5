"""Channel/depth rounding and stride-2 padding shared by MobileNetV2 and EfficientNet."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archscale.reference_archs.rounding import (correct_pad, make_divisible, round_filters,
                                                round_repeats)

# Each case derived by hand: int(v + d/2) // d * d, floored at min_value, plus d when < 0.9 v.
MAKE_DIVISIBLE_CASES = [
    # (value, divisor, min_value, expected)
    (32 * 0.35, 8, None, 16),    # 11.2 -> 8 loses > 10 % -> 16 (MobileNetV2 0.35 stem)
    (32 * 0.5, 8, None, 16),
    (32 * 0.75, 8, None, 24),
    (32 * 1.4, 8, None, 48),     # 44.8 -> int(48.8) // 8 * 8 = 48
    (1280 * 1.3, 8, None, 1664),
    (1280 * 1.4, 8, None, 1792),
    (int(16 * 0.35), 8, None, 8),   # 5 -> 8 (the floor)
    (int(96 * 0.35), 8, None, 32),  # 33 -> 32, 32 >= 29.7
    (int(64 * 0.35), 8, None, 24),  # 22 -> int(26) // 8 * 8 = 24
    (int(160 * 0.6), 8, None, 96),
    (19, 8, None, 24),           # 19 -> 16 < 17.1 -> 24
    (12, 8, None, 16),           # rounds half up
    (11.99, 8, None, 16),        # 11.99 -> 8 < 10.79 -> 16
    (0, 8, None, 8),
    (3, 8, 4, 4),                # explicit min_value below the divisor
    (40, 16, None, 48),
    (100, 1, None, 100),
]


@pytest.mark.parametrize("value, divisor, min_value, expected", MAKE_DIVISIBLE_CASES)
def test_make_divisible_hand_cases(value, divisor, min_value, expected):
    assert make_divisible(value, divisor, min_value) == expected


@pytest.mark.parametrize("filters, width, divisor, expected", [
    (32, 1.0, 8, 32),
    (32, 1.1, 8, 32),       # 35.2 -> int(39.2) // 8 * 8 = 32 >= 31.68
    (16, 1.1, 8, 16),       # 17.6 -> 16 >= 15.84
    (24, 1.4, 8, 32),       # 33.6 -> 32 >= 30.24
    (32, 1.8, 8, 56),       # 57.6 -> int(61.6) // 8 * 8 = 56
    (40, 1.2, 8, 48),
    (1280, 1.1, 8, 1408),
    (1280, 2.0, 8, 2560),
    (40, 1.0, 16, 48),
    (320, 0.1, 8, 32),
])
def test_round_filters_hand_cases(filters, width, divisor, expected):
    assert round_filters(filters, width, divisor) == expected


@pytest.mark.parametrize("repeats, depth, expected", [
    (1, 1.0, 1), (2, 1.0, 2), (2, 1.1, 3), (3, 1.1, 4), (3, 1.2, 4), (4, 1.8, 8),
    (4, 3.1, 13), (1, 3.1, 4), (4, 2.0, 8), (1, 0.5, 1), (3, 0.5, 2),
])
def test_round_repeats_hand_cases(repeats, depth, expected):
    assert round_repeats(repeats, depth) == expected


@pytest.mark.parametrize("spatial, kernel, expected", [
    ((224, 224), 3, ((0, 1), (0, 1))),
    ((65, 65), 3, ((1, 1), (1, 1))),
    ((64, 65), 5, ((1, 2), (2, 2))),
    ((1, 2), 3, ((1, 1), (0, 1))),
])
def test_correct_pad(spatial, kernel, expected):
    assert correct_pad(spatial, kernel) == expected


@given(spatial=st.tuples(st.integers(1, 1000), st.integers(1, 1000)),
       kernel=st.sampled_from([3, 5, 7]))
def test_correct_pad_then_valid_stride_2_gives_ceil_half(spatial, kernel):
    for size, (lo, hi) in zip(spatial, correct_pad(spatial, kernel)):
        assert lo >= 0 and hi >= 0
        assert (size + lo + hi - kernel) // 2 + 1 == math.ceil(size / 2)


@settings(max_examples=300)
@given(value=st.floats(0, 1e5, allow_nan=False), divisor=st.integers(1, 64))
def test_make_divisible_properties(value, divisor):
    result = make_divisible(value, divisor)
    assert isinstance(result, int)
    assert result % divisor == 0
    assert result >= 0.9 * value
    assert result >= divisor
    assert result <= value + divisor


@given(repeats=st.integers(1, 20), depth=st.floats(0.01, 10, allow_nan=False))
def test_round_repeats_properties(repeats, depth):
    result = round_repeats(repeats, depth)
    assert result >= depth * repeats > result - 1


@pytest.mark.tf
@settings(max_examples=300, deadline=None)
@given(value=st.floats(0, 1e4, allow_nan=False), divisor=st.sampled_from([1, 4, 8, 16, 32]))
def test_make_divisible_equals_keras(value, divisor):
    from keras.src.applications.mobilenet_v2 import _make_divisible

    assert make_divisible(value, divisor) == _make_divisible(value, divisor)
