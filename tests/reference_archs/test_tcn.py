"""TCN (Bai et al. 2018): causal dilated residual blocks, exact against the emitted Keras model
and TensorFlow's profiler; the heuristics pick it for long sequences."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs.tcn import levels_for, receptive_field
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops


def _params_by_formula(channels, kernel, in_channels, classes, bias=True) -> int:
    total, c = 0, in_channels
    for w in channels:
        total += kernel * c * w + kernel * w * w + 2 * w * bias
        if c != w:
            total += c * w + w
        c = w
    return total + c * classes + classes


@pytest.mark.parametrize("channels, kernel, shape, classes", [
    ((25,) * 8, 7, (1024, 1), 10), ((16, 32, 32), 3, (300, 4), 2), ((8,), 2, (5, 1), 1),
])
def test_params_closed_form_and_causal_lengths(channels, kernel, shape, classes):
    spec = archscale.preset("tcn", channels=channels, kernel=kernel, input_shape=shape,
                            classes=classes)
    prof = archscale.profile(spec)
    assert prof.params == _params_by_formula(channels, kernel, shape[1], classes)
    g = prof.graph
    for i in range(len(channels)):
        assert g.node(f"level{i + 1}_a_pad").shape[0] == shape[0] + 2 ** i * (kernel - 1)
        assert g.node(f"level{i + 1}_out").shape == (shape[0], channels[i])
        assert g.node(f"level{i + 1}_a_conv").attrs["dilation"] == (2 ** i,)


def test_preset_is_bai_et_al_seq_mnist_model():
    prof = archscale.profile(archscale.preset("tcn"))
    # Bai et al. 2018: ~70 K params with weight normalisation (25 gains per conv, 16 convs)
    assert prof.params == 66_510 and abs(prof.params + 16 * 25 - 70e3) / 70e3 < 0.05
    assert receptive_field(8, 7) == 3_061


@pytest.mark.parametrize("length, kernel, levels", [(1024, 7, 7), (784, 7, 7), (13, 7, 1),
                                                    (14, 7, 2), (40, 3, 4), (2, 3, 1)])
def test_levels_cover_the_sequence(length, kernel, levels):
    assert levels_for(length, kernel) == levels
    assert receptive_field(levels, kernel) >= length
    if levels > 1:
        assert receptive_field(levels - 1, kernel) < length


def test_batch_norm_replaces_the_bias():
    plain = archscale.profile(archscale.preset("tcn"))
    bn = archscale.profile(archscale.preset("tcn", norm="batch"))
    assert bn.non_trainable_params == 2 * 25 * 16
    assert bn.trainable_params == plain.params - 16 * 25 + 2 * 25 * 16


@pytest.mark.parametrize("field, value", [
    ("channels", ()), ("channels", (4, 0)), ("kernel", 0), ("norm", "layer"), ("dropout", 1.0),
    ("pooling", "last"), ("input_shape", (100,)), ("input_shape", (8, 8, 1)),
])
def test_invalid_fields_name_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset("tcn", **{field: value})


def test_heuristics_use_a_tcn_for_long_sequences_only():
    def family(length):
        return archscale.propose(archscale.Task(input_shape=(length, 1), classes=5,
                                                samples=5000)).spec.family

    assert [family(n) for n in (40, 128, 200, 256, 1000, 4096)] == [
        "cnn1d", "cnn1d", "resnet", "tcn", "tcn", "tcn"]
    proposal = archscale.propose(archscale.Task(input_shape=(1000, 1), classes=5,
                                                samples=5000))
    levels = len(proposal.spec.channels)
    assert receptive_field(levels, proposal.spec.kernel) >= 1000


@pytest.mark.tf
@pytest.mark.parametrize("overrides", [
    {"input_shape": (256, 3), "channels": (16, 32, 32), "norm": "batch", "dropout": 0.1},
    {"input_shape": (512, 2), "channels": (8,) * 9, "kernel": 2, "pooling": "global_max",
     "classes": 3},
])
def test_matches_emitted_keras_model_and_profiler(overrides):
    spec = archscale.preset("tcn", **overrides)
    model = archscale.build(spec)
    assert_same_as_keras(spec, model)
    assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs
