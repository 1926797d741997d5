"""DenseNet-121/169/201: exact against keras.applications.DenseNet121/169/201."""

from __future__ import annotations

import pytest

import archscale
from archscale.errors import ShapeError, SpecError
from archscale.reference_archs.densenet import DENSENET_BLOCKS, DenseNetSpec
from tests.reference_archs.keras_parity import assert_same_as_keras, profiler_mac_flops

# Huang et al. 2017, Table 1 (copied independently of the module's table).
PAPER_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}


@pytest.mark.parametrize("depth", sorted(PAPER_BLOCKS))
def test_presets_are_table_1(depth):
    spec = archscale.preset(f"densenet{depth}")
    assert isinstance(spec, DenseNetSpec) and spec.block_sizes == PAPER_BLOCKS[depth]
    assert DENSENET_BLOCKS[f"DenseNet-{depth}"] == PAPER_BLOCKS[depth]
    # the depth in the name: 2 convs per unit + stem + 3 transitions + classifier
    assert archscale.profile(spec).depth == 2 * sum(PAPER_BLOCKS[depth]) + 5 == depth


def _params_by_formula(blocks, k=32, classes=1000, stem=64, channels=3) -> int:
    """Closed form: convs (no bias), BN (4 per channel), classifier."""
    total, c = 49 * channels * stem + 4 * stem, stem
    for b, n in enumerate(blocks):
        for _ in range(n):
            total += 4 * c + c * 4 * k + 4 * 4 * k + 9 * 4 * k * k
            c += k
        if b < len(blocks) - 1:
            total += 4 * c + c * (c // 2)
            c //= 2
    return total + 4 * c + c * classes + classes


@pytest.mark.parametrize("depth", sorted(PAPER_BLOCKS))
@pytest.mark.parametrize("classes, growth", [(1000, 32), (10, 12), (3, 48)])
def test_params_closed_form(depth, classes, growth):
    spec = archscale.preset(f"densenet{depth}", classes=classes, growth_rate=growth,
                            stem_width=2 * growth)
    assert archscale.profile(spec).params == _params_by_formula(PAPER_BLOCKS[depth], growth,
                                                                classes, 2 * growth)


def test_keras_published_counts_and_macs():
    got = {d: archscale.profile(archscale.preset(f"densenet{d}")).params for d in PAPER_BLOCKS}
    assert got == {121: 8_062_504, 169: 14_307_880, 201: 20_242_984}
    assert archscale.profile(archscale.preset("densenet121")).macs == 2_834_161_664


@pytest.mark.parametrize("field, value", [
    ("growth_rate", 0), ("block_sizes", ()), ("block_sizes", (6, 0)), ("stem_width", -1),
    ("compression", 0), ("compression", 1.5), ("bottleneck", 0), ("input_shape", (224, 3)),
    ("output_activation", "nope"),
])
def test_invalid_fields_name_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        archscale.preset("densenet121", **{field: value})


def test_too_small_input_names_the_layer():
    with pytest.raises(ShapeError, match="pool4_pool"):
        archscale.profile(archscale.preset("densenet121", input_shape=(16, 16, 3)))


@pytest.mark.tf
@pytest.mark.parametrize("depth, shape, classes", [
    (121, (32, 32, 3), 10), (201, (40, 32, 1), 2),
    pytest.param(121, (224, 224, 3), 1000, marks=pytest.mark.slow),
    pytest.param(169, (64, 48, 3), 7, marks=pytest.mark.slow),
])
def test_matches_keras_applications(depth, shape, classes):
    import keras

    keras.backend.clear_session()
    model = getattr(keras.applications, f"DenseNet{depth}")(weights=None, input_shape=shape,
                                                            classes=classes)
    assert_same_as_keras(archscale.preset(f"densenet{depth}", input_shape=shape,
                                          classes=classes), model)


@pytest.mark.tf
@pytest.mark.slow  # 20-50 s on 2 cores; the default suite covers it in two halves:
# test_matches_keras_applications (this spec is Keras' DenseNet layer for layer) and
# test_catalogue_exactness::test_macs_equal_tensorflow_profiler[densenet121] (its MACs equal
# the profiler's on archscale's own build)
def test_macs_equal_profiler_on_keras_applications_model():
    import keras

    keras.backend.clear_session()
    model = keras.applications.DenseNet121(weights=None, input_shape=(32, 32, 3), classes=10)
    spec = archscale.preset("densenet121", input_shape=(32, 32, 3), classes=10)
    assert profiler_mac_flops(model) == 2 * archscale.profile(spec).macs
