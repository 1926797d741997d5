"""Keras layers archscale emits that Keras itself lacks (registered for saving and loading)."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="archscale")
class ChannelPad(layers.Layer):
    """Pads the channel (last) axis with ``before`` and ``after`` zeros. No weights."""

    def __init__(self, before: int, after: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.before = int(before)
        self.after = int(after)

    def call(self, inputs):  # noqa: D102 - Keras API
        rank = len(inputs.shape)
        pads = [[0, 0]] * (rank - 1) + [[self.before, self.after]]
        return keras.ops.pad(inputs, pads)

    def compute_output_shape(self, input_shape):  # noqa: D102 - Keras API
        return tuple(input_shape[:-1]) + (input_shape[-1] + self.before + self.after,)

    def get_config(self) -> dict[str, Any]:  # noqa: D102 - Keras API
        return {**super().get_config(), "before": self.before, "after": self.after}


# -- transformer front ends (issue 17, fam17b) ------------------------------------------------


@keras.saving.register_keras_serializable(package="archscale")
class ClassToken(layers.Layer):
    """Prepends one learned vector (ViT's [class] token) to a ``(batch, length, dim)`` input."""

    def build(self, input_shape) -> None:  # noqa: D102 - Keras API
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer="zeros",
                                     name="token")

    def call(self, inputs):  # noqa: D102 - Keras API
        batch = keras.ops.shape(inputs)[0]
        token = keras.ops.broadcast_to(keras.ops.cast(self.token, inputs.dtype),
                                       (batch, 1, inputs.shape[-1]))
        return keras.ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape):  # noqa: D102 - Keras API
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[-1])


@keras.saving.register_keras_serializable(package="archscale")
class PositionEmbedding(layers.Layer):
    """Adds a learned ``(length, dim)`` tensor to a ``(batch, length, dim)`` input."""

    def build(self, input_shape) -> None:  # noqa: D102 - Keras API
        self.embeddings = self.add_weight(
            shape=tuple(input_shape[1:]), name="embeddings",
            initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, inputs):  # noqa: D102 - Keras API
        return inputs + keras.ops.cast(self.embeddings, inputs.dtype)


@keras.saving.register_keras_serializable(package="archscale")
class LayerScale(layers.Layer):
    """ConvNeXt's LayerScale (Touvron et al. 2021): one trainable weight per channel that
    multiplies the last axis (the layer ``keras.applications.ConvNeXt*`` define; the same
    class name, so ``from_keras`` reads either as the ``scale`` op)."""

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values = float(init_values)
        self.projection_dim = int(projection_dim)

    def build(self, _):  # noqa: D102 - Keras API
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=keras.initializers.Constant(self.init_values),
                                     trainable=True)

    def call(self, x):  # noqa: D102 - Keras API
        return x * self.gamma

    def get_config(self) -> dict[str, Any]:  # noqa: D102 - Keras API
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}
