"""Users' own Keras models: Keras operations on tensors, frozen/LoRA/int8 weights, the common
layers (params against ``count_params``, 2 x MACs against TensorFlow's profiler) and ``.keras``
files read without TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import archscale
from archscale import InputFileError

pytestmark = pytest.mark.tf

_MAC_TYPES = ("Conv2D", "Conv3D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2",
              "Conv2DBackpropInput", "Conv3DBackpropInputV2")


def _profiler_mac_flops(model) -> int:
    from archscale.measure.tf_profiler import profiler_flops_by_op_type

    return sum(v for k, v in profiler_flops_by_op_type(model).items() if k in _MAC_TYPES)


def _exact(model, unsupported=()):
    prof = archscale.profile(model)
    trainable = sum(int(__import__("math").prod(w.shape)) for w in model.trainable_weights)
    assert prof.params == model.count_params()
    assert prof.trainable_params == trainable
    assert prof.unsupported == unsupported
    return prof


def test_keras_operations_on_tensors_are_translated():
    import keras
    from keras import layers, ops

    x = keras.Input((6, 4))
    h = layers.Dense(8)(x)
    h = layers.ReLU(6.0)(h + 3.0) * (1.0 / 6.0)
    h = ops.concatenate([ops.transpose(h, (0, 2, 1)), ops.reshape(h, (-1, 8, 6))], axis=-1)
    y = layers.Dense(2)(h[:, 0])
    prof = _exact(keras.Model(x, y))
    assert {r.op for r in prof.layers} >= {"elementwise", "transpose", "reshape", "slice"}
    assert prof.macs == 6 * 4 * 8 + 12 * 2
    # Keras numbers its operations per session ("add", "add_1", ...): find the + 3.0 by op
    adds = [n for n in prof.graph.nodes if n.op == "elementwise" and n.name.startswith("add")]
    assert [n.attrs["constants"] for n in adds] == [1]


def test_masked_text_model_and_mobilenet_v3_profile():
    import keras
    from keras import layers

    x = keras.Input((12,), dtype="int32")
    h = layers.Embedding(50, 8, mask_zero=True)(x)
    h = layers.Masking()(layers.LSTM(4, return_sequences=True)(h))
    model = keras.Model(x, layers.GRU(3)(h))
    prof = _exact(model)
    assert prof.macs == 12 * (4 * 4 * (8 + 4) + 3 * 3 * (4 + 3))
    net = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None)
    prof = _exact(net)
    assert 2 * prof.macs == _profiler_mac_flops(net)


def test_frozen_base_lora_and_int8_use_the_weights_the_model_holds():
    import keras
    from keras import layers

    base = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.35)
    base.trainable = False
    x = keras.Input((32, 32, 3))                     # the nested base has no input shape
    y = layers.Dense(5)(layers.GlobalAveragePooling2D()(base(x, training=False)))
    frozen = _exact(keras.Model(x, y))
    assert frozen.trainable_params == 5 * base.output.shape[-1] + 5
    assert any("frozen" in n for n in frozen.notes)
    base.trainable = True
    thawed = archscale.profile(keras.Model(x, y))
    slots = 2 * 4 * (thawed.trainable_params - frozen.trainable_params)  # adam, float32
    assert thawed.training_peak_bytes(8) - frozen.training_peak_bytes(8) >= slots

    mlp = keras.Sequential([keras.Input((16,)), layers.Dense(32), layers.Dense(4)])
    mlp.layers[0].enable_lora(4)
    lora = _exact(mlp)
    assert lora.trainable_params == 4 * (16 + 32) + 32 + 32 * 4 + 4
    assert any("LoRA rank 4" in n for n in lora.notes)
    assert 2 * lora.macs == _profiler_mac_flops(mlp)

    q = keras.Sequential([keras.Input((16,)), layers.Dense(32), layers.Dense(4)])
    q.quantize("int8")
    quantized = _exact(q)
    assert quantized.int8_params == 16 * 32 + 32 * 4
    expected = sum(int(__import__("math").prod(w.shape)) * (1 if w.dtype == "int8" else 4)
                   for w in q.weights)
    assert quantized.weight_bytes("float32") == expected


def test_common_layers_are_exact_against_the_profiler():
    import keras
    from keras import layers

    x = keras.Input((16, 16, 3))
    h = layers.SeparableConv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    h = layers.PReLU(shared_axes=[1, 2])(layers.GroupNormalization(4)(h))
    h = layers.Conv2DTranspose(6, 3, strides=2, padding="same")(h)
    h = layers.Cropping2D(((1, 2), (0, 1)))(layers.UpSampling2D()(h))
    h = layers.LeakyReLU()(layers.ELU()(h))
    h = layers.Conv2D(4, 3, activation="mish")(layers.Activation("softplus")(h))
    img = layers.Dense(4)(layers.GlobalAveragePooling2D()(layers.UnitNormalization()(h)))
    s = keras.Input((20, 5))
    t = layers.Conv1D(6, 3, padding="causal", dilation_rate=2)(s)
    t = layers.SeparableConv1D(6, 3, depth_multiplier=2)(t)
    t = layers.Conv1DTranspose(4, 3, strides=2, padding="same")(t)  # valid: see README
    t = layers.Subtract()([t, layers.Permute((1, 2))(t)])
    t = layers.Maximum()([layers.Average()([t, t]), layers.Minimum()([t, t])])
    seq = layers.Dense(4)(layers.Flatten()(layers.Attention(use_scale=True)([t, t])))
    v_in = keras.Input((4, 6, 6, 2))
    vol = layers.GlobalAveragePooling3D()(layers.AveragePooling3D((2, 1, 1))(
        layers.MaxPooling3D((1, 2, 2))(layers.Conv3D(3, 3, padding="same")(v_in))))
    model = keras.Model([x, s, v_in], layers.Concatenate()([img, seq, layers.Dense(4)(vol)]))
    prof = _exact(model)
    assert 2 * prof.macs == _profiler_mac_flops(model)


def test_an_unknown_activation_keeps_its_conv():
    import keras
    from keras import layers

    x = keras.Input((8, 8, 3))
    model = keras.Model(x, layers.Conv2D(4, 3, activation=lambda t: t * 2)(x))
    prof = archscale.profile(model)
    assert prof.macs == 6 * 6 * 4 * 27 and len(prof.unsupported) == 1
    assert "activation" in prof.unsupported[0]


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "SimpleRNN"])
def test_recurrent_layers_count_every_step(cell):
    import keras
    from keras import layers

    def build(unroll):
        x = keras.Input((10, 6))
        rnn = getattr(layers, cell)
        h = layers.Bidirectional(rnn(5, return_sequences=True, unroll=unroll))(x)
        return keras.Model(x, layers.TimeDistributed(layers.Dense(2))(rnn(4, unroll=unroll)(
            h)[:, None, :]))

    prof = _exact(build(False))
    # the profiler sees a while loop's body once; unrolled, every step is its own MatMul
    assert 2 * prof.macs == _profiler_mac_flops(build(True))


def test_attention_counts_the_quadratic_term():
    import keras
    from keras import layers

    def macs(length):
        x = keras.Input((length, 16))
        return _exact(keras.Model(x, layers.MultiHeadAttention(4, 8)(x, x))).macs

    # projections: 4 x L x 16 x 32; scores and values: 4 heads x L x L x (8 + 8)
    assert macs(16) == 4 * 16 * 16 * 32 + 4 * 16 * 16 * 16
    assert macs(64) - 4 * 4 * 16 * 16 * 32 == 16 * (4 * 16 * 16 * 16)


def _save(model, path):
    model.save(path)
    return str(path)


def test_keras_file_is_read_without_tensorflow(tmp_path):
    import keras
    from keras import layers

    x = keras.Input((12,), dtype="int32")
    h = layers.Embedding(30, 8, mask_zero=True)(x)
    model = keras.Model(x, layers.Dense(2)(layers.LSTM(4)(h) + 1.0))
    model.layers[1].trainable = False
    path = _save(model, tmp_path / "m.keras")
    code = ("import sys, json, archscale; p = archscale.profile(sys.argv[1]); "
            "print(json.dumps([p.params, p.trainable_params, p.macs, "
            "[m for m in ('tensorflow', 'keras') if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                         check=True).stdout
    live = archscale.profile(model)
    assert out.strip() == f"[{live.params}, {live.trainable_params}, {live.macs}, []]"
    assert archscale.profile(path).to_dict(4) == live.to_dict(4)


def test_bad_keras_files_and_lambda_layers(tmp_path):
    import keras
    from keras import layers

    for name, data in (("empty", b""), ("random", os.urandom(256)), ("text", b"not a zip")):
        bad = tmp_path / f"{name}.keras"
        bad.write_bytes(data)
        with pytest.raises(InputFileError, match="not a valid .keras archive"):
            archscale.profile(str(bad))
    x = keras.Input((4,))
    good = _save(keras.Model(x, layers.Dense(2)(x)), tmp_path / "good.keras")
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(open(good, "rb").read()[:200])
    with pytest.raises(InputFileError, match="not a valid .keras archive"):
        archscale.profile(str(truncated))
    lam = _save(keras.Model(x, layers.Lambda(lambda t: t * 2)(x)), tmp_path / "lambda.keras")
    with pytest.raises(InputFileError, match="does not execute code from model files"):
        archscale.profile(lam)
    a, b = layers.Lambda(lambda t: [t, t * 2], name="split")(x)
    prof = archscale.profile(keras.Model(x, layers.Add()([a, b])))
    assert prof.unsupported == ("split (Lambda)",)
