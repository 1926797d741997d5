"""EfficientNet B0..B7: exact agreement with keras.applications.EfficientNetB0..B7."""

from __future__ import annotations

import copy
import math
import warnings

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs import efficientnet
from archscale.reference_archs.efficientnet import (BASE_STAGES, SCALINGS, EfficientNetSpec,
                                                    block_name, build_efficientnet,
                                                    scaled_blocks)

#: Keras count_params() of EfficientNetB0..B7 at their default size with 1000 classes, and
#: the paper's FLOPs (Tan & Le 2019, table 2; multiply-adds).
PUBLISHED = {
    "efficientnet_b0": (5_330_571, 0.39e9), "efficientnet_b1": (7_856_239, 0.70e9),
    "efficientnet_b2": (9_177_569, 1.0e9), "efficientnet_b3": (12_320_535, 1.8e9),
    "efficientnet_b4": (19_466_823, 4.2e9), "efficientnet_b5": (30_562_527, 9.9e9),
    "efficientnet_b6": (43_265_143, 19e9), "efficientnet_b7": (66_658_687, 37e9),
}
#: One small non-default input shape and class count per variant for the Keras comparison.
KERAS_CASES = [
    (0, (64, 64, 3), 10), (1, (96, 80, 3), 5), (2, (65, 65, 3), 100), (3, (33, 47, 1), 2),
    (4, (75, 75, 3), 17), (5, (64, 64, 3), 1), (6, (32, 32, 3), 3), (7, (48, 40, 3), 7),
]
#: Layers Keras names automatically (a session counter suffix is appended).
AUTO_NAMED = {"input", "rescaling", "normalization"}


def _spec(name: str = "efficientnet_b0", **overrides) -> EfficientNetSpec:
    return archscale.preset(name, **overrides)


# -- pure Python ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_presets_match_keras_counts_and_paper_macs(name):
    params, macs = PUBLISHED[name]
    prof = archscale.profile(_spec(name))
    assert prof.params == params
    assert prof.macs == pytest.approx(macs, rel=0.05)
    assert prof.unsupported == ()


def test_b0_macs_and_non_trainable():
    prof = archscale.profile(_spec())
    assert prof.macs == pytest.approx(0.39e9, rel=0.05)
    assert prof.trainable_params == 5_288_548
    assert prof.non_trainable_params == 42_023  # BN statistics + Normalization (3 + 3 + 1)


def test_presets_are_the_compound_scaling_table():
    assert [(s.width, s.depth, s.resolution, s.dropout) for s in SCALINGS] == [
        (1.0, 1.0, 224, 0.2), (1.0, 1.1, 240, 0.2), (1.1, 1.2, 260, 0.3), (1.2, 1.4, 300, 0.3),
        (1.4, 1.8, 380, 0.4), (1.6, 2.2, 456, 0.4), (1.8, 2.6, 528, 0.5), (2.0, 3.1, 600, 0.5)]
    for row in SCALINGS:
        spec = _spec(f"efficientnet_{row.name}")
        assert spec.input_shape == (row.resolution, row.resolution, 3)
        assert (spec.width_coefficient, spec.depth_coefficient) == (row.width, row.depth)
        assert (spec.dropout_rate, spec.classes) == (row.dropout, 1000)
    assert archscale.list_presets("efficientnet_b*") == [f"efficientnet_b{i}" for i in range(8)]
    assert efficientnet.FAMILY.build is build_efficientnet


@pytest.mark.parametrize("depth, blocks", [(1.0, 16), (1.1, 23), (2.0, 32), (3.1, 55)])
def test_depth_scaling_counts_blocks(depth, blocks):
    assert len(scaled_blocks(_spec(depth_coefficient=depth))) == blocks
    assert sum(s.repeats for s in BASE_STAGES) == 16


def test_stochastic_depth_rates_grow_linearly_and_only_on_residual_blocks():
    spec = _spec(drop_connect_rate=0.4)
    blocks = scaled_blocks(spec)
    assert [b.drop_rate for b in blocks] == [0.4 * i / 16 for i in range(16)]
    graph = archscale.build_graph(spec)
    drops = [n.name for n in graph.nodes if n.op == "dropout"]
    residual = [b.name for b in blocks if b.strides == 1 and b.filters_in == b.filters_out]
    assert drops == [f"{name}drop" for name in residual] + ["top_dropout"]
    assert graph.node("block2b_drop").attrs["rate"] == pytest.approx(0.4 * 2 / 16)
    plain = archscale.build_graph(_spec(drop_connect_rate=0.0, dropout_rate=0.0))
    assert not [n for n in plain.nodes if n.op == "dropout"]


