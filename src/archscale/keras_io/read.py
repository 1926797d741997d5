"""``from_keras``: a live Keras 3 model (functional, Sequential, nested) to a ``Graph``.

The model is serialised into the schema of a ``.keras`` file's ``config.json`` (each layer's
``get_config()``, the functional graph of its calls) and translated by the one config
translation, ``archscale.keras_io.config_graph``; the live objects add the weights each layer
actually holds (trainable or not, int8 or not) and Keras' output shapes. A layer without a
reader, or whose translation disagrees with Keras' output shape, becomes an ``unsupported``
node carrying the weights it holds: archscale never guesses.
"""

from __future__ import annotations

import math
import os
from typing import Any

import keras

from archscale.errors import InputFileError, UnsupportedModelError
from archscale.graph import Graph
from archscale.keras_io.archive import check_model_path
from archscale.keras_io.config_graph import LiveModel, graph_from_config
from archscale.keras_io.layers import ChannelPad  # noqa: F401 - registers it for load_model

__all__ = ["from_keras", "load_model", "read_keras"]


def _functional(model: Any) -> Any:
    inner = getattr(model, "_functional", None) or model
    if not hasattr(inner, "_nodes_by_depth") or not getattr(inner, "inputs", None):
        return None
    return inner


def _value(obj: Any) -> Any:
    history = getattr(obj, "_keras_history", None)
    if history is not None and hasattr(obj, "shape"):
        op = history.operation
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(obj.shape), "keras_history":
                           [op.name, history.node_index, history.tensor_index]}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__",
                "config": {"start": obj.start, "stop": obj.stop, "step": obj.step}}
    if isinstance(obj, (list, tuple)):
        return [_value(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _value(v) for k, v in obj.items()}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


#: A call of a shared layer made by another model: it never resolves, so it is not walked.
_FOREIGN = {"args": [{"class_name": "__keras_tensor__",
                      "config": {"keras_history": ["\0another model", 0, 0]}}], "kwargs": {}}


def _layer_config(op: Any) -> dict:
    try:
        config = op.get_config()
    except Exception:  # a custom layer without get_config: its weights still count
        config = {}
    config = dict(config)
    config.setdefault("name", op.name)
    if hasattr(op, "trainable"):
        config["trainable"] = bool(op.trainable)
    return config


def _model_entry(model: Any) -> dict:
    functional = _functional(model)
    by_op: dict[int, tuple[Any, list]] = {}
    order = sorted(functional._nodes_by_depth, reverse=True)  # noqa: SLF001
    for depth in order:
        for node in functional._nodes_by_depth[depth]:  # noqa: SLF001
            op = node.operation
            if op is None:
                continue
            by_op.setdefault(id(op), (op, []))[1].append(node)
    layers = []
    for op, nodes in by_op.values():
        if type(op).__name__ == "InputLayer":
            layers.append({"class_name": "InputLayer", "name": op.name, "inbound_nodes": [],
                           "config": {"name": op.name, "batch_shape": list(op.batch_shape)}})
            continue
        inbound = [None] * len(op._inbound_nodes)  # noqa: SLF001
        for node in nodes:
            index = op._inbound_nodes.index(node)  # noqa: SLF001
            inbound[index] = {"args": _value(list(node.arguments.args)),
                              "kwargs": _value(dict(node.arguments.kwargs))}
        inbound = [n if n is not None else _FOREIGN for n in inbound]
        entry = _model_entry(op) if _functional(op) is not None and op is not model else \
            {"class_name": type(op).__name__, "config": _layer_config(op)}
        entry.update(module=type(op).__module__, name=op.name, inbound_nodes=inbound)
        layers.append(entry)
    def refs(tensors: list) -> list:
        return [[t._keras_history.operation.name, t._keras_history.node_index,  # noqa: SLF001
                 t._keras_history.tensor_index] for t in tensors]  # noqa: SLF001

    return {"class_name": "Functional",
            "config": {"name": model.name, "trainable": bool(model.trainable), "layers": layers,
                       "input_layers": refs(functional.inputs),
                       "output_layers": refs(functional.outputs)}}


def _live(model: Any) -> LiveModel:
    held, shapes, objects = {}, {}, {}

    def count(weights) -> int:
        return int(sum(math.prod(w.shape) for w in weights))

    def walk(m: Any, prefix: str) -> None:
        functional = _functional(m)
        for op in getattr(functional, "operations", None) or m.layers:
            path = prefix + op.name
            objects[path] = op
            for i, node in enumerate(getattr(op, "_inbound_nodes", [])):
                shapes[(path, i)] = [tuple(o.shape[1:]) for o in node.outputs]
            if _functional(op) is not None and op is not m:
                walk(op, f"{path}.")
            elif hasattr(op, "weights"):
                held[path] = (count(op.trainable_weights), count(op.non_trainable_weights),
                              count(w for w in op.weights if str(w.dtype) == "int8"))

    def infer(path: str, ins: list) -> list | None:
        try:
            spec = objects[path].compute_output_shape(
                *[(None,) + tuple(s) for s in ins] if len(ins) > 1 else (None,) + tuple(ins[0]))
        except Exception:  # noqa: BLE001 - Keras raises anything for an unbuildable shape
            return None
        specs = spec if isinstance(spec, list) else [spec]
        if specs and not isinstance(specs[0], (list, tuple)) or not specs:
            return None
        return [tuple(s[1:]) for s in specs]

    walk(model, "")
    return LiveModel(held, shapes, infer)


def read_keras(model: keras.Model) -> tuple[Graph, tuple[str, ...]]:
    """``from_keras`` plus the notes on what the model holds (frozen layers, LoRA, int8,
    weights that differ from the analytic rule).

    Raises:
        UnsupportedModelError: as ``from_keras``.
    """
    if not isinstance(model, keras.Model):
        raise UnsupportedModelError(f"from_keras expects a keras.Model. Received: "
                                    f"{type(model).__name__}")
    if not model.built:
        raise UnsupportedModelError(f"model {model.name!r} is not built; call it on data or "
                                    "give it an Input first")
    if _functional(model) is None:
        raise UnsupportedModelError(
            f"model {model.name!r} is not a functional or built Sequential model; subclassed "
            f"models cannot be read layer by layer. Received: {type(model).__name__}")
    return graph_from_config(_model_entry(model), _live(model))


def from_keras(model: keras.Model) -> Graph:
    """Translate a Keras 3 model (functional, Sequential, nested) into a ``Graph``.

    Layers archscale cannot translate become ``unsupported`` nodes carrying the weights the
    model holds for them; their MACs and FLOPs are not guessed.

    Args:
        model: A built Keras model with static input shapes.

    Returns:
        The graph, named after the model.

    Raises:
        UnsupportedModelError: not a Keras model, not built, subclassed, or dynamic shapes.
    """
    return read_keras(model)[0]


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` (or legacy ``.h5``) model with Keras, without compiling it, in safe
    mode: archscale never runs code stored in a model file.

    Raises:
        InputFileError: missing, unreadable or invalid model file, or one whose loading needs
            code from the file (a Lambda layer).
    """
    path = os.fspath(path)
    check_model_path(path)
    if path.endswith(".keras"):
        from archscale.keras_io.archive import read_config

        read_config(path)  # a damaged archive fails here with "not a valid .keras archive"
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a corrupt file
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise InputFileError(
                f"cannot load model file {path!r}: it holds a Lambda layer (Python code), and "
                "archscale does not execute code from model files") from None
        raise InputFileError(f"cannot load model file {path!r}: {message}") from None
