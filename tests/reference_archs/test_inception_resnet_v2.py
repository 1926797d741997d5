"""Inception-ResNet-v2 (the Inception family's ``resnet_v2`` version): exact against
keras.applications.InceptionResNetV2."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import ShapeError
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops


def test_published_count_and_structure():
    prof = archscale.profile(archscale.preset("inception_resnet_v2"))
    assert prof.params == 55_873_736
    assert (prof.trainable_params, prof.non_trainable_params) == (55_813_192, 60_544)
    g = prof.graph
    shapes = {"mixed_5b": (35, 35, 320), "block35_10_ac": (35, 35, 320),
              "mixed_6a": (17, 17, 1088), "block17_20_ac": (17, 17, 1088),
              "mixed_7a": (8, 8, 2080), "block8_10": (8, 8, 2080), "conv_7b": (8, 8, 1536)}
    assert {n: g.node(n).shape for n in shapes} == shapes
    scales = [n.attrs["scale"] for n in g.nodes if n.attrs.get("fn") == "scaled_add"]
    assert scales == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]
    assert "block8_10_ac" not in {n.name for n in g.nodes}


def test_width_multiplier_keeps_the_residual_projection_at_the_input_width():
    g = archscale.build_graph(archscale.preset("inception_resnet_v2", width_multiplier=0.5,
                                               input_shape=(75, 75, 3)))
    assert g.node("mixed_5b").shape[-1] == 160
    assert g.node("block35_1_conv").attrs["filters"] == 160


def test_too_small_input_raises_shape_error():
    with pytest.raises(ShapeError, match="mixed_7a"):
        archscale.profile(archscale.preset("inception_resnet_v2", input_shape=(74, 74, 3)))


@pytest.mark.tf
@pytest.mark.parametrize("shape, classes", [
    ((75, 75, 3), 10),
    pytest.param((299, 299, 3), 1000, marks=pytest.mark.slow),
    pytest.param((139, 160, 1), 5, marks=pytest.mark.slow),
])
def test_matches_keras_applications(shape, classes):
    import keras

    keras.backend.clear_session()
    model = keras.applications.InceptionResNetV2(weights=None, input_shape=shape,
                                                 classes=classes)
    spec = archscale.preset("inception_resnet_v2", input_shape=shape, classes=classes)
    assert_same_as_keras(spec, model)


@pytest.mark.tf
@pytest.mark.slow
def test_macs_equal_profiler_on_keras_applications_model():
    import keras

    keras.backend.clear_session()
    model = keras.applications.InceptionResNetV2(weights=None, input_shape=(75, 75, 3),
                                                 classes=10)
    spec = archscale.preset("inception_resnet_v2", input_shape=(75, 75, 3), classes=10)
    assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs


@pytest.mark.tf
def test_emitted_model_uses_keras_scale_layer():
    spec = archscale.preset("inception_resnet_v2", input_shape=(75, 75, 3), classes=3,
                            width_multiplier=0.25)
    model = archscale.build(spec)
    scales = [layer.scale for layer in model.layers
              if type(layer).__name__ == "CustomScaleLayer"]
    assert scales == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]
    assert model.count_params() == archscale.profile(spec).params
