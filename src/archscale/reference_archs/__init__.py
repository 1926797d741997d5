"""The catalogue: one module per family, each a spec dataclass, one build function and a
table of presets. See ``registry`` for lookup."""

from archscale.reference_archs.registry import (
    Family, Preset, Registry, build_graph, families, list_presets, preset, presets,
    spec_from_dict,
)

__all__ = ["Family", "Preset", "Registry", "build_graph", "families", "list_presets", "preset",
           "presets", "spec_from_dict"]
