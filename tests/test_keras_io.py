"""from_keras on users' own models: Sequential, nested, shared layers, unsupported layers,
saved files; to_keras of the custom ChannelPad layer survives saving."""

from __future__ import annotations

import pytest

import archscale
from archscale import InputFileError, UnsupportedModelError

pytestmark = pytest.mark.tf


def test_sequential_model():
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    prof = archscale.profile(model)
    assert prof.params == model.count_params() == (9 * 8 + 8) + 13 * 13 * 8 * 10 + 10
    assert prof.macs == 26 * 26 * 8 * 9 + 13 * 13 * 8 * 10
    assert prof.unsupported == ()


def test_nested_models_shared_layers_and_unsupported_layers():
    import keras

    inner = keras.Sequential([keras.Input((8,)),
                              keras.layers.Dense(4, activation="relu", name="proj")],
                             name="inner")
    x = keras.Input((8,), name="x")
    shared = keras.layers.Dense(8, name="shared")
    y = shared(shared(x))            # called twice: weights counted once, MACs twice
    y = inner(y)
    y = keras.layers.Lambda(lambda t: t * 2, name="double")(y)
    model = keras.Model(x, y)
    prof = archscale.profile(model)
    assert prof.params == model.count_params() == 2 * (8 * 8 + 8) // 2 + (8 * 4 + 4)
    assert prof.macs == 2 * 64 + 32
    assert prof.unsupported == ("double (Lambda)",)
    # the second call of the shared layer is its own row without weights; the nested model's
    # layer is named by its path
    assert [(r.name, r.op, r.params, r.macs) for r in prof.layers] == [
        ("x", "input", 0, 0), ("shared", "dense", 72, 64), ("shared_1", "dense", 0, 64),
        ("inner.proj", "dense", 36, 32), ("double", "unsupported", 0, 0)]


def test_unsupported_layer_keeps_keras_params_but_no_macs():
    import keras

    x = keras.Input((20, 6, 3))
    y = keras.layers.ConvLSTM1D(5, 3)(x)
    y = keras.layers.Flatten()(y)
    y = keras.layers.Dense(2)(y)
    model = keras.Model(x, y)
    prof = archscale.profile(model)
    assert prof.params == model.count_params()
    assert prof.macs == 4 * 5 * 2
    assert len(prof.unsupported) == 1 and "ConvLSTM1D" in prof.unsupported[0]


def test_channels_first_conv_is_unsupported_not_miscounted():
    import keras

    x = keras.Input((3, 16, 16))
    y = keras.layers.Conv2D(4, 3, data_format="channels_first")(x)
    prof = archscale.profile(keras.Model(x, y))
    assert prof.unsupported and prof.params == 3 * 9 * 4 + 4


def test_dynamic_shapes_are_refused():
    import keras

    x = keras.Input((None, 3))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    with pytest.raises(UnsupportedModelError, match="unknown dimensions"):
        archscale.profile(model)


def test_subclassed_model_is_refused():
    import keras

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(3)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(keras.ops.zeros((1, 4)))
    with pytest.raises(UnsupportedModelError, match="subclassed"):
        archscale.profile(net)


def test_saved_model_with_channel_pad_round_trips(tmp_path):
    spec = archscale.preset("resnet20")
    path = tmp_path / "resnet20.keras"
    archscale.build(spec).save(path)
    assert archscale.profile(str(path)).params == archscale.profile(spec).params
    assert archscale.profile(path).macs == archscale.profile(spec).macs


def test_load_model_errors(tmp_path):
    from archscale.keras_io import load_model

    with pytest.raises(InputFileError, match="not found"):
        load_model(tmp_path / "missing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="not a valid .keras archive"):
        load_model(bad)
    other = tmp_path / "model.txt"
    other.write_text("x")
    with pytest.raises(InputFileError, match=r"\.keras"):
        load_model(other)
