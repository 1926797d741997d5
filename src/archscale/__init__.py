"""archscale: size Keras architectures from data and budgets; profile and benchmark them.

Importing this package never imports TensorFlow; only ``build`` (and profiling a Keras model
or ``.keras`` file) does, lazily.

Example::

    import archscale
    spec = archscale.preset("resnet50", input_shape=(64, 64, 3), classes=10)
    prof = archscale.profile(spec)
    print(prof.params, prof.macs, prof.training_peak_bytes(batch_size=32))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archscale.costs import LayerRow, Profile, profile_graph
from archscale.errors import (ArchscaleError, InputFileError, ShapeError, SpecError,
                              UnsupportedModelError)
from archscale.graph import Graph, GraphBuilder, Node
from archscale.reference_archs.registry import (build_graph, list_presets, preset,
                                                spec_from_dict)
from archscale.specs import ArchSpec, Budget, Task

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from archscale.heuristics.proposal import Proposal

__version__ = "0.1.0"

__all__ = [
    "ArchSpec", "ArchscaleError", "Budget", "Graph", "GraphBuilder", "InputFileError",
    "LayerRow", "Node", "Profile", "ShapeError", "SpecError", "Task", "UnsupportedModelError",
    "__version__", "build", "build_graph", "list_presets", "load_spec", "preset", "profile",
    "propose", "report", "spec_from_dict",
]


def load_spec(path: str) -> ArchSpec:
    """Read a spec JSON file written by ``ArchSpec.to_json`` (or ``archscale propose --out``).

    Raises:
        InputFileError: the file cannot be read or is not valid JSON.
        SpecError: the JSON is not a valid spec.
    """
    import json

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


def propose(task: Task, budget: Budget | None = None) -> "Proposal":
    """Propose an architecture for ``task`` within ``budget`` (pure Python, no TensorFlow).

    Args:
        task: What the data looks like.
        budget: Optional ceilings; ``None`` means unconstrained.

    Returns:
        The ``Proposal``: spec, rationale, predicted costs, budget use and a search space.

    Raises:
        ImpossibleBudgetError: no family member fits the budget (see
            ``archscale.heuristics``).
    """
    from archscale.heuristics.propose import propose as _propose

    return _propose(task, budget)


def report(db: str | None = None, out: str | None = None, **options: Any) -> Any:
    """Report rows from a benchmark store; writes the report directory when ``out`` is given.

    Imports matplotlib only when writing. See ``archscale.reporting.report.report`` for the
    options (``filters``, ``x``, ``y``, ``from_pytest_benchmark``, ``as_frame``).

    Args:
        db: SQLite store written by ``archscale bench`` (default ``archscale.db``).
        out: Report directory to write (``report.md``, ``report.html``, CSV, JSON, plots).
        **options: Passed on.

    Returns:
        The report rows as a list of dicts, or a pandas DataFrame with ``as_frame=True``.

    Raises:
        ArchscaleError: empty store, unknown filter field, unwritable output directory.
    """
    from archscale.reporting.report import report as _report

    return _report(db, out, **options)
