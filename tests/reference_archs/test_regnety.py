"""RegNetY: the RegNetX width rule plus squeeze-excitation; presets within 1 % of the paper,
exact against torchvision where it has the same widths; the Keras model built from the graph."""

from __future__ import annotations

import math

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs.regnety import RegNetYSpec

from .keras_parity import assert_profiler_parity

# name: (stage widths, stage depths, paper params (M), paper MACs (G)); widths/depths as Keras
# 2's keras.applications.regnet MODEL_CONFIGS ("y002".."y016") and pycls.
PUBLISHED = {
    "regnety_002": ((24, 56, 152, 368), (1, 1, 4, 7), 3.16, 0.2),
    "regnety_004": ((48, 104, 208, 440), (1, 3, 6, 6), 4.34, 0.4),
    "regnety_008": ((64, 128, 320, 768), (1, 3, 8, 2), 6.26, 0.8),
    "regnety_016": ((48, 120, 336, 888), (2, 6, 17, 2), 11.20, 1.6),
}
#: torchvision regnet_y_400mf / regnet_y_1_6gf num_params (its 800MF rounds 136/16 = 8.5 and
#: 776/16 = 48.5 half up: widths 144 and 784, 6,432,512 params).
TORCHVISION = {"regnety_004": 4_344_144, "regnety_016": 11_202_430}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_stage_table_and_paper_figures(name):
    widths, depths, params_m, macs_g = PUBLISHED[name]
    spec = archscale.preset(name)
    assert tuple(s.width for s in spec.stages()) == widths
    assert tuple(s.depth for s in spec.stages()) == depths
    prof = archscale.profile(spec)
    assert prof.trainable_params == pytest.approx(params_m * 1e6, rel=0.01)
    assert prof.macs == pytest.approx(macs_g * 1e9, rel=0.01)
    if name in TORCHVISION:
        assert prof.trainable_params == TORCHVISION[name]


def test_se_adds_exactly_the_squeeze_excitation_weights():
    y = archscale.preset("regnety_002", input_shape=(64, 64, 3))
    x = archscale.preset("regnetx_002", input_shape=(64, 64, 3))
    se = 0
    w_in = 32
    for stage in y.stages():
        for i in range(stage.depth):
            w_se = int((w_in if i == 0 else stage.width) * 0.25)
            se += stage.width * w_se + w_se + w_se * stage.width + stage.width
        w_in = stage.width
    assert archscale.profile(y).params - archscale.profile(x).params == se
    assert archscale.profile(y.replace(se_ratio=0.0)).params == archscale.profile(x).params


@pytest.mark.parametrize("value", [-0.1, 1.5, "a"])
def test_invalid_se_ratio(value):
    with pytest.raises(SpecError, match="Received: se_ratio="):
        archscale.preset("regnety_002", se_ratio=value)


def test_json_round_trip_keeps_the_family():
    spec = archscale.preset("regnety_008", input_shape=(96, 96, 3), classes=10)
    again = archscale.spec_from_dict(spec.to_dict())
    assert isinstance(again, RegNetYSpec) and again == spec and again.family == "regnety"


@pytest.mark.tf
@pytest.mark.parametrize("name, shape, classes", [
    ("regnety_002", (32, 32, 3), 1000),
    pytest.param("regnety_016", (65, 47, 1), 7, marks=pytest.mark.slow)])
def test_keras_model_matches_profile(name, shape, classes):
    spec = archscale.preset(name, input_shape=shape, classes=classes)
    model = archscale.build(spec)
    prof = archscale.profile(spec)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert (model.count_params(), trainable) == (prof.params, prof.trainable_params)
    back = archscale.profile(model)
    assert (back.params, back.macs, back.flops, back.unsupported) == (
        prof.params, prof.macs, prof.flops, ())
    assert "regnety_Stage_0_YBlock_0_squeeze_and_excite_gap" in {l.name for l in model.layers}


@pytest.mark.tf
def test_macs_equal_profiler_at_a_reduced_size():
    # 200MF's rule cut to 7 blocks, still 4 stages (the presets at native size are under
    # --run-slow)
    spec = archscale.preset("regnety_002", depth=7, input_shape=(64, 64, 3))
    assert len(spec.stages()) == 4
    assert_profiler_parity(spec)


def test_torchvision_rounding_explains_its_800mf_count(monkeypatch):
    """torchvision rounds bottleneck / group ratios half up (pycls: half to even); with that
    rounding the same rule gives its regnet_y_800mf exactly."""
    from archscale.reference_archs import regnet

    def half_up(widths, b, group_width):
        out_w, out_g = [], []
        for w in widths:
            w_b = max(1, int(w * b))
            g = min(group_width, w_b)
            out_w.append(int(math.floor(w_b / g + 0.5) * g / b))
            out_g.append(g)
        return tuple(out_w), tuple(out_g)

    monkeypatch.setattr(regnet, "compatible_widths_groups", half_up)
    spec = archscale.preset("regnety_008")
    assert [s.width for s in spec.stages()] == [64, 144, 320, 784]
    assert archscale.profile(spec).trainable_params == 6_432_512
