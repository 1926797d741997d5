"""The catalogue: one module (or small package) per family, each a spec dataclass, one build
function, a scaling plan, its metadata (``FAMILY``) and a table of presets. See ``registry`` for
lookup and for the metadata every family carries."""

from archscale.reference_archs.registry import (
    Family, Preset, Published, Registry, ScalingFields, build_graph, families, list_presets,
    preset, presets, spec_from_dict,
)

__all__ = ["Family", "Preset", "Published", "Registry", "ScalingFields", "build_graph",
           "families", "list_presets", "preset", "presets", "spec_from_dict"]