def test_block_names_follow_keras_and_stay_unique_past_z():
    assert block_name(0, 0) == "block1a_" and block_name(5, 12) == "block6m_"
    graph = archscale.build_graph(_spec(depth_coefficient=8.0, input_shape=(32, 32, 3)))
    assert "block6_26_add" in {n.name for n in graph.nodes}


def test_preprocessing_and_squeeze_excitation_switches():
    full = archscale.profile(_spec())
    no_pre = archscale.profile(_spec(include_preprocessing=False))
    assert full.params - no_pre.params == 2 * 3 + 1
    assert no_pre.graph.nodes[1].name == "stem_conv_pad"
    no_se = archscale.profile(_spec(se_ratio=0.0))
    assert not [n for n in no_se.graph.nodes if n.op == "multiply"]
    assert no_se.params < full.params


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 5, 1), (31, 31, 3)])
def test_tiny_inputs_never_produce_empty_shapes(shape):
    prof = archscale.profile(_spec(input_shape=shape, classes=4))
    assert all(d > 0 for row in prof.layers for d in row.output_shape)
    assert prof.params == archscale.profile(_spec(input_shape=(64, 64, shape[-1]),
                                                  classes=4)).params


@pytest.mark.parametrize("field, value", [
    ("width_coefficient", 0), ("depth_coefficient", -1.0), ("dropout_rate", 1.0),
    ("drop_connect_rate", -0.1), ("depth_divisor", 0), ("depth_divisor", 8.0),
    ("se_ratio", 1.5), ("activation", "swishy"), ("include_preprocessing", "yes"),
    ("output_activation", None), ("input_shape", (64, 64)), ("classes", -1)])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        _spec(**{field: value})


def test_json_round_trip():
    spec = _spec("efficientnet_b3", input_shape=(96, 80, 3), classes=5, se_ratio=0.5)
    again = archscale.spec_from_dict(spec.to_dict())
    assert again == spec and again.spec_hash() == spec.spec_hash()


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
@pytest.mark.parametrize("variant, shape, classes", KERAS_CASES)
def test_matches_keras_application(variant, shape, classes):
    import keras

    spec = _spec(f"efficientnet_b{variant}", input_shape=shape, classes=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(keras.applications, f"EfficientNetB{variant}")(
            weights=None, input_shape=shape, classes=classes)
    _assert_same_as_keras(archscale.profile(spec), model)


@pytest.mark.tf
@pytest.mark.parametrize("shape, classes", [((224, 224, 3), 1000), ((32, 32, 3), 10),
                                            ((57, 90, 2), 3)])
def test_b0_matches_keras_at_several_shapes(shape, classes):
    import keras

    spec = _spec(input_shape=shape, classes=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.applications.EfficientNetB0(weights=None, input_shape=shape,
                                                  classes=classes)
    _assert_same_as_keras(archscale.profile(spec), model)


@pytest.mark.tf
@pytest.mark.parametrize("overrides", [
    dict(width_coefficient=0.5, depth_coefficient=0.8, depth_divisor=16, se_ratio=0.5,
         dropout_rate=0.0, drop_connect_rate=0.0, activation="relu"),
    dict(width_coefficient=1.3, depth_coefficient=1.5, depth_divisor=4, se_ratio=0.05,
         dropout_rate=0.1, drop_connect_rate=0.3, activation="swish"),
])
def test_generic_coefficients_match_keras_efficientnet(overrides):
    from keras.src.applications import efficientnet as keras_efficientnet

    spec = _spec(input_shape=(48, 48, 3), classes=6, **overrides)
    blocks_args = copy.deepcopy(keras_efficientnet.DEFAULT_BLOCKS_ARGS)
    for args in blocks_args:
        args["se_ratio"] = overrides["se_ratio"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras_efficientnet.EfficientNet(
            overrides["width_coefficient"], overrides["depth_coefficient"], 48,
            dropout_rate=overrides["dropout_rate"],
            drop_connect_rate=overrides["drop_connect_rate"],
            depth_divisor=overrides["depth_divisor"], activation=overrides["activation"],
            blocks_args=blocks_args, weights=None, input_shape=(48, 48, 3), classes=6)
    _assert_same_as_keras(archscale.profile(spec), model)


@pytest.mark.tf
def test_built_model_has_the_profiled_params():
    keras_io = pytest.importorskip("archscale.keras_io")
    spec = _spec("efficientnet_b1", input_shape=(65, 65, 3), classes=10)
    model = keras_io.to_keras(archscale.build_graph(spec))
    assert model.count_params() == archscale.profile(spec).params
    assert model.get_layer("block2a_dwconv_pad").output.shape[1:3] == (35, 35)
