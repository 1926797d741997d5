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

import importlib
from typing import Any

from archscale.costs import LayerRow, Profile, profile_graph
from archscale.errors import (ArchscaleError, InputFileError, ShapeError, SpecError,
                              UnsupportedModelError)
from archscale.graph import Graph, GraphBuilder, Node
from archscale.heuristics.capacity import CapacityRule
from archscale.heuristics.difficulty import DataProbe, probe_data
from archscale.heuristics.propose import propose
from archscale.profiling import build, load_spec, profile
from archscale.reference_archs.registry import (build_graph, list_presets, preset,
                                                spec_from_dict)
from archscale.specs import ArchSpec, Budget, Task
from archscale.version import __version__

#: Names re-exported lazily (``archscale.report`` imports the reporting layer on first use),
#: so ``import archscale`` stays light: name -> module that defines it.
_LAZY = {"bench": "archscale.runner.api", "report": "archscale.reporting.report_builder",
         "tune": "archscale.tuning.api", "inspect": "archscale.inspection.api"}

__all__ = [
    "ArchSpec", "ArchscaleError", "Budget", "CapacityRule", "DataProbe", "Graph",
    "GraphBuilder", "InputFileError", "LayerRow", "Node", "Profile", "ShapeError", "SpecError",
    "Task", "UnsupportedModelError", "__version__", "bench", "build", "build_graph", "inspect",
    "list_presets", "load_spec", "preset", "probe_data", "profile", "profile_graph", "propose",
    "report", "spec_from_dict", "tune",
]


def __getattr__(name: str) -> Any:
    """Import a lazily re-exported name (PEP 562) on first access."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archscale' has no attribute {name!r}")
