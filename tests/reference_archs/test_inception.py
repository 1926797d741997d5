"""Inception family: GoogLeNet against the 2014 paper's Table 1, Inception v3 against Keras."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from archscale.reference_archs.inception import (GOOGLENET_BLOCKS, InceptionSpec,
                                                 build_inception, scale_filters)

# Szegedy et al. 2014, Table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj),
# copied from the paper independently of the module's table.
PAPER_TABLE_1 = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
GOOGLENET_PARAMS = 6_998_552  # conv weights + biases + 1024x1000 classifier, no BN, no aux
INCEPTION_V3_PARAMS = 23_851_784  # keras.applications.InceptionV3 at (299, 299, 3), 1000 classes


def _graph(name: str, **overrides):
    return archscale.build_graph(archscale.preset(name, **overrides))


# ---------------------------------------------------------------------------------------------
# Registry, spec and validation (no TensorFlow)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, version, shape", [
    ("googlenet", "v1", (224, 224, 3)), ("inception_v3", "v3", (299, 299, 3)),
])
def test_presets_registered(name, version, shape):
    spec = archscale.preset(name)
    assert isinstance(spec, InceptionSpec)
    assert (spec.version, spec.input_shape, spec.classes) == (version, shape, 1000)
    assert archscale.spec_from_dict(spec.to_dict()) == spec
    assert name in archscale.list_presets("*")


@pytest.mark.parametrize("field, value", [
    ("version", "v2"), ("version", 3), ("width_multiplier", 0), ("width_multiplier", -0.5),
    ("width_multiplier", "1"), ("width_multiplier", float("inf")), ("batch_norm", "yes"),
    ("dropout", 1.0), ("dropout", -0.1), ("output_activation", "nope"),
    ("input_shape", (299, 299)), ("input_shape", (0, 299, 3)), ("classes", 0),
    ("no_such_field", 1),
])
@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_invalid_override_names_field(name, field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset(name, **{field: value})


@pytest.mark.parametrize("shape, layer", [
    ((32, 32, 3), "mixed3_branch3x3_conv"),
    ((74, 74, 3), "mixed8_branch3x3_2_conv"),
    ((75, 74, 3), "mixed8_branch3x3_2_conv"),
    ((10, 10, 3), "max_pool_3a_3x3"),
    ((2, 2, 1), "conv2d_1a_3x3_conv"),
])
def test_inception_v3_too_small_raises_shape_error(shape, layer):
    spec = archscale.preset("inception_v3", input_shape=shape)
    with pytest.raises(ShapeError, match=f"'{layer}'"):
        archscale.profile(spec)


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 9, 3), (32, 32, 3)])
def test_googlenet_same_padding_accepts_any_size(shape):
    prof = archscale.profile(archscale.preset("googlenet", input_shape=shape, classes=10))
    assert prof.graph.node("inception_5b").shape[-1] == 1024


def test_profile_does_not_import_tensorflow():
    code = ("import sys, archscale\n"
            "archscale.profile(archscale.preset('inception_v3'))\n"
            "archscale.profile(archscale.preset('googlenet'))\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# GoogLeNet against the paper
# ---------------------------------------------------------------------------------------------


def test_googlenet_table_matches_paper():
    assert {b.name: (b.n1x1, b.n3x3_reduce, b.n3x3, b.n5x5_reduce, b.n5x5, b.pool_proj)
            for b in GOOGLENET_BLOCKS} == PAPER_TABLE_1
    assert [b.name for b in GOOGLENET_BLOCKS if b.pool_after] == ["3b", "4e"]


def _googlenet_params_by_formula(classes: int, in_channels: int = 3) -> int:
    """Closed form from Table 1: conv weights + biases, dense head."""
    total = 7 * 7 * in_channels * 64 + 64 + 64 * 64 + 64 + 9 * 64 * 192 + 192
    c = 192
    for a, r3, n3, r5, n5, pp in PAPER_TABLE_1.values():
        total += (c * a + a) + (c * r3 + r3 + 9 * r3 * n3 + n3)
        total += (c * r5 + r5 + 25 * r5 * n5 + n5) + (c * pp + pp)
        c = a + n3 + n5 + pp
    return total + c * classes + classes


@pytest.mark.parametrize("classes, channels", [(1000, 3), (10, 3), (7, 1)])
def test_googlenet_params_exact_closed_form(classes, channels):
    prof = archscale.profile(archscale.preset("googlenet", classes=classes,
                                              input_shape=(224, 224, channels)))
    assert prof.params == prof.trainable_params == _googlenet_params_by_formula(classes, channels)


def test_googlenet_params_near_paper():
    prof = archscale.profile(archscale.preset("googlenet"))
    assert prof.params == GOOGLENET_PARAMS
    # Paper: "about 6.8M" (sum of Table 1's params column, which is inconsistent with the
    # table's own filter counts for conv1, 4c, 4d, 5a, 5b). Biases are 8,280 of ours.
    assert abs(prof.params / 6.8e6 - 1) < 0.03


def test_googlenet_macs_near_paper():
    macs = archscale.profile(archscale.preset("googlenet")).macs
    assert macs == 1_582_671_872
    # Paper: ~1.5 G multiply-adds, but its conv1 row says 34 M where 7x7x3x64 at 112x112 is
    # 118 M; with that row recomputed the column sums to 1.586 G.
    assert abs(macs / 1.5e9 - 1) < 0.06
    assert abs(macs / 1.586e9 - 1) < 0.01


# Table 1 "ops" column in M (conv1 and 5a omitted: inconsistent with the table's filters).
PAPER_OPS_M = {"conv2": 360, "inception_3a": 128, "inception_3b": 304, "inception_4a": 73,
               "inception_4b": 88, "inception_4c": 100, "inception_4d": 119,
               "inception_4e": 170, "inception_5b": 71, "predictions": 1}


@pytest.mark.parametrize("prefix, paper_m", sorted(PAPER_OPS_M.items()))
def test_googlenet_macs_per_row_match_paper(prefix, paper_m):
    prof = archscale.profile(archscale.preset("googlenet"))
    macs = sum(r.macs for r in prof.layers if r.name.startswith(prefix))
    assert abs(macs - paper_m * 1e6) <= max(0.5e6, 0.01 * paper_m * 1e6)


def test_googlenet_shapes_follow_table_1():
    g = _graph("googlenet")
    expected = {"conv1_7x7_s2": (112, 112, 64), "pool1_3x3_s2": (56, 56, 64),
                "conv2_3x3": (56, 56, 192), "pool2_3x3_s2": (28, 28, 192),
                "inception_3a": (28, 28, 256), "inception_3b": (28, 28, 480),
                "pool3_3x3_s2": (14, 14, 480), "inception_4a": (14, 14, 512),
                "inception_4d": (14, 14, 528), "inception_4e": (14, 14, 832),
                "pool4_3x3_s2": (7, 7, 832), "inception_5a": (7, 7, 832),
                "inception_5b": (7, 7, 1024), "avg_pool": (1024,), "dropout": (1024,),
                "predictions": (1000,)}
    assert {n: g.node(n).shape for n in expected} == expected
    assert g.node("dropout").attrs["rate"] == 0.4
    assert not any(n.op == "batch_norm" for n in g.nodes)


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_batch_norm_toggle_swaps_bias_for_bn(name):
    plain = archscale.profile(archscale.preset(name, batch_norm=False))
    bn = archscale.profile(archscale.preset(name, batch_norm=True))
    channels = sum(r.output_shape[-1] for r in plain.layers if r.op == "conv")
    # bias (1/channel) -> BN beta (trainable) + moving mean/variance (non-trainable)
    assert bn.trainable_params == plain.trainable_params
    assert bn.non_trainable_params == 2 * channels
    assert bn.macs == plain.macs


# ---------------------------------------------------------------------------------------------
# Inception v3 structure and width multiplier
# ---------------------------------------------------------------------------------------------


def test_inception_v3_params_and_macs_at_default_size():
    prof = archscale.profile(archscale.preset("inception_v3"))
    assert prof.params == INCEPTION_V3_PARAMS
    assert (prof.trainable_params, prof.non_trainable_params) == (23_817_352, 34_432)
    assert abs(prof.macs / 5.7e9 - 1) < 0.05  # paper: 5.72 G multiply-adds


def test_inception_v3_module_shapes():
    g = _graph("inception_v3")
    channels = [288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048]
    expected = {"mixed0": (35, 35, 256)}
    for i, (c, s) in enumerate(zip(channels, [35] * 2 + [17] * 5 + [8] * 3), start=1):
        expected[f"mixed{i}"] = (s, s, c)
    expected.update({"mixed9_0": (8, 8, 768), "mixed9_1": (8, 8, 768)})
    assert {n: g.node(n).shape for n in expected} == expected


@pytest.mark.parametrize("multiplier, mixed0", [(1.0, 256), (0.5, 128), (0.25, 64),
                                                (0.001, 4), (2.0, 512)])
def test_width_multiplier_scales_every_conv(multiplier, mixed0):
    g = _graph("inception_v3", width_multiplier=multiplier, input_shape=(75, 75, 3))
    assert g.node("mixed0").shape[-1] == mixed0
    base = _graph("inception_v3", input_shape=(75, 75, 3))
    for node in g.nodes:
        if node.op == "conv":
            ref = base.node(node.name).attrs["filters"]
            assert node.attrs["filters"] == scale_filters(ref, multiplier) >= 1


def test_scale_filters_rounds_half_up():
    assert [scale_filters(f, m) for f, m in [(3, 0.5), (5, 0.5), (1, 0.01), (64, 1.0)]] == \
        [2, 3, 1, 64]


def test_build_function_is_the_family_build():
    spec = archscale.preset("inception_v3")
    assert archscale.build_graph(spec).nodes == build_inception(spec).nodes


# ---------------------------------------------------------------------------------------------
# Exactness against keras.applications.InceptionV3 (TensorFlow)
# ---------------------------------------------------------------------------------------------

_KERAS_OPS = {"InputLayer": "input", "Conv2D": "conv", "BatchNormalization": "batch_norm",
              "Activation": "activation", "MaxPooling2D": "max_pool",
              "AveragePooling2D": "avg_pool", "Concatenate": "concat",
              "GlobalAveragePooling2D": "global_avg_pool", "Dense": "dense"}


def _keras_rows(model):
    """(op, output shape, params) of every Keras layer, sorted."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:])
        rows.append((_KERAS_OPS[type(layer).__name__], shape, layer.count_params()))
    return sorted(rows)


