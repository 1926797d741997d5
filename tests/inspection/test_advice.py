"""Width advice: the rounding rule, which spec field carries a layer, the shrunk spec's costs."""

import pytest

from archscale.costs import profile_graph
from archscale.inspection.advice import advise_spec, recommended_width, width_carriers
from archscale.inspection.regularisation import regularisation_signals
from archscale.reference_archs.registry import build_graph, preset


@pytest.mark.parametrize("width, dim, want", [(512, 340, 432), (512, 74, 96), (128, 1, 8),
                                              (100, 90, 100), (64, 0, 8), (24, 16, 24)])
def test_recommended_width_is_a_multiple_of_8_with_headroom(width, dim, want):
    assert recommended_width(width, dim) == want


def test_width_carriers_are_found_by_widening_each_field_entry():
    mlp = preset("mnist1d_mlp", widths=(512, 256), residual=False)
    assert width_carriers(mlp) == {"fc1": ("widths", 0), "fc2": ("widths", 1)}
    cnn = preset("mnist1d_cnn", filters=(32, 48, 64), dense_widths=(40,), batch_norm=True)
    carriers = width_carriers(cnn)
    assert carriers["conv2"] == carriers["conv2_bn"] == carriers["conv2_relu"] == ("filters", 1)
    assert carriers["fc1"] == ("dense_widths", 0)
    assert "predictions" not in carriers


def test_shrunk_spec_and_its_costs_are_exact():
    spec = preset("mnist1d_mlp", widths=(512, 512), dropout=(0.0, 0.0), residual=False)
    advice = advise_spec(spec, {"fc1": (512, 340), "fc2": (512, 74)})
    assert advice.shrunk.widths == (432, 96)
    assert advice.shrunk_params == profile_graph(build_graph(advice.shrunk)).params
    assert advice.params == 40 * 512 + 512 + 512 * 512 + 512 + 5130
    alone = spec.replace(widths=(512, 96))
    fc2 = next(a for a in advice.layers if a.layer == "fc2")
    assert fc2.params_saved == advice.params - profile_graph(build_graph(alone)).params
    assert fc2.carrier == "widths[1]" and fc2.exact
    assert advice.params_cut > 0.5 and advice.dropped == ()


def test_a_shortcut_lost_by_shrinking_is_reported():
    spec = preset("mnist1d_mlp")  # 100-100 with a shortcut around fc2
    advice = advise_spec(spec, {"fc1": (100, 90), "fc2": (100, 20)})
    assert advice.shrunk.widths == (100, 32)
    assert advice.dropped == ("fc2_add",)


def test_regularisation_signals_read_the_gap_and_the_defaults():
    spec = preset("mnist1d_mlp", widths=(512, 512), dropout=(0.0, 0.0), residual=False)
    curves = {"accuracy": [0.5, 0.9, 1.0], "test_accuracy": [0.45, 0.65, 0.7]}
    sig = regularisation_signals(1.0, 0.7, params=288_778, samples=4000, spec=spec,
                                 curves=curves)
    assert sig.gap_points == pytest.approx(30.0) and sig.verdict == "overfitting"
    assert sig.heldout_curve == "test_accuracy" and sig.max_gap_epoch == 3
    assert sig.defaults.dropout > 0
    assert sig.changes[0].startswith("raise dropout: spec field dropout is 0")
    assert regularisation_signals(0.9, 0.88, params=10, samples=4000).verdict == \
        "no sign of overfitting"
