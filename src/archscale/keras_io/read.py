"""``from_keras``: any Keras 3 model (functional, Sequential, nested) to a ``Graph``.

Each supported layer class has a reader in ``archscale.keras_io.readers.READERS``; a layer
without one, or with settings a reader cannot express (channels-first, causal padding, ...),
becomes an ``unsupported`` node carrying the parameter counts Keras reports. A translation
whose shape disagrees with Keras' output shape is discarded the same way: archscale never
guesses.
"""

from __future__ import annotations

import math
import os
from typing import Any

import keras
from keras import layers

from archscale.errors import InputFileError, ShapeError, UnsupportedModelError
from archscale.graph import Graph, GraphBuilder
from archscale.keras_io.layers import ChannelPad  # noqa: F401 - registers it for load_model
from archscale.keras_io.readers import READERS, Untranslatable

__all__ = ["READERS", "from_keras", "load_model"]


def _static_shape(tensor: Any, what: str) -> tuple[int, ...]:
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape):
        raise UnsupportedModelError(
            f"{what} has unknown dimensions; archscale profiles static shapes only. "
            f"Received: shape={(None,) + shape}"
        )
    return tuple(int(d) for d in shape)


class _Reader:
    """Walks a (possibly nested) Keras model into one GraphBuilder."""

    def __init__(self, name: str) -> None:
        self.g = GraphBuilder(name)
        self.calls: dict[int, str] = {}  # id(layer) -> first node name (weight sharing)

    def unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.g._nodes:  # noqa: SLF001 - same package, builder internals
            candidate = f"{name}_{n}"
            n += 1
        return candidate

    def layer(self, layer: layers.Layer, ins: list[str], outputs: list[Any], prefix: str
              ) -> list[str]:
        if isinstance(layer, keras.Model):
            return self.model(layer, ins, prefix=f"{prefix}{layer.name}.")
        name = self.unique(prefix + layer.name)
        rank = len(self.g.shape(ins[0])) + 1 if ins else 0
        reader = READERS.get(type(layer).__name__)
        ref = None
        if reader is not None and len(outputs) == 1:
            try:
                ref = reader.read(self.g, layer, ins, name, rank)
            except (Untranslatable, ShapeError, KeyError):
                ref = None
            if ref is not None and self.g.shape(ref) != _static_shape(outputs[0], name):
                self.g._nodes.pop(ref)  # noqa: SLF001 - disagreeing translation: do not guess
                ref = None
        if ref is not None:
            first = self.calls.setdefault(id(layer), ref)
            if first != ref:
                self.g._nodes[ref].attrs["shared_with"] = first  # noqa: SLF001
            return [ref]
        return self.unsupported(layer, ins, outputs, name)

    def unsupported(self, layer, ins, outputs, name) -> list[str]:
        first_call = id(layer) not in self.calls
        params = sum(math.prod(w.shape) for w in layer.weights) if first_call else 0
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights) if first_call else 0
        refs = []
        for i, out in enumerate(outputs):
            ref = self.g.unsupported(ins, _static_shape(out, name),
                                     name=name if i == 0 else self.unique(f"{name}:{i}"),
                                     class_name=type(layer).__name__,
                                     params=int(params) if i == 0 else 0,
                                     trainable_params=int(trainable) if i == 0 else 0)
            refs.append(ref)
        self.calls.setdefault(id(layer), refs[0])
        return refs

    def model(self, model: keras.Model, ins: list[str] | None, prefix: str = "") -> list[str]:
        functional = getattr(model, "_functional", None) or model
        if not hasattr(functional, "_nodes_by_depth") or not getattr(functional, "inputs", None):
            if ins is None:
                raise UnsupportedModelError(
                    f"model {model.name!r} is not a functional or built Sequential model; "
                    "subclassed models cannot be read layer by layer. Received: "
                    f"{type(model).__name__}")
            outputs = [model.output] if hasattr(model, "output") else []
            return self.unsupported(model, ins, outputs, self.unique(prefix.rstrip(".")))
        refs: dict[int, str] = {}
        for i, tensor in enumerate(functional.inputs):
            if ins is None:
                shape = _static_shape(tensor, f"input {tensor.name!r}")
                history = getattr(tensor, "_keras_history", None)
                name = history.operation.name if history else f"input_{i}"
                refs[id(tensor)] = self.g.input(shape, name=self.unique(name))
            else:
                refs[id(tensor)] = ins[i]
        for depth in sorted(functional._nodes_by_depth, reverse=True):  # noqa: SLF001
            for node in functional._nodes_by_depth[depth]:  # noqa: SLF001
                if node.is_input or node.operation is None:
                    continue
                if any(id(t) not in refs for t in node.input_tensors):
                    continue
                node_ins = [refs[id(t)] for t in node.input_tensors]
                out_refs = self.layer(node.operation, node_ins, list(node.outputs), prefix)
                for tensor, ref in zip(node.outputs, out_refs):
                    refs[id(tensor)] = ref
        return [refs[id(t)] for t in functional.outputs]


def from_keras(model: keras.Model) -> Graph:
    """Translate a Keras 3 model (functional, Sequential, nested) into a ``Graph``.

    Layers archscale cannot translate become ``unsupported`` nodes carrying the parameter
    counts Keras reports for them; their MACs and FLOPs are not guessed.

    Args:
        model: A built Keras model with static input shapes.

    Returns:
        The graph, named after the model.

    Raises:
        UnsupportedModelError: not a Keras model, not built, subclassed, or dynamic shapes.
    """
    if not isinstance(model, keras.Model):
        raise UnsupportedModelError(f"from_keras expects a keras.Model. Received: "
                                    f"{type(model).__name__}")
    if not model.built:
        raise UnsupportedModelError(f"model {model.name!r} is not built; call it on data or "
                                    "give it an Input first")
    reader = _Reader(model.name)
    outputs = reader.model(model, None)
    return reader.g.build(outputs)


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` (or legacy ``.h5``) model without compiling it.

    Raises:
        InputFileError: missing, unreadable or invalid model file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputFileError(f"model file not found or not a file. Received: {path!r}")
    if not path.endswith((".keras", ".h5", ".hdf5")):
        raise InputFileError(f"model files must end in .keras, .h5 or .hdf5. Received: {path!r}")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a corrupt file
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"cannot load model file {path!r}: {message}") from None
