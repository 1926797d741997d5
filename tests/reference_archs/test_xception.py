"""Xception: exact against keras.applications.Xception."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops


def test_published_count_and_structure():
    prof = archscale.profile(archscale.preset("xception"))
    assert prof.params == 22_910_480
    assert (prof.trainable_params, prof.non_trainable_params) == (22_855_952, 54_528)
    # Chollet 2017: 36 conv layers in the feature extractor, plus the classifier
    assert prof.depth == 37
    g = prof.graph
    assert g.node("block13_add").shape == (10, 10, 1024)
    assert sum(1 for n in g.nodes if n.op == "separable_conv") == 34


@pytest.mark.parametrize("blocks", [0, 1, 8, 16])
def test_middle_flow_repeats(blocks):
    base = archscale.profile(archscale.preset("xception", middle_blocks=0)).params
    prof = archscale.profile(archscale.preset("xception", middle_blocks=blocks))
    per_block = 3 * (9 * 728 + 728 * 728 + 4 * 728)
    assert prof.params - base == blocks * per_block


@pytest.mark.parametrize("field, value", [
    ("stem_widths", (32,)), ("entry_widths", ()), ("exit_widths", (1, 2, 3)),
    ("middle_width", 0), ("middle_blocks", -1), ("input_shape", (299, 3)),
    ("output_activation", "nope"),
])
def test_invalid_fields_name_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset("xception", **{field: value})


def test_small_inputs_build_until_the_valid_stem_convs_run_out():
    prof = archscale.profile(archscale.preset("xception", input_shape=(32, 32, 3)))
    assert prof.graph.node("block14_sepconv2_act").shape == (1, 1, 2048)
    with pytest.raises(ShapeError, match="block1_conv2"):
        archscale.profile(archscale.preset("xception", input_shape=(5, 5, 3)))


@pytest.mark.tf
@pytest.mark.parametrize("shape, classes", [
    ((71, 71, 3), 10), ((96, 80, 1), 1000),
    pytest.param((299, 299, 3), 1000, marks=pytest.mark.slow),
])
def test_matches_keras_applications(shape, classes):
    import keras

    keras.backend.clear_session()
    model = keras.applications.Xception(weights=None, input_shape=shape, classes=classes)
    spec = archscale.preset("xception", input_shape=shape, classes=classes)
    assert_same_as_keras(spec, model)
    if shape == (71, 71, 3):
        assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs
