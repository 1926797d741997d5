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
