"""Profile and build a spec, a graph, a Keras model or a model/spec file.

The light path: ``profile`` of an ``ArchSpec``, a ``Graph`` or a spec ``.json`` file never
imports TensorFlow; ``build`` and profiling a live ``keras.Model`` or a ``.keras`` file import
it lazily, through ``archscale.keras_io``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from archscale.costs import Profile, profile_graph
from archscale.errors import InputFileError, UnsupportedModelError
from archscale.graph import Graph
from archscale.reference_archs.registry import build_graph, spec_from_dict
from archscale.specs import ArchSpec

if TYPE_CHECKING:  # pragma: no cover
    import keras


def load_spec(path: str) -> ArchSpec:
    """Read a spec JSON file written by ``ArchSpec.to_json`` (or ``archscale propose --out``).

    Raises:
        InputFileError: the file cannot be read or is not valid JSON.
        SpecError: the JSON is not a valid spec.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise InputFileError(f"cannot read spec file {path!r}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"spec file {path!r} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and "spec" in data and "family" not in data:
        data = data["spec"]  # a saved proposal
    return spec_from_dict(data)


def profile(target: Any) -> Profile:
    """Exact static profile of a spec, a graph, a ``keras.Model`` or a ``.keras`` file path.

    Args:
        target: ``ArchSpec`` (no TensorFlow import), ``Graph``, ``keras.Model``, or a path to a
            ``.keras`` model file or to a spec ``.json`` file.

    Returns:
        The ``Profile``: totals, per-layer rows, memory estimates and ``unsupported`` layers.

    Raises:
        UnsupportedModelError: ``target`` is none of the above.
        ShapeError: the architecture cannot be built at its input shape.
    """
    if isinstance(target, ArchSpec):
        return profile_graph(build_graph(target))
    if isinstance(target, Graph):
        return profile_graph(target)
    if isinstance(target, str) or hasattr(target, "__fspath__"):
        path = str(target)
        if path.endswith(".json"):
            return profile(load_spec(path))
        from archscale.keras_io import from_keras, load_model

        return profile_graph(from_keras(load_model(path)))
    if any(cls.__module__.startswith("keras") for cls in type(target).__mro__):
        from archscale.keras_io import from_keras

        return profile_graph(from_keras(target))
    raise UnsupportedModelError(
        "profile() accepts an ArchSpec, a Graph, a keras.Model or a path to a .keras or .json "
        f"file. Received: {type(target).__name__}"
    )


def build(spec: ArchSpec | Graph) -> "keras.Model":
    """Build the Keras functional model of a spec or graph (imports TensorFlow lazily).

    Raises:
        ShapeError: the architecture cannot be built at its input shape.
    """
    from archscale.keras_io import to_keras

    graph = spec if isinstance(spec, Graph) else build_graph(spec)
    return to_keras(graph)
