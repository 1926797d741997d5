"""VGG-16/19: exact against keras.applications.VGG16/VGG19 and the paper's configurations."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from archscale.reference_archs.vgg import VGG_CONVS
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops

# Simonyan & Zisserman 2015, Table 1: 3x3 convs per stage of configurations D and E.
PAPER = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def _params_by_formula(convs, side=224, classes=1000, channels=3) -> int:
    total, c = 0, channels
    for n, w in zip(convs, (64, 128, 256, 512, 512)):
        for _ in range(n):
            total += 9 * c * w + w
            c = w
    flat = (side // 32) ** 2 * 512
    return total + flat * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * classes + classes


@pytest.mark.parametrize("depth", sorted(PAPER))
@pytest.mark.parametrize("side, classes", [(224, 1000), (32, 10), (96, 3)])
def test_params_closed_form(depth, side, classes):
    assert VGG_CONVS[f"VGG-{depth}"] == PAPER[depth]
    spec = archscale.preset(f"vgg{depth}", input_shape=(side, side, 3), classes=classes)
    prof = archscale.profile(spec)
    assert prof.params == prof.trainable_params == _params_by_formula(PAPER[depth], side,
                                                                      classes)
    assert prof.depth == depth


def test_published_counts():
    assert archscale.profile(archscale.preset("vgg16")).params == 138_357_544
    assert archscale.profile(archscale.preset("vgg19")).params == 143_667_240


def test_global_avg_head_makes_params_independent_of_size():
    a = archscale.profile(archscale.preset("vgg16", pooling="global_avg"))
    b = archscale.profile(archscale.preset("vgg16", pooling="global_avg",
                                           input_shape=(40, 72, 3)))
    assert a.params == b.params < 138_357_544


@pytest.mark.parametrize("field, value", [
    ("stage_convs", (2, 2)), ("stage_widths", (0, 1, 2, 3, 4)), ("dense_widths", (-1,)),
    ("pooling", "max"), ("input_shape", (224, 3)), ("output_activation", "nope"),
])
def test_invalid_fields_name_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset("vgg16", **{field: value})


def test_too_small_input_names_the_layer():
    with pytest.raises(ShapeError, match="block5_pool"):
        archscale.profile(archscale.preset("vgg16", input_shape=(16, 16, 3)))


@pytest.mark.tf
@pytest.mark.parametrize("depth, shape, classes", [
    (16, (32, 32, 3), 10), (19, (64, 32, 1), 3),
    pytest.param(16, (224, 224, 3), 1000, marks=pytest.mark.slow),
])
def test_matches_keras_applications(depth, shape, classes):
    import keras

    keras.backend.clear_session()
    model = getattr(keras.applications, f"VGG{depth}")(weights=None, input_shape=shape,
                                                       classes=classes)
    spec = archscale.preset(f"vgg{depth}", input_shape=shape, classes=classes)
    assert_same_as_keras(spec, model)
    if shape == (32, 32, 3):
        assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs
