"""RegNetX family: the width rule, the group-compatibility rule, presets against published
tables and parameter counts, validation, and the Keras model built from the graph."""

from __future__ import annotations

import math

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from archscale.graph import weighted_depth
from archscale.reference_archs.regnet import (RegNetSpec, build_regnet,
                                              compatible_widths_groups, regnet_widths)

# name: (stage widths, stage depths, trainable params, paper params (M), paper MACs (G))
# Widths/depths: the paper's / pycls' / keras.applications.regnet MODEL_CONFIGS tables.
# Trainable params: torchvision's regnet_x_200mf / 800mf / 1_6gf num_params and a Keras 3 port
# of keras 2's RegNetX (count_params minus BN statistics); 400MF is pycls' 5,157,512 (5.16 M),
# see test_400mf_rounding_differs_from_torchvision.
PUBLISHED = {
    "regnetx_002": ((24, 56, 152, 368), (1, 1, 4, 7), 2_684_792, 2.68, 0.2),
    "regnetx_004": ((32, 64, 160, 384), (1, 2, 7, 12), 5_157_512, 5.16, 0.4),
    "regnetx_008": ((64, 128, 288, 672), (1, 3, 7, 5), 7_259_656, 7.26, 0.8),
    "regnetx_016": ((72, 168, 408, 912), (2, 4, 10, 2), 9_190_136, 9.19, 1.6),
}
NAMES = sorted(PUBLISHED)


# -- the width rule ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    ((13, 24, 36.44, 2.49), ((24, 56, 152, 368), (1, 1, 4, 7))),
    ((22, 24, 24.48, 2.54), ((24, 64, 152, 392), (1, 2, 7, 12))),
    ((16, 56, 35.73, 2.28), ((56, 128, 288, 664), (1, 3, 7, 5))),
    ((18, 80, 34.01, 2.25), ((80, 176, 408, 912), (2, 4, 10, 2))),
    ((5, 24, 0.0, 2.0), ((24,), (5,))),          # wa = 0: one stage
    ((4, 16, 16.0, 2.0), ((16, 32, 64), (1, 1, 2))),
])
def test_regnet_widths_quantised_linear_rule(args, expected):
    assert regnet_widths(*args) == expected


@pytest.mark.parametrize("depth, w0, wa, wm, q", [
    (1, 8, 0.0, 1.5, 8), (10, 24, 36.44, 2.49, 8), (30, 48, 20.0, 2.1, 16), (25, 96, 50.5, 2.9, 8),
])
def test_regnet_widths_invariants(depth, w0, wa, wm, q):
    widths, depths = regnet_widths(depth, w0, wa, wm, q)
    assert sum(depths) == depth and len(widths) == len(depths)
    assert all(w % q == 0 for w in widths)
    assert all(a < b for a, b in zip(widths, widths[1:]))


@pytest.mark.parametrize("kwargs, field", [
    (dict(depth=0, w0=24, wa=36.0, wm=2.5), "depth"),
    (dict(depth=4, w0=0, wa=36.0, wm=2.5), "w0"),
    (dict(depth=4, w0=24, wa=-1.0, wm=2.5), "wa"),
    (dict(depth=4, w0=24, wa=36.0, wm=1.0), "wm"),
    (dict(depth=4, w0=24, wa=36.0, wm=2.5, q=0), "width_quantum"),
])
def test_regnet_widths_rejects_bad_arguments(kwargs, field):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        regnet_widths(**kwargs)


@pytest.mark.parametrize("widths, b, g, expected", [
    ((24, 64, 152, 392), 1.0, 16, ((32, 64, 160, 384), (16, 16, 16, 16))),  # 24.5 -> 24 (even)
    ((56, 128, 288, 664), 1.0, 16, ((64, 128, 288, 672), (16, 16, 16, 16))),
    ((80, 176, 408, 912), 1.0, 24, ((72, 168, 408, 912), (24, 24, 24, 24))),
    ((8, 16), 1.0, 16, ((8, 16), (8, 16))),                 # g clipped to the bottleneck width
    ((64, 100), 0.5, 8, ((64, 96), (8, 8))),                 # bottleneck 50 -> 48
    ((64,), 0.25, 24, ((64,), (16,))),
])
def test_compatible_widths_groups(widths, b, g, expected):
    assert compatible_widths_groups(widths, b, g) == expected


@pytest.mark.parametrize("b, g, field", [(0.0, 8, "bottleneck_ratio"), (1.0, 0, "group_width")])
def test_compatible_widths_groups_rejects_bad_arguments(b, g, field):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        compatible_widths_groups((64,), b, g)


# -- presets against published numbers ---------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_preset_stage_table(name):
    widths, depths = PUBLISHED[name][:2]
    stages = archscale.preset(name).stages()
    assert tuple(s.width for s in stages) == widths
    assert tuple(s.depth for s in stages) == depths


