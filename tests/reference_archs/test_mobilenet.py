"""MobileNet v1: exact agreement with keras.applications.MobileNet over alpha, depth multiplier,
input shape and classes; the block table and width rule; validation."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from archscale.reference_archs.mobilenet import BLOCKS, block_filters

from .keras_parity import assert_matches_keras, assert_profiler_parity, keras_model


def _spec(**overrides):
    return archscale.preset("mobilenet", **overrides)


def test_preset_is_keras_count_and_paper_macs():
    prof = archscale.profile(_spec())
    assert (prof.params, prof.trainable_params) == (4_253_864, 4_231_976)
    assert prof.macs == pytest.approx(569e6, rel=0.01)
    assert prof.depth == 28 and prof.unsupported == ()


def test_block_table_is_the_paper_table():
    assert len(BLOCKS) == 13 and [s for _, s in BLOCKS].count(2) == 4
    assert block_filters(1.0)[-1] == 1024 and block_filters(0.25) == tuple(
        int(f * 0.25) for f, _ in BLOCKS)
    assert block_filters(0.6)[0] == 38  # int(), never rounded to a multiple of 8


@pytest.mark.parametrize("field, value", [
    ("alpha", 0), ("alpha", -1.0), ("depth_multiplier", 0), ("depth_multiplier", 1.5),
    ("dropout", 1.0), ("input_shape", (32, 3)), ("output_activation", "nope")])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        _spec(**{field: value})


def test_too_small_input_is_a_shape_error():
    with pytest.raises(ShapeError):
        archscale.profile(_spec(input_shape=(8, 8, 3)))


def test_json_round_trip():
    spec = _spec(alpha=0.5, depth_multiplier=2, input_shape=(96, 96, 1), classes=3)
    assert archscale.spec_from_dict(spec.to_dict()) == spec


#: (alpha, shape, classes); all but one under --run-slow (1-4 s each on 2 cores).
KERAS_CASES = [(0.75, (65, 65, 1), 7)] + [
    pytest.param(a, s, c, marks=pytest.mark.slow)
    for a, s, c in [(0.25, (224, 224, 3), 1000), (0.25, (65, 65, 1), 7),
                    (0.75, (224, 224, 3), 1000), (1.0, (224, 224, 3), 1000),
                    (1.0, (65, 65, 1), 7)]]


@pytest.mark.tf
@pytest.mark.parametrize("alpha, shape, classes", KERAS_CASES)
def test_matches_keras_application(alpha, shape, classes):
    import keras

    spec = _spec(alpha=alpha, input_shape=shape, classes=classes)
    assert_matches_keras(spec, keras_model(keras.applications.MobileNet, alpha=alpha,
                                           input_shape=shape, classes=classes))


@pytest.mark.tf
def test_matches_keras_with_a_depth_multiplier():
    import keras

    spec = _spec(alpha=0.5, depth_multiplier=2, input_shape=(128, 160, 3), classes=10)
    assert_matches_keras(spec, keras_model(keras.applications.MobileNet, alpha=0.5,
                                           depth_multiplier=2, input_shape=(128, 160, 3),
                                           classes=10))


@pytest.mark.tf
@pytest.mark.slow
def test_macs_equal_profiler_at_a_reduced_size():
    assert_profiler_parity(_spec(alpha=0.75, depth_multiplier=2, input_shape=(65, 65, 3)))