def _keras_macs(model) -> int:
    total = 0
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Conv2D":
            k = layer.kernel.shape
            total += math.prod(layer.output.shape[1:]) * k[0] * k[1] * k[2]
        elif name == "Dense":
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
    return total


@pytest.mark.tf
@pytest.mark.parametrize("shape, classes", [((299, 299, 3), 1000), ((75, 75, 3), 10),
                                            ((139, 160, 3), 5)])
def test_inception_v3_matches_keras_applications(shape, classes):
    import keras
    import numpy as np

    model = keras.applications.InceptionV3(weights=None, input_shape=shape, classes=classes)
    spec = archscale.preset("inception_v3", input_shape=shape, classes=classes)
    prof = archscale.profile(spec)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert prof.params == model.count_params()
    assert prof.trainable_params == trainable
    assert prof.macs == _keras_macs(model)
    ours = sorted((n.op, n.shape, r.params) for n, r in zip(prof.graph.nodes, prof.layers))
    assert ours == _keras_rows(model)
    explicit = {layer.name for layer in model.layers
                if layer.name.startswith("mixed") or layer.name in ("avg_pool", "predictions")}
    assert explicit <= {n.name for n in prof.graph.nodes}
    if shape == (299, 299, 3):
        assert prof.params == INCEPTION_V3_PARAMS


@pytest.mark.tf
@pytest.mark.parametrize("name, overrides", [
    ("googlenet", {"input_shape": (64, 64, 3), "classes": 10}),
    ("googlenet", {"input_shape": (32, 48, 1), "batch_norm": True, "width_multiplier": 0.5}),
    ("inception_v3", {"input_shape": (75, 75, 3), "classes": 10, "dropout": 0.2}),
])
def test_built_keras_model_matches_profile(name, overrides):
    keras_io = pytest.importorskip("archscale.keras_io")
    spec = archscale.preset(name, **overrides)
    prof = archscale.profile(spec)
    model = keras_io.to_keras(archscale.build_graph(spec))
    assert model.count_params() == prof.params
    assert tuple(model.output_shape[1:]) == (spec.classes,)
    assert {layer.name for layer in model.layers} == {n.name for n in prof.graph.nodes}
