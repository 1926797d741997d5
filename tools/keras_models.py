"""The hand-built Keras models of the coverage table (``tools/keras_coverage.py``): what users
build around ``keras.applications`` and on their own. Each builder returns a built model."""

from __future__ import annotations


def transformer_encoder():
    import keras
    from keras import layers

    x = keras.Input((64,), dtype="int32")
    h = layers.Embedding(5000, 128)(x)
    for _ in range(2):
        a = layers.MultiHeadAttention(4, 32)(h, h)
        h = layers.LayerNormalization()(h + a)
        f = layers.Dense(256, activation="gelu")(h)
        h = layers.LayerNormalization()(h + layers.Dense(128)(f))
    y = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(h))
    return keras.Model(x, y, name="transformer_encoder")


def _masked(cell):
    import keras
    from keras import layers

    x = keras.Input((50,), dtype="int32")
    h = layers.Embedding(2000, 64, mask_zero=True)(x)
    h = layers.Bidirectional(cell(32, return_sequences=True))(h)
    h = cell(32)(h)
    return keras.Model(x, layers.Dense(1, activation="sigmoid")(h),
                       name=f"masked_{cell.__name__.lower()}_classifier")


def masked_lstm_classifier():
    from keras import layers

    return _masked(layers.LSTM)


def masked_gru_classifier():
    from keras import layers

    return _masked(layers.GRU)


def unet():
    import keras
    from keras import layers

    x = keras.Input((64, 64, 3))
    skips, h = [], x
    for f in (16, 32, 64):
        h = layers.Conv2D(f, 3, padding="same", activation="relu")(h)
        skips.append(h)
        h = layers.MaxPooling2D()(h)
    h = layers.Conv2D(128, 3, padding="same", activation="relu")(h)
    for f, s in zip((64, 32, 16), reversed(skips)):
        h = layers.Conv2DTranspose(f, 2, strides=2, padding="same")(h)
        h = layers.Concatenate()([h, s])
        h = layers.Conv2D(f, 3, padding="same", activation="relu")(h)
    h = layers.UpSampling2D()(layers.Cropping2D(1)(layers.ZeroPadding2D(1)(h)))
    return keras.Model(x, layers.Conv2D(2, 1, activation="softmax")(h), name="unet")


def tcn():
    import keras
    from keras import layers

    x = keras.Input((128, 4))
    h = x
    for d in (1, 2, 4, 8):
        y = layers.Conv1D(32, 3, padding="causal", dilation_rate=d, activation="relu")(h)
        y = layers.Conv1D(32, 3, padding="causal", dilation_rate=d)(y)
        h = layers.Activation("relu")(y + (layers.Conv1D(32, 1)(h) if h.shape[-1] != 32 else h))
    return keras.Model(x, layers.Dense(5)(layers.GlobalAveragePooling1D()(h)), name="tcn")


def xception_style():
    import keras
    from keras import layers

    x = keras.Input((96, 96, 3))
    h = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(x)
    for f in (64, 128, 256):
        r = layers.Conv2D(f, 1, strides=2, padding="same", use_bias=False)(h)
        h = layers.SeparableConv2D(f, 3, padding="same", use_bias=False)(layers.ReLU()(h))
        h = layers.BatchNormalization()(h)
        h = layers.SeparableConv2D(f, 3, padding="same", use_bias=False)(layers.ReLU()(h))
        h = layers.MaxPooling2D(3, strides=2, padding="same")(h)
        h = layers.Add()([h, r])
    y = layers.Dense(10)(layers.GlobalAveragePooling2D()(h))
    return keras.Model(x, y, name="xception_style")


def frozen_transfer():
    import keras
    from keras import layers

    base = keras.applications.MobileNetV2(include_top=False, weights=None)
    base.trainable = False
    x = keras.Input((96, 96, 3))
    h = layers.GlobalAveragePooling2D()(base(x, training=False))
    return keras.Model(x, layers.Dense(5)(layers.Dropout(0.2)(h)), name="frozen_transfer")


def _mlp(name):
    import keras
    from keras import layers

    return keras.Sequential([keras.Input((32,)), layers.Dense(64, activation="relu"),
                             layers.Dense(64, activation="relu"), layers.Dense(4)], name=name)


def lora_mlp():
    model = _mlp("lora_mlp")
    for layer in model.layers:
        layer.enable_lora(4)
    return model


def int8_mlp():
    model = _mlp("int8_mlp")
    model.quantize("int8")
    return model


HAND_BUILT = {f.__name__: f for f in (
    transformer_encoder, masked_lstm_classifier, masked_gru_classifier, unet, tcn,
    xception_style, frozen_transfer, lora_mlp, int8_mlp)}
