"""Width advice from the effective dimension, and the shrunk spec (pure Python, no TF).

Rule: a layer whose activations need ``k99`` principal components for 99 % of their variance
is recommended ``recommended_width(width, k99) = min(width, max(8, ceil8(HEADROOM * k99)))``
units: 25 % headroom over the 99 % dimension, rounded up to a multiple of 8 (the rounding
Keras Applications and the catalogue families use), never wider than the layer is now. Dead
units carry no variance, so they are not counted in ``k99`` and the advice drops them too.

Which spec field carries a layer's width is found, not declared: each entry of the family's
width fields (``Family.scaling.width``, e.g. ``widths[1]`` of ``mlp`` or ``filters[0]`` of
``cnn1d``) is widened by 8 and the spec's graph rebuilt; the layers whose channel count moves
from the entry's value to value + 8 are the ones it carries. ``shrunk_spec`` sets each entry to
the largest recommendation among the inspected layers it carries (entries with no inspected
layer keep their value). Params and MACs saved are exact for specs (the graph rebuilt with one
change, and with all of them); for a saved model they are estimated from its profile: the
layer's own params/MACs and those of the next layer that reads it, scaled by the fraction of
units removed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from archscale.costs import Profile, profile_graph
from archscale.errors import ArchscaleError
from archscale.reference_archs.registry import build_graph, families
from archscale.specs import ArchSpec

HEADROOM = 1.25
MULTIPLE = 8

__all__ = ["HEADROOM", "MULTIPLE", "LayerAdvice", "SpecAdvice", "advise_spec",
           "estimate_saving", "recommended_width", "width_carriers"]

Carrier = tuple[str, int | None]  # (field, index in a tuple field or None for an int field)


def recommended_width(width: int, dim99: int) -> int:
    """``min(width, max(8, ceil8(HEADROOM * dim99)))`` (see the module docstring)."""
    want = MULTIPLE * math.ceil(HEADROOM * dim99 / MULTIPLE)
    return min(width, max(MULTIPLE, want))


@dataclass(frozen=True)
class LayerAdvice:
    """Advice for one inspected layer.

    Attributes:
        layer: Layer name.
        width: Units now.
        dim99: Principal components for 99 % of the variance.
        recommended: ``recommended_width(width, dim99)``.
        params_saved / macs_saved: What this change alone saves (``exact`` says how known).
        exact: Saved figures from a rebuilt spec (True) or estimated from a profile (False).
        carrier: ``"widths[1]"``-style spec field that carries the width, or ``None``.
    """

    layer: str
    width: int
    dim99: int
    recommended: int
    params_saved: int
    macs_saved: int
    exact: bool
    carrier: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SpecAdvice:
    """Per-layer advice and, for a spec, the shrunk spec with its totals.

    Attributes:
        layers: One ``LayerAdvice`` per inspected layer.
        spec / shrunk: The inspected spec and the shrunk one (``None`` for a saved model).
        params / macs: Of the inspected network.
        shrunk_params / shrunk_macs: Of the shrunk spec (``None`` for a saved model).
        dropped: Layers of the spec the shrunk spec no longer has (e.g. an identity
            shortcut that needs equal widths), so the change is more than a width change.
    """

    layers: tuple[LayerAdvice, ...]
    spec: ArchSpec | None
    shrunk: ArchSpec | None
    params: int
    macs: int
    shrunk_params: int | None
    shrunk_macs: int | None
    dropped: tuple[str, ...] = ()

    @property
    def params_cut(self) -> float | None:
        """Fraction of params the shrunk spec removes."""
        return None if self.shrunk_params is None else 1 - self.shrunk_params / self.params

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"layers": [a.to_dict() for a in self.layers], "params": self.params,
                "macs": self.macs, "shrunk_params": self.shrunk_params,
                "shrunk_macs": self.shrunk_macs, "params_cut": self.params_cut,
                "dropped": list(self.dropped),
                "shrunk_spec": self.shrunk.to_dict() if self.shrunk is not None else None}


def _channels(shape: Sequence[int]) -> int | None:
    return int(shape[-1]) if shape else None


def _with(spec: ArchSpec, changes: Mapping[Carrier, int]) -> ArchSpec:
    fields: dict[str, Any] = {}
    for (field, index), value in changes.items():
        current = fields.get(field, getattr(spec, field))
        fields[field] = value if index is None else \
            current[:index] + (value,) + current[index + 1:]
    return spec.replace(**fields)


def width_carriers(spec: ArchSpec) -> dict[str, Carrier]:
    """``{layer name: (field, index)}`` for the layers a width-field entry carries."""
    fields = families().get(spec.family).scaling.width
    base = {node.name: _channels(node.shape) for node in build_graph(spec).nodes}
    out: dict[str, Carrier] = {}
    for field in fields:
        value = getattr(spec, field)
        entries: list[Carrier] = []
        if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            entries = [(field, i) for i in range(len(value))]
        elif isinstance(value, int) and not isinstance(value, bool):
            entries = [(field, None)]
        for carrier in entries:
            old = value if carrier[1] is None else value[carrier[1]]
            try:
                graph = build_graph(_with(spec, {carrier: old + MULTIPLE}))
            except ArchscaleError:
                continue
            for node in graph.nodes:
                if base.get(node.name) == old and _channels(node.shape) == old + MULTIPLE:
                    out.setdefault(node.name, carrier)
    return out


def _label(carrier: Carrier) -> str:
    field, index = carrier
    return field if index is None else f"{field}[{index}]"


def advise_spec(spec: ArchSpec, dims: Mapping[str, tuple[int, int]]) -> SpecAdvice:
    """Advice for a catalogue spec or proposal spec.

    Args:
        spec: The spec the model was built from (with the dataset's shape and classes).
        dims: ``{layer name: (width, dim99)}`` of the inspected layers.

    Returns:
        The ``SpecAdvice`` with the shrunk spec; layers no width field carries get advice but
        no change (``carrier=None``, nothing saved).
    """
    carriers = width_carriers(spec)
    base = profile_graph(build_graph(spec))
    changes: dict[Carrier, int] = {}
    for name, (width, dim99) in dims.items():
        carrier = carriers.get(name)
        if carrier is not None:
            changes[carrier] = max(changes.get(carrier, 0), recommended_width(width, dim99))
    advice = []
    for name, (width, dim99) in dims.items():
        carrier, rec = carriers.get(name), recommended_width(width, dim99)
        saved_p = saved_m = 0
        if carrier is not None:
            alone = profile_graph(build_graph(_with(spec, {carrier: changes[carrier]})))
            saved_p, saved_m = base.params - alone.params, base.macs - alone.macs
        advice.append(LayerAdvice(name, width, dim99, rec, saved_p, saved_m, True,
                                  _label(carrier) if carrier else None))
    shrunk = _with(spec, changes) if changes else spec
    graph = build_graph(shrunk)
    after = profile_graph(graph)
    kept = {node.name for node in graph.nodes}
    dropped = tuple(row.name for row in base.layers if row.name not in kept)
    return SpecAdvice(tuple(advice), spec, shrunk, base.params, base.macs, after.params,
                      after.macs, dropped)


def estimate_saving(prof: Profile, layer: str, reader: str | None, width: int,
                    recommended: int) -> tuple[int, int]:
    """Estimated params/MACs saved by narrowing ``layer`` (and the input of ``reader``)."""
    rows = {row.name: row for row in prof.layers}
    fraction = 1 - recommended / width if width else 0.0
    saved_p = saved_m = 0.0
    for name in (layer, reader):
        if name in rows:
            saved_p += rows[name].params * fraction
            saved_m += rows[name].macs * fraction
    return round(saved_p), round(saved_m)