@pytest.mark.parametrize("name", NAMES)
def test_preset_params_and_macs(name):
    widths, depths, trainable, paper_m, paper_g = PUBLISHED[name]
    prof = archscale.profile(archscale.preset(name))
    assert prof.trainable_params == trainable
    assert abs(prof.trainable_params / (paper_m * 1e6) - 1) < 0.01
    # BatchNorm moving mean/variance: stem + per block 3 BNs + one skip BN per stage.
    bn_channels = 32 + sum(d * 3 * w + w for w, d in zip(widths, depths))
    assert prof.non_trainable_params == 2 * bn_channels
    assert prof.params == prof.trainable_params + prof.non_trainable_params
    assert abs(prof.macs / (paper_g * 1e9) - 1) < 0.10


def test_400mf_rounding_differs_from_torchvision():
    """pycls rounds the 3rd-stage bottleneck 392/16 = 24.5 half-to-even (384, 5.16 M params,
    the paper's figure); torchvision's _make_divisible rounds half up (400, 5,495,976)."""
    assert compatible_widths_groups((392,), 1.0, 16)[0] == (384,)
    spec = archscale.preset("regnetx_004")
    assert spec.stages()[-1].width == 384


@pytest.mark.parametrize("name", NAMES)
def test_graph_structure(name):
    spec = archscale.preset(name)
    graph = build_regnet(spec)
    # stem + 3 convs per block + classifier on the longest path
    assert weighted_depth(graph) == 3 * spec.depth + 2
    convs = [n for n in graph.nodes if n.op == "conv" and n.name.endswith("_conv_3x3")]
    assert len(convs) == spec.depth
    for n in convs:
        assert n.attrs["groups"] * spec.group_width == n.attrs["filters"]
    assert graph.node(graph.outputs[0]).shape == (1000,)
    assert graph.node("regnetx_Stage_3_XBlock_0_add").shape[:2] == (7, 7)


# -- overrides and validation ------------------------------------------------------------------

@pytest.mark.parametrize("classes", [10, 100])
def test_override_classes_changes_only_the_head(classes):
    base = archscale.profile(archscale.preset("regnetx_002"))
    small = archscale.profile(archscale.preset("regnetx_002", input_shape=(64, 64, 3),
                                               classes=classes))
    assert base.params - small.params == (1000 - classes) * (368 + 1)


@pytest.mark.parametrize("field, value", [
    ("wm", 1.0), ("wm", 0.5), ("wm", -2.0), ("wm", float("inf")), ("wm", True),
    ("depth", 0), ("depth", -1), ("depth", 2.5), ("group_width", 0), ("w0", 0), ("wa", -0.5),
    ("bottleneck_ratio", 0.0), ("stem_width", 0), ("width_quantum", 0),
    ("output_activation", "nope"), ("input_shape", (32, 3)),
])
def test_invalid_fields_raise_spec_error_naming_the_field(field, value):
    with pytest.raises(SpecError, match=f"Received: {field}="):
        archscale.preset("regnetx_002", **{field: value})


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 2, 1), (7, 9, 3), (33, 33, 3)])
def test_tiny_inputs_build(shape):
    # Every conv is 'same'-padded, so any positive size builds (spatial sizes bottom out at 1).
    try:
        prof = archscale.profile(archscale.preset("regnetx_002", input_shape=shape, classes=3))
    except ShapeError:  # pragma: no cover - acceptable outcome, never a crash
        return
    assert prof.params > 0 and prof.macs > 0


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trip(name):
    spec = archscale.preset(name)
    again = archscale.spec_from_dict(spec.to_dict())
    assert again == spec and again.spec_hash() == spec.spec_hash()
    assert isinstance(again, RegNetSpec)


def test_custom_design_point():
    spec = RegNetSpec(input_shape=(32, 32, 3), classes=10, depth=6, w0=16, wa=12.0, wm=2.0,
                      group_width=8, bottleneck_ratio=0.5, stem_width=16)
    prof = archscale.profile(spec)
    assert prof.params > 0
    for stage in spec.stages():
        w_b = int(round(stage.width * 0.5))
        assert w_b % stage.group_width == 0


# -- Keras ----------------------------------------------------------------------------------------

@pytest.mark.tf
@pytest.mark.parametrize("name", NAMES)
def test_keras_model_matches_profile(name):
    import numpy as np

    spec = archscale.preset(name, input_shape=(32, 32, 3))
    model = archscale.build(spec)
    prof = archscale.profile(spec)
    assert model.count_params() == prof.params
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == prof.trainable_params == PUBLISHED[name][2]
    names = {layer.name for layer in model.layers}
    assert {"regnetx_stem_conv", "regnetx_stem_bn", "regnetx_Stage_0_XBlock_0_skip_1x1",
            "regnetx_Stage_0_XBlock_0_conv_3x3", "regnetx_Stage_0_XBlock_0_exit_relu",
            "regnetx_head_gap", "regnetx_head_dense"} <= names
    assert math.prod(model.output_shape[1:]) == 1000
