"""Keras emitter and reader: ``to_keras(graph)`` and ``from_keras(model)``.

The only core package that imports TensorFlow/Keras; ``archscale`` imports it lazily.
One graph node is one Keras layer, in both directions, so a catalogue model read back with
``from_keras`` profiles exactly like the spec it was built from.
"""

from archscale.keras_io.emit import to_keras
from archscale.keras_io.layers import ChannelPad
from archscale.keras_io.read import from_keras, load_model

__all__ = ["ChannelPad", "from_keras", "load_model", "to_keras"]
