"""MobileNetV2: exact agreement with keras.applications.MobileNetV2 over alpha, shape, classes."""

from __future__ import annotations

import math
import warnings

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs import mobilenet_v2
from archscale.reference_archs.mobilenet_v2 import (STAGES, MobileNetV2Spec,
                                                    build_mobilenet_v2, last_block_filters)

ALPHAS = (0.35, 0.5, 0.6, 0.75, 1.0, 1.3, 1.4)
SHAPES_AND_CLASSES = (((224, 224, 3), 1000), ((96, 96, 3), 10), ((65, 65, 3), 7),
                      ((128, 160, 3), 3))
#: Layers Keras names automatically (a session counter suffix is appended).
AUTO_NAMED = {"input", "global_average_pooling2d"}


def _spec(**overrides) -> MobileNetV2Spec:
    return archscale.preset("mobilenet_v2", **overrides)


# -- pure Python ------------------------------------------------------------------------------


def test_preset_matches_published_keras_count_and_paper_macs():
    prof = archscale.profile(_spec())
    assert prof.params == 3_538_984
    assert prof.trainable_params == 3_504_872
    assert prof.non_trainable_params == 34_112
    assert prof.macs == pytest.approx(300e6, rel=0.05)
    assert prof.depth == 53
    assert prof.unsupported == ()


def test_stage_table_is_the_paper_table():
    assert sum(s.repeats for s in STAGES) == 17
    assert [(s.expansion, s.filters, s.repeats, s.stride) for s in STAGES] == [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
        (6, 160, 3, 2), (6, 320, 1, 1)]


def test_family_is_registered_with_its_build_function():
    assert mobilenet_v2.FAMILY.build is build_mobilenet_v2
    assert "mobilenet_v2" in archscale.list_presets()
    assert archscale.build_graph(_spec()).name == "mobilenetv2_1.00_224"


@pytest.mark.parametrize("alpha, expected", [
    (0.35, 1280), (1.0, 1280), (1.0001, 1280), (1.3, 1664), (1.4, 1792), (2.0, 2560)])
def test_last_conv_widens_only_above_one(alpha, expected):
    assert last_block_filters(alpha) == expected
    graph = archscale.build_graph(_spec(alpha=alpha, input_shape=(32, 32, 3)))
    assert graph.node("Conv_1").shape[-1] == expected


@pytest.mark.parametrize("alpha, stem, first_out", [
    (0.35, 16, 8), (0.5, 16, 8), (0.75, 24, 16), (1.0, 32, 16), (1.4, 48, 24), (0.1, 8, 8)])
def test_width_rounding_of_stem_and_first_block(alpha, stem, first_out):
    graph = archscale.build_graph(_spec(alpha=alpha, input_shape=(32, 32, 3)))
    assert graph.node("Conv1").shape[-1] == stem
    assert graph.node("expanded_conv_project").shape[-1] == first_out
    has_add = "expanded_conv_add" in {n.name for n in graph.nodes}
    assert has_add == (stem == first_out)


@pytest.mark.parametrize("size, pad", [(224, ((0, 1), (0, 1))), (65, ((1, 1), (1, 1)))])
def test_stride_two_padding_depends_on_parity(size, pad):
    graph = archscale.build_graph(_spec(input_shape=(size, size, 3)))
    node = graph.node("block_1_pad")
    assert node.attrs["padding"] == pad
    assert graph.node("block_1_depthwise").shape[:2] == (math.ceil(math.ceil(size / 2) / 2),) * 2


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 1), (31, 17, 3)])
def test_tiny_inputs_never_produce_empty_shapes(shape):
    prof = archscale.profile(_spec(input_shape=shape, classes=5))
    assert all(d > 0 for row in prof.layers for d in row.output_shape)
    assert prof.params == archscale.profile(_spec(input_shape=(64, 64, shape[-1]),
                                                  classes=5)).params


@pytest.mark.parametrize("field, value", [
    ("alpha", 0), ("alpha", -0.5), ("alpha", "1.0"), ("alpha", float("inf")),
    ("input_shape", (224, 3)), ("input_shape", (0, 224, 3)), ("classes", 0),
    ("output_activation", "softmaxx")])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        _spec(**{field: value})


def test_json_round_trip():
    spec = _spec(alpha=0.6, input_shape=(65, 65, 3), classes=7)
    again = archscale.spec_from_dict(spec.to_dict())
    assert again == spec and again.spec_hash() == spec.spec_hash()
    assert archscale.spec_from_dict({"family": "mobilenet_v2", "input_shape": [96, 96, 3],
                                     "alpha": 1}).alpha == 1.0


# -- against Keras ----------------------------------------------------------------------------


def _keras_macs(model) -> int:
    """MACs of Conv2D / DepthwiseConv2D / Dense read off a built Keras model (independent)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        out = math.prod(layer.output.shape[1:])
        if kind == "Conv2D":
            total += out * math.prod(layer.kernel_size) * layer.input.shape[-1] // layer.groups
        elif kind == "DepthwiseConv2D":
            total += out * math.prod(layer.kernel_size)
        elif kind == "Dense":
            total += out * layer.input.shape[-1]
    return total


def _assert_same_as_keras(prof, model) -> None:
    import numpy as np

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (prof.params, prof.trainable_params) == (model.count_params(), trainable)
    keras_shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    ours = {row.name: row.output_shape for row in prof.layers}
    assert len(ours) == len(keras_shapes)
    assert set(ours) - set(keras_shapes) <= AUTO_NAMED
    assert {n: s for n, s in ours.items() if n in keras_shapes} == {
        n: keras_shapes[n] for n in ours if n in keras_shapes}
    assert prof.macs == _keras_macs(model)


@pytest.mark.tf
@pytest.mark.parametrize("shape, classes", SHAPES_AND_CLASSES)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_matches_keras_application(alpha, shape, classes):
    import keras

    spec = _spec(alpha=alpha, input_shape=shape, classes=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.applications.MobileNetV2(weights=None, alpha=alpha, input_shape=shape,
                                               classes=classes)
    _assert_same_as_keras(archscale.profile(spec), model)


@pytest.mark.tf
@pytest.mark.parametrize("alpha, shape, classes", [(0.1, (33, 47, 1), 1), (2.0, (32, 32, 4), 2)])
def test_matches_keras_application_off_the_published_grid(alpha, shape, classes):
    import keras

    spec = _spec(alpha=alpha, input_shape=shape, classes=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.applications.MobileNetV2(weights=None, alpha=alpha, input_shape=shape,
                                               classes=classes)
    _assert_same_as_keras(archscale.profile(spec), model)


@pytest.mark.tf
def test_built_model_has_the_profiled_params():
    keras_io = pytest.importorskip("archscale.keras_io")
    spec = _spec(alpha=0.75, input_shape=(65, 65, 3), classes=10)
    model = keras_io.to_keras(archscale.build_graph(spec))
    prof = archscale.profile(spec)
    assert model.count_params() == prof.params
    # 65 -> 33 (stem) -> 1 + 33 + 1 (odd size: correct_pad pads both sides)
    assert model.get_layer("block_1_pad").output.shape[1:3] == (35, 35)
    assert model.name == "mobilenetv2_0.75_65"
