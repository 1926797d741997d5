"""The Keras boundary: ``to_keras(graph)``, ``from_keras(model)`` and ``.keras`` files.

The emitter and the live-model reader import Keras; they load on first use (PEP 562), so
the config translation (``config_graph``, ``readers``) and the archive reader (``archive``)
stay importable without TensorFlow or Keras: a ``.keras`` file is profiled from its config.
One graph node is one Keras layer, in both directions, so a catalogue model read back with
``from_keras`` profiles exactly like the spec it was built from.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ChannelPad", "from_keras", "load_model", "read_keras", "to_keras"]

_LAZY = {"to_keras": "emit", "ChannelPad": "layers", "from_keras": "read",
         "load_model": "read", "read_keras": "read"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'archscale.keras_io' has no attribute {name!r}")
    return getattr(importlib.import_module(f"archscale.keras_io.{_LAZY[name]}"), name)
