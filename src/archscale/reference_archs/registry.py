"""Explicit registries of families and presets.

A ``Registry`` refuses duplicate names (as torchvision's ``register_model`` does) and filters
names by glob pattern. Family modules are listed in ``FAMILY_MODULES``; each defines ``FAMILY``
(a ``Family``) and ``PRESETS`` (a tuple of ``Preset`` rows). They are imported on first use, so
``import archscale`` stays cheap, and none of them imports TensorFlow.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from archscale.errors import SpecError
from archscale.graph import Graph
from archscale.specs import ArchSpec, spec_from_fields

T = TypeVar("T")

#: Family modules under ``archscale.reference_archs``, in catalogue order.
FAMILY_MODULES = ("mlp", "cnn1d", "resnet", "inception", "mobilenet_v2", "efficientnet",
                  "regnet")


class Registry(Generic[T]):
    """Name -> item mapping that refuses duplicates.

    Args:
        kind: What the items are ("family", "preset"), used in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``.

        Raises:
            SpecError: ``name`` is already registered.
        """
        if name in self._items:
            raise SpecError(f"duplicate {self.kind} name. Received: {name!r}")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """The item called ``name``.

        Raises:
            SpecError: unknown name; the message lists the accepted names.
        """
        try:
            return self._items[name]
        except KeyError:
            accepted = ", ".join(self._items)
            raise SpecError(f"unknown {self.kind} {name!r}; accepted: {accepted}. "
                            f"Received: {self.kind}={name!r}") from None

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching the glob ``pattern``, in registration order."""
        return [n for n in self._items if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Family:
    """A family: its spec class and its one build function ``spec -> Graph``."""

    name: str
    spec_cls: type[ArchSpec]
    build: Callable[[Any], Graph]
    description: str


@dataclass(frozen=True)
class Preset:
    """A catalogue row: a name, a spec and a one-line description (with its source)."""

    name: str
    spec: ArchSpec
    description: str


FAMILIES: Registry[Family] = Registry("family")
PRESETS: Registry[Preset] = Registry("preset")
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in FAMILY_MODULES:
        module = importlib.import_module(f"archscale.reference_archs.{module_name}")
        FAMILIES.register(module.FAMILY.name, module.FAMILY)
        for row in module.PRESETS:
            PRESETS.register(row.name, row)


def families() -> Registry[Family]:
    """The family registry (loaded on first use)."""
    _load()
    return FAMILIES


def presets() -> Registry[Preset]:
    """The preset registry (loaded on first use)."""
    _load()
    return PRESETS


def list_presets(pattern: str = "*") -> list[str]:
    """Preset names matching a glob pattern, in catalogue order."""
    return presets().names(pattern)


def preset(name: str, **overrides: Any) -> ArchSpec:
    """The spec of preset ``name`` with any fields overridden.

    Args:
        name: A name from ``list_presets()``.
        **overrides: Field values to replace (``input_shape=(64, 64, 3)``, ``classes=10``...).

    Returns:
        The validated ``ArchSpec``.

    Raises:
        SpecError: unknown preset, unknown field or invalid value.
    """
    return presets().get(name).spec.replace(**overrides)


def spec_from_dict(data: Mapping[str, Any]) -> ArchSpec:
    """Rebuild a spec from ``ArchSpec.to_dict()`` output (``{"family": ..., ...}``).

    Raises:
        SpecError: missing or unknown family, unknown fields or invalid values.
    """
    if not isinstance(data, Mapping) or "family" not in data:
        raise SpecError("a spec must be a JSON object with a 'family' key. "
                        f"Received: {type(data).__name__}")
    fields = dict(data)
    family = families().get(fields.pop("family"))
    return spec_from_fields(family.spec_cls, fields)


def build_graph(spec: ArchSpec) -> Graph:
    """The graph of ``spec`` via its family's build function."""
    return families().get(spec.family).build(spec)
