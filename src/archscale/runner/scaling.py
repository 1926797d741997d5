"""Family-aware width multipliers for sweep grids (``width = [0.25, 0.5, 1.0, 2.0]``).

Each family says which fields carry its width (``Family.scaling.width``). Float fields that
already are multipliers (MobileNetV2 ``alpha``, EfficientNet ``width_coefficient``, Inception
``width_multiplier``, RegNet ``wa``) are multiplied; integer channel counts are multiplied and
rounded to the nearest int (at least 1). The family's own rounding rules (``make_divisible``,
RegNet quantisation) then apply when the graph is built, exactly as for a hand-written spec.
"""

from __future__ import annotations

from typing import Any

from archscale.errors import SpecError
from archscale.reference_archs.registry import families
from archscale.specs import ArchSpec


def __getattr__(name: str) -> Any:
    """``WIDTH_FIELDS``: ``{family: width fields}`` read from the registered families on first
    access (PEP 562), so importing this module loads no family."""
    if name == "WIDTH_FIELDS":
        registry = families()
        return {n: registry.get(n).scaling.width for n in registry
                if registry.get(n).scaling.width}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _scale(value: Any, multiplier: float) -> Any:
    if isinstance(value, tuple):
        return tuple(_scale(v, multiplier) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return max(1, int(round(value * multiplier)))
    if isinstance(value, float):
        return value * multiplier
    return value


def width_overrides(spec: ArchSpec, multiplier: float) -> dict[str, Any]:
    """The field overrides that scale ``spec``'s width by ``multiplier``.

    Args:
        spec: Any catalogue spec.
        multiplier: A positive number (1.0 leaves the spec unchanged).

    Returns:
        ``{field: scaled value}`` for the family's width fields.

    Raises:
        SpecError: the family has no width fields or the multiplier is not positive.
    """
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) \
            or not multiplier > 0:
        raise SpecError(f"width must be a positive number. Received: width={multiplier!r}")
    registry = families()
    fields = registry.get(spec.family).scaling.width if spec.family in registry else ()
    if not fields:
        raise SpecError(f"family {spec.family!r} has no width multiplier; use grid.<field> "
                        f"instead. Received: width={multiplier!r}")
    return {name: _scale(getattr(spec, name), float(multiplier)) for name in fields}


def scale_width(spec: ArchSpec, multiplier: float) -> ArchSpec:
    """``spec`` with its width scaled by ``multiplier`` (validated by the family).

    Raises:
        SpecError: see ``width_overrides``, or the scaled spec is invalid.
    """
    return spec.replace(**width_overrides(spec, multiplier))
