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
