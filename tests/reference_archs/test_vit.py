"""Vision Transformer: ViT-Ti/S at the published sizes, usable on small images, exact against
the emitted Keras model and TensorFlow's profiler (with the attention's Einsum contractions)."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import SpecError
from archscale.reference_archs.vit import patch_size_for
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops


def _params_by_formula(width, depth, patch, tokens, classes, channels=3, cls=True) -> int:
    block = 4 * (width * width + width) + 2 * 4 * width * width + 4 * width + width \
        + 2 * 2 * width
    embed = patch * patch * channels * width + width
    return embed + (width if cls else 0) + (tokens + cls) * width + depth * block \
        + 2 * width + width * classes + classes


@pytest.mark.parametrize("name, published, exact", [("vit_tiny", 5.7e6, 5_717_416),
                                                    ("vit_small", 22e6, 22_050_664)])
def test_published_sizes(name, published, exact):
    spec = archscale.preset(name)
    prof = archscale.profile(spec)
    assert prof.params == exact == _params_by_formula(spec.width, 12, 16, 196, 1000)
    assert abs(prof.params - published) / published < 0.01
    assert prof.graph.node("position_embedding").shape == (197, spec.width)


@pytest.mark.parametrize("shape, patch, pooling", [((32, 32, 3), 4, "cls"),
                                                   ((28, 28, 1), 7, "mean"),
                                                   ((30, 30, 3), 4, "cls")])
def test_small_images(shape, patch, pooling):
    spec = archscale.preset("vit_tiny", input_shape=shape, patch_size=patch, classes=10,
                            pooling=pooling)
    prof = archscale.profile(spec)
    tokens = (shape[0] // patch) * (shape[1] // patch)
    assert prof.params == _params_by_formula(192, 12, patch, tokens, 10, shape[2],
                                             pooling == "cls")


@pytest.mark.parametrize("side, patch", [(224, 16), (384, 16), (32, 4), (64, 8), (16, 2),
                                         (8, 2)])
def test_plan_patch_size(side, patch):
    assert patch_size_for(side) == patch


@pytest.mark.parametrize("field, value", [
    ("patch_size", 0), ("patch_size", 300), ("width", 100), ("heads", 0), ("depth", 0),
    ("pooling", "max"), ("dropout", -0.1), ("input_shape", (224, 3)),
])
def test_invalid_fields_name_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset("vit_tiny", **{field: value})


@pytest.mark.tf
@pytest.mark.parametrize("overrides", [
    {"input_shape": (32, 32, 3), "patch_size": 4, "depth": 2, "classes": 10},
    {"input_shape": (48, 40, 1), "patch_size": 8, "depth": 1, "pooling": "mean",
     "dropout": 0.1, "width": 384, "heads": 6},
])
def test_matches_emitted_keras_model_and_profiler(overrides):
    spec = archscale.preset("vit_tiny", **overrides)
    model = archscale.build(spec)
    assert_same_as_keras(spec, model)
    assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs
