"""ConvNeXt: exact agreement with keras.applications.ConvNeXtTiny/Small/Base; LayerScale and the
constant-statistics pre-stem survive the Keras round trip; validation; the plan's knobs."""

from __future__ import annotations

import pytest

import archscale
from archscale import Task
from archscale.errors import ShapeError, SpecError
from archscale.reference_archs.convnext import ConvNeXtPlan

from .keras_parity import assert_matches_keras, assert_profiler_parity, keras_model

PUBLISHED = {"tiny": (28_589_128, 4.5e9), "small": (50_223_688, 8.7e9),
             "base": (88_591_464, 15.4e9)}


@pytest.mark.parametrize("size", PUBLISHED)
def test_presets_are_keras_counts_and_paper_macs(size):
    prof = archscale.profile(archscale.preset(f"convnext_{size}"))
    assert prof.params == prof.trainable_params == PUBLISHED[size][0]
    assert prof.macs == pytest.approx(PUBLISHED[size][1], rel=0.02)


def test_block_layers():
    graph = archscale.build_graph(archscale.preset("convnext_tiny"))
    ops = [graph.node(f"convnext_tiny_stage_0_block_0_{s}").op for s in (
        "depthwise_conv", "layernorm", "pointwise_conv_1", "gelu", "pointwise_conv_2",
        "layer_scale", "identity", "add")]
    assert ops == ["conv", "layer_norm", "dense", "activation", "dense", "scale", "activation",
                   "add"]
    assert graph.node("convnext_tiny_stage_0_block_0_depthwise_conv").attrs["groups"] == 96
    assert graph.node("convnext_tiny_prestem_normalization").attrs["mean"][0] == 0.485 * 255


@pytest.mark.parametrize("field, value", [
    ("depths", ()), ("depths", (3, 0, 9, 3)), ("projection_dims", (96, 192)),
    ("mlp_ratio", 0), ("model_name", "a b"), ("include_preprocessing", "no")])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"{field}"):
        archscale.preset("convnext_tiny", **{field: value})


def test_input_smaller_than_the_stem_is_a_shape_error():
    with pytest.raises(ShapeError):
        archscale.profile(archscale.preset("convnext_tiny", input_shape=(3, 3, 3)))


def test_plan_reproduces_the_published_configurations():
    plan = ConvNeXtPlan(Task(input_shape=(224, 224, 3), classes=1000, samples=10_000))
    for point in archscale.reference_archs.families().get("convnext").accuracy:
        spec = plan.spec(plan.knobs_for(point))
        assert (spec.depths, spec.projection_dims) == (point.get("depths"),
                                                       point.get("projection_dims"))


@pytest.mark.tf
@pytest.mark.parametrize("size, shape, classes", [
    ("tiny", (65, 47, 1), 7),
    pytest.param("tiny", (32, 32, 3), 1000, marks=pytest.mark.slow),
    pytest.param("small", (32, 32, 3), 10, marks=pytest.mark.slow),
    pytest.param("base", (32, 32, 3), 10, marks=pytest.mark.slow),
])
def test_matches_keras_application(size, shape, classes):
    import keras

    spec = archscale.preset(f"convnext_{size}", input_shape=shape, classes=classes)
    ctor = getattr(keras.applications, f"ConvNeXt{size.capitalize()}")
    assert_matches_keras(spec, keras_model(ctor, input_shape=shape, classes=classes))


@pytest.mark.tf
@pytest.mark.slow
def test_built_model_keeps_layer_scale_and_prestem_weightless():
    spec = archscale.preset("convnext_tiny", input_shape=(32, 32, 3), classes=5)
    model = archscale.build(spec)
    assert type(model.get_layer("convnext_tiny_stage_0_block_0_layer_scale")).__name__ == \
        "LayerScale"
    assert model.get_layer("convnext_tiny_prestem_normalization").count_params() == 0
    assert model.count_params() == archscale.profile(spec).params


@pytest.mark.tf
def test_macs_equal_profiler_at_a_reduced_size():
    # one block per stage (the presets at native size are under --run-slow)
    assert_profiler_parity(archscale.preset("convnext_tiny", depths=(1, 1, 2, 1),
                                            input_shape=(64, 64, 3)))
