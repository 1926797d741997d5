"""Intermediate activations of a Keras model's layers, in batches, into streaming moments.

Layers are addressed as Keras users address them: by name (``model.get_layer("fc1")``), by
index into ``model.layers`` (``model.get_layer(index=2)``; negative indices count from the
end), or, inside a nested model, by a ``/`` path (``"encoder/conv2"``: layer ``conv2`` of the
sub-model layer ``encoder``). One feature model (``keras.Model(model.input, [outputs...])``)
produces every chosen output at once; it runs over the sample ``batch_size`` examples at a
time, each batch is folded into a ``StreamingMoments`` per layer and dropped, so memory stays
bounded by ``batch_size`` activations plus ``units^2`` numbers per layer plus the first
``keep`` examples' activations kept for the pictures.

Without ``layers``, the default is every Dense / Conv layer that does not produce a model
output, each followed through the per-unit layers that come right after it (BatchNorm,
activation layers), so that a ``conv -> bn -> relu`` block is read after its ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from archscale.errors import SpecError
from archscale.inspection.stats import LayerStats, StreamingMoments, layer_stats

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = ["LayerActivations", "check_input", "default_layers", "extract", "kernel_and_reader",
           "parse_layer_list", "resolve_layers"]

_KERNEL_CLASSES = ("Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
                   "SeparableConv1D", "SeparableConv2D", "EinsumDense")
_PER_UNIT_CLASSES = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU",
                     "Softmax", "LayerNormalization")


@dataclass(frozen=True)
class LayerActivations:
    """What was read from one layer.

    Attributes:
        address: The address as given (name, index text or ``outer/inner`` path).
        name: The layer's name (``outer/inner`` for nested layers).
        class_name: The Keras layer class.
        output_shape: Output shape without the batch axis.
        stats: ``LayerStats`` over the sample.
        kept: The first examples' activations (for the pictures).
    """

    address: str
    name: str
    class_name: str
    output_shape: tuple[int, ...]
    stats: LayerStats
    kept: np.ndarray


def parse_layer_list(text: str | Sequence[str | int] | None) -> tuple[str | int, ...]:
    """``"fc1,2,-3"`` -> ``("fc1", 2, -3)``; a sequence passes through (ints stay ints).

    Raises:
        SpecError: an empty item.
    """
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str | int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
            continue
        item = str(item).strip()
        if not item:
            raise SpecError(f"layers must be names or indices joined by commas. "
                            f"Received: layers={text!r}")
        out.append(int(item) if item.lstrip("-").isdigit() else item)
    return tuple(out)


def _names(model: "keras.Model") -> str:
    names = [layer.name for layer in model.layers]
    shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    return shown


def _layer_at(model: "keras.Model", address: str | int, full: str | int) -> Any:
    layers = model.layers
    if isinstance(address, int):
        if not -len(layers) <= address < len(layers):
            raise SpecError(f"layer index out of range: the model has {len(layers)} layers "
                            f"(indices 0..{len(layers) - 1} or -{len(layers)}..-1). "
                            f"Received: layers={full!r}")
        return layers[address]
    for layer in layers:
        if layer.name == address:
            return layer
    raise SpecError(f"no layer named {address!r} in model {model.name!r}; its layers: "
                    f"{_names(model)}. Received: layers={full!r}")


def _output_of(model: "keras.Model", address: str | int) -> tuple[Any, Any, str]:
    """The symbolic output (in ``model``'s graph) of the addressed layer, the layer, its name."""
    import keras

    if isinstance(address, str) and "/" in address:
        outer_name, inner = address.split("/", 1)
        outer = _layer_at(model, outer_name, address)
        if not isinstance(outer, keras.Model):
            raise SpecError(f"{outer_name!r} is a {type(outer).__name__}, not a nested model, "
                            f"so it has no layer {inner!r}. Received: layers={address!r}")
        inner_tensor, layer, inner_name = _output_of(outer, parse_layer_list(inner)[0]
                                                     if "/" not in inner else inner)
        sub = keras.Model(outer.inputs, inner_tensor)
        return sub(outer.input), layer, f"{outer.name}/{inner_name}"
    layer = _layer_at(model, address, address)
    if isinstance(layer, keras.layers.InputLayer):
        raise SpecError(f"layer {layer.name!r} is the model's input, not a layer output to "
                        f"inspect. Received: layers={address!r}")
    return layer.output, layer, layer.name


def _consumers(model: "keras.Model", layer: Any) -> list[Any]:
    tensor = layer.output
    return [other for other in model.layers
            if other is not layer and any(t is tensor for t in _inputs_of(other))]


def _inputs_of(layer: Any) -> list[Any]:
    try:
        inputs = layer.input
    except (AttributeError, ValueError):
        return []
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def default_layers(model: "keras.Model") -> tuple[str, ...]:
    """Names of the width-carrying layers to inspect when none are given (module docstring)."""
    outputs = {id(t) for t in model.outputs}
    chosen: list[str] = []
    for layer in model.layers:
        if type(layer).__name__ not in _KERNEL_CLASSES or id(layer.output) in outputs:
            continue
        current = layer
        while True:
            following = _consumers(model, current)
            if (len(following) != 1 or type(following[0]).__name__ not in _PER_UNIT_CLASSES
                    or id(following[0].output) in outputs):
                break
            current = following[0]
        chosen.append(current.name)
    return tuple(dict.fromkeys(chosen))


def kernel_and_reader(model: "keras.Model", name: str) -> tuple[str, str | None]:
    """The Dense/Conv layer that produces the units of layer ``name`` (walking back through
    per-unit layers) and the Dense/Conv layer that reads them next (walking forward)."""
    by_name = {layer.name: layer for layer in model.layers}
    if name not in by_name:
        return name, None
    kernel = by_name[name]
    while type(kernel).__name__ in _PER_UNIT_CLASSES:
        sources = [layer for layer in model.layers if any(t is layer.output
                                                          for t in _inputs_of(kernel))]
        if len(sources) != 1:
            break
        kernel = sources[0]
    current, reader = by_name[name], None
    for _ in range(len(model.layers)):
        following = _consumers(model, current)
        if len(following) != 1:
            break
        current = following[0]
        if type(current).__name__ in _KERNEL_CLASSES:
            reader = current.name
            break
    return kernel.name, reader


def resolve_layers(model: "keras.Model", layers: Sequence[str | int]) -> list[tuple[Any, Any, str]]:
    """``(symbolic output, layer, name)`` per address.

    Raises:
        SpecError: an address names no layer, indexes outside ``model.layers``, or addresses
            the input; the model has no functional graph (subclassed, or never built).
    """
    try:
        model.inputs  # noqa: B018 - subclassed models have none
        if not model.inputs:
            raise ValueError
    except (AttributeError, ValueError):
        raise SpecError("inspecting intermediate layers needs a functional or Sequential model "
                        "with a known input shape. Received: "
                        f"{type(model).__name__} {model.name!r}") from None
    return [_output_of(model, address) for address in layers]


def check_input(model: "keras.Model", x: np.ndarray) -> None:
    """Raise ``SpecError`` unless the examples ``x`` fit the model's one input."""
    want = tuple(model.inputs[0].shape[1:])
    got = tuple(x.shape[1:])
    if len(model.inputs) != 1 or len(want) != len(got) or any(
            w is not None and w != g for w, g in zip(want, got)):
        raise SpecError(f"the dataset's examples do not fit the model's input. Received: "
                        f"model input_shape={want}, dataset input_shape={got}")


def extract(model: "keras.Model", x: np.ndarray, layers: Sequence[str | int] = (), *,
            batch_size: int = 256, keep: int = 64) -> list[LayerActivations]:
    """Statistics of the addressed layers' outputs over the examples ``x``.

    Args:
        model: A functional or Sequential ``keras.Model`` (nested models allowed).
        x: Examples, ``(n, *input_shape)``.
        layers: Names, indices or ``outer/inner`` paths; default ``default_layers(model)``.
        batch_size: Examples per forward pass.
        keep: Examples whose activations are kept for pictures.

    Returns:
        One ``LayerActivations`` per address, in order.

    Raises:
        SpecError: bad addresses (see ``resolve_layers``), a layer wider than ``MAX_UNITS``,
            fewer than 2 examples, or examples that do not fit the model's input.
    """
    import keras

    addresses = tuple(layers) or default_layers(model)
    if not addresses:
        raise SpecError("the model has no Dense or Conv layer below its output to inspect; "
                        f"name layers with --layers. Received: model {model.name!r}")
    resolved = resolve_layers(model, addresses)
    check_input(model, x)
    if len(x) < 2:
        raise SpecError(f"inspection needs at least 2 examples. Received: {len(x)}")
    features = keras.Model(model.inputs[0], [tensor for tensor, _, _ in resolved])
    shapes = [tuple(int(d) for d in tensor.shape[1:]) for tensor, _, _ in resolved]
    moments = [StreamingMoments(units=shape[-1] if shape else 1,
                                positions=int(np.prod(shape[:-1])) if len(shape) > 1 else 1)
               for shape in shapes]
    kept: list[list[np.ndarray]] = [[] for _ in resolved]
    for start in range(0, len(x), batch_size):
        outputs = features(x[start:start + batch_size], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for i, out in enumerate(outputs):
            array = np.asarray(out)
            array = array.reshape(len(array), -1) if array.ndim == 1 else array
            moments[i].update(array)
            if start < keep:
                kept[i].append(array[:keep - start])
    return [LayerActivations(address=str(address), name=name, class_name=type(layer).__name__,
                             output_shape=shape, stats=layer_stats(m),
                             kept=np.concatenate(k))
            for address, (_, layer, name), shape, m, k
            in zip(addresses, resolved, shapes, moments, kept)]
