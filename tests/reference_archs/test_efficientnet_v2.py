"""EfficientNetV2: exact agreement with keras.applications.EfficientNetV2B0..L; the rounding
rule (no 90 % floor, unlike v1), the base tables, stochastic depth, preprocessing."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs.efficientnet_v2 import BASES, PUBLISHED, round_filters_v2
from archscale.reference_archs.rounding import round_filters

from .keras_parity import assert_matches_keras, assert_profiler_parity, keras_model

VARIANTS = ("b0", "b1", "b2", "b3", "s", "m", "l")
#: All but B0 under --run-slow (5-20 s each to build in Keras on 2 cores).
SLOW = {"b1", "b2", "b3", "s", "m", "l"}


@pytest.mark.parametrize("name", VARIANTS)
def test_presets_are_keras_counts(name):
    prof = archscale.profile(archscale.preset(f"efficientnet_v2_{name}"))
    assert prof.params == PUBLISHED[name][0]
    assert prof.macs == pytest.approx(PUBLISHED[name][1], rel=0.06)


def test_rounding_has_no_ninety_percent_floor():
    # 1.1 x 16 = 17.6 -> 16 in v2; v1's make_divisible would add a step (16 < 0.9 x 17.6? no)
    assert [round_filters_v2(f, 1.1) for f in (16, 32, 48, 1280)] == [16, 32, 56, 1408]
    assert round_filters_v2(20, 0.55) == 8 and round_filters(20, 0.55) == 16
    assert round_filters_v2(4, 1.0) == 8  # never below 8


def test_base_tables():
    assert [sum(s.repeats for s in BASES[b]) for b in "bsml"] == [21, 40, 57, 79]
    assert all(s.fused == (s.se_ratio == 0) for b in BASES.values() for s in b)


def test_stochastic_depth_and_preprocessing():
    graph = archscale.build_graph(archscale.preset("efficientnet_v2_b0"))
    drops = [n for n in graph.nodes if n.op == "dropout" and n.name.endswith("_drop")]
    assert drops and all(0 < n.attrs["rate"] < 0.2 for n in drops)
    assert "block1a_drop" not in {n.name for n in graph.nodes}
    assert graph.node("normalization").attrs["fn"] == "normalize"
    s = archscale.build_graph(archscale.preset("efficientnet_v2_s"))
    assert s.node("rescaling").attrs == {"scale": 1 / 128, "offset": -1.0}
    grey = archscale.build_graph(archscale.preset("efficientnet_v2_b0", input_shape=(64, 64, 1)))
    assert "normalization" not in {n.name for n in grey.nodes}


@pytest.mark.parametrize("field, value", [
    ("base", "xl"), ("width_coefficient", 0), ("depth_coefficient", -1.0),
    ("dropout_rate", 1.0), ("depth_divisor", 0), ("activation", "nope")])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        archscale.preset("efficientnet_v2_b0", **{field: value})


def _ctor(name):
    import keras

    return getattr(keras.applications, f"EfficientNetV2{name.upper()}")


@pytest.mark.tf
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in VARIANTS])
def test_matches_keras_application(name):
    spec = archscale.preset(f"efficientnet_v2_{name}", input_shape=(64, 64, 3), classes=10)
    assert_matches_keras(spec, keras_model(_ctor(name), input_shape=(64, 64, 3), classes=10))


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.parametrize("name, shape, classes", [("b1", (65, 47, 1), 7),
                                                  ("s", (33, 33, 3), 2)])
def test_matches_keras_off_the_default_shapes(name, shape, classes):
    spec = archscale.preset(f"efficientnet_v2_{name}", input_shape=shape, classes=classes)
    assert_matches_keras(spec, keras_model(_ctor(name), input_shape=shape, classes=classes))


@pytest.mark.tf
def test_macs_equal_profiler_at_a_reduced_size():
    # depth 0.3: 1-3 blocks per stage, every kind (fused with and without expansion, MBConv
    # with SE, stochastic depth); the presets at native size are under --run-slow
    # (tests/test_catalogue_exactness.py)
    assert_profiler_parity(archscale.preset("efficientnet_v2_b2", depth_coefficient=0.3,
                                            input_shape=(48, 48, 3)))
