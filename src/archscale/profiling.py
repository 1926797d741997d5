"""Profile and build a spec, a graph, a Keras model or a model/spec file.

The light path: ``profile`` of an ``ArchSpec``, a ``Graph``, a spec ``.json`` file or a
``.keras`` file (read from its ``config.json``) never imports TensorFlow; ``build``, profiling
a live ``keras.Model`` and the Keras fall-back for files with custom classes import it lazily,
through ``archscale.keras_io``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import TYPE_CHECKING, Any

from archscale.costs import Profile, profile_graph
from archscale.environment import check_backend
from archscale.errors import InputFileError, SpecError, UnsupportedModelError
from archscale.graph import Graph
from archscale.keras_io.archive import check_model_path, read_config
from archscale.keras_io.config_graph import NeedsKeras, graph_from_config
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
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputFileError(f"spec file {path!r} is not valid JSON: {exc}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputFileError(f"cannot read spec file {path!r}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
    if isinstance(data, dict) and "spec" in data and "family" not in data:
        data = data["spec"]  # a saved proposal
    if isinstance(data, dict) and "family" in data and not isinstance(data["family"], str):
        raise SpecError(f"family must be a family name (a string). "
                        f"Received: family={data['family']!r}")
    return spec_from_dict(data)


def profile(target: Any, backend: str | None = None) -> Profile:
    """Exact static profile of a spec, a graph, a ``keras.Model`` or a ``.keras`` file path.

    Args:
        target: ``ArchSpec`` (no TensorFlow import), ``Graph``, ``keras.Model``, or a path to a
            ``.keras`` model file (no TensorFlow import unless it holds custom classes; see
            ``profile_file``), a legacy ``.h5`` file or a spec ``.json`` file.
        backend: The kernels the training-memory estimate is for: ``"onednn"``, ``"eigen"`` or
            ``"gpu"`` (``archscale.environment.BACKENDS``; case does not matter). Default: the
            backend TensorFlow would run on this machine (``detect_backend``).

    Returns:
        The ``Profile``: totals, per-layer rows, memory estimates and ``unsupported`` layers.

    Raises:
        UnsupportedModelError: ``target`` is none of the above.
        ShapeError: the architecture cannot be built at its input shape.
        SpecError: an unknown backend.
    """
    chosen = None if backend is None else check_backend(backend)
    prof = _profile(target)
    return prof if chosen is None else dataclasses.replace(prof, backend=chosen)


def _profile(target: Any) -> Profile:
    if isinstance(target, ArchSpec):
        return profile_graph(build_graph(target))
    if isinstance(target, Graph):
        return profile_graph(target)
    if isinstance(target, str) or hasattr(target, "__fspath__"):
        path = os.fspath(target)
        if path.endswith(".json"):
            return profile(load_spec(path))
        return profile_file(path)
    if any(cls.__module__.startswith("keras") for cls in type(target).__mro__):
        from archscale.keras_io import read_keras

        return profile_graph(*read_keras(target))
    raise UnsupportedModelError(
        "profile() accepts an ArchSpec, a Graph, a keras.Model or a path to a .keras or .json "
        f"file. Received: {type(target).__name__}"
    )


def profile_file(path: str) -> Profile:
    """Profile a ``.keras`` file from its config alone (no TensorFlow or Keras import).

    Where the config cannot say a layer's weights or output shape (a custom class that only
    code defines), the file is loaded with Keras in safe mode instead, and the profile's
    notes say so. ``.h5`` files are always loaded with Keras.

    Raises:
        InputFileError: missing file, not a valid .keras archive, or (loading with Keras) a
            file that needs code to load.
        UnsupportedModelError: a subclassed model or dynamic shapes.
    """
    check_model_path(path)
    if path.endswith(".keras"):
        try:
            return profile_graph(*graph_from_config(read_config(path)))
        except NeedsKeras as why:
            reason = str(why)
    else:
        reason = "a legacy HDF5 file"
    from archscale.keras_io import load_model, read_keras

    graph, notes = read_keras(load_model(path))
    return profile_graph(graph, (f"read with Keras (safe mode): the config alone does not "
                                 f"give {reason}",) + notes)


def build(spec: ArchSpec | Graph) -> "keras.Model":
    """Build the Keras functional model of a spec or graph (imports TensorFlow lazily).

    Raises:
        ShapeError: the architecture cannot be built at its input shape.
    """
    from archscale.keras_io import to_keras

    graph = spec if isinstance(spec, Graph) else build_graph(spec)
    return to_keras(graph)
