"""Extraction from Sequential, functional and nested models, by name, index and path."""

import numpy as np
import pytest

from archscale.errors import SpecError
from archscale.inspection.stats import stats_of_array

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def keras():
    import keras

    keras.utils.set_random_seed(0)
    return keras


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(300, 12)).astype("float32")


def _reference(keras, model, layer_output, x):
    return np.asarray(keras.Model(model.inputs[0], layer_output).predict(x, verbose=0))


def test_sequential_by_name_and_index(keras, x):
    from archscale.inspection.extract import extract

    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu",
                                                                     name="a"),
                              keras.layers.Dense(6, name="b"), keras.layers.Dense(3, name="c")])
    by_name, by_index, last = extract(model, x, ["a", 1, -1], batch_size=64, keep=10)
    want = _reference(keras, model, model.get_layer("a").output, x)
    assert by_name.name == "a" and by_index.name == "b" and last.name == "c"
    assert by_name.kept.shape == (10, 16)
    expected = stats_of_array(want)
    assert by_name.stats.dims == expected.dims
    assert by_name.stats.dead_units == expected.dead_units
    assert np.allclose(by_name.stats.eigenvalues, expected.eigenvalues, rtol=1e-4, atol=1e-6)


def test_functional_conv_block_defaults_to_the_activation_after_bn(keras):
    from archscale.inspection.extract import default_layers, extract, kernel_and_reader

    inp = keras.Input((20, 2))
    h = keras.layers.Conv1D(8, 3, padding="same", name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU(name="relu")(h)
    h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Dense(10, activation="relu", name="fc")(h)
    model = keras.Model(inp, keras.layers.Dense(4, name="out")(h))
    assert default_layers(model) == ("relu", "fc")
    assert kernel_and_reader(model, "relu") == ("conv", "fc")
    data = np.random.default_rng(1).normal(size=(40, 20, 2)).astype("float32")
    (conv,) = extract(model, data, ["relu"], batch_size=16)
    assert conv.output_shape == (20, 8) and conv.stats.positions == 20
    assert conv.stats.spatial_concentration is not None


def test_nested_model_layers_by_path(keras, x):
    from archscale.inspection.extract import extract

    inner = keras.Sequential([keras.Input((12,)), keras.layers.Dense(9, activation="relu",
                                                                     name="d1"),
                              keras.layers.Dense(5, name="d2")], name="encoder")
    inp = keras.Input((12,))
    model = keras.Model(inp, keras.layers.Dense(2, name="head")(inner(inp)))
    nested, whole, by_index = extract(model, x, ["encoder/d1", "encoder", "encoder/1"])
    assert nested.name == "encoder/d1" and nested.output_shape == (9,)
    assert whole.output_shape == (5,) and by_index.name == "encoder/d2"
    want = np.asarray(keras.Model(inner.inputs[0], inner.get_layer("d1").output)(x))
    assert np.allclose(nested.stats.eigenvalues, stats_of_array(want).eigenvalues, rtol=1e-4,
                       atol=1e-6)


def test_bad_addresses_and_inputs_are_one_line_errors(keras, x):
    from archscale.inspection.extract import extract

    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(4, name="a"),
                              keras.layers.Dense(2, name="b")])
    with pytest.raises(SpecError, match="no layer named 'zz'.*Received: layers='zz'"):
        extract(model, x, ["zz"])
    with pytest.raises(SpecError, match="index out of range.*Received: layers=7"):
        extract(model, x, [7])
    with pytest.raises(SpecError, match="not a nested model"):
        extract(model, x, ["a/b"])
    with pytest.raises(SpecError, match="dataset input_shape=\\(5,\\)"):
        extract(model, x[:, :5], ["a"])
